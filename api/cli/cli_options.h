// Private to api/: the command-line options several commands share, declared once so their names,
// accepted values and ranges stay the same everywhere.
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "solver/backend.h"

namespace topoplace {

// --solver: a backend of `backends`, or "auto" (a quick backend, then an exact one). The help is
// `what` followed by the accepted names: "Backend: heuristic, ilp or auto".
inline CLI::Option* AddSolverOption(CLI::App* command, std::string& solver, const std::string& what,
                                    const BackendRegistry& backends = BuiltinBackends()) {
  const std::vector<std::string> names = backends.Choices();
  std::string help = what + ":";
  for (size_t i = 0; i < names.size(); ++i) {
    help += (i == 0 ? " " : i + 1 == names.size() ? " or " : ", ") + names[i];
  }
  return command->add_option("--solver", solver, help)->check(CLI::IsMember(names));
}

// --time-limit: seconds, from a millisecond up to `max_seconds`.
inline CLI::Option* AddTimeLimitOption(CLI::App* command, double& seconds, const std::string& help,
                                       double max_seconds = 86400.0) {
  return command->add_option("--time-limit", seconds, help)->check(CLI::Range(0.001, max_seconds));
}

}  // namespace topoplace
