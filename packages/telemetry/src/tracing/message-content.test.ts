import assert from "node:assert/strict";
import { test } from "node:test";
import { CAPTURE_MESSAGE_CONTENT_ENV, captureMessageContentFromEnv } from "./message-content.js";

test("message content - off unless the GenAI variable asks for content on spans", () => {
  const on = (value: string | undefined) => captureMessageContentFromEnv(value === undefined ? {} : { [CAPTURE_MESSAGE_CONTENT_ENV]: value });
  assert.equal(on(undefined), false);
  for (const value of ["", "false", "NO_CONTENT", "EVENT_ONLY", "yes please"]) assert.equal(on(value), false, value);
  for (const value of ["true", "TRUE", "SPAN_ONLY", "span_and_event", " SPAN_AND_EVENT "]) assert.equal(on(value), true, value);
});
