#!/usr/bin/env bash
# Installs what bnfold and its tests need from Debian 12 packages -- only what
# is missing, so a second run costs nothing. Node.js and npm (for ONNX Runtime,
# the reference the tests compare with: scripts/ort/install.sh) are installed
# from Debian when the machine has no `node`/`npm` of its own.
set -euo pipefail

PACKAGES=(
  cmake g++ make pkg-config
  libprotobuf-dev protobuf-compiler
  libonnx-dev libdnnl-dev
  libgtest-dev libbenchmark-dev
  libonnx-testdata
  python3-onnx python3-numpy   # the model generators in models/
  python3-dev pybind11-dev python3-pytest        # the Python module (python/) and its tests
  libcpp-httplib-dev nlohmann-json3-dev wrk      # bnfold serve (tools/serve/) and its load test
  python3-yaml                                   # tests/serve/test_deploy.py reads deploy/kserve
  python3-pip python3-venv                       # pip install --no-build-isolation . (setup.py)
  clang-14 libfuzzer-14-dev                      # scripts/fuzz.sh (libFuzzer, ASan+UBSan)
  # models/torch_export.py: real PyTorch exports for tests/models. ~300 MB to
  # download, ~1 GB installed, ~2 min on a fresh machine (see models/README.md).
  python3-torch python3-torchvision
)

# ONNX Runtime's npm package runs on the machine's Node.js; take Debian's only
# when there is none (a NodeSource node already ships its own npm).
command -v node >/dev/null || PACKAGES+=(nodejs)
command -v npm >/dev/null || PACKAGES+=(npm ca-certificates)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if ((${#missing[@]} == 0)); then
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; fi
echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
if ! $SUDO apt-get install -y -q "${missing[@]}"; then
  # A fresh machine may have stale package lists.
  $SUDO apt-get update -q
  $SUDO apt-get install -y -q "${missing[@]}"
fi
