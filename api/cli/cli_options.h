// Private to api/: the command-line options several commands share, declared once so their names,
// accepted values and ranges stay the same everywhere.
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "solver/backend.h"

namespace topoplace {

// --solver: a registered backend, or "auto" (the heuristic, then the exact solver).
inline CLI::Option* AddSolverOption(CLI::App* command, std::string& solver,
                                    const std::string& help) {
  std::vector<std::string> names = BuiltinBackends().Names();
  names.push_back("auto");
  return command->add_option("--solver", solver, help)->check(CLI::IsMember(names));
}

// --time-limit: seconds, from a millisecond up to `max_seconds`.
inline CLI::Option* AddTimeLimitOption(CLI::App* command, double& seconds, const std::string& help,
                                       double max_seconds = 86400.0) {
  return command->add_option("--time-limit", seconds, help)->check(CLI::Range(0.001, max_seconds));
}

}  // namespace topoplace
