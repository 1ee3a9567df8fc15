/**
 * Reads and checks one set of PEM files (certificate, private key, CA
 * bundle) the way a TLS handshake would use them, synchronously, so that what
 * is wrong is found now and named by its flag: an unreadable file, a PEM that
 * is not what it should be, an expired certificate, a key that is not the
 * certificate's. Node's own `createSecureContext` is the last word: what it
 * accepts is what the servers and channels will use.
 */
import { X509Certificate, createPrivateKey } from "node:crypto";
import { readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { createSecureContext } from "node:tls";
import { TlsConfigError } from "./tls-config-error.js";

/** One PEM file and the flag (or field) that named it, for messages. */
export interface PemFile {
  readonly path: string;
  readonly flag: string;
}

/** Which files make up a TLS identity and trust: cert and key together, ca alone or with them. */
export interface PemFiles {
  /** The certificate chain (leaf first). */
  readonly cert?: PemFile | undefined;
  /** The certificate's private key. */
  readonly key?: PemFile | undefined;
  /** The CA bundle peers' certificates are checked against. */
  readonly ca?: PemFile | undefined;
}

/** The bytes of a set of PEM files, as last read and checked. */
export interface PemMaterial {
  readonly cert?: Buffer | undefined;
  readonly key?: Buffer | undefined;
  readonly ca?: Buffer | undefined;
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** Throws TlsConfigError when the set cannot make sense whatever the files hold. */
export function checkPemFiles(files: PemFiles): void {
  if (files.cert !== undefined && files.key === undefined) throw new TlsConfigError(files.cert.flag, "a certificate needs its private key: give the key too");
  if (files.key !== undefined && files.cert === undefined) throw new TlsConfigError(files.key.flag, "a private key needs its certificate: give the certificate too");
  if (files.cert === undefined && files.ca === undefined) throw new TlsConfigError("tls", "give a certificate and key, a CA, or both");
}

function describeReadError(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  return code === "ENOENT" ? "no such file" : code === "EACCES" ? "permission denied" : code === "EISDIR" ? "is a folder" : (err as Error).message;
}

function readSync(file: PemFile): Buffer {
  try {
    return readFileSync(file.path);
  } catch (err) {
    throw new TlsConfigError(file.flag, `cannot read ${file.path}: ${describeReadError(err)}`, { cause: err });
  }
}

async function readAsync(file: PemFile): Promise<Buffer> {
  try {
    return await readFile(file.path);
  } catch (err) {
    throw new TlsConfigError(file.flag, `cannot read ${file.path}: ${describeReadError(err)}`, { cause: err });
  }
}

/** The certificates of a PEM bundle; throws naming `file` when there is none or one does not parse. */
function certificatesOf(pem: Buffer, file: PemFile): X509Certificate[] {
  const blocks = pem.toString("utf8").match(PEM_CERTIFICATE) ?? [];
  if (blocks.length === 0) throw new TlsConfigError(file.flag, `${file.path} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`);
  return blocks.map((block) => {
    try {
      return new X509Certificate(block);
    } catch (err) {
      throw new TlsConfigError(file.flag, `${file.path} holds a certificate that does not parse: ${(err as Error).message}`, { cause: err });
    }
  });
}

/** Checks bytes read from `files`; returns them as material, or throws TlsConfigError naming the flag. */
export function checkPemMaterial(files: PemFiles, material: PemMaterial, nowMs = Date.now()): PemMaterial {
  if (files.cert !== undefined && files.key !== undefined && material.cert !== undefined && material.key !== undefined) {
    const [leaf] = certificatesOf(material.cert, files.cert);
    if (Date.parse(leaf!.validTo) <= nowMs) throw new TlsConfigError(files.cert.flag, `the certificate in ${files.cert.path} expired on ${leaf!.validTo}`);
    let key;
    try {
      key = createPrivateKey(material.key);
    } catch (err) {
      throw new TlsConfigError(files.key.flag, `${files.key.path} holds no usable PEM private key: ${(err as Error).message}`, { cause: err });
    }
    if (!leaf!.checkPrivateKey(key)) throw new TlsConfigError(files.key.flag, `the key in ${files.key.path} does not belong to the certificate in ${files.cert.path} (${files.cert.flag})`);
  }
  if (files.ca !== undefined && material.ca !== undefined) certificatesOf(material.ca, files.ca);
  try {
    createSecureContext({ cert: material.cert, key: material.key, ca: material.ca });
  } catch (err) {
    const flag = files.cert?.flag ?? files.ca?.flag ?? "tls";
    throw new TlsConfigError(flag, `TLS refuses these files: ${(err as Error).message}`, { cause: err });
  }
  return material;
}

/** Reads and checks `files` now (start-up): throws TlsConfigError naming the flag. */
export function readPemMaterialSync(files: PemFiles): PemMaterial {
  checkPemFiles(files);
  return checkPemMaterial(files, {
    cert: files.cert === undefined ? undefined : readSync(files.cert),
    key: files.key === undefined ? undefined : readSync(files.key),
    ca: files.ca === undefined ? undefined : readSync(files.ca),
  });
}

/** Reads `files` without blocking and without checking (a refresh checks only what changed). */
export async function readPemMaterial(files: PemFiles): Promise<PemMaterial> {
  const [cert, key, ca] = await Promise.all([files.cert, files.key, files.ca].map((file) => (file === undefined ? undefined : readAsync(file))));
  return { cert, key, ca };
}

/** True when both hold the same bytes in every file. */
export function samePemMaterial(a: PemMaterial, b: PemMaterial): boolean {
  const same = (x: Buffer | undefined, y: Buffer | undefined) => (x === undefined ? y === undefined : y !== undefined && x.equals(y));
  return same(a.cert, b.cert) && same(a.key, b.key) && same(a.ca, b.ca);
}
