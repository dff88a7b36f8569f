// The executor settings file: drivers per layer with their options, credential sets by reference,
// runner limits (DESIGN.md section 6; model/executor_settings.h holds the values).
//
//   apiVersion: topoplace/v1
//   credentials: {lab-bmc: {username: admin, passwordFile: /etc/topoplace/lab-bmc.pw}}
//   drivers:
//     bmc:   {ipmi: {cipherSuite: 3, timeoutSeconds: 10}, redfish: {verifyTls: true}}
//     l2:    {ovs: {ovsdb: "unix:/run/openvswitch/db.sock"}}
//     l3:    {dnsmasq: {stateDir: /var/lib/topoplace/l3, switchNamespace: ""}}
//     slurm: {conf: /etc/slurm/slurm.conf, controllerNamespace: ""}
//   runner: {attempts: 3, backoffSeconds: 1, stepTimeoutSeconds: 300}
//
// Loading is as strict as the scenario language and reports every error as
//   FILE:LINE:COLUMN: KEY.PATH: what is wrong; expected ...
// Unknown keys, layers, drivers and driver options are errors; a credential set needs a username
// and exactly one of passwordFile and passwordEnv, and a literal `password` is refused: secrets
// are read from a file or the environment when a driver needs them, never kept in this file. A
// driver named `fake` may appear in any layer with any options (for tests). Under `slurm:` the
// options are the slurm driver's own (kept as layer "slurm", driver "slurm"), and a `fake:` key
// there names the fake driver. Option values are scalars kept as text; known options are checked
// for their kind (seconds, booleans, integers) so a typo fails at start, not at the first step.
//
// Thread safety: stateless functions.
#pragma once

#include <string>
#include <string_view>

#include "model/entities.h"
#include "model/executor_settings.h"
#include "model/status.h"

namespace topoplace {

// Reads the file (bounded like a scenario) and parses it; `path` appears in every message.
Result<ExecutorSettings> LoadExecutorSettings(const std::string& path);
// Parses YAML text; `source_name` plays the role of the file name in messages.
Result<ExecutorSettings> LoadExecutorSettingsString(std::string_view yaml,
                                                    std::string_view source_name);

// Whether the settings can serve the inventory: every credential set a node's BMC names exists.
// kInvalidArgument (reason "unknown_credentials") naming each node and set that is missing, one
// message per node, so `serve --executors` fails at start rather than at a node's first step.
Status CheckCredentialRefs(const Inventory& inventory, const ExecutorSettings& settings);

}  // namespace topoplace
