#include "paged_attention.h"

namespace sigmaserve {

const char* compiledCpuFeatures() {
  return ""
#if defined(__AVX512F__)
         " avx512f"
#endif
#if defined(__AVX512BW__)
         " avx512bw"
#endif
#if defined(__AVX512VL__)
         " avx512vl"
#endif
#if defined(__AVX512DQ__)
         " avx512dq"
#endif
#if defined(__AVX2__)
         " avx2"
#endif
#if defined(__FMA__)
         " fma"
#endif
#if defined(__AVX__)
         " avx"
#endif
#if defined(__BMI2__)
         " bmi2"
#endif
#if defined(__F16C__)
         " f16c"
#endif
#if defined(__SSE4_2__)
         " sse4_2"
#endif
      ;
}

}  // namespace sigmaserve
