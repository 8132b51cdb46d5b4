"""zo for PyTorch: the ZOSGD optimizer and trace estimates for torch models.

``ZOSGD`` runs MeZO's zeroth-order step with zo's fused in-place passes on the parameters' own
memory (CPU tensors on the CPU backend, CUDA tensors on the GPU on torch's current stream;
float32 and bfloat16). ``expected_sharpness`` is the paper's one-sided trace estimate done with
in-place perturbations and an exact restore; ``hutchinson`` uses ``torch.func`` Hessian-vector
products. See docs/python.md.
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass
from typing import Callable, Iterable, List, Optional, Sequence

import torch as _torch

from . import _zo

__all__ = ["ZOSGD", "TraceResult", "expected_sharpness", "hutchinson", "direction_like"]

_RESTORE_MODES = ("exact", "residual", "copy", "arithmetic")
_DISTRIBUTIONS = ("gaussian", "rademacher")


def _current_stream(device: _torch.device):
    if device.type == "cuda":
        return _torch.cuda.current_stream(device)
    return None


def _on_device(device: _torch.device):
    # zo's CUDA backend works on the current device: make the tensors' device current.
    if device.type == "cuda":
        return _torch.cuda.device(device)
    return contextlib.nullcontext()


def _tensor_key(p: _torch.Tensor):
    # What a Stepper built over p depends on: p's memory, size, type and device.
    return (p.data_ptr(), p.numel(), p.dtype, p.device)


class ZOSGD(_torch.optim.Optimizer):
    r"""Zeroth-order SGD (Algorithm 1 of Zhang et al., MeZO's step) on the parameters in place.

    Each ``step(closure)`` draws q directions u_j (from zo's counter-based generator: the
    directions of step t are ``zo.direction(seed, t, j, d)`` over the concatenation of all
    parameters, in param-group order) and, for each, evaluates the closure at x + λu_j and
    x − λu_j; then x ← x − (lr/q) Σ_j g_j u_j with g_j = (f₊ − f₋)/(2λ). The perturbations,
    restores and the update are zo's fused in-place passes (two per direction): no copy of the
    parameters is made, and no gradient is computed.

    Args:
        params: tensors or param groups (dicts with "params" and optionally "lr", "lam").
        lr: step size η.
        lam: smoothing radius λ (MeZO's ``zo_eps``).
        q: directions per step (the same for every group).
        seed: seed of the directions; with the step count it is the optimizer's whole state.
        restore: "exact" (bit-exact restore, d/4 bytes of record; = "residual"), "copy"
            (a copy of the parameters) or "arithmetic" (MeZO's +λu, −2λu, +λu; drifts by
            rounding).
        distribution: "gaussian" (default) or "rademacher".
        merge_next_perturbation: fuse the next step's +λu into the update pass: two passes
            per step instead of three, but between steps the parameters then hold
            x_t + λu_t; call ``restore()`` before reading them (evaluation, saving, trace
            estimates). The trajectory is the same.

    Every tensor passed is updated (pass only the trainable ones, e.g. ``[p for p in
    model.parameters() if p.requires_grad]``). ``step`` returns (f₊ + f₋)/2 of the last direction as a tensor (f at x_t up to O(λ²)).
    ``zero_grad`` does nothing (no gradients are used). ``state_dict`` holds the seed and the
    step, so a run resumes exactly with ``load_state_dict``. If the closure raises, the
    parameters are restored to x_t before the exception propagates; a NaN/Inf loss raises
    ``zo.ObjectiveError`` with the parameters restored.
    """

    def __init__(self, params, lr: float = 1e-6, lam: float = 1e-3, q: int = 1, seed: int = 0,
                 restore: str = "exact", distribution: str = "gaussian",
                 merge_next_perturbation: bool = False):
        if not (lr >= 0.0 and math.isfinite(lr)):
            raise ValueError(f"lr must be a finite number >= 0, got {lr}")
        if not (lam > 0.0 and math.isfinite(lam)):
            raise ValueError(f"lam must be a finite number > 0, got {lam}")
        if not (1 <= int(q) <= _zo.MAX_STEPPER_Q):
            raise ValueError(f"q must be in [1, {_zo.MAX_STEPPER_Q}], got {q}")
        if restore not in _RESTORE_MODES:
            raise ValueError(f"restore must be one of {_RESTORE_MODES}, got {restore!r}")
        if distribution not in _DISTRIBUTIONS:
            raise ValueError(f"distribution must be one of {_DISTRIBUTIONS}, got {distribution!r}")
        if not (0 <= int(seed) < 2**64):
            raise ValueError(f"seed must be in [0, 2^64), got {seed}")
        defaults = dict(lr=lr, lam=lam)
        super().__init__(params, defaults)
        self.q = int(q)
        self.seed = int(seed)
        self.restore_mode = restore
        self.distribution = distribution
        self.merge_next_perturbation = bool(merge_next_perturbation)
        self.steps_taken = 0
        self._steppers = []  # (zo.Stepper, device) per run of same-device parameters
        self._key = None

    # -- torch.optim conventions ------------------------------------------------------------

    def zero_grad(self, set_to_none: bool = True) -> None:  # noqa: D401
        """Does nothing: ZOSGD uses no gradients."""

    def state_dict(self):
        sd = super().state_dict()
        sd["zo"] = {"seed": self.seed, "step": self.steps_taken, "q": self.q,
                    "restore": self.restore_mode, "distribution": self.distribution,
                    "merge_next_perturbation": self.merge_next_perturbation}
        return sd

    def load_state_dict(self, state_dict) -> None:
        state_dict = dict(state_dict)
        zo_state = state_dict.pop("zo", None)
        if zo_state is None:
            raise ValueError("state_dict has no 'zo' entry: it was not written by ZOSGD")
        super().load_state_dict(state_dict)
        self.seed = int(zo_state["seed"])
        self.steps_taken = int(zo_state["step"])
        self.q = int(zo_state["q"])
        self.restore_mode = zo_state["restore"]
        self.distribution = zo_state["distribution"]
        self.merge_next_perturbation = bool(zo_state.get("merge_next_perturbation", False))
        self.restore()
        self._steppers, self._key = [], None

    # -- steppers -----------------------------------------------------------------------------

    def _segments(self):
        """(group, [tensors]) runs of consecutive parameters of one group on one device, with the
        global coordinate offset of each run."""
        offset = 0
        for group in self.param_groups:
            for k in ("lr", "lam"):
                v = group[k]
                if not math.isfinite(v) or v < 0 or (k == "lam" and v == 0):
                    raise ValueError(f"param group {k} must be finite and {'> 0' if k == 'lam' else '>= 0'}, got {v}")
            run: List[_torch.Tensor] = []
            run_offset = offset
            for p in group["params"]:
                if p.dtype not in (_torch.float32, _torch.bfloat16):
                    raise TypeError(f"ZOSGD updates float32 and bfloat16 parameters; got {p.dtype}")
                if run and p.device != run[0].device:
                    yield group, run, run_offset
                    run, run_offset = [], offset
                run.append(p)
                offset += p.numel()
            if run:
                yield group, run, run_offset

    def _build(self):
        key = []
        for group in self.param_groups:
            key.append((group["lr"], group["lam"], tuple(_tensor_key(p) for p in group["params"])))
        streams = {}
        for group in self.param_groups:
            for p in group["params"]:
                if p.device.type == "cuda" and p.device not in streams:
                    streams[p.device] = _torch.cuda.current_stream(p.device).cuda_stream
        key.append(tuple(sorted((str(d), s) for d, s in streams.items())))
        key = (tuple(key), self.steps_taken, self.q, self.seed, self.restore_mode,
               self.distribution, self.merge_next_perturbation)
        if key == self._key:
            return self._steppers
        self.restore()  # a merged perturbation of the old passes must not outlive them
        self._steppers = []  # free the old records first
        steppers = []
        for group, tensors, offset in self._segments():
            contiguous = []
            for p in tensors:
                if not p.is_contiguous():
                    raise ValueError("ZOSGD updates parameters in place and needs them "
                                     "contiguous; call .contiguous() on the model's parameters")
                contiguous.append(p.detach())
            device = tensors[0].device
            with _on_device(device):
                steppers.append((_zo.Stepper(
                    contiguous, lam=float(group["lam"]), eta=float(group["lr"]), q=self.q,
                    seed=self.seed, distribution=self.distribution, restore=self.restore_mode,
                    start_step=self.steps_taken, coordinate_offset=offset,
                    merge_next_perturbation=self.merge_next_perturbation,
                    stream=_current_stream(device)), device))
        self._steppers = steppers
        self._key = key
        return steppers

    def restore(self) -> None:
        """Brings the parameters back to the current iterate x_t (exactly, unless
        restore="arithmetic"). Needed only with merge_next_perturbation, before reading them."""
        for s, device in self._steppers:
            with _on_device(device):
                s.restore()

    @property
    def record_bytes(self) -> int:
        """Bytes held for the exact restore (0 in arithmetic mode)."""
        return sum(s.record_bytes for s, _ in self._steppers)

    # -- the step -----------------------------------------------------------------------------

    @_torch.no_grad()
    def step(self, closure: Optional[Callable[[], float]] = None):
        if closure is None:
            raise ValueError("ZOSGD.step needs a closure that returns the loss at the current "
                             "parameters (it is evaluated twice per direction)")
        steppers = self._build()

        def each(call, *args):
            for s, device in steppers:
                with _on_device(device):
                    getattr(s, call)(*args)

        f_plus = f_minus = float("nan")
        try:
            for _ in range(self.q):
                each("perturb")
                f_plus = float(closure())
                each("flip")
                f_minus = float(closure())
                each("update", f_plus, f_minus)
        except BaseException:
            each("restore")
            raise
        self.steps_taken += 1
        self._key = self._key[:1] + (self.steps_taken,) + self._key[2:]
        return _torch.tensor(0.5 * (f_plus + f_minus))


def direction_like(params: Sequence[_torch.Tensor], seed: int, step: int, substream: int = 0,
                   distribution: str = "gaussian", coordinate_offset: int = 0):
    """The direction zo uses at (seed, step, substream) over the concatenation of `params`,
    split into float32 tensors shaped (and placed) like them. A plain PyTorch loop that applies
    these reproduces ZOSGD (substream j is direction j of a step)."""
    sizes = [p.numel() for p in params]
    full = _zo.direction(seed, step, coordinate_offset + sum(sizes), substream, distribution)
    out, start = [], coordinate_offset
    for p, n in zip(params, sizes):
        out.append(_torch.from_numpy(full[start:start + n].copy()).reshape(p.shape).to(p.device))
        start += n
    return out


@dataclass
class TraceResult:
    """A trace estimate with its standard error (sample std of the per-probe terms / √m)."""

    estimate: float
    std_error: float
    samples: int
    terms: List[float]

    def __repr__(self) -> str:
        return f"tr H = {self.estimate:.6g} ± {self.std_error:.2g} (m = {self.samples})"


def _mean_se(terms: List[float]):
    m = len(terms)
    mean = math.fsum(terms) / m
    if m < 2:
        return mean, float("nan")
    var = math.fsum((t - mean) ** 2 for t in terms) / (m - 1)
    return mean, math.sqrt(var / m)


@_torch.no_grad()
def expected_sharpness(model_fn: Callable[[], float], params: Iterable[_torch.Tensor],
                       delta: float = 1e-4, samples: int = 100, seed: int = 0,
                       restore: str = "exact", distribution: str = "gaussian") -> TraceResult:
    r"""The paper's expected-sharpness estimate of tr ∇²f (Figure 3):
    (2/δ²)(mean_j f(x + δu_j) − f(x)), u_j Gaussian.

    `model_fn()` returns the loss at the current values of `params` (no arguments: it reads the
    parameters, e.g. a forward pass of the model). Each sample perturbs the parameters in place
    with zo's fused pass and restores them exactly (restore="exact"), so no copy of the model is
    made and the parameters end bit-identical. u_j is zo.direction(seed, j, 0, d) over the
    concatenated parameters: pass a seed different from the optimizer's. The standard error is
    that of the m per-sample terms; in float32 choose δ so that f(x + δu) − f(x) stays well above
    the loss's rounding (δ = 1e-4 suits float64 losses; 1e-2 … 1e-3 float32 ones).
    """
    params = [p for p in params]
    if samples < 1:
        raise ValueError(f"samples must be >= 1, got {samples}")
    if not (delta > 0 and math.isfinite(delta)):
        raise ValueError(f"delta must be a finite number > 0, got {delta}")
    f0 = float(model_fn())
    terms = []
    detached = [p.detach() for p in params]
    device = params[0].device
    for j in range(samples):
        with _on_device(device):
            s = _zo.Stepper(detached, lam=float(delta), eta=0.0, seed=seed, start_step=j,
                            restore=restore, distribution=distribution,
                            stream=_current_stream(device))
            s.perturb()
        try:
            fp = float(model_fn())
        finally:
            with _on_device(device):
                s.restore()
        terms.append(2.0 * (fp - f0) / (delta * delta))
    est, se = _mean_se(terms)
    return TraceResult(est, se, samples, terms)


def hutchinson(fn: Callable[..., _torch.Tensor], params: Sequence[_torch.Tensor],
               samples: int = 100, seed: int = 0,
               distribution: str = "rademacher") -> TraceResult:
    r"""Hutchinson's estimate (1/m) Σ_j v_jᵀ H v_j of tr ∇²f with ``torch.func`` Hessian-vector
    products (forward-over-reverse: jvp of grad).

    `fn(*params)` returns the scalar loss as a function of the parameter tensors (for a module:
    ``lambda *ps: loss(torch.func.functional_call(model, dict(zip(names, ps)), (x,)), y)``).
    The probes v_j are zo's directions (seed, j, zo.TRACE_PROBE_SUBSTREAM) over the concatenated
    parameters, Rademacher by default (lower variance) or Gaussian.
    """
    from torch.func import grad, jvp

    params = [p.detach() for p in params]
    if samples < 1:
        raise ValueError(f"samples must be >= 1, got {samples}")
    if distribution not in _DISTRIBUTIONS:
        raise ValueError(f"distribution must be one of {_DISTRIBUTIONS}, got {distribution!r}")
    argnums = tuple(range(len(params)))
    g = grad(fn, argnums=argnums)
    terms = []
    for j in range(samples):
        v = [t.to(p.dtype) for t, p in zip(
            direction_like(params, seed, j, _zo.TRACE_PROBE_SUBSTREAM, distribution), params)]
        _, hv = jvp(lambda *ps: g(*ps), tuple(params), tuple(v))
        term = sum(float((a.double() * b.double()).sum()) for a, b in zip(v, hv))
        terms.append(term)
    est, se = _mean_se(terms)
    return TraceResult(est, se, samples, terms)
