// Internal: the loss loop of the margins engine (src/batch/linear_margins_cpu.cpp), exported for
// its test.
#pragma once

#include <cstddef>

#include "zo/export.hpp"

namespace zo {
namespace detail {

/// t[i] = ℓ(m[i] + s·w[i]) for i < len with labels b ∈ {−1, +1}: the value of
/// linear_loss_terms(loss_kind, ...) (loss_kind 0: squared hinge, 1: logistic), in a loop that
/// vectorises for the logistic loss. Compiled for AVX-512 and for the library's baseline and
/// picked at load time where the compiler can; each lane performs the scalar body's IEEE
/// operations in order, so the bits are those of the scalar terms.
ZO_API void margins_loss_values(int loss_kind, const double* m, const double* w, double s,
                                const float* b, double* t, std::size_t len);

}  // namespace detail
}  // namespace zo
