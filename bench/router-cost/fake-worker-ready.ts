/** The line the FAKE worker (fake-worker.ts) logs once it listens; a module of its own, so reading it does not start a fake worker. */
export const FAKE_WORKER_READY_MESSAGE = "fake worker listening";
/** The model the fake worker claims to serve. */
export const FAKE_MODEL_ID = "sigma-tiny";
/** The line the FLOOR relay (floor-relay.ts) logs once it listens. */
export const FLOOR_RELAY_READY_MESSAGE = "floor relay listening";
