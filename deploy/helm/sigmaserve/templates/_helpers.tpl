{{/*
Names, labels and the pieces several templates share.
*/}}

{{- define "sigmaserve.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* <release>-sigmaserve, or the release name when it already says sigmaserve; 40 characters leave room for suffixes. */}}
{{- define "sigmaserve.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 40 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 40 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 40 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "sigmaserve.routerName" -}}{{ include "sigmaserve.fullname" . }}-router{{- end }}
{{- define "sigmaserve.workerName" -}}{{ include "sigmaserve.fullname" . }}-worker{{- end }}
{{- define "sigmaserve.natsName" -}}{{ include "sigmaserve.fullname" . }}-nats{{- end }}

{{- define "sigmaserve.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "sigmaserve.routerName" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "sigmaserve.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/name: {{ include "sigmaserve.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: sigmaserve
{{- end }}

{{/* Selector labels of one component: include "sigmaserve.selectorLabels" (dict "ctx" $ "component" "worker") */}}
{{- define "sigmaserve.selectorLabels" -}}
app.kubernetes.io/name: {{ include "sigmaserve.name" .ctx }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "sigmaserve.componentLabels" -}}
{{ include "sigmaserve.labels" .ctx }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "sigmaserve.image" -}}
{{ .Values.image.repository }}:{{ default .Chart.AppVersion .Values.image.tag }}
{{- end }}

{{/*
Scheduling of one pod: global settings first, then the component's (tolerations concatenated, nodeSelector
merged with the component winning, the component's affinity). include "sigmaserve.scheduling" (dict "ctx" $ "own" .Values.worker)
*/}}
{{- define "sigmaserve.scheduling" -}}
{{- $global := .ctx.Values.global }}
{{- $nodeSelector := merge (deepCopy (default dict .own.nodeSelector)) (deepCopy (default dict $global.nodeSelector)) }}
{{- with $nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- $tolerations := concat (default list $global.tolerations) (default list .own.tolerations) }}
{{- with $tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .own.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{- define "sigmaserve.imagePullSecrets" -}}
{{- with .Values.image.pullSecrets }}
imagePullSecrets:
  {{- range . }}
  - name: {{ . }}
  {{- end }}
{{- end }}
{{- end }}

{{/* The Secret that holds the in-chart NATS credentials. */}}
{{- define "sigmaserve.natsAuthSecret" -}}
{{- default (printf "%s-auth" (include "sigmaserve.natsName" .)) .Values.nats.internal.auth.existingSecret }}
{{- end }}

{{/*
Environment of a NATS client (router, worker): the credentials (when the in-chart NATS asks for them) and
SIGMASERVE_<APP>_NATS, the URL. Credentials stay in the Secret: the URL refers to them as $(NATS_TOKEN) /
$(NATS_USER):$(NATS_PASSWORD), which the kubelet expands from the variables defined before it.
include "sigmaserve.natsEnv" (dict "ctx" $ "app" "WORKER")
*/}}
{{- define "sigmaserve.natsEnv" -}}
{{- $v := .ctx.Values.nats }}
{{- $var := printf "SIGMASERVE_%s_NATS" .app }}
{{- if $v.internal.enabled }}
{{- $host := printf "%s.%s.svc:%d" (include "sigmaserve.natsName" .ctx) .ctx.Release.Namespace (int $v.internal.ports.client) }}
{{- if eq $v.internal.auth.type "token" }}
- name: NATS_TOKEN
  valueFrom:
    secretKeyRef:
      name: {{ include "sigmaserve.natsAuthSecret" .ctx }}
      key: token
- name: {{ $var }}
  value: "nats://$(NATS_TOKEN)@{{ $host }}"
{{- else if eq $v.internal.auth.type "userPassword" }}
- name: NATS_USER
  valueFrom:
    secretKeyRef:
      name: {{ include "sigmaserve.natsAuthSecret" .ctx }}
      key: user
- name: NATS_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ include "sigmaserve.natsAuthSecret" .ctx }}
      key: password
- name: {{ $var }}
  value: "nats://$(NATS_USER):$(NATS_PASSWORD)@{{ $host }}"
{{- else }}
- name: {{ $var }}
  value: "nats://{{ $host }}"
{{- end }}
{{- else if $v.external.existingSecret }}
- name: {{ $var }}
  valueFrom:
    secretKeyRef:
      name: {{ $v.external.existingSecret }}
      key: {{ $v.external.existingSecretKey }}
{{- else }}
- name: {{ $var }}
  value: {{ $v.external.url | quote }}
{{- end }}
{{- end }}

{{/* OpenTelemetry environment of one component: include "sigmaserve.otelEnv" (dict "ctx" $ "service" "router") */}}
{{- define "sigmaserve.otelEnv" -}}
{{- $otel := .ctx.Values.otel }}
{{- if $otel.endpoint }}
- name: OTEL_SERVICE_NAME
  value: {{ index $otel.serviceNames .service | quote }}
- name: OTEL_RESOURCE_ATTRIBUTES
  value: "k8s.namespace.name={{ .ctx.Release.Namespace }},k8s.pod.name=$(POD_NAME),service.instance.id=$(POD_NAME)"
{{- with $otel.sampler }}
- name: OTEL_TRACES_SAMPLER
  value: {{ . | quote }}
{{- end }}
{{- with $otel.samplerArg }}
- name: OTEL_TRACES_SAMPLER_ARG
  value: {{ . | quote }}
{{- end }}
{{- end }}
{{- end }}

{{/* The downward-API variables every sigmaserve container gets (first, so later values can refer to them). */}}
{{- define "sigmaserve.podEnv" -}}
- name: POD_NAME
  valueFrom:
    fieldRef:
      fieldPath: metadata.name
- name: POD_NAMESPACE
  valueFrom:
    fieldRef:
      fieldPath: metadata.namespace
- name: POD_IP
  valueFrom:
    fieldRef:
      fieldPath: status.podIP
{{- end }}

{{/* Does the router call the Kubernetes API (its autoscaler, or EndpointSlice discovery)? "true" or "". */}}
{{- define "sigmaserve.routerUsesKubeApi" -}}
{{- if or (eq .Values.autoscaling.provider "router") (eq .Values.router.workerDiscovery "endpointSlices") }}true{{ end }}
{{- end }}

{{/* The Secret and key with the router's API keys, or nothing when there are none. */}}
{{- define "sigmaserve.apiKeysSecret" -}}
{{- if .Values.router.apiKeys.existingSecret }}{{ .Values.router.apiKeys.existingSecret }}
{{- else if .Values.router.apiKeys.keys }}{{ include "sigmaserve.routerName" . }}-api-keys
{{- end }}
{{- end }}

{{/*
An init container that waits until the in-chart NATS accepts connections: the router and the workers exit when
NATS does not answer at start-up, and on a fresh install NATS comes up alongside them (without it they would
crash-loop, with growing back-off, until it does). Nothing for an external NATS.
include "sigmaserve.waitForNats" (dict "ctx" $)
*/}}
{{- define "sigmaserve.waitForNats" -}}
{{- $n := .ctx.Values.nats.internal }}
{{- if $n.enabled }}
initContainers:
  - name: wait-for-nats
    image: {{ include "sigmaserve.image" .ctx }}
    imagePullPolicy: {{ .ctx.Values.image.pullPolicy }}
    command:
      - node
      - -e
      - |
        const net = require("node:net");
        const [host, port] = [process.env.NATS_HOST, Number(process.env.NATS_PORT)];
        const attempt = () => {
          const socket = net.connect({ host, port }, () => { socket.end(); process.exit(0); });
          socket.setTimeout(2000, () => socket.destroy(new Error("timeout")));
          socket.on("error", (err) => { console.log(`waiting for NATS at ${host}:${port}: ${err.message}`); setTimeout(attempt, 2000); });
        };
        attempt();
    env:
      - name: NATS_HOST
        value: "{{ include "sigmaserve.natsName" .ctx }}.{{ .ctx.Release.Namespace }}.svc"
      - name: NATS_PORT
        value: {{ $n.ports.client | quote }}
    resources:
      requests:
        cpu: 10m
        memory: 32Mi
      limits:
        memory: 64Mi
    securityContext:
      {{- toYaml .ctx.Values.securityContext | nindent 6 }}
{{- end }}
{{- end }}
