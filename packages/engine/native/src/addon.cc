// N-API surface of the kernel, used only by src/attention/native-paged-attention.ts:
//
//   attend(kDevice, vDevice, vHost, q, out: Float32Array,
//          rowSeq, rowPos, seqBlockStart, blockKSlot, blockVSlot: Int32Array,
//          blockVTier: Uint8Array,
//          params: Int32Array [numLayers, n_q, n_k, n_v, d, blockSize, layer, topk, threads, portableLoops],
//          stats: Float64Array [vBytesDevice, vBytesHost, kBytes]) → undefined
//   cpuFeatures: string   (the ISA extensions the binary was compiled for)
//
// Typed arrays are read in place (no copies); `out` is written in place.
#include <napi.h>

#include <string>

#include "paged_attention.h"

namespace {

using sigmaserve::AttentionInputs;

constexpr size_t kNumArgs = 13;
constexpr size_t kNumParams = 10;

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
  const bool ok = typedArrayArg(info, 0, napi_float32_array, "kDevice", &in.kDevice.data, &in.kDevice.length) &&
                  typedArrayArg(info, 1, napi_float32_array, "vDevice", &in.vDevice.data, &in.vDevice.length) &&
                  typedArrayArg(info, 2, napi_float32_array, "vHost", &in.vHost.data, &in.vHost.length) &&
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
    Napi::TypeError::New(env, "attend: params must hold 10 int32 and stats 3 float64").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  in.out = const_cast<float*>(out);
  in.shape = {params[0], params[1], params[2], params[3], params[4], params[5]};
  in.layer = params[6];
  in.topk = params[7];
  const int threads = params[8];
  in.portableLoops = params[9] != 0;
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

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("attend", Napi::Function::New(env, Attend, "attend"));
  exports.Set("cpuFeatures", Napi::String::New(env, sigmaserve::compiledCpuFeatures()));
  return exports;
}

}  // namespace

NODE_API_MODULE(paged_attention, Init)
