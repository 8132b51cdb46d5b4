// FusedExample21Batch: validation, backend dispatch, and the CPU backend (the same per-run body
// as the persistent CUDA kernel, with one lane per run).
#include "zo/fused_example21.hpp"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <string>

#include "batch/example21_fused_engine.hpp"
#include "zo/directions.hpp"
#include "zo/error.hpp"

namespace zo {
namespace detail {

FusedExample21Impl::FusedExample21Impl(std::uint32_t d, std::vector<RunSpec> runs)
    : d_(d), runs_(std::move(runs)) {
  params_.reserve(runs_.size());
  for (const RunSpec& s : runs_) {
    FusedRunParams p{};
    p.seed = s.seed;
    p.lambda = s.lambda;
    p.eta = s.eta;
    p.q = s.q;
    p.method = static_cast<std::uint32_t>(s.method);
    p.distribution = static_cast<std::uint32_t>(s.distribution);
    params_.push_back(p);
  }
}

FusedExample21Impl::~FusedExample21Impl() = default;

namespace {

// One lane per run: pair-blocks 0..nb-1 of a run are all local (G = 1, PB = 128 covers d ≤ 512).
constexpr int kHostPairBlocks = static_cast<int>(kFusedMaxHalfDim / 4);

class CpuFusedExample21 final : public FusedExample21Impl {
 public:
  CpuFusedExample21(std::uint32_t d, std::vector<RunSpec> runs, const float* x0)
      : FusedExample21Impl(d, std::move(runs)),
        x_(x0, x0 + this->runs().size() * 2 * static_cast<std::size_t>(d)),
        states_(this->runs().size(), FusedRunState{}) {}

  Backend backend() const override { return Backend::cpu; }
  unsigned group_size() const override { return 1; }

  void run(std::uint64_t steps, const std::vector<std::uint64_t>& log_its,
           double* metrics) override {
    const auto start = std::chrono::steady_clock::now();
    const std::size_t K = runs().size();
    const std::uint32_t d = half_dim();
    const std::uint64_t begin = next_step;
    const auto n_log = static_cast<std::uint32_t>(log_its.size());
    const auto count = static_cast<std::int64_t>(K);
    // Runs are independent: any schedule gives the same bits.
#pragma omp parallel for schedule(dynamic, 1)
    for (std::int64_t k = 0; k < count; ++k) {
      FusedLaneState<kHostPairBlocks> s;
      float* x = &x_[static_cast<std::size_t>(k) * 2 * d];
      fused_load<1, kHostPairBlocks>(0, d, x, s);
      fused_run_steps<1, kHostPairBlocks>(
          HostLaneGroup{}, d, params()[k], s, states_[k], begin, begin + steps, log_its.data(),
          n_log, metrics ? metrics + k * kFusedMetrics : nullptr, K * kFusedMetrics);
      fused_store<1, kHostPairBlocks>(0, d, s, x);
    }
    last_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }

  void copy_points(float* x_host) const override {
    std::memcpy(x_host, x_.data(), x_.size() * sizeof(float));
  }
  void set_points(const float* x_host) override {
    std::memcpy(x_.data(), x_host, x_.size() * sizeof(float));
  }
  std::vector<FusedRunState> states() const override { return states_; }
  void set_states(const std::vector<FusedRunState>& states) override { states_ = states; }

 private:
  std::vector<float> x_;
  std::vector<FusedRunState> states_;
};

}  // namespace

std::unique_ptr<FusedExample21Impl> make_cpu_fused_example21(std::uint32_t d,
                                                             std::vector<RunSpec> runs,
                                                             const float* x0) {
  return std::make_unique<CpuFusedExample21>(d, std::move(runs), x0);
}

}  // namespace detail

FusedExample21Batch::FusedExample21Batch(std::size_t d, std::vector<RunSpec> runs, const float* x0,
                                         Backend backend, unsigned gpu_group) {
  ZO_EXPECTS(!runs.empty(), "FusedExample21Batch needs at least one run");
  ZO_EXPECTS(d >= 1 && d <= detail::kFusedMaxHalfDim,
             "FusedExample21Batch: d must be in [1, 512], got " + std::to_string(d));
  ZO_EXPECTS(x0 != nullptr, "FusedExample21Batch: x0 is null");
  ZO_EXPECTS(
      gpu_group == 0 || gpu_group == 4 || gpu_group == 8 || gpu_group == 16 || gpu_group == 32,
      "FusedExample21Batch: gpu_group must be 0, 4, 8, 16 or 32, got " + std::to_string(gpu_group));
  for (std::size_t k = 0; k < runs.size(); ++k) {
    try {
      validate(runs[k]);
    } catch (const InvalidArgument& e) {
      throw InvalidArgument("run " + std::to_string(k) + ": " + e.what());
    }
    ZO_EXPECTS(runs[k].q <= detail::kFusedMaxQ,
               "run " + std::to_string(k) + ": the fused Example 2.1 path supports q <= 64, got " +
                   std::to_string(runs[k].q));
    ZO_EXPECTS(runs[k].distribution != Distribution::sphere,
               "run " + std::to_string(k) +
                   ": the fused Example 2.1 path supports gaussian and rademacher directions, "
                   "not sphere (use RunBatch)");
  }
  const auto half = static_cast<std::uint32_t>(d);
  impl_ = resolve_backend(backend) == Backend::cuda
              ? detail::make_cuda_fused_example21(half, std::move(runs), x0, gpu_group)
              : detail::make_cpu_fused_example21(half, std::move(runs), x0);
}

FusedExample21Batch::~FusedExample21Batch() = default;
FusedExample21Batch::FusedExample21Batch(FusedExample21Batch&&) noexcept = default;
FusedExample21Batch& FusedExample21Batch::operator=(FusedExample21Batch&&) noexcept = default;

std::size_t FusedExample21Batch::size() const { return impl_->runs().size(); }
std::size_t FusedExample21Batch::dim() const { return 2 * std::size_t{impl_->half_dim()}; }
std::uint64_t FusedExample21Batch::next_step() const { return impl_->next_step; }
Backend FusedExample21Batch::backend() const { return impl_->backend(); }
unsigned FusedExample21Batch::group_size() const { return impl_->group_size(); }
const std::vector<RunSpec>& FusedExample21Batch::runs() const { return impl_->runs(); }
double FusedExample21Batch::last_run_seconds() const { return impl_->last_seconds; }

std::vector<RunStatus> FusedExample21Batch::statuses() const {
  const auto states = impl_->states();
  std::vector<RunStatus> out(states.size());
  for (std::size_t k = 0; k < states.size(); ++k) {
    out[k].diverged = states[k].diverged != 0;
    out[k].diverged_at = states[k].diverged_at;
  }
  return out;
}

void FusedExample21Batch::run(std::uint64_t steps, const std::vector<std::uint64_t>& log_iterations,
                              double* metrics) {
  const std::uint64_t begin = impl_->next_step;
  ZO_EXPECTS(begin + steps <= kMaxStep + 1,
             "step index would exceed 2^32-2: directions are keyed by a 32-bit step");
  for (std::size_t i = 0; i < log_iterations.size(); ++i) {
    const std::uint64_t t = log_iterations[i];
    ZO_EXPECTS(t >= begin && t <= begin + steps,
               "FusedExample21Batch::run: logged iteration " + std::to_string(t) + " is outside [" +
                   std::to_string(begin) + ", " + std::to_string(begin + steps) + "]");
    ZO_EXPECTS(i == 0 || t > log_iterations[i - 1],
               "FusedExample21Batch::run: logged iterations must be sorted and unique");
  }
  ZO_EXPECTS(log_iterations.empty() || metrics != nullptr,
             "FusedExample21Batch::run: metrics is null but iterations are logged");
  impl_->run(steps, log_iterations, metrics);
  impl_->next_step = begin + steps;
}

void FusedExample21Batch::copy_points(float* x_host) const { impl_->copy_points(x_host); }

void FusedExample21Batch::restore(const float* x_host, std::uint64_t next_step,
                                  const std::vector<RunStatus>& status) {
  ZO_EXPECTS(status.size() == size(), "restore: " + std::to_string(status.size()) +
                                          " statuses for " + std::to_string(size()) + " runs");
  ZO_EXPECTS(next_step <= kMaxStep + 1, "restore: step index exceeds 2^32-2");
  std::vector<detail::FusedRunState> states(status.size());
  for (std::size_t k = 0; k < status.size(); ++k) {
    states[k].diverged = status[k].diverged ? 1u : 0u;
    states[k].diverged_at = status[k].diverged_at;
  }
  impl_->set_points(x_host);
  impl_->set_states(states);
  impl_->next_step = next_step;
}

DirectionThroughput generate_directions(Backend backend, std::size_t runs, std::size_t dim,
                                        std::uint64_t steps) {
  ZO_EXPECTS(runs >= 1 && dim >= 1, "generate_directions: runs and dim must be at least 1");
  ZO_EXPECTS(steps <= kMaxStep + 1, "generate_directions: steps exceed 2^32-1");
  if (resolve_backend(backend) == Backend::cuda) {
    return detail::cuda_generate_directions(runs, dim, steps);
  }
  const auto start = std::chrono::steady_clock::now();
  const std::uint64_t blocks = (dim + 3) / 4;
  const auto count = static_cast<std::int64_t>(runs);
  std::vector<double> per_run(runs, 0.0);
#pragma omp parallel for schedule(static)
  for (std::int64_t k = 0; k < count; ++k) {
    double sum = 0.0;
    for (std::uint64_t t = 0; t < steps; ++t) {
      const DirectionKey key{static_cast<std::uint64_t>(k), static_cast<std::uint32_t>(t), 0};
      for (std::uint64_t b = 0; b < blocks; ++b) {
        const Float4 u = gaussian4(key, b);
        sum += static_cast<double>((u.v[0] + u.v[1]) + (u.v[2] + u.v[3]));
      }
    }
    per_run[k] = sum;
  }
  DirectionThroughput out;
  for (double s : per_run) out.checksum += s;
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return out;
}

}  // namespace zo
