"""expected_sharpness and hutchinson on a quadratic whose trace is known."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")
from zo.torch import expected_sharpness, hutchinson  # noqa: E402

# f(a, b) = ½ Σ d_i a_i² + ½ Σ e_i b_i² (float64 losses), tr H = Σd + Σe.
D = torch.linspace(0.5, 3.0, 13, dtype=torch.float64)
E = torch.linspace(1.0, 2.0, 6, dtype=torch.float64).reshape(2, 3)
TRACE = float(D.sum() + E.sum())


def params_at(scale):
    g = torch.Generator().manual_seed(0)
    return [torch.nn.Parameter(scale * torch.randn(13, generator=g)),
            torch.nn.Parameter(scale * torch.randn(2, 3, generator=g))]


def f(a, b):
    return 0.5 * (D * a.double() ** 2).sum() + 0.5 * (E * b.double() ** 2).sum()


def test_expected_sharpness_is_unbiased_and_restores_exactly():
    params = params_at(0.0)
    before = [p.detach().clone() for p in params]
    r = expected_sharpness(lambda: f(*params), params, delta=0.05, samples=400, seed=1)
    # at a minimum each term is uᵀHu: variance 2‖H‖_F² per sample; a 5-σ check on the estimate
    sigma = np.sqrt(2 * float((D ** 2).sum() + (E ** 2).sum()) / 400)
    assert abs(r.estimate - TRACE) < 5 * sigma
    assert 0.5 * sigma < r.std_error < 2 * sigma
    for p, b in zip(params, before):
        assert torch.equal(p.detach(), b)


def test_expected_sharpness_away_from_the_minimum_is_within_its_standard_error():
    params = params_at(0.3)
    before = [p.detach().clone() for p in params]
    r = expected_sharpness(lambda: f(*params), params, delta=0.05, samples=800, seed=2)
    assert abs(r.estimate - TRACE) < 5 * r.std_error
    for p, b in zip(params, before):
        assert torch.equal(p.detach(), b)


def test_hutchinson_with_torch_func():
    params = params_at(0.7)
    # Rademacher probes: vᵀHv = tr H for a diagonal H, up to the float32 rounding of the
    # parameters' tangents (relative 2^-24 per term)
    r = hutchinson(f, params, samples=10, seed=0)
    assert r.estimate == pytest.approx(TRACE, rel=1e-6)
    assert r.std_error < 1e-5
    g = hutchinson(f, params, samples=400, seed=3, distribution="gaussian")
    assert abs(g.estimate - TRACE) < 5 * g.std_error


def test_hutchinson_of_a_coupled_quadratic():
    A = torch.tensor([[2.0, 1.0], [1.0, 3.0]], dtype=torch.float64)
    x = torch.nn.Parameter(torch.ones(2))
    r = hutchinson(lambda v: 0.5 * v.double() @ A @ v.double(), [x], samples=2000, seed=4)
    # Rademacher variance 2(‖A‖_F² − Σ A_ii²)/m = 4/m
    assert abs(r.estimate - 5.0) < 5 * np.sqrt(4 / 2000)
