// Private to api/: one function per CLI command. Each returns a process exit code (exit_codes.h)
// and writes human text or, with --json, one JSON document to `out`; errors go to `err`.
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

#include "model/scenario.h"
#include "solver/solver.h"

namespace topoplace {

struct ValidateArgs {
  std::vector<std::string> files;
  bool json = false;
};
int RunValidate(const ValidateArgs& args, std::ostream& out, std::ostream& err);

struct ShowArgs {
  std::string file;
  bool json = false;
  int max_children = 12;  // tree entries listed per parent before collapsing
  bool all_nodes = false; // list nodes even in large inventories
};
int RunShow(const ShowArgs& args, std::ostream& out, std::ostream& err);

struct PlaceArgs {
  std::string file;
  std::vector<std::string> requests;  // empty = all requests of the file
  std::string solver = "auto";
  double time_limit_seconds = 10;
  bool independent = false;  // solve each request against the current state, not jointly
  bool json = false;
};
int RunPlace(const PlaceArgs& args, std::ostream& out, std::ostream& err);

// Loads a scenario, printing every error to `err` on failure. Returns false then and sets `exit`.
bool LoadForCommand(const std::string& file, Scenario& scenario, bool json, std::ostream& out,
                    std::ostream& err, int& exit);

}  // namespace topoplace
