// The service's commands of the CLI, private to api/: serve, import, export, token create, list
// and revoke, audit verify, plan show and list. AddServiceCommands registers them on the app;
// RunServiceCommand runs the one that was parsed and returns its exit code (exit_codes.h), or -1
// when none of them was.
#pragma once

#include <CLI/CLI.hpp>
#include <iosfwd>
#include <string>

#include "api/http/service.h"
#include "inventory/store.h"

namespace topoplace {

struct ServiceCommands {
  ServeArgs serve;
  CLI::App* serve_cmd = nullptr;

  std::string db;  // shared by import, export, token, audit, plan
  std::string import_file;
  bool import_force = false;
  CLI::App* import_cmd = nullptr;

  std::string export_file;
  CLI::App* export_cmd = nullptr;

  std::string token_tenant;
  std::string token_role;
  std::string token_project;                    // with --project: the project the token is bound to
  CLI::Option* token_project_option = nullptr;  // given at all ("" names the default project)
  CLI::App* token_create_cmd = nullptr;

  CLI::App* audit_verify_cmd = nullptr;

  // import, export, token and audit: the audit key file, JSON output, token expiry and revocation.
  std::string audit_key;
  bool json = false;
  std::string token_expires_in;
  std::string token_id;
  CLI::App* token_list_cmd = nullptr;
  CLI::App* token_revoke_cmd = nullptr;

  // plan show ID (a plan, allocation or cluster id) and plan list [--unfinished].
  std::string plan_id;
  bool plan_unfinished = false;
  CLI::App* plan_show_cmd = nullptr;
  CLI::App* plan_list_cmd = nullptr;
};

void AddServiceCommands(CLI::App& app, ServiceCommands& cmds);
int RunServiceCommand(const ServiceCommands& cmds, std::ostream& out, std::ostream& err);

// The store the commands name with --db and --audit-key; `mode` kExisting for commands that only
// read.
Result<std::unique_ptr<Store>> OpenCommandStore(const ServiceCommands& cmds, OpenMode mode);

// plan show and plan list (plan_command.cc).
int RunPlanShow(const ServiceCommands& cmds, std::ostream& out, std::ostream& err);
int RunPlanList(const ServiceCommands& cmds, std::ostream& out, std::ostream& err);

}  // namespace topoplace
