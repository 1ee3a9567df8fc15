/**
 * @sigmaserve/testkit: helpers for tests and benches only. Apps and library
 * packages must never import it.
 */
export {
  DEFAULT_START_TIMEOUT_MS,
  DEFAULT_STOP_GRACE_MS,
  MAX_START_ATTEMPTS,
  startNatsServer,
  type NatsServerHandle,
  type StartNatsServerOptions,
} from "./start-nats-server.js";
export type { NatsTestAuthorization } from "./test-server-config.js";
export { NATS_SERVER_INSTALL_HINT, NatsConfigError, NatsServerNotFoundError, NatsServerStartError } from "./errors.js";
export { EXTRA_SEARCH_DIRS, findNatsServer, type FindNatsServerOptions } from "./find-nats-server.js";
export { LOOPBACK_HOST, freePort } from "./free-port.js";
export {
  DEFAULT_NATS_CONFIG_PATH,
  NATS_DEFAULT_MAX_PAYLOAD_BYTES,
  parseMaxPayload,
  readMaxPayload,
} from "./read-max-payload.js";
export { createRestartableNatsServer, type RestartableNatsServer } from "./restartable-nats-server.js";
export { assertGeneratedCodeFresh, listFiles, runBuf, withTempDir } from "./generated-code.js";
export { createTestPki, DEFAULT_OPENSSL, LOOPBACK_SANS, type TestCertFiles, type TestPki } from "./test-pki.js";
