/**
 * Channel and server options for message size limits.
 *
 * grpc-js refuses messages over 4 MiB by default, on the client and on the
 * server alike. KV transfer frames are larger, so every hop that carries them
 * raises both the receive and the send limit to the same value.
 */
import type { ChannelOptions } from "@grpc/grpc-js";

/** grpc-js's own default limit on a received message, bytes. */
export const GRPC_DEFAULT_MAX_MESSAGE_BYTES = 4 * 1024 * 1024;

/** Options that set both the send and the receive limit to `maxMessageBytes`. */
export function messageSizeOptions(maxMessageBytes: number): ChannelOptions {
  if (!Number.isInteger(maxMessageBytes) || maxMessageBytes <= 0) {
    throw new RangeError(`maxMessageBytes must be a positive integer, got ${maxMessageBytes}`);
  }
  return {
    "grpc.max_receive_message_length": maxMessageBytes,
    "grpc.max_send_message_length": maxMessageBytes,
  };
}
