// A seeded random-mutation fuzz loop for the sweep checkpoint reader (Sweep::load). Valid
// checkpoints taken at several moments of a sweep are mutated (bytes replaced, 64-bit fields set
// to extreme values, ranges deleted, duplicated or truncated); every input must either load, and
// then the sweep must run to completion with every row well formed, or be rejected with
// zo::InvalidArgument. Anything else (a crash, std::bad_alloc, another exception) fails. Fixed
// seed and iteration count: the same inputs on every run.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "zo/backend.hpp"
#include "zo/error.hpp"
#include "zo/example21.hpp"
#include "zo/sweep.hpp"

namespace {

zo::SweepSpec fuzz_spec() {
  zo::SweepSpec spec;
  spec.configs = zo::sweep_grid({zo::Method::zo, zo::Method::gd}, {0.1f}, {1e-3f}, {1});
  spec.seeds = {0, 1, 2};
  spec.steps = 40;
  spec.log_iterations = {0, 3, 10, 40};
  spec.batch_size = 4;
  spec.backend = zo::Backend::cpu;
  return spec;
}

/// Checkpoints of the same sweep after 0, 1, 13, 50 and 200 run-steps.
std::vector<std::string> valid_checkpoints(const zo::Objective& objective) {
  std::vector<std::string> out;
  for (std::uint64_t stop : {0, 1, 13, 50, 200}) {
    zo::Sweep sweep(objective, fuzz_spec());
    while (!sweep.done() && sweep.progress().config_steps_done < stop) sweep.advance(1, nullptr);
    std::ostringstream os;
    sweep.save(os);
    out.push_back(os.str());
  }
  return out;
}

std::string mutate(std::string text, std::mt19937_64& rng) {
  auto pick = [&](std::size_t n) { return n == 0 ? 0 : static_cast<std::size_t>(rng() % n); };
  const int mutations = 1 + static_cast<int>(rng() % 3);
  for (int m = 0; m < mutations; ++m) {
    switch (rng() % 6) {
      case 0:  // one byte
        if (!text.empty()) text[pick(text.size())] = static_cast<char>(rng() & 0xFF);
        break;
      case 1: {  // an aligned 64-bit field set to an extreme value
        if (text.size() < 8) break;
        const std::uint64_t values[] = {
            0, 1, 0xFFFFFFFFull, 0xFFFFFFFFFFFFFFFFull, std::uint64_t{1} << 40, 7};
        const std::uint64_t v = values[pick(std::size(values))];
        std::memcpy(&text[pick(text.size() - 7)], &v, 8);
        break;
      }
      case 2:  // truncate
        text.resize(pick(text.size() + 1));
        break;
      case 3: {  // delete a range
        if (text.empty()) break;
        text.erase(pick(text.size()), 1 + pick(16));
        break;
      }
      case 4: {  // duplicate a range
        if (text.empty()) break;
        const std::size_t a = pick(text.size());
        text.insert(pick(text.size() + 1), text.substr(a, 1 + pick(24)));
        break;
      }
      case 5:  // flip a bit
        if (!text.empty()) text[pick(text.size())] ^= static_cast<char>(1u << (rng() % 8));
        break;
    }
  }
  return text;
}

}  // namespace

TEST(CheckpointFuzz, EveryMutatedCheckpointLoadsAndCompletesOrIsRejectedCleanly) {
  zo::set_log_sink({});
  const zo::Example21 objective(5);
  const auto seeds = valid_checkpoints(objective);
  std::mt19937_64 rng(20261202);
  std::size_t loaded = 0, rejected = 0;
  constexpr int kInputs = 1500;
  for (int i = 0; i < kInputs; ++i) {
    const std::string input = mutate(seeds[rng() % seeds.size()], rng);
    zo::Sweep sweep(objective, fuzz_spec());
    std::istringstream in(input);
    try {
      sweep.load(in);
    } catch (const zo::InvalidArgument&) {
      ++rejected;
      continue;
    } catch (const std::exception& e) {
      FAIL() << "input " << i << ": " << typeid(e).name() << ": " << e.what();
    }
    ++loaded;
    // A checkpoint that loads must run to completion with well-formed rows.
    try {
      zo::SweepRows rows;
      std::size_t guard = 0;
      while (!sweep.done() && ++guard < 100000) sweep.advance(64, &rows);
      ASSERT_TRUE(sweep.done()) << "input " << i << " never completes";
      ASSERT_EQ(sweep.finals().size(), sweep.num_runs()) << "input " << i;
      for (std::size_t r = 0; r < rows.size(); ++r) {
        ASSERT_LT(rows.run[r], sweep.num_runs()) << "input " << i;
        ASSERT_LE(rows.iteration[r], sweep.spec().steps) << "input " << i;
      }
    } catch (const zo::Error&) {
      // A state that loads but names an impossible batch may still be refused while running.
    }
  }
  EXPECT_GT(rejected, static_cast<std::size_t>(kInputs / 4));
  EXPECT_GT(loaded, 0u);  // some mutations (e.g. of iterate values) are valid states
}
