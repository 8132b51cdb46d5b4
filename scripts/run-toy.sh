#!/usr/bin/env bash
# The quick start on a fresh machine: installs what is missing, builds zo (Release), and runs
# `zo toy` (Figure 1 of the paper) with the paper's settings. On a machine without a GPU it runs
# on the CPU. Extra arguments go to `zo toy` (e.g. --iters 10000).
# Output: out/toy.csv and out/toy.png.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build --target zo_cli -j"$(nproc)"
./build/tools/zo toy --out out/toy.csv "$@"
