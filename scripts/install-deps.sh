#!/usr/bin/env bash
# Installs what zo's build, tests and plots need, and nothing that is already there:
# Debian packages via apt (compiler, CMake, Ninja, GoogleTest, Google Benchmark, nlohmann-json,
# Open MPI for the zo::mpi component and `mpirun zo ...`, Python) and Python packages via pip (numpy, matplotlib). The CUDA toolkit is used when nvcc is
# present; without it zo builds its CPU backend only.
# Usage: scripts/install-deps.sh [--tests]
set -euo pipefail

want_tests=0
[[ "${1:-}" == "--tests" ]] && want_tests=1

need_apt=()
have_cmd() { command -v "$1" >/dev/null 2>&1; }
have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }

have_cmd g++ || need_apt+=(g++)
have_cmd cmake || need_apt+=(cmake)
have_cmd ninja || need_apt+=(ninja-build)
have_cmd python3 || need_apt+=(python3 python3-pip)
have_pkg nlohmann-json3-dev || [[ -f /usr/include/nlohmann/json.hpp ]] || need_apt+=(nlohmann-json3-dev)
# MPI (zo::mpi, sharded sweeps, data-parallel zo linear; the `mpi` tests): Open MPI, unless an
# MPI is there already.
have_cmd mpicxx || have_pkg libopenmpi-dev || need_apt+=(libopenmpi-dev)
have_cmd mpirun || have_pkg openmpi-bin || need_apt+=(openmpi-bin)
if [[ $want_tests == 1 ]]; then
  have_pkg libgtest-dev || [[ -d /usr/lib/x86_64-linux-gnu/cmake/GTest ]] || need_apt+=(libgtest-dev)
  have_pkg libbenchmark-dev || [[ -d /usr/lib/x86_64-linux-gnu/cmake/benchmark ]] || need_apt+=(libbenchmark-dev)
  # scripts/test-python.sh creates a virtual environment for the Python package's tests
  python3 -c "import ensurepip, venv" 2>/dev/null || need_apt+=(python3-venv)
fi

if ((${#need_apt[@]})); then
  echo "install-deps: apt-get install ${need_apt[*]}"
  sudo_cmd=""
  [[ $(id -u) -ne 0 ]] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${need_apt[@]}"
fi

py_missing=()
python3 -c "import numpy" 2>/dev/null || py_missing+=(numpy)
python3 -c "import matplotlib" 2>/dev/null || py_missing+=(matplotlib)
if ((${#py_missing[@]})); then
  echo "install-deps: pip install ${py_missing[*]}"
  python3 -m pip install -q "${py_missing[@]}" ||
    python3 -m pip install -q --break-system-packages "${py_missing[@]}" ||
    echo "install-deps: could not pip-install ${py_missing[*]}; plots will be skipped (CSV still written)"
fi

if have_cmd nvcc; then
  echo "install-deps: CUDA toolkit found ($(nvcc --version | tail -1)); building the CUDA backend too"
else
  echo "install-deps: no nvcc; building the CPU backend only"
fi
