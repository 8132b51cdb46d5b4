// The fused sweep on the GPU writes the same bytes as on the CPU, for any batch size.
#include <gtest/gtest.h>

#include "sweep_harness.hpp"
#include "tolerance.hpp"
#include "zo/backend.hpp"
#include "zo/example21.hpp"
#include "zo/sweep.hpp"

namespace {

using namespace sweep_test;

TEST(SweepGpu, FusedTableIsByteIdenticalOnCpuAndGpu) {
  ZO_SKIP_WITHOUT_GPU();
  const zo::Example21 objective(37);
  const std::string dir = work_dir("gpu");
  auto spec = small_spec();
  spec.engine = zo::Engine::fused;
  spec.backend = zo::Backend::cpu;
  const Files cpu = run_to_files(objective, spec, dir, "cpu");
  spec.backend = zo::Backend::cuda;
  for (std::size_t b : {0, 3}) {
    spec.batch_size = b;
    const Files gpu = run_to_files(objective, spec, dir, "gpu" + std::to_string(b));
    EXPECT_EQ(gpu.table, cpu.table) << "batch size " << b;
    EXPECT_EQ(gpu.summary, cpu.summary) << "batch size " << b;
  }
}

}  // namespace
