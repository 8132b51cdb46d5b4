// Internal: the host bookkeeping of the CUDA Stepper's sphere-scale table
// (kernels/stepper/stepper_cuda.cu). The device holds two banks of kMaxStepperQ floats; direction
// (step, j) lives in slot scale_slot(step, j) = (step mod 2)·kMaxStepperQ + j. A pass reads the
// directions of at most two consecutive steps (its own and, merged, the next), one per bank, so
// a bank is reset when a step of the same parity but another number claims it. Plain host code:
// tests/test_stepper.cpp replays pass sequences against it on the CPU.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "stepper/stepper_math.hpp"

namespace zo {
namespace detail {

/// Slot of direction (step, j) in the table (2·kMaxStepperQ floats).
ZO_HD ZO_INLINE std::uint32_t scale_slot(std::uint32_t step, std::uint32_t j) {
  return (step & 1u) * kMaxStepperQ + j;
}

/// Calls f(step, j) for every direction whose sphere scale pass `s` reads (stepper_unit: the
/// entry direction when it is regenerated, the q update directions, the exit direction).
template <class F>
void for_each_scaled_direction(const PassSpec& s, F f) {
  if (s.entry != PassEntry::at_x && (s.mode != RestoreMode::copy || s.arithmetic_flip)) {
    f(s.step_a, s.substream_a);
  }
  for (std::uint32_t j = 0; j < s.num_updates; ++j) f(s.update_step, j);
  if (s.exit_sign != 0) f(s.step_b, s.substream_b);
}

/// Which slots of the device table hold which direction's scale.
class SphereScaleTable {
 public:
  /// True when the scale of (seed, step, j) must be computed into scale_slot(step, j); marks it
  /// as held from then on (the caller queues the computation before any pass that reads it).
  bool request(std::uint64_t seed, std::uint32_t step, std::uint32_t j) {
    Bank& bank = banks_[step & 1u];
    if (!bank.valid || bank.step != step || bank.seed != seed) {
      bank.valid = true;
      bank.step = step;
      bank.seed = seed;
      std::fill(bank.held.begin(), bank.held.end(), false);
    }
    if (bank.held[j]) return false;
    bank.held[j] = true;
    return true;
  }

 private:
  struct Bank {
    bool valid = false;
    std::uint32_t step = 0;
    std::uint64_t seed = 0;
    std::vector<bool> held = std::vector<bool>(kMaxStepperQ, false);
  };
  Bank banks_[2];
};

}  // namespace detail
}  // namespace zo
