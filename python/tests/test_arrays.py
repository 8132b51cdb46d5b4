"""Arrays pass without copies; wrong arrays give TypeError/ValueError naming the argument."""
import numpy as np
import pytest

import zo

from conftest import fma32


def test_numpy_is_updated_in_place():
    x = np.linspace(-1, 1, 1001).astype(np.float32)
    x0 = x.copy()
    address = x.__array_interface__["data"][0]
    s = zo.Stepper([x], lam=0.25, eta=0.0)
    s.perturb()
    u = zo.direction(0, 0, x.size)
    np.testing.assert_array_equal(x, fma32(np.float32(0.25), u, x0))
    assert x.__array_interface__["data"][0] == address
    s.restore()


def test_views_into_one_buffer_are_separate_tensors():
    buf = np.zeros(10, np.float32)
    s = zo.Stepper([buf[:4], buf[4:]], lam=1.0, eta=0.0)
    s.perturb()
    np.testing.assert_array_equal(buf, zo.direction(0, 0, 10))
    s.restore()


def test_overlapping_tensors_are_refused():
    buf = np.zeros(10, np.float32)
    with pytest.raises(ValueError, match=r"params\[0\] and params\[1\] share memory"):
        zo.Stepper([buf[:6], buf[4:]], lam=1.0, eta=0.0)


def test_wrong_dtype_names_the_argument():
    good = np.zeros(3, np.float32)
    with pytest.raises(TypeError, match=r"params\[1\] has dtype float64"):
        zo.Stepper([good, np.zeros(3)], lam=0.1, eta=0.1)
    with pytest.raises(TypeError, match=r"out has dtype int32"):
        zo.fill_direction(np.zeros(3, np.int32), seed=0, step=0)


def test_not_an_array_names_the_argument():
    with pytest.raises(TypeError, match=r"params\[0\] must be an array"):
        zo.Stepper([[1.0, 2.0]], lam=0.1, eta=0.1)


def test_non_contiguous_is_value_error():
    x = np.zeros((4, 4), np.float32)
    with pytest.raises(ValueError, match=r"params\[0\] is not contiguous"):
        zo.Stepper([x[:, 1]], lam=0.1, eta=0.1)
    with pytest.raises(ValueError, match=r"x is not contiguous"):
        zo.minimize(lambda p: (p ** 2).sum(1), x.T, 1)


def test_read_only_is_value_error():
    x = np.zeros(5, np.float32)
    x.setflags(write=False)
    with pytest.raises(ValueError, match=r"params\[0\] is read-only"):
        zo.Stepper([x], lam=0.1, eta=0.1)
    with pytest.raises(ValueError, match=r"x is read-only"):
        zo.minimize(lambda p: (p ** 2).sum(1), x, 1)
    # read access is fine
    zo.RunBatch(lambda p: (p ** 2).sum(1), [zo.RunSpec()], x.reshape(1, 5))


def test_torch_tensors_requiring_grad_are_used_in_place():
    torch = pytest.importorskip("torch")
    w = torch.nn.Parameter(torch.zeros(7))
    ptr = w.data_ptr()
    s = zo.Stepper([w], lam=1.0, eta=0.0)
    s.perturb()
    assert w.data_ptr() == ptr
    np.testing.assert_array_equal(w.detach().numpy(), zo.direction(0, 0, 7))
    s.restore()
    assert torch.count_nonzero(w) == 0


def test_torch_wrong_dtype_and_layout():
    torch = pytest.importorskip("torch")
    with pytest.raises(TypeError, match=r"params\[0\] has dtype float16"):
        zo.Stepper([torch.zeros(3, dtype=torch.float16)], lam=0.1, eta=0.1)
    with pytest.raises(ValueError, match=r"params\[0\] is not contiguous"):
        zo.Stepper([torch.zeros(4, 4).t()], lam=0.1, eta=0.1)
    bf = torch.zeros(4, dtype=torch.bfloat16)
    zo.Stepper([bf], lam=0.1, eta=0.1)  # bfloat16 is accepted
    with pytest.raises(TypeError, match=r"out has dtype bfloat16"):
        zo.fill_direction(bf, seed=0, step=0)


def test_mixed_devices_are_refused():
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("needs a CUDA device")
    with pytest.raises(ValueError, match=r"params\[1\] is on cuda:0 but params\[0\] is on cpu"):
        zo.Stepper([torch.zeros(3), torch.zeros(3, device="cuda")], lam=0.1, eta=0.1)


def test_jax_arrays_are_read_but_never_written():
    jnp = pytest.importorskip("jax.numpy")
    x0 = np.linspace(-1, 1, 2 * 7).astype(np.float32)
    objective = lambda p: (p ** 2).sum(1)  # noqa: E731
    runs = [zo.RunSpec(lam=0.1, eta=0.05, seed=s) for s in (1, 2)]
    from_numpy = zo.RunBatch(objective, runs, x0.reshape(2, 7))
    from_jax = zo.RunBatch(objective, runs, jnp.asarray(x0).reshape(2, 7))
    from_numpy.run(20)
    from_jax.run(20)
    np.testing.assert_array_equal(from_numpy.points(), from_jax.points())
    with pytest.raises(ValueError, match=r"params\[0\] is a JAX array, which is immutable"):
        zo.Stepper([jnp.zeros(5, jnp.float32)], lam=0.1, eta=0.1)
    with pytest.raises(ValueError, match=r"x is a JAX array"):
        zo.minimize(objective, jnp.zeros((1, 3), jnp.float32), 1)
