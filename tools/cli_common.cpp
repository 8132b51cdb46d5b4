#include "cli_common.hpp"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "cli_args.hpp"
#include "zo/atomic_file.hpp"
#include "zo/feature_matrix.hpp"
#include "zo/point_file.hpp"

#ifndef ZO_SOURCE_SCRIPTS_DIR
#define ZO_SOURCE_SCRIPTS_DIR ""
#endif
#ifndef ZO_INSTALL_SCRIPTS_DIR
#define ZO_INSTALL_SCRIPTS_DIR ""
#endif

namespace zo_cli {

std::vector<std::uint64_t> log_schedule(std::uint64_t total, std::size_t points) {
  std::vector<std::uint64_t> out{0};
  if (total == 0) return out;
  if (points > total) {  // every iteration: never more entries than iterations
    out.resize(total + 1);
    for (std::uint64_t t = 0; t <= total; ++t) out[t] = t;
    return out;
  }
  const double top = std::log10(static_cast<double>(total));
  for (std::size_t i = 0; i < points; ++i) {
    const double x = points == 1 ? top : top * static_cast<double>(i) / (points - 1);
    out.push_back(static_cast<std::uint64_t>(std::llround(std::pow(10.0, x))));
  }
  out.push_back(total);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  while (!out.empty() && out.back() > total) out.pop_back();
  return out;
}

void check_output(const std::string& path, const std::string& option, const std::string& command) {
  namespace fs = std::filesystem;
  const std::string prefix = "zo " + command + ": --" + option + ": ";
  if (path.empty()) throw UsageError(prefix + "empty path");
  const fs::path p(path);
  std::error_code ec;
  if (fs::is_directory(p, ec)) throw UsageError(prefix + "'" + path + "' is a directory");
  const fs::path dir = p.has_parent_path() ? p.parent_path() : fs::path(".");
  fs::create_directories(dir, ec);
  if (!fs::is_directory(dir, ec) || ::access(dir.c_str(), W_OK) != 0) {
    throw UsageError(prefix + "cannot write '" + path + "' (the directory '" + dir.string() +
                     "' is not writable" + (ec ? ": " + ec.message() : "") + ")");
  }
  if (fs::exists(p, ec) && ::access(path.c_str(), W_OK) != 0) {
    throw UsageError(prefix + "cannot write '" + path + "' (permission denied)");
  }
}

std::uint64_t available_memory() { return zo::available_memory_bytes(); }

namespace {

std::string human_bytes(double bytes) {
  char buf[32];
  if (bytes >= 1e9) {
    std::snprintf(buf, sizeof buf, "%.1f GB", bytes / 1e9);
  } else {
    std::snprintf(buf, sizeof buf, "%.1f MB", bytes / 1e6);
  }
  return buf;
}

}  // namespace

void check_memory(const std::string& command, const std::string& option, double bytes,
                  const std::string& what) {
  const double available = static_cast<double>(available_memory());
  if (available > 0 && bytes > available) {
    throw UsageError("zo " + command + ": " + option + ": " + what + " needs " +
                     human_bytes(bytes) + " of memory, " + human_bytes(available) +
                     " are available");
  }
}

void check_input(const std::string& path, const std::string& option, const std::string& command) {
  namespace fs = std::filesystem;
  const std::string prefix = "zo " + command + ": " + option + ": ";
  std::error_code ec;
  if (!fs::exists(path, ec)) throw UsageError(prefix + "no such file '" + path + "'");
  if (fs::is_directory(path, ec))
    throw UsageError(prefix + "'" + path + "' is a directory, not a file");
  if (::access(path.c_str(), R_OK) != 0)
    throw UsageError(prefix + "'" + path + "' cannot be read (permission denied)");
}

namespace {

/// Whether two paths name the same file (existing files by identity, others by their absolute,
/// normalised form).
bool same_file(const std::string& a, const std::string& b) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::exists(a, ec) && fs::exists(b, ec)) return fs::equivalent(a, b, ec);
  const auto na = fs::weakly_canonical(fs::absolute(a, ec), ec);
  const auto nb = fs::weakly_canonical(fs::absolute(b, ec), ec);
  return na == nb;
}

}  // namespace

void check_distinct_paths(const std::string& command, const std::vector<NamedPath>& outputs,
                          const std::vector<NamedPath>& inputs) {
  for (std::size_t i = 0; i < outputs.size(); ++i) {
    if (outputs[i].path.empty()) continue;
    for (const auto& in : inputs) {
      if (!in.path.empty() && same_file(outputs[i].path, in.path)) {
        throw UsageError("zo " + command + ": " + outputs[i].option + " '" + outputs[i].path +
                         "' is the input " + in.option + ": refusing to overwrite an input");
      }
    }
    for (std::size_t j = 0; j < i; ++j) {
      if (!outputs[j].path.empty() && same_file(outputs[i].path, outputs[j].path)) {
        throw UsageError("zo " + command + ": " + outputs[i].option + " '" + outputs[i].path +
                         "' is also the " + outputs[j].option + ": choose another --out");
      }
    }
  }
}

std::string scripts_dir() {
  namespace fs = std::filesystem;
  if (const char* env = std::getenv("ZO_SCRIPTS_DIR")) return env;
  if (fs::exists(fs::path(ZO_SOURCE_SCRIPTS_DIR) / "plot_toy.py")) return ZO_SOURCE_SCRIPTS_DIR;
  return ZO_INSTALL_SCRIPTS_DIR;
}

bool run_plot_script(const std::string& script, const std::vector<std::string>& args,
                     const std::string& png) {
  const std::string path = scripts_dir() + "/" + script;
  // The script writes a temporary PNG (with the .png extension matplotlib needs), renamed on
  // success, so an existing figure survives a failed plot.
  const std::string tmp = with_extension(png, "") + ".tmp-" +
                          std::to_string(static_cast<long long>(::getpid())) + ".png";
  std::string cmd = "python3 '" + path + "'";
  for (const auto& a : args) cmd += " '" + a + "'";
  const int rc = std::system((cmd + " '" + tmp + "'").c_str());
  if (rc != 0) {
    std::remove(tmp.c_str());
    std::fprintf(stderr,
                 "zo: plotting failed (%s exited with %d); the CSV is written. For the PNG, "
                 "install matplotlib (python3 -m pip install matplotlib) and run:\n  %s '%s'\n",
                 script.c_str(), rc, cmd.c_str(), png.c_str());
    return false;
  }
  try {
    zo::publish_file(tmp, png);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "zo: %s\n", e.what());
    return false;
  }
  return true;
}

std::string with_extension(const std::string& path, const std::string& extension) {
  std::filesystem::path p(path);
  p.replace_extension(extension);
  return p.string();
}

Progress::Progress(std::string label, std::uint64_t total, bool quiet)
    : label_(std::move(label)),
      total_(total),
      quiet_(quiet),
      tty_(isatty(fileno(stderr)) != 0),
      start_(std::chrono::steady_clock::now()),
      last_(start_) {}

void Progress::update(std::uint64_t done, const std::string& unit, const std::string& detail) {
  if (quiet_) return;
  const auto now = std::chrono::steady_clock::now();
  const double since_last = std::chrono::duration<double>(now - last_).count();
  if (done < total_ && since_last < (tty_ ? 0.2 : 10.0)) return;
  last_ = now;
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  const double rate = elapsed > 0 ? static_cast<double>(done) / elapsed : 0.0;
  const double eta = rate > 0 ? static_cast<double>(total_ - done) / rate : 0.0;
  const double frac = total_ ? static_cast<double>(done) / static_cast<double>(total_) : 1.0;
  char line[256];
  if (tty_) {
    const int width = 30;
    std::string bar(static_cast<std::size_t>(frac * width), '#');
    bar.resize(width, '.');
    std::snprintf(line, sizeof line, "\r%s [%s] %5.1f%%  %.3g %s/s  ETA %.0fs %s ", label_.c_str(),
                  bar.c_str(), 100.0 * frac, rate, unit.c_str(), eta, detail.c_str());
    std::fputs(line, stderr);
  } else {
    std::snprintf(line, sizeof line, "%s: %llu/%llu %s (%.1f%%), %.3g %s/s, ETA %.0fs%s%s\n",
                  label_.c_str(), static_cast<unsigned long long>(done),
                  static_cast<unsigned long long>(total_), unit.c_str(), 100.0 * frac, rate,
                  unit.c_str(), eta, detail.empty() ? "" : ", ", detail.c_str());
    std::fputs(line, stderr);
  }
  std::fflush(stderr);
}

void Progress::finish(const std::string& summary) {
  if (quiet_) return;
  if (tty_) std::fputs("\n", stderr);
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  std::fprintf(stderr, "%s: %s in %.2f s\n", label_.c_str(), summary.c_str(), elapsed);
}

std::vector<float> read_initial_point(const ArgParser& p, const std::string& command,
                                      std::size_t dim) {
  const std::string path = p.str("init");
  check_input(path, "--init", command);
  std::vector<float> x = zo::read_point_file(path);
  if (x.size() != dim) {
    throw UsageError("zo " + command + ": --init: '" + path + "' holds " +
                     std::to_string(x.size()) + " values, the problem has " + std::to_string(dim) +
                     " parameters");
  }
  return x;
}

std::string fmt(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

}  // namespace zo_cli
