"""zo.Stepper with residual_check='at_update': an exception-list overflow makes update() return
'retry' with the parameters back at x_t, and the loop that evaluates the pair again ends bit for
bit where the per-pass check does."""
import numpy as np
import pytest

import zo


def _loss(x):
    # Reads the parameters, so a pair evaluated at a point that was not fully perturbed would
    # change the trajectory.
    x64 = x.astype(np.float64)
    return float(np.dot(np.sin(np.arange(x.size)), x64) + 0.5 * np.dot(x64, x64))


def _run(check, q=2, steps=3):
    x = np.zeros(50000, np.float32)  # zeros always escape: the first list (1024 entries) overflows
    s = zo.Stepper([x], lam=0.01, eta=1e-4, q=q, seed=7, restore="exact",
                   max_escape_fraction=1.0, residual_check=check)
    results = []
    for t in range(steps):
        j = 0
        while j < q:
            s.perturb()
            fp = _loss(x)
            s.flip()
            fm = _loss(x)
            r = s.update(fp, fm)
            results.append(r)
            if r == "retry":
                assert (s.step, s.direction, s.phase) == (t, j, "ready")
            else:
                j += 1
    return x, results, s


def test_at_update_retries_and_ends_where_per_pass_does():
    x_pass, r_pass, s_pass = _run("per_pass")
    x_upd, r_upd, s_upd = _run("at_update")
    assert s_pass.residual_check == "per_pass" and s_upd.residual_check == "at_update"
    assert "retry" not in r_pass
    assert not np.all(x_pass == 0)
    np.testing.assert_array_equal(x_upd.view(np.uint32), x_pass.view(np.uint32))
    assert "retry" in r_upd


def test_unknown_residual_check_is_refused():
    with pytest.raises(ValueError, match="residual check 'later'"):
        zo.Stepper([np.zeros(4, np.float32)], lam=0.1, eta=0.1, residual_check="later")
