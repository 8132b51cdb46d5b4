// The zo subcommands. Each takes the arguments after its name and returns the exit code;
// user errors are thrown as zo_cli::UsageError (exit code 2).
#pragma once

#include <string>
#include <vector>

namespace zo_cli {

int cmd_toy(const std::vector<std::string>& args);
int cmd_sweep(const std::vector<std::string>& args);
int cmd_trace(const std::vector<std::string>& args);
int cmd_linear(const std::vector<std::string>& args);
int cmd_info(const std::vector<std::string>& args);

}  // namespace zo_cli
