#include "api/cli/service_cli.h"

#include <charconv>
#include <ctime>
#include <fstream>
#include <nlohmann/json.hpp>
#include <ostream>

#include "api/cli/cli_options.h"
#include "api/cli/commands.h"
#include "api/exit_codes.h"
#include "api/json_codec.h"
#include "inventory/scenario_codec.h"
#include "inventory/store.h"
#include "model/text.h"

namespace topoplace {
namespace {

const Actor kCli{"cli", "provider-admin", ""};

using Json = nlohmann::ordered_json;

// Prints an error: as text on the error stream, or with --json as one object on the output
// ({"error": {"code", "message"}}). The exit code is the status's either way.
int Fail(const ServiceCommands& c, std::ostream& out, std::ostream& err, const std::string& what,
         const Status& st) {
  if (c.json) {
    // A store's or driver's words may carry bytes that are not UTF-8: JsonText never throws.
    out << JsonText(Json{{"error", {{"code", st.ReasonOrCodeName()}, {"message", st.message()}}}},
                    -1)
        << "\n";
  } else {
    for (const auto& m : st.messages()) err << "topoplace " << what << ": " << m << "\n";
  }
  return ExitCodeFor(st.code());
}

Json TimeJson(int64_t ms) { return ms > 0 ? Json(IsoTime(ms, false)) : Json(nullptr); }

// "30d", "12h", "45m", "90s", "2w" -> milliseconds.
Result<int64_t> ParseDuration(const std::string& text) {
  const auto bad = [&] {
    return WithReason(StatusCode::kInvalidArgument, "bad_duration",
                      "--expires-in " + QuotedText(text, 40) +
                          ": expected a count and a unit, like 30d, 12h, 45m, 90s or 2w");
  };
  if (text.size() < 2 || text.size() > 12) return bad();
  int64_t n = 0;
  const char* b = text.data();
  const char* unit = b + text.size() - 1;
  auto [end, ec] = std::from_chars(b, unit, n);
  if (ec != std::errc() || end != unit || n <= 0) return bad();
  int64_t ms = 0;
  switch (*unit) {
    case 's': ms = 1000; break;
    case 'm': ms = 60'000; break;
    case 'h': ms = 3'600'000; break;
    case 'd': ms = 86'400'000; break;
    case 'w': ms = 7 * 86'400'000LL; break;
    default: return bad();
  }
  if (n > (int64_t{100} * 365 * 86'400'000) / ms) {
    return WithReason(StatusCode::kInvalidArgument, "bad_duration",
                      "--expires-in " + QuotedText(text, 40) + ": more than a century");
  }
  return n * ms;
}

Json TokenJson(const TokenRecord& t) {
  return Json{{"id", t.id},
              {"role", t.role},
              {"tenant", t.tenant.empty() ? Json(nullptr) : Json(t.tenant)},
              {"project", t.project ? Json(*t.project) : Json(nullptr)},
              {"created", TimeJson(t.created_ms)},
              {"expires", TimeJson(t.expires_ms)},
              {"revoked", TimeJson(t.revoked_ms)},
              {"lastUsed", TimeJson(t.last_used_ms)}};
}

int RunImport(const ServiceCommands& c, std::ostream& out, std::ostream& err) {
  auto scenario = LoadScenarioFile(c.import_file);
  if (!scenario.ok()) {
    if (c.json) return Fail(c, out, err, "import", scenario.status());
    PrintErrors(err, scenario.status().messages());
    return ExitCodeFor(scenario.status().code());
  }
  auto store = OpenCommandStore(c, OpenMode::kCreate);
  if (!store.ok()) return Fail(c, out, err, "import", store.status());
  Status st = (*store)->Import(*scenario, kCli, NowMillis(), c.import_force);
  if (!st.ok()) return Fail(c, out, err, "import", st);
  // A store keeps state (inventory, tenants, allocations), not wishes: the scenario's requests are
  // not imported, and the user is told so rather than left to wonder where they went.
  const size_t requests = scenario->requests.size();
  if (c.json) {
    out << JsonText(Json{{"imported", c.import_file},
                         {"store", (*store)->kind()},
                         {"nodes", scenario->inventory.nodes.size()},
                         {"tenants", scenario->tenants.size()},
                         {"allocations", scenario->allocations.size()},
                         {"requestsNotImported", requests}},
                    -1)
        << "\n";
    return kExitOk;
  }
  out << "imported " << QuotedText(c.import_file, 200) << " into the " << (*store)->kind()
      << " store: " << scenario->inventory.nodes.size() << " nodes, " << scenario->tenants.size()
      << " tenants, " << scenario->allocations.size() << " allocations\n";
  if (requests > 0) {
    out << "not imported: the scenario's " << requests << " request" << (requests == 1 ? "" : "s")
        << " (a store keeps state, not requests; place them with `topoplace place` or hold them "
           "with "
           "POST /v1/reservations)\n";
  }
  return kExitOk;
}

int RunExport(const ServiceCommands& c, std::ostream& out, std::ostream& err) {
  auto store = OpenCommandStore(c, OpenMode::kExisting);
  if (!store.ok()) return Fail(c, out, err, "export", store.status());
  auto scenario = (*store)->Export();
  if (!scenario.ok()) return Fail(c, out, err, "export", scenario.status());
  const std::string yaml = DumpScenario(*scenario);
  const bool to_stdout = c.export_file.empty() || c.export_file == "-";
  if (!to_stdout) {
    Status written = WriteOutputFile(c.export_file, yaml, "-o");
    if (!written.ok()) return Fail(c, out, err, "export", written);
  }
  if (c.json) {
    Json j{{"store", (*store)->kind()},
           {"nodes", scenario->inventory.nodes.size()},
           {"tenants", scenario->tenants.size()},
           {"allocations", scenario->allocations.size()}};
    if (to_stdout) {
      j["yaml"] = yaml;  // one object on the output: the scenario travels inside it
    } else {
      j["written"] = c.export_file;
    }
    out << JsonText(j, -1) << "\n";
  } else if (to_stdout) {
    out << yaml;
  }
  return kExitOk;
}

int RunTokenCreate(const ServiceCommands& c, std::ostream& out, std::ostream& err) {
  int64_t expires_ms = 0;
  const int64_t now = NowMillis();
  if (!c.token_expires_in.empty()) {
    Result<int64_t> d = ParseDuration(c.token_expires_in);
    if (!d.ok()) return Fail(c, out, err, "token create", d.status());
    expires_ms = now + *d;
  }
  auto store = OpenCommandStore(c, OpenMode::kCreate);
  if (!store.ok()) return Fail(c, out, err, "token create", store.status());
  std::optional<std::string> project;
  if (c.token_project_option != nullptr && c.token_project_option->count() > 0) {
    project = c.token_project;
  }
  auto secret = (*store)->CreateToken(c.token_tenant, c.token_role, kCli, now, expires_ms, project);
  if (!secret.ok()) return Fail(c, out, err, "token create", secret.status());
  if (c.json) {
    auto tokens = (*store)->ListTokens();
    if (!tokens.ok()) return Fail(c, out, err, "token create", tokens.status());
    const std::string id = Sha256Hex(*secret).substr(0, 12);  // the store's public id
    for (const TokenRecord& t : *tokens) {
      if (t.id != id) continue;
      Json j = TokenJson(t);
      j["token"] = *secret;
      out << JsonText(j, -1) << "\n";
      return kExitOk;
    }
    return Fail(c, out, err, "token create",
                WithReason(StatusCode::kInternal, "store_error", "the new token is not listed"));
  }
  out << *secret << "\n";
  err << "topoplace token create: a " << c.token_role << " token"
      << (c.token_tenant.empty() ? "" : " for tenant " + c.token_tenant)
      << (project ? " and its project " + QuotedText(*project, 64) + " only" : std::string())
      << (expires_ms ? ", expiring " + IsoTime(expires_ms, false) : std::string())
      << "; it is shown only this once (the store keeps its hash)\n";
  return kExitOk;
}

int RunTokenList(const ServiceCommands& c, std::ostream& out, std::ostream& err) {
  auto store = OpenCommandStore(c, OpenMode::kExisting);
  if (!store.ok()) return Fail(c, out, err, "token list", store.status());
  auto tokens = (*store)->ListTokens();
  if (!tokens.ok()) return Fail(c, out, err, "token list", tokens.status());
  if (c.json) {
    Json list = Json::array();
    for (const TokenRecord& t : *tokens) list.push_back(TokenJson(t));
    out << JsonText(Json{{"tokens", list}}, -1) << "\n";
    return kExitOk;
  }
  const int64_t now = NowMillis();
  out << "id            role            tenant          created               expires              "
         " "
         "last used             state\n";
  for (const TokenRecord& t : *tokens) {
    char line[256];
    const std::string state = t.revoked_ms                          ? "revoked"
                              : t.expires_ms && t.expires_ms <= now ? "expired"
                                                                    : "live";
    // A token bound to a project shows as TENANT/PROJECT.
    const std::string whose =
        t.tenant.empty() ? "-" : t.tenant + (t.project ? "/" + *t.project : std::string());
    std::snprintf(line, sizeof line, "%-13s %-15s %-15s %-21s %-21s %-21s %s\n", t.id.c_str(),
                  t.role.c_str(), whose.c_str(), IsoTime(t.created_ms, false).c_str(),
                  t.expires_ms ? IsoTime(t.expires_ms, false).c_str() : "never",
                  t.last_used_ms ? IsoTime(t.last_used_ms, false).c_str() : "never", state.c_str());
    out << line;
  }
  return kExitOk;
}

int RunTokenRevoke(const ServiceCommands& c, std::ostream& out, std::ostream& err) {
  auto store = OpenCommandStore(c, OpenMode::kExisting);
  if (!store.ok()) return Fail(c, out, err, "token revoke", store.status());
  auto t = (*store)->RevokeToken(c.token_id, kCli, NowMillis());
  if (!t.ok()) return Fail(c, out, err, "token revoke", t.status());
  if (c.json) {
    out << JsonText(Json{{"revoked", TokenJson(*t)}}, -1) << "\n";
    return kExitOk;
  }
  out << "revoked token " << t->id << " (" << t->role
      << (t->tenant.empty() ? "" : " of " + t->tenant)
      << "); running servers refuse it within 5 seconds\n";
  return kExitOk;
}

int RunAuditVerify(const ServiceCommands& c, std::ostream& out, std::ostream& err) {
  auto store = OpenCommandStore(c, OpenMode::kExisting);
  if (!store.ok()) return Fail(c, out, err, "audit verify", store.status());
  auto report = (*store)->VerifyAudit();
  if (!report.ok()) return Fail(c, out, err, "audit verify", report.status());
  const int code = report->ok() ? kExitOk : kExitUnsatisfied;
  if (c.json) {
    out << JsonText(Json{{"ok", report->ok()},
                         {"entries", report->entries},
                         {"keyed", report->keyed},
                         {"unkeyed", report->unkeyed},
                         {"auditKey", (*store)->audit_key_file().empty()
                                          ? Json(nullptr)
                                          : Json((*store)->audit_key_file())},
                         {"problems", report->problems}},
                    -1)
        << "\n";
    return code;
  }
  if (report->ok()) {
    out << "audit log intact: " << report->entries << " entries, hash chain verified ("
        << report->keyed << " keyed";
    if (report->unkeyed > 0) out << ", " << report->unkeyed << " unkeyed: written before the key";
    out << ")\n";
    return code;
  }
  for (const auto& p : report->problems) err << "audit verify: " << p << "\n";
  err << "audit log BROKEN: " << report->problems.size() << " problems in " << report->entries
      << " entries\n";
  return code;
}

// Reads `topoplace serve --config FILE` with CLI11's config parser and sets every option the
// command line did not set. Unknown keys are an error that names the file and the key.
void ApplyServeConfig(CLI::App& serve, const std::string& file) {
  if (file.empty()) return;
  std::ifstream in(file);
  if (!in) throw CLI::FileError::Missing(file);
  std::vector<CLI::ConfigItem> items;
  try {
    items = CLI::ConfigTOML().from_config(in);
  } catch (const CLI::ParseError& e) {
    throw CLI::ValidationError("--config", file + ": " + e.what());
  }
  for (const CLI::ConfigItem& item : items) {
    if (item.name == "++" || item.name == "--") continue;  // section markers
    const bool in_serve =
        item.parents.empty() || (item.parents.size() == 1 && item.parents[0] == "serve");
    CLI::Option* opt = in_serve ? serve.get_option_no_throw("--" + item.name) : nullptr;
    if (opt == nullptr || !opt->get_configurable()) {
      throw CLI::ValidationError("--config", file + ": unknown key " + QuotedText(item.fullname()) +
                                                 " (the keys are serve's option names)");
    }
    if (opt->count() > 0) continue;  // the command line wins
    opt->add_result(item.inputs);
    opt->run_callback();
  }
}

}  // namespace

void AddServiceCommands(CLI::App& app, ServiceCommands& c) {
  const std::string db_help =
      "Store: a file path (default ./topoplace.db) or postgresql://USER@HOST:PORT/DB";
  auto* s = app.add_subcommand("serve", "Run the placement service (HTTP API)");
  s->option_defaults()->always_capture_default();
  s->add_option("--config", c.serve.config,
                "Read serve options from FILE: one `key = value` per line (TOML/INI; keys are the "
                "option names without dashes, an optional [serve] section); options given on "
                "the command line win")
      ->configurable(false);
  s->add_option("--db", c.serve.db, db_help);
  s->add_option("--listen", c.serve.listen, "HOST:PORT to listen on (port 0 picks a free one)");
  s->add_option("--scenario", c.serve.scenario,
                "Scenario to seed an empty store with (default: the built-in moc-small)");
  AddSolverOption(s, c.serve.solver, "Default backend");
  AddTimeLimitOption(s, c.serve.time_limit_seconds, "Default seconds per solve", 60.0);
  s->add_option("--max-body-bytes,--max-body", c.serve.max_body_bytes,
                "Largest request body in bytes (Content-Length or chunked); 413 beyond")
      ->check(CLI::Range(int64_t{1024}, int64_t{64} << 20));
  s->add_option("--threads", c.serve.threads, "Worker threads (requests being answered)")
      ->check(CLI::Range(1, 1024));
  s->add_option("--db-connections", c.serve.db_connections, "Database connections")
      ->check(CLI::Range(1, 256));
  s->add_option("--audit-key", c.serve.audit_key,
                "Audit key file, made (0600, 32 random bytes) when missing (default: beside an "
                "embedded store file, <db>.audit-key; for a database server $TOPOPLACE_AUDIT_KEY "
                "or ~/.config/topoplace/audit-key)");
  s->add_option("--header-timeout-seconds", c.serve.header_timeout_seconds,
                "Deadline for a request's whole header, from its first byte")
      ->check(CLI::Range(0.1, 3600.0));
  s->add_option("--body-timeout-seconds", c.serve.body_timeout_seconds,
                "Deadline for a request's whole body")
      ->check(CLI::Range(0.1, 3600.0));
  s->add_option("--idle-timeout-seconds", c.serve.idle_timeout_seconds,
                "How long a kept-alive connection may wait for its next request")
      ->check(CLI::Range(0.1, 3600.0));
  s->add_option("--max-connections", c.serve.max_connections,
                "Open connections in total; beyond, new ones get 503 too_busy")
      ->check(CLI::Range(1, 100000));
  s->add_option("--max-connections-per-client", c.serve.max_connections_per_client,
                "Open connections per client IP address; beyond, 429 too_many_connections")
      ->check(CLI::Range(1, 100000));
  s->add_option("--max-concurrent-solves", c.serve.max_concurrent_solves,
                "Solves running at once (0 = the hardware threads)")
      ->check(CLI::Range(0, 1024));
  s->add_option("--solve-queue", c.serve.solve_queue,
                "Solves that may wait (up to 10 s) for a slot; beyond, 503 too_busy")
      ->check(CLI::Range(0, 1024));
  s->add_option("--member-max-time-limit-seconds", c.serve.member_max_time_limit_seconds,
                "Longest timeLimitSeconds a tenant-member may give the ilp and auto backends")
      ->check(CLI::Range(0.001, 3600.0));
  s->add_option("--tls-cert", c.serve.tls_cert,
                "PEM certificate chain: serve HTTPS (with --tls-key)")
      ->check(CLI::ExistingFile);
  s->add_option("--tls-key", c.serve.tls_key, "PEM private key of --tls-cert")
      ->check(CLI::ExistingFile);
  s->add_option("--access-log", c.serve.access_log,
                "Append one line per request to FILE (default: standard error)");
  s->add_option("--executors", c.serve.executors,
                "Executor settings FILE (drivers, credentials by reference, runner limits): "
                "committed bare-metal clusters are carried out (power, PXE, VLANs, DHCP); "
                "without it clusters stop at their allocation")
      ->check(CLI::ExistingFile);
  // The config file is read once the command line is parsed, so the command line wins.
  s->callback([s, &c] { ApplyServeConfig(*s, c.serve.config); });
  c.serve_cmd = s;

  const std::string key_help =
      "Audit key file (default: beside an embedded store file, <db>.audit-key; for a database "
      "server $TOPOPLACE_AUDIT_KEY or ~/.config/topoplace/audit-key)";
  const std::string json_help = "Print one JSON object (errors too: {\"error\": {code, message}})";
  auto* i = app.add_subcommand("import", "Load a scenario into a store (replaces its inventory)");
  i->add_option("file", c.import_file, "Scenario YAML file")->required();
  i->add_option("--db", c.db, db_help);
  i->add_flag("--force", c.import_force,
              "Replace reservations and allocations made through the service");
  i->add_option("--audit-key", c.audit_key, key_help);
  i->add_flag("--json", c.json, json_help);
  c.import_cmd = i;

  auto* e = app.add_subcommand("export", "Write a store's state as scenario YAML");
  e->add_option("--db", c.db, db_help);
  e->add_option("-o,--output", c.export_file, "Output file (default: standard output)");
  e->add_option("--audit-key", c.audit_key, key_help);
  e->add_flag("--json", c.json, json_help + "; the YAML goes to -o, or into the object");
  c.export_cmd = e;

  auto* t = app.add_subcommand("token", "Manage API tokens");
  t->require_subcommand(1);
  auto* tc = t->add_subcommand("create", "Create an API token and print it once");
  tc->add_option("--tenant", c.token_tenant, "Tenant the token acts for (tenant roles)");
  tc->add_option("--role", c.token_role, "provider-admin, tenant-admin, tenant-member or auditor")
      ->required()
      ->check(CLI::IsMember({"provider-admin", "tenant-admin", "tenant-member", "auditor"}));
  c.token_project_option = tc->add_option(
      "--project", c.token_project,
      "Bind the token to this project of its tenant: it sees and touches only that project's "
      "reservations, allocations and clusters (\"\" = the default project)");
  tc->add_option("--expires-in", c.token_expires_in,
                 "Lifetime: a count and a unit, like 30d, 12h, 45m, 90s or 2w (default: never)");
  tc->add_option("--db", c.db, db_help);
  tc->add_option("--audit-key", c.audit_key, key_help);
  tc->add_flag("--json", c.json, json_help);
  c.token_create_cmd = tc;
  auto* tl = t->add_subcommand("list", "List API tokens (ids, roles, tenants, times; no secrets)");
  tl->add_option("--db", c.db, db_help);
  tl->add_option("--audit-key", c.audit_key, key_help);
  tl->add_flag("--json", c.json, json_help);
  c.token_list_cmd = tl;
  auto* tr = t->add_subcommand(
      "revoke", "Revoke an API token by its id (servers refuse it within 5 seconds)");
  tr->add_option("id", c.token_id, "The token's id (token list)")->required();
  tr->add_option("--db", c.db, db_help);
  tr->add_option("--audit-key", c.audit_key, key_help);
  tr->add_flag("--json", c.json, json_help);
  c.token_revoke_cmd = tr;

  auto* a = app.add_subcommand("audit", "Inspect the audit log");
  a->require_subcommand(1);
  auto* av = a->add_subcommand("verify", "Check the audit log's hash chain; exit 3 if broken");
  av->add_option("--db", c.db, db_help);
  av->add_option("--audit-key", c.audit_key, key_help);
  av->add_flag("--json", c.json, json_help);
  c.audit_verify_cmd = av;

  auto* pl = app.add_subcommand("plan", "Inspect the plans that carry out bare-metal clusters");
  pl->require_subcommand(1);
  auto* ps = pl->add_subcommand(
      "show", "Show a plan: its status, network, milestones, steps and node addresses");
  ps->add_option("id", c.plan_id,
                 "A plan id (pln-...), or an allocation (alc-...) or cluster (cls-...) id: the "
                 "plan carrying it out")
      ->required();
  ps->add_option("--db", c.db, db_help);
  ps->add_option("--audit-key", c.audit_key, key_help);
  ps->add_flag("--json", c.json, json_help);
  c.plan_show_cmd = ps;
  auto* pls = pl->add_subcommand("list", "List plans: status and steps done, one line each");
  pls->add_flag("--unfinished", c.plan_unfinished,
                "Only plans still being carried out (PROGRESSING or DELETING)");
  pls->add_option("--db", c.db, db_help);
  pls->add_option("--audit-key", c.audit_key, key_help);
  pls->add_flag("--json", c.json, json_help);
  c.plan_list_cmd = pls;
}

Result<std::unique_ptr<Store>> OpenCommandStore(const ServiceCommands& c, OpenMode mode) {
  StoreOptions options;
  options.mode = mode;
  options.audit_key_file = c.audit_key;
  return Store::Open(c.db, options);
}

int RunServiceCommand(const ServiceCommands& c, std::ostream& out, std::ostream& err) {
  if (c.serve_cmd && c.serve_cmd->parsed()) return RunServe(c.serve, out, err);
  if (c.import_cmd && c.import_cmd->parsed()) return RunImport(c, out, err);
  if (c.export_cmd && c.export_cmd->parsed()) return RunExport(c, out, err);
  if (c.token_create_cmd && c.token_create_cmd->parsed()) return RunTokenCreate(c, out, err);
  if (c.token_list_cmd && c.token_list_cmd->parsed()) return RunTokenList(c, out, err);
  if (c.token_revoke_cmd && c.token_revoke_cmd->parsed()) return RunTokenRevoke(c, out, err);
  if (c.audit_verify_cmd && c.audit_verify_cmd->parsed()) return RunAuditVerify(c, out, err);
  if (c.plan_show_cmd && c.plan_show_cmd->parsed()) return RunPlanShow(c, out, err);
  if (c.plan_list_cmd && c.plan_list_cmd->parsed()) return RunPlanList(c, out, err);
  return -1;
}

}  // namespace topoplace
