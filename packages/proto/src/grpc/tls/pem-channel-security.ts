/**
 * gRPC channel credentials from a PemFileCertificateProvider: the server's
 * certificate is checked against the provider's CA (never the system roots:
 * the peers are ours), and the provider's certificate and key, when it has
 * them, are presented as the client identity (mutual TLS). Re-read material
 * is used by new connections; open ones keep their session.
 *
 * The server's name is checked against the host of the address dialled (an
 * IP address matches an IP SAN), unless `serverName` says which name the
 * peers' certificates carry: workers register pod IPs, which a shared worker
 * certificate rarely lists.
 */
import { experimental, type ChannelCredentials, type ChannelOptions } from "@grpc/grpc-js";
import type { PemFileCertificateProvider } from "./pem-file-certificate-provider.js";
import { TlsConfigError } from "./tls-config-error.js";

/** Credentials and the channel options that go with them (createGrpcClient's `credentials` and `channelOptions`). */
export interface ChannelSecurity {
  readonly credentials: ChannelCredentials;
  readonly channelOptions: ChannelOptions;
}

export function pemChannelSecurity(provider: PemFileCertificateProvider, options: { serverName?: string | undefined } = {}): ChannelSecurity {
  if (!provider.hasCa) throw new TlsConfigError(provider.files.cert?.flag ?? "tls", "a TLS client needs a CA to check servers against");
  const credentials = experimental.createCertificateProviderChannelCredentials(provider, provider.hasIdentity ? provider : null);
  const channelOptions: ChannelOptions =
    options.serverName === undefined
      ? {}
      : // Checks the certificate against serverName, and sends it as SNI and :authority.
        { "grpc.ssl_target_name_override": options.serverName, "grpc.default_authority": options.serverName };
  return { credentials, channelOptions };
}
