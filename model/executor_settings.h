// A deployment's executor settings: the file `topoplace serve --executors FILE` reads (DESIGN.md
// section 6). Drivers per layer with their options, credential sets by reference, runner limits.
//
// Secrets are never held here: a credential set names a file or an environment variable, read when
// a driver needs it (executors/credentials.h). inventory/executors_codec.h reads the YAML strictly.
// Thread safety: plain values.
#pragma once

#include <map>
#include <string>

namespace topoplace {

// Where a BMC's user name and password come from. Exactly one password source is set.
struct CredentialRef {
  std::string username;       // literal user name (not a secret)
  std::string password_file;  // a file whose first line is the password
  std::string password_env;   // or an environment variable holding it
  bool operator==(const CredentialRef&) const = default;
};

// One driver's options, as the file gives them (scalars as text); the driver checks its own.
using DriverOptions = std::map<std::string, std::string>;

struct RunnerSettings {
  int attempts = 3;                   // tries per step before it fails for good
  double backoff_seconds = 1;         // first retry delay; doubles per attempt
  double step_timeout_seconds = 300;  // one attempt of one step
  double boot_timeout_seconds = 120;  // power-on to the node's lease on the tenant network
  int parallelism = 16;               // steps running at once, across plans
  bool replace_failed_nodes = true;   // ask the solver for a replacement when a node fails for good
  bool operator==(const RunnerSettings&) const = default;
};

struct ExecutorSettings {
  std::map<std::string, CredentialRef> credentials;  // by name (BmcSpec::credentials)
  // layer ("bmc", "l2", "l3", "slurm", ...) -> driver name -> its options
  std::map<std::string, std::map<std::string, DriverOptions>> drivers;
  RunnerSettings runner;
  bool operator==(const ExecutorSettings&) const = default;
};

}  // namespace topoplace
