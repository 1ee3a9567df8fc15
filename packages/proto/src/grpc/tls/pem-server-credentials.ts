/**
 * gRPC server credentials from a PemFileCertificateProvider: TLS with its
 * certificate and key, and, when it has a CA, mutual TLS: a client must
 * present a certificate signed by that CA or the handshake fails (the call
 * never reaches a handler; the client sees UNAVAILABLE). A client certificate
 * is required, never merely requested: a door that lets unauthenticated
 * clients through unless they present a bad certificate protects nothing.
 *
 * grpc-js re-reads the provider's material for each new connection, so a
 * rotation on disk needs no restart; open connections keep their session.
 */
import { experimental, type ServerCredentials } from "@grpc/grpc-js";
import type { PemFileCertificateProvider } from "./pem-file-certificate-provider.js";
import { TlsConfigError } from "./tls-config-error.js";

export function pemServerCredentials(provider: PemFileCertificateProvider): ServerCredentials {
  if (!provider.hasIdentity) throw new TlsConfigError(provider.files.ca?.flag ?? "tls", "a TLS server needs a certificate and key, not only a CA");
  // NOTE: grpc-js 1.14.7's typings name the first parameter `caCertificateProvider`, but the implementation
  // passes it on as the identity provider (and the second, nullable one as the CA): the order here is right.
  return experimental.createCertificateProviderServerCredentials(provider, provider.hasCa ? provider : null, provider.hasCa);
}
