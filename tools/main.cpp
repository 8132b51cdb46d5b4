// The zo command-line tool: one executable, one subcommand per job.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <thread>
#include <vector>

#include "cli_args.hpp"
#include "cli_mpi.hpp"
#include "commands.hpp"
#include "zo/backend.hpp"
#include "zo/error.hpp"
#include "zo/version.hpp"

namespace {

struct Command {
  const char* name;
  int (*run)(const std::vector<std::string>&);
  const char* summary;
};

const Command kCommands[] = {
    {"toy", zo_cli::cmd_toy, "Figure 1: GD vs ZO on Example 2.1 (CSV + PNG)"},
    {"sweep", zo_cli::cmd_sweep,
     "grids of runs over seeds/lambda/eta/q/method: table, summary, bands"},
    {"trace", zo_cli::cmd_trace, "Hessian-trace estimates with error bars at a point"},
    {"linear", zo_cli::cmd_linear,
     "Figure 2: GD vs ZO for SVM and logistic regression (CSV + PNG)"},
    {"info", zo_cli::cmd_info, "build and device information"},
};

void print_usage() {
  std::printf(
      "usage: zo <command> [options]    (zo <command> --help for its options)\n"
      "       zo --version              version and how libzo was built\n\ncommands:\n");
  for (const auto& c : kCommands) std::printf("  %-8s %s\n", c.name, c.summary);
}

/// "zo 0.1.0" (this executable) and the build line of the libzo it loaded (zo/version.hpp).
void print_version() {
  std::printf("zo %d.%d.%d\n%s\n", ZO_VERSION_MAJOR, ZO_VERSION_MINOR, ZO_VERSION_PATCH,
              zo::build_summary().c_str());
}

/// A runtime failure: on stderr, and under MPI on the failing rank's own stderr (ranks other
/// than 0 have theirs on /dev/null), since it may be the only rank that failed.
bool g_failed = false;  // a command ended by an exception (its peers may be in a collective)

void report_failure(const std::string& line) {
  g_failed = true;
  if (zo_cli::mpi_active() && zo_cli::mpi_rank() != 0) {
    zo_cli::rank_error(line);
  } else {
    std::fprintf(stderr, "%s\n", line.c_str());
  }
}

int run_command(const std::string& name, const std::vector<std::string>& args);

}  // namespace

namespace zo_cli {
int cmd_info(const std::vector<std::string>& args) {
  ArgParser p("info", "Prints how libzo was built and which backend it would use.");
  if (!p.parse(args)) return 0;
  std::printf("version:       zo %d.%d.%d\n", ZO_VERSION_MAJOR, ZO_VERSION_MINOR, ZO_VERSION_PATCH);
  std::printf("build:         %s\n", zo::build_summary().c_str());
  const char* threads = std::getenv("OMP_NUM_THREADS");
  const char* wait = std::getenv("OMP_WAIT_POLICY");
  std::printf("threads:       %s (OpenMP, %s%s), waiting %s\n",
              threads ? threads : std::to_string(std::thread::hardware_concurrency()).c_str(),
              threads ? "OMP_NUM_THREADS" : "one per core",
              "; loops below 2^15 element operations run on one thread", wait ? wait : "passively");
  std::printf("cuda compiled: %s\n", zo::cuda_compiled() ? "yes" : "no");
  std::printf("cuda device:   %s\n", zo::cuda_device_description().c_str());
  std::printf("backend:       %s\n", zo::to_string(zo::resolve_backend(zo::Backend::automatic)));
  std::printf("mpi:           %s\n",
              mpi_compiled() ? (mpi_active() ? mpi_banner().substr(4).c_str()
                                             : "yes (zo::mpi built; run under mpirun or srun)")
                             : "no (built without MPI: -DZO_WITH_MPI=OFF or no MPI found)");
  return 0;
}
}  // namespace zo_cli

int main(int argc, char** argv) {
  // OpenMP threads that wait for work by spinning slow everything down on a machine whose cores
  // are busy. libgomp reads OMP_WAIT_POLICY when it loads, before main(), so a zo started without
  // a policy restarts itself once with the passive one (the user's setting always wins).
  if (std::getenv("OMP_WAIT_POLICY") == nullptr && ::setenv("OMP_WAIT_POLICY", "PASSIVE", 1) == 0) {
    ::execv("/proc/self/exe", argv);  // returns only on failure: then go on as we are
  }
  if (argc >= 2 && (std::string(argv[1]) == "--version" || std::string(argv[1]) == "version")) {
    print_version();
    return 0;
  }
  if (argc < 2 || std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h" ||
      std::string(argv[1]) == "help") {
    print_usage();
    return argc < 2 ? 2 : 0;
  }
  const std::string name = argv[1];
  const std::vector<std::string> args(argv + 2, argv + argc);
  // Under mpirun / srun: one job over all ranks, never N independent copies of the same work.
  const zo_cli::LaunchInfo launch = zo_cli::detect_launch();
  const std::string refusal = zo_cli::launch_refusal(launch, zo_cli::mpi_compiled(), name);
  if (!refusal.empty()) {
    if (launch.rank == 0) std::fprintf(stderr, "%s\n", refusal.c_str());
    return 2;
  }
  try {
    zo_cli::start_mpi(&argc, &argv, launch);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "zo: cannot start MPI: %s\n", e.what());
    return 1;
  }
  bool quiet = false;
  for (const auto& a : args) quiet = quiet || a == "--quiet";
  const std::string banner = zo_cli::mpi_active() ? zo_cli::mpi_banner() : "";  // collective
  if (!banner.empty() && zo_cli::mpi_rank() == 0 && !quiet && name != "info")
    std::fprintf(stderr, "%s\n", banner.c_str());
  const int code = run_command(name, args);
  // A runtime failure on one rank may leave the others waiting in a collective: abort the job.
  zo_cli::stop_mpi(code, g_failed);
  return code;
}

namespace {
int run_command(const std::string& name, const std::vector<std::string>& args) {
  for (const auto& c : kCommands) {
    if (name != c.name) continue;
    // Exit codes: 0 success; 1 runtime failure; 2 usage or input error (bad option, missing,
    // unreadable or malformed input); 130 / 143 interrupted (SIGINT / SIGTERM).
    const bool debug = std::getenv("ZO_DEBUG") != nullptr;
    const auto where = [debug](const zo::Error& e) {
      return debug && !e.location().empty() ? " [" + e.location() + "]" : std::string();
    };
    try {
      return c.run(args);
    } catch (const zo_cli::UsageError& e) {
      std::fprintf(stderr, "%s\n", e.what());
      return 2;
    } catch (const zo::InvalidArgument& e) {
      std::fprintf(stderr, "zo %s: %s%s\n", name.c_str(), e.what(), where(e).c_str());
      return 2;
    } catch (const zo::DataError& e) {
      std::fprintf(stderr, "zo %s: %s%s\n", name.c_str(), e.what(), where(e).c_str());
      return 2;
    } catch (const zo::Error& e) {
      report_failure("zo " + name + ": error: " + e.what() + where(e));
      return 1;
    } catch (const std::exception& e) {
      report_failure("zo " + name + ": error: " + e.what());
      return 1;
    }
  }
  std::fprintf(stderr, "zo: unknown command '%s'\n", name.c_str());
  print_usage();
  return 2;
}
}  // namespace
