// The LIBSVM reader against a plain, well-written baseline on the same generated 10^6-line file,
// in the same run: std::getline + strtod/strtol into the same CSR arrays (no error reporting, no
// validation beyond what strtod does). The file is generated once (seeded) in the temporary
// directory and removed at exit; both readers' outputs are checked to be identical before timing.
//
// Counters: MBps (file megabytes per second), lines_per_s, and for zo the speed-up over the
// baseline measured in this run (vs_baseline). Arguments: threads (zo reader only; the baseline
// is single-threaded by nature).
#include <benchmark/benchmark.h>
#include <omp.h>
#include <unistd.h>

#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "linear_grids.hpp"
#include "zo/libsvm.hpp"

namespace {

using namespace zo_bench_linear;

struct GeneratedFile {
  std::string path;
  std::uint64_t bytes = 0;
  GeneratedFile() {
    path = (std::filesystem::temp_directory_path() /
            ("zo_bench_libsvm_" + std::to_string(::getpid()) + ".svm"))
               .string();
    std::mt19937_64 rng(12345);
    std::uniform_real_distribution<float> value(-2.0f, 2.0f);
    std::string text;
    text.reserve(static_cast<std::size_t>(kReaderLines) * 110);
    char buf[64];
    for (std::int64_t line = 0; line < kReaderLines; ++line) {
      text += (rng() & 1) ? "+1" : "-1";
      int index = 0;
      for (int k = 0; k < kReaderFeaturesPerLine; ++k) {
        index += 1 + static_cast<int>(rng() % (2 * kReaderIndexRange / kReaderFeaturesPerLine));
        text += ' ';
        text.append(buf, std::to_chars(buf, buf + 64, index).ptr);
        text += ':';
        // Values as a data set would write them: 6 significant digits.
        const int n = std::snprintf(buf, sizeof buf, "%.6g", value(rng));
        text.append(buf, static_cast<std::size_t>(n));
      }
      text += '\n';
    }
    std::ofstream(path, std::ios::binary)
        .write(text.data(), static_cast<std::streamsize>(text.size()));
    bytes = text.size();
  }
  ~GeneratedFile() { std::remove(path.c_str()); }
};

const GeneratedFile& file() {
  static const GeneratedFile f;
  return f;
}

/// The baseline: getline + strtod/strtol, straight into CSR arrays.
zo::LibsvmData read_baseline(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot open " + path);
  zo::LibsvmData d;
  std::string line;
  long max_index = 0;
  while (std::getline(in, line)) {
    const char* p = line.c_str();
    char* end = nullptr;
    const double label = std::strtod(p, &end);
    if (end == p) continue;
    d.labels.push_back(label);
    p = end;
    while (true) {
      while (*p == ' ' || *p == '\t') ++p;
      if (*p == '\0' || *p == '#') break;
      const long index = std::strtol(p, &end, 10);
      if (end == p || *end != ':') throw std::runtime_error("baseline: bad token");
      p = end + 1;
      const float v = std::strtof(p, &end);
      p = end;
      d.features.col_indices.push_back(static_cast<std::int32_t>(index - 1));
      d.features.values.push_back(v);
      if (index > max_index) max_index = index;
    }
    d.features.row_offsets.push_back(static_cast<std::int64_t>(d.features.values.size()));
  }
  d.features.rows = d.labels.size();
  d.features.cols = static_cast<std::size_t>(max_index);
  return d;
}

double g_baseline_seconds_per_read = 0.0;

void check_same_once() {
  static bool checked = false;
  if (checked) return;
  checked = true;
  const auto a = zo::read_libsvm(file().path);
  const auto b = read_baseline(file().path);
  if (a.labels != b.labels || a.features.row_offsets != b.features.row_offsets ||
      a.features.col_indices != b.features.col_indices || a.features.values != b.features.values) {
    std::fprintf(stderr, "bench_libsvm: zo and the baseline read different data\n");
    std::abort();
  }
}

void set_counters(benchmark::State& st, double seconds_per_read) {
  const double mb = static_cast<double>(file().bytes) / 1e6;
  st.counters["MB"] = mb;
  st.counters["MBps"] = mb / seconds_per_read;
  st.counters["lines_per_s"] = static_cast<double>(kReaderLines) / seconds_per_read;
  st.SetBytesProcessed(static_cast<std::int64_t>(file().bytes) * st.iterations());
  st.SetItemsProcessed(kReaderLines * st.iterations());
}

void BM_ReadBaselineGetlineStrtod(benchmark::State& st) {
  check_same_once();
  std::size_t rows = 0;
  const auto t0 = std::chrono::steady_clock::now();
  for (auto _ : st) {
    const auto d = read_baseline(file().path);
    rows += d.features.rows;
    benchmark::DoNotOptimize(rows);
  }
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() /
                   static_cast<double>(st.iterations());
  g_baseline_seconds_per_read = s;
  set_counters(st, s);
}

void BM_ReadZo(benchmark::State& st) {
  check_same_once();
  const int saved = omp_get_max_threads();
  omp_set_num_threads(static_cast<int>(st.range(0)));
  std::size_t rows = 0;
  const auto t0 = std::chrono::steady_clock::now();
  for (auto _ : st) {
    const auto d = zo::read_libsvm(file().path);
    rows += d.features.rows;
    benchmark::DoNotOptimize(rows);
  }
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() /
                   static_cast<double>(st.iterations());
  omp_set_num_threads(saved);
  set_counters(st, s);
  st.counters["threads"] = static_cast<double>(st.range(0));
  if (g_baseline_seconds_per_read > 0) st.counters["vs_baseline"] = g_baseline_seconds_per_read / s;
}

}  // namespace

// The baseline first, so the zo rows can report their speed-up against it.
BENCHMARK(BM_ReadBaselineGetlineStrtod)->Unit(benchmark::kMillisecond)->MinTime(kMinTime);
BENCHMARK(BM_ReadZo)
    ->Arg(1)
    ->Arg(2)
    ->Arg(4)
    ->Arg(16)
    ->Unit(benchmark::kMillisecond)
    ->MinTime(kMinTime);
