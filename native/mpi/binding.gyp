# The MPI collectives addon (native/mpi/mpi.cc): a second N-API module, built
# apart from the oneDNN one (native/binding.gyp) by scripts/build-mpi.mjs when
# Open MPI's headers are there (Debian libopenmpi-dev). Compile and link flags
# come from `mpicxx --showme`, so another MPI's wrapper works the same way.
{
  "targets": [
    {
      "target_name": "vqvae_mpi",
      "sources": ["mpi.cc"],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "<!@(mpicxx --showme:incdirs)"
      ],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS", "OMPI_SKIP_MPICXX=1", "MPICH_SKIP_MPICXX=1"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti"],
      "cflags_cc": ["-std=c++17", "-O2"],
      "libraries": ["<!@(mpicc --showme:link)", "-ldl"]
    }
  ]
}
