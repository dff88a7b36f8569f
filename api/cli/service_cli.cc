#include "api/cli/service_cli.h"

#include <fstream>
#include <ostream>

#include "api/cli/cli_options.h"
#include "api/exit_codes.h"
#include "inventory/scenario_codec.h"
#include "inventory/store.h"
#include "model/text.h"

namespace topoplace {
namespace {

const Actor kCli{"cli", "provider-admin", ""};

int Fail(std::ostream& err, const std::string& what, const Status& st) {
  for (const auto& m : st.messages()) err << "topoplace " << what << ": " << m << "\n";
  return ExitCodeFor(st.code());
}

int RunImport(const ServiceCommands& c, std::ostream& out, std::ostream& err) {
  auto scenario = LoadScenarioFile(c.import_file);
  if (!scenario.ok()) {
    for (const auto& m : scenario.status().messages()) err << m << "\n";
    return ExitCodeFor(scenario.status().code());
  }
  auto store = Store::Open(c.db);
  if (!store.ok()) return Fail(err, "import", store.status());
  Status st = (*store)->Import(*scenario, kCli, NowMillis(), c.import_force);
  if (!st.ok()) return Fail(err, "import", st);
  out << "imported " << c.import_file << " into the " << (*store)->kind()
      << " store: " << scenario->inventory.nodes.size() << " nodes, " << scenario->tenants.size()
      << " tenants, " << scenario->allocations.size() << " allocations\n";
  return kExitOk;
}

int RunExport(const ServiceCommands& c, std::ostream& out, std::ostream& err) {
  auto store = Store::Open(c.db);
  if (!store.ok()) return Fail(err, "export", store.status());
  auto scenario = (*store)->Export();
  if (!scenario.ok()) return Fail(err, "export", scenario.status());
  const std::string yaml = DumpScenario(*scenario);
  if (c.export_file.empty() || c.export_file == "-") {
    out << yaml;
    return kExitOk;
  }
  std::ofstream f(c.export_file, std::ios::binary);
  f << yaml;
  if (!f) {
    err << "topoplace export: cannot write " << c.export_file << "\n";
    return kExitInternal;
  }
  return kExitOk;
}

int RunTokenCreate(const ServiceCommands& c, std::ostream& out, std::ostream& err) {
  auto store = Store::Open(c.db);
  if (!store.ok()) return Fail(err, "token create", store.status());
  auto secret = (*store)->CreateToken(c.token_tenant, c.token_role, kCli, NowMillis());
  if (!secret.ok()) return Fail(err, "token create", secret.status());
  out << *secret << "\n";
  err << "topoplace token create: a " << c.token_role << " token"
      << (c.token_tenant.empty() ? "" : " for tenant " + c.token_tenant)
      << "; it is shown only this once (the store keeps its hash)\n";
  return kExitOk;
}

int RunAuditVerify(const ServiceCommands& c, std::ostream& out, std::ostream& err) {
  auto store = Store::Open(c.db);
  if (!store.ok()) return Fail(err, "audit verify", store.status());
  auto report = (*store)->VerifyAudit();
  if (!report.ok()) return Fail(err, "audit verify", report.status());
  if (report->ok()) {
    out << "audit log intact: " << report->entries << " entries, hash chain verified\n";
    return kExitOk;
  }
  for (const auto& p : report->problems) err << "audit verify: " << p << "\n";
  err << "audit log BROKEN: " << report->problems.size() << " problems in " << report->entries
      << " entries\n";
  return kExitUnsatisfied;
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
  AddSolverOption(s, c.serve.solver, "Default backend: heuristic, ilp or auto");
  AddTimeLimitOption(s, c.serve.time_limit_seconds, "Default seconds per solve", 60.0);
  s->add_option("--max-body-bytes,--max-body", c.serve.max_body_bytes,
                "Largest request body in bytes (Content-Length or chunked); 413 beyond")
      ->check(CLI::Range(int64_t{1024}, int64_t{64} << 20));
  s->add_option("--threads", c.serve.threads, "Worker threads (requests being answered)")
      ->check(CLI::Range(1, 1024));
  s->add_option("--db-connections", c.serve.db_connections, "Database connections")
      ->check(CLI::Range(1, 256));
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
  // The config file is read once the command line is parsed, so the command line wins.
  s->callback([s, &c] { ApplyServeConfig(*s, c.serve.config); });
  c.serve_cmd = s;

  auto* i = app.add_subcommand("import", "Load a scenario into a store (replaces its inventory)");
  i->add_option("file", c.import_file, "Scenario YAML file")->required();
  i->add_option("--db", c.db, db_help);
  i->add_flag("--force", c.import_force,
              "Replace reservations and allocations made through the service");
  c.import_cmd = i;

  auto* e = app.add_subcommand("export", "Write a store's state as scenario YAML");
  e->add_option("--db", c.db, db_help);
  e->add_option("-o,--output", c.export_file, "Output file (default: standard output)");
  c.export_cmd = e;

  auto* t = app.add_subcommand("token", "Manage API tokens");
  t->require_subcommand(1);
  auto* tc = t->add_subcommand("create", "Create an API token and print it once");
  tc->add_option("--tenant", c.token_tenant, "Tenant the token acts for (tenant roles)");
  tc->add_option("--role", c.token_role, "provider-admin, tenant-admin, tenant-member or auditor")
      ->required()
      ->check(CLI::IsMember({"provider-admin", "tenant-admin", "tenant-member", "auditor"}));
  tc->add_option("--db", c.db, db_help);
  c.token_create_cmd = tc;

  auto* a = app.add_subcommand("audit", "Inspect the audit log");
  a->require_subcommand(1);
  auto* av = a->add_subcommand("verify", "Check the audit log's hash chain; exit 3 if broken");
  av->add_option("--db", c.db, db_help);
  c.audit_verify_cmd = av;
}

int RunServiceCommand(const ServiceCommands& c, std::ostream& out, std::ostream& err) {
  if (c.serve_cmd && c.serve_cmd->parsed()) return RunServe(c.serve, out, err);
  if (c.import_cmd && c.import_cmd->parsed()) return RunImport(c, out, err);
  if (c.export_cmd && c.export_cmd->parsed()) return RunExport(c, out, err);
  if (c.token_create_cmd && c.token_create_cmd->parsed()) return RunTokenCreate(c, out, err);
  if (c.audit_verify_cmd && c.audit_verify_cmd->parsed()) return RunAuditVerify(c, out, err);
  return -1;
}

}  // namespace topoplace
