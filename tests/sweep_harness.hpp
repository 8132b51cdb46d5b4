// Shared by test_sweep.cpp (CPU) and test_sweep_cuda.cpp (GPU): a small Figure-1-like sweep and
// a helper that runs it to files.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "tolerance.hpp"
#include "zo/backend.hpp"
#include "zo/error.hpp"
#include "zo/example21.hpp"
#include "zo/sweep.hpp"

namespace sweep_test {

namespace fs = std::filesystem;

inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream os;
  os << in.rdbuf();
  return os.str();
}

inline std::string work_dir(const std::string& name) {
  const fs::path dir =
      fs::temp_directory_path() / ("zo_test_sweep_" + std::to_string(::getpid()) + "_" + name);
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir.string();
}

/// A small Figure-1-like sweep: gd, zo × 3 λ, zo0; 4 seeds; d = 10; 200 steps.
inline zo::SweepSpec small_spec() {
  zo::SweepSpec spec;
  const auto gd = zo::sweep_grid({zo::Method::gd}, {}, {0.01f}, {1});
  const auto zo_runs =
      zo::sweep_grid({zo::Method::zo, zo::Method::zo_limit}, {0.1f, 0.05f, 0.01f}, {0.002f}, {1});
  spec.configs = gd;
  spec.configs.insert(spec.configs.end(), zo_runs.begin(), zo_runs.end());
  spec.seeds = {0, 1, 2, 5};
  spec.steps = 200;
  spec.log_iterations = {0, 1, 3, 10, 31, 100};
  spec.backend = zo::Backend::cpu;
  return spec;
}

struct Files {
  std::string table, summary;
};

inline Files run_to_files(const zo::Objective& objective, zo::SweepSpec spec,
                          const std::string& dir, const std::string& tag) {
  zo::Sweep sweep(objective, std::move(spec));
  zo::SweepOutput out;
  out.table_path = dir + "/" + tag + ".csv";
  out.summary_path = dir + "/" + tag + "_summary.csv";
  EXPECT_EQ(zo::run_sweep(sweep, out), zo::SweepStatus::completed);
  return {read_file(out.table_path), read_file(out.summary_path)};
}

}  // namespace sweep_test
