{{/*
Certificates and NATS credentials from Secrets: the volumes, their read-only mounts, and the SIGMASERVE_<APP>_*
variables that point the processes at the files. Whole Secrets are mounted (never with subPath), so the kubelet
swaps renewed files in place and the processes, which re-read them every tls.refreshSeconds (certificates) or at
each NATS reconnect (credentials), pick them up without a restart.

  /etc/sigmaserve/tls               tls.crt, tls.key, ca.crt   cluster-internal mTLS (tls.existingSecret)
  /etc/sigmaserve/router-tls        tls.crt, tls.key           the router's public door (router.clientTls.existingSecret)
  /etc/sigmaserve/router-client-ca  ca.crt                     the CA of the door's clients (router.clientTls.clientCaSecret)
  /etc/sigmaserve/nats-auth         token|password|creds|seed  nats.external.auth.existingSecret
  /etc/sigmaserve/nats-tls          ca.crt[, tls.crt, tls.key] nats.external.tls.existingSecret
*/}}

{{/* The SAN the router and the peers check on a worker's certificate: tls.serverName, or the worker Service's DNS name. */}}
{{- define "sigmaserve.tlsServerName" -}}
{{- default (printf "%s.%s.svc" (include "sigmaserve.workerName" .) .Release.Namespace) .Values.tls.serverName }}
{{- end }}

{{/* Is the router's door on TLS? "true" or "". */}}
{{- define "sigmaserve.doorTls" -}}
{{- if .Values.router.clientTls.enabled }}true{{ end }}
{{- end }}

{{/* The router's HTTP scheme: https with door TLS. */}}
{{- define "sigmaserve.routerScheme" -}}
{{- ternary "https" "http" (eq (include "sigmaserve.doorTls" .) "true") }}
{{- end }}

{{/* The NATS Secret key each external auth type reads, and the flag (variable suffix) its file goes to. */}}
{{- define "sigmaserve.natsAuthFile" -}}
{{- $t := .Values.nats.external.auth.type }}
{{- if eq $t "token" }}token:NATS_TOKEN_FILE
{{- else if eq $t "userPassword" }}password:NATS_PASSWORD_FILE
{{- else if eq $t "creds" }}creds:NATS_CREDS
{{- else if eq $t "nkey" }}seed:NATS_NKEY_SEED_FILE
{{- end }}
{{- end }}

{{/*
Environment of one process: include "sigmaserve.tlsEnv" (dict "ctx" $ "app" "ROUTER"|"WORKER").
Router: mTLS to the workers (SIGMASERVE_ROUTER_WORKER_TLS_*), the door (SIGMASERVE_ROUTER_TLS_CERT/KEY/CLIENT_CA).
Worker: its mTLS identity (SIGMASERVE_WORKER_TLS_*, PEER_TLS_SERVER_NAME). Both: NATS credentials and TLS.
*/}}
{{- define "sigmaserve.tlsEnv" -}}
{{- $v := .ctx.Values }}
{{- $p := printf "SIGMASERVE_%s_" .app }}
{{- $router := eq .app "ROUTER" }}
{{- if $v.tls.enabled }}
{{- $pre := ternary (printf "%sWORKER_" $p) $p $router }}
- name: {{ $pre }}TLS_CA
  value: /etc/sigmaserve/tls/ca.crt
- name: {{ $pre }}TLS_CERT
  value: /etc/sigmaserve/tls/tls.crt
- name: {{ $pre }}TLS_KEY
  value: /etc/sigmaserve/tls/tls.key
- name: {{ $p }}{{ ternary "WORKER_TLS_SERVER_NAME" "PEER_TLS_SERVER_NAME" $router }}
  value: {{ include "sigmaserve.tlsServerName" .ctx | quote }}
{{- end }}
{{- if and $router $v.router.clientTls.enabled }}
- name: {{ $p }}TLS_CERT
  value: /etc/sigmaserve/router-tls/tls.crt
- name: {{ $p }}TLS_KEY
  value: /etc/sigmaserve/router-tls/tls.key
{{- if $v.router.clientTls.clientCaSecret }}
- name: {{ $p }}TLS_CLIENT_CA
  value: /etc/sigmaserve/router-client-ca/ca.crt
{{- end }}
{{- end }}
{{- if or $v.tls.enabled (and $router $v.router.clientTls.enabled) }}
- name: {{ $p }}TLS_REFRESH_S
  value: {{ $v.tls.refreshSeconds | quote }}
{{- end }}
{{- $auth := $v.nats.external.auth }}
{{- if and (not $v.nats.internal.enabled) (ne $auth.type "none") }}
{{- if eq $auth.type "userPassword" }}
- name: {{ $p }}NATS_USER
  valueFrom:
    secretKeyRef:
      name: {{ $auth.existingSecret }}
      key: user
{{- end }}
{{- $file := splitList ":" (include "sigmaserve.natsAuthFile" .ctx) }}
- name: {{ $p }}{{ index $file 1 }}
  value: /etc/sigmaserve/nats-auth/{{ index $file 0 }}
{{- end }}
{{- $ntls := $v.nats.external.tls }}
{{- if and (not $v.nats.internal.enabled) $ntls.enabled }}
- name: {{ $p }}NATS_TLS_CA
  value: /etc/sigmaserve/nats-tls/ca.crt
{{- if $ntls.clientCert }}
- name: {{ $p }}NATS_TLS_CERT
  value: /etc/sigmaserve/nats-tls/tls.crt
- name: {{ $p }}NATS_TLS_KEY
  value: /etc/sigmaserve/nats-tls/tls.key
{{- end }}
{{- end }}
{{- end }}

{{/* volumeMounts of one process (list items, or nothing): include "sigmaserve.tlsVolumeMounts" (dict "ctx" $ "app" "ROUTER"|"WORKER") */}}
{{- define "sigmaserve.tlsVolumeMounts" -}}
{{- range (include "sigmaserve.tlsVolumeNames" . | fromJsonArray) }}
- name: {{ . }}
  mountPath: /etc/sigmaserve/{{ . }}
  readOnly: true
{{- end }}
{{- end }}

{{/* The volumes (named after their mount folder) one process gets, as a JSON list. */}}
{{- define "sigmaserve.tlsVolumeNames" -}}
{{- $v := .ctx.Values }}
{{- $names := list }}
{{- if $v.tls.enabled }}{{ $names = append $names "tls" }}{{ end }}
{{- if and (eq .app "ROUTER") $v.router.clientTls.enabled }}
{{- $names = append $names "router-tls" }}
{{- if $v.router.clientTls.clientCaSecret }}{{ $names = append $names "router-client-ca" }}{{ end }}
{{- end }}
{{- if not $v.nats.internal.enabled }}
{{- if ne $v.nats.external.auth.type "none" }}{{ $names = append $names "nats-auth" }}{{ end }}
{{- if $v.nats.external.tls.enabled }}{{ $names = append $names "nats-tls" }}{{ end }}
{{- end }}
{{- toJson $names }}
{{- end }}

{{/* volumes of one process (list items, or nothing): include "sigmaserve.tlsVolumes" (dict "ctx" $ "app" "ROUTER"|"WORKER") */}}
{{- define "sigmaserve.tlsVolumes" -}}
{{- $v := .ctx.Values }}
{{- range (include "sigmaserve.tlsVolumeNames" . | fromJsonArray) }}
- name: {{ . }}
  secret:
    # 0440: the group (fsGroup) reads, nobody writes.
    defaultMode: 288
    {{- if eq . "tls" }}
    secretName: {{ $v.tls.existingSecret }}
    items:
      - { key: tls.crt, path: tls.crt }
      - { key: tls.key, path: tls.key }
      - { key: ca.crt, path: ca.crt }
    {{- else if eq . "router-tls" }}
    secretName: {{ $v.router.clientTls.existingSecret }}
    items:
      - { key: tls.crt, path: tls.crt }
      - { key: tls.key, path: tls.key }
    {{- else if eq . "router-client-ca" }}
    secretName: {{ $v.router.clientTls.clientCaSecret }}
    items:
      - { key: {{ $v.router.clientTls.clientCaKey }}, path: ca.crt }
    {{- else if eq . "nats-auth" }}
    secretName: {{ $v.nats.external.auth.existingSecret }}
    {{- $key := index (splitList ":" (include "sigmaserve.natsAuthFile" $.ctx)) 0 }}
    items:
      - { key: {{ $key }}, path: {{ $key }} }
    {{- else if eq . "nats-tls" }}
    secretName: {{ $v.nats.external.tls.existingSecret }}
    items:
      - { key: ca.crt, path: ca.crt }
      {{- if $v.nats.external.tls.clientCert }}
      - { key: tls.crt, path: tls.crt }
      - { key: tls.key, path: tls.key }
      {{- end }}
    {{- end }}
{{- end }}
{{- end }}
