# The paged DiffQKV attention kernel as an N-API addon (see src/paged_attention.h).
# -march=native: the addon is built on the machine that runs it (`npm run build`);
# the TS loader refuses a binary whose instruction set this CPU lacks.
# -fno-trapping-math and C++ exceptions on: without them GCC 12 leaves the exp
# loop scalar. Neither changes a result (no FP traps are enabled, and nothing throws).
{
  "targets": [
    {
      "target_name": "paged_attention",
      "sources": ["src/addon.cc", "src/cpu_features.cc", "src/paged_attention.cc", "src/stream_slots.cc", "src/thread_pool.cc", "src/validate_inputs.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS"],
      "cflags!": ["-O2", "-fno-exceptions"],
      "cflags_cc!": ["-O2", "-std=gnu++17", "-fno-exceptions"],
      "cflags_cc": ["-O3", "-march=native", "-std=c++17", "-pthread", "-fno-math-errno", "-fno-trapping-math"],
      "ldflags": ["-pthread"],
      "xcode_settings": {
        "CLANG_CXX_LANGUAGE_STANDARD": "c++17",
        "GCC_ENABLE_CPP_EXCEPTIONS": "YES",
        "GCC_OPTIMIZATION_LEVEL": "3",
        "OTHER_CPLUSPLUSFLAGS": ["-march=native", "-fno-math-errno", "-fno-trapping-math"]
      }
    }
  ]
}
