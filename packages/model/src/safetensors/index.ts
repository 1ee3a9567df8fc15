/**
 * Safetensors weights for @sigmaserve/model: read and write `.safetensors`
 * files (F32, F16 and BF16 stored; f32 in memory) and the f16/bf16 rounding
 * used to store weights and to build reference runs on rounded weights.
 */

export { bf16BitsToF32, decodeBf16, encodeBf16, f32ToBf16Bits, roundToBf16 } from "./bfloat16.js";
export { SafetensorsError, type SafetensorsErrorReason } from "./errors.js";
export { decodeF16, encodeF16, f16BitsToF32, f32ToF16Bits, roundToF16 } from "./float16.js";
export { MAX_HEADER_BYTES } from "./parse-header.js";
export { type SafetensorsContents, readSafetensors } from "./read-safetensors.js";
export { readSafetensorsFile, writeSafetensorsFile } from "./safetensors-file.js";
export { HEADER_DTYPE_NAMES, STORED_DTYPE_BYTES, type StoredDtype } from "./stored-dtype.js";
export { DATA_ALIGNMENT_BYTES, type WriteSafetensorsOptions, writeSafetensors } from "./write-safetensors.js";
