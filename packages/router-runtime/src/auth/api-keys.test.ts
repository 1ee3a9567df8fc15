import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { test } from "node:test";
import { AuthenticationError, RouterConfigError } from "../errors.js";
import { hashApiKey } from "./api-key-digest.js";
import { ApiKeys } from "./api-keys.js";
import { parseApiKeys } from "./parse-api-keys.js";
import { TenantSalts } from "./tenant-salts.js";

const SALTS = new TenantSalts(Buffer.alloc(32, 7));

test("api-keys - a key given as sha256:HEX authenticates its plain key; the digest itself is no key", () => {
  const keys = ApiKeys.parse(JSON.stringify({ [hashApiKey("sk-alpha")]: "alpha", "sk-beta": "beta" }), "keys.json", SALTS);
  assert.equal(hashApiKey("sk-alpha"), `sha256:${createHash("sha256").update("sk-alpha").digest("hex")}`);
  assert.equal(keys.authenticate("Bearer sk-alpha").id, "alpha");
  assert.equal(keys.authenticate("sk-beta").id, "beta");
  assert.throws(() => keys.authenticate(`Bearer ${hashApiKey("sk-alpha")}`), AuthenticationError);
  assert.throws(() => keys.authenticate(undefined), /missing API key/);
  // Inline keys may be digests too (the variable then holds no key).
  assert.equal(ApiKeys.parse(`${hashApiKey("k1")}=t1`, "SIGMASERVE_ROUTER_API_KEYS", SALTS).authenticate("k1").id, "t1");
});

test("api-keys - an object entry carries the tenant's limits", () => {
  const keys = ApiKeys.parse(JSON.stringify({ k1: { tenant: "alpha", requestsPerS: 5, tokensPerS: 2000, maxInFlight: 8 }, k2: { tenant: "beta" } }), "keys.json", SALTS);
  assert.deepEqual(keys.authenticate("k1"), { id: "alpha", cacheSalt: SALTS.saltFor("alpha"), limits: { requestsPerS: 5, tokensPerS: 2000, maxInFlight: 8 } });
  assert.deepEqual(keys.authenticate("k2"), { id: "beta", cacheSalt: SALTS.saltFor("beta") });
});

test("api-keys - errors name the entry's position and the field, never the key", () => {
  const secret = "sk-very-secret-0001";
  const cases: [string, string][] = [
    [JSON.stringify({ ok: "a", [secret]: "" }), "keys.json: entry 2: the tenant name is empty"],
    [JSON.stringify({ [secret]: { tenant: "a", requestsPerS: -1 } }), "keys.json: entry 1: requestsPerS: must be at least 0 (0: no limit for this tenant)"],
    [JSON.stringify({ [secret]: { tenant: "a", maxInFlight: 1.5 } }), "keys.json: entry 1: maxInFlight: must be a whole number"],
    [JSON.stringify({ [secret]: { tenant: "a", rps: 3 } }), 'keys.json: entry 1: unknown field(s) "rps"'],
    [JSON.stringify({ [secret]: 42 }), 'keys.json: entry 1: must be a tenant name or an object {"tenant": ..., limits}'],
    [JSON.stringify({ a: "x", "sha256:abc": "t" }), "keys.json: entry 2: a key written as sha256:... needs exactly 64 hex digits after the prefix (sigmaserve keys hash prints it)"],
    [JSON.stringify({ [secret]: "a", [hashApiKey(secret)]: "b" }), "keys.json: entries 1 and 2 are the same key"],
    [`{"${secret}": "a",`, "keys.json: not valid JSON"],
  ];
  for (const [text, message] of cases) {
    assert.throws(() => ApiKeys.parse(text, "keys.json", SALTS), (err: unknown) => {
      assert.ok(err instanceof RouterConfigError);
      assert.equal(err.message.replace(/ \(at character \d+\)$/, ""), message);
      assert.ok(!err.message.includes(secret));
      return true;
    });
  }
  assert.throws(() => ApiKeys.parse(`${secret}=a,oops`, "ENV", SALTS), (err: unknown) => err instanceof RouterConfigError && err.message === 'ENV: pair 2: expected "key=tenant" pairs separated by commas');
});

test("api-keys - salts: the open router's one tenant has none; two tenants differ; a salt is not a digest of the name", () => {
  assert.deepEqual(ApiKeys.parse("", "none", SALTS).authenticate(undefined), { id: "default", cacheSalt: "" });
  const keys = ApiKeys.parse("ka=alpha,kb=beta", "ENV", SALTS);
  const [alpha, beta] = [keys.authenticate("ka").cacheSalt, keys.authenticate("kb").cacheSalt];
  assert.match(alpha, /^[0-9a-f]{32}$/);
  assert.notEqual(alpha, beta);
  for (const derivable of [createHash("sha256").update("sigmaserve-tenant:alpha").digest("hex"), createHash("sha256").update("alpha").digest("hex")]) assert.notEqual(alpha, derivable.slice(0, 32));
  assert.notEqual(new TenantSalts(Buffer.alloc(32, 8)).saltFor("alpha"), alpha, "another key, other salts");
  assert.equal(new TenantSalts(Buffer.alloc(32, 7)).saltFor("alpha"), alpha, "the same key, the same salts (every router of a cluster)");
});

test("api-keys - replace swaps the table at once; tenants already authenticated keep theirs", () => {
  const keys = ApiKeys.parse("old=alpha", "ENV", SALTS);
  const before = keys.authenticate("old");
  keys.replace(parseApiKeys("new=alpha", "ENV"));
  assert.throws(() => keys.authenticate("old"), /unknown API key/);
  assert.equal(keys.authenticate("new").id, "alpha");
  assert.equal(before.id, "alpha");
});
