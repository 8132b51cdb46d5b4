// Whole steps of Algorithm 1 (and its GD / ZO λ→0 baselines) on Example 2.1 for ONE run, written
// once for a "group" of G cooperating lanes: the persistent CUDA kernel runs it with G threads per
// run (G = 4..32), the CPU runs it with G = 1. Both give bit-identical results because
//
//  * every element-wise operation is a shared ZO_HD body (perturb, apply_update, the direction
//    generator, example21_value / example21_gradient) with explicit rounding, and
//  * every reduction (yᵀz of a perturbed point, uᵀ∇f, ‖y‖², ‖z‖²) follows ONE canonical order that
//    does not depend on G: "pair-block" b (coordinates 4b..4b+3 of y and of z) belongs to virtual
//    lane b mod 32; each virtual lane accumulates its pair-blocks in increasing b (coordinates in
//    order, in double); the 32 virtual-lane sums are combined by the xor-butterfly tree
//    p[v] += p[v + off] for off = 16, 8, 4, 2, 1. A lane of a G-group owns virtual lanes
//    l, l+G, l+2G, ...: the tree levels with off ≥ G are local, the others are shuffles.
//
// The reductions run in a different order from the CPU RunBatch (which sums coordinates
// sequentially), so the two agree to within rounding (see tests/test_fused_example21.cpp for the
// measured tolerance), not bit for bit.
#pragma once

#include <cstddef>
#include <cstdint>

#include "batch/run_description.hpp"
#include "batch/step_math.hpp"
#include "objectives/example21_math.hpp"
#include "zo/config.hpp"
#include "zo/direction.hpp"

#if defined(__CUDA_ARCH__)
#define ZO_FUSED_UNROLL _Pragma("unroll")
#else
#define ZO_FUSED_UNROLL
#endif

namespace zo {
namespace detail {

/// Virtual lanes of the canonical reduction (fixed: results must not depend on the group size).
constexpr int kFusedVirtualLanes = 32;
/// Largest q (directions per step) the fused path supports.
constexpr std::uint32_t kFusedMaxQ = 64;
/// Largest d (dimension of y and of z) the fused path supports: 4 coordinates · 4 pair-blocks per
/// lane · 32 lanes. (8 pair-blocks per lane would spill registers on sm_90.)
constexpr std::uint32_t kFusedMaxHalfDim = 512;
/// Metrics written per logged iteration: loss h, trace ‖y‖² + ‖z‖², balancedness B.
constexpr int kFusedMetrics = 3;

/// Method codes of the fused engine (the values of zo::Method).
constexpr std::uint32_t kFusedZo = kMethodZo, kFusedGd = kMethodGd, kFusedZoLimit = kMethodZoLimit;

/// Divergence bookkeeping of one run (NonFinitePolicy::mark_diverged semantics).
struct FusedRunState {
  std::uint64_t diverged_at;
  std::uint32_t diverged;
  std::uint32_t pad;
};

/// The single-lane group of the CPU path.
struct HostLaneGroup {
  ZO_HD int lane() const { return 0; }
  ZO_HD double xor_add(double v, int) const { return v; }
  ZO_HD bool any(bool b) const { return b; }
};

/// 4 consecutive coordinates [first, first + 4) of a direction, for any alignment of `first`
/// (the z half of x = [y; z] starts at coordinate d, which need not be a multiple of 4).
ZO_HD ZO_INLINE Float4 direction_span4(Distribution dist, DirectionKey key, std::uint64_t first) {
  const Float4 a = direction4(dist, key, first >> 2, 1.0f);
  const unsigned offset = static_cast<unsigned>(first & 3u);
  if (offset == 0) return a;
  const Float4 b = direction4(dist, key, (first >> 2) + 1, 1.0f);
  Float4 out;
  // Select without dynamic register indexing (which would spill to local memory on the GPU).
  const float w[8] = {a.v[0], a.v[1], a.v[2], a.v[3], b.v[0], b.v[1], b.v[2], b.v[3]};
  ZO_FUSED_UNROLL
  for (int i = 0; i < 4; ++i) {
    const unsigned k = offset + static_cast<unsigned>(i);
    out.v[i] = k == 1 ? w[1] : k == 2 ? w[2] : k == 3 ? w[3] : k == 4 ? w[4] : k == 5 ? w[5] : w[6];
  }
  return out;
}

/// The canonical sum of 32 virtual-lane partial sums; `acc` holds this lane's 32/G of them
/// (acc[m] is virtual lane lane + G·m). Every lane of the group returns the same value.
template <int G, class Group>
ZO_HD ZO_INLINE double canonical_sum(const Group& group, double* acc) {
  constexpr int kLocal = kFusedVirtualLanes / G;
  ZO_FUSED_UNROLL
  for (int half = kLocal / 2; half >= 1; half /= 2) {
    ZO_FUSED_UNROLL
    for (int m = 0; m < half; ++m) acc[m] = acc[m] + acc[m + half];
  }
  double v = acc[0];
  ZO_FUSED_UNROLL
  for (int off = G / 2; off >= 1; off /= 2) v = group.xor_add(v, off);
  return v;
}

/// Per-lane iterate of one run: pair-block p of this lane is b = lane + G·p, holding
/// y[4b..4b+3] and z[4b..4b+3] (coordinates past d are ignored).
template <int PB>
struct FusedLaneState {
  float y[PB][4];
  float z[PB][4];
};

/// Loads this lane's coordinates of x = [y; z] (2d floats).
template <int G, int PB>
ZO_HD ZO_INLINE void fused_load(int lane, std::uint32_t d, const float* x, FusedLaneState<PB>& s) {
  const std::uint32_t nb = (d + 3) / 4;
  ZO_FUSED_UNROLL
  for (int p = 0; p < PB; ++p) {
    const std::uint32_t b = static_cast<std::uint32_t>(lane + G * p);
    ZO_FUSED_UNROLL
    for (int i = 0; i < 4; ++i) {
      const std::uint32_t c = 4 * b + static_cast<std::uint32_t>(i);
      const bool valid = b < nb && c < d;
      s.y[p][i] = valid ? x[c] : 0.0f;
      s.z[p][i] = valid ? x[d + c] : 0.0f;
    }
  }
}

/// Stores this lane's coordinates back into x.
template <int G, int PB>
ZO_HD ZO_INLINE void fused_store(int lane, std::uint32_t d, const FusedLaneState<PB>& s, float* x) {
  const std::uint32_t nb = (d + 3) / 4;
  ZO_FUSED_UNROLL
  for (int p = 0; p < PB; ++p) {
    const std::uint32_t b = static_cast<std::uint32_t>(lane + G * p);
    if (b >= nb) break;
    ZO_FUSED_UNROLL
    for (int i = 0; i < 4; ++i) {
      const std::uint32_t c = 4 * b + static_cast<std::uint32_t>(i);
      if (c < d) {
        x[c] = s.y[p][i];
        x[d + c] = s.z[p][i];
      }
    }
  }
}

/// Loss, trace and B of the current iterate (canonical reductions, identical on every lane).
template <int G, int PB, class Group>
ZO_HD ZO_INLINE void fused_measure(const Group& group, std::uint32_t d, const FusedLaneState<PB>& s,
                                   double* out) {
  constexpr int kAcc = kFusedVirtualLanes / G;
  const std::uint32_t nb = (d + 3) / 4;
  const int lane = group.lane();
  double yz[kAcc], yy[kAcc], zz[kAcc];
  ZO_FUSED_UNROLL
  for (int m = 0; m < kAcc; ++m) yz[m] = yy[m] = zz[m] = 0.0;
  ZO_FUSED_UNROLL
  for (int p = 0; p < PB; ++p) {
    const std::uint32_t b = static_cast<std::uint32_t>(lane + G * p);
    if (b >= nb) break;
    const int m = p % kAcc;
    ZO_FUSED_UNROLL
    for (int i = 0; i < 4; ++i) {
      if (4 * b + static_cast<std::uint32_t>(i) >= d) break;
      const double y = s.y[p][i], z = s.z[p][i];
      yz[m] += y * z;  // float × float is exact in double
      yy[m] += y * y;
      zz[m] += z * z;
    }
  }
  const double syz = canonical_sum<G>(group, yz);
  const double syy = canonical_sum<G>(group, yy);
  const double szz = canonical_sum<G>(group, zz);
  out[0] = example21_value(syz);
  out[1] = syy + szz;
  out[2] = 0.5 * (syy - szz);
}

/// yᵀz of the current iterate (the canonical reduction of fused_measure, identical on every
/// lane): what GD and ZO λ→0 need for their gradient.
template <int G, int PB, class Group>
ZO_HD ZO_INLINE double fused_dot_yz(const Group& group, std::uint32_t d,
                                    const FusedLaneState<PB>& s) {
  constexpr int kAcc = kFusedVirtualLanes / G;
  const std::uint32_t nb = (d + 3) / 4;
  const int lane = group.lane();
  double acc[kAcc];
  ZO_FUSED_UNROLL
  for (int m = 0; m < kAcc; ++m) acc[m] = 0.0;
  ZO_FUSED_UNROLL
  for (int p = 0; p < PB; ++p) {
    const std::uint32_t b = static_cast<std::uint32_t>(lane + G * p);
    if (b >= nb) break;
    ZO_FUSED_UNROLL
    for (int i = 0; i < 4; ++i) {
      if (4 * b + static_cast<std::uint32_t>(i) >= d) break;
      acc[p % kAcc] += static_cast<double>(s.y[p][i]) * static_cast<double>(s.z[p][i]);
    }
  }
  return canonical_sum<G>(group, acc);
}

/// The direction pair-block b of direction (seed, step, j): v = u[4b..4b+3] (the y part) and
/// w = u[d+4b..d+4b+3] (the z part).
ZO_HD ZO_INLINE void fused_direction(Distribution dist, DirectionKey key, std::uint32_t d,
                                     std::uint32_t b, Float4* v, Float4* w) {
  *v = direction4(dist, key, b, 1.0f);
  *w = direction_span4(dist, key, static_cast<std::uint64_t>(d) + 4u * b);
}

/// The directions of the fused loop generated in registers, pair-block by pair-block (the CUDA
/// kernel). A direction source has prepare(dist, key, d), called before the pair-blocks of a
/// direction are read, and pair(dist, key, d, b, &v, &w), which must give fused_direction()'s
/// values bit for bit (the CPU loop reads them from a buffer filled by the SIMD generator).
struct GeneratedFusedDirections {
  ZO_HD void prepare(Distribution, DirectionKey, std::uint32_t) {}
  ZO_HD ZO_INLINE void pair(Distribution dist, DirectionKey key, std::uint32_t d, std::uint32_t b,
                            Float4* v, Float4* w) const {
    fused_direction(dist, key, d, b, v, w);
  }
};

/// Runs steps [begin, end) of one run, recording metrics at the logged iterations. `log_its`
/// (sorted, n_log entries, all in [begin, end]) are iterations t whose iterate x_t is measured
/// into metrics + i·metric_stride (3 doubles, written by lane 0). A diverged run stays frozen
/// but is still measured. Under NaN/Inf (projected gradient, update coefficient or gradient) the
/// run is frozen and `diverged_at` records the step, as NonFinitePolicy::mark_diverged does.
/// The directions come from `dirs` (GeneratedFusedDirections or a precomputed equivalent).
template <int G, int PB, class Group, class Directions>
ZO_HD void fused_run_steps_with(const Group& group, Directions& dirs, std::uint32_t d,
                                const RunDescription& run, FusedLaneState<PB>& s,
                                FusedRunState& state, std::uint64_t begin, std::uint64_t end,
                                const std::uint64_t* log_its, std::uint32_t n_log, double* metrics,
                                std::size_t metric_stride) {
  constexpr int kAcc = kFusedVirtualLanes / G;
  const std::uint32_t nb = (d + 3) / 4;
  const int lane = group.lane();
  const auto dist = static_cast<Distribution>(run.distribution);
  const std::uint32_t q = run.q;
  std::uint32_t next_log = 0;
  float coef[kFusedMaxQ];     // update coefficients of this step (q > 1 only)
  Float4 uy[PB]{}, uz[PB]{};  // this step's direction, kept when q == 1

  for (std::uint64_t t = begin;; ++t) {
    while (next_log < n_log && log_its[next_log] == t) {
      double m[kFusedMetrics];
      fused_measure<G, PB>(group, d, s, m);
      if (lane == 0) {
        double* out = metrics + static_cast<std::size_t>(next_log) * metric_stride;
        out[0] = m[0];
        out[1] = m[1];
        out[2] = m[2];
      }
      ++next_log;
    }
    if (t >= end) break;
    if (state.diverged) continue;

    if (run.method == kFusedGd) {
      const double yz = fused_dot_yz<G, PB>(group, d, s);
      bool bad = false;
      ZO_FUSED_UNROLL
      for (int p = 0; p < PB; ++p) {
        const std::uint32_t b = static_cast<std::uint32_t>(lane + G * p);
        if (b >= nb) break;
        ZO_FUSED_UNROLL
        for (int i = 0; i < 4; ++i) {
          if (4 * b + static_cast<std::uint32_t>(i) >= d) break;
          bad = bad || !is_finite(example21_gradient(yz, s.z[p][i])) ||
                !is_finite(example21_gradient(yz, s.y[p][i]));
        }
      }
      if (group.any(bad)) {
        state.diverged = 1;
        state.diverged_at = t;
        continue;
      }
      ZO_FUSED_UNROLL
      for (int p = 0; p < PB; ++p) {
        const std::uint32_t b = static_cast<std::uint32_t>(lane + G * p);
        if (b >= nb) break;
        ZO_FUSED_UNROLL
        for (int i = 0; i < 4; ++i) {
          const float gy = example21_gradient(yz, s.z[p][i]);
          const float gz = example21_gradient(yz, s.y[p][i]);
          s.y[p][i] = apply_update(s.y[p][i], run.eta, gy);
          s.z[p][i] = apply_update(s.z[p][i], run.eta, gz);
        }
      }
      continue;
    }

    // ZO and ZO λ→0: one coefficient per direction j, all computed at the same x.
    double yz = 0.0;
    if (run.method == kFusedZoLimit) yz = fused_dot_yz<G, PB>(group, d, s);
    bool bad = false;
    float c0 = 0.0f;
    for (std::uint32_t j = 0; j < q; ++j) {
      const DirectionKey key{run.seed, static_cast<std::uint32_t>(t), j};
      double acc_a[kAcc], acc_b[kAcc];
      ZO_FUSED_UNROLL
      for (int m = 0; m < kAcc; ++m) acc_a[m] = acc_b[m] = 0.0;
      dirs.prepare(dist, key, d);
      ZO_FUSED_UNROLL
      for (int p = 0; p < PB; ++p) {
        const std::uint32_t b = static_cast<std::uint32_t>(lane + G * p);
        if (b >= nb) break;
        Float4 v, w;
        dirs.pair(dist, key, d, b, &v, &w);
        uy[p] = v;
        uz[p] = w;
        const int m = p % kAcc;
        // The pair-block's terms go into registers and back (the same sequence of adds).
        double sum_a = acc_a[m], sum_b = acc_b[m];
        if (run.method == kFusedZo) {
          // All four lanes computed, a lane past d contributes +0.0 (an exact no-op on a sum
          // that starts at +0.0): the same bits as stopping at d, and no branch per lane.
          double ta[4], tb[4];
          ZO_FUSED_UNROLL
          for (int i = 0; i < 4; ++i) {
            const bool valid = 4 * b + static_cast<std::uint32_t>(i) < d;
            const float yp = perturb(s.y[p][i], run.lambda, v.v[i]);
            const float zp = perturb(s.z[p][i], run.lambda, w.v[i]);
            const float ym = perturb(s.y[p][i], -run.lambda, v.v[i]);
            const float zm = perturb(s.z[p][i], -run.lambda, w.v[i]);
            ta[i] = valid ? static_cast<double>(yp) * static_cast<double>(zp) : 0.0;
            tb[i] = valid ? static_cast<double>(ym) * static_cast<double>(zm) : 0.0;
          }
          ZO_FUSED_UNROLL
          for (int i = 0; i < 4; ++i) {
            sum_a += ta[i];
            sum_b += tb[i];
          }
        } else {  // uᵀ∇f with ∇f = ((yᵀz − 1) z, (yᵀz − 1) y), pair by pair
          ZO_FUSED_UNROLL
          for (int i = 0; i < 4; ++i) {
            if (4 * b + static_cast<std::uint32_t>(i) >= d) break;
            const float gy = example21_gradient(yz, s.z[p][i]);
            const float gz = example21_gradient(yz, s.y[p][i]);
            sum_a += static_cast<double>(v.v[i]) * static_cast<double>(gy);
            sum_a += static_cast<double>(w.v[i]) * static_cast<double>(gz);
          }
        }
        acc_a[m] = sum_a;
        acc_b[m] = sum_b;
      }
      double g;
      if (run.method == kFusedZo) {
        const double f_plus = example21_value(canonical_sum<G>(group, acc_a));
        const double f_minus = example21_value(canonical_sum<G>(group, acc_b));
        g = projected_gradient(f_plus, f_minus, run.lambda);
      } else {
        g = canonical_sum<G>(group, acc_a);
      }
      const float c = update_coefficient(g, run.eta, q);
      bad = bad || !(is_finite(g) && is_finite(c));
      if (j == 0) c0 = c;
      if (q > 1) coef[j] = c;
    }
    if (bad) {  // identical on every lane of the group
      state.diverged = 1;
      state.diverged_at = t;
      continue;
    }
    for (std::uint32_t j = 0; j < q; ++j) {
      const float c = q == 1 ? c0 : coef[j];
      const DirectionKey key{run.seed, static_cast<std::uint32_t>(t), j};
      if (q > 1) dirs.prepare(dist, key, d);
      ZO_FUSED_UNROLL
      for (int p = 0; p < PB; ++p) {
        const std::uint32_t b = static_cast<std::uint32_t>(lane + G * p);
        if (b >= nb) break;
        if (q > 1) dirs.pair(dist, key, d, b, &uy[p], &uz[p]);  // regenerate u_j
        ZO_FUSED_UNROLL
        for (int i = 0; i < 4; ++i) {
          s.y[p][i] = apply_update(s.y[p][i], c, uy[p].v[i]);
          s.z[p][i] = apply_update(s.z[p][i], c, uz[p].v[i]);
        }
      }
    }
  }
}

/// fused_run_steps_with() generating the directions in registers.
template <int G, int PB, class Group>
ZO_HD void fused_run_steps(const Group& group, std::uint32_t d, const RunDescription& run,
                           FusedLaneState<PB>& s, FusedRunState& state, std::uint64_t begin,
                           std::uint64_t end, const std::uint64_t* log_its, std::uint32_t n_log,
                           double* metrics, std::size_t metric_stride) {
  GeneratedFusedDirections dirs;
  fused_run_steps_with<G, PB>(group, dirs, d, run, s, state, begin, end, log_its, n_log, metrics,
                              metric_stride);
}

}  // namespace detail
}  // namespace zo
