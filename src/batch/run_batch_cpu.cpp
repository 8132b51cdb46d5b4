// The CPU backend of RunBatch: the reference implementation. OpenMP over runs and tiles of
// coordinates; every output element is computed by one fixed sequence of operations, so the
// results are bit-identical for any thread count.
#include <algorithm>
#include <cstring>
#include <limits>
#include <memory>
#include <vector>

#include "batch/run_batch_engine.hpp"
#include "batch/step_math.hpp"
#include "core/parallel.hpp"
#include "zo/directions.hpp"
#include "zo/error.hpp"

namespace zo {
namespace detail {
namespace {

/// Philox blocks per tile: the directions of a tile come from the SIMD generator in one call
/// (direction_blocks, bit-identical to direction4), then the element-wise bodies run over it.
constexpr std::uint64_t kTileBlocks = 256;

/// Floats of directions a step keeps from the perturbation for the update (16 MiB); larger
/// steps generate them again.
constexpr std::size_t kKeptDirections = std::size_t{1} << 22;
constexpr std::size_t kNoPair = ~std::size_t{0};

class CpuRunBatch final : public BatchEngine {
 public:
  CpuRunBatch(const Objective& objective, std::vector<RunSpec> runs, const float* x0,
              const BatchOptions& options)
      : BatchEngine(objective, std::move(runs), options),
        dim_(objective.dim()),
        x_(x0, x0 + this->runs().size() * dim_) {}

  Engine kind() const override { return Engine::generic; }
  Backend backend() const override { return Backend::cpu; }

  void step(std::uint64_t step) override {
    const auto& specs = runs();
    const std::size_t K = specs.size();
    const std::size_t d = dim_;
    const std::uint64_t blocks = (d + 3) / 4;
    const std::uint64_t tiles = (blocks + kTileBlocks - 1) / kTileBlocks;

    // Which runs take part, and how.
    zo_pairs_.clear();   // (run, j) for Method::zo
    grad_runs_.clear();  // runs that need ∇f(x)
    for (std::size_t k = 0; k < K; ++k) {
      if (statuses()[k].diverged) continue;
      if (specs[k].method == Method::zo) {
        for (std::uint32_t j = 0; j < specs[k].q; ++j) zo_pairs_.push_back({k, j});
      } else {
        grad_runs_.push_back(k);
      }
    }
    // Sphere scales, one per (run, j) that needs one.
    scales_.assign(K * max_q(), 1.0f);
    for (std::size_t k = 0; k < K; ++k) {
      if (statuses()[k].diverged || specs[k].distribution != Distribution::sphere) continue;
      for (std::uint32_t j = 0; j < specs[k].q; ++j)
        scales_[k * max_q() + j] = sphere_scale(key(k, step, j), d);
    }

    // 1. All perturbed points x ± λu of this step, then one batched evaluation. The directions
    // are kept for step 4 when they fit in kKeptDirections floats (else generated again).
    const std::size_t n_pairs = zo_pairs_.size();
    const bool keep = n_pairs * 4 * blocks <= kKeptDirections;
    pair_of_.assign(K * max_q(), kNoPair);
    if (keep) {
      kept_u_.resize(n_pairs * 4 * blocks);
      for (std::size_t p = 0; p < n_pairs; ++p)
        pair_of_[zo_pairs_[p].run * max_q() + zo_pairs_[p].j] = p;
    }
    values_.assign(2 * n_pairs, 0.0);
    if (n_pairs > 0) {
      points_.resize(2 * n_pairs * d);
      const auto total = static_cast<std::int64_t>(n_pairs * tiles);
      parallel_for(total, n_pairs * d >= kMinParallelWork, [&](std::int64_t t) {
        const std::size_t pair = static_cast<std::size_t>(t) / tiles;
        const std::uint64_t tile = static_cast<std::uint64_t>(t) % tiles;
        const std::size_t k = zo_pairs_[pair].run;
        const std::uint32_t j = zo_pairs_[pair].j;
        const RunSpec& s = specs[k];
        float tile_u[4 * kTileBlocks];
        const std::uint64_t first = tile * kTileBlocks;
        const std::uint64_t count = std::min<std::uint64_t>(kTileBlocks, blocks - first);
        // Kept for the update when small enough (padded rows of 4·blocks floats).
        float* u = keep ? &kept_u_[pair * 4 * blocks + 4 * first] : tile_u;
        direction_blocks(s.distribution, key(k, step, j), first, count, scales_[k * max_q() + j],
                         u);
        const std::uint64_t begin = 4 * first;
        const std::uint64_t end = std::min<std::uint64_t>(begin + 4 * count, d);
        const float* x = &x_[k * d];
        float* plus = &points_[(2 * pair) * d];
        float* minus = &points_[(2 * pair + 1) * d];
        for (std::uint64_t i = begin; i < end; ++i) {
          plus[i] = perturb(x[i], s.lambda, u[i - begin]);
          minus[i] = perturb(x[i], -s.lambda, u[i - begin]);
        }
      });
      objective().evaluate(batch(points_.data(), 2 * n_pairs), values_.data());
    }

    // 2. Gradients at x for GD and ZO(λ→0) runs.
    const std::size_t n_grad = grad_runs_.size();
    if (n_grad > 0) {
      grad_in_.resize(n_grad * d);
      grads_.resize(n_grad * d);
      for (std::size_t r = 0; r < n_grad; ++r)
        std::memcpy(&grad_in_[r * d], &x_[grad_runs_[r] * d], d * sizeof(float));
      objective().gradient(batch(grad_in_.data(), n_grad), grads_.data(), d);
    }

    // 3. Update coefficients, checked against the non-finite policy before anything changes.
    coefficients_.assign(K * max_q(), 0.0f);
    skip_.assign(K, 0);
    for (std::size_t pair = 0; pair < n_pairs; ++pair) {
      const std::size_t k = zo_pairs_[pair].run;
      const RunSpec& s = specs[k];
      const double g = projected_gradient(values_[2 * pair], values_[2 * pair + 1], s.lambda);
      const float c = update_coefficient(g, s.eta, s.q);
      if (!skip_[k] && !(is_finite(g) && is_finite(c))) {
        skip_[k] = reject_non_finite(k, step, "f(x +/- lambda*u)");
      }
      coefficients_[k * max_q() + zo_pairs_[pair].j] = c;
    }
    for (std::size_t r = 0; r < n_grad; ++r) {
      const std::size_t k = grad_runs_[r];
      const RunSpec& s = specs[k];
      const float* g = &grads_[r * d];
      if (s.method == Method::gd) {
        bool finite = true;
        for (std::size_t i = 0; i < d && finite; ++i) finite = is_finite(g[i]);
        if (!finite) skip_[k] = reject_non_finite(k, step, "the gradient");
        continue;
      }
      for (std::uint32_t j = 0; j < s.q; ++j) {  // ZO λ→0: directional derivatives uᵀ∇f
        const float scale = scales_[k * max_q() + j];
        double dot = 0.0;
        float u[4 * kTileBlocks];
        for (std::uint64_t first = 0; first < blocks; first += kTileBlocks) {
          const std::uint64_t count = std::min<std::uint64_t>(kTileBlocks, blocks - first);
          direction_blocks(s.distribution, key(k, step, j), first, count, scale, u);
          const std::uint64_t end = std::min<std::uint64_t>(4 * (first + count), d);
          for (std::uint64_t i = 4 * first; i < end; ++i)  // coordinate order, as before
            dot += static_cast<double>(u[i - 4 * first]) * static_cast<double>(g[i]);
        }
        const float c = update_coefficient(dot, s.eta, s.q);
        if (!skip_[k] && !(is_finite(dot) && is_finite(c)))
          skip_[k] = reject_non_finite(k, step, "the directional derivative");
        coefficients_[k * max_q() + j] = c;
      }
    }

    // 4. Update every run that was not skipped or frozen.
    for (std::size_t r = 0; r < n_grad; ++r) grad_slot_[grad_runs_[r]] = r;
    const auto total = static_cast<std::int64_t>(K * tiles);
    parallel_for(total, K * d >= kMinParallelWork, [&](std::int64_t t) {
      const std::size_t k = static_cast<std::size_t>(t) / tiles;
      const std::uint64_t tile = static_cast<std::uint64_t>(t) % tiles;
      if (statuses()[k].diverged || skip_[k]) return;
      const RunSpec& s = specs[k];
      float* x = &x_[k * d];
      const std::uint64_t first = tile * kTileBlocks;
      const std::uint64_t count = std::min<std::uint64_t>(kTileBlocks, blocks - first);
      const std::uint64_t begin = 4 * first;
      const std::uint64_t end = std::min<std::uint64_t>(begin + 4 * count, d);
      if (s.method == Method::gd) {
        const float* g = &grads_[grad_slot_[k] * d];
        for (std::uint64_t i = begin; i < end; ++i) x[i] = apply_update(x[i], s.eta, g[i]);
        return;
      }
      float tile_u[4 * kTileBlocks];
      for (std::uint32_t j = 0; j < s.q; ++j) {
        const std::size_t pair = pair_of_[k * max_q() + j];
        const float* u = tile_u;
        if (pair != kNoPair) {
          u = &kept_u_[pair * 4 * blocks + 4 * first];
        } else {
          direction_blocks(s.distribution, key(k, step, j), first, count, scales_[k * max_q() + j],
                           tile_u);
        }
        const float c = coefficients_[k * max_q() + j];
        for (std::uint64_t i = begin; i < end; ++i) x[i] = apply_update(x[i], c, u[i - begin]);
      }
    });
  }

  void copy_points(float* x_host) const override {
    std::memcpy(x_host, x_.data(), x_.size() * sizeof(float));
  }

  void set_points(const float* x_host) override {
    std::memcpy(x_.data(), x_host, x_.size() * sizeof(float));
  }

  void measure(double* loss, double* trace, double* metrics) const override {
    measure_host(x_.data(), loss, trace, metrics);
  }

 private:
  struct Pair {
    std::size_t run;
    std::uint32_t j;
  };

  DirectionKey key(std::size_t k, std::uint64_t step, std::uint32_t j) const {
    return DirectionKey{runs()[k].seed, static_cast<std::uint32_t>(step), j};
  }

  std::size_t max_q() const {
    if (max_q_ == 0) {
      for (const auto& s : runs()) max_q_ = std::max<std::size_t>(max_q_, s.q);
    }
    return max_q_;
  }

  PointBatch batch(const float* data, std::size_t count) const {
    return host_points(data, count, dim_);
  }

  std::size_t dim_;
  std::vector<float> x_;
  mutable std::size_t max_q_ = 0;
  // Per-step scratch, kept to avoid reallocation.
  std::vector<Pair> zo_pairs_;
  std::vector<std::size_t> grad_runs_;
  std::vector<float> scales_, points_, grad_in_, grads_, coefficients_;
  std::vector<float> kept_u_;         // this step's directions (pair-major, 4·blocks each)
  std::vector<std::size_t> pair_of_;  // (run, j) → its pair in zo_pairs_ when kept, else kNoPair
  std::vector<double> values_;
  std::vector<char> skip_;
  std::vector<std::size_t> grad_slot_ = std::vector<std::size_t>(runs().size(), 0);
};

}  // namespace

std::unique_ptr<BatchEngine> make_cpu_run_batch(const Objective& objective,
                                                std::vector<RunSpec> runs, const float* x0,
                                                const BatchOptions& options) {
  return std::make_unique<CpuRunBatch>(objective, std::move(runs), x0, options);
}

}  // namespace detail
}  // namespace zo
