#include "api/cli/cli.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <new>
#include <ostream>
#include <streambuf>

#include "api/cli/cli_options.h"
#include "api/cli/commands.h"
#include "api/cli/service_cli.h"
#include "api/cli/whatif_cli.h"
#include "api/exit_codes.h"
#include "model/text.h"

namespace topoplace {

namespace {

// A stream buffer that passes text on to another, escaping on the way what a terminal would act
// on: control characters other than newline and tab, bidi controls, broken UTF-8. A sequence split
// across writes is held until it is complete. The last resort behind TerminalText.
class TerminalSafeBuf : public std::streambuf {
 public:
  explicit TerminalSafeBuf(std::streambuf* to) : to_(to) {}
  ~TerminalSafeBuf() override {
    FlushPendingAsBroken();
    to_->pubsync();
  }

 protected:
  int_type overflow(int_type ch) override {
    if (traits_type::eq_int_type(ch, traits_type::eof())) return traits_type::not_eof(ch);
    Put(static_cast<unsigned char>(traits_type::to_char_type(ch)));
    return ch;
  }
  std::streamsize xsputn(const char* s, std::streamsize n) override {
    for (std::streamsize i = 0; i < n; ++i) Put(static_cast<unsigned char>(s[i]));
    return n;
  }
  int sync() override { return to_->pubsync(); }

 private:
  static size_t ExpectedLength(unsigned char c) {
    if (c >= 0xc2 && c <= 0xdf) return 2;
    if (c >= 0xe0 && c <= 0xef) return 3;
    if (c >= 0xf0 && c <= 0xf4) return 4;
    return 0;
  }
  void Write(std::string_view s) { to_->sputn(s.data(), static_cast<std::streamsize>(s.size())); }
  void WriteEscaped(std::string_view seq) { Write(TerminalText(seq)); }
  void FlushPendingAsBroken() {
    for (char b : pending_) WriteEscaped(std::string_view(&b, 1));
    pending_.clear();
  }
  void Put(unsigned char c) {
    if (!pending_.empty()) {
      if ((c & 0xc0) == 0x80) {
        pending_ += static_cast<char>(c);
        if (pending_.size() == ExpectedLength(static_cast<unsigned char>(pending_[0]))) {
          if (Utf8SequenceLength(pending_, 0) == pending_.size()) {
            WriteEscaped(pending_);
            pending_.clear();
          } else {
            FlushPendingAsBroken();
          }
        }
        return;
      }
      FlushPendingAsBroken();
    }
    if (c == '\n' || c == '\t' || (c >= 0x20 && c < 0x7f)) {
      to_->sputc(static_cast<char>(c));
    } else if (ExpectedLength(c) > 0) {
      pending_ += static_cast<char>(c);
    } else {
      const char b = static_cast<char>(c);
      WriteEscaped(std::string_view(&b, 1));
    }
  }

  std::streambuf* to_;
  std::string pending_;
};

// The closest of `names` within two edits (and less than half the word), or empty.
std::string Closest(std::string_view word, const std::vector<std::string>& names) {
  if (word.size() > 64) return "";
  std::string best;
  size_t best_distance = 3;
  for (const std::string& name : names) {
    const size_t d = EditDistance(word, name);
    if (d < best_distance && d * 2 <= std::max<size_t>(name.size(), 2)) {
      best_distance = d;
      best = name;
    }
  }
  return best;
}

std::vector<std::string> SubcommandNames(const CLI::App& app) {
  std::vector<std::string> names;
  for (const CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; }))
    names.push_back(sub->get_name());
  return names;
}

std::vector<std::string> LongOptionNames(const CLI::App& app) {
  std::vector<std::string> names;
  for (const CLI::Option* o : app.get_options()) {
    for (const std::string& n : o->get_lnames()) names.push_back("--" + n);
  }
  return names;
}

// A stable code for an argument error, for --json answers.
std::string ParseErrorCode(const CLI::ParseError& e) {
  if (dynamic_cast<const CLI::ExtrasError*>(&e) != nullptr) return "unknown_argument";
  if (dynamic_cast<const CLI::RequiredError*>(&e) != nullptr) return "missing_argument";
  if (dynamic_cast<const CLI::ArgumentMismatch*>(&e) != nullptr) return "wrong_argument_count";
  if (dynamic_cast<const CLI::ValidationError*>(&e) != nullptr ||
      dynamic_cast<const CLI::ConversionError*>(&e) != nullptr)
    return "bad_value";
  return "bad_arguments";
}

// The argument error, with a "did you mean" for a mistyped command or option when one is close.
std::string ParseErrorMessage(const CLI::App& app, const CLI::ParseError& e, int argc,
                              char** argv) {
  std::string message = e.what();
  if (argc < 2) return message;
  const std::string first = argv[1];
  const std::vector<std::string> commands = SubcommandNames(app);
  const bool known_command = std::find(commands.begin(), commands.end(), first) != commands.end();
  if (!first.empty() && first.front() != '-' && !known_command) {
    message = "unknown command " + QuotedText(first) + "; expected one of ";
    for (size_t i = 0; i < commands.size(); ++i) message += (i ? ", " : "") + commands[i];
    if (const std::string close = Closest(first, commands); !close.empty())
      message += " (did you mean " + close + "?)";
    return message;
  }
  if (!known_command || dynamic_cast<const CLI::ExtrasError*>(&e) == nullptr) return message;
  // An unknown option of a known command: the closest of that command's options.
  const CLI::App* sub = nullptr;
  for (const CLI::App* candidate : app.get_subcommands([](const CLI::App*) { return true; }))
    if (candidate->get_name() == first) sub = candidate;
  if (sub == nullptr) return message;
  std::vector<std::string> options = LongOptionNames(*sub);
  for (int i = 2; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--") break;
    if (arg.rfind("--", 0) != 0) continue;
    const std::string flag = arg.substr(0, arg.find('='));
    if (std::find(options.begin(), options.end(), flag) != options.end()) continue;
    if (const std::string close = Closest(flag, options); !close.empty())
      return message + " (did you mean " + close + "?)";
  }
  return message;
}

bool WantsJson(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--") return false;
    if (arg == "--json") return true;
  }
  return false;
}

int RunParsed(int argc, char** argv, std::ostream& out, std::ostream& err, std::ostream& raw_out,
              std::ostream& raw_err) {
  CLI::App app{
      "topoplace: topology-aware placement for multi-tenant GPU clouds.\n"
      "Exit codes: 0 ok, 1 internal error, 2 bad input, 3 infeasible or unsatisfied, 4 a store "
      "or port unavailable, 5 a placement left undecided (nothing found, nothing proven).",
      "topoplace"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "topoplace 0.1.0");
  // --help shows every option's default (inherited by the subcommands made below).
  app.option_defaults()->always_capture_default();

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
  AddSolverOption(p, place.solver, "Backend");
  AddTimeLimitOption(p, place.time_limit_seconds, "Seconds per request for the exact solver");
  p->add_flag("--independent", place.independent,
              "Solve each request against the current state instead of jointly by priority");
  p->add_flag("--json", place.json, "Print the results as JSON");
  p->add_option("--template", place.template_name,
                "Place one cluster of this template (clusterTemplates) instead of the requests: "
                "every node set, or none");
  p->add_option("--tenant", place.tenant, "With --template: the tenant the cluster is for");
  p->add_option("--project", place.project,
                "With --template: the tenant's project (default: \"default\")");

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
    const std::string message = ParseErrorMessage(app, e, argc, argv);
    if (WantsJson(argc, argv)) {
      out << JsonText(Json{{"error", {{"code", ParseErrorCode(e)}, {"message", message}}}}) << "\n";
    } else {
      err << "topoplace: " << TerminalText(message) << "\n";
      if (message.find("did you mean") == std::string::npos || argc < 2) {
        err << "Run with --help for more information.\n";
      }
    }
    return kExitBadInput;
  }

  if (v->parsed()) return RunValidate(validate, out, err);
  if (s->parsed()) return RunShow(show, out, err);
  if (p->parsed()) return RunPlace(place, out, err);
  // export writes scenario YAML, data rather than terminal text, and serve's threads share its
  // streams (the filter holds state): both get the streams as they are.
  if (service.export_cmd != nullptr && service.export_cmd->parsed())
    return RunServiceCommand(service, raw_out, err);
  if (service.serve_cmd != nullptr && service.serve_cmd->parsed())
    return RunServiceCommand(service, raw_out, raw_err);
  if (const int code = RunServiceCommand(service, out, err); code >= 0) return code;
  if (const int code = RunWhatIfCommand(whatif, out, err); code >= 0) return code;
  return kExitBadInput;
}

}  // namespace

void PrintErrors(std::ostream& err, const std::vector<std::string>& messages,
                 std::string_view prefix) {
  for (size_t i = 0; i < messages.size() && i < kMaxPrintedErrors; ++i)
    err << prefix << TerminalText(CutOnCharacter(messages[i], 4096)) << "\n";
  if (messages.size() > kMaxPrintedErrors) {
    err << prefix << "... and " << messages.size() - kMaxPrintedErrors << " more errors\n";
  }
}

Json ErrorsJson(const std::vector<std::string>& messages) {
  Json list = Json::array();
  for (size_t i = 0; i < messages.size() && i < kMaxPrintedErrors; ++i)
    list.push_back(std::string(CutOnCharacter(messages[i], 4096)));
  if (messages.size() > kMaxPrintedErrors) {
    list.push_back("... and " + std::to_string(messages.size() - kMaxPrintedErrors) +
                   " more errors");
  }
  return list;
}

Json ErrorJson(const Status& status) {
  const std::string first = status.messages().empty() ? "" : status.messages().front();
  return Json{{"code", status.ReasonOrCodeName()},
              {"message", std::string(CutOnCharacter(first, 4096))}};
}

int ReportFailure(const Status& status, bool json, std::ostream& out, std::ostream& err,
                  std::string_view prefix, const Json& extra) {
  if (json) {
    Json j{{"error", ErrorJson(status)}};
    for (const auto& [key, value] : extra.items()) j[key] = value;
    j["errors"] = ErrorsJson(status.messages());
    if (status.messages().size() > kMaxPrintedErrors) j["errorCount"] = status.messages().size();
    out << JsonText(j) << "\n";
  } else {
    PrintErrors(err, status.messages(), prefix);
  }
  return ExitCodeFor(status.code());
}

Status WriteOutputFile(const std::string& path, const std::string& content, std::string_view flag) {
  namespace fs = std::filesystem;
  auto fail = [&](const std::string& why) {
    Status st = InvalidArgumentError(std::string(flag) + ": cannot write " + path + ": " + why);
    st.SetReason("cannot_write");
    return st;
  };
  if (path.empty()) return fail("empty path");
  std::error_code ec;
  if (fs::is_directory(path, ec)) return fail("is a directory");
  const fs::path target(path);
  const fs::path dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
  std::string tmp = (dir / ("." + target.filename().string() + ".tmp-XXXXXX")).string();
  const int fd = ::mkstemp(tmp.data());
  if (fd < 0) return fail(std::strerror(errno));
  size_t done = 0;
  while (done < content.size()) {
    const ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const std::string why = std::strerror(errno);
      ::close(fd);
      ::unlink(tmp.c_str());
      return fail(why);
    }
    done += static_cast<size_t>(n);
  }
  // The file mkstemp makes is private to its owner; an output file gets the usual mode.
  const mode_t mask = ::umask(0);
  ::umask(mask);
  ::fchmod(fd, 0666 & ~mask);
  if (::close(fd) != 0 || ::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string why = std::strerror(errno);
    ::unlink(tmp.c_str());
    return fail(why);
  }
  return Status::Ok();
}

int RunCli(int argc, char** argv, std::ostream& out, std::ostream& err) {
  TerminalSafeBuf out_buf(out.rdbuf()), err_buf(err.rdbuf());
  std::ostream safe_out(&out_buf), safe_err(&err_buf);
  try {
    return RunParsed(argc, argv, safe_out, safe_err, out, err);
  } catch (const std::bad_alloc&) {
    // Not the input's fault and not "unsatisfiable": an internal error, whatever the command.
    if (WantsJson(argc, argv)) {
      safe_out << JsonText(
                      Json{{"error", {{"code", "out_of_memory"}, {"message", "out of memory"}}}})
               << "\n";
    }
    safe_err << "topoplace: out of memory\n";
    return kExitInternal;
  } catch (const std::exception& e) {
    safe_err << "topoplace: internal error: " << e.what() << "\n";
    return kExitInternal;
  }
}

}  // namespace topoplace
