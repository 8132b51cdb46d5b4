"""zo.torch.ZOSGD against a plain PyTorch loop that draws the same directions from zo."""
import gc
import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")
import zo  # noqa: E402
from zo.torch import ZOSGD, direction_like  # noqa: E402


def fma(a, u, x):
    """float32(a·u + x) rounded once (then to x's dtype), as zo's fused passes compute it."""
    return (a * u.double() + x.double()).float().to(x.dtype)


def make_model(seed=0, dtype=torch.float32):
    g = torch.Generator().manual_seed(seed)
    # odd sizes: tensors do not start on Philox block boundaries
    w1 = torch.randn(7, 5, generator=g).to(dtype)
    b1 = torch.randn(7, generator=g).to(dtype)
    w2 = torch.randn(3, 7, generator=g).to(dtype)
    return [torch.nn.Parameter(t) for t in (w1, b1, w2)]


X = torch.randn(31, 5, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
Y = torch.randn(31, 3, generator=torch.Generator().manual_seed(2), dtype=torch.float64)


def loss_of(params):
    w1, b1, w2 = (p.double() for p in params)
    return float(((torch.tanh(X @ w1.T + b1) @ w2.T - Y) ** 2).mean())


def plain_loop(params, steps, groups, q, seed, exact, start=0):
    """The textbook ZO-SGD step with zo's directions; `groups` = [(indices, lr, lam)]."""
    x = [p.detach().clone() for p in params]
    for t in range(start, start + steps):
        pairs = []
        for j in range(q):
            u = direction_like(x, seed, t, j)
            lam_of = {i: float(np.float32(lam)) for idx, _, lam in groups for i in idx}
            plus = [fma(lam_of[i], u[i], x[i]) for i in range(len(x))]
            fp = loss_of(plus)
            if exact:
                minus = [fma(-lam_of[i], u[i], x[i]) for i in range(len(x))]
            else:  # MeZO's arithmetic flip x + λu − 2λu
                minus = [fma(-2 * lam_of[i], u[i], plus[i]) for i in range(len(x))]
                restored = [fma(lam_of[i], u[i], minus[i]) for i in range(len(x))]
            fm = loss_of(minus)
            pairs.append((u, fp, fm))
            if not exact:
                x = restored
        for idx, lr, lam in groups:
            for i in idx:
                acc = x[i].float()
                for u, fp, fm in pairs:
                    g = (fp - fm) / (2.0 * float(np.float32(lam)))
                    c = float(np.float32(float(np.float32(lr)) * g / q))
                    acc = (-c * u[i].double() + acc.double()).float()
                x[i] = acc.to(x[i].dtype)
    return x


def closure_for(params):
    return lambda: loss_of(params)


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
@pytest.mark.parametrize("q", [1, 3])
def test_exact_restore_is_bit_identical_to_the_plain_loop(dtype, q):
    params = make_model(dtype=dtype)
    expected = plain_loop(params, 6, [([0, 1, 2], 0.05, 0.01)], q, seed=11, exact=True)
    opt = ZOSGD(params, lr=0.05, lam=0.01, q=q, seed=11, restore="exact")
    for _ in range(6):
        opt.step(closure_for(params))
    for p, e in zip(params, expected):
        assert torch.equal(p.detach(), e)


def test_merged_perturbation_is_the_same_trajectory_in_two_passes():
    params = make_model()
    expected = plain_loop(params, 5, [([0, 1, 2], 0.05, 0.01)], 2, seed=6, exact=True)
    opt = ZOSGD(params, lr=0.05, lam=0.01, q=2, seed=6, merge_next_perturbation=True)
    for _ in range(5):
        opt.step(closure_for(params))
    # between steps the parameters hold x_t + λu_t ...
    assert not torch.equal(params[0].detach(), expected[0])
    opt.restore()
    for p, e in zip(params, expected):
        assert torch.equal(p.detach(), e)
    # ... and a restore between steps does not change the trajectory
    more = plain_loop(expected, 2, [([0, 1, 2], 0.05, 0.01)], 2, seed=6, exact=True, start=5)
    for _ in range(2):
        opt.step(closure_for(params))
    opt.restore()
    for p, e in zip(params, more):
        assert torch.equal(p.detach(), e)


def test_param_groups_each_with_lr_and_lam():
    params = make_model()
    groups = [([0, 1], 0.05, 0.01), ([2], 0.2, 0.004)]
    expected = plain_loop(params, 5, groups, 2, seed=3, exact=True)
    opt = ZOSGD([{"params": params[:2]}, {"params": params[2:], "lr": 0.2, "lam": 0.004}],
                lr=0.05, lam=0.01, q=2, seed=3)
    for _ in range(5):
        opt.step(closure_for(params))
    for p, e in zip(params, expected):
        assert torch.equal(p.detach(), e)


def test_learning_rate_changed_by_a_scheduler_is_used():
    params = make_model()
    first = plain_loop(params, 3, [([0, 1, 2], 0.05, 0.01)], 1, seed=2, exact=True)
    expected = plain_loop(first, 3, [([0, 1, 2], 0.025, 0.01)], 1, seed=2, exact=True, start=3)
    opt = ZOSGD(params, lr=0.05, lam=0.01, seed=2)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=3, gamma=0.5)
    for _ in range(6):
        opt.step(closure_for(params))
        sched.step()
    for p, e in zip(params, expected):
        assert torch.equal(p.detach(), e)


def test_arithmetic_restore_equals_the_plain_loop_to_rounding():
    params = make_model()
    expected = plain_loop(params, 8, [([0, 1, 2], 0.05, 0.01)], 1, seed=5, exact=False)
    opt = ZOSGD(params, lr=0.05, lam=0.01, seed=5, restore="arithmetic")
    for _ in range(8):
        opt.step(closure_for(params))
    for p, e in zip(params, expected):
        # both sides round each pass to float32; they differ by at most a few ulps
        torch.testing.assert_close(p.detach(), e, rtol=4 * 2**-23, atol=4 * 2**-23)


def test_state_dict_resumes_exactly():
    a = make_model()
    opt = ZOSGD(a, lr=0.05, lam=0.01, seed=9)
    for _ in range(6):
        opt.step(closure_for(a))
    b = make_model()
    opt_b = ZOSGD(b, lr=0.05, lam=0.01, seed=9)
    for _ in range(3):
        opt_b.step(closure_for(b))
    state = opt_b.state_dict()
    assert state["zo"]["step"] == 3 and state["zo"]["seed"] == 9
    c = [torch.nn.Parameter(p.detach().clone()) for p in b]
    del opt_b
    opt_c = ZOSGD(c, lr=1.0, lam=1.0, seed=0)
    opt_c.load_state_dict(state)
    for _ in range(3):
        opt_c.step(closure_for(c))
    for x, y in zip(a, c):
        assert torch.equal(x, y)


def test_zero_grad_is_a_no_op_and_closure_is_required():
    params = make_model()
    opt = ZOSGD(params, lr=0.1, lam=0.01)
    opt.zero_grad()
    with pytest.raises(ValueError, match="closure"):
        opt.step()


def test_closure_exception_restores_the_parameters_exactly():
    params = make_model()
    before = [p.detach().clone() for p in params]
    opt = ZOSGD(params, lr=0.1, lam=0.01)
    calls = {"n": 0}

    def closure():
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyError("second evaluation fails")
        return loss_of(params)

    with pytest.raises(KeyError):
        opt.step(closure)
    for p, b in zip(params, before):
        assert torch.equal(p.detach(), b)
    assert opt.steps_taken == 0
    with pytest.raises(zo.ObjectiveError):
        opt.step(lambda: float("nan"))
    for p, b in zip(params, before):
        assert torch.equal(p.detach(), b)


def test_replaced_parameter_storage_is_followed():
    params = make_model()
    opt = ZOSGD(params, lr=0.1, lam=0.01)
    opt.step(closure_for(params))
    old = params[0].data
    params[0].data = old.clone()  # new memory: the optimizer must follow it, not write the old
    frozen = old.clone()
    opt.step(closure_for(params))
    assert torch.equal(old, frozen)
    assert not torch.equal(params[0].detach(), frozen)


def test_lifetime_delete_in_any_order():
    # the optimizer and steppers keep the tensors alive; deleting either first is safe
    for order in ("optimizer_first", "params_first"):
        params = make_model()
        opt = ZOSGD(params, lr=0.1, lam=0.01)
        opt.step(closure_for(params))
        kept = [p.detach().clone() for p in params]
        if order == "optimizer_first":
            del opt
            gc.collect()
            assert all(torch.isfinite(p).all() for p in params)
        else:
            ps = opt.param_groups[0]["params"]
            del params
            gc.collect()
            opt.step(closure_for(ps))
            assert not torch.equal(ps[0].detach(), kept[0])
    x = torch.zeros(9)
    s = zo.Stepper(iter([x]), lam=1.0, eta=0.0)  # any iterable, e.g. model.parameters()
    del x
    gc.collect()
    s.perturb()
    np.testing.assert_array_equal(s.params[0].numpy(), zo.direction(0, 0, 9))
    s.restore()
    del s
    gc.collect()


def test_rejects_bad_hyper_parameters():
    params = make_model()
    with pytest.raises(ValueError, match="lam"):
        ZOSGD(params, lr=0.1, lam=0.0)
    with pytest.raises(ValueError, match="restore"):
        ZOSGD(params, lr=0.1, lam=0.1, restore="maybe")
    with pytest.raises(TypeError, match="float16"):
        ZOSGD([torch.nn.Parameter(torch.zeros(3, dtype=torch.float16))], lr=0.1,
              lam=0.1).step(lambda: 0.0)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_parameters_match_the_cpu_bit_for_bit():
    if not zo.cuda_available():
        pytest.skip("zo was built without CUDA or sees no device")
    cpu = make_model()
    gpu = [torch.nn.Parameter(p.detach().cuda()) for p in cpu]
    for ps in (cpu, gpu):
        opt = ZOSGD(ps, lr=0.05, lam=0.01, q=2, seed=1)
        for _ in range(4):
            opt.step(lambda: loss_of([p.cpu() for p in ps]))
    for a, b in zip(cpu, gpu):
        assert torch.equal(a.detach(), b.detach().cpu())
