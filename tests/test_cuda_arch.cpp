// Which GPUs a libzo built for a given CMAKE_CUDA_ARCHITECTURES can run on
// (src/core/cuda_arch.hpp): the check that makes backend selection refuse an unsupported GPU with a
// reason. Pure functions, so it runs on the CPU.
#include <gtest/gtest.h>

#include <string>

#include "core/cuda_arch.hpp"

namespace {

using zo::detail::arch_supported;
using zo::detail::arch_unsupported_reason;
using zo::detail::describe_cuda_support;
using zo::detail::parse_cuda_architectures;

bool runs(const std::string& list, int major, int minor) {
  return arch_supported(major, minor, parse_cuda_architectures(list));
}

TEST(CudaArch, ParsesCMakeSpellings) {
  const auto a = parse_cuda_architectures("75,80-real;90-virtual,90a,100f-real,all,native,OFF,");
  ASSERT_EQ(a.size(), 5u);
  EXPECT_EQ(a[0].major, 7);
  EXPECT_EQ(a[0].minor, 5);
  EXPECT_TRUE(a[0].sass && a[0].ptx);
  EXPECT_TRUE(a[1].sass && !a[1].ptx);
  EXPECT_TRUE(!a[2].sass && a[2].ptx);
  EXPECT_EQ(a[3].suffix, 'a');
  EXPECT_TRUE(a[3].sass && a[3].ptx);
  EXPECT_EQ(a[4].major, 10);
  EXPECT_EQ(a[4].minor, 0);
  EXPECT_EQ(a[4].suffix, 'f');
  EXPECT_TRUE(parse_cuda_architectures("").empty());
  EXPECT_TRUE(parse_cuda_architectures("90-bogus").empty());
}

TEST(CudaArch, DefaultNinetyRunsOnHopperAndNewerOnly) {
  // "90": sm_90 SASS + compute_90 PTX (the default).
  EXPECT_FALSE(runs("90", 7, 5));  // T4
  EXPECT_FALSE(runs("90", 8, 0));  // A100
  EXPECT_FALSE(runs("90", 8, 9));  // L4
  EXPECT_TRUE(runs("90", 9, 0));   // H100 / H200: SASS
  EXPECT_TRUE(runs("90", 10, 0));  // B200: PTX JIT
  EXPECT_TRUE(runs("90", 12, 0));
}

TEST(CudaArch, SassOnlyRunsOnItsMajorVersion) {
  EXPECT_TRUE(runs("80-real", 8, 0));
  EXPECT_TRUE(runs("80-real", 8, 6));  // same major, newer minor
  EXPECT_FALSE(runs("86-real", 8, 0));
  EXPECT_FALSE(runs("80-real", 9, 0));  // no PTX to JIT
  EXPECT_FALSE(runs("90-real", 10, 0));
  EXPECT_TRUE(runs("80-real,90-virtual", 10, 0));
  EXPECT_FALSE(runs("80-real,90-virtual", 7, 5));
}

TEST(CudaArch, PtxRunsOnEqualOrNewer) {
  EXPECT_TRUE(runs("75-virtual", 7, 5));
  EXPECT_TRUE(runs("75-virtual", 8, 0));
  EXPECT_FALSE(runs("80-virtual", 7, 5));
  EXPECT_FALSE(runs("86-virtual", 8, 0));
}

TEST(CudaArch, ArchAndFamilySpecificCode) {
  EXPECT_TRUE(runs("90a", 9, 0));
  EXPECT_FALSE(runs("90a", 10, 0));  // arch-specific PTX is not forward compatible
  EXPECT_TRUE(runs("100f-real", 10, 3));
  EXPECT_FALSE(runs("100f", 12, 0));
  EXPECT_FALSE(runs("103a-real", 10, 0));
}

TEST(CudaArch, UnknownListAcceptsEveryDevice) {
  EXPECT_TRUE(runs("", 5, 0));
  EXPECT_TRUE(runs("OFF", 7, 5));
}

TEST(CudaArch, DescribesTheSupportedDevices) {
  EXPECT_EQ(describe_cuda_support(parse_cuda_architectures("90")), "sm_90 and newer");
  EXPECT_EQ(describe_cuda_support(parse_cuda_architectures("75,90")), "sm_75 and newer");
  EXPECT_EQ(describe_cuda_support(parse_cuda_architectures("80-real;90")),
            "sm_80 to sm_89, sm_90 and newer");
  EXPECT_EQ(describe_cuda_support(parse_cuda_architectures("80-real,90a-real")),
            "sm_80 to sm_89, sm_90a only");
}

TEST(CudaArch, ReasonNamesDeviceArchitectureAndBuild) {
  const auto compiled = parse_cuda_architectures("90");
  EXPECT_EQ(arch_unsupported_reason("NVIDIA H200", 9, 0, compiled, "90"), "");
  EXPECT_EQ(arch_unsupported_reason("Tesla T4", 7, 5, compiled, "90"),
            "Tesla T4 is sm_75, but this libzo was built for sm_90 and newer "
            "(CMAKE_CUDA_ARCHITECTURES=90); rebuild with -DCMAKE_CUDA_ARCHITECTURES=75 (or add it "
            "to the list)");
}

}  // namespace
