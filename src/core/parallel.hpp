// Internal: when a loop is worth a parallel region. Opening one and waking threads costs a few
// microseconds, and on a machine whose cores are busy with other work it can cost far more
// (threads wait for cores); a loop smaller than this runs on the calling thread instead.
// Parallel loops in zo are over runs, points or large coordinate ranges, each element computed by
// one fixed sequence of operations, so the results never depend on the thread count.
#pragma once

#include <cstddef>
#include <cstdint>

namespace zo {
namespace detail {

/// Element operations (coordinates × points, roughly) below which a loop stays serial.
constexpr std::size_t kMinParallelWork = std::size_t{1} << 15;

/// body(i) for i = 0 … n−1: an OpenMP static loop when `parallel`, else a plain loop on the
/// calling thread. Prefer it to `omp parallel for if (…)` on per-step paths: libgomp still enters
/// a region for a false `if` (one futex system call each, about 1 µs, which a small ZO step
/// cannot afford).
template <class Body>
void parallel_for(std::int64_t n, bool parallel, const Body& body) {
  if (parallel) {
#pragma omp parallel for schedule(static)
    for (std::int64_t i = 0; i < n; ++i) body(i);
  } else {
    for (std::int64_t i = 0; i < n; ++i) body(i);
  }
}

}  // namespace detail
}  // namespace zo
