// Internal: when a loop is worth a parallel region. Opening one and waking threads costs a few
// microseconds, and on a machine whose cores are busy with other work it can cost far more
// (threads wait for cores); a loop smaller than this runs on the calling thread instead.
// Parallel loops in zo are over runs, points or large coordinate ranges, each element computed by
// one fixed sequence of operations, so the results never depend on the thread count.
#pragma once

#include <cstddef>

namespace zo {
namespace detail {

/// Element operations (coordinates × points, roughly) below which a loop stays serial.
constexpr std::size_t kMinParallelWork = std::size_t{1} << 15;

}  // namespace detail
}  // namespace zo
