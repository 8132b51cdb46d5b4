"""zo: zeroth-order optimisation kernels for CUDA and C++, from Python.

The compiled core (``zo._zo``) binds libzo: :class:`Stepper` (in-place steps on tensors),
:func:`minimize` and :class:`RunBatch` (Algorithm 1 with a batched Python objective), the trace
estimators, the sweep API and the counter-based directions. :mod:`zo.torch` adds the
``ZOSGD`` optimizer and the trace estimates for PyTorch models. See docs/python.md.
"""

from ._zo import (  # noqa: F401
    __version__,
    CallbackObjective,
    CudaError,
    DataError,
    DeviceUnavailable,
    Error,
    Example21,
    InvalidArgument,
    MAX_STEPPER_Q,
    NotCompiled,
    NotSupported,
    Objective,
    ObjectiveError,
    RunBatch,
    RunSpec,
    Stepper,
    Sweep,
    SweepConfig,
    TRACE_PROBE_SUBSTREAM,
    TRACE_SKETCH_SUBSTREAM,
    TraceEstimate,
    build_summary,
    cuda_available,
    cuda_compiled,
    cuda_device_description,
    direction,
    estimate_trace,
    estimate_traces,
    fill_direction,
    gaussian_fill,
    minimize,
    set_log_quiet,
    sweep_grid,
    trace_seed,
    version,
)

__all__ = [name for name in dir() if not name.startswith("_")] + ["__version__"]
