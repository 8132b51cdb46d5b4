// Helpers shared by the zo subcommands: output files, iteration schedules, plotting, progress.
#pragma once

#include <chrono>
#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

namespace zo_cli {

/// Iterations 0 and round(10^x) for x evenly spaced in [0, log10(total)], deduplicated and
/// sorted, always including `total`: the log-spaced schedule of the paper-style plots.
std::vector<std::uint64_t> log_schedule(std::uint64_t total, std::size_t points);

/// Creates the parent directory of `path` if needed and opens it for writing; throws
/// UsageError naming `option` when that is impossible (checked before any work starts).
std::ofstream open_output(const std::string& path, const std::string& option,
                          const std::string& command);

/// Runs `python3 <scripts>/<script> <args>`; returns true on success, false (after logging how
/// to get the plot) when Python or matplotlib is missing.
bool run_plot_script(const std::string& script, const std::vector<std::string>& args);

/// Where the plotting scripts live: $ZO_SCRIPTS_DIR, else the source tree, else the install.
std::string scripts_dir();

/// Replaces the extension of `path` (or appends one).
std::string with_extension(const std::string& path, const std::string& extension);

/// Periodic progress on stderr: a bar on a terminal, plain lines otherwise.
class Progress {
 public:
  Progress(std::string label, std::uint64_t total, bool quiet);
  /// Reports `done` of `total` work units (rate-limited to a few updates per second); `detail`
  /// (e.g. "runs 12/100") is appended to the line.
  void update(std::uint64_t done, const std::string& unit = "steps",
              const std::string& detail = "");
  /// Final line.
  void finish(const std::string& summary);

 private:
  std::string label_;
  std::uint64_t total_;
  bool quiet_;
  bool tty_;
  std::chrono::steady_clock::time_point start_, last_;
};

/// Formats a double with enough digits to round-trip ("nan"/"inf" for non-finite values).
std::string fmt(double v);

}  // namespace zo_cli
