// The fused Example 2.1 engine: its backend-independent part, and its CPU backend (the same
// per-run body as the persistent CUDA kernel, with one lane per run).

#include <algorithm>
#include <chrono>
#include <cstring>
#include <memory>
#include <string>

#if defined(_OPENMP)
#include <omp.h>
#endif

#include "batch/example21_fused_engine.hpp"
#include "core/parallel.hpp"
#include "zo/directions.hpp"
#include "zo/error.hpp"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define ZO_GROUP_AVX512 1
#else
#define ZO_GROUP_AVX512 0
#endif

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

/// Runs advanced together by the CPU loop, one run per SIMD lane.
constexpr int kRunLanes = 8;

/// A group of kRunLanes runs, stored lane-minor ([coordinate][lane]) so that the loops over the
/// lanes are SIMD loops: every lane performs exactly the scalar operations of fused_run_steps_with
/// (G = 1) for its run, in its order, so each run keeps its bits.
struct alignas(64) RunGroup {
  float y[kFusedMaxHalfDim][kRunLanes];
  float z[kFusedMaxHalfDim][kRunLanes];
  // Direction u_j of every lane, coordinate-major: y part ul[0 … d), z part ul[d … 2d) (one
  // block more than a direction's blocks: the AVX-512 generator writes blocks in pairs).
  float ul[4 * (kHostDirectionBlocks + 1)][kRunLanes];
  double acc_a[kFusedVirtualLanes][kRunLanes];
  double acc_b[kFusedVirtualLanes][kRunLanes];
  double acc_c[kFusedVirtualLanes][kRunLanes];
  float coef[kFusedMaxQ][kRunLanes];
  float lambda[kRunLanes], neg_lambda[kRunLanes], eta[kRunLanes];
  float u[kRunLanes][4 * kHostDirectionBlocks];  // one direction per lane (non-Gaussian)
  std::uint64_t seed[kRunLanes];
};

/// True when runs [k, k + kRunLanes) can share the SIMD loop: all ZO with the same q and
/// distribution (λ, η and seeds may differ).
bool group_eligible(const RunDescription* run) {
  for (int w = 0; w < kRunLanes; ++w) {
    if (run[w].method != kFusedZo || run[w].q != run[0].q ||
        run[w].distribution != run[0].distribution || run[w].q < 1 || run[w].q > kFusedMaxQ) {
      return false;
    }
  }
  return true;
}

/// The canonical sum (canonical_sum<1>) of every lane's 32 virtual-lane sums, in place: acc[0].
inline void group_canonical_sum(double (*acc)[kRunLanes]) {
  for (int half = kFusedVirtualLanes / 2; half >= 1; half /= 2) {
    for (int m = 0; m < half; ++m) {
#pragma omp simd
      for (int w = 0; w < kRunLanes; ++w) acc[m][w] = acc[m][w] + acc[m + half][w];
    }
  }
}

inline void group_clear(double (*acc)[kRunLanes]) {
  for (int m = 0; m < kFusedVirtualLanes; ++m) {
    for (int w = 0; w < kRunLanes; ++w) acc[m][w] = 0.0;
  }
}

/// True when every lane of the group has the same seed (then they share their directions).
bool group_shares_seed(const RunDescription* run) {
  for (int w = 1; w < kRunLanes; ++w) {
    if (run[w].seed != run[0].seed) return false;
  }
  return true;
}

/// Direction (seed_w, t, j) of every lane into g.ul (the values of fused_direction()): generated
/// once and copied to every lane when the lanes share a seed, else Gaussian directions straight
/// from the lane-minor generator and the others a run at a time.
void group_directions(RunGroup& g, const RunDescription* run, bool shared, std::uint32_t d,
                      std::uint64_t t, std::uint32_t j) {
  const auto dist = static_cast<Distribution>(run[0].distribution);
  const std::uint64_t nb = (d + 3) / 4;
  if (shared) {
    const DirectionKey key{run[0].seed, static_cast<std::uint32_t>(t), j};
    direction_blocks(dist, key, 0, (d + 4 * nb + 3) / 4, 1.0f, g.u[0]);
    for (std::uint32_t c = 0; c < 2 * d; ++c) {
      for (int w = 0; w < kRunLanes; ++w) g.ul[c][w] = g.u[0][c];
    }
    return;
  }
  if (dist == Distribution::gaussian) {
    const std::uint64_t blocks = (2 * static_cast<std::uint64_t>(d) + 3) / 4;
    gaussian_lanes8(g.seed, static_cast<std::uint32_t>(t), j, 0, blocks, &g.ul[0][0]);
    return;
  }
  for (int w = 0; w < kRunLanes; ++w) {
    const DirectionKey key{run[w].seed, static_cast<std::uint32_t>(t), j};
    direction_blocks(dist, key, 0, (d + 4 * nb + 3) / 4, 1.0f, g.u[w]);
  }
  for (std::uint32_t c = 0; c < 2 * d; ++c) {
    for (int w = 0; w < kRunLanes; ++w) g.ul[c][w] = g.u[w][c];
  }
}

/// fused_measure<1> of every lane into metrics + w·kFusedMetrics.
void group_measure(RunGroup& g, std::uint32_t d, const std::size_t* index, double* metrics) {
  group_clear(g.acc_a);
  group_clear(g.acc_b);
  group_clear(g.acc_c);
  for (std::uint32_t c = 0; c < d; ++c) {
    const std::uint32_t m = (c / 4) % kFusedVirtualLanes;
#pragma omp simd
    for (int w = 0; w < kRunLanes; ++w) {
      const double y = g.y[c][w], z = g.z[c][w];
      g.acc_a[m][w] += y * z;
      g.acc_b[m][w] += y * y;
      g.acc_c[m][w] += z * z;
    }
  }
  group_canonical_sum(g.acc_a);
  group_canonical_sum(g.acc_b);
  group_canonical_sum(g.acc_c);
  for (int w = 0; w < kRunLanes; ++w) {
    const double syz = g.acc_a[0][w], syy = g.acc_b[0][w], szz = g.acc_c[0][w];
    double* out = metrics + index[w] * kFusedMetrics;
    out[0] = example21_value(syz);
    out[1] = syy + szz;
    out[2] = 0.5 * (syy - szz);
  }
}

#if ZO_GROUP_AVX512
// GCC 12 warns about _mm512_undefined_pd() inside its own intrinsics (a self-initialised
// variable in avx512fintrin.h); not a bug of this code.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"

/// The evaluation loop of run_group_steps (f₊ and f₋ sums of every lane by virtual lane, for
/// group_canonical_sum) with the 8 lanes in one register: 8 floats in 256 bits, their 8 double
/// products in 512 bits. The same operations lane by lane: a product of two floats is exact in
/// double, so fma(a, b, s) rounds exactly as s + a·b does; a virtual lane's first term is added
/// to 0.0 as after group_clear. Virtual lanes that no coordinate reaches stay 0 (cleared once
/// when the group is loaded; the canonical sum only adds zeros into them).
__attribute__((target("avx512f,avx2,fma"))) void group_evaluate_avx512(RunGroup& g,
                                                                       const float (*uy)[kRunLanes],
                                                                       const float (*uz)[kRunLanes],
                                                                       std::uint32_t d) {
  const __m256 lam = _mm256_loadu_ps(g.lambda);
  const __m256 nlam = _mm256_loadu_ps(g.neg_lambda);
  for (std::uint32_t c0 = 0, b = 0; c0 < d; c0 += 4, ++b) {
    const std::uint32_t m = b % kFusedVirtualLanes;
    __m512d a = b < kFusedVirtualLanes ? _mm512_setzero_pd() : _mm512_load_pd(g.acc_a[m]);
    __m512d e = b < kFusedVirtualLanes ? _mm512_setzero_pd() : _mm512_load_pd(g.acc_b[m]);
    const std::uint32_t c1 = std::min(d, c0 + 4);
    for (std::uint32_t c = c0; c < c1; ++c) {
      const __m256 y = _mm256_load_ps(g.y[c]);
      const __m256 z = _mm256_load_ps(g.z[c]);
      const __m256 u = _mm256_load_ps(uy[c]);
      const __m256 v = _mm256_load_ps(uz[c]);
      const __m256 yp = _mm256_fmadd_ps(lam, u, y);  // perturb(): fma(λ, u, x)
      const __m256 zp = _mm256_fmadd_ps(lam, v, z);
      const __m256 ym = _mm256_fmadd_ps(nlam, u, y);
      const __m256 zm = _mm256_fmadd_ps(nlam, v, z);
      a = _mm512_fmadd_pd(_mm512_cvtps_pd(yp), _mm512_cvtps_pd(zp), a);
      e = _mm512_fmadd_pd(_mm512_cvtps_pd(ym), _mm512_cvtps_pd(zm), e);
    }
    _mm512_store_pd(g.acc_a[m], a);
    _mm512_store_pd(g.acc_b[m], e);
  }
}

/// The update loop of run_group_steps for direction j (apply_update(): fma(−c, u, x); lanes with
/// keep[w] ≠ 0 keep their point), 8 lanes in one register.
__attribute__((target("avx512f,avx2,fma"))) void group_update_avx512(RunGroup& g, const float* coef,
                                                                     const std::int32_t* keep,
                                                                     const float (*uy)[kRunLanes],
                                                                     const float (*uz)[kRunLanes],
                                                                     std::uint32_t d) {
  const __m256 negc = _mm256_xor_ps(_mm256_loadu_ps(coef), _mm256_set1_ps(-0.0f));  // −c exactly
  const __m256 kept = _mm256_castsi256_ps(_mm256_cmpgt_epi32(
      _mm256_loadu_si256(reinterpret_cast<const __m256i*>(keep)), _mm256_setzero_si256()));
  for (std::uint32_t c = 0; c < d; ++c) {
    const __m256 y = _mm256_load_ps(g.y[c]);
    const __m256 z = _mm256_load_ps(g.z[c]);
    const __m256 yn = _mm256_fmadd_ps(negc, _mm256_load_ps(uy[c]), y);
    const __m256 zn = _mm256_fmadd_ps(negc, _mm256_load_ps(uz[c]), z);
    _mm256_store_ps(g.y[c], _mm256_blendv_ps(yn, y, kept));
    _mm256_store_ps(g.z[c], _mm256_blendv_ps(zn, z, kept));
  }
}
#pragma GCC diagnostic pop
#endif

/// fused_run_steps_with<1> for the kRunLanes ZO runs of a group (group_eligible), x of lane w at
/// x + w·2d. Bit for bit the scalar loop: a lane past d of a pair-block would add +0.0 to a sum
/// that is never −0.0, so the loops stop at d; a frozen lane computes but keeps its point.
void run_group_steps(RunGroup& g, const RunDescription* run, const std::size_t* index, float* x,
                     std::uint32_t d, FusedRunState* states, std::uint64_t begin, std::uint64_t end,
                     const std::uint64_t* log_its, std::uint32_t n_log, double* metrics,
                     std::size_t metric_stride) {
  FusedRunState* state[kRunLanes];
  for (int w = 0; w < kRunLanes; ++w) state[w] = &states[index[w]];
  const bool shared = group_shares_seed(run);
  const std::uint32_t q = run[0].q;
  const float(*uy)[kRunLanes] = g.ul;      // y part of the direction
  const float(*uz)[kRunLanes] = g.ul + d;  // z part
#if ZO_GROUP_AVX512
  static const bool avx512 = host_simd() == HostSimd::avx512;
  if (avx512) {  // see group_evaluate_avx512
    group_clear(g.acc_a);
    group_clear(g.acc_b);
  }
#endif
  for (int w = 0; w < kRunLanes; ++w) {
    g.lambda[w] = run[w].lambda;
    g.neg_lambda[w] = -run[w].lambda;
    g.eta[w] = run[w].eta;
    g.seed[w] = run[w].seed;
    for (std::uint32_t c = 0; c < d; ++c) {
      g.y[c][w] = x[index[w] * 2 * d + c];
      g.z[c][w] = x[index[w] * 2 * d + d + c];
    }
  }
  std::uint32_t next_log = 0;
  for (std::uint64_t t = begin;; ++t) {
    while (next_log < n_log && log_its[next_log] == t) {
      group_measure(g, d, index, metrics + static_cast<std::size_t>(next_log) * metric_stride);
      ++next_log;
    }
    if (t >= end) break;
    bool any_live = false;
    for (int w = 0; w < kRunLanes; ++w) any_live = any_live || !state[w]->diverged;
    if (!any_live) continue;

    bool bad[kRunLanes] = {};
    for (std::uint32_t j = 0; j < q; ++j) {
      group_directions(g, run, shared, d, t, j);
#if ZO_GROUP_AVX512
      if (avx512) {
        group_evaluate_avx512(g, uy, uz, d);
      } else
#endif
      {
        group_clear(g.acc_a);
        group_clear(g.acc_b);
        for (std::uint32_t c = 0; c < d; ++c) {
          const std::uint32_t m = (c / 4) % kFusedVirtualLanes;
#pragma omp simd
          for (int w = 0; w < kRunLanes; ++w) {
            const float yp = perturb(g.y[c][w], g.lambda[w], uy[c][w]);
            const float zp = perturb(g.z[c][w], g.lambda[w], uz[c][w]);
            const float ym = perturb(g.y[c][w], g.neg_lambda[w], uy[c][w]);
            const float zm = perturb(g.z[c][w], g.neg_lambda[w], uz[c][w]);
            g.acc_a[m][w] += static_cast<double>(yp) * static_cast<double>(zp);
            g.acc_b[m][w] += static_cast<double>(ym) * static_cast<double>(zm);
          }
        }
      }
      group_canonical_sum(g.acc_a);
      group_canonical_sum(g.acc_b);
      for (int w = 0; w < kRunLanes; ++w) {
        const double f_plus = example21_value(g.acc_a[0][w]);
        const double f_minus = example21_value(g.acc_b[0][w]);
        const double gr = projected_gradient(f_plus, f_minus, g.lambda[w]);
        const float c = update_coefficient(gr, g.eta[w], q);
        bad[w] = bad[w] || !(is_finite(gr) && is_finite(c));
        g.coef[j][w] = c;
      }
    }
    std::int32_t keep[kRunLanes];  // lanes that stay where they are this step (0 or 1)
    for (int w = 0; w < kRunLanes; ++w) {
      keep[w] = state[w]->diverged != 0 ? 1 : 0;
      if (keep[w] == 0 && bad[w]) {
        state[w]->diverged = 1;
        state[w]->diverged_at = t;
        keep[w] = 1;
      }
    }
    for (std::uint32_t j = 0; j < q; ++j) {
      if (q > 1) group_directions(g, run, shared, d, t, j);  // regenerate u_j
      const float* coef = g.coef[j];
#if ZO_GROUP_AVX512
      if (avx512) {
        group_update_avx512(g, coef, keep, uy, uz, d);
        continue;
      }
#endif
      for (std::uint32_t c = 0; c < d; ++c) {
#pragma omp simd
        for (int w = 0; w < kRunLanes; ++w) {
          const float yn = apply_update(g.y[c][w], coef[w], uy[c][w]);
          const float zn = apply_update(g.z[c][w], coef[w], uz[c][w]);
          g.y[c][w] = keep[w] != 0 ? g.y[c][w] : yn;
          g.z[c][w] = keep[w] != 0 ? g.z[c][w] : zn;
        }
      }
    }
  }
  for (int w = 0; w < kRunLanes; ++w) {
    for (std::uint32_t c = 0; c < d; ++c) {
      x[index[w] * 2 * d + c] = g.y[c][w];
      x[index[w] * 2 * d + d + c] = g.z[c][w];
    }
  }
}

/// The order in which run_fused takes the runs: the runs that can share the SIMD loop (ZO, q in
/// range) first, by (q, distribution, seed, index), so that consecutive runs of one seed (a sweep's
/// configurations of that seed) fall in one group and share their directions; then the others
/// in index order.
std::vector<std::size_t> simd_order(const std::vector<RunDescription>& runs) {
  std::vector<std::size_t> order(runs.size());
  for (std::size_t k = 0; k < order.size(); ++k) order[k] = k;
  const auto simd = [&](std::size_t k) {
    const RunDescription& r = runs[k];
    return r.method == kFusedZo && r.q >= 1 && r.q <= kFusedMaxQ;
  };
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    const bool sa = simd(a), sb = simd(b);
    if (sa != sb) return sa;
    if (!sa) return false;  // stable: index order
    const RunDescription& ra = runs[a];
    const RunDescription& rb = runs[b];
    if (ra.q != rb.q) return ra.q < rb.q;
    if (ra.distribution != rb.distribution) return ra.distribution < rb.distribution;
    return ra.seed < rb.seed;
  });
  return order;
}

class CpuFusedExample21 final : public FusedExample21Engine {
 public:
  CpuFusedExample21(const Objective& objective, std::vector<RunSpec> runs, const float* x0,
                    const BatchOptions& options)
      : FusedExample21Engine(objective, std::move(runs), options),
        x_(x0, x0 + this->runs().size() * 2 * static_cast<std::size_t>(half_dim())),
        order_(simd_order(params())) {}

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
    // Runs are independent: any schedule gives the same bits. The runs are taken in order_
    // (runs that can share the SIMD loop together, by seed); chunks of kRunLanes runs go through
    // the SIMD loop when they can share it, the rest run one by one; chunks of one run when there
    // are too few runs to give every thread a chunk of kRunLanes.
    const bool parallel = K * d * steps >= kMinParallelWork;
    std::size_t threads = 1;
#if defined(_OPENMP)
    if (parallel) threads = static_cast<std::size_t>(omp_get_max_threads());
#endif
    const std::size_t width = K >= threads * kRunLanes ? kRunLanes : 1;
    const auto chunks = static_cast<std::int64_t>((K + width - 1) / width);
#pragma omp parallel if (parallel)
    {
      std::unique_ptr<RunGroup> group;
#pragma omp for schedule(dynamic, 1)
      for (std::int64_t chunk = 0; chunk < chunks; ++chunk) {
        const std::size_t k0 = static_cast<std::size_t>(chunk) * width;
        const std::size_t k1 = std::min<std::size_t>(K, k0 + width);
        const std::size_t* index = &order_[k0];
        if (k1 - k0 == kRunLanes) {
          RunDescription lanes[kRunLanes];
          for (int w = 0; w < kRunLanes; ++w) lanes[w] = params()[index[w]];
          if (group_eligible(lanes)) {
            if (!group) group = std::make_unique<RunGroup>();
            run_group_steps(*group, lanes, index, x_.data(), d, states.data(), begin, begin + steps,
                            log_its.data(), metrics ? n_log : 0, metrics, K * kFusedMetrics);
            continue;
          }
        }
        for (std::size_t i = k0; i < k1; ++i) {
          const std::size_t k = order_[i];
          FusedLaneState<kHostPairBlocks> s;
          HostFusedDirections dirs;
          float* x = &x_[k * 2 * d];
          fused_load<1, kHostPairBlocks>(0, d, x, s);
          fused_run_steps_with<1, kHostPairBlocks>(
              HostLaneGroup{}, dirs, d, params()[k], s, states[k], begin, begin + steps,
              log_its.data(), n_log, metrics ? metrics + k * kFusedMetrics : nullptr,
              K * kFusedMetrics);
          fused_store<1, kHostPairBlocks>(0, d, s, x);
        }
      }
    }
    last_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }

 private:
  std::vector<float> x_;
  std::vector<std::size_t> order_;  // the runs in the order the chunks take them
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
  using detail::kRunLanes;
  // As the fused CPU loop generates them: runs kRunLanes at a time, lane-minor (the rest one by
  // one); each run's block sums are added in block order either way.
  const std::size_t groups = runs / kRunLanes;
  const auto count = static_cast<std::int64_t>(groups + runs % kRunLanes);
  std::vector<double> per_run(runs, 0.0);
#pragma omp parallel
  {
    std::vector<float> u(4 * kRunLanes * (blocks + 1));
#pragma omp for schedule(static)
    for (std::int64_t item = 0; item < count; ++item) {
      const auto i = static_cast<std::size_t>(item);
      if (i < groups) {
        std::uint64_t seeds[kRunLanes];
        double sums[kRunLanes] = {};
        for (int w = 0; w < kRunLanes; ++w) seeds[w] = i * kRunLanes + static_cast<std::size_t>(w);
        for (std::uint64_t t = 0; t < steps; ++t) {
          detail::gaussian_lanes8(seeds, static_cast<std::uint32_t>(t), 0, 0, blocks, u.data());
          for (std::uint64_t b = 0; b < blocks; ++b) {
            const float* v = &u[4 * kRunLanes * b];
            for (int w = 0; w < kRunLanes; ++w) {
              sums[w] += static_cast<double>((v[w] + v[kRunLanes + w]) +
                                             (v[2 * kRunLanes + w] + v[3 * kRunLanes + w]));
            }
          }
        }
        for (int w = 0; w < kRunLanes; ++w)
          per_run[i * kRunLanes + static_cast<std::size_t>(w)] = sums[w];
        continue;
      }
      const std::size_t k = groups * kRunLanes + (i - groups);
      double sum = 0.0;
      for (std::uint64_t t = 0; t < steps; ++t) {
        const DirectionKey key{k, static_cast<std::uint32_t>(t), 0};
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
