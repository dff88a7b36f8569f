// Tenant projects over HTTP (DESIGN.md section 6a), against the real `topoplace serve`: holds and
// allocations belong to a project, a project stays within its own quota and the projects of a
// tenant together within the tenant's, usage shows each project with its alerts, a token bound to
// a project sees and touches only that project, and an export carries the projects into a new
// store.
#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <thread>

#include "tests/service/service_harness.h"

namespace topoplace::testing {
namespace {

// moc-small with med-imaging (its 2 nodes of med-pilot in its default project) limited to 5
// nodes and split into "scan" (at most 2 nodes, alerts at half) and "trial" (no own limits).
std::string ScenarioWithProjects() {
  std::string yaml = ReadAll(SourceDirectory() + "/scenarios/moc-small.yaml");
  const std::string med =
      "quota: {nodes: 24, gpus: 192, cpuCores: 3000, memoryGiB: 50000, storageGiB: 800000}\n"
      "    compliance: [hipaa]";
  const size_t at = yaml.find(med);
  if (at == std::string::npos) throw std::runtime_error("moc-small.yaml changed: no med-imaging");
  yaml.replace(at, med.size(),
               "quota: {nodes: 5, gpus: 192, cpuCores: 3000, memoryGiB: 50000, storageGiB: "
               "800000}\n"
               "    projects:\n"
               "      - {name: scan, quota: {nodes: 2}, alertAt: [0.5]}\n"
               "      - {name: trial}\n"
               "    compliance: [hipaa]");
  const auto file = std::filesystem::temp_directory_path() /
                    ("topoplace-projects-" + std::to_string(::getpid()) + ".yaml");
  std::ofstream(file) << yaml;
  return file.string();
}

class ProjectTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    scenario_ = ScenarioWithProjects();
    db_ = NewStoreUrl(GetParam());
    CliResult imported = RunCli({"import", scenario_, "--db", db_});
    ASSERT_EQ(imported.exit_code, 0) << imported.err;
    admin_ = CreateToken(db_, "provider-admin");
    med_ = CreateToken(db_, "tenant-admin", "med-imaging");
    server_ = std::make_unique<ServerProcess>(db_);
  }

  // A token of med-imaging bound to `project`.
  std::string ProjectToken(const std::string& project, const std::string& role = "tenant-admin") {
    CliResult r = RunCli({"token", "create", "--db", db_, "--role", role, "--tenant", "med-imaging",
                          "--project", project});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    std::string t = r.out;
    while (!t.empty() && std::isspace(static_cast<unsigned char>(t.back()))) t.pop_back();
    return t;
  }

  static std::string OneNode(const std::string& project = "") {
    json body{{"nodes", 1}, {"select", {{"class", "cpu"}}}};
    if (!project.empty()) body["project"] = project;
    return body.dump();
  }

  Response Reserve(const std::string& token, const std::string& body) {
    return server_->Call("POST", "/v1/reservations", token, body);
  }

  // Reserves one node for `project` and commits it: the allocation.
  json Allocate(const std::string& token, const std::string& project) {
    Response r = Reserve(token, OneNode(project));
    EXPECT_EQ(r.status, 201) << r.body;
    Response a = server_->Call(
        "POST", "/v1/reservations/" + r.Json()["id"].get<std::string>() + ":commit", token, "{}");
    EXPECT_EQ(a.status, 200) << a.body;
    return a.Json();
  }

  static std::vector<std::string> Ids(const json& list) {
    std::vector<std::string> out;
    for (const auto& item : list["items"]) out.push_back(item["id"]);
    return out;
  }

  std::string scenario_, db_, admin_, med_;
  std::unique_ptr<ServerProcess> server_;
};

TEST_P(ProjectTest, AReservationAndItsAllocationBelongToTheProjectAskedFor) {
  Response r = Reserve(med_, OneNode("scan"));
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(r.Json()["project"], "scan");
  const std::string id = r.Json()["id"];
  Response got = server_->Call("GET", "/v1/reservations/" + id, med_);
  EXPECT_EQ(got.Json()["project"], "scan");
  Response a = server_->Call("POST", "/v1/reservations/" + id + ":commit", med_, "{}");
  ASSERT_EQ(a.status, 200) << a.body;
  EXPECT_EQ(a.Json()["project"], "scan");
  const std::string alloc = a.Json()["id"];

  // Without a project, the tenant's default project.
  Response plain = Reserve(med_, OneNode());
  ASSERT_EQ(plain.status, 201) << plain.body;
  EXPECT_EQ(plain.Json()["project"], "default");

  // A dry run says which project it solved for.
  Response solved = server_->Call("POST", "/v1/placements:solve", med_, OneNode("trial"));
  ASSERT_EQ(solved.status, 200) << solved.body;
  EXPECT_EQ(solved.Json()["project"], "trial");

  // ?project= filters the lists.
  Response scan = server_->Call("GET", "/v1/allocations?project=scan", med_);
  ASSERT_EQ(scan.status, 200) << scan.body;
  EXPECT_EQ(Ids(scan.Json()), std::vector<std::string>{alloc});
  Response trial = server_->Call("GET", "/v1/allocations?project=trial", med_);
  ASSERT_EQ(trial.status, 200) << trial.body;
  EXPECT_TRUE(Ids(trial.Json()).empty());
  Response defaults = server_->Call("GET", "/v1/allocations?project=", admin_);
  ASSERT_EQ(defaults.status, 200) << defaults.body;
  const json default_items = defaults.Json()["items"];
  EXPECT_FALSE(default_items.empty());
  for (const auto& item : default_items) EXPECT_EQ(item["project"], "default") << item;
  Response held = server_->Call("GET", "/v1/reservations?project=default", med_);
  ASSERT_EQ(held.status, 200) << held.body;
  EXPECT_EQ(Ids(held.Json()), std::vector<std::string>{plain.Json()["id"]});
}

TEST_P(ProjectTest, AnUnknownProjectIsABadRequestNamingItAndTheTenantsProjects) {
  for (const char* route : {"/v1/reservations", "/v1/placements:solve"}) {
    Response r = server_->Call("POST", route, med_, OneNode("radiology"));
    EXPECT_EQ(r.status, 400) << route << ": " << r.body;
    EXPECT_EQ(r.content_type, "application/problem+json");
    const json j = r.Json();
    EXPECT_EQ(j["code"], "unknown_reference") << r.body;
    EXPECT_EQ(j["pointer"], "/project") << r.body;
    const std::string detail = j["detail"];
    EXPECT_NE(detail.find("\"radiology\""), std::string::npos) << detail;
    EXPECT_NE(detail.find("\"scan\", \"trial\""), std::string::npos) << detail;
  }
  Response none = server_->Call("GET", "/v1/reservations?all=true", med_);
  EXPECT_EQ(none.Json()["total"], 0);
}

TEST_P(ProjectTest, AProjectStaysWithinItsQuotaAndTheProjectsWithinTheTenants) {
  Allocate(med_, "scan");
  Allocate(med_, "scan");
  // scan holds its 2; the tenant (2 + 2 of 5) would have room for one more.
  Response over = Reserve(med_, OneNode("scan"));
  EXPECT_EQ(over.status, 422) << over.body;
  EXPECT_EQ(over.Json()["code"], "quota_exceeded") << over.body;
  EXPECT_NE(over.body.find("scan"), std::string::npos) << over.body;

  // trial has no limit of its own: the last node of the tenant's 5 goes to whichever of racing
  // holds of both projects wins, and only to one.
  std::vector<std::thread> racers;
  std::atomic<int> won{0}, refused{0};
  for (int i = 0; i < 4; ++i) {
    racers.emplace_back([&, i] {
      Response r = Reserve(med_, OneNode(i % 2 == 0 ? "trial" : ""));
      if (r.status == 201) {
        ++won;
      } else if (r.Json()["code"] == "quota_exceeded") {
        ++refused;
      } else {
        ADD_FAILURE() << r.status << " " << r.body;
      }
    });
  }
  for (auto& t : racers) t.join();
  EXPECT_EQ(won.load(), 1);
  EXPECT_EQ(refused.load(), 3);
  Response usage = server_->Call("GET", "/v1/tenants/med-imaging/usage", med_);
  EXPECT_EQ(usage.Json()["used"]["nodes"], 5) << usage.body;
}

TEST_P(ProjectTest, UsageShowsEachProjectWithItsAlerts) {
  Allocate(med_, "scan");
  Allocate(med_, "scan");
  Allocate(med_, "trial");
  Response r = server_->Call("GET", "/v1/tenants/med-imaging/usage", med_);
  ASSERT_EQ(r.status, 200) << r.body;
  const json j = r.Json();
  EXPECT_EQ(j["used"]["nodes"], 5);
  std::map<std::string, json> projects;
  for (const auto& p : j["projects"]) projects[p["name"]] = p;
  ASSERT_EQ(projects.size(), 3u) << j["projects"];
  EXPECT_EQ(projects["default"]["usage"]["nodes"], 2);  // med-pilot, from the scenario
  EXPECT_TRUE(projects["default"]["quota"]["nodes"].is_null());
  EXPECT_EQ(projects["scan"]["usage"]["nodes"], 2);
  EXPECT_EQ(projects["scan"]["quota"]["nodes"], 2);
  EXPECT_EQ(projects["trial"]["usage"]["nodes"], 1);
  EXPECT_TRUE(projects["trial"]["quota"]["nodes"].is_null());
  // scan uses all of its nodes: past its own alertAt of 0.5.
  ASSERT_EQ(projects["scan"]["alerts"].size(), 1u) << projects["scan"];
  EXPECT_EQ(projects["scan"]["alerts"][0]["resource"], "nodes");
  EXPECT_EQ(projects["scan"]["alerts"][0]["threshold"], 0.5);
  EXPECT_EQ(projects["scan"]["alertAt"], json::array({0.5}));
  // trial sets no alertAt of its own: the tenant's; with no limit of its own, nothing to pass.
  EXPECT_EQ(projects["trial"]["alertAt"], json::array({0.75, 0.9}));
  EXPECT_TRUE(projects["trial"]["alerts"].empty());
  // The tenant as a whole: 5 of 5 nodes.
  bool tenant_alert = false;
  for (const auto& a : j["alerts"]) tenant_alert = tenant_alert || a["resource"] == "nodes";
  EXPECT_TRUE(tenant_alert) << j["alerts"];
  // The metrics say the same per project.
  Response metrics = server_->Call("GET", "/metrics", admin_);
  ASSERT_EQ(metrics.status, 200);
  EXPECT_NE(metrics.body.find(
                "topoplace_project_nodes_held{tenant=\"med-imaging\",project=\"scan\"} 2\n"),
            std::string::npos);
  EXPECT_NE(metrics.body.find(
                "topoplace_project_nodes_held{tenant=\"med-imaging\",project=\"trial\"} 1\n"),
            std::string::npos);
  // A token bound to a project sees its own project's line only.
  Response own = server_->Call("GET", "/v1/tenants/med-imaging/usage", ProjectToken("trial"));
  ASSERT_EQ(own.status, 200) << own.body;
  ASSERT_EQ(own.Json()["projects"].size(), 1u);
  EXPECT_EQ(own.Json()["projects"][0]["name"], "trial");
}

TEST_P(ProjectTest, ATokenBoundToAProjectSeesAndTouchesOnlyThatProject) {
  // Room in the tenant's 5 nodes: med-pilot (the default project's 2) is released first.
  Response pilot = server_->Call("GET", "/v1/allocations?project=default", admin_);
  ASSERT_EQ(pilot.status, 200) << pilot.body;
  for (const std::string& id : Ids(pilot.Json())) {
    ASSERT_EQ(server_->Call("DELETE", "/v1/allocations/" + id, admin_).status, 200);
  }
  Response rsv = Reserve(med_, OneNode("scan"));
  ASSERT_EQ(rsv.status, 201) << rsv.body;
  const std::string scan_reservation = rsv.Json()["id"];
  const std::string scan_allocation = Allocate(med_, "scan")["id"];
  // A cluster of the default project: not trial's either.
  Response cluster = server_->Call("POST", "/v1/clusters", med_, OneNode());
  ASSERT_EQ(cluster.status, 201) << cluster.body;
  const std::string scan_cluster = cluster.Json()["id"];

  const std::string trial = ProjectToken("trial");
  const std::string trial_member = ProjectToken("trial", "tenant-member");
  // `code` null: a success, no problem to check.
  auto expect = [&](const std::string& method, const std::string& path, const std::string& token,
                    int status, const json& code, const std::string& body = "") {
    Response r = server_->Call(method, path, token, body);
    EXPECT_EQ(r.status, status) << method << " " << path << ": " << r.body;
    if (!code.is_null()) {
      EXPECT_EQ(r.Json()["code"], code) << method << " " << path << ": " << r.body;
    }
  };
  // Another project's things are not there for it (as another tenant's are not).
  for (const std::string& t : {trial, trial_member}) {
    expect("GET", "/v1/reservations/" + scan_reservation, t, 404, "reservation_not_found");
    expect("GET", "/v1/allocations/" + scan_allocation, t, 404, "allocation_not_found");
    expect("GET", "/v1/clusters/" + scan_cluster, t, 404, "cluster_not_found");
  }
  expect("POST", "/v1/reservations/" + scan_reservation + ":commit", trial, 404,
         "reservation_not_found", "{}");
  expect("DELETE", "/v1/reservations/" + scan_reservation, trial, 404, "reservation_not_found");
  expect("DELETE", "/v1/allocations/" + scan_allocation, trial, 404, "allocation_not_found");
  expect("DELETE", "/v1/clusters/" + scan_cluster, trial, 404, "cluster_not_found");
  // It may not reserve for, nor list, another project.
  expect("POST", "/v1/reservations", trial, 403, "forbidden", OneNode("scan"));
  const std::string for_default =
      json{{"nodes", 1}, {"select", {{"class", "cpu"}}}, {"project", "default"}}.dump();
  expect("POST", "/v1/reservations", trial, 403, "forbidden", for_default);
  expect("POST", "/v1/placements:solve", trial_member, 403, "forbidden", OneNode("scan"));
  expect("GET", "/v1/allocations?project=scan", trial, 403, "forbidden");

  // What it may do: reserve (for its project, named or not), see and release its own.
  Response own = Reserve(trial, OneNode());
  ASSERT_EQ(own.status, 201) << own.body;
  EXPECT_EQ(own.Json()["project"], "trial");
  Response named = Reserve(trial, OneNode("trial"));
  ASSERT_EQ(named.status, 201) << named.body;
  for (const char* path :
       {"/v1/reservations?all=true", "/v1/allocations?all=true", "/v1/clusters"}) {
    Response list = server_->Call("GET", path, trial);
    ASSERT_EQ(list.status, 200) << path << ": " << list.body;
    const json items = list.Json()["items"];
    for (const auto& item : items) {
      EXPECT_EQ(item["tenant"], "med-imaging") << path;
      if (item.contains("project")) {
        EXPECT_EQ(item["project"], "trial") << path;
      }
    }
    EXPECT_EQ(list.body.find(scan_allocation), std::string::npos) << path;
    EXPECT_EQ(list.body.find(scan_reservation), std::string::npos) << path;
    EXPECT_EQ(list.body.find(scan_cluster), std::string::npos) << path;
  }
  Response mine = server_->Call("GET", "/v1/reservations", trial);
  EXPECT_EQ(mine.Json()["total"], 2) << mine.body;
  expect("DELETE", "/v1/reservations/" + own.Json()["id"].get<std::string>(), trial, 200, nullptr);

  // The scan project's things are untouched.
  Response still = server_->Call("GET", "/v1/allocations/" + scan_allocation, med_);
  EXPECT_EQ(still.Json()["status"], "active");
  Response held = server_->Call("GET", "/v1/reservations/" + scan_reservation, med_);
  EXPECT_EQ(held.Json()["status"], "held");

  // The token's project must be one of the tenant's.
  CliResult bad = RunCli({"token", "create", "--db", db_, "--role", "tenant-admin", "--tenant",
                          "med-imaging", "--project", "radiology"});
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.err.find("radiology"), std::string::npos) << bad.err;
  CliResult list = RunCli({"token", "list", "--db", db_, "--json"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  int bound = 0;
  const json tokens = json::parse(list.out)["tokens"];
  for (const auto& t : tokens) bound += t["project"] == "trial";
  EXPECT_EQ(bound, 2);
}

TEST_P(ProjectTest, AnExportCarriesTheProjectsIntoANewStore) {
  const std::string scan_allocation = Allocate(med_, "scan")["id"];
  (void)scan_allocation;
  const auto file = std::filesystem::temp_directory_path() /
                    ("topoplace-projects-export-" + std::to_string(::getpid()) + ".yaml");
  CliResult exported = RunCli({"export", "--db", db_, "-o", file.string()});
  ASSERT_EQ(exported.exit_code, 0) << exported.err;
  const std::string other = NewStoreUrl(GetParam());
  CliResult imported = RunCli({"import", file.string(), "--db", other});
  ASSERT_EQ(imported.exit_code, 0) << imported.err;
  const std::string admin = CreateToken(other, "provider-admin");
  const std::string med = CreateToken(other, "tenant-admin", "med-imaging");
  ServerProcess again(other);
  Response scan = again.Call("GET", "/v1/allocations?project=scan", admin);
  ASSERT_EQ(scan.status, 200) << scan.body;
  ASSERT_EQ(scan.Json()["items"].size(), 1u) << scan.body;
  EXPECT_EQ(scan.Json()["items"][0]["project"], "scan");
  Response usage = again.Call("GET", "/v1/tenants/med-imaging/usage", med);
  std::map<std::string, json> projects;
  const json usage_projects = usage.Json()["projects"];
  for (const auto& p : usage_projects) projects[p["name"]] = p;
  EXPECT_EQ(projects["scan"]["quota"]["nodes"], 2) << usage.body;
  EXPECT_EQ(projects["scan"]["usage"]["nodes"], 1) << usage.body;
  EXPECT_EQ(projects.count("trial"), 1u);
  // And its quota still binds there.
  Response r = again.Call("POST", "/v1/reservations", med, OneNode("scan"));
  ASSERT_EQ(r.status, 201) << r.body;
  Response over = again.Call("POST", "/v1/reservations", med, OneNode("scan"));
  EXPECT_EQ(over.Json()["code"], "quota_exceeded") << over.body;
}

INSTANTIATE_TEST_SUITE_P(Backends, ProjectTest, ::testing::Values("sqlite", "postgresql"),
                         [](const auto& p) { return p.param; });

}  // namespace
}  // namespace topoplace::testing
