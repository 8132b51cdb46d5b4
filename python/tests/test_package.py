import importlib.util
import pathlib
import re

import numpy as np
import pytest

import zo


def test_version_is_the_libraries():
    cmake = pathlib.Path(__file__).resolve().parents[2] / "CMakeLists.txt"
    declared = re.search(r"project\(zo VERSION ([0-9.]+)", cmake.read_text()).group(1)
    assert zo.__version__ == declared
    assert zo.version() == declared
    assert declared in zo.build_summary()


def test_type_stubs_are_installed():
    spec = importlib.util.find_spec("zo._zo")
    stub = pathlib.Path(spec.origin).parent / "_zo.pyi"
    text = stub.read_text()
    assert "class Stepper" in text and "def minimize(" in text
    assert (pathlib.Path(spec.origin).parent / "py.typed").exists()


def test_error_hierarchy():
    assert issubclass(zo.InvalidArgument, zo.Error)
    assert issubclass(zo.InvalidArgument, ValueError)
    assert issubclass(zo.NotSupported, NotImplementedError)
    assert issubclass(zo.ObjectiveError, zo.Error)
    assert issubclass(zo.Error, RuntimeError)


def test_cpp_exceptions_keep_their_message():
    x = np.zeros(4, np.float32)
    with pytest.raises(zo.InvalidArgument, match="lambda") as info:
        zo.Stepper([x], lam=-1.0, eta=0.1)
    assert "stepper" not in str(type(info.value)).lower()
    with pytest.raises(zo.InvalidArgument, match="restore"):
        zo.Stepper([x], lam=0.1, eta=0.1, restore="sometimes")
    with pytest.raises(zo.NotSupported):
        zo.minimize(zo.CallbackObjective(4, lambda p: (p ** 2).sum(1)), x, 1, method="gd")


def test_wrong_order_is_invalid_argument_and_changes_nothing():
    x = np.arange(6, dtype=np.float32)
    before = x.copy()
    s = zo.Stepper([x], lam=0.1, eta=0.1)
    with pytest.raises(zo.InvalidArgument, match="flip"):
        s.flip()
    np.testing.assert_array_equal(x, before)
    assert s.phase == "ready"


def test_objects_referenced_from_their_own_callbacks_are_collected():
    # A RunBatch whose objective's function refers back to it through the module globals is a
    # reference cycle; nanobind reports instances still alive at exit as leaks.
    import subprocess
    import sys
    script = (
        "import numpy as np, zo\n"
        "zo.set_log_quiet(True)\n"
        "def f(p):\n"
        "    return (p.astype(np.float64) ** 2).sum(1) + 0 * len(batches)\n"
        "batches = []\n"
        "b = zo.RunBatch(f, [zo.RunSpec()], np.ones((1, 3), np.float32))\n"
        "batches.append(b)\n"
        "b.run(2)\n"
        "s = zo.Sweep(zo.CallbackObjective(3, f), zo.sweep_grid(['zo'], [0.1], [1e-3]), [0], 3)\n"
    )
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "leaked" not in r.stderr, r.stderr
