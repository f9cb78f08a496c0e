#!/usr/bin/env bash
# Writes the seed models into models/ (see models/README.md). Only models whose
# generator changed are rebuilt, so a second run costs about a second.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# /usr/bin/python3: Debian's python3-onnx and python3-numpy live there.
exec /usr/bin/python3 "$ROOT/models/generate.py" "$@"
