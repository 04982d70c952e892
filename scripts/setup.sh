#!/usr/bin/env bash
# Sets up a clone of this repository on a fresh Debian machine: installs the
# Debian packages the project uses (each only where it is missing; with sudo
# when not root), then the npm packages (`npm ci`, which also builds the
# native addons). Run from anywhere: `bash scripts/setup.sh`. The README's
# Quick start and .ci/run both start with it.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages, each installed only where it is missing:
# - dataset-fashion-mnist: what `--data fashion-mnist` reads; the tests check it.
# - libdnnl-dev (oneDNN): the native backend's addon builds against it during
#   `npm ci`; without it the project installs and runs on wasm.
# - libopenmpi-dev, openmpi-bin (Open MPI): the MPI addon (native/mpi/) builds
#   against it during `npm ci`, and the distributed tests run 2 ranks with mpirun.
# - chromium: the web page's browser tests drive it through playwright-core
#   (no browser download); they fail, naming it, if it is missing.
# - sox: the WAV tests check the reader and writer against it; make-speech
#   resamples the synthesizers' output with it.
# - festival, festvox-kallpc16k, festvox-kdlpc16k, festvox-us-slt-hts and
#   espeak-ng: the voices `npm run make-speech` (src/audio/makeSpeech.ts)
#   records the speech corpus with; its tests run it on a tiny scale.
missing=()
[ -d /usr/share/datasets/fashion-mnist ] || missing+=(dataset-fashion-mnist)
[ -f /usr/include/oneapi/dnnl/dnnl.hpp ] || missing+=(libdnnl-dev)
command -v mpicxx >/dev/null 2>&1 || missing+=(libopenmpi-dev)
command -v mpirun >/dev/null 2>&1 || missing+=(openmpi-bin)
command -v sox >/dev/null 2>&1 || missing+=(sox)
command -v festival >/dev/null 2>&1 || missing+=(festival)
[ -d /usr/share/festival/voices/english/kal_diphone ] || missing+=(festvox-kallpc16k)
[ -d /usr/share/festival/voices/english/ked_diphone ] || missing+=(festvox-kdlpc16k)
[ -d /usr/share/festival/voices/us/cmu_us_slt_arctic_hts ] || missing+=(festvox-us-slt-hts)
command -v espeak-ng >/dev/null 2>&1 || missing+=(espeak-ng)
if ! command -v chromium >/dev/null 2>&1 && [ -z "${CHROMIUM_PATH:-}" ]; then missing+=(chromium); fi
if [ ${#missing[@]} -gt 0 ] && command -v apt-get >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="$(command -v sudo || true)"; fi
  echo "setup: installing ${missing[*]}"
  $sudo apt-get update -qq || true
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null || echo "warning: could not install ${missing[*]}"
fi

# onnxruntime-node (tests and bench only) bundles its CPU binaries; its install
# step would otherwise try to download CUDA ones (script/install.js reads this
# variable; npm 11 runs no dependency's install script unless package.json's allowScripts says so; npm 10 does).
export ONNXRUNTIME_NODE_INSTALL=skip
npm ci --no-audit --no-fund
