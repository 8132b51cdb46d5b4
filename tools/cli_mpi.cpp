// The CLI under an MPI launcher: detection, session, output of ranks other than 0.
#include "cli_mpi.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#if ZO_HAVE_MPI
#include "zo/mpi.hpp"
#endif

namespace zo_cli {
namespace {

int env_int(const char* name, int fallback) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return fallback;
  char* end = nullptr;
  const long n = std::strtol(v, &end, 10);
  return (*end == '\0' && n >= 0 && n < (1L << 30)) ? static_cast<int>(n) : fallback;
}

int g_saved_stderr = -1;
#if ZO_HAVE_MPI
std::unique_ptr<zo::mpi::Session> g_session;
#endif

/// One device per local rank: counts the GPUs from the device nodes (no CUDA call: the runtime
/// must not start before CUDA_VISIBLE_DEVICES is set) or from CUDA_VISIBLE_DEVICES's list.
void pick_gpu(int local_rank) {
  std::vector<std::string> devices;
  if (const char* visible = std::getenv("CUDA_VISIBLE_DEVICES")) {
    std::string list = visible, item;
    for (char c : list + ",") {
      if (c == ',') {
        if (!item.empty()) devices.push_back(item);
        item.clear();
      } else {
        item += c;
      }
    }
  } else {
    for (int i = 0; i < 64; ++i)
      if (std::filesystem::exists("/dev/nvidia" + std::to_string(i)))
        devices.push_back(std::to_string(i));
  }
  if (devices.size() < 2) return;  // one GPU (shared) or none: nothing to choose
  ::setenv("CUDA_VISIBLE_DEVICES",
           devices[static_cast<std::size_t>(local_rank) % devices.size()].c_str(), 1);
}

}  // namespace

LaunchInfo detect_launch() {
  LaunchInfo info;
  struct Source {
    const char* size;
    const char* rank;
    const char* local_rank;
  };
  const Source sources[] = {
      {"OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_LOCAL_RANK"},
      {"PMI_SIZE", "PMI_RANK", "MPI_LOCALRANKID"},
      {"PMIX_SIZE", "PMIX_RANK", "PMIX_LOCAL_RANK"},
  };
  for (const auto& s : sources) {
    const int size = env_int(s.size, -1);
    if (size < 1) continue;
    info.launched = true;
    info.size = size;
    info.rank = env_int(s.rank, 0);
    info.local_rank = env_int(s.local_rank, 0);
    info.source = std::string(s.size) + "=" + std::to_string(size);
    return info;
  }
  if (std::getenv("PMIX_RANK") != nullptr) {  // PMIx without a size variable: MPI will tell
    info.launched = true;
    info.rank = env_int("PMIX_RANK", 0);
    info.size = std::max(1, env_int("OMPI_UNIVERSE_SIZE", 1));
    info.source = "PMIX_RANK=" + std::to_string(info.rank);
    return info;
  }
  // srun sets the task count of its step; a batch script runs outside any such step.
  const int tasks = env_int("SLURM_STEP_NUM_TASKS", 1);
  if (tasks > 1 && std::getenv("SLURM_PROCID") != nullptr) {
    info.launched = true;
    info.size = tasks;
    info.rank = env_int("SLURM_PROCID", 0);
    info.local_rank = env_int("SLURM_LOCALID", 0);
    info.source = "SLURM_STEP_NUM_TASKS=" + std::to_string(tasks);
  }
  return info;
}

bool mpi_compiled() { return ZO_HAVE_MPI != 0; }

void start_mpi(int* argc, char*** argv, const LaunchInfo& launch) {
#if ZO_HAVE_MPI
  if (!launch.launched) return;
  pick_gpu(launch.local_rank);
  g_session = std::make_unique<zo::mpi::Session>(argc, argv);
  if (g_session->rank() != 0) {
    std::fflush(stdout);
    std::fflush(stderr);
    g_saved_stderr = ::dup(2);
    const int null = ::open("/dev/null", O_WRONLY);
    if (null >= 0) {
      ::dup2(null, 1);
      ::dup2(null, 2);
      ::close(null);
    }
  }
#else
  (void)argc;
  (void)argv;
  (void)launch;
#endif
}

void stop_mpi(int code, bool abort_job) {
#if ZO_HAVE_MPI
  if (!g_session) return;
  std::fflush(stdout);
  std::fflush(stderr);
  if (abort_job && g_session->size() > 1) MPI_Abort(MPI_COMM_WORLD, code);
  g_session.reset();
#else
  (void)code;
  (void)abort_job;
#endif
}

bool mpi_active() {
#if ZO_HAVE_MPI
  return g_session != nullptr;
#else
  return false;
#endif
}

int mpi_rank() {
#if ZO_HAVE_MPI
  return g_session ? g_session->rank() : 0;
#else
  return 0;
#endif
}

int mpi_size() {
#if ZO_HAVE_MPI
  return g_session ? g_session->size() : 1;
#else
  return 1;
#endif
}

std::string mpi_banner() {
#if ZO_HAVE_MPI
  if (!g_session) return "";
  // Nodes: ranks whose node-local rank is 0.
  int leader = g_session->local_rank() == 0 ? 1 : 0, nodes = 1;
  MPI_Allreduce(&leader, &nodes, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
  return "zo: " + std::to_string(g_session->size()) +
         (g_session->size() == 1 ? " rank" : " ranks") + " (MPI), " + zo::mpi::library_version() +
         ", " + std::to_string(nodes) + (nodes == 1 ? " node" : " nodes");
#else
  return "";
#endif
}

void rank_error(const std::string& line) {
  const std::string text = "zo (rank " + std::to_string(mpi_rank()) + "): " + line + "\n";
  const int fd = g_saved_stderr >= 0 ? g_saved_stderr : 2;
  if (::write(fd, text.data(), text.size()) < 0) return;
}

std::shared_ptr<const zo::Objective> data_parallel_linear_model(
    zo::LinearLoss loss, const zo::BinaryDataset& train, const zo::BinaryDataset& test,
    const zo::LinearModelOptions& options) {
#if ZO_HAVE_MPI
  const std::size_t chunks = std::min<std::size_t>({64, train.rows(), test.rows()});
  return zo::mpi::make_data_parallel_linear_model(loss, train, &test, chunks, MPI_COMM_WORLD,
                                                  options);
#else
  (void)loss;
  (void)train;
  (void)test;
  (void)options;
  return nullptr;
#endif
}

std::string shard_prefix_of(const std::string& checkpoint_path) {
  const std::filesystem::path p(checkpoint_path);
  return (p.parent_path() / p.stem()).string();
}

std::vector<std::string> shard_checkpoints_of(const std::string& checkpoint_path) {
#if ZO_HAVE_MPI
  return zo::mpi::existing_shard_checkpoints(shard_prefix_of(checkpoint_path));
#else
  (void)checkpoint_path;
  return {};
#endif
}

}  // namespace zo_cli
