// libFuzzer target for the LIBSVM reader (optional, clang only; CI runs the seeded mutation loop
// of tests/test_libsvm_fuzz.cpp instead). The reader's sources are compiled into the target so
// that libFuzzer's coverage instrumentation and the sanitizers see them:
//   CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DZO_WITH_CUDA=OFF -DZO_BUILD_FUZZERS=ON
//   cmake --build build-fuzz --target libsvm_fuzzer
//   ./build-fuzz/tests/libsvm_fuzzer -max_total_time=60
// Every input must parse into a valid matrix or throw zo::DataError; anything else (a crash, a
// sanitizer report, another exception) is a finding.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "zo/error.hpp"
#include "zo/libsvm.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  for (std::size_t features : {std::size_t{0}, std::size_t{64}}) {
    zo::LibsvmOptions options;
    options.num_features = features;
    try {
      const zo::LibsvmData d = zo::parse_libsvm(text, "fuzz", options);
      zo::validate(d.features);
      if (d.labels.size() != d.features.rows) __builtin_trap();
      if (!d.qids.empty() && d.qids.size() != d.features.rows) __builtin_trap();
    } catch (const zo::DataError&) {
    }
  }
  return 0;
}
