#!/usr/bin/env bash
# Builds zo with its tests and runs them all: on a machine without a GPU the `gpu`-labelled tests
# skip themselves. Installs what is missing first. Extra arguments go to ctest (e.g. -L cpu). Then
# the Python package: `pip install .` into a reused virtual environment and its pytest suite
# (scripts/test-python.sh; ZO_SKIP_PYTHON=1 skips it).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh --tests
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DZO_WERROR=ON >/dev/null
cmake --build build -j"$(nproc)"
(cd build && ctest --output-on-failure -j"$(nproc)" "$@")
if [[ "${ZO_SKIP_PYTHON:-0}" != 1 ]]; then
  bash scripts/test-python.sh
fi
