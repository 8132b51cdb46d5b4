// What the zo CLI does when an MPI launcher started it (tools/cli_mpi.hpp: launch_refusal): the
// rule behind "never N independent copies", checked here for builds with and without MPI.
#include <gtest/gtest.h>

#include "cli_mpi.hpp"

namespace {

zo_cli::LaunchInfo launched(int size) {
  zo_cli::LaunchInfo l;
  l.launched = true;
  l.size = size;
  l.source = "OMPI_COMM_WORLD_SIZE=" + std::to_string(size);
  return l;
}

TEST(LaunchPolicy, WithoutALauncherEveryCommandRuns) {
  for (const bool mpi : {false, true})
    for (const char* command : {"toy", "sweep", "linear", "trace", "info"})
      EXPECT_EQ("", zo_cli::launch_refusal(zo_cli::LaunchInfo{}, mpi, command)) << command;
}

TEST(LaunchPolicy, OneProcessUnderALauncherRunsAsUsual) {
  for (const bool mpi : {false, true})
    EXPECT_EQ("", zo_cli::launch_refusal(launched(1), mpi, "toy"));
}

TEST(LaunchPolicy, SeveralProcessesWithoutMpiSupportAreRefusedForEveryCommand) {
  for (const char* command : {"toy", "sweep", "linear", "trace", "info"}) {
    const std::string why = zo_cli::launch_refusal(launched(4), false, command);
    EXPECT_NE(why.find("4 processes (OMPI_COMM_WORLD_SIZE=4)"), std::string::npos) << why;
    EXPECT_NE(why.find("built without MPI support"), std::string::npos) << why;
    EXPECT_EQ(why.find('\n'), std::string::npos) << "one line";
  }
}

TEST(LaunchPolicy, WithMpiOnlyShardedCommandsRunOnSeveralRanks) {
  for (const char* command : {"sweep", "linear", "info"})
    EXPECT_EQ("", zo_cli::launch_refusal(launched(2), true, command)) << command;
  for (const char* command : {"toy", "trace"}) {
    const std::string why = zo_cli::launch_refusal(launched(2), true, command);
    EXPECT_EQ(why.rfind(std::string("zo ") + command + ": runs in one process", 0), 0u) << why;
  }
}

}  // namespace
