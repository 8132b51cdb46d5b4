"""minimize, RunBatch and the trace estimators with Python objectives."""
import traceback

import numpy as np
import pytest

import zo

from conftest import fma32

DIAG = np.array([1.0, 2.0, 3.0, 4.0, 5.0], np.float64)


def quadratic(points):
    return 0.5 * (points.astype(np.float64) ** 2 * DIAG).sum(axis=1)


def test_minimize_decreases_a_quadratic_in_place():
    x = np.ones(5, np.float32)
    f0 = quadratic(x[None])[0]
    f = zo.minimize(quadratic, x, 2000, lam=0.01, eta=0.02, seed=1)
    assert f == pytest.approx(quadratic(x[None])[0])
    assert f < 1e-3 * f0


def test_minimize_one_step_is_algorithm_1():
    x = np.linspace(-1, 1, 5).astype(np.float32)
    x0 = x.copy()
    lam, eta = np.float32(0.1), np.float32(0.05)
    zo.minimize(quadratic, x, 1, lam=lam, eta=eta, seed=4)
    u = zo.direction(4, 0, 5, 0)
    fp = quadratic(fma32(lam, u, x0)[None])[0]
    fm = quadratic(fma32(-lam, u, x0)[None])[0]
    c = np.float32(np.float64(eta) * (fp - fm) / (2.0 * np.float64(lam)))
    np.testing.assert_array_equal(x, fma32(-c, u, x0))


def test_run_batch_calls_the_objective_once_per_step_with_all_points():
    shapes = []

    def f(points):
        shapes.append(points.shape)
        return quadratic(points)

    runs = [zo.RunSpec(lam=0.1, eta=0.01, q=2, seed=s) for s in range(3)]
    x0 = np.ones((3, 5), np.float32)
    b = zo.RunBatch(f, runs, x0, backend="cpu")
    shapes.clear()
    b.run(4)
    assert shapes == [(2 * 3 * 2, 5)] * 4
    assert b.next_step == 4
    # the runs are independent: run 1 alone gives the same iterate
    alone = zo.RunBatch(quadratic, [runs[1]], x0[1:2], backend="cpu")
    alone.run(4)
    np.testing.assert_array_equal(alone.points()[0], b.points()[1])
    logged = b.run(2, [5, 6])
    assert logged.shape == (2, 3, 2)
    np.testing.assert_allclose(logged[1, :, 0], quadratic(b.points()))


class Boom(Exception):
    pass


def exploding(after):
    calls = {"n": 0}

    def f(points):
        calls["n"] += 1
        if calls["n"] > after:
            raise_boom()
        return quadratic(points)

    return f


def raise_boom():
    raise Boom("objective failed on purpose")


def test_python_exception_propagates_with_traceback_and_batch_unchanged():
    b = zo.RunBatch(exploding(2), [zo.RunSpec(seed=2)], np.ones((1, 5), np.float32),
                    backend="cpu")
    b.run(2)  # two calls; the third raises
    before = b.points()
    with pytest.raises(Boom, match="on purpose") as info:
        b.run(5)
    frames = [f.name for f in traceback.extract_tb(info.value.__traceback__)]
    assert "raise_boom" in frames
    assert b.next_step == 2
    np.testing.assert_array_equal(b.points(), before)


def test_minimize_leaves_x_unchanged_when_the_objective_raises():
    x = np.linspace(0, 1, 5).astype(np.float32)
    before = x.copy()
    with pytest.raises(Boom):
        zo.minimize(exploding(10), x, 100)
    np.testing.assert_array_equal(x, before)


def test_objective_returning_the_wrong_size():
    x = np.ones(5, np.float32)
    with pytest.raises(ValueError, match="returned 1 numbers; expected 2"):
        zo.minimize(lambda p: np.array([1.0]), x, 1)


def test_non_finite_value_is_objective_error_with_step():
    def f(points):
        v = quadratic(points)
        return v if zo_steps["n"] < 3 else v * np.nan

    zo_steps = {"n": 0}

    def counted(points):
        zo_steps["n"] += 1
        return f(points)

    b = zo.RunBatch(counted, [zo.RunSpec()], np.ones((1, 5), np.float32), backend="cpu")
    zo_steps["n"] = 0
    with pytest.raises(zo.ObjectiveError) as info:
        b.run(10)
    assert info.value.step == 2 and info.value.run == 0
    assert b.next_step == 2


def hvp(points, vectors):
    return vectors * DIAG.astype(np.float32)


def test_trace_estimators_with_python_objectives():
    f = zo.CallbackObjective(5, quadratic, hvp=hvp, exact_trace=lambda p: np.full(len(p), 15.0))
    x = np.full(5, 0.3, np.float32)
    assert zo.estimate_trace(f, x, "exact").estimate == 15.0
    # Rademacher Hutchinson on a diagonal Hessian is exact for every probe.
    h = zo.estimate_trace(f, x, "hutchinson", probes=8)
    assert h.estimate == pytest.approx(15.0, rel=1e-6) and h.hvp_evaluations == 8
    # Gaussian probes: unbiased, variance 2‖H‖_F^2 / m; the check is at 5 standard errors.
    for name in ("zo", "sharpness"):
        e = zo.estimate_trace(f, x, name, probes=400, seed=1)
        assert e.std_error > 0
        assert abs(e.estimate - 15.0) < 5 * e.std_error, (name, e)
    many = zo.estimate_traces(f, np.stack([x, 2 * x]), "hutchinson", probes=4)
    assert [t.estimate for t in many] == pytest.approx([15.0, 15.0])
    with pytest.raises(zo.NotSupported):
        zo.estimate_trace(zo.CallbackObjective(5, quadratic), x, "hutchinson")


def test_trace_from_python_gradients_and_gd():
    f = zo.CallbackObjective(5, quadratic, gradient=lambda p: p * DIAG.astype(np.float32))
    x = np.full(5, 0.3, np.float32)
    # central differences of an exactly linear gradient: Rademacher probes give tr H to rounding
    h = zo.estimate_trace(f, x, "hutchinson", probes=8, hessian="gradient")
    assert h.estimate == pytest.approx(15.0, rel=1e-5) and h.gradient_evaluations == 16
    y = np.ones(5, np.float32)
    zo.minimize(f, y, 200, method="gd", eta=0.1)
    np.testing.assert_allclose(y, (1 - 0.1 * DIAG) ** 200, atol=1e-6)


def test_trace_estimator_exception_propagates():
    def bad_hvp(points, vectors):
        raise_boom()

    f = zo.CallbackObjective(5, quadratic, hvp=bad_hvp)
    with pytest.raises(Boom):
        zo.estimate_trace(f, np.ones(5, np.float32), "hutchinson", probes=4)


def test_example21_exact_trace():
    f = zo.Example21(3)
    x = np.arange(6, dtype=np.float32)
    assert zo.estimate_trace(f, x, "exact").estimate == pytest.approx((x ** 2).sum())
    assert f(x[None]).shape == (1,)
