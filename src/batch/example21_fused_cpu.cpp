// The fused Example 2.1 engine: its backend-independent part, and its CPU backend (the same
// per-run body as the persistent CUDA kernel, with one lane per run).

#include <algorithm>
#include <chrono>
#include <cstring>
#include <string>

#include "batch/example21_fused_engine.hpp"
#include "core/parallel.hpp"
#include "zo/directions.hpp"
#include "zo/error.hpp"

namespace zo {
namespace detail {

FusedExample21Engine::FusedExample21Engine(const Objective& objective, std::vector<RunSpec> runs,
                                           const BatchOptions& options)
    : BatchEngine(objective, std::move(runs), options),
      d_(static_cast<std::uint32_t>(objective.dim() / 2)) {
  ZO_EXPECTS(objective.metric_names().size() + 2 == kFusedMetrics,
             "internal: the fused engine logs loss, trace and B");
  params_.reserve(this->runs().size());
  for (const RunSpec& s : this->runs()) params_.push_back(describe(s));
}

FusedExample21Engine::~FusedExample21Engine() = default;

void FusedExample21Engine::advance(std::uint64_t steps) { advance_logged(steps, {}, nullptr); }

void FusedExample21Engine::advance_logged(std::uint64_t steps,
                                          const std::vector<std::uint64_t>& log_its,
                                          double* values) {
  auto& status = statuses();
  std::vector<FusedRunState> states(status.size(), FusedRunState{});
  for (std::size_t k = 0; k < status.size(); ++k) {
    states[k].diverged = status[k].diverged ? 1u : 0u;
    states[k].diverged_at = status[k].diverged_at;
  }
  run_fused(steps, log_its, values, states);
  for (std::size_t k = 0; k < status.size(); ++k) {
    status[k].diverged = states[k].diverged != 0;
    status[k].diverged_at = states[k].diverged_at;
  }
  next_step += steps;
}

void FusedExample21Engine::measure(double* loss, double* trace, double* metrics) const {
  std::vector<float> x(runs().size() * objective().dim());
  copy_points(x.data());
  measure_host(x.data(), loss, trace, metrics);
}

namespace {

// One lane per run: pair-blocks 0..nb-1 of a run are all local (G = 1, PB = 128 covers d ≤ 512).
constexpr int kHostPairBlocks = static_cast<int>(kFusedMaxHalfDim / 4);

/// Philox blocks that hold coordinates [0, d + 4·nb) of a direction (the z part of pair-block b
/// reads coordinates d + 4b … d + 4b + 3), for d ≤ kFusedMaxHalfDim.
constexpr std::uint64_t kHostDirectionBlocks = (2 * kFusedMaxHalfDim + 3) / 4 + 1;

/// The directions of one run, a whole direction at a time from the SIMD generator
/// (direction_blocks, bit-identical to direction4), read back per pair-block: the values of
/// GeneratedFusedDirections.
struct HostFusedDirections {
  float u[4 * kHostDirectionBlocks];
  void prepare(Distribution dist, DirectionKey key, std::uint32_t d) {
    const std::uint64_t nb = (d + 3) / 4;
    direction_blocks(dist, key, 0, (d + 4 * nb + 3) / 4, 1.0f, u);
  }
  void pair(Distribution, DirectionKey, std::uint32_t d, std::uint32_t b, Float4* v,
            Float4* w) const {
    std::memcpy(v->v, u + 4 * b, sizeof v->v);
    std::memcpy(w->v, u + d + 4 * b, sizeof w->v);
  }
};

class CpuFusedExample21 final : public FusedExample21Engine {
 public:
  CpuFusedExample21(const Objective& objective, std::vector<RunSpec> runs, const float* x0,
                    const BatchOptions& options)
      : FusedExample21Engine(objective, std::move(runs), options),
        x_(x0, x0 + this->runs().size() * 2 * static_cast<std::size_t>(half_dim())) {}

  Backend backend() const override { return Backend::cpu; }

  void copy_points(float* x_host) const override {
    std::memcpy(x_host, x_.data(), x_.size() * sizeof(float));
  }
  void set_points(const float* x_host) override {
    std::memcpy(x_.data(), x_host, x_.size() * sizeof(float));
  }

 protected:
  void run_fused(std::uint64_t steps, const std::vector<std::uint64_t>& log_its, double* metrics,
                 std::vector<FusedRunState>& states) override {
    const auto start = std::chrono::steady_clock::now();
    const std::size_t K = runs().size();
    const std::uint32_t d = half_dim();
    const std::uint64_t begin = next_step;
    const auto n_log = static_cast<std::uint32_t>(log_its.size());
    const auto count = static_cast<std::int64_t>(K);
    // Runs are independent: any schedule gives the same bits.
#pragma omp parallel for schedule(dynamic, 1) if (K * d * steps >= kMinParallelWork)
    for (std::int64_t k = 0; k < count; ++k) {
      FusedLaneState<kHostPairBlocks> s;
      HostFusedDirections dirs;
      float* x = &x_[static_cast<std::size_t>(k) * 2 * d];
      fused_load<1, kHostPairBlocks>(0, d, x, s);
      fused_run_steps_with<1, kHostPairBlocks>(
          HostLaneGroup{}, dirs, d, params()[k], s, states[k], begin, begin + steps, log_its.data(),
          n_log, metrics ? metrics + k * kFusedMetrics : nullptr, K * kFusedMetrics);
      fused_store<1, kHostPairBlocks>(0, d, s, x);
    }
    last_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }

 private:
  std::vector<float> x_;
};

}  // namespace

std::unique_ptr<BatchEngine> make_cpu_fused_example21(const Objective& objective,
                                                      std::vector<RunSpec> runs, const float* x0,
                                                      const BatchOptions& options) {
  return std::make_unique<CpuFusedExample21>(objective, std::move(runs), x0, options);
}

}  // namespace detail

DirectionThroughput generate_directions(Backend backend, std::size_t runs, std::size_t dim,
                                        std::uint64_t steps, StreamView stream) {
  ZO_EXPECTS(runs >= 1 && dim >= 1, "generate_directions: runs and dim must be at least 1");
  ZO_EXPECTS(steps <= kMaxStep + 1, "generate_directions: steps exceed 2^32-1");
  if (resolve_backend(backend) == Backend::cuda) {
    return detail::cuda_generate_directions(runs, dim, steps, stream);
  }
  const auto start = std::chrono::steady_clock::now();
  const std::uint64_t blocks = (dim + 3) / 4;
  const auto count = static_cast<std::int64_t>(runs);
  std::vector<double> per_run(runs, 0.0);
#pragma omp parallel
  {
    std::vector<float> u(4 * blocks);  // one direction, from the SIMD generator as the CPU loops
#pragma omp for schedule(static)
    for (std::int64_t k = 0; k < count; ++k) {
      double sum = 0.0;
      for (std::uint64_t t = 0; t < steps; ++t) {
        const DirectionKey key{static_cast<std::uint64_t>(k), static_cast<std::uint32_t>(t), 0};
        detail::gaussian_blocks(key, 0, blocks, u.data());
        for (std::uint64_t b = 0; b < blocks; ++b) {
          const float* v = &u[4 * b];
          sum += static_cast<double>((v[0] + v[1]) + (v[2] + v[3]));
        }
      }
      per_run[k] = sum;
    }
  }
  DirectionThroughput out;
  for (double s : per_run) out.checksum += s;
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return out;
}

}  // namespace zo
