// The host-side arithmetic of zo's CUDA launches, checked on the CPU: index and step ranges of
// the direction-generation ceiling near 2^32, the persistent kernel's group choice with the SM
// counts of real GPUs (src/batch/fused_launch.hpp), the classification of pointers marked
// device memory from stubbed cudaPointerGetAttributes answers (zo/device_pointer.hpp), and the
// CUDA Stepper's sphere-scale table replayed over the passes the state machine issues
// (src/stepper/sphere_scale_table.hpp). The kernels
// call these functions; the GPU tests then only check the launches themselves.
#include <gtest/gtest.h>

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "batch/fused_launch.hpp"
#include "stepper/sphere_scale_table.hpp"
#include "zo/device_pointer.hpp"

namespace {

using namespace zo::detail;

constexpr int kH100Sms = 132;  // H100 SXM and H200 (sm_90)
constexpr int kH100PcieSms = 114;

// ---- the direction-generation ceiling -----------------------------------------------------

TEST(GridStride, VisitsEveryItemOnceForSmallCounts) {
  const std::uint64_t count = 1000, threads = 96;
  std::vector<int> seen(count, 0);
  for (std::uint64_t t = 0; t < threads; ++t) {
    const GridStride loop{t, threads, count};
    for (std::uint64_t j = loop.first; !loop.done(j); j = loop.next(j)) ++seen[j];
  }
  for (std::uint64_t j = 0; j < count; ++j) ASSERT_EQ(seen[j], 1) << "item " << j;
}

TEST(GridStride, EndsNearTwoToThe32) {
  // The largest item count generate_directions accepts (runs × d/4 < 2^32) and a grid of
  // 65535 × 256 threads: the last thread's index passes the count without wrapping, so its loop
  // ends after the items it owns. A 32-bit index (j += stride) wraps to a small value here and
  // the loop never ends.
  const std::uint64_t count = (std::uint64_t{1} << 32) - 1;
  const std::uint64_t threads = 65535ull * 256;
  for (std::uint64_t t : {std::uint64_t{0}, threads / 2, threads - 1}) {
    const GridStride loop{t, threads, count};
    std::uint64_t visits = 0, last = 0;
    for (std::uint64_t j = loop.first; !loop.done(j); j = loop.next(j)) {
      ASSERT_GE(j, last);
      last = j;
      ++visits;
      ASSERT_LE(visits, count / threads + 1) << "thread " << t << " loops past its items";
    }
    EXPECT_EQ(visits, (count - t + threads - 1) / threads) << "thread " << t;
    const auto wrapped32 = static_cast<std::uint32_t>(static_cast<std::uint32_t>(last) +
                                                      static_cast<std::uint32_t>(threads));
    if (last + threads >= (std::uint64_t{1} << 32)) {
      EXPECT_LT(wrapped32, count) << "the 32-bit loop of thread " << t << " would not end";
    }
  }
}

TEST(SliceSteps, CoverEveryStepOnceWithoutWrapping) {
  for (std::uint64_t steps :
       {std::uint64_t{1}, std::uint64_t{7}, std::uint64_t{1000}, (std::uint64_t{1} << 32) - 1}) {
    for (std::uint64_t slices : {std::uint64_t{1}, std::uint64_t{3}, std::uint64_t{65535}}) {
      const std::uint64_t per = (steps + slices - 1) / slices;
      std::uint64_t next = 0;
      for (std::uint64_t y = 0; y < slices; ++y) {
        const StepRange r = slice_steps(steps, per, y);
        ASSERT_LE(r.begin, r.end);
        ASSERT_LE(r.end, steps);
        if (r.begin == r.end) continue;
        ASSERT_EQ(r.begin, next) << "steps " << steps << ", slice " << y;
        next = r.end;
      }
      EXPECT_EQ(next, steps) << "steps " << steps << ", " << slices << " slices";
    }
  }
  // The slice that wraps in 32 bits: t0 = 2^32 - 2 with 16 steps per slice ends at the last
  // step, not at (2^32 - 2 + 16) mod 2^32 = 14, which would make the slice empty.
  const std::uint64_t steps = (std::uint64_t{1} << 32) - 1;
  const StepRange r = slice_steps(steps, 16, (steps - 1) / 16);
  EXPECT_EQ(r.end, steps);
  EXPECT_LT(r.begin, r.end);
  const auto end32 = static_cast<std::uint32_t>(static_cast<std::uint32_t>(r.begin) + 16u);
  EXPECT_LT(end32, r.begin) << "the case does not wrap in 32 bits";
}

// ---- the persistent kernel's group choice ---------------------------------------------------

TEST(FusedGroup, PairBlocksPerLane) {
  EXPECT_EQ(fused_pair_blocks(100, 32), 1);  // 25 pair-blocks
  EXPECT_EQ(fused_pair_blocks(100, 16), 2);
  EXPECT_EQ(fused_pair_blocks(100, 8), 4);
  EXPECT_EQ(fused_pair_blocks(100, 4), 0);
  EXPECT_EQ(fused_pair_blocks(512, 32), 4);
  EXPECT_EQ(fused_pair_blocks(513, 32), 0);
}

TEST(FusedGroup, NoNearlyEmptySecondWave) {
  // K = 2200 runs of d = 100 with 16 resident warps per SM (4 blocks of 128 threads): G = 32
  // needs 2200 warps, one full wave of 2112 and a second of 88 warps (under one per SM) that
  // costs a whole latency-bound step sequence. G = 16 runs everything in one wave.
  const std::array<int, 4> resident = {16, 16, 16, 16};
  for (int sms : {kH100Sms, kH100PcieSms}) {
    const int g = choose_fused_group(100, 2200, sms, resident);
    const FusedGroupPlan p = plan_fused_group(100, 2200, g, sms, resident[0]);
    EXPECT_EQ(p.waves, 1u) << sms << " SMs: G = " << g;
    EXPECT_EQ(g, 16) << sms << " SMs";
    const FusedGroupPlan g32 = plan_fused_group(100, 2200, 32, sms, resident[0]);
    EXPECT_EQ(g32.waves, 2u) << sms << " SMs";
  }
}

TEST(FusedGroup, EverythingResidentKeepsOneLanePerPairBlock) {
  // With 64 resident warps per SM the 2200 warps of G = 32 fit in one wave: G = 32 (one
  // pair-block per lane) is cheaper than G = 16 (two per lane).
  const std::array<int, 4> resident = {64, 64, 64, 64};
  EXPECT_EQ(choose_fused_group(100, 2200, kH100Sms, resident), 32);
}

TEST(FusedGroup, SmallDimensionUsesSmallGroups) {
  // d = 20: 5 pair-blocks. Few runs: every group size is one latency-bound wave, so the best
  // lane utilisation wins (G = 8, 5 of 8 slots, before G = 4 with 5 of 8 on two pair-blocks).
  const std::array<int, 4> resident = {32, 32, 32, 32};
  EXPECT_EQ(choose_fused_group(20, 100, kH100Sms, resident), 8);
  // Many runs: throughput-bound; G = 32 would do 4 times the warps of G = 8.
  const int g = choose_fused_group(20, 100000, kH100Sms, resident);
  EXPECT_TRUE(g == 8 || g == 4) << g;
  const FusedGroupPlan chosen = plan_fused_group(20, 100000, g, kH100Sms, 32);
  const FusedGroupPlan g32 = plan_fused_group(20, 100000, 32, kH100Sms, 32);
  EXPECT_LT(chosen.cost, g32.cost / 3);
}

TEST(FusedGroup, ResidencyDecidesBetweenEqualUtilisations) {
  // The same run count on fewer resident warps for the large group (more registers per lane)
  // moves the choice to a smaller group once G = 32 needs a second wave.
  const std::array<int, 4> low32 = {8, 16, 16, 16};
  const int g = choose_fused_group(100, 1200, kH100Sms, low32);
  EXPECT_NE(g, 32);
  EXPECT_EQ(plan_fused_group(100, 1200, g, kH100Sms, 16).waves, 1u);
}

TEST(FusedGroup, DimensionTooLargeForEveryGroup) {
  const std::array<int, 4> resident = {16, 16, 16, 16};
  EXPECT_EQ(choose_fused_group(4096, 10, kH100Sms, resident), 0);
  EXPECT_EQ(choose_fused_group(100, 10, kH100Sms, {0, 0, 0, 0}), 0);
}

// ---- pointers marked MemorySpace::device ----------------------------------------------------

PointerFacts facts(PointerMemory memory, int device = 0, bool failed = false) {
  PointerFacts f;
  f.query_failed = failed;
  f.memory = memory;
  f.device = device;
  return f;
}

TEST(DevicePointer, DeviceAndManagedMemoryPass) {
  EXPECT_EQ(device_pointer_problem(facts(PointerMemory::device, 0), 0, "x"), "");
  EXPECT_EQ(device_pointer_problem(facts(PointerMemory::device, 3), 3, "x"), "");
  EXPECT_EQ(device_pointer_problem(facts(PointerMemory::managed, 1), 0, "x"), "");
}

TEST(DevicePointer, HostMemoryIsRejectedByName) {
  const std::string plain =
      device_pointer_problem(facts(PointerMemory::unregistered), 0, "LinearModel: the points");
  EXPECT_NE(plain.find("LinearModel: the points"), std::string::npos) << plain;
  EXPECT_NE(plain.find("host memory"), std::string::npos) << plain;
  const std::string pinned = device_pointer_problem(facts(PointerMemory::host), 0, "values");
  EXPECT_NE(pinned.find("values"), std::string::npos) << pinned;
  EXPECT_NE(pinned.find("page-locked host memory"), std::string::npos) << pinned;
  const std::string unknown =
      device_pointer_problem(facts(PointerMemory::device, 0, true), 0, "params[2]");
  EXPECT_NE(unknown.find("params[2]"), std::string::npos) << unknown;
}

TEST(DevicePointer, OtherDevicesMemoryIsRejected) {
  const std::string other = device_pointer_problem(facts(PointerMemory::device, 1), 0, "grads");
  EXPECT_NE(other.find("grads"), std::string::npos) << other;
  EXPECT_NE(other.find("CUDA device 1"), std::string::npos) << other;
  EXPECT_NE(other.find("current device 0"), std::string::npos) << other;
}

// ---- the CUDA Stepper's sphere-scale table ---------------------------------------------------

using Direction = std::pair<std::uint32_t, std::uint32_t>;  // (step, substream)

/// stepper_unit's run-time flags, recording every sphere scale the unit reads.
struct RecordingFlags : SpecFlags {
  std::set<Direction>* read;
  float scale_a() const {
    read->insert({s.step_a, s.substream_a});
    return 1.0f;
  }
  float scale_b() const {
    read->insert({s.step_b, s.substream_b});
    return 1.0f;
  }
  float update_scale(std::uint32_t j) const {
    read->insert({s.update_step, j});
    return 1.0f;
  }
};

/// The passes zo::Stepper issues (src/stepper/stepper.cpp) for `steps` steps of q directions.
std::vector<PassSpec> stepper_passes(zo::RestoreMode mode, std::uint32_t q, bool merge,
                                     std::uint32_t first_step, std::uint32_t steps) {
  std::vector<PassSpec> out;
  auto spec = [&] {
    PassSpec s{};
    s.distribution = zo::Distribution::sphere;
    s.mode = mode;
    s.lambda = 0.5f;
    s.seed = 99;
    return s;
  };
  auto entry = [](PassSpec& s, PassEntry e, std::uint32_t step, std::uint32_t j) {
    s.entry = e;
    s.step_a = step;
    s.substream_a = j;
  };
  auto exit = [](PassSpec& s, int sign, std::uint32_t step, std::uint32_t j) {
    s.exit_sign = sign;
    s.step_b = step;
    s.substream_b = j;
  };
  bool perturbed = false;  // a merged update left x_t + λu_0
  for (std::uint32_t t = first_step; t < first_step + steps; ++t) {
    for (std::uint32_t j = 0; j < q; ++j) {
      if (j == 0 && !perturbed) {  // perturb() from ready
        PassSpec s = spec();
        exit(s, +1, t, 0);
        s.write_backup = mode == zo::RestoreMode::copy;
        out.push_back(s);
      } else if (j > 0) {  // perturb() from recorded
        PassSpec s = spec();
        entry(s, PassEntry::minus, t, j - 1);
        exit(s, +1, t, j);
        out.push_back(s);
      }
      PassSpec f = spec();  // flip()
      entry(f, PassEntry::plus, t, j);
      if (mode == zo::RestoreMode::arithmetic) {
        f.arithmetic_flip = 1;
      } else {
        exit(f, -1, t, j);
      }
      out.push_back(f);
    }
    PassSpec u = spec();  // the last update()
    entry(u, PassEntry::minus, t, q - 1);
    u.num_updates = q;
    u.update_step = t;
    if (merge) {
      exit(u, +1, t + 1, 0);
      u.write_backup = mode == zo::RestoreMode::copy;
    }
    out.push_back(u);
    perturbed = merge;
    if (t % 3 == 2 && merge) {  // restore() from perturbed, then perturb() again next step
      PassSpec r = spec();
      entry(r, PassEntry::plus, t + 1, 0);
      out.push_back(r);
      perturbed = false;
    }
  }
  return out;
}

TEST(SphereScaleTable, EveryScaleAPassReadsIsInTheTableOnce) {
  for (zo::RestoreMode mode :
       {zo::RestoreMode::arithmetic, zo::RestoreMode::copy, zo::RestoreMode::residual}) {
    for (std::uint32_t q : {1u, 3u, 256u}) {
      for (bool merge : {false, true}) {
        for (std::uint32_t first : {0u, 7u, 0xFFFFFFF0u}) {
          SphereScaleTable table;
          std::map<std::uint32_t, Direction> device;  // slot → the direction it holds
          std::map<Direction, int> computed;
          const auto passes = stepper_passes(mode, q, merge, first, 6);
          for (std::size_t i = 0; i < passes.size(); ++i) {
            const PassSpec& s = passes[i];
            for_each_scaled_direction(s, [&](std::uint32_t step, std::uint32_t j) {
              if (table.request(s.seed, step, j)) {
                device[scale_slot(step, j)] = {step, j};
                ++computed[{step, j}];
              }
            });
            std::set<Direction> read;
            zo::detail::UnitIO io{};
            io.valid = 0xFu;
            for (int l = 0; l < 4; ++l) io.x[l] = io.backup[l] = 0.25f * static_cast<float>(l);
            zo::detail::stepper_unit(s, 5, io, RecordingFlags{{s}, &read});
            for (const Direction& d : read) {
              ASSERT_LT(scale_slot(d.first, d.second), 2 * zo::kMaxStepperQ);
              const auto it = device.find(scale_slot(d.first, d.second));
              ASSERT_TRUE(it != device.end() && it->second == d)
                  << zo::to_string(mode) << ", q " << q << ", merge " << merge << ", pass " << i
                  << ": the slot of direction (" << d.first << ", " << d.second
                  << ") does not hold it";
            }
          }
          for (const auto& c : computed) {
            EXPECT_EQ(c.second, 1) << "direction (" << c.first.first << ", " << c.first.second
                                   << ") computed " << c.second << " times";
          }
          // Every direction of every step was needed (P or F reads it) and computed.
          EXPECT_EQ(computed.size(), static_cast<std::size_t>(6) * q + (merge ? 1 : 0))
              << zo::to_string(mode) << ", q " << q << ", merge " << merge;
        }
      }
    }
  }
}

}  // namespace
