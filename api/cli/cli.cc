#include "api/cli/cli.h"

#include <CLI/CLI.hpp>
#include <ostream>

#include "api/cli/cli_options.h"
#include "api/cli/commands.h"
#include "api/exit_codes.h"
#include "api/cli/service_cli.h"
#include "api/cli/whatif_cli.h"

namespace topoplace {

int RunCli(int argc, char** argv, std::ostream& out, std::ostream& err) {
  CLI::App app{
      "topoplace: topology-aware placement for multi-tenant GPU clouds.\n"
      "Exit codes: 0 ok, 1 internal error, 2 bad input, 3 infeasible or unsatisfied, 4 a store "
      "or port unavailable.",
      "topoplace"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "topoplace 0.1.0");

  ValidateArgs validate;
  auto* v =
      app.add_subcommand("validate", "Check scenario files; print every error as FILE:LINE:COL");
  v->add_option("files", validate.files, "Scenario YAML files")->required();
  v->add_flag("--json", validate.json, "Print the result as JSON");

  ShowArgs show;
  auto* s = app.add_subcommand("show", "Summarise a scenario: counts, tenant use, topology tree");
  s->add_option("file", show.file, "Scenario YAML file")->required();
  s->add_flag("--json", show.json, "Print the summary as JSON");
  s->add_option("--max-children", show.max_children,
                "Entries listed per tree level before collapsing")
      ->check(CLI::Range(1, 100000));
  s->add_flag("--all-nodes", show.all_nodes, "List every node in the tree, however large");

  PlaceArgs place;
  auto* p = app.add_subcommand("place", "Solve the placement of the scenario's requests");
  p->add_option("file", place.file, "Scenario YAML file")->required();
  p->add_option("--request", place.requests, "Only this request (repeatable)");
  AddSolverOption(p, place.solver, "Backend: heuristic, ilp or auto");
  AddTimeLimitOption(p, place.time_limit_seconds, "Seconds per request for the exact solver");
  p->add_flag("--independent", place.independent,
              "Solve each request against the current state instead of jointly by priority");
  p->add_flag("--json", place.json, "Print the results as JSON");

  ServiceCommands service;
  AddServiceCommands(app, service);

  WhatIfCommands whatif;
  AddWhatIfCommands(app, whatif);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e, out, err);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e, out, err);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e, out, err);
  } catch (const CLI::ParseError& e) {
    app.exit(e, out, err);
    return kExitBadInput;
  }

  try {
    if (v->parsed()) return RunValidate(validate, out, err);
    if (s->parsed()) return RunShow(show, out, err);
    if (p->parsed()) return RunPlace(place, out, err);
    if (const int code = RunServiceCommand(service, out, err); code >= 0) return code;
    if (const int code = RunWhatIfCommand(whatif, out, err); code >= 0) return code;
  } catch (const std::exception& e) {
    err << "topoplace: internal error: " << e.what() << "\n";
    return kExitInternal;
  }
  return kExitBadInput;
}

}  // namespace topoplace
