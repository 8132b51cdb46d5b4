// The CUDA kernels of LinearModel: margins M = A·X by cuBLAS SGEMM (dense data) or cuSPARSE SpMM
// (CSR data, never densified), then fused per-point reductions of the loss terms of
// src/objectives/linear_loss_math.hpp in double.
//
// Reduction order (deterministic, independent of the number of points and of their position in
// the batch): rows are cut into chunks of kChunkRows; in a chunk, thread t of a kThreads-thread
// block adds the rows i ≡ t (mod kThreads) in increasing order; the block combines its threads by
// the fixed shared-memory tree s[t] += s[t + off], off = kThreads/2 … 1; the chunk sums of a point
// are added in chunk order. Aᵀr products use cuBLAS SGEMM or SpMM with the stored transpose
// (CSR of Aᵀ), so no atomics are involved. cuBLAS/cuSPARSE results are bit-reproducible for a
// given GPU architecture and library version.
//
// Memory and ordering: device batches are used in place and all work is ordered on the batch's
// stream; calls on different streams are serialised by an event. Host batches are staged through
// device buffers and the call returns when the results are in host memory.
#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cusparse.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/cuda_check.cuh"
#include "objectives/linear_loss_math.hpp"
#include "objectives/linear_model_engine.hpp"
#include "zo/backend.hpp"  // log_line, used by ZO_CUDA_TRY_NOTHROW
#include "zo/device.hpp"
#include "zo/error.hpp"

#define ZO_CUBLAS_TRY(call)                                                            \
  do {                                                                                 \
    const cublasStatus_t zo_cublas_status_ = (call);                                   \
    if (zo_cublas_status_ != CUBLAS_STATUS_SUCCESS) {                                  \
      throw ::zo::CudaError(::zo::detail::located_message(                             \
          __FILE__, __LINE__,                                                          \
          std::string(#call) + " failed: " + cublasGetStatusName(zo_cublas_status_))); \
    }                                                                                  \
  } while (0)

#define ZO_CUSPARSE_TRY(call)                                                             \
  do {                                                                                    \
    const cusparseStatus_t zo_cusparse_status_ = (call);                                  \
    if (zo_cusparse_status_ != CUSPARSE_STATUS_SUCCESS) {                                 \
      throw ::zo::CudaError(::zo::detail::located_message(                                \
          __FILE__, __LINE__,                                                             \
          std::string(#call) + " failed: " + cusparseGetErrorName(zo_cusparse_status_))); \
    }                                                                                     \
  } while (0)

namespace zo {
namespace detail {
namespace cuda {
namespace {

constexpr unsigned kThreads = 256;
constexpr std::size_t kChunkRows = 2048;
constexpr std::size_t kMaxMarginFloats = std::size_t{1} << 27;  // 512 MiB of margins per chunk

/// A zo::DeviceArray that only grows and does not keep its contents when it does: the data of the
/// model (uploaded once) and the scratch of the calls. Scratch follows the stream of the current
/// call (set_stream in Call), so its growth is ordered after the previous call's work.
template <class T>
class GrowOnly {
 public:
  /// Ensures room for n elements on the array's stream (contents are not kept when it grows).
  T* reserve(std::size_t n) {
    if (n > array_.capacity()) {
      array_.reset();
      array_.reserve(n);
    }
    return array_.data();
  }
  /// Allocates and uploads `host` on the array's stream (blocking).
  void upload(const T* host, std::size_t n) {
    reserve(n);
    array_.resize(n);
    array_.copy_from_host(host, n);
  }
  T* get() const { return const_cast<T*>(array_.data()); }
  void set_stream(StreamView stream) noexcept { array_.set_stream(stream); }

 private:
  DeviceArray<T> array_;
};

__device__ __forceinline__ void block_sum3(double v[3], double* shared) {
  // shared: 3 × kThreads doubles. Fixed tree: every result is independent of timing.
  for (int c = 0; c < 3; ++c) shared[c * kThreads + threadIdx.x] = v[c];
  __syncthreads();
  for (unsigned off = kThreads / 2; off > 0; off /= 2) {
    if (threadIdx.x < off) {
      for (int c = 0; c < 3; ++c)
        shared[c * kThreads + threadIdx.x] =
            __dadd_rn(shared[c * kThreads + threadIdx.x], shared[c * kThreads + threadIdx.x + off]);
    }
    __syncthreads();
  }
  for (int c = 0; c < 3; ++c) v[c] = shared[c * kThreads];
}

/// partials[(p · chunks + chunk) · 3 + {0,1,2}] = chunk sums of loss, ℓ''‖φ‖², correct.
__global__ void __launch_bounds__(kThreads)
    reduce_chunks_kernel(int loss_kind, const float* __restrict__ m, std::size_t ldm, std::size_t n,
                         const float* __restrict__ labels, const double* __restrict__ row_norm2,
                         std::size_t chunks, double* __restrict__ partials) {
  __shared__ double shared[3 * kThreads];
  const std::size_t p = blockIdx.x;
  const std::size_t chunk = blockIdx.y;
  const std::size_t begin = chunk * kChunkRows;
  const std::size_t end = begin + kChunkRows < n ? begin + kChunkRows : n;
  const float* mp = m + p * ldm;
  double acc[3] = {0.0, 0.0, 0.0};
  for (std::size_t i = begin + threadIdx.x; i < end; i += kThreads) {
    const double mi = mp[i];
    const double b = labels[i];
    const LossTerms t = linear_loss_terms(loss_kind, mi, b);
    acc[0] = __dadd_rn(acc[0], t.value);
    acc[1] = __dadd_rn(acc[1], __dmul_rn(t.d2, row_norm2[i]));
    acc[2] = __dadd_rn(acc[2], correct_prediction(mi, b));
  }
  block_sum3(acc, shared);
  if (threadIdx.x == 0) {
    double* out = partials + (p * chunks + chunk) * 3;
    out[0] = acc[0];
    out[1] = acc[1];
    out[2] = acc[2];
  }
}

/// out_c[p] = (Σ_chunk partials[p][chunk][c]) / n for the outputs that are not null.
__global__ void reduce_finish_kernel(const double* __restrict__ partials, std::size_t chunks,
                                     std::size_t count, double n, double* loss, double* trace,
                                     double* accuracy) {
  for (std::size_t p = blockIdx.x * static_cast<std::size_t>(blockDim.x) + threadIdx.x; p < count;
       p += static_cast<std::size_t>(gridDim.x) * blockDim.x) {
    double s[3] = {0.0, 0.0, 0.0};
    for (std::size_t c = 0; c < chunks; ++c)
      for (int k = 0; k < 3; ++k) s[k] = __dadd_rn(s[k], partials[(p * chunks + c) * 3 + k]);
    if (loss) loss[p] = __ddiv_rn(s[0], n);
    if (trace) trace[p] = __ddiv_rn(s[1], n);
    if (accuracy) accuracy[p] = __ddiv_rn(s[2], n);
  }
}

/// r[p·n + i] = ℓ'(m) (order 1) or ℓ''(m)·w (order 2), as floats for the Aᵀr product.
__global__ void derivative_kernel(int loss_kind, int order, const float* __restrict__ m,
                                  const float* __restrict__ w, std::size_t n, std::size_t count,
                                  const float* __restrict__ labels, float* __restrict__ r) {
  const std::size_t total = n * count;
  for (std::size_t k = blockIdx.x * static_cast<std::size_t>(blockDim.x) + threadIdx.x; k < total;
       k += static_cast<std::size_t>(gridDim.x) * blockDim.x) {
    const std::size_t i = k % n;
    const LossTerms t = linear_loss_terms(loss_kind, m[k], labels[i]);
    r[k] = order == 1 ? static_cast<float>(t.d1) : static_cast<float>(__dmul_rn(t.d2, w[k]));
  }
}

/// Chunk sums of ℓ(m_x ± λ_l m_u) for items (p, l): partials[((p·L + l)·chunks + chunk)·2 + s].
/// m holds the x margins in columns [0, count) and the u margins in [count, 2·count).
__global__ void __launch_bounds__(kThreads)
    along_chunks_kernel(int loss_kind, const float* __restrict__ m, std::size_t n,
                        std::size_t count, const float* __restrict__ lambdas, std::size_t n_lambda,
                        const float* __restrict__ labels, std::size_t chunks,
                        double* __restrict__ partials) {
  __shared__ double shared[3 * kThreads];
  const std::size_t item = blockIdx.x;  // p · n_lambda + l
  const std::size_t chunk = blockIdx.y;
  const std::size_t p = item / n_lambda;
  const double lambda = lambdas[item % n_lambda];
  const std::size_t begin = chunk * kChunkRows;
  const std::size_t end = begin + kChunkRows < n ? begin + kChunkRows : n;
  const float* mx = m + p * n;
  const float* mu = m + (count + p) * n;
  double acc[3] = {0.0, 0.0, 0.0};
  for (std::size_t i = begin + threadIdx.x; i < end; i += kThreads) {
    const double a = mx[i];
    const double s = __dmul_rn(lambda, static_cast<double>(mu[i]));
    const double b = labels[i];
    acc[0] = __dadd_rn(acc[0], linear_loss_terms(loss_kind, __dadd_rn(a, s), b).value);
    acc[1] = __dadd_rn(acc[1], linear_loss_terms(loss_kind, __dsub_rn(a, s), b).value);
  }
  block_sum3(acc, shared);
  if (threadIdx.x == 0) {
    double* out = partials + (item * chunks + chunk) * 2;
    out[0] = acc[0];
    out[1] = acc[1];
  }
}

__global__ void along_finish_kernel(const double* __restrict__ partials, std::size_t chunks,
                                    std::size_t items, double n, double* plus, double* minus) {
  for (std::size_t item = blockIdx.x * static_cast<std::size_t>(blockDim.x) + threadIdx.x;
       item < items; item += static_cast<std::size_t>(gridDim.x) * blockDim.x) {
    double s0 = 0.0, s1 = 0.0;
    for (std::size_t c = 0; c < chunks; ++c) {
      s0 = __dadd_rn(s0, partials[(item * chunks + c) * 2]);
      s1 = __dadd_rn(s1, partials[(item * chunks + c) * 2 + 1]);
    }
    plus[item] = __ddiv_rn(s0, n);
    minus[item] = __ddiv_rn(s1, n);
  }
}

unsigned blocks_for(std::size_t work) {
  const std::size_t b = (work + kThreads - 1) / kThreads;
  return static_cast<unsigned>(std::min<std::size_t>(std::max<std::size_t>(b, 1), 1u << 20));
}

/// A device batch (`x`): `ptr`, which the call reads or writes on the device, must be device
/// memory of the current device (zo::InvalidArgument naming `what` otherwise). Host batches are
/// staged, so their pointers are host memory by definition.
void require_device_memory(const PointBatch& x, const void* ptr, const char* what) {
  if (x.space != MemorySpace::device || x.count == 0) return;
  require_device_pointer(ptr, std::string("LinearModel on device memory: ") + what);
}

int checked_int(std::size_t v, const char* what) {
  if (v > static_cast<std::size_t>(std::numeric_limits<int>::max()))
    ZO_FAIL(InvalidArgument, std::string("linear model on the GPU: ") + what + " (" +
                                 std::to_string(v) + ") exceeds 2^31-1");
  return static_cast<int>(v);
}

class CudaLinearKernels final : public LinearSplitKernels {
 public:
  explicit CudaLinearKernels(std::shared_ptr<const LinearSplitData> split)
      : split_(std::move(split)) {
    n_ = split_->rows;
    d_ = split_->cols;
    checked_int(n_, "the number of samples");
    checked_int(d_, "the number of features");
    if (n_ > kChunkRows * 65535)
      ZO_FAIL(InvalidArgument, "linear model on the GPU: more than " +
                                   std::to_string(kChunkRows * 65535) + " samples");
    labels_.upload(split_->data->labels.data(), n_);
    row_norm2_.upload(split_->row_norm2.data(), n_);
    ZO_CUBLAS_TRY(cublasCreate(&cublas_));
    ZO_CUBLAS_TRY(cublasSetMathMode(cublas_, CUBLAS_DEFAULT_MATH));  // FP32, no TF32
    ZO_CUDA_TRY(cudaEventCreateWithFlags(&done_, cudaEventDisableTiming));
    if (const auto* csr = std::get_if<CsrMatrix>(&split_->data->features)) {
      ZO_CUSPARSE_TRY(cusparseCreate(&cusparse_));
      upload_csr(*csr, &a_);
      upload_csr(split_->transposed, &at_);
    } else {
      const auto& dense = std::get<DenseMatrix>(split_->data->features);
      dense_.upload(dense.values.data(), dense.values.size());
    }
  }

  ~CudaLinearKernels() override {
    // The scratch is freed on the legacy default stream after the last call's work (the stream
    // of that call may be gone by now); the data was allocated there.
    if (done_) ZO_CUDA_TRY_NOTHROW(cudaStreamWaitEvent(cudaStreamLegacy, done_, 0));
    set_scratch_stream(StreamView());
    for (Csr* c : {&a_, &at_})
      if (c->descr) cusparseDestroySpMat(c->descr);
    if (cusparse_) cusparseDestroy(cusparse_);
    if (cublas_) cublasDestroy(cublas_);
    if (done_) ZO_CUDA_TRY_NOTHROW(cudaEventDestroy(done_));
  }

  void reduce(int loss_kind, const PointBatch& x, const LinearReduceOut& out) const override {
    require_device_memory(x, x.data, "the points");
    require_device_memory(x, out.loss, "the loss output");
    require_device_memory(x, out.trace, "the trace output");
    require_device_memory(x, out.accuracy, "the accuracy output");
    std::lock_guard<std::mutex> lock(mutex_);
    Call call(*this, x.stream, x.space == MemorySpace::host);
    const std::size_t chunks = (n_ + kChunkRows - 1) / kChunkRows;
    for_point_chunks(x.count, 1, [&](std::size_t p0, std::size_t pc) {
      const float* m = product(x, p0, pc, call, margins_.reserve(n_ * pc), false);
      double* partials = partials_.reserve(pc * chunks * 3);
      reduce_chunks_kernel<<<dim3(static_cast<unsigned>(pc), static_cast<unsigned>(chunks)),
                             kThreads, 0, call.stream>>>(loss_kind, m, n_, n_, labels_.get(),
                                                         row_norm2_.get(), chunks, partials);
      ZO_CUDA_CHECK_LAUNCH();
      double* results = call.host ? results_.reserve(3 * pc) : nullptr;
      double* loss = out.loss ? (call.host ? results : out.loss + p0) : nullptr;
      double* trace = out.trace ? (call.host ? results + pc : out.trace + p0) : nullptr;
      double* acc = out.accuracy ? (call.host ? results + 2 * pc : out.accuracy + p0) : nullptr;
      reduce_finish_kernel<<<blocks_for(pc), kThreads, 0, call.stream>>>(
          partials, chunks, pc, static_cast<double>(n_), loss, trace, acc);
      ZO_CUDA_CHECK_LAUNCH();
      if (call.host) {
        std::vector<double> host(3 * pc);
        ZO_CUDA_TRY(cudaMemcpyAsync(host.data(), results, 3 * pc * sizeof(double),
                                    cudaMemcpyDeviceToHost, call.stream));
        ZO_CUDA_TRY(cudaStreamSynchronize(call.stream));
        for (std::size_t q = 0; q < pc; ++q) {
          if (out.loss) out.loss[p0 + q] = host[q];
          if (out.trace) out.trace[p0 + q] = host[pc + q];
          if (out.accuracy) out.accuracy[p0 + q] = host[2 * pc + q];
        }
      }
    });
  }

  void gradient(int loss_kind, const PointBatch& x, float* grads,
                std::size_t stride) const override {
    require_device_memory(x, x.data, "the points");
    require_device_memory(x, grads, "the gradient output");
    std::lock_guard<std::mutex> lock(mutex_);
    Call call(*this, x.stream, x.space == MemorySpace::host);
    for_point_chunks(x.count, 2, [&](std::size_t p0, std::size_t pc) {
      float* m = margins_.reserve(2 * n_ * pc);
      product(x, p0, pc, call, m, false);
      float* r = m + n_ * pc;
      derivative_kernel<<<blocks_for(n_ * pc), kThreads, 0, call.stream>>>(
          loss_kind, 1, m, nullptr, n_, pc, labels_.get(), r);
      ZO_CUDA_CHECK_LAUNCH();
      transposed_product(r, pc, call, grads + p0 * stride, stride);
    });
  }

  void hvp(int loss_kind, const PointBatch& x, const PointBatch& v, float* out,
           std::size_t stride) const override {
    require_device_memory(x, x.data, "the points");
    require_device_memory(v, v.data, "the vectors v");
    require_device_memory(x, out, "the Hessian-vector output");
    std::lock_guard<std::mutex> lock(mutex_);
    Call call(*this, x.stream, x.space == MemorySpace::host);
    for_point_chunks(x.count, 3, [&](std::size_t p0, std::size_t pc) {
      float* m = margins_.reserve(3 * n_ * pc);
      product(x, p0, pc, call, m, false);
      product(v, p0, pc, call, m + n_ * pc, true);
      float* r = m + 2 * n_ * pc;
      derivative_kernel<<<blocks_for(n_ * pc), kThreads, 0, call.stream>>>(
          loss_kind, 2, m, m + n_ * pc, n_, pc, labels_.get(), r);
      ZO_CUDA_CHECK_LAUNCH();
      transposed_product(r, pc, call, out + p0 * stride, stride);
    });
  }

  void margins(const PointBatch& x, double* out) const override {
    require_device_memory(x, x.data, "the points");
    std::lock_guard<std::mutex> lock(mutex_);
    Call call(*this, x.stream, true);
    for_point_chunks(x.count, 1, [&](std::size_t p0, std::size_t pc) {
      const float* m = product(x, p0, pc, call, margins_.reserve(n_ * pc), false);
      std::vector<float> host(n_ * pc);
      ZO_CUDA_TRY(cudaMemcpyAsync(host.data(), m, host.size() * sizeof(float),
                                  cudaMemcpyDeviceToHost, call.stream));
      ZO_CUDA_TRY(cudaStreamSynchronize(call.stream));
      std::copy(host.begin(), host.end(), out + p0 * n_);
    });
  }

  void evaluate_along(int loss_kind, const PointBatch& x, const PointBatch& u, const float* lambdas,
                      std::size_t n_lambda, double* plus, double* minus) const override {
    require_device_memory(x, x.data, "the points");
    require_device_memory(u, u.data, "the directions u");
    require_device_memory(x, plus, "the f(x + lambda u) output");
    require_device_memory(x, minus, "the f(x - lambda u) output");
    std::lock_guard<std::mutex> lock(mutex_);
    Call call(*this, x.stream, x.space == MemorySpace::host);
    const std::size_t chunks = (n_ + kChunkRows - 1) / kChunkRows;
    checked_int(n_lambda, "the number of lambda values");
    float* d_lambdas = lambdas_.reserve(n_lambda);
    ZO_CUDA_TRY(cudaMemcpyAsync(d_lambdas, lambdas, n_lambda * sizeof(float),
                                cudaMemcpyHostToDevice, call.stream));
    for_point_chunks(x.count, 2, [&](std::size_t p0, std::size_t pc) {
      // One product of the data with the 2·pc columns [x_p, u_p].
      float* stacked = stacked_.reserve(2 * pc * d_);
      stage(x, p0, pc, stacked, d_, call.stream);
      stage(u, p0, pc, stacked + pc * d_, d_, call.stream);
      PointBatch both;
      both.data = stacked;
      both.count = 2 * pc;
      both.dim = d_;
      both.stride = d_;
      both.space = MemorySpace::device;
      const float* m = product(both, 0, 2 * pc, call, margins_.reserve(2 * n_ * pc), false);
      const std::size_t items = pc * n_lambda;
      double* partials = partials_.reserve(items * chunks * 2);
      along_chunks_kernel<<<dim3(static_cast<unsigned>(checked_int(items, "points x lambdas")),
                                 static_cast<unsigned>(chunks)),
                            kThreads, 0, call.stream>>>(loss_kind, m, n_, pc, d_lambdas, n_lambda,
                                                        labels_.get(), chunks, partials);
      ZO_CUDA_CHECK_LAUNCH();
      double* out = call.host ? results_.reserve(2 * items) : nullptr;
      double* p_out = call.host ? out : plus + p0 * n_lambda;
      double* m_out = call.host ? out + items : minus + p0 * n_lambda;
      along_finish_kernel<<<blocks_for(items), kThreads, 0, call.stream>>>(
          partials, chunks, items, static_cast<double>(n_), p_out, m_out);
      ZO_CUDA_CHECK_LAUNCH();
      if (call.host) {
        ZO_CUDA_TRY(cudaMemcpyAsync(plus + p0 * n_lambda, p_out, items * sizeof(double),
                                    cudaMemcpyDeviceToHost, call.stream));
        ZO_CUDA_TRY(cudaMemcpyAsync(minus + p0 * n_lambda, m_out, items * sizeof(double),
                                    cudaMemcpyDeviceToHost, call.stream));
        ZO_CUDA_TRY(cudaStreamSynchronize(call.stream));
      }
    });
  }

 private:
  struct Csr {
    GrowOnly<std::int64_t> offsets64;
    GrowOnly<std::int64_t> cols64;
    GrowOnly<std::int32_t> offsets32;
    GrowOnly<std::int32_t> cols32;
    GrowOnly<float> values;
    cusparseSpMatDescr_t descr = nullptr;
  };

  /// Orders one public call after the previous one (possibly on another stream) and marks its
  /// end; host calls wait for their stream. The scratch follows the call's stream.
  struct Call {
    Call(const CudaLinearKernels& k, StreamView s, bool host_batch)
        : kernels(k), stream(to_cuda(s)), host(host_batch) {
      ZO_CUDA_TRY(cudaStreamWaitEvent(stream, kernels.done_, 0));
      kernels.set_scratch_stream(s);
      ZO_CUBLAS_TRY(cublasSetStream(kernels.cublas_, stream));
      if (kernels.cusparse_) ZO_CUSPARSE_TRY(cusparseSetStream(kernels.cusparse_, stream));
    }
    ~Call() {
      ZO_CUDA_TRY_NOTHROW(cudaEventRecord(kernels.done_, stream));
      if (host) ZO_CUDA_TRY_NOTHROW(cudaStreamSynchronize(stream));
    }
    const CudaLinearKernels& kernels;
    cudaStream_t stream;
    bool host;
  };

  void upload_csr(const CsrMatrix& m, Csr* out) {
    const bool wide = m.nnz() > static_cast<std::size_t>(std::numeric_limits<std::int32_t>::max());
    const auto rows = static_cast<std::int64_t>(m.rows), cols = static_cast<std::int64_t>(m.cols);
    const auto nnz = static_cast<std::int64_t>(m.nnz());
    out->values.upload(m.values.data(), m.nnz());
    if (wide) {
      std::vector<std::int64_t> c(m.col_indices.begin(), m.col_indices.end());
      out->offsets64.upload(m.row_offsets.data(), m.row_offsets.size());
      out->cols64.upload(c.data(), c.size());
      ZO_CUSPARSE_TRY(cusparseCreateCsr(&out->descr, rows, cols, nnz, out->offsets64.get(),
                                        out->cols64.reserve(std::max<std::size_t>(c.size(), 1)),
                                        out->values.reserve(std::max<std::size_t>(m.nnz(), 1)),
                                        CUSPARSE_INDEX_64I, CUSPARSE_INDEX_64I,
                                        CUSPARSE_INDEX_BASE_ZERO, CUDA_R_32F));
    } else {
      std::vector<std::int32_t> o(m.row_offsets.begin(), m.row_offsets.end());
      out->offsets32.upload(o.data(), o.size());
      out->cols32.upload(m.col_indices.data(), m.col_indices.size());
      ZO_CUSPARSE_TRY(cusparseCreateCsr(&out->descr, rows, cols, nnz, out->offsets32.get(),
                                        out->cols32.reserve(std::max<std::size_t>(m.nnz(), 1)),
                                        out->values.reserve(std::max<std::size_t>(m.nnz(), 1)),
                                        CUSPARSE_INDEX_32I, CUSPARSE_INDEX_32I,
                                        CUSPARSE_INDEX_BASE_ZERO, CUDA_R_32F));
    }
  }

  /// Calls f(p0, pc) for chunks of points whose `columns_per_point` · N margins fit the cap.
  template <class F>
  void for_point_chunks(std::size_t count, std::size_t columns_per_point, F&& f) const {
    if (count == 0) return;
    const std::size_t cap = kMaxMarginFloats / (columns_per_point * std::max<std::size_t>(n_, 1));
    const std::size_t chunk = std::max<std::size_t>(1, std::min(count, cap));
    for (std::size_t p0 = 0; p0 < count; p0 += chunk) f(p0, std::min(chunk, count - p0));
  }

  /// Copies points [p0, p0 + pc) of x to dst (ld = ld) on the device.
  static void stage(const PointBatch& x, std::size_t p0, std::size_t pc, float* dst, std::size_t ld,
                    cudaStream_t stream) {
    const std::size_t spitch = (pc == 1 ? x.dim : x.stride) * sizeof(float);
    ZO_CUDA_TRY(cudaMemcpy2DAsync(dst, ld * sizeof(float), x.point(p0), spitch,
                                  x.dim * sizeof(float), pc, cudaMemcpyDefault, stream));
  }

  /// M (N × pc, ld N, in `dst`) = A · X for points [p0, p0 + pc). Device points are read in place
  /// (`second` selects the second staging buffer for host points). Returns dst.
  float* product(const PointBatch& x, std::size_t p0, std::size_t pc, const Call& call, float* dst,
                 bool second) const {
    const float* xs = nullptr;
    std::size_t ldx = d_;
    if (x.space == MemorySpace::host) {
      float* staged = (second ? staged2_ : staged_).reserve(pc * d_);
      stage(x, p0, pc, staged, d_, call.stream);
      xs = staged;
    } else {
      xs = x.point(p0);
      ldx = pc == 1 ? std::max(x.stride, d_) : x.stride;
    }
    const int n = checked_int(n_, "samples"), d = checked_int(d_, "features");
    const int p = checked_int(pc, "points");
    const float one = 1.0f, zero = 0.0f;
    if (!cusparse_) {
      // Column-major view: the row-major N × D data is the D × N matrix At (ld D); M = Atᵀ X.
      ZO_CUBLAS_TRY(cublasSgemm(cublas_, CUBLAS_OP_T, CUBLAS_OP_N, n, p, d, &one, dense_.get(), d,
                                xs, checked_int(ldx, "point stride"), &zero, dst, n));
      return dst;
    }
    spmm(a_, xs, d_, ldx, pc, dst, n_, n_, 1.0f, call);
    return dst;
  }

  /// out + q·stride (host or device, per call.host) = (1/N) Aᵀ r_q for r (N × pc, ld N, device).
  void transposed_product(const float* r, std::size_t pc, const Call& call, float* out,
                          std::size_t stride) const {
    const float alpha = static_cast<float>(1.0 / static_cast<double>(n_));
    const float zero = 0.0f;
    float* dst = out;
    std::size_t ldo = pc == 1 ? std::max(stride, d_) : stride;
    if (call.host) {
      dst = result_rows_.reserve(pc * d_);
      ldo = d_;
    }
    if (!cusparse_) {
      ZO_CUBLAS_TRY(cublasSgemm(cublas_, CUBLAS_OP_N, CUBLAS_OP_N, checked_int(d_, "features"),
                                checked_int(pc, "points"), checked_int(n_, "samples"), &alpha,
                                dense_.get(), static_cast<int>(d_), r, static_cast<int>(n_), &zero,
                                dst, checked_int(ldo, "output stride")));
    } else {
      spmm(at_, r, n_, n_, pc, dst, d_, ldo, alpha, call);
    }
    if (call.host) {
      const std::size_t dpitch = (pc == 1 ? d_ : stride) * sizeof(float);
      ZO_CUDA_TRY(cudaMemcpy2DAsync(out, dpitch, dst, d_ * sizeof(float), d_ * sizeof(float), pc,
                                    cudaMemcpyDeviceToHost, call.stream));
      ZO_CUDA_TRY(cudaStreamSynchronize(call.stream));
    }
  }

  /// C (c_rows × pc, ld ldc) = alpha · S · B with S a stored CSR matrix and B (b_rows × pc, ld
  /// ldb).
  void spmm(const Csr& s, const float* b, std::size_t b_rows, std::size_t ldb, std::size_t pc,
            float* c, std::size_t c_rows, std::size_t ldc, float alpha, const Call&) const {
    const float beta = 0.0f;
    cusparseConstDnMatDescr_t mb = nullptr;
    cusparseDnMatDescr_t mc = nullptr;
    ZO_CUSPARSE_TRY(cusparseCreateConstDnMat(
        &mb, static_cast<std::int64_t>(b_rows), static_cast<std::int64_t>(pc),
        static_cast<std::int64_t>(ldb), b, CUDA_R_32F, CUSPARSE_ORDER_COL));
    try {
      ZO_CUSPARSE_TRY(
          cusparseCreateDnMat(&mc, static_cast<std::int64_t>(c_rows), static_cast<std::int64_t>(pc),
                              static_cast<std::int64_t>(ldc), c, CUDA_R_32F, CUSPARSE_ORDER_COL));
      std::size_t bytes = 0;
      ZO_CUSPARSE_TRY(cusparseSpMM_bufferSize(
          cusparse_, CUSPARSE_OPERATION_NON_TRANSPOSE, CUSPARSE_OPERATION_NON_TRANSPOSE, &alpha,
          s.descr, mb, &beta, mc, CUDA_R_32F, CUSPARSE_SPMM_ALG_DEFAULT, &bytes));
      void* buffer = spmm_buffer_.reserve(std::max<std::size_t>(bytes, 1));
      ZO_CUSPARSE_TRY(cusparseSpMM(cusparse_, CUSPARSE_OPERATION_NON_TRANSPOSE,
                                   CUSPARSE_OPERATION_NON_TRANSPOSE, &alpha, s.descr, mb, &beta, mc,
                                   CUDA_R_32F, CUSPARSE_SPMM_ALG_DEFAULT, buffer));
    } catch (...) {
      cusparseDestroyDnMat(mb);
      if (mc) cusparseDestroyDnMat(mc);
      throw;
    }
    cusparseDestroyDnMat(mb);
    cusparseDestroyDnMat(mc);
  }

  std::shared_ptr<const LinearSplitData> split_;
  std::size_t n_ = 0, d_ = 0;
  /// Moves every scratch buffer to `stream` (no device work).
  void set_scratch_stream(StreamView stream) const noexcept {
    for (GrowOnly<float>* a : {&margins_, &staged_, &staged2_, &stacked_, &result_rows_, &lambdas_})
      a->set_stream(stream);
    partials_.set_stream(stream);
    results_.set_stream(stream);
    spmm_buffer_.set_stream(stream);
  }

  GrowOnly<float> dense_, labels_;
  GrowOnly<double> row_norm2_;
  Csr a_, at_;
  cublasHandle_t cublas_ = nullptr;
  cusparseHandle_t cusparse_ = nullptr;
  cudaEvent_t done_ = nullptr;
  mutable std::mutex mutex_;
  // Scratch, reused across calls (serialised by mutex_ and ordered by done_).
  mutable GrowOnly<float> margins_, staged_, staged2_, stacked_, result_rows_, lambdas_;
  mutable GrowOnly<double> partials_, results_;
  mutable GrowOnly<char> spmm_buffer_;
};

}  // namespace

std::unique_ptr<LinearSplitKernels> make_linear_kernels(
    std::shared_ptr<const LinearSplitData> split) {
  return std::make_unique<CudaLinearKernels>(std::move(split));
}

}  // namespace cuda
}  // namespace detail
}  // namespace zo
