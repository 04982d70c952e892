# The native backend's addon (native/README.md): N-API over oneDNN (Debian
# libdnnl-dev 2.x, OpenMP-threaded), one .cc per kernel family.
{
  "targets": [
    {
      "target_name": "vqvae_native",
      "sources": [
        "src/addon.cc",
        "src/conv.cc",
        "src/matmul.cc",
        "src/elementwise.cc",
        "src/reduce.cc",
        "src/layout.cc",
        "src/adam.cc",
        "src/layer.cc",
        "src/nearest.cc",
        "src/wavenet.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti"],
      "cflags_cc": ["-std=c++17", "-O3", "-march=x86-64-v2", "-mavx2", "-mfma", "-fopenmp"],
      "ldflags": ["-fopenmp"],
      "libraries": ["-ldnnl", "-fopenmp"]
    }
  ]
}
