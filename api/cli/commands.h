// Private to api/: one function per CLI command. Each returns a process exit code (exit_codes.h)
// and writes human text or, with --json, one JSON document to `out`; errors go to `err`.
//
// Output rules every command follows (helpers below, defined in cli.cc): text that came from input
// (names, paths, messages quoting them) is shown through TerminalText, so control characters,
// bidirectional overrides and broken UTF-8 never reach a terminal raw (RunCli also filters both
// streams as a last resort); JSON is written with JsonText, always valid UTF-8; a failure with
// --json is one JSON document on `out` carrying {"error": {"code", "message"}}; at most
// kMaxPrintedErrors error lines are printed, then how many more there were; output files are
// written whole or not at all (WriteOutputFile). Thread safety: one command per process.
#pragma once

#include <cstddef>
#include <iosfwd>
#include <string>
#include <string_view>
#include <vector>

#include "api/json_codec.h"
#include "model/scenario.h"
#include "model/status.h"
#include "model/text.h"  // TerminalText
#include "solver/solver.h"

namespace topoplace {

// Errors printed for one input before the rest are only counted.
inline constexpr size_t kMaxPrintedErrors = 100;

// Each message on its own line (after `prefix`), at most kMaxPrintedErrors of them, then
// "... and N more errors".
void PrintErrors(std::ostream& err, const std::vector<std::string>& messages,
                 std::string_view prefix = "");
// The messages as a JSON array, capped the same way (the last item then says how many more).
Json ErrorsJson(const std::vector<std::string>& messages);
// {"code": ..., "message": ...} for a failed status: its reason, else its code's name.
Json ErrorJson(const Status& status);

// Reports a failed status and returns its exit code: with `json`, one document on `out`
// ({"error": ..., "errors": [...]} plus `extra`'s fields); else the messages on `err`.
int ReportFailure(const Status& status, bool json, std::ostream& out, std::ostream& err,
                  std::string_view prefix = "", const Json& extra = Json::object());

// Writes `content` to `path` whole or not at all: a temporary file beside it, then a rename.
// InvalidArgument (a path that cannot be written is bad input) naming `flag` and the path.
Status WriteOutputFile(const std::string& path, const std::string& content, std::string_view flag);

struct ValidateArgs {
  std::vector<std::string> files;
  bool json = false;
};
int RunValidate(const ValidateArgs& args, std::ostream& out, std::ostream& err);

struct ShowArgs {
  std::string file;
  bool json = false;
  int max_children = 12;   // tree entries listed per parent before collapsing
  bool all_nodes = false;  // list nodes even in large inventories
};
int RunShow(const ShowArgs& args, std::ostream& out, std::ostream& err);

struct PlaceArgs {
  std::string file;
  std::vector<std::string> requests;  // empty = all requests of the file
  std::string solver = "auto";
  double time_limit_seconds = 10;
  bool independent = false;  // solve each request against the current state, not jointly
  bool json = false;
  // Instead of the requests: one cluster of this template (clusterTemplates:), for the tenant's
  // project, all of its node sets or none.
  std::string template_name;
  std::string tenant;
  std::string project;
};
int RunPlace(const PlaceArgs& args, std::ostream& out, std::ostream& err);

// Loads a scenario, printing every error to `err` on failure. Returns false then and sets `exit`.
bool LoadForCommand(const std::string& file, Scenario& scenario, bool json, std::ostream& out,
                    std::ostream& err, int& exit);

}  // namespace topoplace
