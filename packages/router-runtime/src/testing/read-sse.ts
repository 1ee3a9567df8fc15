/**
 * Test helper: reads an OpenAI-style SSE body and checks its framing exactly:
 * every frame is `data: <payload>\n\n`, nothing else is on the wire, and the
 * last frame is `data: [DONE]`.
 */
import assert from "node:assert/strict";

/** The JSON payloads of a complete SSE body, in order, without the final [DONE]; throws on any framing error. */
export function parseSseBody(raw: string): any[] {
  assert.ok(raw.endsWith("data: [DONE]\n\n"), `the stream must end with "data: [DONE]\\n\\n", got ${JSON.stringify(raw.slice(-40))}`);
  const frames = raw.split("\n\n");
  assert.equal(frames.pop(), "", "the body must end with a blank line");
  assert.equal(frames.pop(), "data: [DONE]");
  return frames.map((frame) => {
    assert.ok(frame.startsWith("data: "), `every frame starts with "data: ", got ${JSON.stringify(frame)}`);
    assert.ok(!frame.includes("\n"), `a frame is one line, got ${JSON.stringify(frame)}`);
    return JSON.parse(frame.slice("data: ".length));
  });
}

/** Reads the next complete frame's payload from a streaming body (for tests that stop mid-stream). */
export async function readFrame(reader: ReadableStreamDefaultReader<Uint8Array>, state: { buffer: string }): Promise<string> {
  const decoder = new TextDecoder();
  for (;;) {
    const end = state.buffer.indexOf("\n\n");
    if (end >= 0) {
      const frame = state.buffer.slice(0, end);
      state.buffer = state.buffer.slice(end + 2);
      assert.ok(frame.startsWith("data: "), `every frame starts with "data: ", got ${JSON.stringify(frame)}`);
      return frame.slice("data: ".length);
    }
    const { value, done } = await reader.read();
    if (done) throw new Error("the stream ended before a complete frame");
    state.buffer += decoder.decode(value, { stream: true });
  }
}
