// The CUDA backend of RunBatch: K runs × d on the device, with the semantics of the CPU
// reference (src/batch/run_batch_cpu.cpp) and its element-wise bodies (src/batch/step_math.hpp).
//
// One step is a fixed sequence of launches on the batch's stream, whatever K and d are:
//   1. sphere scales of the step's directions (only when some run uses Distribution::sphere);
//   2. the values f(x_k ± λu) of all zo pairs: either the objective's fused kernel (Example 2.1:
//      straight from x and the direction keys), or the perturb kernel writing the 2P points and
//      ONE batched objective call (device memory when the objective accepts it, else through the
//      host); then the coefficient kernel (η·g/q per pair, non-finite check);
//   3. for gd / zo0 runs: ONE batched gradient call, the gd finiteness check and the zo0
//      directional derivatives uᵀ∇f (deterministic reductions);
//   4. ONE update kernel for all K runs, regenerating each u_j (never stored).
// Grids are over (row, 4-coordinate group) with float4 accesses (rows are padded to a multiple of
// 4 floats), so both d = 100 with K in the thousands and large d with small K fill the GPU.
//
// Non-finite values never need a host round trip per step: the kernels record them in device
// memory (a per-run "bad at step t" stamp under skip / mark_diverged, applied by the update kernel;
// for NonFinitePolicy::error the first failing step and the smallest failing run). Once an error
// is recorded, every later update kernel of the batch does nothing, so the iterates stay at the
// start of the failed step; end_run() — once per RunBatch::run() — waits for the stream, copies
// the statuses back and throws the zo::ObjectiveError. The cost: after a failure the remaining
// steps of that run() call are still queued (as no-ops). A host-memory objective already waits
// every step; it checks the record then and stops at once.
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "batch/batch_layout.cuh"
#include "batch/run_batch_engine.hpp"
#include "batch/step_math.hpp"
#include "core/cuda_check.cuh"
#include "core/launch.cuh"
#include "core/point_reduce.cuh"
#include "directions/sphere_scale.cuh"
#include "zo/device.hpp"
#include "zo/direction.hpp"
#include "zo/error.hpp"

namespace zo {
namespace detail {
namespace cuda {
namespace {

constexpr unsigned kThreads = 256;
constexpr unsigned long long kNoError = ~0ull;
constexpr std::uint32_t kPolicyError = static_cast<std::uint32_t>(NonFinitePolicy::error);
constexpr std::uint32_t kPolicySkip = static_cast<std::uint32_t>(NonFinitePolicy::skip);
constexpr std::uint32_t kMethodGd = static_cast<std::uint32_t>(Method::gd);

/// The first non-finite step under NonFinitePolicy::error (all bytes 0xFF: none).
struct ErrorRecord {
  unsigned long long step;  ///< first failing step, kNoError if none
  unsigned int run_zo;      ///< smallest zo run that failed at that step (0xFFFFFFFF: none)
  unsigned int run_grad;    ///< smallest gd / zo0 run that failed at that step
};

/// Per-run status arrays on the device.
struct StatusView {
  std::uint32_t* diverged;
  std::uint64_t* diverged_at;
  std::uint64_t* skipped;
  std::uint64_t* bad_stamp;  ///< step + 1 of the last step at which the run was non-finite
  ErrorRecord* error;
  std::uint32_t policy;
};

__device__ void flag_non_finite(const StatusView& st, std::uint32_t k, std::uint64_t step,
                                bool zo_run) {
  if (st.policy == kPolicyError) {
    const unsigned long long first = st.error->step;
    if (first != kNoError && first != step) return;  // halted at an earlier step already
    st.error->step = step;                           // every writer stores the same value
    atomicMin(zo_run ? &st.error->run_zo : &st.error->run_grad, k);
  } else {
    st.bad_stamp[k] = step + 1;
  }
}

__device__ __forceinline__ double exact_product(float a, float b) {
  return __dmul_rn(static_cast<double>(a), static_cast<double>(b));
}

__device__ __forceinline__ std::uint64_t thread_index() {
  return blockIdx.x * static_cast<std::uint64_t>(blockDim.x) + threadIdx.x;
}

__device__ __forceinline__ std::uint64_t thread_count() {
  return static_cast<std::uint64_t>(gridDim.x) * blockDim.x;
}

/// Rows 2p and 2p + 1 of `points` get x_k + λu and x_k − λu for pair p = (k, j).
__global__ void perturb_kernel(const float* x, std::uint64_t ld, std::uint64_t dim,
                               std::uint64_t pairs, const std::uint32_t* pair_run,
                               const std::uint32_t* pair_dir, const RunParams* runs,
                               const float* scales, std::uint32_t step, float* points) {
  const std::uint64_t groups = ld / 4;
  const std::uint64_t total = pairs * groups;
  for (std::uint64_t t = thread_index(); t < total; t += thread_count()) {
    const std::uint64_t p = t / groups;
    const std::uint64_t g = t % groups;
    const std::uint32_t k = pair_run[p];
    const std::uint32_t j = pair_dir[p];
    const RunParams& run = runs[k];
    const Float4 u = direction4(static_cast<Distribution>(run.distribution),
                                DirectionKey{run.seed, step, j}, g, scales[run.slot_begin + j]);
    const float4 x4 = reinterpret_cast<const float4*>(x + k * ld)[g];
    const float xv[4] = {x4.x, x4.y, x4.z, x4.w};
    float plus[4], minus[4];
#pragma unroll
    for (int l = 0; l < 4; ++l) {
      const bool inside = 4 * g + l < dim;  // padding coordinates stay 0
      plus[l] = inside ? perturb(xv[l], run.lambda, u.v[l]) : 0.0f;
      minus[l] = inside ? perturb(xv[l], -run.lambda, u.v[l]) : 0.0f;
    }
    reinterpret_cast<float4*>(points + (2 * p) * ld)[g] =
        make_float4(plus[0], plus[1], plus[2], plus[3]);
    reinterpret_cast<float4*>(points + (2 * p + 1) * ld)[g] =
        make_float4(minus[0], minus[1], minus[2], minus[3]);
  }
}

/// coef[slot of pair p] = η·g/q with g the two-point projected gradient; flags non-finite runs.
__global__ void coefficient_kernel(std::uint64_t pairs, const std::uint32_t* pair_run,
                                   const std::uint32_t* pair_dir, const RunParams* runs,
                                   const double* values, float* coef, StatusView st,
                                   std::uint64_t step) {
  for (std::uint64_t p = thread_index(); p < pairs; p += thread_count()) {
    const std::uint32_t k = pair_run[p];
    const RunParams& run = runs[k];
    const double g = projected_gradient(values[2 * p], values[2 * p + 1], run.lambda);
    const float c = update_coefficient(g, run.eta, run.q);
    coef[run.slot_begin + pair_dir[p]] = c;
    if (!st.diverged[k] && !(is_finite(g) && is_finite(c))) flag_non_finite(st, k, step, true);
  }
}

/// Row r of `out` = row rows[r] of x (the gradient batch when not every run needs one).
__global__ void gather_rows_kernel(const float* x, std::uint64_t ld, std::uint64_t count,
                                   const std::uint32_t* rows, float* out) {
  const std::uint64_t groups = ld / 4;
  const std::uint64_t total = count * groups;
  for (std::uint64_t t = thread_index(); t < total; t += thread_count()) {
    const std::uint64_t r = t / groups;
    const std::uint64_t g = t % groups;
    reinterpret_cast<float4*>(out + r * ld)[g] =
        reinterpret_cast<const float4*>(x + rows[r] * ld)[g];
  }
}

/// Flags gd runs whose gradient has a non-finite coordinate.
__global__ void gd_check_kernel(const float* grads, std::uint64_t ld, std::uint64_t dim,
                                std::uint64_t count, const std::uint32_t* gd_runs,
                                const RunParams* runs, StatusView st, std::uint64_t step) {
  const std::uint64_t groups = ld / 4;
  const std::uint64_t total = count * groups;
  for (std::uint64_t t = thread_index(); t < total; t += thread_count()) {
    const std::uint32_t k = gd_runs[t / groups];
    const std::uint64_t g = t % groups;
    if (st.diverged[k]) continue;
    const float4 v = reinterpret_cast<const float4*>(grads + runs[k].grad_row * ld)[g];
    const float gv[4] = {v.x, v.y, v.z, v.w};
    bool finite = true;
#pragma unroll
    for (int l = 0; l < 4; ++l) finite = finite && (4 * g + l >= dim || is_finite(gv[l]));
    if (!finite) flag_non_finite(st, k, step, false);
  }
}

/// uᵀ∇f for the zo0 slots (item i = slot zo0_slots[i]), added in the canonical order.
struct DirectionalDerivativeLoader {
  const std::uint32_t* zo0_slots;
  const std::uint32_t* slot_run;
  const std::uint32_t* slot_dir;
  const RunParams* runs;
  const float* scales;
  const float* grads;
  std::uint64_t ld;
  std::uint64_t dim;
  std::uint32_t step;
  __device__ void operator()(std::uint64_t i, std::uint64_t g, double* acc) const {
    const std::uint32_t s = zo0_slots[i];
    const RunParams& run = runs[slot_run[s]];
    const Float4 u = direction4(static_cast<Distribution>(run.distribution),
                                DirectionKey{run.seed, step, slot_dir[s]}, g, scales[s]);
    const float4 v = reinterpret_cast<const float4*>(grads + run.grad_row * ld)[g];
    const float gv[4] = {v.x, v.y, v.z, v.w};
#pragma unroll
    for (int l = 0; l < 4; ++l)
      if (4 * g + l < dim) acc[0] = __dadd_rn(acc[0], exact_product(u.v[l], gv[l]));
  }
};

struct DirectionalDerivativeCoefficient {
  const std::uint32_t* zo0_slots;
  const std::uint32_t* slot_run;
  const RunParams* runs;
  float* coef;
  StatusView st;
  std::uint64_t step;
  __device__ void operator()(std::uint64_t i, const double* dot) const {
    const std::uint32_t s = zo0_slots[i];
    const std::uint32_t k = slot_run[s];
    const RunParams& run = runs[k];
    const float c = update_coefficient(dot[0], run.eta, run.q);
    coef[s] = c;
    if (!st.diverged[k] && !(is_finite(dot[0]) && is_finite(c)))
      flag_non_finite(st, k, step, false);
  }
};

/// The update of every run, one thread per (run, 4-coordinate group): x ← x − c_j·u_j for
/// j = 0 … q−1 (zo, zo0) or x ← x − η·∇f (gd), unless the run is frozen or failed this step.
/// The thread of group 0 applies the non-finite policy to the run's status.
__global__ void update_kernel(float* x, std::uint64_t ld, std::uint64_t dim, std::uint64_t runs_n,
                              const RunParams* runs, const float* scales, const float* coef,
                              const float* grads, StatusView st, std::uint64_t step) {
  if (st.policy == kPolicyError && st.error->step <= step) return;  // no run updated at/after it
  const std::uint64_t groups = ld / 4;
  const std::uint64_t total = runs_n * groups;
  for (std::uint64_t t = thread_index(); t < total; t += thread_count()) {
    const std::uint64_t k = t / groups;
    const std::uint64_t g = t % groups;
    if (st.diverged[k]) continue;
    if (st.policy != kPolicyError && st.bad_stamp[k] == step + 1) {
      if (g == 0) {
        if (st.policy == kPolicySkip) {
          st.skipped[k] += 1;
        } else {
          st.diverged[k] = 1;
          st.diverged_at[k] = step;
        }
      }
      continue;
    }
    const RunParams& run = runs[k];
    float4* x4 = reinterpret_cast<float4*>(x + k * ld) + g;
    const float4 old = *x4;
    float xv[4] = {old.x, old.y, old.z, old.w};
    if (run.method == kMethodGd) {
      const float4 gr = reinterpret_cast<const float4*>(grads + run.grad_row * ld)[g];
      const float gv[4] = {gr.x, gr.y, gr.z, gr.w};
#pragma unroll
      for (int l = 0; l < 4; ++l)
        if (4 * g + l < dim) xv[l] = apply_update(xv[l], run.eta, gv[l]);
    } else {
      const auto dist = static_cast<Distribution>(run.distribution);
      for (std::uint32_t j = 0; j < run.q; ++j) {
        const std::uint32_t s = run.slot_begin + j;
        const Float4 u = direction4(
            dist, DirectionKey{run.seed, static_cast<std::uint32_t>(step), j}, g, scales[s]);
        const float c = coef[s];
#pragma unroll
        for (int l = 0; l < 4; ++l)
          if (4 * g + l < dim) xv[l] = apply_update(xv[l], c, u.v[l]);
      }
    }
    *x4 = make_float4(xv[0], xv[1], xv[2], xv[3]);
  }
}

/// Keys and outputs of the step's sphere scales (item i = slot sphere_slots[i]).
struct SlotKeys {
  const std::uint32_t* sphere_slots;
  const std::uint32_t* slot_run;
  const std::uint32_t* slot_dir;
  const RunParams* runs;
  std::uint32_t step;
  __device__ DirectionKey operator()(std::uint64_t i) const {
    const std::uint32_t s = sphere_slots[i];
    return DirectionKey{runs[slot_run[s]].seed, step, slot_dir[s]};
  }
};

struct SlotScales {
  const std::uint32_t* sphere_slots;
  float* scales;
  __device__ void operator()(std::uint64_t i, float scale) const {
    scales[sphere_slots[i]] = scale;
  }
};

/// Page-locked host memory (for copies that overlap and for the per-step host round trip).
template <typename T>
class PinnedArray {
 public:
  PinnedArray() = default;
  explicit PinnedArray(std::size_t count) : size_(count) {
    if (count > 0) ZO_CUDA_TRY(cudaMallocHost(reinterpret_cast<void**>(&data_), count * sizeof(T)));
  }
  ~PinnedArray() {
    if (data_) ZO_CUDA_TRY_NOTHROW(cudaFreeHost(data_));
  }
  PinnedArray(PinnedArray&& o) noexcept
      : data_(std::exchange(o.data_, nullptr)), size_(std::exchange(o.size_, 0)) {}
  PinnedArray& operator=(PinnedArray&& o) noexcept {
    if (this != &o) {
      if (data_) ZO_CUDA_TRY_NOTHROW(cudaFreeHost(data_));
      data_ = std::exchange(o.data_, nullptr);
      size_ = std::exchange(o.size_, 0);
    }
    return *this;
  }
  T* data() const { return data_; }
  std::size_t size() const { return size_; }

 private:
  T* data_ = nullptr;
  std::size_t size_ = 0;
};

template <typename T>
DeviceArray<T> upload(const std::vector<T>& host, StreamView stream) {
  return host.empty() ? DeviceArray<T>() : DeviceArray<T>(host, stream);
}

class CudaRunBatch final : public BatchEngine {
 public:
  CudaRunBatch(const Objective& objective, std::vector<RunSpec> run_specs, const float* x0,
               const BatchOptions& options)
      : BatchEngine(objective, std::move(run_specs), options),
        stream_(batch_stream(options)),
        dim_(objective.dim()),
        ld_((objective.dim() + 3) / 4 * 4),
        K_(runs().size()) {
    build_layout();
    device_objective_ = objective.accepts(MemorySpace::device);
    fused_ = P_ > 0 && objective.structure() == ObjectiveStructure::example21;

    x_ = DeviceArray<float>(K_ * ld_, stream_.view());
    x_.fill_zero();
    set_points(x0);

    values_ = DeviceArray<double>(2 * P_, stream_.view());
    coef_ = DeviceArray<float>(S_, stream_.view());
    if (!fused_ && P_ > 0) points_ = DeviceArray<float>(2 * P_ * ld_, stream_.view());
    if (n_sphere_ > 0)
      sphere_partials_ = DeviceArray<double>(n_sphere_ * sphere_chunks(dim_), stream_.view());
    if (G_ > 0) {
      grads_ = DeviceArray<float>(G_ * ld_, stream_.view());
      grads_.fill_zero();
      if (G_ < K_) grad_in_ = DeviceArray<float>(G_ * ld_, stream_.view());
    }
    const std::uint64_t zo0_partials =
        reduce_partials<1>(reduce_shape((dim_ + 3) / 4), zo0_slots_.size());
    if (zo0_partials > 0) zo0_partials_ = DeviceArray<double>(zo0_partials, stream_.view());

    diverged_ = DeviceArray<std::uint32_t>(K_, stream_.view());
    diverged_at_ = DeviceArray<std::uint64_t>(K_, stream_.view());
    skipped_ = DeviceArray<std::uint64_t>(K_, stream_.view());
    bad_stamp_ = DeviceArray<std::uint64_t>(K_, stream_.view());
    error_ = DeviceArray<ErrorRecord>(1, stream_.view());
    host_error_ = PinnedArray<ErrorRecord>(1);
    ZO_CUDA_TRY(cudaMemsetAsync(error_.data(), 0xFF, sizeof(ErrorRecord), stream()));
    mirror_.assign(K_, RunStatus{});
    upload_statuses();
    if (!device_objective_) {
      if (P_ > 0) {
        host_points_ = PinnedArray<float>(2 * P_ * dim_);
        host_values_ = PinnedArray<double>(2 * P_);
      }
      if (G_ > 0) {
        host_grad_in_ = PinnedArray<float>(G_ * dim_);
        host_grads_ = PinnedArray<float>(G_ * dim_);
      }
    }
    ZO_CUDA_TRY(cudaStreamSynchronize(stream()));
  }

  Engine kind() const override { return Engine::generic; }
  Backend backend() const override { return Backend::cuda; }

  void begin_run() override {
    bool changed = false;
    for (std::size_t k = 0; k < K_ && !changed; ++k)
      changed = !same_status(statuses()[k], mirror_[k]);
    if (changed) upload_statuses();  // restore() replaced them
    ZO_CUDA_TRY(cudaMemsetAsync(bad_stamp_.data(), 0, K_ * sizeof(std::uint64_t), stream()));
  }

  void end_run() override {
    sync_state();
    if (host_error_.data()->step != kNoError) throw_pending_error();
  }

  void step(std::uint64_t step) override {
    try {
      queue_step(step);
    } catch (const ObjectiveError&) {
      throw;
    } catch (...) {
      // Typically the objective threw. An earlier step may have failed on the device first: that
      // failure is the one to report (its step is earlier and nothing moved after it).
      bool pending = false;
      try {
        sync_state();
        pending = host_error_.data()->step != kNoError;
      } catch (...) {
      }
      if (pending) throw_pending_error();
      throw;
    }
  }

  void copy_points(float* x_host) const override {
    ZO_CUDA_TRY(cudaMemcpy2DAsync(x_host, dim_ * sizeof(float), x_.data(), ld_ * sizeof(float),
                                  dim_ * sizeof(float), K_, cudaMemcpyDeviceToHost, stream()));
    ZO_CUDA_TRY(cudaStreamSynchronize(stream()));
  }

  void set_points(const float* x_host) override {
    ZO_CUDA_TRY(cudaMemcpy2DAsync(x_.data(), ld_ * sizeof(float), x_host, dim_ * sizeof(float),
                                  dim_ * sizeof(float), K_, cudaMemcpyHostToDevice, stream()));
    ZO_CUDA_TRY(cudaStreamSynchronize(stream()));
  }

  void measure(double* loss, double* trace, double* metrics) const override {
    const bool want_metrics = metrics && !objective().metric_names().empty();
    const bool want_trace = trace && objective().has_exact_trace();
    if (trace && !want_trace)
      std::fill(trace, trace + K_, std::numeric_limits<double>::quiet_NaN());
    std::vector<float> host_x;
    const auto host_batch = [&] {
      if (host_x.empty()) {
        host_x.resize(K_ * dim_);
        copy_points(host_x.data());
      }
      return batch(host_x.data(), K_, dim_, MemorySpace::host);
    };
    if (device_objective_ && (loss || want_trace)) {
      if (measure_values_.size() < K_) measure_values_ = DeviceArray<double>(K_, stream_.view());
      const PointBatch all = batch(x_.data(), K_, ld_, MemorySpace::device);
      if (loss) {
        objective().evaluate(all, measure_values_.data());
        measure_values_.copy_to_host(loss, K_);
      }
      if (want_trace) {
        objective().exact_trace(all, measure_values_.data());
        measure_values_.copy_to_host(trace, K_);
      }
    } else {
      if (loss) objective().evaluate(host_batch(), loss);
      if (want_trace) objective().exact_trace(host_batch(), trace);
    }
    if (want_metrics) objective().metrics(host_batch(), metrics);
  }

 private:
  cudaStream_t stream() const { return to_cuda(stream_.view()); }

  PointBatch batch(const float* data, std::size_t count, std::size_t stride,
                   MemorySpace space) const {
    return PointBatch{data, count, dim_, stride, space, stream_.view()};
  }

  static bool same_status(const RunStatus& a, const RunStatus& b) {
    return a.diverged == b.diverged && a.diverged_at == b.diverged_at &&
           a.skipped_steps == b.skipped_steps;
  }

  /// Host-side tables of the layout (batch_layout.cuh), uploaded once.
  void build_layout() {
    const auto& specs = runs();
    std::vector<RunParams> params(K_);
    std::vector<std::uint32_t> pair_run, pair_dir, slot_run, slot_dir, sphere_slots, zo0_slots,
        grad_runs, gd_runs;
    std::uint64_t slots = 0;
    for (std::size_t k = 0; k < K_; ++k) {
      const RunSpec& s = specs[k];
      RunParams& p = params[k];
      static_cast<RunDescription&>(p) = describe(s);
      p.slot_begin = static_cast<std::uint32_t>(slots);
      p.grad_row = kNoRow;
      if (s.method != Method::zo) {
        p.grad_row = static_cast<std::uint32_t>(grad_runs.size());
        grad_runs.push_back(static_cast<std::uint32_t>(k));
      }
      if (s.method == Method::gd) {
        gd_runs.push_back(static_cast<std::uint32_t>(k));
        continue;  // no slots: gd uses neither directions nor coefficients
      }
      for (std::uint32_t j = 0; j < s.q; ++j) {
        const auto slot = static_cast<std::uint32_t>(slots + j);
        slot_run.push_back(static_cast<std::uint32_t>(k));
        slot_dir.push_back(j);
        if (s.distribution == Distribution::sphere) sphere_slots.push_back(slot);
        if (s.method == Method::zo) {
          pair_run.push_back(static_cast<std::uint32_t>(k));
          pair_dir.push_back(j);
        } else {
          zo0_slots.push_back(slot);
        }
      }
      slots += s.q;
      ZO_EXPECTS(slots < kNoRow, "RunBatch (CUDA): more than 2^32 - 2 directions per step");
    }
    P_ = pair_run.size();
    S_ = slots;
    G_ = grad_runs.size();
    n_sphere_ = sphere_slots.size();
    std::vector<float> ones(S_, 1.0f);
    params_ = upload(params, stream_.view());
    pair_run_ = upload(pair_run, stream_.view());
    pair_dir_ = upload(pair_dir, stream_.view());
    slot_run_ = upload(slot_run, stream_.view());
    slot_dir_ = upload(slot_dir, stream_.view());
    sphere_slots_ = upload(sphere_slots, stream_.view());
    zo0_slots_ = upload(zo0_slots, stream_.view());
    grad_runs_ = upload(grad_runs, stream_.view());
    gd_runs_ = upload(gd_runs, stream_.view());
    scales_ = upload(ones, stream_.view());
  }

  StatusView status_view() {
    StatusView st;
    st.diverged = diverged_.data();
    st.diverged_at = diverged_at_.data();
    st.skipped = skipped_.data();
    st.bad_stamp = bad_stamp_.data();
    st.error = error_.data();
    st.policy = static_cast<std::uint32_t>(policy());
    return st;
  }

  void queue_step(std::uint64_t step) {
    const auto t = static_cast<std::uint32_t>(step);
    const StatusView st = status_view();
    if (n_sphere_ > 0) {
      launch_sphere_scales(
          SlotKeys{sphere_slots_.data(), slot_run_.data(), slot_dir_.data(), params_.data(), t},
          SlotScales{sphere_slots_.data(), scales_.data()}, n_sphere_, dim_,
          sphere_partials_.data(), stream());
    }
    if (P_ > 0) {
      pair_values(step);
      coefficient_kernel<<<grid_blocks(P_, kThreads), kThreads, 0, stream()>>>(
          P_, pair_run_.data(), pair_dir_.data(), params_.data(), values_.data(), coef_.data(), st,
          step);
      ZO_CUDA_CHECK_LAUNCH();
    }
    if (G_ > 0) {
      gradients();
      if (!gd_runs_.empty()) {
        gd_check_kernel<<<grid_blocks(gd_runs_.size() * (ld_ / 4), kThreads), kThreads, 0,
                          stream()>>>(grads_.data(), ld_, dim_, gd_runs_.size(), gd_runs_.data(),
                                      params_.data(), st, step);
        ZO_CUDA_CHECK_LAUNCH();
      }
      if (!zo0_slots_.empty()) {
        launch_reduce<1>(reduce_shape((dim_ + 3) / 4), zo0_slots_.size(),
                         DirectionalDerivativeLoader{zo0_slots_.data(), slot_run_.data(),
                                                     slot_dir_.data(), params_.data(),
                                                     scales_.data(), grads_.data(), ld_, dim_, t},
                         DirectionalDerivativeCoefficient{zo0_slots_.data(), slot_run_.data(),
                                                          params_.data(), coef_.data(), st, step},
                         zo0_partials_.data(), stream());
      }
    }
    update_kernel<<<grid_blocks(K_ * (ld_ / 4), kThreads), kThreads, 0, stream()>>>(
        x_.data(), ld_, dim_, K_, params_.data(), scales_.data(), coef_.data(), grads_.data(), st,
        step);
    ZO_CUDA_CHECK_LAUNCH();
  }

  /// values_[2p], values_[2p + 1] = f(x_k ± λu) for every zo pair.
  void pair_values(std::uint64_t step) {
    const auto t = static_cast<std::uint32_t>(step);
    if (fused_) {
      PerturbedPairs pp;
      pp.x = x_.data();
      pp.ld = ld_;
      pp.dim = dim_;
      pp.pairs = P_;
      pp.pair_run = pair_run_.data();
      pp.pair_dir = pair_dir_.data();
      pp.runs = params_.data();
      pp.scales = scales_.data();
      pp.step = t;
      evaluate_fused_pairs(objective(), pp, values_.data(), stream());
      return;
    }
    perturb_kernel<<<grid_blocks(P_ * (ld_ / 4), kThreads), kThreads, 0, stream()>>>(
        x_.data(), ld_, dim_, P_, pair_run_.data(), pair_dir_.data(), params_.data(),
        scales_.data(), t, points_.data());
    ZO_CUDA_CHECK_LAUNCH();
    if (device_objective_) {
      objective().evaluate(batch(points_.data(), 2 * P_, ld_, MemorySpace::device), values_.data());
      return;
    }
    ZO_CUDA_TRY(cudaMemcpy2DAsync(host_points_.data(), dim_ * sizeof(float), points_.data(),
                                  ld_ * sizeof(float), dim_ * sizeof(float), 2 * P_,
                                  cudaMemcpyDeviceToHost, stream()));
    wait_and_check();
    objective().evaluate(batch(host_points_.data(), 2 * P_, dim_, MemorySpace::host),
                         host_values_.data());
    ZO_CUDA_TRY(cudaMemcpyAsync(values_.data(), host_values_.data(), 2 * P_ * sizeof(double),
                                cudaMemcpyHostToDevice, stream()));
  }

  /// grads_ row r = ∇f at the iterate of gradient run r.
  void gradients() {
    const float* in = x_.data();
    if (G_ < K_) {
      gather_rows_kernel<<<grid_blocks(G_ * (ld_ / 4), kThreads), kThreads, 0, stream()>>>(
          x_.data(), ld_, G_, grad_runs_.data(), grad_in_.data());
      ZO_CUDA_CHECK_LAUNCH();
      in = grad_in_.data();
    }
    if (device_objective_) {
      objective().gradient(batch(in, G_, ld_, MemorySpace::device), grads_.data(), ld_);
      return;
    }
    ZO_CUDA_TRY(cudaMemcpy2DAsync(host_grad_in_.data(), dim_ * sizeof(float), in,
                                  ld_ * sizeof(float), dim_ * sizeof(float), G_,
                                  cudaMemcpyDeviceToHost, stream()));
    wait_and_check();
    objective().gradient(batch(host_grad_in_.data(), G_, dim_, MemorySpace::host),
                         host_grads_.data(), dim_);
    ZO_CUDA_TRY(cudaMemcpy2DAsync(grads_.data(), ld_ * sizeof(float), host_grads_.data(),
                                  dim_ * sizeof(float), dim_ * sizeof(float), G_,
                                  cudaMemcpyHostToDevice, stream()));
  }

  /// Waits for the stream (the host needs the points anyway) and stops at once if an earlier
  /// step failed under NonFinitePolicy::error.
  void wait_and_check() {
    ZO_CUDA_TRY(cudaMemcpyAsync(host_error_.data(), error_.data(), sizeof(ErrorRecord),
                                cudaMemcpyDeviceToHost, stream()));
    ZO_CUDA_TRY(cudaStreamSynchronize(stream()));
    if (host_error_.data()->step != kNoError) {
      sync_state();
      throw_pending_error();
    }
  }

  void upload_statuses() {
    std::vector<std::uint32_t> diverged(K_);
    std::vector<std::uint64_t> at(K_), skipped(K_);
    for (std::size_t k = 0; k < K_; ++k) {
      diverged[k] = statuses()[k].diverged ? 1u : 0u;
      at[k] = statuses()[k].diverged_at;
      skipped[k] = statuses()[k].skipped_steps;
    }
    diverged_.copy_from_host(diverged.data(), K_);
    diverged_at_.copy_from_host(at.data(), K_);
    skipped_.copy_from_host(skipped.data(), K_);
    mirror_ = statuses();
  }

  /// Waits for the stream; copies the error record and (when the policy changes them) the
  /// statuses back to the host.
  void sync_state() {
    ZO_CUDA_TRY(cudaMemcpyAsync(host_error_.data(), error_.data(), sizeof(ErrorRecord),
                                cudaMemcpyDeviceToHost, stream()));
    ZO_CUDA_TRY(cudaStreamSynchronize(stream()));
    if (policy() == NonFinitePolicy::error) return;  // statuses never change on the device
    std::vector<std::uint32_t> diverged(K_);
    std::vector<std::uint64_t> at(K_), skipped(K_);
    diverged_.copy_to_host(diverged.data(), K_);
    diverged_at_.copy_to_host(at.data(), K_);
    skipped_.copy_to_host(skipped.data(), K_);
    for (std::size_t k = 0; k < K_; ++k) {
      statuses()[k].diverged = diverged[k] != 0;
      statuses()[k].diverged_at = at[k];
      statuses()[k].skipped_steps = skipped[k];
    }
    mirror_ = statuses();
  }

  /// Throws the ObjectiveError recorded on the device (host_error_ is current): the batch is at
  /// the start of the failed step, which becomes next_step. The record is cleared, so run() can
  /// be called again (and fails again at the same step, as on the CPU).
  [[noreturn]] void throw_pending_error() {
    const ErrorRecord e = *host_error_.data();
    next_step = e.step;
    ZO_CUDA_TRY(cudaMemsetAsync(error_.data(), 0xFF, sizeof(ErrorRecord), stream()));
    ZO_CUDA_TRY(cudaStreamSynchronize(stream()));
    const bool zo_run = e.run_zo != 0xFFFFFFFFu;
    const std::size_t k = zo_run ? e.run_zo : e.run_grad;
    const char* what = zo_run                           ? "f(x +/- lambda*u)"
                       : runs()[k].method == Method::gd ? "the gradient"
                                                        : "the directional derivative";
    reject_non_finite(k, e.step, what);  // throws under NonFinitePolicy::error
    ZO_FAIL(Error, "RunBatch (CUDA): inconsistent non-finite record");
  }

  Stream stream_;  // declared first: destroyed after every buffer that uses it
  std::size_t dim_, ld_, K_;
  std::size_t P_ = 0, S_ = 0, G_ = 0, n_sphere_ = 0;
  bool device_objective_ = false;
  bool fused_ = false;
  DeviceArray<RunParams> params_;
  DeviceArray<std::uint32_t> pair_run_, pair_dir_, slot_run_, slot_dir_, sphere_slots_, zo0_slots_,
      grad_runs_, gd_runs_;
  DeviceArray<float> x_, points_, scales_, coef_, grad_in_, grads_;
  DeviceArray<double> values_, sphere_partials_, zo0_partials_;
  mutable DeviceArray<double> measure_values_;
  DeviceArray<std::uint32_t> diverged_;
  DeviceArray<std::uint64_t> diverged_at_, skipped_, bad_stamp_;
  DeviceArray<ErrorRecord> error_;
  PinnedArray<ErrorRecord> host_error_;
  PinnedArray<float> host_points_, host_grad_in_, host_grads_;
  PinnedArray<double> host_values_;
  std::vector<RunStatus> mirror_;  // the statuses as last copied to / from the device
};

}  // namespace
}  // namespace cuda

std::unique_ptr<BatchEngine> make_cuda_run_batch(const Objective& objective,
                                                 std::vector<RunSpec> runs, const float* x0,
                                                 const BatchOptions& options) {
  return std::make_unique<cuda::CudaRunBatch>(objective, std::move(runs), x0, options);
}

}  // namespace detail
}  // namespace zo
