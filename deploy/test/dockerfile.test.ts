/**
 * The image cannot be built here (no registry for docker), so these tests check what can drift: every
 * path the Dockerfile copies from the context exists, every workspace's package.json reaches `npm ci`
 * (the lockfile lists them all), the apps it names are the workspaces that build them, .dockerignore keeps
 * host builds out, and the image's user is the one the chart runs as.
 */
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { parse } from "yaml";
import { CHART_DIR, DEPLOY_DIR } from "./testing/helm.js";

const ROOT = join(DEPLOY_DIR, "..");
const DOCKERFILE = readFileSync(join(DEPLOY_DIR, "docker", "Dockerfile"), "utf8");

/** Instructions, with continuation lines joined and comments dropped. */
const instructions = DOCKERFILE.replace(/\\\n/g, " ")
  .split("\n")
  .map((line) => line.trim())
  .filter((line) => line !== "" && !line.startsWith("#"));

/** Sources of the COPY instructions that read the build context (not --from=stage). */
const contextCopies = instructions
  .filter((line) => line.startsWith("COPY ") && !line.includes("--from="))
  .flatMap((line) => {
    const parts = line.split(/\s+/).slice(1).filter((p) => !p.startsWith("--"));
    return parts.slice(0, -1);
  });

/** The workspaces of the root package.json, expanded ("packages/*" → each folder with a package.json). */
function workspaces(): string[] {
  const globs: string[] = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).workspaces;
  return globs.flatMap((glob) =>
    glob.endsWith("/*")
      ? readdirSync(join(ROOT, glob.slice(0, -2)))
          .map((name) => `${glob.slice(0, -2)}/${name}`)
          .filter((dir) => existsSync(join(ROOT, dir, "package.json")))
      : [glob],
  );
}

test("docker - every path the Dockerfile copies from the context exists", () => {
  assert.ok(contextCopies.length > 5);
  const missing = contextCopies.filter((source) => source !== "." && !existsSync(join(ROOT, source)));
  assert.deepEqual(missing, []);
});

test("docker - npm ci sees every workspace's package.json (the lockfile lists them all)", () => {
  const copied = new Set(contextCopies);
  const missing = workspaces().filter((dir) => !copied.has(`${dir}/package.json`));
  assert.deepEqual(missing, [], "add a COPY <workspace>/package.json line before `RUN npm ci`");
  // The manifests, then npm ci, then the sources (so the dependency layer survives source changes).
  const at = (prefix: string): number => instructions.findIndex((line) => line.startsWith(prefix));
  const lastManifest = instructions.findLastIndex((line) => /^COPY \S+\/package\.json /.test(line));
  assert.ok(at("COPY package.json package-lock.json") < at("RUN npm ci") && lastManifest < at("RUN npm ci") && at("RUN npm ci") < at("COPY . ."));
  assert.match(DOCKERFILE, /ENV ONNXRUNTIME_NODE_INSTALL=skip/);
  assert.match(DOCKERFILE, /RUN npm ci --no-audit --no-fund/);
  assert.match(DOCKERFILE, /RUN npm run build/);
  assert.match(DOCKERFILE, /RUN npm prune --omit=dev/);
});

test("docker - the build stage has node-gyp's toolchain; the runtime stage is slim, runs as uid 10001, the uid the chart runs as", () => {
  const stages = instructions.filter((line) => line.startsWith("FROM "));
  assert.deepEqual(stages, ["FROM node:${NODE_VERSION}-bookworm AS build", "FROM node:${NODE_VERSION}-bookworm-slim AS runtime"]);
  assert.match(DOCKERFILE, /apt-get install -y --no-install-recommends python3 make g\+\+/);
  assert.ok(instructions.includes("USER 10001:10001"));
  assert.ok(instructions.includes("WORKDIR /app"));
  const values = parse(readFileSync(join(CHART_DIR, "values.yaml"), "utf8"));
  assert.equal(values.podSecurityContext.runAsUser, 10001);
  assert.equal(values.image.repository, "ghcr.io/sigmaserve/sigmaserve");
  // The native kernel is where the engine loads it from, and .dockerignore keeps host builds out of the context.
  assert.match(readFileSync(join(ROOT, "packages/engine/src/attention/native-paged-attention.ts"), "utf8"), /native\/build\/Release\/paged_attention\.node/);
  const ignored = readFileSync(join(ROOT, ".dockerignore"), "utf8").split("\n");
  for (const entry of ["**/node_modules", "**/dist", "packages/engine/native/build", ".git", ".tools"]) assert.ok(ignored.includes(entry), entry);
});

test("docker - the entrypoints the chart runs are the apps' built mains", () => {
  for (const app of ["worker", "router", "cli"]) {
    const pkg = JSON.parse(readFileSync(join(ROOT, "apps", app, "package.json"), "utf8"));
    assert.match(pkg.scripts.build, /^tsc -p tsconfig\.build\.json$/, app);
    assert.ok(Object.values(pkg.bin).includes("./dist/main.js"), `${app}: bin is dist/main.js`);
    assert.ok(existsSync(join(ROOT, "apps", app, "src", "main.ts")), app);
  }
  const templates = ["router/deployment.yaml", "worker/deployment.yaml"].map((t) => readFileSync(join(CHART_DIR, "templates", t), "utf8")).join("\n");
  assert.match(templates, /command: \["node", "apps\/router\/dist\/main\.js"\]/);
  assert.match(templates, /command: \["node", "apps\/worker\/dist\/main\.js"\]/);
  assert.match(templates, /- apps\/cli\/dist\/main\.js\n\s+- drain/);
});
