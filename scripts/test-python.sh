#!/usr/bin/env bash
# Builds the Python package zo with `pip install .` into a virtual environment and runs its pytest
# suite (python/tests). The environment is created once, outside the checkout, and reused:
# ZO_VENV (default ~/.cache/zo/venv). Its test dependencies (build backend, numpy, torch, pytest)
# are pip-installed only when missing. Torch is optional for the suite: the tests that
# need it skip themselves without it. Extra arguments go to pytest.
#
# ZO_PY_CMAKE_ARGS adds scikit-build-core settings, e.g. "-C cmake.define.ZO_WITH_CUDA=OFF".
# The CMake build directory build-python/ persists between runs (incremental rebuilds).
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${ZO_VENV:-$HOME/.cache/zo/venv}"
if [[ ! -x "$venv/bin/python" ]]; then
  echo "test-python: creating the virtual environment $venv"
  python3 -m venv "$venv" || {
    echo "test-python: python3 -m venv failed (apt-get install python3-venv)" >&2
    exit 1
  }
fi
py="$venv/bin/python"
missing=()
for pair in scikit_build_core:scikit-build-core nanobind:nanobind numpy:numpy pytest:pytest \
  torch:torch; do
  "$py" -c "import ${pair%%:*}" 2>/dev/null || missing+=("${pair##*:}")
done
if ((${#missing[@]})); then
  echo "test-python: installing ${missing[*]} into $venv"
  "$py" -m pip install -q "${missing[@]}"
fi
# --no-build-isolation: build with the environment's scikit-build-core and nanobind (no
# download per build); the build directory keeps the objects between runs.
# shellcheck disable=SC2086
"$py" -m pip install -q --no-build-isolation -C build-dir=build-python ${ZO_PY_CMAKE_ARGS:-} .
# Run from outside the checkout so that `import zo` is the installed package.
cd python/tests
"$py" -m pytest -q "$@"
