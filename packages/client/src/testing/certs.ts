/**
 * Test fixture: a throwaway CA with a server and a client certificate, made
 * offline with the `openssl` command into a temp dir. Returns null when
 * `openssl` is not installed, so the mTLS test can skip with a message.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface TestPki {
  /** PEM of the CA certificate. */
  ca: Buffer;
  server: { cert: Buffer; key: Buffer };
  client: { cert: Buffer; key: Buffer };
  /** The DNS name in the server certificate (not the address the test dials). */
  serverName: string;
}

/** The DNS name the server certificate is issued for. */
export const TEST_SERVER_NAME = "router.sigmaserve.test";

function hasOpenssl(): boolean {
  try {
    execFileSync("openssl", ["version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/** Generates the CA and both leaf certificates (EC P-256, one day), or null without openssl. */
export function makeTestPki(): TestPki | null {
  if (!hasOpenssl()) return null;
  const dir = mkdtempSync(join(tmpdir(), "sigmaserve-client-pki-"));
  const openssl = (...args: string[]): void => void execFileSync("openssl", args, { cwd: dir, stdio: "pipe" });
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  try {
    openssl("req", "-x509", ...ec, "-keyout", "ca.key", "-out", "ca.crt", "-days", "1", "-subj", "/CN=sigmaserve test CA");
    const leaf = (name: string, extensions: string): void => {
      writeFileSync(join(dir, `${name}.ext`), extensions);
      openssl("req", ...ec, "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", `/CN=${name}`);
      openssl("x509", "-req", "-in", `${name}.csr`, "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-days", "1", "-out", `${name}.crt`, "-extfile", `${name}.ext`);
    };
    leaf("server", `subjectAltName=DNS:${TEST_SERVER_NAME}\nextendedKeyUsage=serverAuth\n`);
    leaf("client", "extendedKeyUsage=clientAuth\n");
    const read = (file: string): Buffer => readFileSync(join(dir, file));
    return {
      ca: read("ca.crt"),
      server: { cert: read("server.crt"), key: read("server.key") },
      client: { cert: read("client.crt"), key: read("client.key") },
      serverName: TEST_SERVER_NAME,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
