#!/usr/bin/env bash
# Installs what bnfold needs from Debian 12 packages -- only what is missing,
# so a second run costs nothing.
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
)

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
