/**
 * Credentials in a NATS URL reach the server: nats.js 3 ignores them in the
 * URL itself, so the bus moves them to the connection's token or user/pass
 * (the Helm chart hands routers and workers `nats://$(NATS_TOKEN)@host:4222`).
 * Against real nats-servers that require a token or a user and password.
 */
import * as assert from "node:assert/strict";
import { test } from "node:test";
import { startNatsServer } from "@sigmaserve/testkit";
import { CoordArgumentError, CoordUnavailableError } from "../errors.js";
import { workerInfo } from "../testing/coord-fixtures.js";
import { connectNatsCoordBus } from "./connect-nats-coord-bus.js";
import { splitCredentials } from "./nats-coord-bus-options.js";

test("nats credentials - a token or user:password in the URL moves to the connection options; the URL goes on without it", () => {
  assert.deepEqual(splitCredentials(["nats://s3cr%40t@10.0.0.1:4222"]), { servers: ["nats://10.0.0.1:4222"], credentials: { token: "s3cr@t" } });
  assert.deepEqual(splitCredentials(["nats://ana:p%3Ass@a:4222", "nats://ana:p%3Ass@b:4222"]), { servers: ["nats://a:4222", "nats://b:4222"], credentials: { user: "ana", pass: "p:ss" } });
  assert.deepEqual(splitCredentials(["127.0.0.1:4222"]), { servers: ["127.0.0.1:4222"], credentials: {} });
  assert.throws(() => splitCredentials(["nats://a@h:1", "nats://b@h:2"]), (err: unknown) => err instanceof CoordArgumentError && err.field === "servers[1]");
});

const AUTHS: ({ token: string } | { user: string; password: string })[] = [{ token: "t0ken-for-test" }, { user: "router", password: "pa:ss@word" }];
for (const auth of AUTHS) {
  const kind = "token" in auth ? "token" : "user and password";
  test(`nats credentials - a server that requires a ${kind}: the URL's credentials connect, none are refused without leaking them`, async () => {
    const server = await startNatsServer({ authorization: auth });
    const userinfo = "token" in auth ? encodeURIComponent(auth.token) : `${encodeURIComponent(auth.user)}:${encodeURIComponent(auth.password)}`;
    const withCredentials = server.url.replace("nats://", `nats://${userinfo}@`);
    try {
      const bus = await connectNatsCoordBus({ servers: withCredentials, name: "credentials-test" });
      const registration = await bus.register(workerInfo("cred-w0"));
      const watch = await bus.watchWorkers(() => {});
      assert.deepEqual([...watch.workers().keys()], ["cred-w0"], "the registry (JetStream KV) works over the authenticated connection");
      await registration.deregister();
      await bus.close();
      await assert.rejects(connectNatsCoordBus({ servers: server.url, name: "no-credentials", connectTimeoutMs: 2_000 }), (err: unknown) => {
        assert.ok(err instanceof CoordUnavailableError);
        return true;
      });
      await assert.rejects(connectNatsCoordBus({ servers: withCredentials.replace("@", "x@"), name: "wrong-credentials", connectTimeoutMs: 2_000 }), (err: unknown) => {
        assert.ok(err instanceof CoordUnavailableError);
        assert.ok(!err.message.includes("t0ken") && !err.message.includes("pa%3Ass") && !err.message.includes("x@"), `the message names no credentials: ${err.message}`);
        return true;
      });
    } finally {
      await server.stop();
    }
  });
}
