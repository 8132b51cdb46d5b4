// The persistent kernel's decomposition, checked on the CPU: zo::detail::fused_run_steps run by
// G = 4, 8, 16, 32 cooperating "lanes" (one std::thread each, shuffles and votes emulated with
// a barrier, i.e. the warp's lockstep semantics) must give the same bits as the single-lane CPU
// path (the fused engine on the CPU). This validates the lane assignment of pair-blocks and
// the canonical reduction order independently of the GPU; the GPU tests then only need to check
// the launch and the device arithmetic.
#include <gtest/gtest.h>

#include <condition_variable>
#include <cstring>
#include <mutex>
#include <thread>
#include <vector>

#include "batch/example21_fused_math.hpp"
#include "fused_harness.hpp"
#include "zo/run_batch.hpp"

namespace {

using namespace zo::detail;

/// A reusable barrier for `count` threads.
class Barrier {
 public:
  explicit Barrier(int count) : count_(count) {}
  void wait() {
    std::unique_lock<std::mutex> lock(mutex_);
    const long generation = generation_;
    if (++waiting_ == count_) {
      waiting_ = 0;
      ++generation_;
      cv_.notify_all();
    } else {
      cv_.wait(lock, [&] { return generation != generation_; });
    }
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  int count_;
  int waiting_ = 0;
  long generation_ = 0;
};

struct Shared {
  explicit Shared(int g) : barrier(g), slots(g), flags(g) {}
  Barrier barrier;
  std::vector<double> slots;
  std::vector<char> flags;
};

/// One lane of a simulated group: __shfl_xor_sync and __any_sync through shared slots.
struct SimulatedLane {
  Shared* shared;
  int lane_;
  int lane() const { return lane_; }
  double xor_add(double v, int off) const {
    shared->slots[lane_] = v;
    shared->barrier.wait();
    const double other = shared->slots[lane_ ^ off];
    shared->barrier.wait();
    return v + other;
  }
  bool any(bool b) const {
    shared->flags[lane_] = b;
    shared->barrier.wait();
    bool r = false;
    for (char f : shared->flags) r = r || f;
    shared->barrier.wait();
    return r;
  }
};

struct Result {
  std::vector<float> x;
  std::vector<double> metrics;
  FusedRunState state{};
};

template <int G, int PB>
Result run_group(std::uint32_t d, const zo::RunSpec& spec, const std::vector<float>& x0,
                 std::uint64_t steps, const std::vector<std::uint64_t>& its) {
  Result r;
  r.x = x0;
  r.metrics.assign(its.size() * 3, 0.0);
  Shared shared(G);
  const RunDescription p = zo::detail::describe(spec);
  std::vector<std::thread> lanes;
  for (int lane = 0; lane < G; ++lane) {
    lanes.emplace_back([&, lane] {
      const SimulatedLane group{&shared, lane};
      FusedLaneState<PB> s;
      fused_load<G, PB>(lane, d, x0.data(), s);
      FusedRunState state{};
      fused_run_steps<G, PB>(group, d, p, s, state, 0, steps, its.data(),
                             static_cast<std::uint32_t>(its.size()), r.metrics.data(), 3);
      fused_store<G, PB>(lane, d, s, r.x.data());  // lanes own disjoint coordinates
      if (lane == 0) r.state = state;
    });
  }
  for (auto& t : lanes) t.join();
  return r;
}

template <int G>
Result run_group_any_pb(std::uint32_t d, const zo::RunSpec& spec, const std::vector<float>& x0,
                        std::uint64_t steps, const std::vector<std::uint64_t>& its) {
  const std::uint32_t nb = (d + 3) / 4;
  if (nb <= G) return run_group<G, 1>(d, spec, x0, steps, its);
  if (nb <= 2 * G) return run_group<G, 2>(d, spec, x0, steps, its);
  return run_group<G, 4>(d, spec, x0, steps, its);
}

Result run_group_size(int g, std::uint32_t d, const zo::RunSpec& spec, const std::vector<float>& x0,
                      std::uint64_t steps, const std::vector<std::uint64_t>& its) {
  switch (g) {
    case 4:
      return run_group_any_pb<4>(d, spec, x0, steps, its);
    case 8:
      return run_group_any_pb<8>(d, spec, x0, steps, its);
    case 16:
      return run_group_any_pb<16>(d, spec, x0, steps, its);
    default:
      return run_group_any_pb<32>(d, spec, x0, steps, its);
  }
}

TEST(FusedGroups, EveryGroupSizeGivesTheSingleLaneBits) {
  const std::uint64_t steps = 6;  // every code path runs; threads + barriers are slow on 2 cores
  const std::vector<std::uint64_t> its = {0, 1, 6};
  std::vector<zo::RunSpec> specs;
  for (int m = 0; m < 3; ++m) {
    for (std::uint32_t q : {1u, 3u}) {
      zo::RunSpec s;
      s.method = static_cast<zo::Method>(m);
      s.q = q;
      s.lambda = 0.07f;
      s.eta = m == 1 ? 0.01f : 0.003f;
      s.seed = 40 + static_cast<std::uint64_t>(m) * 3 + q;
      s.distribution = q == 3 ? zo::Distribution::rademacher : zo::Distribution::gaussian;
      specs.push_back(s);
    }
  }
  zo::RunSpec blow_up;  // diverges at an early step: the frozen state must match too
  blow_up.method = zo::Method::gd;
  blow_up.eta = 50.0f;
  blow_up.seed = 99;
  specs.push_back(blow_up);

  for (std::uint32_t d : {3u, 37u, 100u}) {
    for (const auto& spec : specs) {
      std::vector<float> x0(2 * d);
      zo::gaussian_fill(spec.seed, 0, x0.data(), x0.size());
      fused_test::FusedBatch single_owner(d, {spec}, x0.data(), zo::Backend::cpu);
      zo::RunBatch& single = single_owner.batch;
      std::vector<double> ref_metrics(its.size() * 3);
      single.run(steps, its, ref_metrics.data());
      std::vector<float> ref_x(2 * d);
      single.copy_points(ref_x.data());
      const auto status = single.statuses()[0];
      for (int g : {4, 8, 16, 32}) {
        if (static_cast<std::uint32_t>(g) * 4 * 4 < d) continue;  // does not fit (as on the GPU)
        SCOPED_TRACE("d = " + std::to_string(d) + ", G = " + std::to_string(g) + ", method " +
                     zo::to_string(spec.method) + ", q = " + std::to_string(spec.q));
        const Result r = run_group_size(g, d, spec, x0, steps, its);
        EXPECT_EQ(0, std::memcmp(r.x.data(), ref_x.data(), ref_x.size() * sizeof(float)));
        for (std::size_t i = 0; i < ref_metrics.size(); ++i) {
          if (ref_metrics[i] != ref_metrics[i]) {  // NaN after a blow-up: must be NaN too
            EXPECT_NE(r.metrics[i], r.metrics[i]) << "metric " << i;
          } else {
            EXPECT_EQ(r.metrics[i], ref_metrics[i]) << "metric " << i;
          }
        }
        EXPECT_EQ(r.state.diverged != 0, status.diverged);
        EXPECT_EQ(r.state.diverged_at, status.diverged_at);
      }
    }
  }
}

}  // namespace
