{
  "targets": [
    {
      "target_name": "lmkit",
      "sources": [
        "native/cpu/cpu_features.cpp",
        "native/cpu/thread_pool.cpp",
        "native/cpu/gemm.cpp",
        "native/cpu/gemm_bf16.cpp",
        "native/cpu/attention.cpp",
        "native/cpu/layernorm.cpp",
        "native/cpu/cross_entropy.cpp",
        "native/cpu/activations.cpp",
        "native/cpu/ppo_loss.cpp",
        "native/cpu/embedding.cpp",
        "native/cpu/bias.cpp",
        "native/cpu/optimizer.cpp",
        "native/cpu/permute.cpp",
        "native/cpu/elementwise.cpp",
        "native/distributed/mpi.cpp",
        "native/binding/addon.cpp",
        "native/binding/args.cpp",
        "native/binding/runtime.cpp",
        "native/binding/gemm.cpp",
        "native/binding/attention.cpp",
        "native/binding/layernorm.cpp",
        "native/binding/cross_entropy.cpp",
        "native/binding/activations.cpp",
        "native/binding/ppo_loss.cpp",
        "native/binding/embedding.cpp",
        "native/binding/bias.cpp",
        "native/binding/optimizer.cpp",
        "native/binding/permute.cpp",
        "native/binding/elementwise.cpp",
        "native/binding/cuda_backend.cpp",
        "native/binding/device_array.cpp",
        "native/binding/distributed.cpp"
      ],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "native"
      ],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS", "NODE_ADDON_API_DISABLE_DEPRECATED", "NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-std=gnu++17"],
      "cflags": ["-O3", "-fno-math-errno", "-ffp-contract=off", "-fvisibility=hidden"],
      "cflags_cc": ["-std=c++17", "-O3", "-fno-math-errno", "-ffp-contract=off", "-fexceptions", "-fvisibility=hidden"],
      "ldflags": ["-pthread"],
      "libraries": ["-ldl"]
    }
  ]
}
