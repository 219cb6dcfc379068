{
  "targets": [
    {
      "target_name": "lmkit",
      "sources": [
        "native/cpu/cpu_features.cpp",
        "native/cpu/thread_pool.cpp",
        "native/cpu/gemm.cpp",
        "native/cpu/attention.cpp",
        "native/cpu/layernorm.cpp",
        "native/cpu/cross_entropy.cpp",
        "native/cpu/activations.cpp",
        "native/binding/addon.cpp",
        "native/binding/args.cpp",
        "native/binding/runtime.cpp",
        "native/binding/gemm.cpp",
        "native/binding/attention.cpp",
        "native/binding/layernorm.cpp",
        "native/binding/cross_entropy.cpp",
        "native/binding/activations.cpp"
      ],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "native"
      ],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS", "NODE_ADDON_API_DISABLE_DEPRECATED"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-std=gnu++17"],
      "cflags": ["-O3", "-fno-math-errno", "-fvisibility=hidden"],
      "cflags_cc": ["-std=c++17", "-O3", "-fno-math-errno", "-fexceptions", "-fvisibility=hidden"],
      "ldflags": ["-pthread"]
    }
  ]
}
