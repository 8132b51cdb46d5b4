#!/usr/bin/env bash
# Builds the Python package zo with `pip install .` into a virtual environment and runs its pytest
# suite (python/tests). The environment is created once, outside the checkout, and reused:
# ZO_VENV (default ~/.cache/zo/venv). Its test dependencies (build backend, numpy, torch, jax, pytest)
# are pip-installed only when missing. Torch and JAX are optional for the suite: the tests that
# need them skip themselves without them. Extra arguments go to pytest.
#
# ZO_WITH_CUDA (AUTO, ON or OFF; default AUTO: the CUDA backend when nvcc is found) is passed
# to CMake on every run, so that the persistent build directory build-python/ (incremental
# rebuilds) never keeps a setting from an earlier run. ZO_PY_CMAKE_ARGS adds scikit-build-core
# settings.
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
  torch:torch jax:jax; do
  "$py" -c "import ${pair%%:*}" 2>/dev/null || missing+=("${pair##*:}")
done
if ((${#missing[@]})); then
  echo "test-python: installing ${missing[*]} into $venv"
  "$py" -m pip install -q "${missing[@]}"
fi
# --no-build-isolation: build with the environment's scikit-build-core and nanobind (no
# download per build); the build directory keeps the objects between runs.
# shellcheck disable=SC2086
"$py" -m pip install -q --no-build-isolation -C build-dir=build-python \
  -C "cmake.define.ZO_WITH_CUDA=${ZO_WITH_CUDA:-AUTO}" ${ZO_PY_CMAKE_ARGS:-} .
# `import zo` finds the installed package (python/ itself is never on the path).
cd python/tests
"$py" -m pytest -q "$@"
