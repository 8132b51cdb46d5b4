#include "zo/example21.hpp"

#include <string>

#include "core/cuda_backend.hpp"
#include "core/parallel.hpp"
#include "objectives/example21_math.hpp"
#include "zo/error.hpp"

namespace zo {
namespace {

struct Sums {
  double yz = 0.0;  // yᵀz
  double yy = 0.0;  // ‖y‖²
  double zz = 0.0;  // ‖z‖²
};

Sums point_sums(const float* x, std::size_t d) {
  Sums s;
  const float* y = x;
  const float* z = x + d;
  for (std::size_t i = 0; i < d; ++i) {
    const double yi = y[i];
    const double zi = z[i];
    s.yz += yi * zi;
    s.yy += yi * yi;
    s.zz += zi * zi;
  }
  return s;
}

double dot(const float* a, const float* b, std::size_t n) {
  double s = 0.0;
  for (std::size_t i = 0; i < n; ++i) s += static_cast<double>(a[i]) * static_cast<double>(b[i]);
  return s;
}

}  // namespace

Example21::Example21(std::size_t d) : d_(d) {
  ZO_EXPECTS(d >= 1, "Example21: the dimension d must be at least 1 (got 0)");
}

bool Example21::accepts(MemorySpace space) const {
  return space == MemorySpace::host || detail::cuda::available();
}

void Example21::evaluate(const PointBatch& points, double* values) const {
  check_batch(*this, points);
  if (points.space == MemorySpace::device) {
    detail::cuda::example21_evaluate(points, d_, values);
    return;
  }
  const auto count = static_cast<std::int64_t>(points.count);
  detail::parallel_for(count, points.count * d_ >= detail::kMinParallelWork, [&](std::int64_t p) {
    const float* x = points.point(static_cast<std::size_t>(p));
    values[p] = detail::example21_value(dot(x, x + d_, d_));
  });
}

void Example21::gradient(const PointBatch& points, float* grads, std::size_t grad_stride) const {
  check_batch(*this, points);
  if (points.space == MemorySpace::device) {
    detail::cuda::example21_gradient(points, d_, grads, grad_stride);
    return;
  }
  const auto count = static_cast<std::int64_t>(points.count);
#pragma omp parallel for schedule(static) if (points.count * d_ >= detail::kMinParallelWork)
  for (std::int64_t p = 0; p < count; ++p) {
    const float* y = points.point(static_cast<std::size_t>(p));
    const float* z = y + d_;
    float* g = grads + static_cast<std::size_t>(p) * grad_stride;
    const double s = dot(y, z, d_);
    for (std::size_t i = 0; i < d_; ++i) {
      g[i] = detail::example21_gradient(s, z[i]);
      g[d_ + i] = detail::example21_gradient(s, y[i]);
    }
  }
}

void Example21::hvp(const PointBatch& points, const PointBatch& vectors, float* out,
                    std::size_t out_stride) const {
  check_batch(*this, points);
  check_batch(*this, vectors);
  ZO_EXPECTS(vectors.count == points.count, "Example21::hvp: " + std::to_string(points.count) +
                                                " points but " + std::to_string(vectors.count) +
                                                " vectors");
  ZO_EXPECTS(vectors.space == points.space,
             "Example21::hvp: points and vectors in different memory");
  if (points.space == MemorySpace::device) {
    detail::cuda::example21_hvp(points, vectors, d_, out, out_stride);
    return;
  }
  const auto count = static_cast<std::int64_t>(points.count);
#pragma omp parallel for schedule(static) if (points.count * d_ >= detail::kMinParallelWork)
  for (std::int64_t p = 0; p < count; ++p) {
    const float* y = points.point(static_cast<std::size_t>(p));
    const float* z = y + d_;
    const float* a = vectors.point(static_cast<std::size_t>(p));
    const float* b = a + d_;
    float* h = out + static_cast<std::size_t>(p) * out_stride;
    const double s = dot(y, z, d_);
    const double c = dot(z, a, d_) + dot(y, b, d_);
    for (std::size_t i = 0; i < d_; ++i) {
      h[i] = detail::example21_hvp(s, c, z[i], b[i]);
      h[d_ + i] = detail::example21_hvp(s, c, y[i], a[i]);
    }
  }
}

void Example21::exact_trace(const PointBatch& points, double* traces) const {
  check_batch(*this, points);
  if (points.space == MemorySpace::device) {
    detail::cuda::example21_trace(points, d_, traces);
    return;
  }
  const auto count = static_cast<std::int64_t>(points.count);
#pragma omp parallel for schedule(static) if (points.count * d_ >= detail::kMinParallelWork)
  for (std::int64_t p = 0; p < count; ++p) {
    const Sums s = point_sums(points.point(static_cast<std::size_t>(p)), d_);
    traces[p] = s.yy + s.zz;
  }
}

void Example21::metrics(const PointBatch& points, double* out) const {
  check_batch(*this, points);
  ZO_EXPECTS(points.space == MemorySpace::host, "Example21::metrics reads host memory only");
  const auto count = static_cast<std::int64_t>(points.count);
#pragma omp parallel for schedule(static) if (points.count * d_ >= detail::kMinParallelWork)
  for (std::int64_t p = 0; p < count; ++p) {
    const Sums s = point_sums(points.point(static_cast<std::size_t>(p)), d_);
    out[p] = 0.5 * (s.yy - s.zz);
  }
}

}  // namespace zo
