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

/// Checks, before any work starts, that `path` can be written later: creates its parent
/// directory if needed and checks that the directory is writable and that `path` is not a
/// directory. Never creates, truncates or opens `path` itself (outputs are written atomically
/// when complete, so a failed run leaves an existing file untouched). Throws UsageError naming
/// `option` otherwise.
void check_output(const std::string& path, const std::string& option, const std::string& command);

/// Checks that input `path` (named by `option`) is a readable regular file; throws UsageError
/// ("no such file", "is a directory, not a file", "cannot be read") otherwise: every unusable
/// input is the same class of error (exit code 2).
void check_input(const std::string& path, const std::string& option, const std::string& command);

/// Bytes of memory this process can still get (zo::available_memory_bytes(): MemAvailable,
/// container and address-space limits), or 0 when unknown.
std::uint64_t available_memory();

/// Throws UsageError naming `option` when `bytes` (what `what` needs) exceed the available
/// memory: checked before the allocation, instead of failing inside it.
void check_memory(const std::string& command, const std::string& option, double bytes,
                  const std::string& what);

/// A path a command reads or writes, with the option (or description) that named it.
struct NamedPath {
  std::string option;
  std::string path;
};

/// Refuses (UsageError, before anything is written) an output that is the same file as an input
/// or as another output of the same command (derived names such as the PNG beside a CSV
/// included). Empty paths are ignored.
void check_distinct_paths(const std::string& command, const std::vector<NamedPath>& outputs,
                          const std::vector<NamedPath>& inputs);

/// Draws `png` with `python3 <scripts>/<script> <args> <png>`: the script writes a temporary
/// file beside `png`, which replaces `png` only on success. Returns true on success, false (after
/// logging how to get the plot) when Python or matplotlib is missing.
bool run_plot_script(const std::string& script, const std::vector<std::string>& args,
                     const std::string& png);

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

/// The start point named by option --init (zo/point_file.hpp formats), which must hold `dim`
/// values; throws UsageError naming the option and the sizes otherwise (a malformed file raises
/// zo::DataError with file:line).
std::vector<float> read_initial_point(const class ArgParser& p, const std::string& command,
                                      std::size_t dim);

/// Formats a double with enough digits to round-trip ("nan"/"inf" for non-finite values).
std::string fmt(double v);

}  // namespace zo_cli
