// The objective interface: every objective evaluates a *batch* of points in one call, so that a
// backend can hand it all 2·K·q perturbed points of a step at once (on the GPU: one launch or one
// matrix product instead of thousands).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "zo/export.hpp"
#include "zo/stream_view.hpp"

namespace zo {

/// Where a buffer lives.
enum class MemorySpace { host, device };

/// What an objective reveals of its structure, so that RunBatch can choose an engine that
/// exploits it (see zo::Engine in zo/run_batch.hpp). An objective of kind `example21` is a
/// zo::Example21 and one of kind `linear_model` a zo::LinearModel; every other objective is a
/// `black_box`, evaluated only through evaluate() and the optional derivatives.
enum class ObjectiveStructure { black_box, example21, linear_model };

/// A batch of `count` points of dimension `dim`; point p starts at `data + p * stride`.
/// `space` says whether `data` is host or device memory; device work is ordered on `stream`.
struct PointBatch {
  const float* data = nullptr;            ///< the first point
  std::size_t count = 0;                  ///< number of points
  std::size_t dim = 0;                    ///< coordinates per point
  std::size_t stride = 0;                 ///< floats from one point to the next (≥ dim)
  MemorySpace space = MemorySpace::host;  ///< where `data` (and every output) lives
  /// The CUDA stream that orders the device work of a device batch (default: the legacy default
  /// stream); ignored for host batches.
  StreamView stream{};

  /// Pointer to point p.
  const float* point(std::size_t p) const { return data + p * stride; }
};

/// A function f: R^dim → R to be minimised, evaluated on batches of points.
///
/// Only `dim()` and `evaluate()` are required: that is a black-box (values-only) objective,
/// enough for zeroth-order methods. Objectives may also provide gradients (needed by GD and ZO
/// with λ→0), Hessian-vector products and the exact Hessian trace; the `has_*` queries say which.
/// Calling a capability that is absent throws zo::NotSupported.
///
/// Memory: `accepts(space)` says which memory spaces the objective can read. Every output
/// pointer lives in the same space as the input batch. A backend that holds its points on the
/// GPU copies them to the host for objectives that accept host memory only.
///
/// Blocking (zo's rule, see zo/device.hpp): on a host batch the batch methods return when their
/// outputs are written; on a device batch they only touch device memory, so they are
/// asynchronous: zo's objectives queue their work on `points.stream` and return at once, and a
/// user objective that accepts device memory must order its work on `points.stream` too.
///
/// Thread safety: const methods may be called concurrently from several threads.
class ZO_API Objective {
 public:
  virtual ~Objective();

  /// Dimension of the domain.
  virtual std::size_t dim() const = 0;

  /// A short human-readable name, used in logs and result tables.
  virtual std::string name() const { return "objective"; }

  /// The structure that specialised engines may exploit; `black_box` unless overridden by zo's
  /// own objectives (a user objective must not claim a structure it does not have).
  virtual ObjectiveStructure structure() const { return ObjectiveStructure::black_box; }

  /// Whether evaluate() and the other batch methods accept points in `space`.
  virtual bool accepts(MemorySpace space) const { return space == MemorySpace::host; }

  /// values[p] = f(points.point(p)) for every p in the batch. Host batch: blocking; device batch:
  /// asynchronous on points.stream.
  virtual void evaluate(const PointBatch& points, double* values) const = 0;

  /// Whether gradient() is available.
  virtual bool has_gradient() const { return false; }

  /// grads + p * grad_stride receives ∇f(points.point(p)) (dim floats). Host batch: blocking;
  /// device batch: asynchronous on points.stream.
  virtual void gradient(const PointBatch& points, float* grads, std::size_t grad_stride) const;

  /// Whether hvp() is available.
  virtual bool has_hvp() const { return false; }

  /// out + p * out_stride receives ∇²f(points.point(p)) · vectors.point(p). Host batch: blocking;
  /// device batch: asynchronous on points.stream.
  virtual void hvp(const PointBatch& points, const PointBatch& vectors, float* out,
                   std::size_t out_stride) const;

  /// Whether exact_trace() is available (a closed form of tr ∇²f).
  virtual bool has_exact_trace() const { return false; }

  /// traces[p] = tr ∇²f(points.point(p)). Host batch: blocking; device batch: asynchronous on
  /// points.stream.
  virtual void exact_trace(const PointBatch& points, double* traces) const;

  /// Names of extra per-point diagnostics (e.g. "B" for Example 2.1); empty by default.
  virtual std::vector<std::string> metric_names() const { return {}; }

  /// out[p * metric_names().size() + m] = metric m at point p (host memory only; blocking).
  virtual void metrics(const PointBatch& points, double* out) const;
};

/// Checks that `points` matches `objective` (dimension, stride, memory space); throws
/// zo::InvalidArgument naming the mismatch otherwise.
ZO_API void check_batch(const Objective& objective, const PointBatch& points);

/// Convenience: f(x) for one host point.
ZO_API double evaluate_one(const Objective& objective, const float* x);

}  // namespace zo
