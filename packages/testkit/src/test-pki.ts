/**
 * A throwaway PKI for TLS tests, made with the system's `openssl` (Debian's
 * /usr/bin/openssl) in a temporary folder: a CA, a server certificate for
 * 127.0.0.1 and localhost, a client certificate, and a "stranger" CA with its
 * own client (a peer that is not ours). More leaves come from `issue`.
 *
 * NOTE: keys are ECDSA P-256 (fast to make: the whole set takes well under a
 * second) and every leaf carries both serverAuth and clientAuth, because a
 * worker's one certificate is its server identity and its client identity
 * towards peers. Certificates are valid for one day: tests never outlive them.
 */
import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

/** Where openssl is looked up when OPENSSL is not set (Debian's package puts it here). */
export const DEFAULT_OPENSSL = "/usr/bin/openssl";
/** Subject alternative names of `server` (and the default of `issue`): what loopback tests dial. */
export const LOOPBACK_SANS: readonly string[] = ["IP:127.0.0.1", "DNS:localhost"];

/** PEM files of one key pair: `cert` (the certificate) and `key` (its private key). */
export interface TestCertFiles {
  readonly cert: string;
  readonly key: string;
}

export interface TestPki {
  /** The folder holding every file (removed by `remove`). */
  readonly dir: string;
  /** The cluster's CA; `ca.cert` is what peers trust. */
  readonly ca: TestCertFiles;
  /** Signed by `ca`, SANs 127.0.0.1 and localhost. */
  readonly server: TestCertFiles;
  /** Signed by `ca`, CN "client". */
  readonly client: TestCertFiles;
  /** Another CA, which nothing trusts. */
  readonly strangerCa: TestCertFiles;
  /** Signed by `strangerCa`, SANs 127.0.0.1 and localhost: a peer that is not ours. */
  readonly stranger: TestCertFiles;
  /** Makes one more CA (self-signed) named `name`. */
  newCa(name: string): Promise<TestCertFiles>;
  /** Makes one more leaf named `name`, signed by `ca`, with `sans` (default LOOPBACK_SANS). */
  issue(name: string, ca: TestCertFiles, sans?: readonly string[]): Promise<TestCertFiles>;
  remove(): Promise<void>;
}

const run = promisify(execFile);

async function openssl(args: readonly string[]): Promise<void> {
  await run(process.env["OPENSSL"] ?? DEFAULT_OPENSSL, [...args]);
}

const EC_KEY = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];

async function makeCa(dir: string, name: string): Promise<TestCertFiles> {
  const files = { cert: join(dir, `${name}.crt`), key: join(dir, `${name}.key`) };
  await openssl([
    "req", "-x509", "-new", ...EC_KEY, "-keyout", files.key, "-out", files.cert, "-days", "1", "-subj", `/CN=${name}`,
    "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
  ]);
  return files;
}

async function makeLeaf(dir: string, name: string, ca: TestCertFiles, sans: readonly string[]): Promise<TestCertFiles> {
  const files = { cert: join(dir, `${name}.crt`), key: join(dir, `${name}.key`) };
  const csr = join(dir, `${name}.csr`);
  const ext = join(dir, `${name}.ext`);
  await openssl(["req", "-new", ...EC_KEY, "-keyout", files.key, "-out", csr, "-subj", `/CN=${name}`]);
  await writeFile(
    ext,
    [
      "basicConstraints=critical,CA:FALSE",
      "keyUsage=critical,digitalSignature",
      "extendedKeyUsage=serverAuth,clientAuth",
      ...(sans.length === 0 ? [] : [`subjectAltName=${sans.join(",")}`]),
    ].join("\n") + "\n",
  );
  await openssl(["x509", "-req", "-in", csr, "-CA", ca.cert, "-CAkey", ca.key, "-CAcreateserial", "-days", "1", "-out", files.cert, "-extfile", ext]);
  return files;
}

/** Makes the standard set in a new temporary folder; call `remove()` when done. */
export async function createTestPki(): Promise<TestPki> {
  const dir = await mkdtemp(join(tmpdir(), "sigmaserve-pki-"));
  try {
    const ca = await makeCa(dir, "ca");
    const strangerCa = await makeCa(dir, "stranger-ca");
    const [server, client, stranger] = await Promise.all([
      makeLeaf(dir, "server", ca, LOOPBACK_SANS),
      makeLeaf(dir, "client", ca, []),
      makeLeaf(dir, "stranger", strangerCa, LOOPBACK_SANS),
    ]);
    return {
      dir,
      ca,
      server,
      client,
      strangerCa,
      stranger,
      newCa: (name) => makeCa(dir, name),
      issue: (name, issuer, sans = LOOPBACK_SANS) => makeLeaf(dir, name, issuer, sans),
      remove: () => rm(dir, { recursive: true, force: true }),
    };
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}
