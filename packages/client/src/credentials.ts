/**
 * TLS options → grpc-js channel credentials and the channel options they need.
 *
 * NOTE: the API key is not a grpc-js CallCredentials: grpc-js refuses those on
 * plaintext channels, and plaintext is how a router is reached on loopback and
 * inside a cluster. The key travels as per-call metadata instead (call.ts).
 */
import { credentials, type ChannelCredentials, type ChannelOptions } from "@grpc/grpc-js";
import type { TlsOptions } from "./options.js";

function pem(value: Buffer | string | undefined): Buffer | null {
  if (value === undefined) return null;
  return typeof value === "string" ? Buffer.from(value, "utf8") : value;
}

/** The credentials and extra channel options for `tls` (false: plaintext; true: system roots). */
export function channelSecurity(tls: Readonly<TlsOptions> | boolean): { credentials: ChannelCredentials; channelOptions: ChannelOptions } {
  if (tls === false) return { credentials: credentials.createInsecure(), channelOptions: {} };
  if (tls === true) return { credentials: credentials.createSsl(), channelOptions: {} };
  const channelOptions: ChannelOptions =
    tls.serverName === undefined
      ? {}
      : // Checks the certificate against serverName and sends it as SNI and :authority.
        { "grpc.ssl_target_name_override": tls.serverName, "grpc.default_authority": tls.serverName };
  return { credentials: credentials.createSsl(pem(tls.ca), pem(tls.key), pem(tls.cert)), channelOptions };
}
