// N-API surface of the kernel, used only by src/attention/native-paged-attention.ts:
//
//   attend(kDevice, vDevice, vHost: Float32Array (f32) or Uint16Array (bf16, f16 bit patterns),
//          q, out: Float32Array,
//          rowSeq, rowPos, seqBlockStart, blockKSlot, blockVSlot: Int32Array,
//          blockVTier: Uint8Array,
//          params: Int32Array [numLayers, n_q, n_k, n_v, d, blockSize, layer, topk, threads, portableLoops,
//                              kElementType, vElementType (0 f32, 1 bf16, 2 f16),
//                              stopAfterPhase (0 all; profiling only: 1 scores, 2 softmax)],
//          stats: Float64Array [vBytesDevice, vBytesHost, kBytes]) → undefined
//   streamSlots(arena: Float32Array | Uint16Array, slotElements: number, slots: Int32Array,
//               threads: number) → bigint   (the read roofline; a checksum of what it read)
//   cpuFeatures: string   (the ISA extensions the binary was compiled for)
//
// Typed arrays are read in place (no copies); `out` is written in place.
#include <napi.h>

#include <string>

#include "paged_attention.h"

namespace {

using sigmaserve::AttentionInputs;

constexpr size_t kNumArgs = 13;
constexpr size_t kNumParams = 13;

template <typename T>
bool typedArrayArg(const Napi::CallbackInfo& info, size_t index, napi_typedarray_type type, const char* name, const T** data, size_t* length) {
  const Napi::Value value = info[index];
  if (!value.IsTypedArray() || value.As<Napi::TypedArray>().TypedArrayType() != type) {
    Napi::TypeError::New(info.Env(), std::string("attend: argument ") + name + " has the wrong typed-array type").ThrowAsJavaScriptException();
    return false;
  }
  const Napi::TypedArrayOf<T> array = value.As<Napi::TypedArrayOf<T>>();
  *data = array.ElementLength() == 0 ? nullptr : array.Data();
  *length = array.ElementLength();
  return true;
}

// An arena argument: a Float32Array or a Uint16Array, read in place; the
// element type comes from params and the validator checks the two agree.
bool arenaArg(const Napi::CallbackInfo& info, size_t index, const char* name, sigmaserve::ArenaSpan* arena) {
  const Napi::Value value = info[index];
  const napi_typedarray_type type = value.IsTypedArray() ? value.As<Napi::TypedArray>().TypedArrayType() : napi_int8_array;
  if (type != napi_float32_array && type != napi_uint16_array) {
    Napi::TypeError::New(info.Env(), std::string("attend: argument ") + name + " must be a Float32Array or a Uint16Array").ThrowAsJavaScriptException();
    return false;
  }
  const Napi::TypedArray array = value.As<Napi::TypedArray>();
  arena->float32Array = type == napi_float32_array;
  arena->length = array.ElementLength();
  arena->data = arena->length == 0 ? nullptr : static_cast<const char*>(array.ArrayBuffer().Data()) + array.ByteOffset();
  return true;
}

Napi::Value Attend(const Napi::CallbackInfo& info) {
  const Napi::Env env = info.Env();
  if (info.Length() != kNumArgs) {
    Napi::TypeError::New(env, "attend: expected 13 arguments").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  AttentionInputs in{};
  const float* out = nullptr;
  const int32_t* params = nullptr;
  size_t paramsLength = 0;
  const double* stats = nullptr;
  size_t statsLength = 0;
  const bool ok = arenaArg(info, 0, "kDevice", &in.kDevice) && arenaArg(info, 1, "vDevice", &in.vDevice) && arenaArg(info, 2, "vHost", &in.vHost) &&
                  typedArrayArg(info, 3, napi_float32_array, "q", &in.q.data, &in.q.length) &&
                  typedArrayArg(info, 4, napi_float32_array, "out", &out, &in.outLength) &&
                  typedArrayArg(info, 5, napi_int32_array, "rowSeq", &in.rowSeq.data, &in.rowSeq.length) &&
                  typedArrayArg(info, 6, napi_int32_array, "rowPos", &in.rowPos.data, &in.rowPos.length) &&
                  typedArrayArg(info, 7, napi_int32_array, "seqBlockStart", &in.seqBlockStart.data, &in.seqBlockStart.length) &&
                  typedArrayArg(info, 8, napi_int32_array, "blockKSlot", &in.blockKSlot.data, &in.blockKSlot.length) &&
                  typedArrayArg(info, 9, napi_int32_array, "blockVSlot", &in.blockVSlot.data, &in.blockVSlot.length) &&
                  typedArrayArg(info, 10, napi_uint8_array, "blockVTier", &in.blockVTier.data, &in.blockVTier.length) &&
                  typedArrayArg(info, 11, napi_int32_array, "params", &params, &paramsLength) &&
                  typedArrayArg(info, 12, napi_float64_array, "stats", &stats, &statsLength);
  if (!ok) return env.Undefined();
  if (paramsLength != kNumParams || statsLength != 3) {
    Napi::TypeError::New(env, "attend: params must hold 13 int32 and stats 3 float64").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  in.out = const_cast<float*>(out);
  in.shape = {params[0], params[1], params[2], params[3], params[4], params[5]};
  in.layer = params[6];
  in.topk = params[7];
  const int threads = params[8];
  in.portableLoops = params[9] != 0;
  in.kDevice.type = static_cast<sigmaserve::ElementType>(params[10]);
  in.vDevice.type = static_cast<sigmaserve::ElementType>(params[11]);
  in.vHost.type = in.vDevice.type;
  in.stopAfterPhase = params[12];
  if (in.stopAfterPhase < AttentionInputs::kAllPhases || in.stopAfterPhase > AttentionInputs::kStopAfterSoftmax) {
    Napi::RangeError::New(env, "attend: stopAfterPhase must be 0, 1 or 2").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  const std::string problem = sigmaserve::validateAttentionInputs(in);
  if (!problem.empty()) {
    Napi::RangeError::New(env, "attend: " + problem).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  const sigmaserve::AttentionReadStats read = sigmaserve::attendPaged(in, threads);
  double* statsOut = const_cast<double*>(stats);
  statsOut[0] = static_cast<double>(read.vBytesDevice);
  statsOut[1] = static_cast<double>(read.vBytesHost);
  statsOut[2] = static_cast<double>(read.kBytes);
  return env.Undefined();
}

Napi::Value StreamSlots(const Napi::CallbackInfo& info) {
  const Napi::Env env = info.Env();
  if (info.Length() != 4 || !info[1].IsNumber() || !info[3].IsNumber()) {
    Napi::TypeError::New(env, "streamSlots: expected (arena, slotElements, slots, threads)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  sigmaserve::ArenaSpan arena{};
  sigmaserve::Span<int32_t> slots{};
  if (!arenaArg(info, 0, "arena", &arena) || !typedArrayArg(info, 2, napi_int32_array, "slots", &slots.data, &slots.length)) return env.Undefined();
  const int64_t slotElements = info[1].As<Napi::Number>().Int64Value();
  const int32_t threads = info[3].As<Napi::Number>().Int32Value();
  const size_t elementBytes = arena.float32Array ? 4 : 2;
  const size_t slotBytes = static_cast<size_t>(slotElements) * elementBytes;
  if (slotElements <= 0 || slotBytes % 8 != 0 || threads < 1) {
    Napi::RangeError::New(env, "streamSlots: slotElements must be positive with slots a multiple of 8 bytes, threads >= 1").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  const size_t numSlots = arena.length / static_cast<size_t>(slotElements);
  for (size_t i = 0; i < slots.length; ++i) {
    if (slots.data[i] < 0 || static_cast<size_t>(slots.data[i]) >= numSlots) {
      Napi::RangeError::New(env, "streamSlots: a slot is outside the arena").ThrowAsJavaScriptException();
      return env.Undefined();
    }
  }
  const uint64_t checksum = sigmaserve::streamSlots(static_cast<const char*>(arena.data), slotBytes, slots, threads);
  return Napi::BigInt::New(env, checksum);
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("attend", Napi::Function::New(env, Attend, "attend"));
  exports.Set("streamSlots", Napi::Function::New(env, StreamSlots, "streamSlots"));
  exports.Set("cpuFeatures", Napi::String::New(env, sigmaserve::compiledCpuFeatures()));
  return exports;
}

}  // namespace

NODE_API_MODULE(paged_attention, Init)
