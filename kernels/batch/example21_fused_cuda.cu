// Whole runs of Example 2.1 on chip: the persistent kernel of the fused engine, and the
// direction-generation ceiling it is measured against.
//
// Layout: a group of G threads (G = 4, 8, 16 or 32; groups never straddle a warp) owns one run
// and keeps its 2d floats in registers (pair-block p of lane l is b = l + G·p, PB pair-blocks per
// lane) for every step of the launch. The per-step math is zo::detail::fused_run_steps, the same
// function the CPU backend runs with G = 1; reductions follow the canonical 32-virtual-lane order,
// so results do not depend on G and match the CPU bit for bit. Only logged metrics leave the chip.
#include <algorithm>
#include <array>
#include <string>
#include <vector>

#include "batch/example21_fused_engine.hpp"
#include "batch/fused_launch.hpp"
#include "core/cuda_check.cuh"
#include "zo/device.hpp"
#include "zo/error.hpp"

namespace zo {
namespace detail {
namespace {

constexpr int kBlockThreads = kFusedBlockThreads;

/// The G lanes of one run inside a warp: shuffles and votes restricted to the group's mask, so
/// groups of the same warp may take different branches (different methods, diverged runs).
template <int G>
struct WarpGroup {
  int lane_;
  unsigned mask_;
  __device__ int lane() const { return lane_; }
  __device__ double xor_add(double v, int off) const {
    return v + __shfl_xor_sync(mask_, v, off, G);
  }
  __device__ bool any(bool b) const { return __any_sync(mask_, b) != 0; }
};

template <int G, int PB>
__global__ void __launch_bounds__(kBlockThreads)
    fused_example21_kernel(std::uint32_t d, std::uint32_t runs,
                           const RunDescription* __restrict__ params, float* __restrict__ x,
                           FusedRunState* __restrict__ states, std::uint64_t begin,
                           std::uint64_t end, const std::uint64_t* __restrict__ log_its,
                           std::uint32_t n_log, double* __restrict__ metrics) {
  const std::uint64_t thread = static_cast<std::uint64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  const std::uint64_t run = thread / G;
  if (run >= runs) return;  // whole groups exit together (kBlockThreads % G == 0)
  const int lane = static_cast<int>(threadIdx.x % G);
  const unsigned first = (threadIdx.x % 32u) / G * G;
  const unsigned mask = G == 32 ? 0xffffffffu : (((1u << G) - 1u) << first);
  const WarpGroup<G> group{lane, mask};

  float* xr = x + run * 2 * d;
  FusedLaneState<PB> s;
  fused_load<G, PB>(lane, d, xr, s);
  FusedRunState state = states[run];
  const RunDescription p = params[run];
  fused_run_steps<G, PB>(group, d, p, s, state, begin, end, log_its, n_log,
                         metrics ? metrics + run * kFusedMetrics : nullptr,
                         static_cast<std::size_t>(runs) * kFusedMetrics);
  fused_store<G, PB>(lane, d, s, xr);
  if (lane == 0) states[run] = state;
}

/// The ceiling: thread j of the x-grid generates Philox block j % blocks of run j / blocks, for
/// the steps of its y-slice, and sums the coordinates; nothing else. Indices and step bounds are
/// 64-bit (GridStride, slice_steps): runs × blocks and the step count may each approach 2^32.
__global__ void __launch_bounds__(256)
    generate_directions_kernel(std::uint64_t runs_x_blocks, std::uint64_t blocks,
                               std::uint64_t steps, std::uint64_t steps_per_slice,
                               double* __restrict__ out) {
  double sum = 0.0;
  const StepRange range = slice_steps(steps, steps_per_slice, blockIdx.y);
  const GridStride loop{static_cast<std::uint64_t>(blockIdx.x) * blockDim.x + threadIdx.x,
                        static_cast<std::uint64_t>(gridDim.x) * blockDim.x, runs_x_blocks};
  for (std::uint64_t j = loop.first; !loop.done(j); j = loop.next(j)) {
    const std::uint64_t run = j / blocks;
    const std::uint64_t b = j - run * blocks;
    for (std::uint64_t t = range.begin; t < range.end; ++t) {
      const Float4 u = gaussian4(DirectionKey{run, static_cast<std::uint32_t>(t), 0u}, b);
      sum += static_cast<double>((u.v[0] + u.v[1]) + (u.v[2] + u.v[3]));
    }
  }
  for (int off = 16; off >= 1; off /= 2) sum += __shfl_xor_sync(0xffffffffu, sum, off);
  if (threadIdx.x % 32 == 0) atomicAdd(out, sum);
}

/// CUDA events around a region of a stream's work, destroyed without throwing.
class EventTimer {
 public:
  EventTimer() {
    ZO_CUDA_TRY(cudaEventCreate(&start_));
    ZO_CUDA_TRY(cudaEventCreate(&stop_));
  }
  ~EventTimer() {
    ZO_CUDA_TRY_NOTHROW(cudaEventDestroy(start_));
    ZO_CUDA_TRY_NOTHROW(cudaEventDestroy(stop_));
  }
  EventTimer(const EventTimer&) = delete;
  EventTimer& operator=(const EventTimer&) = delete;
  void start(cudaStream_t stream) { ZO_CUDA_TRY(cudaEventRecord(start_, stream)); }
  void stop(cudaStream_t stream) { ZO_CUDA_TRY(cudaEventRecord(stop_, stream)); }
  double seconds() {
    ZO_CUDA_TRY(cudaEventSynchronize(stop_));
    float ms = 0.0f;
    ZO_CUDA_TRY(cudaEventElapsedTime(&ms, start_, stop_));
    return 1e-3 * static_cast<double>(ms);
  }

 private:
  cudaEvent_t start_{}, stop_{};
};

int multiprocessors() {
  int device = 0, sms = 0;
  ZO_CUDA_TRY(cudaGetDevice(&device));
  ZO_CUDA_TRY(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device));
  return sms;
}

/// Warps of fused_example21_kernel<G, PB> resident per SM (the occupancy calculator).
template <int G, int PB>
int resident_warps_with() {
  int blocks = 0;
  ZO_CUDA_TRY(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&blocks, fused_example21_kernel<G, PB>,
                                                            kBlockThreads, 0));
  return blocks * (kBlockThreads / 32);
}

template <int G>
int resident_warps(std::uint32_t d) {
  switch (fused_pair_blocks(d, G)) {
    case 0:
      return 0;
    case 1:
      return resident_warps_with<G, 1>();
    case 2:
      return resident_warps_with<G, 2>();
    default:
      return resident_warps_with<G, 4>();
  }
}

/// Threads per run on this device: choose_fused_group() with this GPU's SM count and the
/// resident warps of each candidate kernel.
int choose_group(std::uint32_t d, std::size_t runs) {
  static_assert(kFusedGroups[0] == 32 && kFusedGroups[1] == 16 && kFusedGroups[2] == 8 &&
                    kFusedGroups[3] == 4,
                "resident_warps() below follows kFusedGroups");
  const std::array<int, 4> resident = {resident_warps<32>(d), resident_warps<16>(d),
                                       resident_warps<8>(d), resident_warps<4>(d)};
  const int g = choose_fused_group(d, runs, multiprocessors(), resident);
  return g == 0 ? 32 : g;
}

/// The fused engine on the GPU. Everything it does is ordered on one stream (BatchOptions::stream,
/// or its own with BatchOptions::own_stream): the uploads, the persistent kernel, the timing
/// events and the downloads; the calls that return host data (run, copy_points) wait for it.
class CudaFusedExample21 final : public FusedExample21Engine {
 public:
  CudaFusedExample21(const Objective& objective, std::vector<RunSpec> runs, const float* x0,
                     const BatchOptions& options)
      : FusedExample21Engine(objective, std::move(runs), options), stream_(batch_stream(options)) {
    const std::size_t K = this->runs().size();
    const std::uint32_t d = half_dim();
    group_ = options.gpu_group ? static_cast<int>(options.gpu_group) : choose_group(d, K);
    pb_ = fused_pair_blocks(d, group_);
    ZO_EXPECTS(pb_ > 0, "fused engine: d = " + std::to_string(d) + " needs more than " +
                            std::to_string(group_) + " GPU threads per run (use gpu_group 32)");
    params_dev_ = DeviceArray<RunDescription>(params(), stream_);  // blocking uploads
    x_ = DeviceArray<float>(x0, K * 2 * d, stream_);
    states_ = DeviceArray<FusedRunState>(K, stream_);
    log_dev_.set_stream(stream_);
    metrics_dev_.set_stream(stream_);
  }

  Backend backend() const override { return Backend::cuda; }
  unsigned gpu_group() const override { return static_cast<unsigned>(group_); }

  void copy_points(float* x_host) const override { x_.copy_to_host(x_host, x_.size()); }
  void set_points(const float* x_host) override { x_.copy_from_host(x_host, x_.size()); }

 protected:
  void run_fused(std::uint64_t steps, const std::vector<std::uint64_t>& log_its, double* metrics,
                 std::vector<FusedRunState>& states) override {
    const std::size_t K = runs().size();
    const auto n_log = static_cast<std::uint32_t>(log_its.size());
    log_dev_.resize(log_its.size());
    metrics_dev_.resize(log_its.size() * K * kFusedMetrics);
    states_.copy_from_host(states.data(), K);  // blocking copies on stream_
    if (n_log > 0) log_dev_.copy_from_host(log_its.data(), n_log);
    const std::uint64_t threads = static_cast<std::uint64_t>(K) * group_;
    const auto blocks = static_cast<unsigned>((threads + kBlockThreads - 1) / kBlockThreads);
    timer_.start(stream());
    launch(blocks, next_step, next_step + steps, n_log);
    timer_.stop(stream());
    last_seconds = timer_.seconds();
    if (n_log > 0) metrics_dev_.copy_to_host(metrics, metrics_dev_.size());
    states_.copy_to_host(states.data(), K);
  }

 private:
  template <int G, int PB>
  void launch_with(unsigned blocks, std::uint64_t begin, std::uint64_t end, std::uint32_t n_log) {
    fused_example21_kernel<G, PB><<<blocks, kBlockThreads, 0, stream()>>>(
        half_dim(), static_cast<std::uint32_t>(runs().size()), params_dev_.data(), x_.data(),
        states_.data(), begin, end, n_log ? log_dev_.data() : nullptr, n_log,
        n_log ? metrics_dev_.data() : nullptr);
    ZO_CUDA_CHECK_LAUNCH();
  }

  template <int G>
  void launch_group(unsigned blocks, std::uint64_t begin, std::uint64_t end, std::uint32_t n_log) {
    switch (pb_) {
      case 1:
        return launch_with<G, 1>(blocks, begin, end, n_log);
      case 2:
        return launch_with<G, 2>(blocks, begin, end, n_log);
      default:
        return launch_with<G, 4>(blocks, begin, end, n_log);
    }
  }

  void launch(unsigned blocks, std::uint64_t begin, std::uint64_t end, std::uint32_t n_log) {
    switch (group_) {
      case 4:
        return launch_group<4>(blocks, begin, end, n_log);
      case 8:
        return launch_group<8>(blocks, begin, end, n_log);
      case 16:
        return launch_group<16>(blocks, begin, end, n_log);
      default:
        return launch_group<32>(blocks, begin, end, n_log);
    }
  }

  cudaStream_t stream() const { return cuda::to_cuda(stream_.view()); }

  Stream stream_;  // declared before the buffers: destroyed after them (they are freed on it)
  int group_ = 32;
  int pb_ = 1;
  DeviceArray<RunDescription> params_dev_;
  DeviceArray<float> x_;
  DeviceArray<FusedRunState> states_;
  DeviceArray<std::uint64_t> log_dev_;
  DeviceArray<double> metrics_dev_;
  EventTimer timer_;
};

}  // namespace

std::unique_ptr<BatchEngine> make_cuda_fused_example21(const Objective& objective,
                                                       std::vector<RunSpec> runs, const float* x0,
                                                       const BatchOptions& options) {
  return std::make_unique<CudaFusedExample21>(objective, std::move(runs), x0, options);
}

DirectionThroughput cuda_generate_directions(std::size_t runs, std::size_t dim, std::uint64_t steps,
                                             StreamView stream) {
  const std::uint64_t blocks = (dim + 3) / 4;
  ZO_EXPECTS(runs * blocks < (1ull << 32) && steps < (1ull << 32),
             "generate_directions: runs x dim/4 and steps must each be below 2^32");
  const std::uint64_t work = static_cast<std::uint64_t>(runs) * blocks;
  // Enough threads to fill the GPU several times over: split the steps into y-slices.
  const std::uint64_t threads_wanted = 8ull * 2048 * static_cast<std::uint64_t>(multiprocessors());
  const std::uint64_t slices = std::max<std::uint64_t>(
      1, std::min<std::uint64_t>(
             {steps, threads_wanted / std::max<std::uint64_t>(work, 1) + 1, 65535}));
  const std::uint64_t per_slice = std::max<std::uint64_t>(1, (steps + slices - 1) / slices);
  const auto slices_used =
      static_cast<unsigned>(steps == 0 ? 1 : (steps + per_slice - 1) / per_slice);
  const unsigned grid_x = static_cast<unsigned>(
      std::max<std::uint64_t>(1, std::min<std::uint64_t>((work + 255) / 256, 65535)));
  DeviceArray<double> sum(1, stream);
  sum.fill_zero();
  EventTimer timer;
  const cudaStream_t s = cuda::to_cuda(stream);
  timer.start(s);
  generate_directions_kernel<<<dim3(grid_x, slices_used), 256, 0, s>>>(work, blocks, steps,
                                                                       per_slice, sum.data());
  ZO_CUDA_CHECK_LAUNCH();
  timer.stop(s);
  DirectionThroughput out;
  out.seconds = timer.seconds();
  sum.copy_to_host(&out.checksum, 1);  // blocking: the result is on the host
  return out;
}

}  // namespace detail
}  // namespace zo
