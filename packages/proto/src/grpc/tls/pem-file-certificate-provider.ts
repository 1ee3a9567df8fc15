/**
 * TLS material from PEM files, re-read every `refreshIntervalMs` so that a
 * certificate, key or CA replaced on disk is used by new connections without
 * a restart. It is a grpc-js `CertificateProvider` (the seam grpc-js's
 * certificate-provider server and channel credentials read from) and it also
 * tells other listeners (the router's HTTPS server) through `onChange`.
 *
 * NOTE: why not grpc-js's own `experimental.FileWatcherCertificateProvider`
 * (1.14.7)? Three behaviours of it are wrong for us:
 *   - it reads asynchronously and reports a failed read as `null`, so a
 *     missing or unreadable file at start-up is not an error but a server
 *     that drops every connection; we read and check synchronously when
 *     constructed and throw TlsConfigError naming the flag (fail closed);
 *   - a failed read later (a file briefly absent during a rotation) also
 *     publishes `null`, and a key that does not match its certificate (a
 *     rotation that wrote one file before the other) makes grpc-js's
 *     setSecureContext throw: either way every new connection is refused
 *     until the next good read. We keep serving the last good material and
 *     report the problem (`onReloadError`); the next refresh tries again;
 *   - it holds the event loop with its timer; ours is unref'd and stopped by
 *     `close()`.
 * A refresh that reads the same bytes publishes nothing.
 */
import type { experimental } from "@grpc/grpc-js";
import { checkPemMaterial, readPemMaterial, readPemMaterialSync, samePemMaterial, type PemFiles, type PemMaterial } from "./read-pem-material.js";
import { TlsConfigError } from "./tls-config-error.js";

type CertificateProvider = experimental.CertificateProvider;
type CaListener = experimental.CaCertificateUpdateListener;
type IdentityListener = experimental.IdentityCertificateUpdateListener;

/** How often the files are re-read, ms: a rotated certificate is in use within this. */
export const DEFAULT_TLS_REFRESH_INTERVAL_MS = 60_000;

export interface PemFileCertificateProviderOptions extends PemFiles {
  /** Re-read interval, ms (default DEFAULT_TLS_REFRESH_INTERVAL_MS); tests use a short one. */
  readonly refreshIntervalMs?: number;
  /** Told when a refresh found files it could not use; the last good material stays in use. */
  readonly onReloadError?: (err: TlsConfigError) => void;
}

export class PemFileCertificateProvider implements CertificateProvider {
  readonly files: PemFiles;
  readonly refreshIntervalMs: number;
  private material: PemMaterial;
  private readonly caListeners = new Set<CaListener>();
  private readonly identityListeners = new Set<IdentityListener>();
  private readonly changeListeners = new Set<(material: PemMaterial) => void>();
  private readonly onReloadError: ((err: TlsConfigError) => void) | undefined;
  private timer: NodeJS.Timeout | undefined;
  private refreshing: Promise<boolean> | undefined;

  /** Reads and checks the files now; throws TlsConfigError (naming the flag) when they cannot be used. */
  constructor(options: PemFileCertificateProviderOptions) {
    this.files = { cert: options.cert, key: options.key, ca: options.ca };
    this.refreshIntervalMs = options.refreshIntervalMs ?? DEFAULT_TLS_REFRESH_INTERVAL_MS;
    if (!(this.refreshIntervalMs > 0)) throw new TlsConfigError("refreshIntervalMs", `must be above 0, got ${this.refreshIntervalMs}`);
    this.onReloadError = options.onReloadError;
    this.material = readPemMaterialSync(this.files);
    this.timer = setInterval(() => void this.refresh(), this.refreshIntervalMs);
    // NOTE: a provider never keeps a process alive; whoever made it closes it.
    this.timer.unref();
  }

  /** True when it has a certificate and key (an identity to present). */
  get hasIdentity(): boolean {
    return this.files.cert !== undefined;
  }

  /** True when it has a CA to check peers against. */
  get hasCa(): boolean {
    return this.files.ca !== undefined;
  }

  /** The material in use now. */
  current(): PemMaterial {
    return this.material;
  }

  /** Calls `listener` with the new material after each change; returns the remover. */
  onChange(listener: (material: PemMaterial) => void): () => void {
    this.changeListeners.add(listener);
    return () => this.changeListeners.delete(listener);
  }

  /**
   * Re-reads the files now; resolves true when new material is in use. Files that cannot be used are
   * reported to `onReloadError` and leave the current material in place (false).
   */
  refresh(): Promise<boolean> {
    this.refreshing ??= this.reload().finally(() => (this.refreshing = undefined));
    return this.refreshing;
  }

  /** Stops re-reading. Connections keep the material they have. */
  close(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  addCaCertificateListener(listener: CaListener): void {
    this.caListeners.add(listener);
    // As grpc-js's providers do: the current value, asynchronously.
    process.nextTick(() => this.caListeners.has(listener) && listener(this.caUpdate()));
  }

  removeCaCertificateListener(listener: CaListener): void {
    this.caListeners.delete(listener);
  }

  addIdentityCertificateListener(listener: IdentityListener): void {
    this.identityListeners.add(listener);
    process.nextTick(() => this.identityListeners.has(listener) && listener(this.identityUpdate()));
  }

  removeIdentityCertificateListener(listener: IdentityListener): void {
    this.identityListeners.delete(listener);
  }

  private caUpdate(): experimental.CaCertificateUpdate | null {
    return this.material.ca === undefined ? null : { caCertificate: this.material.ca };
  }

  private identityUpdate(): experimental.IdentityCertificateUpdate | null {
    const { cert, key } = this.material;
    return cert === undefined || key === undefined ? null : { certificate: cert, privateKey: key };
  }

  private async reload(): Promise<boolean> {
    let next: PemMaterial;
    try {
      next = await readPemMaterial(this.files);
      if (this.timer === undefined || samePemMaterial(next, this.material)) return false;
      checkPemMaterial(this.files, next);
    } catch (err) {
      if (this.timer !== undefined) this.onReloadError?.(err instanceof TlsConfigError ? err : new TlsConfigError("tls", (err as Error).message, { cause: err }));
      return false;
    }
    this.material = next;
    // Identity first: a server that requires client certificates gets a complete context after the CA update.
    const identity = this.identityUpdate();
    const ca = this.caUpdate();
    for (const listener of this.identityListeners) listener(identity);
    for (const listener of this.caListeners) listener(ca);
    for (const listener of this.changeListeners) listener(next);
    return true;
  }
}
