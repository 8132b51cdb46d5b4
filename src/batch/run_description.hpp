// Internal: a run as kernels and per-run CPU loops read it. RunSpec is not trivially copyable
// into device memory with its enums, so every engine converts it here, in one place.
#pragma once

#include <cstdint>

#include "zo/run_batch.hpp"

namespace zo {
namespace detail {

/// The hyper-parameters of one run (RunSpec), trivially copyable, enums as their integer values.
struct RunDescription {
  std::uint64_t seed;
  float lambda;
  float eta;
  std::uint32_t q;
  std::uint32_t method;        ///< zo::Method (zo = 0, gd = 1, zo_limit = 2)
  std::uint32_t distribution;  ///< zo::Distribution
  std::uint32_t pad;
};

/// Method codes (the values of zo::Method), for device code.
constexpr std::uint32_t kMethodZo = 0, kMethodGd = 1, kMethodZoLimit = 2;
static_assert(static_cast<std::uint32_t>(Method::zo) == kMethodZo &&
                  static_cast<std::uint32_t>(Method::gd) == kMethodGd &&
                  static_cast<std::uint32_t>(Method::zo_limit) == kMethodZoLimit,
              "method codes");

/// The description of `spec`.
inline RunDescription describe(const RunSpec& spec) {
  RunDescription d{};
  d.seed = spec.seed;
  d.lambda = spec.lambda;
  d.eta = spec.eta;
  d.q = spec.q;
  d.method = static_cast<std::uint32_t>(spec.method);
  d.distribution = static_cast<std::uint32_t>(spec.distribution);
  d.pad = 0;
  return d;
}

}  // namespace detail
}  // namespace zo
