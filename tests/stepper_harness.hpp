// Test support for zo::Stepper: an independent reference of the MeZO sequence written as plain
// loops over direction_at() (no PassSpec, no stepper_unit), tensor layouts with awkward sizes
// and deliberately misaligned starts, and a driver that runs the same call sequence on a
// Stepper and on the reference. Shared by the CPU and GPU stepper tests.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <string>
#include <vector>

#include "stepper/bf16.hpp"
#include "stepper/stepper_math.hpp"
#include "zo/direction.hpp"
#include "zo/directions.hpp"
#include "zo/run_batch.hpp"
#include "zo/stepper.hpp"

namespace zo_test {

/// True under compute-sanitizer (scripts/gpu-check.sh sets ZO_SANITIZER=1): kernels run 10-100x
/// slower there, so the GPU tests shrink their grids and skip the largest sizes.
inline bool under_sanitizer() {
  const char* v = std::getenv("ZO_SANITIZER");
  return v != nullptr && *v != '\0' && std::string(v) != "0";
}

/// A value rounded to a parameter type (the reference's own statement of the rounding).
inline float round_as(bool bf16, float v) { return bf16 ? zo::detail::round_to_bf16(v) : v; }

inline std::uint32_t bits_of(float v) {
  std::uint32_t b;
  std::memcpy(&b, &v, 4);
  return b;
}

/// Tensor sizes and dtypes of a concatenated vector, plus the element offset at which each
/// tensor starts inside its allocation (to make vector accesses misaligned on purpose).
struct Layout {
  std::vector<std::uint64_t> sizes;
  std::vector<zo::DType> dtypes;      ///< one per tensor, or one for all
  std::vector<std::uint32_t> shifts;  ///< element shift of each tensor's start (empty: none)

  std::uint64_t dim() const {
    std::uint64_t d = 0;
    for (auto s : sizes) d += s;
    return d;
  }
  zo::DType dtype(std::size_t k) const { return dtypes.size() == 1 ? dtypes[0] : dtypes[k]; }
  std::uint32_t shift(std::size_t k) const { return shifts.empty() ? 0 : shifts[k]; }
  /// Per-coordinate bf16 flag of the concatenated vector.
  std::vector<std::uint8_t> bf16_mask() const {
    std::vector<std::uint8_t> m;
    for (std::size_t k = 0; k < sizes.size(); ++k)
      m.insert(m.end(), sizes[k], dtype(k) == zo::DType::bf16 ? 1 : 0);
    return m;
  }
  std::string describe() const {
    std::ostringstream os;
    os << "[";
    for (std::size_t k = 0; k < sizes.size(); ++k)
      os << (k ? " " : "") << sizes[k] << ":" << zo::to_string(dtype(k))
         << (shift(k) ? "+" + std::to_string(shift(k)) : "");
    os << "]";
    return os.str();
  }
};

/// Parameters in host memory laid out as `layout` says.
class HostParams {
 public:
  explicit HostParams(const Layout& layout) : layout_(layout) {
    for (std::size_t k = 0; k < layout.sizes.size(); ++k) {
      const std::size_t size = zo::dtype_size(layout.dtype(k));
      storage_.emplace_back((layout.sizes[k] + layout.shift(k)) * size + 64);
    }
  }
  std::vector<zo::ParamTensor> tensors() {
    std::vector<zo::ParamTensor> t;
    for (std::size_t k = 0; k < layout_.sizes.size(); ++k)
      t.push_back({data(k), layout_.sizes[k], layout_.dtype(k), zo::MemorySpace::host});
    return t;
  }
  /// Writes the concatenated values (already representable in each tensor's dtype).
  void set(const std::vector<float>& x) {
    std::uint64_t i = 0;
    for (std::size_t k = 0; k < layout_.sizes.size(); ++k) {
      const bool bf = layout_.dtype(k) == zo::DType::bf16;
      auto* p = static_cast<unsigned char*>(data(k));
      for (std::uint64_t e = 0; e < layout_.sizes[k]; ++e, ++i) {
        if (bf) {
          const std::uint16_t b = zo::detail::float_to_bf16(x[i]);
          std::memcpy(p + 2 * e, &b, 2);
        } else {
          std::memcpy(p + 4 * e, &x[i], 4);
        }
      }
    }
  }
  std::vector<float> get() const {
    std::vector<float> x;
    for (std::size_t k = 0; k < layout_.sizes.size(); ++k) {
      const bool bf = layout_.dtype(k) == zo::DType::bf16;
      const auto* p = static_cast<const unsigned char*>(const_cast<HostParams*>(this)->data(k));
      for (std::uint64_t e = 0; e < layout_.sizes[k]; ++e) {
        if (bf) {
          std::uint16_t b;
          std::memcpy(&b, p + 2 * e, 2);
          x.push_back(zo::detail::bf16_to_float(b));
        } else {
          float v;
          std::memcpy(&v, p + 4 * e, 4);
          x.push_back(v);
        }
      }
    }
    return x;
  }
  void* data(std::size_t k) {
    // 64-byte aligned base, then the requested element shift.
    auto* raw = storage_[k].data();
    const auto mis = reinterpret_cast<std::uintptr_t>(raw) % 64;
    raw += mis ? 64 - mis : 0;
    return raw + layout_.shift(k) * zo::dtype_size(layout_.dtype(k));
  }

 private:
  Layout layout_;
  std::vector<std::vector<unsigned char>> storage_;
};

/// Values that stress rounding: Gaussians of several scales, zeros of both signs, tiny and huge
/// values, rounded to each coordinate's dtype.
inline std::vector<float> awkward_values(const std::vector<std::uint8_t>& bf16, std::uint64_t seed,
                                         float sigma = 0.05f) {
  std::vector<float> x(bf16.size());
  zo::gaussian_fill(seed, 7, x.data(), x.size());
  for (std::size_t i = 0; i < x.size(); ++i) {
    float v = x[i] * sigma;
    if (i % 17 == 5) v = 0.0f;
    if (i % 29 == 11) v = -0.0f;
    if (i % 31 == 3) v = 1e-30f * (x[i] < 0 ? -1.0f : 1.0f);
    if (i % 37 == 7) v = 3.0e4f * x[i];
    if (i % 41 == 1) v = 1.0f;  // a power of two: binade edges
    x[i] = round_as(bf16[i] != 0, v);
  }
  return x;
}

/// Deterministic stand-ins for f(x ± λu) at step t, direction j.
inline double fake_f_plus(std::uint64_t t, std::uint32_t j) {
  return 1.0 + 0.25 * std::sin(1.0 + static_cast<double>(t) + 0.37 * j);
}
inline double fake_f_minus(std::uint64_t t, std::uint32_t j) {
  return 1.0 - 0.2 * std::cos(2.0 + static_cast<double>(t) + 0.11 * j);
}

/// The MeZO sequence written out directly: the specification the Stepper must match bit for bit.
class ReferenceStepper {
 public:
  ReferenceStepper(std::vector<float> x, std::vector<std::uint8_t> bf16,
                   const zo::StepperOptions& o)
      : o_(o), bf_(std::move(bf16)), cur_(std::move(x)), xt_(cur_), step_(o.start_step) {}

  void perturb() {
    perturbed_ = true;
    minus_ = false;
    if (pending_) {
      pending_ = false;
      j_ = 0;
      return;
    }
    if (recorded_) {
      if (arithmetic()) {
        shift(j_, o_.lambda);  // restore direction j ...
        ++j_;
        shift(j_, o_.lambda);  // ... then perturb direction j+1 (rounded in between)
      } else {
        ++j_;
        from_xt(j_, o_.lambda);
      }
      recorded_ = false;
      return;
    }
    j_ = 0;
    if (arithmetic()) {
      shift(0, o_.lambda);
    } else {
      from_xt(0, o_.lambda);
    }
  }

  void flip() {
    minus_ = true;
    if (arithmetic()) {
      shift(j_, -2.0f * o_.lambda);
    } else {
      from_xt(j_, -o_.lambda);
    }
  }

  void update(double fp, double fm) {
    const double g = (fp - fm) / (2.0 * static_cast<double>(o_.lambda));
    coef_.resize(o_.q);
    coef_[j_] = static_cast<float>(static_cast<double>(o_.eta) * g / static_cast<double>(o_.q));
    if (j_ + 1 < o_.q) {
      recorded_ = true;
      return;
    }
    if (arithmetic()) {
      shift(j_, o_.lambda);
      xt_ = cur_;
    }
    std::vector<float> y = xt_;
    for (std::uint32_t j = 0; j < o_.q; ++j) {
      const std::vector<float> u = direction(step_, j);
      for (std::size_t i = 0; i < y.size(); ++i) y[i] = zo::detail::fma_f(-coef_[j], u[i], y[i]);
    }
    for (std::size_t i = 0; i < y.size(); ++i) xt_[i] = round_as(bf_[i] != 0, y[i]);
    cur_ = xt_;
    ++step_;
    j_ = 0;
    perturbed_ = minus_ = false;
    if (o_.merge_next_perturbation) {
      from_xt(0, o_.lambda);  // same rounding as a perturb() pass
      pending_ = perturbed_ = true;
    }
  }

  void restore() {
    // Which perturbation is in place: after flip/record it is −λu_j, else +λu_j.
    if (!perturbed_) return;
    if (arithmetic()) {
      shift(j_, minus_ ? o_.lambda : -o_.lambda);
      xt_ = cur_;
    } else {
      cur_ = xt_;
    }
    j_ = 0;
    recorded_ = pending_ = perturbed_ = minus_ = false;
  }

  const std::vector<float>& x() const { return cur_; }
  std::uint64_t step() const { return step_; }
  std::uint32_t direction() const { return j_; }

 private:
  bool arithmetic() const { return o_.restore == zo::RestoreMode::arithmetic; }

  std::vector<float> direction(std::uint64_t step, std::uint32_t j) const {
    const zo::DirectionKey key{o_.seed, static_cast<std::uint32_t>(step), j};
    const float scale =
        o_.distribution == zo::Distribution::sphere ? zo::sphere_scale(key, cur_.size()) : 1.0f;
    std::vector<float> u(cur_.size());
    for (std::size_t i = 0; i < u.size(); ++i)
      u[i] = zo::direction_at(o_.distribution, key, o_.coordinate_offset + i, scale);
    return u;
  }

  /// cur ← round(cur + s·u_j), the in-place arithmetic of MeZO.
  void shift(std::uint32_t j, float s) {
    const std::vector<float> u = direction(step_, j);
    for (std::size_t i = 0; i < u.size(); ++i)
      cur_[i] = round_as(bf_[i] != 0, zo::detail::fma_f(s, u[i], cur_[i]));
  }

  /// cur ← round(x_t + s·u_j): one rounding from the exact iterate.
  void from_xt(std::uint32_t j, float s) {
    const std::vector<float> u = direction(step_, j);
    for (std::size_t i = 0; i < u.size(); ++i)
      cur_[i] = round_as(bf_[i] != 0, zo::detail::fma_f(s, u[i], xt_[i]));
  }

  zo::StepperOptions o_;
  std::vector<std::uint8_t> bf_;
  std::vector<float> cur_, xt_;
  std::vector<float> coef_;
  std::uint64_t step_;
  std::uint32_t j_ = 0;
  bool recorded_ = false, pending_ = false, minus_ = false, perturbed_ = false;
};

/// Bitwise equality of two value vectors, reporting the first difference.
inline ::testing::AssertionResult SameBits(const std::vector<float>& actual,
                                           const std::vector<float>& expected) {
  if (actual.size() != expected.size())
    return ::testing::AssertionFailure() << "size " << actual.size() << " vs " << expected.size();
  std::size_t diffs = 0, first = 0;
  for (std::size_t i = 0; i < actual.size(); ++i) {
    if (bits_of(actual[i]) != bits_of(expected[i])) {
      if (diffs++ == 0) first = i;
    }
  }
  if (diffs == 0) return ::testing::AssertionSuccess();
  std::ostringstream os;
  os.precision(9);
  os << diffs << " of " << actual.size() << " coordinates differ; first at " << first << ": "
     << actual[first] << " (0x" << std::hex << bits_of(actual[first]) << ") vs " << expected[first]
     << " (0x" << bits_of(expected[first]) << ")";
  return ::testing::AssertionFailure() << os.str();
}

/// The calls of a test script.
enum class Op { perturb, flip, update, restore };

/// t steps of (perturb, flip, update) × q, with a restore() at the end when merged.
inline std::vector<Op> full_steps(std::uint64_t steps, std::uint32_t q, bool merged) {
  std::vector<Op> ops;
  for (std::uint64_t t = 0; t < steps; ++t)
    for (std::uint32_t j = 0; j < q; ++j) {
      ops.push_back(Op::perturb);
      ops.push_back(Op::flip);
      ops.push_back(Op::update);
    }
  if (merged) ops.push_back(Op::restore);
  return ops;
}

/// Runs `ops` on a Stepper or a ReferenceStepper; `after(i)` is called after each call.
template <typename S, typename After>
void drive(S& s, const std::vector<Op>& ops, After after) {
  for (std::size_t i = 0; i < ops.size(); ++i) {
    switch (ops[i]) {
      case Op::perturb:
        s.perturb();
        break;
      case Op::flip:
        s.flip();
        break;
      case Op::update:
        s.update(fake_f_plus(s.step(), s.direction()), fake_f_minus(s.step(), s.direction()));
        break;
      case Op::restore:
        s.restore();
        break;
    }
    after(i);
  }
}

/// Zeros, and tiny values every third coordinate: none can be recovered from round(x ± λu), so
/// nearly every coordinate goes to the residual record's exception list.
inline std::vector<float> mostly_zero_values(std::uint64_t d, bool bf16) {
  std::vector<float> x(d, 0.0f);
  for (std::uint64_t i = 0; i < d; i += 3)
    x[i] = round_as(bf16, 1e-7f * static_cast<float>(i % 11));
  return x;
}

/// Whether the residual record of x (a value of the parameter type) escapes (code 3) when a pass
/// moves it by +λu or by −λu.
inline bool escapes_at(bool bf16, float x, float u, float lambda) {
  for (const float shift : {lambda, -lambda}) {
    const float moved = round_as(bf16, zo::detail::fma_f(shift, u, x));
    const float estimate = round_as(bf16, zo::detail::fma_f(-shift, u, moved));
    if (zo::detail::residual_code(bf16, x, estimate) == zo::detail::kCodeEscape) return true;
  }
  return false;
}

/// Values of one dtype whose residual record escapes for direction j of step `step` and for no
/// direction before it (the directions j' < q of steps o.start_step … step − 1, then j' < j), so
/// that the exception list overflows first in that pair (for step > o.start_step only while the
/// iterate does not move, i.e. with η = 0): coordinate i gets the largest 1.37·2^-k (k = 1..40)
/// that escapes for that direction only, or 1.37 (inside its binade at any λ|u| < 0.37, so it
/// never escapes).
inline std::vector<float> values_escaping_first_at(const zo::StepperOptions& o, std::uint64_t d,
                                                   bool bf16, std::uint64_t step, std::uint32_t j) {
  std::vector<zo::DirectionKey> before;
  for (std::uint64_t t = o.start_step; t <= step; ++t)
    for (std::uint32_t k = 0; k < (t < step ? o.q : j); ++k)
      before.push_back({o.seed, static_cast<std::uint32_t>(t), k});
  const zo::DirectionKey target{o.seed, static_cast<std::uint32_t>(step), j};
  std::vector<float> x(d, round_as(bf16, 1.37f));
  for (std::uint64_t i = 0; i < d; ++i) {
    auto u = [&](const zo::DirectionKey& key) {
      return zo::direction_at(o.distribution, key, o.coordinate_offset + i, 1.0f);
    };
    for (int k = 1; k <= 40; ++k) {
      const float v = round_as(bf16, std::ldexp(1.37f, -k));
      bool earlier = false;
      for (std::size_t b = 0; b < before.size() && !earlier; ++b)
        earlier = escapes_at(bf16, v, u(before[b]), o.lambda);
      if (!earlier && escapes_at(bf16, v, u(target), o.lambda)) {
        x[i] = v;
        break;
      }
    }
  }
  return x;
}

/// A stand-in objective that reads the parameters: f(x) = Σ_i w_i x_i + ½ Σ_i x_i², w_i =
/// sin(i), summed in double. A pair evaluated at a point that was not fully perturbed gives
/// other values, hence another update.
inline double probe_objective(const std::vector<float>& x) {
  double f = 0.0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    const double v = x[i];
    f += std::sin(static_cast<double>(i)) * v + 0.5 * v * v;
  }
  return f;
}

/// The scenarios of the ResidualCheck::at_update retry tests, on d = 50,000 coordinates (the
/// initial exception list holds 1024 entries): f32 and bf16, q = 1 and 2, merged or not, and the
/// list overflowing first in the pair of direction `first_pair` (0: mostly-zero values, which
/// overflow it in the first pair of the first step; 1: values that escape only for u_1, so that
/// the retry must keep the pair of direction 0 already recorded). `options(q, merged)` gives the
/// file's residual-mode options; f(layout, options with η = 1e-4, x0, first_pair) runs one case.
template <class Options, class F>
void for_each_retry_case(Options options, F f) {
  const std::uint64_t d = 50000;
  for (zo::DType dt : {zo::DType::f32, zo::DType::bf16})
    for (std::uint32_t q : {1u, 2u})
      for (bool merged : {false, true})
        for (std::uint32_t first_pair = 0; first_pair < q; ++first_pair) {
          const bool bf = dt == zo::DType::bf16;
          SCOPED_TRACE(std::string(zo::to_string(dt)) + " q=" + std::to_string(q) +
                       (merged ? " merged" : "") + " overflow first in pair " +
                       std::to_string(first_pair));
          const Layout l{{d}, {dt}, {}};
          zo::StepperOptions o = options(q, merged);
          o.eta = 1e-4f;
          const std::vector<float> x0 =
              first_pair == 0 ? mostly_zero_values(d, bf)
                              : values_escaping_first_at(o, d, bf, o.start_step, first_pair);
          f(l, o, x0, first_pair);
        }
}

/// What a caller loop with retries (run_with_retries) did.
struct RetryRun {
  std::vector<float> x;                         ///< the parameters at the end (restored)
  std::vector<std::vector<float>> iterates;     ///< x_t at the start of each step (unmerged)
  std::vector<std::uint32_t> retry_directions;  ///< direction() of each UpdateResult::retry
  zo::RestoreMode final_mode = zo::RestoreMode::arithmetic;
};

/// The caller loop of ResidualCheck::at_update: `steps` steps of q pairs, each f read from the
/// parameters (`params.get()`), a pair evaluated again when update() returns retry; restore() at
/// the end. At each retry it checks that the step stayed where it was (step(), direction(),
/// phase ready) and, given the iterates x_t of a run without retries (`expected_iterates`),
/// that the parameters hold x_t bit for bit.
template <class Params>
RetryRun run_with_retries(zo::Stepper& s, Params& params, std::uint64_t steps,
                          const std::vector<std::vector<float>>* expected_iterates = nullptr) {
  const std::uint32_t q = s.options().q;
  const bool merged = s.options().merge_next_perturbation;
  RetryRun r;
  for (std::uint64_t t = 0; t < steps; ++t) {
    const std::uint64_t step = s.step();
    if (!merged) r.iterates.push_back(params.get());
    for (std::uint32_t j = 0; j < q;) {
      s.perturb();
      const double f_plus = probe_objective(params.get());
      s.flip();
      const double f_minus = probe_objective(params.get());
      const zo::UpdateResult result = s.update(f_plus, f_minus);
      if (result == zo::UpdateResult::retry) {
        r.retry_directions.push_back(j);
        EXPECT_EQ(s.step(), step);
        EXPECT_EQ(s.direction(), j);
        EXPECT_EQ(s.phase(), zo::StepperPhase::ready);
        if (expected_iterates && t < expected_iterates->size()) {
          EXPECT_TRUE(SameBits(params.get(), (*expected_iterates)[t]))
              << "after a retry at step " << step << ", direction " << j;
        }
        continue;
      }
      EXPECT_EQ(result, j + 1 < q ? zo::UpdateResult::recorded : zo::UpdateResult::applied);
      ++j;
    }
  }
  s.restore();
  s.synchronize();
  r.x = params.get();
  r.final_mode = s.restore_mode();
  return r;
}

}  // namespace zo_test
