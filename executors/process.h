// Runs a peer's command-line tool (ipmitool, ovs-vsctl, ip, dnsmasq) with a deadline.
//
// The argument vector goes to execvp directly (no shell: nothing a name contains is interpreted).
// Output is captured up to a bound; a process past its deadline is killed (its whole process
// group) and reported as kDeadlineExceeded. Thread safety: safe from several threads.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "model/status.h"

namespace topoplace {

struct ProcessResult {
  int exit_code = -1;  // the exit status, or 128 + signal
  std::string out;     // stdout, at most 1 MiB kept
  std::string err;     // stderr, at most 1 MiB kept
};

struct ProcessOptions {
  double timeout_seconds = 10;
  std::map<std::string, std::string> env;  // added to the inherited environment
  std::string stdin_text;
};

// kUnavailable when the program cannot be started (not installed), kDeadlineExceeded past the
// deadline; otherwise the result, whatever the exit code.
Result<ProcessResult> RunProcess(const std::vector<std::string>& argv,
                                 const ProcessOptions& options = {});

// The first line of a process's stderr (else stdout), trimmed, for a step's log line.
std::string FirstLine(const ProcessResult& r);

// Starts a long-running process detached from us (its own session), stdout/stderr to `log_file`.
// Returns its PID. Used for daemons a driver owns (dnsmasq per tenant network).
Result<int> SpawnDaemon(const std::vector<std::string>& argv, const std::string& log_file);

}  // namespace topoplace
