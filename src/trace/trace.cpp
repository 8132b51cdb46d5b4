// Hessian-trace estimators (zo/trace.hpp): the algorithms, written once over buffers that live
// either in host memory (CPU loops below, the reference) or in device memory
// (kernels/trace/trace_cuda.cu).
#include "zo/trace.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "trace/householder.hpp"
#include "trace/trace_engine.hpp"
#include "trace/trace_math.hpp"
#include "zo/device.hpp"
#include "zo/directions.hpp"
#include "zo/error.hpp"
#include "zo/run_batch.hpp"

namespace zo {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// ---------------------------------------------------------------------------------------------
// Buffers in host memory (a vector) or device memory (a zo::DeviceArray on the call's stream).

template <typename T>
class Buffer {
 public:
  Buffer(MemorySpace space, std::size_t size, StreamView stream) : space_(space), size_(size) {
    if (space == MemorySpace::host) {
      host_.resize(size);
    } else {
      device_ = DeviceArray<T>(size, stream);
    }
  }
  T* data() { return space_ == MemorySpace::host ? host_.data() : device_.data(); }
  const T* data() const { return space_ == MemorySpace::host ? host_.data() : device_.data(); }
  MemorySpace space() const { return space_; }
  std::size_t size() const { return size_; }
  /// Copies size() elements from host memory (blocking).
  void upload(const T* src) {
    if (space_ == MemorySpace::host) {
      std::copy(src, src + size_, host_.begin());
    } else {
      device_.copy_from_host(src, size_);
    }
  }
  /// The elements in host memory (blocking: waits for the work queued on the stream).
  std::vector<T> to_host() const { return space_ == MemorySpace::host ? host_ : device_.to_host(); }

 private:
  MemorySpace space_;
  std::size_t size_;
  std::vector<T> host_;
  DeviceArray<T> device_;
};

PointBatch batch_of(const float* data, std::size_t count, std::size_t d, MemorySpace space,
                    StreamView stream) {
  return PointBatch{data, count, d, d, space, stream};
}

// ---------------------------------------------------------------------------------------------
// The frame of one estimate_traces() call: the objective, `count` base points and where they live.

struct Frame {
  const Objective& objective;
  std::size_t count;
  std::size_t d;
  MemorySpace space;
  Backend backend;
  StreamView stream;  // orders every device buffer, kernel and objective call of the estimate
  Buffer<float> x;    // count × d base points in `space`
  // Device row sums of row_reduce, reused by every reduction of the estimate.
  mutable DeviceArray<double> reduce_scratch;

  Frame(const Objective& f, const float* host_points, std::size_t n, MemorySpace s, Backend b,
        StreamView st)
      : objective(f),
        count(n),
        d(f.dim()),
        space(s),
        backend(b),
        stream(st),
        x(s, n * f.dim(), st) {
    reduce_scratch.set_stream(st);
    x.upload(host_points);
  }
  /// A buffer of `size` elements in the frame's memory space, on its stream.
  template <typename T>
  Buffer<T> buffer(std::size_t size) const {
    return Buffer<T>(space, size, stream);
  }
  /// A batch of `count` contiguous points at `data` in the frame's memory space, on its stream.
  PointBatch batch(const float* data, std::size_t count) const {
    return batch_of(data, count, d, space, stream);
  }
  detail::RowRef base_rows() const { return {x.data(), 1, 0, 0, d}; }
};

// Rows (k, j) of `count` blocks of `per_point` rows starting at `offset` within each block.
detail::RowRef rows_of(const Buffer<float>& buf, std::uint64_t per_point, std::uint64_t offset,
                       std::size_t d) {
  return {buf.data(), per_point, offset, 1, d};
}

// Points x_k (if center), x_k + δ_j and (if two_sided) x_k − δ_j with δ_j ≈ ε·v_j; see
// detail::cuda::trace_build_points for the layout. `vectors` (count·m rows) replaces the probes.
Buffer<float> build_points(const Frame& fr, std::uint32_t m, float epsilon, Distribution dist,
                           std::uint64_t seed, std::uint32_t substream,
                           const Buffer<float>* vectors, bool center, bool two_sided) {
  const std::size_t d = fr.d;
  const std::uint64_t per_point =
      (center ? 1 : 0) + static_cast<std::uint64_t>(m) * (two_sided ? 2 : 1);
  Buffer<float> out = fr.buffer<float>(fr.count * per_point * d);
  if (fr.space == MemorySpace::device) {
    detail::cuda::trace_build_points(fr.x.data(), fr.count, d, m, epsilon, dist, seed, substream,
                                     vectors != nullptr ? vectors->data() : nullptr, center,
                                     two_sided, out.data(), fr.stream);
    return out;
  }
  const float* x = fr.x.data();
  float* o = out.data();
  const float* vec = vectors != nullptr ? vectors->data() : nullptr;
  const auto rows = static_cast<std::int64_t>(fr.count * m);
  const std::uint64_t blocks = (d + 3) / 4;
#pragma omp parallel for schedule(static)
  for (std::int64_t r = 0; r < rows; ++r) {
    const std::uint64_t k = static_cast<std::uint64_t>(r) / m;
    const auto j = static_cast<std::uint32_t>(static_cast<std::uint64_t>(r) % m);
    const float* xk = x + k * d;
    float* base = o + k * per_point * d;
    float* plus = base + ((center ? 1 : 0) + j) * d;
    float* minus = two_sided ? plus + static_cast<std::uint64_t>(m) * d : nullptr;
    // Probe coordinates by tiles of kProbeTile blocks from the SIMD generator (direction_blocks
    // is trace_probe4 on many blocks, bit for bit), or the caller's vectors.
    constexpr std::uint64_t kProbeTile = 256;
    float tile[4 * kProbeTile];
    for (std::uint64_t first = 0; first < blocks; first += kProbeTile) {
      const std::uint64_t count = std::min(kProbeTile, blocks - first);
      const std::uint64_t begin = 4 * first;
      const std::uint64_t end = std::min<std::uint64_t>(begin + 4 * count, d);
      const float* v = tile;
      if (vec != nullptr) {
        v = vec + static_cast<std::uint64_t>(r) * d + begin;
      } else {
        detail::direction_blocks(dist, DirectionKey{seed, j, substream}, first, count, 1.0f, tile);
      }
      for (std::uint64_t i = begin; i < end; ++i) {
        const float t = detail::mul_f(epsilon, v[i - begin]);
        if (two_sided) {
          detail::symmetric_pair(xk[i], t, &plus[i], &minus[i]);
        } else {
          plus[i] = xk[i] + t;
        }
      }
    }
  }
  if (center) {
    for (std::size_t k = 0; k < fr.count; ++k) {
      std::copy(x + k * d, x + (k + 1) * d, o + k * per_point * d);
    }
  }
  return out;
}

// count·m rows: row k·m + j = probe j (probes) or x_k (replicate).
Buffer<float> fill_rows(const Frame& fr, std::uint32_t m, Distribution dist, std::uint64_t seed,
                        std::uint32_t substream, bool replicate) {
  const std::size_t d = fr.d;
  Buffer<float> out = fr.buffer<float>(fr.count * m * d);
  if (fr.space == MemorySpace::device) {
    if (replicate) {
      detail::cuda::trace_replicate(fr.x.data(), fr.count, d, m, out.data(), fr.stream);
    } else {
      detail::cuda::trace_fill_probes(fr.count, d, m, dist, seed, substream, out.data(), fr.stream);
    }
    return out;
  }
  float* o = out.data();
  const auto rows = static_cast<std::int64_t>(fr.count * m);
  if (replicate) {
    const float* x = fr.x.data();
#pragma omp parallel for schedule(static)
    for (std::int64_t r = 0; r < rows; ++r) {
      const float* xk = x + (static_cast<std::uint64_t>(r) / m) * d;
      std::copy(xk, xk + d, o + static_cast<std::uint64_t>(r) * d);
    }
    return out;
  }
  // Probes do not depend on k: generate the m rows once, then copy them to the other points.
  const auto probes = static_cast<std::int64_t>(m);
#pragma omp parallel for schedule(static)
  for (std::int64_t j = 0; j < probes; ++j) {
    fill_direction(dist, DirectionKey{seed, static_cast<std::uint32_t>(j), substream}, d,
                   o + static_cast<std::uint64_t>(j) * d);
  }
  for (std::size_t k = 1; k < fr.count; ++k) {
    std::copy(o, o + static_cast<std::size_t>(m) * d, o + k * m * d);
  }
  return out;
}

// result[r] = Σ_i row_term(op, a_r[i], b_r[i], c_r[i], x_r[i]) for r < rows.
std::vector<double> row_reduce(const Frame& fr, detail::RowOp op, detail::RowRef a,
                               detail::RowRef b, detail::RowRef c, detail::RowRef x,
                               std::size_t rows, std::uint32_t m) {
  std::vector<double> out(rows);
  if (fr.space == MemorySpace::device) {
    fr.reduce_scratch.resize(rows);  // grows once per estimate at most; never shrinks
    detail::cuda::trace_row_reduce(op, a, b, c, x, rows, m, fr.d, out.data(),
                                   fr.reduce_scratch.data(), fr.stream);
    return out;
  }
  const std::size_t d = fr.d;
  const auto n = static_cast<std::int64_t>(rows);
#pragma omp parallel for schedule(static)
  for (std::int64_t r = 0; r < n; ++r) {
    const float* ar = a.row(r, m);
    const float* br = b.row(r, m);
    const float* cr = c.base != nullptr ? c.row(r, m) : nullptr;
    const float* xr = x.base != nullptr ? x.row(r, m) : nullptr;
    double sum = 0.0;  // fixed order: deterministic for any thread count
    for (std::size_t i = 0; i < d; ++i) {
      sum += detail::row_term(op, ar[i], br[i], cr != nullptr ? cr[i] : 0.0f,
                              xr != nullptr ? xr[i] : 0.0f);
    }
    out[r] = sum;
  }
  return out;
}

void check_finite(const std::vector<double>& v, const char* what, const Objective& f) {
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (!std::isfinite(v[i])) {
      ZO_FAIL(Error, "objective '" + f.name() + "' returned a non-finite " + what + " (" +
                         std::to_string(v[i]) + ") at batch entry " + std::to_string(i) +
                         " while estimating the Hessian trace");
    }
  }
}

std::vector<double> evaluate(const Frame& fr, const Buffer<float>& points, std::size_t count) {
  Buffer<double> values = fr.buffer<double>(count);
  fr.objective.evaluate(fr.batch(points.data(), count), values.data());
  std::vector<double> out = values.to_host();
  check_finite(out, "value", fr.objective);
  return out;
}

Buffer<float> gradients(const Frame& fr, const Buffer<float>& points, std::size_t count) {
  Buffer<float> g = fr.buffer<float>(count * fr.d);
  fr.objective.gradient(fr.batch(points.data(), count), g.data(), fr.d);
  return g;
}

Buffer<float> hvps(const Frame& fr, const Buffer<float>& points, const Buffer<float>& vectors,
                   std::size_t count) {
  Buffer<float> out = fr.buffer<float>(count * fr.d);
  fr.objective.hvp(fr.batch(points.data(), count), fr.batch(vectors.data(), count), out.data(),
                   fr.d);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Statistics.

struct Sample {
  double mean = kNaN;
  double std_error = kNaN;
};

// Mean and standard error of terms[offset + j·stride], j < n (two passes, in order).
Sample sample_of(const std::vector<double>& terms, std::size_t offset, std::size_t n,
                 std::size_t stride = 1) {
  Sample s;
  if (n == 0) return s;
  double sum = 0.0;
  for (std::size_t j = 0; j < n; ++j) sum += terms[offset + j * stride];
  s.mean = sum / static_cast<double>(n);
  if (n < 2) return s;
  double ss = 0.0;
  for (std::size_t j = 0; j < n; ++j) {
    const double dev = terms[offset + j * stride] - s.mean;
    ss += dev * dev;
  }
  s.std_error = std::sqrt(ss / static_cast<double>(n - 1) / static_cast<double>(n));
  return s;
}

TraceEstimate make_result(TraceEstimator e, const Frame& fr) {
  TraceEstimate r;
  r.estimator = e;
  r.backend = fr.space == MemorySpace::device ? Backend::cuda : Backend::cpu;
  return r;
}

// ---------------------------------------------------------------------------------------------
// The estimators, each over all points of the frame.

std::vector<TraceEstimate> run_exact(const Frame& fr) {
  Buffer<double> traces = fr.buffer<double>(fr.count);
  fr.objective.exact_trace(fr.batch(fr.x.data(), fr.count), traces.data());
  const std::vector<double> t = traces.to_host();
  std::vector<TraceEstimate> out;
  for (std::size_t k = 0; k < fr.count; ++k) {
    TraceEstimate r = make_result(TraceEstimator::exact, fr);
    r.estimate = t[k];
    r.std_error = 0.0;
    out.push_back(r);
  }
  return out;
}

// Second difference (two-sided) or the paper's one-sided expected sharpness.
std::vector<TraceEstimate> run_values(const Frame& fr, bool one_sided, std::uint32_t m,
                                      std::uint64_t seed, Distribution dist, double eps,
                                      double value_precision) {
  const auto eps_f = static_cast<float>(eps);
  const std::uint64_t per = 1 + static_cast<std::uint64_t>(m) * (one_sided ? 1 : 2);
  const Buffer<float> points =
      build_points(fr, m, eps_f, dist, seed, kTraceProbeSubstream, nullptr, true, !one_sided);
  const std::vector<double> values = evaluate(fr, points, fr.count * per);
  std::vector<double> asym;
  if (!one_sided) {
    asym = row_reduce(fr, detail::RowOp::asymmetry, rows_of(points, per, 1, fr.d),
                      rows_of(points, per, 1 + m, fr.d), detail::RowRef{nullptr, 0, 0, 0, 0},
                      fr.base_rows(), fr.count * m, m);
  }
  const double e2 = static_cast<double>(eps_f) * static_cast<double>(eps_f);
  std::vector<TraceEstimate> out;
  std::vector<double> terms(m);
  for (std::size_t k = 0; k < fr.count; ++k) {
    const double* v = values.data() + k * per;
    const double f0 = v[0];
    double grad_sq = 0.0, asym_sq = 0.0;
    for (std::uint32_t j = 0; j < m; ++j) {
      const double fp = v[1 + j];
      if (one_sided) {
        terms[j] = 2.0 * (fp - f0) / e2;
      } else {
        const double fm = v[1 + m + j];
        terms[j] = (fp + fm - 2.0 * f0) / e2;
        const double slope = (fp - fm) / (2.0 * eps_f);  // ≈ ∇fᵀv
        grad_sq += slope * slope;
        asym_sq += asym[k * m + j];
      }
    }
    const Sample s = sample_of(terms, 0, m);
    TraceEstimate r = make_result(one_sided ? TraceEstimator::sharpness : TraceEstimator::zo, fr);
    r.estimate = s.mean;
    r.std_error = s.std_error;
    r.value_evaluations = per;
    r.probes = m;
    r.epsilon = static_cast<double>(eps_f);
    // Rounding: values carry ≈ u·|f| error each, so a probe term ≈ 4u|f|/ε²; an asymmetric pair
    // (x + δ₊, x − δ₋) adds 2∇fᵀs/ε² with s = (δ₊ − δ₋)/2, of RMS 2‖∇f‖‖s‖/(√d ε²) for
    // isotropic s, where ‖∇f‖² ≈ mean_j (∇fᵀv_j)² from the first differences.
    const double value_term = 4.0 * value_precision * std::fabs(f0) / e2;
    double point_term = 0.0;
    if (!one_sided) {
      point_term =
          2.0 * std::sqrt(grad_sq / m) * std::sqrt(asym_sq / m / static_cast<double>(fr.d)) / e2;
    }
    r.rounding_error = std::sqrt(value_term * value_term + point_term * point_term) /
                       std::sqrt(static_cast<double>(m));
    out.push_back(r);
  }
  return out;
}

// Which Hessian-vector products to use.
bool use_hvp(const Objective& f, HessianSource source) {
  switch (source) {
    case HessianSource::hvp:
      return true;
    case HessianSource::gradient:
      return false;
    default:
      return f.has_hvp();
  }
}

// Quadratic forms w_rᵀ H w_r of count·m vectors: generated probes (vectors == nullptr) or the
// rows of `vectors` (host, count·m·d floats). With gradient differences w_r is the applied
// perturbation divided by h (the probe up to float32 rounding of x ± h·v).
std::vector<double> quadratic_forms(const Frame& fr, bool hvp, std::uint32_t m, double h,
                                    Distribution dist, std::uint64_t seed,
                                    const std::vector<float>* vectors, TraceEstimate& cost) {
  const std::size_t rows = fr.count * m;
  const std::size_t d = fr.d;
  if (hvp) {
    Buffer<float> v = vectors != nullptr
                          ? fr.buffer<float>(rows * d)
                          : fill_rows(fr, m, dist, seed, kTraceProbeSubstream, false);
    if (vectors != nullptr) v.upload(vectors->data());
    const Buffer<float> xr = fill_rows(fr, m, dist, seed, 0, true);
    const Buffer<float> hv = hvps(fr, xr, v, rows);
    cost.hvp_evaluations += m;
    return row_reduce(fr, detail::RowOp::dot, rows_of(v, m, 0, d), rows_of(hv, m, 0, d),
                      detail::RowRef{nullptr, 0, 0, 0, 0}, detail::RowRef{nullptr, 0, 0, 0, 0},
                      rows, m);
  }
  // Gradient differences. Explicit vectors are scaled to norm √d (the size of a probe) so the
  // step h means the same for every vector; the form is scaled back afterwards.
  std::vector<double> scale(rows, 1.0);
  std::unique_ptr<Buffer<float>> v;
  if (vectors != nullptr) {
    std::vector<float> scaled(rows * d);
    for (std::size_t r = 0; r < rows; ++r) {
      const float* src = vectors->data() + r * d;
      double norm_sq = 0.0;
      for (std::size_t i = 0; i < d; ++i) norm_sq += static_cast<double>(src[i]) * src[i];
      const double s = norm_sq > 0.0 ? std::sqrt(static_cast<double>(d) / norm_sq) : 1.0;
      scale[r] = 1.0 / (s * s);
      for (std::size_t i = 0; i < d; ++i) scaled[r * d + i] = static_cast<float>(src[i] * s);
    }
    v = std::make_unique<Buffer<float>>(fr.space, rows * d, fr.stream);
    v->upload(scaled.data());
  }
  const auto h_f = static_cast<float>(h);
  const Buffer<float> points =
      build_points(fr, m, h_f, dist, seed, kTraceProbeSubstream, v.get(), false, true);
  const Buffer<float> g = gradients(fr, points, 2 * rows);
  cost.gradient_evaluations += 2 * static_cast<std::uint64_t>(m);
  std::vector<double> q =
      row_reduce(fr, detail::RowOp::pair_dot, rows_of(points, 2 * m, 0, d), rows_of(g, 2 * m, 0, d),
                 rows_of(g, 2 * m, m, d), fr.base_rows(), rows, m);
  check_finite(q, "gradient", fr.objective);
  const double denom = 2.0 * static_cast<double>(h_f) * static_cast<double>(h_f);
  for (std::size_t r = 0; r < rows; ++r) q[r] = q[r] / denom * scale[r];
  return q;
}

std::vector<TraceEstimate> run_hutchinson(const Frame& fr, bool hvp, std::uint32_t m,
                                          std::uint64_t seed, Distribution dist, double h) {
  TraceEstimate cost = make_result(TraceEstimator::hutchinson, fr);
  const std::vector<double> q = quadratic_forms(fr, hvp, m, h, dist, seed, nullptr, cost);
  check_finite(q, "Hessian-vector product", fr.objective);
  std::vector<TraceEstimate> out;
  for (std::size_t k = 0; k < fr.count; ++k) {
    const Sample s = sample_of(q, k * m, m);
    TraceEstimate r = cost;
    r.estimate = s.mean;
    r.std_error = s.std_error;
    r.probes = m;
    r.epsilon = hvp ? 0.0 : static_cast<double>(static_cast<float>(h));
    out.push_back(r);
  }
  return out;
}

std::vector<TraceEstimate> run_hutchpp(const Frame& fr, bool hvp, std::uint32_t m,
                                       std::uint64_t seed, Distribution dist, double h) {
  // A sketch of d vectors already spans R^d: then tr(QᵀHQ) is the whole trace and no residual
  // probes are needed (the estimate is exact and uses 2d products instead of m).
  const std::size_t d = fr.d;
  const auto k_sketch = static_cast<std::uint32_t>(std::min<std::size_t>(m / 3, d));
  const std::uint32_t n_res = k_sketch == d ? 0 : m - 2 * k_sketch;
  TraceEstimate cost = make_result(TraceEstimator::hutchpp, fr);

  // 1. Y = H S for the sketch probes, in one batched call, brought to the host.
  std::vector<float> y;
  if (hvp) {
    const Buffer<float> s = fill_rows(fr, k_sketch, dist, seed, kTraceSketchSubstream, false);
    const Buffer<float> xr = fill_rows(fr, k_sketch, dist, seed, 0, true);
    y = hvps(fr, xr, s, fr.count * k_sketch).to_host();
    cost.hvp_evaluations += k_sketch;
  } else {
    const auto h_f = static_cast<float>(h);
    const Buffer<float> points =
        build_points(fr, k_sketch, h_f, dist, seed, kTraceSketchSubstream, nullptr, false, true);
    const std::vector<float> g = gradients(fr, points, 2 * fr.count * k_sketch).to_host();
    cost.gradient_evaluations += 2 * static_cast<std::uint64_t>(k_sketch);
    y.resize(fr.count * k_sketch * d);
    for (std::size_t k = 0; k < fr.count; ++k) {
      for (std::uint32_t j = 0; j < k_sketch; ++j) {
        const float* gp = g.data() + (k * 2 * k_sketch + j) * d;
        const float* gm = gp + static_cast<std::size_t>(k_sketch) * d;
        float* yj = y.data() + (k * k_sketch + j) * d;
        for (std::size_t i = 0; i < d; ++i) {
          yj[i] = static_cast<float>((static_cast<double>(gp[i]) - gm[i]) / (2.0 * h_f));
        }
      }
    }
  }
  for (float value : y) {
    if (!std::isfinite(value)) {
      ZO_FAIL(Error, "objective '" + fr.objective.name() +
                         "' returned a non-finite Hessian-vector product while estimating the "
                         "Hessian trace");
    }
  }

  // 2. Per point: Q = orth(Y), residual probes projected with I − QQᵀ (double, on the host).
  const std::uint32_t per = k_sketch + n_res;
  std::vector<float> vectors(fr.count * per * d);
  std::vector<float> g(static_cast<std::size_t>(n_res) * d);  // residual probes (all points)
  for (std::uint32_t j = 0; j < n_res; ++j) {
    fill_direction(dist, DirectionKey{seed, j, kTraceProbeSubstream}, d,
                   g.data() + static_cast<std::size_t>(j) * d);
  }
  for (std::size_t k = 0; k < fr.count; ++k) {
    std::vector<double> yk(y.begin() + k * k_sketch * d, y.begin() + (k + 1) * k_sketch * d);
    const std::vector<double> q = detail::householder_q(std::move(yk), d, k_sketch);
    float* out = vectors.data() + k * per * d;
    for (std::size_t i = 0; i < k_sketch * d; ++i) out[i] = static_cast<float>(q[i]);
    const auto residuals = static_cast<std::int64_t>(n_res);
#pragma omp parallel for schedule(static)
    for (std::int64_t j = 0; j < residuals; ++j) {
      const float* gj = g.data() + static_cast<std::size_t>(j) * d;
      std::vector<double> pg(gj, gj + d);
      std::vector<double> coef(k_sketch);
      for (std::uint32_t c = 0; c < k_sketch; ++c) {
        coef[c] = detail::dot4(q.data() + static_cast<std::size_t>(c) * d, pg.data(), 0, d);
      }
      for (std::uint32_t c = 0; c < k_sketch; ++c) {
        const double* qc = q.data() + static_cast<std::size_t>(c) * d;
        for (std::size_t i = 0; i < d; ++i) pg[i] -= coef[c] * qc[i];
      }
      float* row = out + (static_cast<std::size_t>(k_sketch) + static_cast<std::size_t>(j)) * d;
      for (std::size_t i = 0; i < d; ++i) row[i] = static_cast<float>(pg[i]);
    }
  }

  // 3. qᵢᵀHqᵢ and (Pg)ᵀH(Pg) in one batched call.
  const std::vector<double> forms = quadratic_forms(fr, hvp, per, h, dist, seed, &vectors, cost);
  check_finite(forms, "Hessian-vector product", fr.objective);
  std::vector<TraceEstimate> out;
  for (std::size_t k = 0; k < fr.count; ++k) {
    double low_rank = 0.0, low_rank_abs = 0.0;
    for (std::uint32_t i = 0; i < k_sketch; ++i) {
      low_rank += forms[k * per + i];
      low_rank_abs += std::fabs(forms[k * per + i]);
    }
    const Sample s = n_res > 0 ? sample_of(forms, k * per + k_sketch, n_res) : Sample{0.0, 0.0};
    TraceEstimate r = cost;
    r.estimate = low_rank + s.mean;
    // The low-rank part is deterministic given Q but computed with float32 basis vectors and
    // float32 products (relative errors ~2^-24 each): a floor of 2^-22 Σ|qᵢᵀHqᵢ| joins the
    // residual's sampling error, so a (numerically) exact answer is not reported as ± 0.
    r.rounding_error = 0x1p-22 * low_rank_abs;
    r.std_error = std::sqrt(s.std_error * s.std_error + r.rounding_error * r.rounding_error);
    r.probes = k_sketch + n_res;
    r.epsilon = hvp ? 0.0 : static_cast<double>(static_cast<float>(h));
    out.push_back(r);
  }
  return out;
}

double rms(const float* x, std::size_t d) {
  double ss = 0.0;
  for (std::size_t i = 0; i < d; ++i) ss += static_cast<double>(x[i]) * x[i];
  return std::sqrt(ss / static_cast<double>(d));
}

// The smallest power of two ≥ max(1, v).
double power_of_two_scale(double v) {
  double s = 1.0;
  while (s < v) s *= 2.0;
  return s;
}

Distribution probe_distribution(TraceEstimator e, const TraceOptions& o) {
  if (!o.automatic_distribution) return o.distribution;
  return (e == TraceEstimator::hutchinson || e == TraceEstimator::hutchpp)
             ? Distribution::rademacher
             : Distribution::gaussian;
}

bool uses_hessian_products(TraceEstimator e) {
  return e == TraceEstimator::hutchinson || e == TraceEstimator::hutchpp;
}

}  // namespace

// -----------------------------------------------------------------------------------------------
// Public API.

double default_step(TraceEstimator estimator, const Objective& objective, const float* x,
                    const TraceOptions& options) {
  ZO_EXPECTS(x != nullptr, "default_step: x is null");
  ZO_EXPECTS(objective.dim() >= 1, "default_step: objective dimension is 0");
  const double scale = power_of_two_scale(rms(x, objective.dim()));
  switch (estimator) {
    case TraceEstimator::zo:
    case TraceEstimator::sharpness:
      return std::pow(2.0, std::round(std::log2(std::pow(options.value_precision, 0.25)))) * scale;
    case TraceEstimator::hutchinson:
    case TraceEstimator::hutchpp:
      if (use_hvp(objective, options.hessian)) return 0.0;
      return 0x1p-8 * scale;  // (2^-24)^(1/3): float32 gradients
    default:
      return 0.0;
  }
}

std::vector<TraceEstimate> estimate_traces(TraceEstimator estimator, const Objective& objective,
                                           const float* points, std::size_t count,
                                           std::uint32_t probes, std::uint64_t seed,
                                           const TraceOptions& options) {
  const std::size_t d = objective.dim();
  ZO_EXPECTS(d >= 1, "estimate_traces: objective '" + objective.name() + "' has dimension 0");
  ZO_EXPECTS(points != nullptr, "estimate_traces: points is null");
  ZO_EXPECTS(count >= 1, "estimate_traces: count must be at least 1 (got 0)");
  for (std::size_t i = 0; i < count * d; ++i) {
    ZO_EXPECTS(std::isfinite(points[i]), "estimate_traces: coordinate " + std::to_string(i % d) +
                                             " of point " + std::to_string(i / d) +
                                             " is not finite");
  }
  if (estimator == TraceEstimator::hutchpp) {
    ZO_EXPECTS(probes >= 3, "hutch++ needs at least 3 probes (Hessian-vector products), got " +
                                std::to_string(probes));
  } else if (estimator != TraceEstimator::exact) {
    ZO_EXPECTS(probes >= 1, std::string(to_string(estimator)) + " needs at least 1 probe, got 0");
  }
  ZO_EXPECTS(std::isfinite(options.epsilon) && options.epsilon >= 0.0,
             "trace epsilon must be finite and > 0 (or 0 for the default), got " +
                 std::to_string(options.epsilon));
  ZO_EXPECTS(options.epsilon == 0.0 || static_cast<float>(options.epsilon) > 0.0f,
             "trace epsilon " + std::to_string(options.epsilon) + " underflows in float32");
  ZO_EXPECTS(options.value_precision > 0.0 && options.value_precision < 1.0,
             "value_precision must lie in (0, 1), got " + std::to_string(options.value_precision));
  const Distribution dist = probe_distribution(estimator, options);
  ZO_EXPECTS(dist == Distribution::gaussian || dist == Distribution::rademacher,
             std::string("trace probes must be gaussian or rademacher, got ") + to_string(dist));

  // Capabilities.
  if (estimator == TraceEstimator::exact && !objective.has_exact_trace()) {
    ZO_FAIL(NotSupported, "objective '" + objective.name() +
                              "' has no closed-form Hessian trace; use an estimator "
                              "(hutchinson, hutch++, zo or sharpness)");
  }
  bool hvp = false;
  if (uses_hessian_products(estimator)) {
    hvp = use_hvp(objective, options.hessian);
    if (hvp && !objective.has_hvp()) {
      ZO_FAIL(NotSupported, "trace estimator '" + std::string(to_string(estimator)) +
                                "' was asked for Hessian-vector products, but objective '" +
                                objective.name() +
                                "' provides none (use --hessian gradient or "
                                "HessianSource::gradient if it has a gradient)");
    }
    if (!hvp && !objective.has_gradient()) {
      ZO_FAIL(NotSupported,
              "trace estimator '" + std::string(to_string(estimator)) +
                  "' needs Hessian-vector products or a gradient, but objective '" +
                  objective.name() +
                  "' provides values only; use the zeroth-order estimators 'zo' or 'sharpness'");
    }
  }

  const Backend backend = resolve_backend(options.backend);
  const MemorySpace space = backend == Backend::cuda && objective.accepts(MemorySpace::device)
                                ? MemorySpace::device
                                : MemorySpace::host;
  double step = options.epsilon;
  if (step == 0.0) {
    for (std::size_t k = 0; k < count; ++k) {
      step = std::max(step, default_step(estimator, objective, points + k * d, options));
    }
  }
  const Frame frame(objective, points, count, space, backend, options.stream);
  switch (estimator) {
    case TraceEstimator::exact:
      return run_exact(frame);
    case TraceEstimator::hutchinson:
      return run_hutchinson(frame, hvp, probes, seed, dist, step);
    case TraceEstimator::zo:
      return run_values(frame, false, probes, seed, dist, step, options.value_precision);
    case TraceEstimator::sharpness:
      return run_values(frame, true, probes, seed, dist, step, options.value_precision);
    case TraceEstimator::hutchpp:
      return run_hutchpp(frame, hvp, probes, seed, dist, step);
  }
  ZO_FAIL(InvalidArgument, "unknown trace estimator");
}

TraceEstimate estimate_trace(TraceEstimator estimator, const Objective& objective, const float* x,
                             std::uint32_t probes, std::uint64_t seed,
                             const TraceOptions& options) {
  return estimate_traces(estimator, objective, x, 1, probes, seed, options).front();
}

TraceEstimate trace_exact(const Objective& objective, const float* x, const TraceOptions& options) {
  return estimate_trace(TraceEstimator::exact, objective, x, 0, 0, options);
}

TraceEstimate trace_hutchinson(const Objective& objective, const float* x, std::uint32_t probes,
                               std::uint64_t seed, const TraceOptions& options) {
  return estimate_trace(TraceEstimator::hutchinson, objective, x, probes, seed, options);
}

TraceEstimate trace_zo(const Objective& objective, const float* x, std::uint32_t probes,
                       std::uint64_t seed, const TraceOptions& options) {
  return estimate_trace(TraceEstimator::zo, objective, x, probes, seed, options);
}

TraceEstimate trace_sharpness(const Objective& objective, const float* x, std::uint32_t probes,
                              std::uint64_t seed, const TraceOptions& options) {
  return estimate_trace(TraceEstimator::sharpness, objective, x, probes, seed, options);
}

TraceEstimate trace_hutchpp(const Objective& objective, const float* x, std::uint32_t probes,
                            std::uint64_t seed, const TraceOptions& options) {
  return estimate_trace(TraceEstimator::hutchpp, objective, x, probes, seed, options);
}

std::uint64_t trace_seed(std::uint64_t run_seed, std::uint64_t step) {
  // SplitMix64 finaliser of a combination of both (Steele, Lea, Flood 2014).
  std::uint64_t z = run_seed + 0x9E3779B97F4A7C15ull * (step + 1);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

std::vector<RunTrace> log_run_traces(const RunBatch& batch, const Objective& objective,
                                     TraceEstimator estimator, std::uint32_t probes,
                                     std::uint64_t seed, const TraceOptions& options) {
  ZO_EXPECTS(batch.dim() == objective.dim(), "log_run_traces: the batch has dimension " +
                                                 std::to_string(batch.dim()) + " but objective '" +
                                                 objective.name() + "' has " +
                                                 std::to_string(objective.dim()));
  const std::size_t k = batch.size();
  const std::size_t d = batch.dim();
  std::vector<float> x(k * d);
  batch.copy_points(x.data());
  const std::vector<TraceEstimate> est =
      estimate_traces(estimator, objective, x.data(), k, probes, seed, options);
  std::vector<double> exact(k, kNaN);
  if (objective.has_exact_trace()) {
    objective.exact_trace(batch_of(x.data(), k, d, MemorySpace::host, StreamView()), exact.data());
  }
  std::vector<RunTrace> out(k);
  for (std::size_t r = 0; r < k; ++r) {
    out[r].run = r;
    out[r].step = batch.next_step();
    out[r].estimate = est[r];
    out[r].exact = exact[r];
  }
  return out;
}

}  // namespace zo
