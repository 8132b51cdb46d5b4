// The CPU reference kernels of LinearModel.
//
// Products: margins M = A·X for a batch of points X. Each margin φ_iᵀx_p is accumulated in double
// in one fixed order that depends on neither the thread count nor the other points of the batch:
// dense rows use sixteen partial sums over j mod 16 combined by a fixed pairwise tree, then the
// D mod 16 tail in order; CSR rows sum their entries in order; Aᵀr sums rows in increasing order.
// OpenMP splits rows (margins) or columns (Aᵀr); each output element is produced by one thread. So
// results are bit-identical for any thread count, and a point's values do not depend on its
// batchmates.
#include <algorithm>
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#endif
#include <cstring>
#include <memory>
#include <vector>

#include "objectives/linear_loss_math.hpp"
#include "objectives/linear_model_engine.hpp"
#include "zo/error.hpp"

namespace zo {
namespace detail {

std::shared_ptr<const LinearSplitData> make_linear_split_data(
    std::shared_ptr<const BinaryDataset> data) {
  ZO_EXPECTS(data != nullptr, "linear model: data set is null");
  validate(*data);
  auto split = std::make_shared<LinearSplitData>();
  split->rows = data->rows();
  split->cols = data->cols();
  split->row_norm2.assign(split->rows, 0.0);
  if (const auto* csr = std::get_if<CsrMatrix>(&data->features)) {
    for (std::size_t i = 0; i < split->rows; ++i) {
      double s = 0.0;
      for (std::int64_t k = csr->row_offsets[i]; k < csr->row_offsets[i + 1]; ++k) {
        const double v = csr->values[static_cast<std::size_t>(k)];
        s += v * v;
      }
      split->row_norm2[i] = s;
    }
    split->transposed = transpose(*csr);
  } else {
    const auto& d = std::get<DenseMatrix>(data->features);
    const auto rows = static_cast<std::int64_t>(split->rows);
#pragma omp parallel for schedule(static)
    for (std::int64_t i = 0; i < rows; ++i) {
      const float* a = d.row(static_cast<std::size_t>(i));
      double s = 0.0;
      for (std::size_t j = 0; j < d.cols; ++j) s += static_cast<double>(a[j]) * a[j];
      split->row_norm2[static_cast<std::size_t>(i)] = s;
    }
  }
  split->data = std::move(data);
  return split;
}

namespace {

constexpr std::size_t kMaxMarginDoubles = std::size_t{1} << 24;  // 128 MiB of margins per chunk
// Loops with fewer multiply-adds than this run on one thread: a parallel region costs more.
constexpr std::size_t kParallelWork = std::size_t{1} << 16;

/// Dot products of one dense row with Q ≤ 2 points (double copies), in the documented order:
/// 16 partial sums over j mod 16 (four independent 4-wide chains per point keep the adder busy),
/// combined by the fixed pairwise tree below, then the D mod 16 tail in order.
template <int Q>
[[gnu::always_inline]] inline void dense_row_dots(const float* a, const double* const* x,
                                                  std::size_t d, double* out) {
  constexpr int kLanes = 16;
  double acc[Q][kLanes] = {};
  const std::size_t d16 = d & ~std::size_t{kLanes - 1};
  for (std::size_t j = 0; j < d16; j += kLanes) {
    double aj[kLanes];
    for (int l = 0; l < kLanes; ++l) aj[l] = a[j + l];
    for (int q = 0; q < Q; ++q) {
      const double* xq = x[q] + j;
      for (int l = 0; l < kLanes; ++l) acc[q][l] += aj[l] * xq[l];
    }
  }
  for (int q = 0; q < Q; ++q) {
    double* c = acc[q];
    for (int width = kLanes / 2; width >= 1; width /= 2)
      for (int l = 0; l < width; ++l) c[l] = c[l] + c[l + width];
    double s = c[0];
    for (std::size_t j = d16; j < d; ++j) s += static_cast<double>(a[j]) * x[q][j];
    out[q] = s;
  }
}

/// dense_row_dots<1> of R consecutive rows (row r at a + r·d) with one point, bit for bit (each
/// row keeps its own 16 partial sums, order and tree): R independent streams of A in flight.
template <int R>
[[gnu::always_inline]] inline void dense_rows_dots(const float* a, std::size_t d, const double* x,
                                                   double* out) {
  constexpr int kLanes = 16;
  double acc[R][kLanes] = {};
  const std::size_t d16 = d & ~std::size_t{kLanes - 1};
  for (std::size_t j = 0; j < d16; j += kLanes) {
    for (int r = 0; r < R; ++r) {
      const float* row = a + static_cast<std::size_t>(r) * d + j;
      for (int l = 0; l < kLanes; ++l) acc[r][l] += static_cast<double>(row[l]) * x[j + l];
    }
  }
  for (int r = 0; r < R; ++r) {
    double* c = acc[r];
    for (int width = kLanes / 2; width >= 1; width /= 2)
      for (int l = 0; l < width; ++l) c[l] = c[l] + c[l + width];
    double s = c[0];
    const float* row = a + static_cast<std::size_t>(r) * d;
    for (std::size_t j = d16; j < d; ++j) s += static_cast<double>(row[j]) * x[j];
    out[r] = s;
  }
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define ZO_DENSE_AVX512 1
/// dense_rows_dots<8> with AVX-512, bit for bit: a row's 16 partial sums are two 8-lane
/// registers, and every lane performs acc + double(a)·x as a separate multiply and add (no fma),
/// in the scalar order; the pairwise tree and the tail are the scalar code. Eight rows share each
/// load of x. Called only where the CPU has AVX-512F (checked at run time).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push  // GCC 12 warns inside _mm512_cvtps_pd (its undefined-vector idiom)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
__attribute__((target("avx512f"))) void dense_rows8_avx512(const float* a, std::size_t d,
                                                           const double* x, double* out) {
  constexpr int kRows = 8;
  __m512d lo[kRows], hi[kRows];
  for (int r = 0; r < kRows; ++r) lo[r] = hi[r] = _mm512_setzero_pd();
  const std::size_t d16 = d & ~std::size_t{15};
  for (std::size_t j = 0; j < d16; j += 16) {
    const __m512d xl = _mm512_loadu_pd(x + j);
    const __m512d xh = _mm512_loadu_pd(x + j + 8);
    for (int r = 0; r < kRows; ++r) {
      const float* row = a + static_cast<std::size_t>(r) * d + j;
      lo[r] = _mm512_add_pd(lo[r], _mm512_mul_pd(_mm512_cvtps_pd(_mm256_loadu_ps(row)), xl));
      hi[r] = _mm512_add_pd(hi[r], _mm512_mul_pd(_mm512_cvtps_pd(_mm256_loadu_ps(row + 8)), xh));
    }
  }
  for (int r = 0; r < kRows; ++r) {
    double c[16];
    _mm512_storeu_pd(c, lo[r]);
    _mm512_storeu_pd(c + 8, hi[r]);
    for (int width = 8; width >= 1; width /= 2)
      for (int l = 0; l < width; ++l) c[l] = c[l] + c[l + width];
    double s = c[0];
    const float* row = a + static_cast<std::size_t>(r) * d;
    for (std::size_t j = d16; j < d; ++j) s += static_cast<double>(row[j]) * x[j];
    out[r] = s;
  }
}

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

bool cpu_has_avx512() {
  static const bool has = __builtin_cpu_supports("avx512f");
  return has;
}
#else
#define ZO_DENSE_AVX512 0
#endif

/// Dot products of one CSR row with Q points, entries in order.
template <int Q>
[[gnu::always_inline]] inline void csr_row_dots(const std::int32_t* cols, const float* vals,
                                                std::int64_t nnz, const double* const* x,
                                                double* out) {
  double acc[Q] = {};
  for (std::int64_t k = 0; k < nnz; ++k) {
    const double v = vals[k];
    const std::size_t j = static_cast<std::size_t>(cols[k]);
    for (int q = 0; q < Q; ++q) acc[q] += v * x[q][j];
  }
  for (int q = 0; q < Q; ++q) out[q] = acc[q];
}

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
// The hot loops are compiled twice, for AVX2 and for baseline x86-64, and picked at load time.
// Both give identical bits: every lane performs the same IEEE double operations in the same
// order (no fma: the library is built with -ffp-contract=off).
#define ZO_CPU_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define ZO_CPU_CLONES
#endif

/// out[q·ldo + i] = φ_iᵀ x_q for rows [i0, i1) of a dense row-major matrix, q < q_count ≤ 2.
ZO_CPU_CLONES void dense_rows(const float* a, std::size_t d, std::size_t i0, std::size_t i1,
                              const double* const* x, int q_count, double* out, std::size_t ldo) {
  std::size_t i = i0;
#if ZO_DENSE_AVX512
  if (q_count == 1 && cpu_has_avx512()) {
    for (; i + 8 <= i1; i += 8) dense_rows8_avx512(a + i * d, d, x[0], out + i);
  }
#endif
  if (q_count == 1) {  // four rows at a time: more of A in flight (the same bits per row)
    for (; i + 4 <= i1; i += 4) {
      double r[4];
      dense_rows_dots<4>(a + i * d, d, x[0], r);
      for (int k = 0; k < 4; ++k) out[i + static_cast<std::size_t>(k)] = r[k];
    }
  }
  for (; i < i1; ++i) {
    double r[2] = {0.0, 0.0};
    const float* row = a + i * d;
    if (q_count == 2) {
      dense_row_dots<2>(row, x, d, r);
    } else {
      dense_row_dots<1>(row, x, d, r);
    }
    for (int q = 0; q < q_count; ++q) out[static_cast<std::size_t>(q) * ldo + i] = r[q];
  }
}

/// csr_row_dots<1> of the four rows i..i+3 (each row's entries still added in order, so the same
/// bits): four independent chains of additions in flight instead of one.
[[gnu::always_inline]] inline void csr_four_rows(const CsrMatrix& m, std::size_t i, const double* x,
                                                 double* out) {
  const std::int64_t* off = m.row_offsets.data() + i;
  const std::int32_t* cols = m.col_indices.data();
  const float* vals = m.values.data();
  std::int64_t k[4] = {off[0], off[1], off[2], off[3]};
  const std::int64_t e[4] = {off[1], off[2], off[3], off[4]};
  std::int64_t common = e[0] - k[0];
  for (int r = 1; r < 4; ++r) common = std::min(common, e[r] - k[r]);
  double acc[4] = {0.0, 0.0, 0.0, 0.0};
  for (std::int64_t t = 0; t < common; ++t) {
    for (int r = 0; r < 4; ++r) {
      const std::size_t at = static_cast<std::size_t>(k[r] + t);
      acc[r] += static_cast<double>(vals[at]) * x[static_cast<std::size_t>(cols[at])];
    }
  }
  for (int r = 0; r < 4; ++r) {
    for (std::int64_t at = k[r] + common; at < e[r]; ++at)
      acc[r] += static_cast<double>(vals[at]) * x[static_cast<std::size_t>(cols[at])];
    out[r] = acc[r];
  }
}

/// out[q·ldo + i] = φ_iᵀ x_q for CSR rows [i0, i1), q < q_count ≤ 4.
ZO_CPU_CLONES void csr_rows(const CsrMatrix& m, std::size_t i0, std::size_t i1,
                            const double* const* x, int q_count, double* out, std::size_t ldo) {
  if (q_count == 1) {
    for (; i0 + 4 <= i1; i0 += 4) csr_four_rows(m, i0, x[0], out + i0);
  }
  for (std::size_t i = i0; i < i1; ++i) {
    const std::int64_t b = m.row_offsets[i];
    const std::int64_t nnz = m.row_offsets[i + 1] - b;
    const std::int32_t* cols = m.col_indices.data() + b;
    const float* vals = m.values.data() + b;
    double r[4] = {0.0, 0.0, 0.0, 0.0};
    switch (q_count) {
      case 4:
        csr_row_dots<4>(cols, vals, nnz, x, r);
        break;
      case 3:
        csr_row_dots<3>(cols, vals, nnz, x, r);
        break;
      case 2:
        csr_row_dots<2>(cols, vals, nnz, x, r);
        break;
      default:
        csr_row_dots<1>(cols, vals, nnz, x, r);
        break;
    }
    for (int q = 0; q < q_count; ++q) out[static_cast<std::size_t>(q) * ldo + i] = r[q];
  }
}

/// acc[jj] += Σ_i r[i] · a[i·d + j0 + jj] for jj < w, adding the rows in increasing i (zero
/// r[i] skipped). Four rows per pass keep acc[jj] in a register: the additions per element are
/// still in row order, so the result equals the one-row-at-a-time loop bit for bit.
ZO_CPU_CLONES void dense_column_block(const float* a, std::size_t d, std::size_t n_rows,
                                      std::size_t j0, std::size_t w, const double* r, double* acc) {
  std::size_t rows[4];
  int held = 0;
  auto flush = [&](int count) {
    if (count == 4) {
      const float* r0 = a + rows[0] * d + j0;
      const float* r1 = a + rows[1] * d + j0;
      const float* r2 = a + rows[2] * d + j0;
      const float* r3 = a + rows[3] * d + j0;
      const double c0 = r[rows[0]], c1 = r[rows[1]], c2 = r[rows[2]], c3 = r[rows[3]];
      for (std::size_t jj = 0; jj < w; ++jj) {
        double v = acc[jj];
        v += c0 * r0[jj];
        v += c1 * r1[jj];
        v += c2 * r2[jj];
        v += c3 * r3[jj];
        acc[jj] = v;
      }
      return;
    }
    for (int k = 0; k < count; ++k) {
      const float* row = a + rows[k] * d + j0;
      const double c = r[rows[k]];
      for (std::size_t jj = 0; jj < w; ++jj) acc[jj] += c * row[jj];
    }
  };
  for (std::size_t i = 0; i < n_rows; ++i) {
    if (r[i] == 0.0) continue;  // inactive samples (hinge) add nothing
    rows[held++] = i;
    if (held == 4) {
      flush(4);
      held = 0;
    }
  }
  flush(held);
}

class CpuLinearKernels final : public LinearSplitKernels {
 public:
  explicit CpuLinearKernels(std::shared_ptr<const LinearSplitData> split)
      : split_(std::move(split)) {}

  void reduce(int loss_kind, const PointBatch& x, const LinearReduceOut& out) const override {
    for_point_chunks(x.count, [&](std::size_t p0, std::size_t pc, std::vector<double>& m) {
      product(x, p0, pc, m.data());
      const auto count = static_cast<std::int64_t>(pc);
#pragma omp parallel for schedule(static) if (pc * n() > kParallelWork)
      for (std::int64_t q = 0; q < count; ++q) {
        const double* mq = &m[static_cast<std::size_t>(q) * n()];
        double loss = 0.0, trace = 0.0, correct = 0.0;
        for (std::size_t i = 0; i < n(); ++i) {
          const double b = label(i);
          const LossTerms t = linear_loss_terms(loss_kind, mq[i], b);
          loss += t.value;
          trace += t.d2 * split_->row_norm2[i];
          correct += correct_prediction(mq[i], b);
        }
        const std::size_t p = p0 + static_cast<std::size_t>(q);
        const double n_double = static_cast<double>(n());
        if (out.loss) out.loss[p] = loss / n_double;
        if (out.trace) out.trace[p] = trace / n_double;
        if (out.accuracy) out.accuracy[p] = correct / n_double;
      }
    });
  }

  void gradient(int loss_kind, const PointBatch& x, float* grads,
                std::size_t stride) const override {
    for_point_chunks(x.count, [&](std::size_t p0, std::size_t pc, std::vector<double>& m) {
      product(x, p0, pc, m.data());
      const auto total = static_cast<std::int64_t>(pc * n());
#pragma omp parallel for schedule(static) if (pc * n() > kParallelWork)
      for (std::int64_t t = 0; t < total; ++t) {
        const std::size_t i = static_cast<std::size_t>(t) % n();
        m[static_cast<std::size_t>(t)] =
            linear_loss_terms(loss_kind, m[static_cast<std::size_t>(t)], label(i)).d1;
      }
      transposed_product(m.data(), pc, grads + p0 * stride, stride);
    });
  }

  void hvp(int loss_kind, const PointBatch& x, const PointBatch& v, float* out,
           std::size_t stride) const override {
    for_point_chunks(x.count, [&](std::size_t p0, std::size_t pc, std::vector<double>& m) {
      std::vector<double> w(pc * n());
      product_pair(x, v, p0, pc, m.data(), w.data());
      const auto total = static_cast<std::int64_t>(pc * n());
#pragma omp parallel for schedule(static) if (pc * n() > kParallelWork)
      for (std::int64_t t = 0; t < total; ++t) {
        const auto k = static_cast<std::size_t>(t);
        w[k] *= linear_loss_terms(loss_kind, m[k], label(k % n())).d2;
      }
      transposed_product(w.data(), pc, out + p0 * stride, stride);
    });
  }

  void margins(const PointBatch& x, double* out) const override {
    if (x.count > 0) product(x, 0, x.count, out);
  }

  void evaluate_along(int loss_kind, const PointBatch& x, const PointBatch& u, const float* lambdas,
                      std::size_t n_lambda, double* plus, double* minus) const override {
    for_point_chunks(x.count, [&](std::size_t p0, std::size_t pc, std::vector<double>& mx) {
      std::vector<double> mu(pc * n());
      product_pair(x, u, p0, pc, mx.data(), mu.data());
      const auto total = static_cast<std::int64_t>(pc * n_lambda * 2);
#pragma omp parallel for schedule(static) if (pc * n_lambda * n() > kParallelWork)
      for (std::int64_t t = 0; t < total; ++t) {
        const std::size_t sign_index = static_cast<std::size_t>(t) % 2;
        const std::size_t l = (static_cast<std::size_t>(t) / 2) % n_lambda;
        const std::size_t q = static_cast<std::size_t>(t) / (2 * n_lambda);
        const double s =
            sign_index == 0 ? static_cast<double>(lambdas[l]) : -static_cast<double>(lambdas[l]);
        const double* a = &mx[q * n()];
        const double* b = &mu[q * n()];
        double sum = 0.0;
        for (std::size_t i = 0; i < n(); ++i)
          sum += linear_loss_terms(loss_kind, a[i] + s * b[i], label(i)).value;
        double* dst = sign_index == 0 ? plus : minus;
        dst[(p0 + q) * n_lambda + l] = sum / static_cast<double>(n());
      }
    });
  }

 private:
  std::size_t n() const { return split_->rows; }
  std::size_t d() const { return split_->cols; }
  double label(std::size_t i) const { return split_->data->labels[i]; }

  /// Calls f(p0, count, margins buffer) for consecutive chunks of points.
  template <class F>
  void for_point_chunks(std::size_t count, F&& f) const {
    if (count == 0) return;
    const std::size_t chunk = std::max<std::size_t>(
        1, std::min(count, kMaxMarginDoubles / std::max<std::size_t>(n(), 1)));
    std::vector<double> m(chunk * n());
    for (std::size_t p0 = 0; p0 < count; p0 += chunk) f(p0, std::min(chunk, count - p0), m);
  }

  /// out[q·N + i] = φ_iᵀ x_{p0+q} for q < pc.
  void product(const PointBatch& x, std::size_t p0, std::size_t pc, double* out) const {
    // Double copies of the points: converted once instead of once per row.
    std::vector<double> xd(pc * d());
    for (std::size_t q = 0; q < pc; ++q) {
      const float* src = x.point(p0 + q);
      std::copy(src, src + d(), xd.begin() + static_cast<std::ptrdiff_t>(q * d()));
    }
    product_packed(xd, pc, out);
  }

  /// Margins of x_p and u_p for p in [p0, p0 + pc) in one pass over the data: the columns are
  /// interleaved (x_p, u_p) so that each row is read once per pair. Bit-identical to two
  /// product() calls (a margin does not depend on the other columns).
  void product_pair(const PointBatch& x, const PointBatch& u, std::size_t p0, std::size_t pc,
                    double* out_x, double* out_u) const {
    std::vector<double> xd(2 * pc * d());
    for (std::size_t q = 0; q < pc; ++q) {
      const float* a = x.point(p0 + q);
      const float* b = u.point(p0 + q);
      std::copy(a, a + d(), xd.begin() + static_cast<std::ptrdiff_t>(2 * q * d()));
      std::copy(b, b + d(), xd.begin() + static_cast<std::ptrdiff_t>((2 * q + 1) * d()));
    }
    std::vector<double> both(2 * pc * n());
    product_packed(xd, 2 * pc, both.data());
    for (std::size_t q = 0; q < pc; ++q) {
      std::copy_n(&both[2 * q * n()], n(), out_x + q * n());
      std::copy_n(&both[(2 * q + 1) * n()], n(), out_u + q * n());
    }
  }

  /// out[c·N + i] = φ_iᵀ xd_c for the pc double columns of xd (pc × D).
  void product_packed(const std::vector<double>& xd, std::size_t pc, double* out) const {
    const std::size_t n_rows = n();
    if (const auto* csr = std::get_if<CsrMatrix>(&split_->data->features)) {
      constexpr std::size_t kRows = 64;
      const auto blocks = static_cast<std::int64_t>((n_rows + kRows - 1) / kRows);
#pragma omp parallel for schedule(static) if (csr->nnz() * pc > kParallelWork)
      for (std::int64_t bi = 0; bi < blocks; ++bi) {
        const std::size_t i0 = static_cast<std::size_t>(bi) * kRows;
        const std::size_t i1 = std::min(n_rows, i0 + kRows);
        for_point_groups(xd.data(), pc, [&](const double* const* xq, int q_count, std::size_t q0) {
          csr_rows(*csr, i0, i1, xq, q_count, out + q0 * n_rows, n_rows);
        });
      }
      return;
    }
    const auto& dense = std::get<DenseMatrix>(split_->data->features);
    // Rows in blocks that stay in cache while every group of points passes over them; at least
    // eight, so that the one-point kernels always have several rows (streams of A) in flight.
    const std::size_t block =
        std::max<std::size_t>(8, (std::size_t{256} << 10) / (4 * std::max<std::size_t>(d(), 1)));
    const auto blocks = static_cast<std::int64_t>((n_rows + block - 1) / block);
#pragma omp parallel for schedule(static) if (n_rows * d() * pc > kParallelWork)
    for (std::int64_t bi = 0; bi < blocks; ++bi) {
      const std::size_t i0 = static_cast<std::size_t>(bi) * block;
      const std::size_t i1 = std::min(n_rows, i0 + block);
      for_point_groups(xd.data(), pc, [&](const double* const* xq, int q_count, std::size_t q0) {
        dense_rows(dense.values.data(), d(), i0, i1, xq, q_count, out + q0 * n_rows, n_rows);
      });
    }
  }

  /// Calls f(pointers, count ≤ 2, first) for groups of up to two points of xd (pc × D).
  template <class F>
  void for_point_groups(const double* xd, std::size_t pc, F&& f) const {
    for (std::size_t q0 = 0; q0 < pc; q0 += 2) {
      const int q_count = static_cast<int>(std::min<std::size_t>(2, pc - q0));
      const double* ptrs[4] = {};
      for (int q = 0; q < q_count; ++q) ptrs[q] = xd + (q0 + static_cast<std::size_t>(q)) * d();
      f(ptrs, q_count, q0);
    }
  }

  /// out + q·stride receives (1/N) Aᵀ r_q for the pc columns r_q = r + q·N (double).
  void transposed_product(const double* r, std::size_t pc, float* out, std::size_t stride) const {
    const std::size_t n_rows = n();
    const double n_double = static_cast<double>(n_rows);
    if (!std::holds_alternative<CsrMatrix>(split_->data->features)) {
      const auto& dense = std::get<DenseMatrix>(split_->data->features);
      constexpr std::size_t kCols = 256;
      const auto blocks = static_cast<std::int64_t>((d() + kCols - 1) / kCols);
#pragma omp parallel if (n_rows * d() * pc > kParallelWork)
      {
        std::vector<double> acc(kCols);
#pragma omp for schedule(static)
        for (std::int64_t bj = 0; bj < blocks; ++bj) {
          const std::size_t j0 = static_cast<std::size_t>(bj) * kCols;
          const std::size_t w = std::min(kCols, d() - j0);
          for (std::size_t q = 0; q < pc; ++q) {
            std::fill(acc.begin(), acc.end(), 0.0);
            dense_column_block(dense.values.data(), d(), n_rows, j0, w, r + q * n_rows, acc.data());
            float* o = out + q * stride + j0;
            for (std::size_t jj = 0; jj < w; ++jj) o[jj] = static_cast<float>(acc[jj] / n_double);
          }
        }
      }
      return;
    }
    const CsrMatrix& t = split_->transposed;
    const auto cols = static_cast<std::int64_t>(d());
#pragma omp parallel for schedule(static) if (t.nnz() * pc > kParallelWork)
    for (std::int64_t j = 0; j < cols; ++j) {
      const std::int64_t b = t.row_offsets[static_cast<std::size_t>(j)];
      const std::int64_t e = t.row_offsets[static_cast<std::size_t>(j) + 1];
      for (std::size_t q = 0; q < pc; ++q) {
        const double* rq = r + q * n_rows;
        double s = 0.0;
        for (std::int64_t k = b; k < e; ++k)
          s += static_cast<double>(t.values[static_cast<std::size_t>(k)]) *
               rq[static_cast<std::size_t>(t.col_indices[static_cast<std::size_t>(k)])];
        out[q * stride + static_cast<std::size_t>(j)] = static_cast<float>(s / n_double);
      }
    }
  }

  std::shared_ptr<const LinearSplitData> split_;
};

}  // namespace

std::unique_ptr<LinearSplitKernels> make_cpu_linear_kernels(
    std::shared_ptr<const LinearSplitData> split) {
  return std::make_unique<CpuLinearKernels>(std::move(split));
}

}  // namespace detail
}  // namespace zo
