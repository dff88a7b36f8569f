// End to end: the real `topoplace serve` on loopback, driven over HTTP, against both stores.
#include <gtest/gtest.h>

#include <set>

#include "inventory/audit.h"
#include "inventory/store.h"
#include "tests/service/service_harness.h"

namespace topoplace::testing {
namespace {

class ServiceTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    db_ = NewStoreUrl(GetParam());
    admin_ = CreateToken(db_, "provider-admin");
    server_ = std::make_unique<ServerProcess>(db_);
    nlp_ = CreateToken(db_, "tenant-admin", "nlp-lab");
    base_ = LoadMocSmall();
  }

  json Post(const std::string& path, const json& body, const std::string& token, int expect) {
    Response r = server_->Call("POST", path, token, body.dump());
    EXPECT_EQ(r.status, expect) << path << " " << r.body;
    return r.Json();
  }
  json Get(const std::string& path, const std::string& token, int expect = 200) {
    Response r = server_->Call("GET", path, token);
    EXPECT_EQ(r.status, expect) << path << " " << r.body;
    return r.Json();
  }

  std::string db_, admin_, nlp_;
  Scenario base_;
  std::unique_ptr<ServerProcess> server_;
};

TEST_P(ServiceTest, SeedsTheStoreAndAnswersHealth) {
  json h = Get("/healthz", "");
  EXPECT_EQ(h["status"], "ok");
  EXPECT_EQ(h["store"], GetParam());
  json nodes = Get("/v1/nodes", admin_);
  EXPECT_EQ(nodes["nodes"].size(), base_.inventory.nodes.size());
}

TEST_P(ServiceTest, DryRunSolvesHoldNothing) {
  const json req = {{"tenant", "nlp-lab"},
                    {"nodes", 4},
                    {"select", {{"class", "h100x8"}}},
                    {"topology", {{"locality", {{"level", "leaf"}, {"mode", "preferred"}}}}}};
  json before = Get("/v1/nodes", admin_);
  json r = Post("/v1/placements:solve", req, admin_, 200);
  EXPECT_EQ(r["status"], "optimal");
  ASSERT_EQ(r["nodes"].size(), 4u);
  EXPECT_TRUE(r["verified"].get<bool>());
  VerifyServed(*server_, admin_, base_, req, NodeNames(r["nodes"]), false);
  EXPECT_EQ(Get("/v1/nodes", admin_)["stateVersion"], before["stateVersion"]);
  // Infeasible is an answer, with an explanation.
  json big = Post("/v1/placements:solve",
                  {{"tenant", "med-imaging"},
                   {"nodes", 16},
                   {"select", {{"class", "h100x8"}}},
                   {"compliance", "hipaa"},
                   {"topology", {{"locality", {{"level", "leaf"}}}}}},
                  admin_, 200);
  EXPECT_EQ(big["status"], "infeasible");
  EXPECT_FALSE(big["explanation"]["summary"].get<std::string>().empty());
}

TEST_P(ServiceTest, ReserveCommitReleaseRoundTrip) {
  const json req = {{"nodes", 3},
                    {"select", {{"class", "a100x8"}}},
                    {"topology", {{"locality", {{"level", "rack"}}}}}};
  json r = Post("/v1/reservations?ttlSeconds=60", req, nlp_, 201);
  ASSERT_EQ(r["status"], "held");
  EXPECT_EQ(r["tenant"], "nlp-lab");  // from the token
  const auto nodes = NodeNames(r["nodes"]);
  ASSERT_EQ(nodes.size(), 3u);
  for (const auto& n : r["nodes"])
    EXPECT_NE(n["rule"].get<std::string>().find("locality rack"), std::string::npos);
  VerifyServed(*server_, admin_, base_, r["request"], nodes, true);

  // The held nodes are no longer offered to anyone.
  json again = Post("/v1/placements:solve",
                    {{"tenant", "hpc-physics"}, {"nodes", 1}, {"select", {{"class", "a100x8"}}}},
                    admin_, 200);
  for (const auto& n : NodeNames(again["nodes"]))
    EXPECT_EQ(std::count(nodes.begin(), nodes.end(), n), 0);

  const std::string id = r["id"];
  json a = Post("/v1/reservations/" + id + ":commit", json::object(), nlp_, 200);
  EXPECT_EQ(a["status"], "active");
  EXPECT_EQ(NodeNames(a["nodes"]), nodes);
  VerifyServed(*server_, admin_, base_, a["request"], nodes, true);
  const std::string alloc = a["id"];
  EXPECT_EQ(Get("/v1/reservations/" + id, nlp_)["status"], "committed");
  EXPECT_EQ(Get("/v1/allocations/" + alloc, nlp_)["id"], alloc);
  bool listed = false;
  const json allocations = Get("/v1/allocations", nlp_);
  for (const auto& x : allocations["allocations"]) listed = listed || x["id"] == alloc;
  EXPECT_TRUE(listed);

  // A second commit is refused with a stable code.
  Response twice = server_->Call("POST", "/v1/reservations/" + id + ":commit", nlp_, "{}");
  EXPECT_EQ(twice.status, 422);
  EXPECT_EQ(twice.Json()["code"], "reservation_not_held");
  EXPECT_EQ(twice.content_type, "application/problem+json");

  Response rel = server_->Call("DELETE", "/v1/allocations/" + alloc, nlp_);
  EXPECT_EQ(rel.status, 200) << rel.body;
  EXPECT_EQ(rel.Json()["status"], "released");
  const json after = Get("/v1/nodes", admin_);
  for (const auto& n : after["nodes"]) {
    if (std::count(nodes.begin(), nodes.end(), n["name"].get<std::string>())) {
      EXPECT_EQ(n["state"], "available");
    }
  }
  // Audit: every change is there, with the rule per node, and the chain verifies.
  json audit = Get("/v1/audit", admin_);
  std::vector<std::string> actions;
  for (const auto& e : audit["entries"]) actions.push_back(e["action"]);
  EXPECT_NE(std::find(actions.begin(), actions.end(), "reservation.create"), actions.end());
  EXPECT_NE(std::find(actions.begin(), actions.end(), "reservation.commit"), actions.end());
  EXPECT_NE(std::find(actions.begin(), actions.end(), "allocation.release"), actions.end());
  CliResult verify = RunCli({"audit", "verify", "--db", db_});
  EXPECT_EQ(verify.exit_code, 0) << verify.err;
}

TEST_P(ServiceTest, AnExclusiveHoldKeepsOtherTenantsOutOfItsRack) {
  // nlp-lab holds two a100 nodes with their rack to itself; the rack's other free a100 nodes are
  // closed to every other tenant (held or committed, and after a restart), open to nlp-lab.
  json r =
      Post("/v1/reservations",
           {{"nodes", 2}, {"select", {{"class", "a100x8"}}}, {"exclusive", "rack"}}, nlp_, 201);
  const auto held = NodeNames(r["nodes"]);
  ASSERT_EQ(held.size(), 2u);
  const std::string rack = base_.inventory.nodes[base_.inventory.NodeIndex(held[0])].rack;
  int free_in_rack = 0;
  const json free_a100 = Get("/v1/nodes?class=a100x8&state=available", admin_);
  for (const auto& n : free_a100["nodes"]) free_in_rack += n["rack"] == rack;
  ASSERT_GT(free_in_rack, 0) << "the test needs free a100 nodes left in " << rack;
  const json all = Get("/v1/nodes", admin_);
  for (const auto& n : all["nodes"]) {
    if (std::count(held.begin(), held.end(), n["name"].get<std::string>())) {
      EXPECT_EQ(n["exclusive"], "rack");
    }
  }
  const auto others_avoid_the_rack = [&] {
    int placed_requests = 0;
    for (int count = 1; count <= 3; ++count) {
      const json req = {
          {"tenant", "hpc-physics"}, {"nodes", count}, {"select", {{"class", "a100x8"}}}};
      json other = Post("/v1/placements:solve", req, admin_, 200);
      if (other["status"] == "infeasible") continue;
      ++placed_requests;
      const auto placed = NodeNames(other["nodes"]);
      for (const auto& n : placed)
        EXPECT_NE(base_.inventory.nodes[base_.inventory.NodeIndex(n)].rack, rack) << n;
      VerifyServed(*server_, admin_, base_, req, placed, false);
    }
    // Other a100 racks have room: the check above must have had placements to look at.
    EXPECT_GT(placed_requests, 0);
  };
  others_avoid_the_rack();
  json own = Post("/v1/placements:solve",
                  {{"tenant", "nlp-lab"},
                   {"nodes", 1},
                   {"select", {{"class", "a100x8"}}},
                   {"topology", {{"locality", {{"level", "rack"}}}}}},
                  admin_, 200);
  EXPECT_NE(own["status"], "infeasible");
  Post("/v1/reservations/" + r["id"].get<std::string>() + ":commit", json::object(), nlp_, 200);
  server_.reset();
  server_ = std::make_unique<ServerProcess>(db_);
  others_avoid_the_rack();
}

TEST_P(ServiceTest, CancelReturnsTheNodes) {
  json r = Post("/v1/reservations", {{"nodes", 2}, {"select", {{"class", "l40sx4"}}}}, nlp_, 201);
  const std::string id = r["id"];
  Response c = server_->Call("DELETE", "/v1/reservations/" + id, nlp_);
  EXPECT_EQ(c.status, 200) << c.body;
  EXPECT_EQ(c.Json()["status"], "cancelled");
  Response commit = server_->Call("POST", "/v1/reservations/" + id + ":commit", nlp_, "{}");
  EXPECT_EQ(commit.Json()["code"], "reservation_not_held");
}

TEST_P(ServiceTest, ExpiredHoldsReturnByThemselves) {
  json r = Post("/v1/reservations?ttlSeconds=1", {{"nodes", 2}, {"select", {{"class", "l40sx4"}}}},
                nlp_, 201);
  const std::string id = r["id"];
  const auto nodes = NodeNames(r["nodes"]);
  std::string status;
  for (int i = 0; i < 100 && status != "expired"; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    status = Get("/v1/reservations/" + id, nlp_)["status"];
  }
  EXPECT_EQ(status, "expired");
  const json after = Get("/v1/nodes", admin_);
  for (const auto& n : after["nodes"]) {
    if (std::count(nodes.begin(), nodes.end(), n["name"].get<std::string>())) {
      EXPECT_EQ(n["state"], "available");
      EXPECT_TRUE(n["holder"].is_null());
    }
  }
  Response commit = server_->Call("POST", "/v1/reservations/" + id + ":commit", nlp_, "{}");
  EXPECT_EQ(commit.status, 409);
  EXPECT_EQ(commit.Json()["code"], "reservation_expired");
  // Where the caller allows it, the service solves the request once more and commits that.
  Response resolved =
      server_->Call("POST", "/v1/reservations/" + id + ":commit?resolve=true", nlp_, "{}");
  ASSERT_EQ(resolved.status, 200) << resolved.body;
  const json rj = resolved.Json();
  EXPECT_TRUE(rj["resolvedAfterConflict"].get<bool>());
  EXPECT_EQ(rj["replaces"], id);
  EXPECT_EQ(rj["nodes"].size(), 2u);
  VerifyServed(*server_, admin_, base_, rj["request"], NodeNames(rj["nodes"]), true);
}

TEST_P(ServiceTest, AMovedGenerationIsA409WithAStableCode) {
  // A node of a held reservation changed behind the service's back (its generation moved): the
  // commit is refused with 409 and a stable code, and nothing is allocated.
  json r = Post("/v1/reservations?ttlSeconds=60", {{"nodes", 1}, {"select", {{"class", "l40sx4"}}}},
                nlp_, 201);
  const std::string node = r["nodes"][0]["name"];
  RunSql(db_, "UPDATE nodes SET generation = generation + 1 WHERE name = '" + node + "'");
  Response commit = server_->Call(
      "POST", "/v1/reservations/" + r["id"].get<std::string>() + ":commit", nlp_, "{}");
  EXPECT_EQ(commit.status, 409) << commit.body;
  EXPECT_EQ(commit.Json()["code"], "generation_conflict");
  EXPECT_TRUE(Get("/v1/allocations/none-such", nlp_, 404).is_object());
  EXPECT_EQ(RunSql(db_, "SELECT COUNT(*) FROM allocation_nodes WHERE node = '" + node + "'"), "0");
}

TEST_P(ServiceTest, QuotaIsEnforcedAtSolveAndCommit) {
  // hpc-physics: budget 300/h; a single H100 node costs 98.32/h, four exceed it.
  const json req = {{"tenant", "hpc-physics"}, {"nodes", 4}, {"select", {{"class", "h100x8"}}}};
  Response r = server_->Call("POST", "/v1/reservations", admin_, req.dump());
  EXPECT_EQ(r.status, 422) << r.body;
  const std::string code = r.Json()["code"];
  EXPECT_TRUE(code == "budget_exceeded" || code == "quota_exceeded") << r.body;
  // Lower a quota under a held reservation: the commit checks again.
  json held =
      Post("/v1/reservations",
           {{"tenant", "med-imaging"}, {"nodes", 1}, {"select", {{"class", "cpu"}}}}, admin_, 201);
  RunSql(db_, "UPDATE tenants SET quota_nodes = 2 WHERE name = 'med-imaging'");
  Response c = server_->Call(
      "POST", "/v1/reservations/" + held["id"].get<std::string>() + ":commit", admin_, "{}");
  EXPECT_EQ(c.status, 422) << c.body;
  EXPECT_EQ(c.Json()["code"], "quota_exceeded");
}

TEST_P(ServiceTest, UsageShowsQuotaCostAndAlerts) {
  // med-imaging alerts at 75% of its 2,000/h budget: 2 H100 nodes held + 14 more is ~1,573/h.
  json r = Post("/v1/reservations",
                {{"tenant", "med-imaging"}, {"nodes", 14}, {"select", {{"class", "h100x8"}}}},
                admin_, 201);
  json u = Get("/v1/tenants/med-imaging/usage", admin_);
  EXPECT_EQ(u["used"]["nodes"], 16);
  EXPECT_EQ(u["reserved"]["nodes"], 14);
  EXPECT_EQ(u["quota"]["nodes"], 24);
  EXPECT_EQ(u["reservations"], 1);
  EXPECT_GT(u["costPerHour"].get<double>(), 1500);
  bool alert = false;
  for (const auto& a : u["alerts"])
    alert = alert || (a["resource"] == "costPerHour" && a["threshold"] == 0.75);
  EXPECT_TRUE(alert) << u.dump();
}

TEST_P(ServiceTest, ClustersStopAtACommittedAllocation) {
  json k = Post("/v1/clusters",
                {{"nodes", 2}, {"select", {{"class", "h100x8"}}}, {"purpose", "slurm"}}, nlp_, 201);
  EXPECT_EQ(k["status"], "allocated");
  EXPECT_EQ(k["purpose"], "slurm");
  ASSERT_EQ(k["steps"][0]["state"], "done");
  json got = Get("/v1/clusters/" + k["id"].get<std::string>(), nlp_);
  EXPECT_EQ(got["allocation"], k["allocation"]);
  EXPECT_EQ(got["nodes"].size(), 2u);
  json alloc = Get("/v1/allocations/" + k["allocation"].get<std::string>(), nlp_);
  VerifyServed(*server_, admin_, base_, alloc["request"], NodeNames(alloc["nodes"]), true);
}

// A cluster's plan (written here as a runner would) reads the same over HTTP and through
// `topoplace plan show --json`: one description of a plan's JSON serves both front ends.
TEST_P(ServiceTest, AClustersPlanReadsTheSameOverHttpAndThroughPlanShow) {
  json k = Post("/v1/clusters",
                {{"nodes", 2}, {"select", {{"class", "h100x8"}}}, {"purpose", "slurm"}}, nlp_, 201);
  const std::string cluster = k["id"], allocation = k["allocation"];
  const std::vector<std::string> nodes = NodeNames(k["nodes"]);
  ASSERT_EQ(nodes.size(), 2u);
  {
    const Actor runner{"runner", "system", ""};
    auto store = Store::Open(db_);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    Plan plan;
    plan.allocation = allocation;
    plan.tenant = "nlp-lab";
    plan.purpose = "slurm";
    for (const std::string& n : nodes) {
      PlanStep step;
      step.id = n + "/power-on";
      step.layer = "bmc";
      step.driver = "ipmi";
      step.action = "power-on";
      step.node = n;
      plan.steps.push_back(step);
    }
    plan.milestones = {{"requested", NowMillis()}};
    auto created = (*store)->CreatePlan(plan, runner);
    ASSERT_TRUE(created.ok()) << created.status().ToString();
    auto net = (*store)->AcquireNetwork(
        "nlp-lab", "nlp-lab", NetworkPolicy{4000, 100, 199, "10.128.0.0/16", 24},
        {{nodes[0], "eth0", "02:00:00:00:00:01", ""}, {nodes[1], "eth0", "02:00:00:00:00:02", ""}},
        runner);
    ASSERT_TRUE(net.ok()) << net.status().ToString();
    PlanStep on = created->steps[0];
    on.state = StepState::kDone;
    on.attempts = 1;
    on.log = "chassis power on";
    ASSERT_TRUE((*store)->SaveStep(created->id, on, runner).ok());
    Plan header = *created;
    header.network = net->id;
    header.updated_ms = 0;
    ASSERT_TRUE((*store)->SavePlanHeader(header, runner).ok());
  }
  json http = Get("/v1/clusters/" + cluster, nlp_);
  CliResult cli = RunCli({"plan", "show", cluster, "--db", db_, "--json"});
  ASSERT_EQ(cli.exit_code, 0) << cli.out << cli.err;
  const json shown = json::parse(cli.out);
  EXPECT_EQ(http["plan"], shown["id"]);
  EXPECT_EQ(http["status"], "PROGRESSING");
  for (const char* key : {"status", "milestones", "steps", "network"})
    EXPECT_EQ(http[key], shown[key]) << key;
  EXPECT_EQ(http["steps"][0]["state"], "done");
  EXPECT_EQ(http["network"]["addresses"].size(), 2u);
}

TEST_P(ServiceTest, MetricsPassPromtoolAndCountWhatHappened) {
  Post("/v1/placements:solve", {{"tenant", "nlp-lab"}, {"nodes", 1}}, admin_, 200);
  // A request is counted once its answer is written: poll briefly for the count.
  const std::string counted =
      "topoplace_http_requests_total{route=\"/v1/placements:solve\",method=\"POST\",code=\"200\"} "
      "1";
  Response m;
  for (int i = 0; i < 50; ++i) {
    m = server_->Call("GET", "/metrics", admin_);
    if (m.body.find(counted) != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_EQ(m.status, 200);
  EXPECT_NE(m.content_type.find("text/plain"), std::string::npos);
  EXPECT_NE(m.body.find(counted), std::string::npos);
  EXPECT_NE(m.body.find("topoplace_solve_duration_seconds_count{backend="), std::string::npos);
  EXPECT_NE(m.body.find("topoplace_free_nodes{class=\"h100x8\",pod=\"pod-1\"}"), std::string::npos);
  EXPECT_NE(
      m.body.find("topoplace_tenant_quota_used_ratio{tenant=\"nlp-lab\",resource=\"nodes\"} 0.375"),
      std::string::npos);
  const auto file =
      std::filesystem::temp_directory_path() / ("metrics-" + std::to_string(::getpid()) + ".txt");
  std::ofstream(file) << m.body;
  EXPECT_NO_THROW(Shell("promtool check metrics < '" + file.string() + "' 2>&1"))
      << m.body.substr(0, 2000);
}

TEST_P(ServiceTest, OpenApiMatchesTheRoutesServed) {
  Response doc = server_->Call("GET", "/v1/openapi.json");
  ASSERT_EQ(doc.status, 200);
  json d = doc.Json();
  EXPECT_EQ(d["openapi"], "3.0.3");
  // Every documented operation is served: no route_not_found, no method_not_allowed.
  int operations = 0;
  for (const auto& [path, ops] : d["paths"].items()) {
    for (const auto& [method, op] : ops.items()) {
      std::string concrete = std::regex_replace(path, std::regex("\\{[a-z]+\\}"), "x-1");
      std::string m = method;
      for (char& c : m) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      Response r = server_->Call(m, concrete, admin_, m == "POST" ? "{}" : "");
      ASSERT_NE(r.status, 0);
      const std::string code = r.Json().is_object() && r.Json().contains("code")
                                   ? r.Json()["code"].get<std::string>()
                                   : "";
      EXPECT_NE(code, "route_not_found") << m << " " << concrete;
      EXPECT_NE(code, "method_not_allowed") << m << " " << concrete;
      ++operations;
    }
  }
  // And the design's endpoints are all documented.
  for (const char* p :
       {"/v1/placements:solve", "/v1/reservations", "/v1/reservations/{id}:commit",
        "/v1/reservations/{id}", "/v1/allocations", "/v1/allocations/{id}", "/v1/nodes",
        "/v1/topology", "/v1/tenants/{tenant}/usage", "/v1/clusters", "/v1/clusters/{id}",
        "/healthz", "/metrics", "/v1/audit", "/v1/openapi.json"}) {
    EXPECT_TRUE(d["paths"].contains(p)) << p;
  }
  EXPECT_GE(operations, 18);
  // Undocumented paths are not served.
  EXPECT_EQ(server_->Call("GET", "/v1/secret", admin_).Json()["code"], "route_not_found");
  const Response wrong = server_->Call("PUT", "/v1/nodes", admin_, "{}");
  EXPECT_EQ(wrong.status, 405);
  EXPECT_EQ(wrong.Json()["code"], "method_not_allowed");
  EXPECT_EQ(wrong.allow, "GET");
  EXPECT_EQ(server_->Call("PUT", "/v1/reservations", admin_, "{}").allow, "GET, POST");
}

TEST_P(ServiceTest, ImportAndExportThroughTheCli) {
  const auto file =
      std::filesystem::temp_directory_path() / ("export-" + std::to_string(::getpid()) + ".yaml");
  Post("/v1/reservations", {{"nodes", 1}, {"select", {{"class", "cpu"}}}}, nlp_, 201);
  json held = Post("/v1/reservations",
                   {{"name", "pinned"},
                    {"nodes", 2},
                    {"select", {{"class", "l40sx4"}}},
                    {"topology", {{"locality", {{"level", "rack"}}}}},
                    {"exclusive", "rack"}},
                   nlp_, 201);
  Post("/v1/reservations/" + held["id"].get<std::string>() + ":commit", json::object(), nlp_, 200);
  CliResult e = RunCli({"export", "--db", db_, "-o", file.string()});
  ASSERT_EQ(e.exit_code, 0) << e.err;
  auto exported = LoadScenarioFile(file.string());
  ASSERT_TRUE(exported.ok()) << exported.status().ToString();
  EXPECT_EQ(exported->inventory.nodes.size(), base_.inventory.nodes.size());
  // The committed allocation comes out with the request it was placed for; reservations do not.
  ASSERT_EQ(exported->allocations.size(), base_.allocations.size() + 1);
  auto found = std::find_if(exported->allocations.begin(), exported->allocations.end(),
                            [](const Allocation& a) { return a.name == "pinned"; });
  ASSERT_NE(found, exported->allocations.end());
  const Allocation& pinned = *found;
  ASSERT_TRUE(pinned.request.has_value());
  EXPECT_EQ(pinned.request->nodes, 2);
  EXPECT_EQ(pinned.request->select.classes, std::vector<std::string>{"l40sx4"});
  ASSERT_TRUE(pinned.request->exclusive.has_value());
  EXPECT_EQ(*pinned.request->exclusive, Level::kRack);
  ASSERT_TRUE(pinned.request->locality.has_value());
  EXPECT_EQ(pinned.request->locality->level, Level::kRack);
  // Import refuses to drop the service's holdings unless forced.
  CliResult refused = RunCli({"import", file.string(), "--db", db_});
  EXPECT_EQ(refused.exit_code, 3) << refused.err;
  CliResult forced = RunCli({"import", file.string(), "--db", db_, "--force"});
  EXPECT_EQ(forced.exit_code, 0) << forced.err;
  EXPECT_TRUE(Get("/v1/reservations", admin_)["reservations"].empty());
}

TEST_P(ServiceTest, AuditVerifyDetectsTampering) {
  Post("/v1/reservations", {{"nodes", 1}, {"select", {{"class", "cpu"}}}}, nlp_, 201);
  EXPECT_EQ(RunCli({"audit", "verify", "--db", db_}).exit_code, 0);
  RunSql(db_, "UPDATE audit_log SET detail = '{}' WHERE action = 'reservation.create'");
  CliResult broken = RunCli({"audit", "verify", "--db", db_});
  EXPECT_EQ(broken.exit_code, 3);
  EXPECT_NE(broken.err.find("BROKEN"), std::string::npos);
}

TEST_P(ServiceTest, EveryListPagesWithOpaqueTokens) {
  // Five more reservations than the scenario holds, read two at a time.
  for (int i = 0; i < 5; ++i) {
    Post("/v1/reservations", {{"nodes", 1}, {"select", {{"class", "cpu"}}}}, nlp_, 201);
  }
  struct List {
    std::string path, key;
    int64_t at_least;
  };
  const std::vector<List> lists = {
      {"/v1/reservations", "reservations", 5},
      {"/v1/allocations", "allocations", static_cast<int64_t>(base_.allocations.size())},
      {"/v1/nodes", "nodes", static_cast<int64_t>(base_.inventory.nodes.size())},
      {"/v1/tenants", "tenants", static_cast<int64_t>(base_.tenants.size())},
      {"/v1/audit", "entries", 6},
  };
  for (const List& list : lists) {
    std::set<std::string> seen;
    std::string token;
    int64_t total = -1;
    int pages = 0;
    for (;;) {
      std::string path = list.path + "?limit=2";
      if (!token.empty()) path += "&pageToken=" + token;
      const json page = Get(path, admin_);
      ASSERT_TRUE(page["items"].is_array()) << path << page.dump();
      EXPECT_LE(page["items"].size(), 2u) << path;
      EXPECT_EQ(page["items"], page[list.key]) << path;
      total = page["total"].get<int64_t>();
      for (const auto& x : page["items"]) {
        const std::string id = x.contains("id")     ? x["id"].get<std::string>()
                               : x.contains("name") ? x["name"].get<std::string>()
                                                    : std::to_string(x["seq"].get<int64_t>());
        EXPECT_TRUE(seen.insert(id).second) << list.path << ": " << id << " on two pages";
      }
      ++pages;
      if (!page.contains("nextPageToken")) break;
      token = page["nextPageToken"].get<std::string>();
      ASSERT_LT(pages, 200) << list.path;
    }
    EXPECT_GE(total, list.at_least) << list.path;
    EXPECT_EQ(static_cast<int64_t>(seen.size()), total) << list.path;
    EXPECT_EQ(pages, (total + 1) / 2) << list.path;
  }
  // The default page is bounded, and bad paging parameters are the client's mistake.
  EXPECT_EQ(Get("/v1/nodes", admin_)["items"].size(),
            std::min<size_t>(100, base_.inventory.nodes.size()));
  const std::string other_list = Get("/v1/nodes?limit=1", admin_)["nextPageToken"];
  for (const std::string& bad : std::vector<std::string>{
           "/v1/allocations?pageToken=%21%21garbled", "/v1/allocations?pageToken=" + other_list,
           "/v1/reservations?pageToken=dHAxOnJlc2VydmF0aW9uczp4", "/v1/nodes?pageToken=AAAA",
           "/v1/audit?pageToken=" + other_list, "/v1/clusters?limit=0", "/v1/tenants?limit=1001",
           "/v1/allocations?limit=2.5", "/v1/nodes?limit=ten"}) {
    const Response r = server_->Call("GET", bad, admin_);
    EXPECT_EQ(r.status, 400) << bad << " " << r.body;
    EXPECT_EQ(r.Json()["code"], "bad_parameter") << bad;
  }
}

TEST_P(ServiceTest, RevokedAndExpiredTokensAreRefused) {
  const json created = json::parse(
      RunCli({"token", "create", "--db", db_, "--role", "auditor", "--expires-in", "1s", "--json"})
          .out);
  ASSERT_TRUE(created.contains("token")) << created.dump();
  const std::string short_lived = created["token"];
  EXPECT_FALSE(created["expires"].is_null());
  // Revoke the tenant token the fixture made (it works now), by the id `token list` shows.
  EXPECT_EQ(server_->Call("GET", "/v1/allocations", nlp_).status, 200);
  CliResult listed = RunCli({"token", "list", "--db", db_, "--json"});
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  const json tokens = json::parse(listed.out)["tokens"];
  std::string nlp_id;
  for (const auto& t : tokens) {
    EXPECT_FALSE(t.contains("hash"));
    EXPECT_FALSE(t.contains("token"));
    if (t["tenant"] == "nlp-lab") nlp_id = t["id"];
  }
  ASSERT_FALSE(nlp_id.empty()) << listed.out;
  EXPECT_EQ(listed.out.find(nlp_.substr(4)), std::string::npos);  // never the secret
  CliResult revoked = RunCli({"token", "revoke", nlp_id, "--db", db_, "--json"});
  ASSERT_EQ(revoked.exit_code, 0) << revoked.out << revoked.err;
  EXPECT_EQ(json::parse(revoked.out)["revoked"]["id"], nlp_id);
  CliResult twice = RunCli({"token", "revoke", nlp_id, "--db", db_, "--json"});
  EXPECT_EQ(twice.exit_code, 3);
  EXPECT_EQ(json::parse(twice.out)["error"]["code"], "token_revoked");
  // The server's token cache keeps an entry a few seconds: the revoked token is refused once
  // that passes (polled, no timing asserted), and so is the expired one.
  int revoked_status = 0, expired_status = 0;
  for (int i = 0; i < 300 && (revoked_status != 401 || expired_status != 401); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    revoked_status = server_->Call("GET", "/v1/allocations", nlp_).status;
    expired_status = server_->Call("GET", "/v1/audit", short_lived).status;
  }
  EXPECT_EQ(revoked_status, 401);
  EXPECT_EQ(expired_status, 401);
}

TEST_P(ServiceTest, TheAuditKeyShowsARewindAndARehash) {
  Post("/v1/reservations", {{"nodes", 1}, {"select", {{"class", "cpu"}}}}, nlp_, 201);
  CliResult ok = RunCli({"audit", "verify", "--db", db_, "--json"});
  ASSERT_EQ(ok.exit_code, 0) << ok.out << ok.err;
  const json report = json::parse(ok.out);
  EXPECT_TRUE(report["ok"].get<bool>());
  EXPECT_EQ(report["unkeyed"], 0);
  EXPECT_EQ(report["keyed"], report["entries"]);
  // Someone with the database but not the key deletes the last entry and rewinds the head...
  RunSql(db_, "DELETE FROM audit_log WHERE seq = (SELECT MAX(seq) FROM audit_log)");
  RunSql(db_,
         "UPDATE audit_head SET seq = (SELECT MAX(seq) FROM audit_log), hash = (SELECT hash FROM "
         "audit_log WHERE seq = (SELECT MAX(seq) FROM audit_log))");
  CliResult rewound = RunCli({"audit", "verify", "--db", db_, "--json"});
  EXPECT_EQ(rewound.exit_code, 3) << rewound.out;
  EXPECT_FALSE(json::parse(rewound.out)["ok"].get<bool>());
  // ...or edits the first entry and recomputes the plain SHA-256 chain over every entry.
  auto entries = json::array();
  std::string prev;
  const std::string rows = RunSql(db_, "SELECT COUNT(*) FROM audit_log");
  for (int seq = 1; seq <= std::stoi(rows); ++seq) {
    const std::string q = " FROM audit_log WHERE seq = " + std::to_string(seq);
    AuditEntry e;
    e.seq = seq;
    e.at_ms = std::stoll(RunSql(db_, "SELECT at_ms" + q));
    e.actor = seq == 1 ? "someone else" : RunSql(db_, "SELECT actor" + q);
    e.action = RunSql(db_, "SELECT action" + q);
    e.tenant = RunSql(db_, "SELECT tenant" + q);
    e.subject = RunSql(db_, "SELECT subject" + q);
    e.detail = RunSql(db_, "SELECT detail" + q);
    e.prev_hash = prev;
    e.hash = AuditEntryHash(e);
    RunSql(db_, "UPDATE audit_log SET actor = '" + e.actor + "', prev_hash = '" + e.prev_hash +
                    "', hash = '" + e.hash + "' WHERE seq = " + std::to_string(seq));
    prev = e.hash;
  }
  RunSql(db_, "UPDATE audit_head SET hash = '" + prev + "'");
  CliResult rehashed = RunCli({"audit", "verify", "--db", db_});
  EXPECT_EQ(rehashed.exit_code, 3) << rehashed.out << rehashed.err;
  EXPECT_NE(rehashed.err.find("BROKEN"), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(Stores, ServiceTest, ::testing::Values("sqlite", "postgresql"),
                         [](const auto& p) { return p.param; });

// Commands that only read a store never create one: a mistyped path is exit 4 and no file.
TEST(StoreCliTest, ReadersDoNotCreateAStore) {
  const std::string typo = NewSqlitePath() + ".typo.db";
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"audit", "verify", "--db", typo},
        std::vector<std::string>{"export", "--db", typo},
        std::vector<std::string>{"token", "list", "--db", typo}}) {
    CliResult r = RunCli(args);
    EXPECT_EQ(r.exit_code, 4) << args[0] << ": " << r.err;
    EXPECT_NE(r.err.find("no store at " + typo), std::string::npos) << r.err;
    std::vector<std::string> with_json = args;
    with_json.push_back("--json");
    CliResult j = RunCli(with_json);
    EXPECT_EQ(j.exit_code, 4);
    const json error = json::parse(j.out, nullptr, false);
    ASSERT_TRUE(error.is_object()) << j.out;
    EXPECT_EQ(error["error"]["code"], "no_store");
    EXPECT_NE(error["error"]["message"].get<std::string>().find(typo), std::string::npos);
  }
  EXPECT_FALSE(std::filesystem::exists(typo));
  EXPECT_FALSE(std::filesystem::exists(typo + ".audit-key"));
  // Import makes the store, with its audit key beside it (private to its owner).
  CliResult imported =
      RunCli({"import", SourceDirectory() + "/scenarios/moc-small.yaml", "--db", typo, "--json"});
  ASSERT_EQ(imported.exit_code, 0) << imported.err;
  EXPECT_EQ(json::parse(imported.out)["nodes"], LoadMocSmall().inventory.nodes.size());
  ASSERT_TRUE(std::filesystem::exists(typo + ".audit-key"));
  EXPECT_EQ(
      std::filesystem::status(typo + ".audit-key").permissions() & std::filesystem::perms::all,
      std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  CliResult exported = RunCli({"export", "--db", typo, "--json"});
  ASSERT_EQ(exported.exit_code, 0) << exported.err;
  const json summary = json::parse(exported.out);
  EXPECT_TRUE(LoadScenarioString(summary["yaml"].get<std::string>(), "export").ok());
  // Another key than the store's is refused by every writer, and shown by verify.
  const std::string other_key = typo + ".other-key";
  Shell("head -c 32 /dev/urandom > '" + other_key + "'");
  CliResult wrong = RunCli(
      {"token", "create", "--db", typo, "--role", "auditor", "--audit-key", other_key, "--json"});
  EXPECT_EQ(wrong.exit_code, 3) << wrong.out;
  EXPECT_EQ(json::parse(wrong.out)["error"]["code"], "audit_key_mismatch");
  EXPECT_EQ(RunCli({"audit", "verify", "--db", typo, "--audit-key", other_key}).exit_code, 3);
  EXPECT_EQ(RunCli({"audit", "verify", "--db", typo}).exit_code, 0);
}

// Import says what it did with the scenario's requests; export -o writes the file whole or not at
// all, and a path that cannot be written is bad input (exit 2), leaving nothing behind.
TEST(StoreCliTest, ImportNamesItsRequestsAndExportWritesWholeFiles) {
  const std::string db = NewSqlitePath();
  const Scenario moc = LoadMocSmall();
  ASSERT_FALSE(moc.requests.empty());
  CliResult imported =
      RunCli({"import", SourceDirectory() + "/scenarios/moc-small.yaml", "--db", db});
  ASSERT_EQ(imported.exit_code, 0) << imported.err;
  EXPECT_NE(imported.out.find("not imported: the scenario's " +
                              std::to_string(moc.requests.size()) + " request"),
            std::string::npos)
      << imported.out;
  CliResult as_json = RunCli(
      {"import", SourceDirectory() + "/scenarios/moc-small.yaml", "--db", db, "--json", "--force"});
  ASSERT_EQ(as_json.exit_code, 0) << as_json.out << as_json.err;
  EXPECT_EQ(json::parse(as_json.out)["requestsNotImported"], moc.requests.size());

  const std::string missing_dir = db + ".no-such-dir/out.yaml";
  CliResult bad = RunCli({"export", "--db", db, "-o", missing_dir});
  EXPECT_EQ(bad.exit_code, 2) << bad.err;
  EXPECT_NE(bad.err.find(missing_dir), std::string::npos) << bad.err;
  EXPECT_FALSE(std::filesystem::exists(missing_dir));

  const std::string target = db + ".export.yaml";
  CliResult good = RunCli({"export", "--db", db, "-o", target});
  ASSERT_EQ(good.exit_code, 0) << good.err;
  Result<Scenario> back = LoadScenarioFile(target);
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(back->inventory.nodes.size(), moc.inventory.nodes.size());
  // Nothing but the file itself is left in its folder (no temporary beside it).
  int beside = 0;
  for (const auto& e :
       std::filesystem::directory_iterator(std::filesystem::path(target).parent_path())) {
    beside += e.path().filename().string().rfind(std::filesystem::path(target).filename().string(),
                                                 0) == 0;
  }
  EXPECT_EQ(beside, 1);
}

// `serve --audit-key FILE` makes the key when it is missing, and keys the log with it.
TEST(StoreCliTest, ServeMakesTheAuditKeyItIsGiven) {
  const std::string db = NewSqlitePath();
  const std::string key = db + ".elsewhere-key";
  {
    ServerProcess server(db, {"--audit-key", key});
    ASSERT_TRUE(std::filesystem::exists(key)) << server.log();
    EXPECT_EQ(std::filesystem::file_size(key), 32u);
    EXPECT_EQ(std::filesystem::status(key).permissions() & std::filesystem::perms::all,
              std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  }
  EXPECT_FALSE(std::filesystem::exists(db + ".audit-key"));
  CliResult with_key = RunCli({"audit", "verify", "--db", db, "--audit-key", key, "--json"});
  EXPECT_EQ(with_key.exit_code, 0) << with_key.out;
  EXPECT_GT(json::parse(with_key.out)["keyed"].get<int>(), 0);
  // Without its key the keyed entries cannot be checked: not "intact".
  EXPECT_EQ(RunCli({"audit", "verify", "--db", db}).exit_code, 3);
}

// A database that cannot be reached is a 503 whose answer names no address, connection string or
// driver message; the service recovers once the database is back.
TEST(StoreUnavailableTest, AnswersNameNoDatabaseAddress) {
  const std::string db = NewPgDatabase();
  const std::string admin = CreateToken(db, "provider-admin");
  ServerProcess server(db);
  ASSERT_EQ(server.Call("GET", "/v1/allocations", admin).status, 200);
  const std::string name = db.substr(db.rfind('/') + 1);
  const std::string base = Shell("cat '" + PgServerDir() + "/url'");
  const std::string hidden = name + "_away";
  // Move the database away (its sessions ended first; the server may reconnect in between).
  std::string moved;
  for (int i = 0; i < 50 && moved.empty(); ++i) {
    try {
      Shell("psql '" + base +
            "' -qAtc \"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '" +
            name + "'\" >/dev/null && psql '" + base + "' -qAtc 'ALTER DATABASE " + name +
            " RENAME TO " + hidden + "' 2>&1");
      moved = hidden;
    } catch (const std::exception&) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  ASSERT_FALSE(moved.empty());
  // Alive, not ready: /healthz never touches the store, /readyz and the data routes need it.
  EXPECT_EQ(server.Call("GET", "/healthz", admin).status, 200);
  for (const char* path : {"/v1/allocations", "/v1/nodes", "/readyz"}) {
    const Response r = server.Call("GET", path, admin);
    EXPECT_EQ(r.status, 503) << path << " " << r.body;
    for (const std::string& secret : {db, base, name, std::string("127.0.0.1"),
                                      std::string("postgres@"), std::string("FATAL")}) {
      EXPECT_EQ(r.body.find(secret), std::string::npos)
          << path << " names " << secret << ": " << r.body;
    }
  }
  Shell("psql '" + base + "' -qAtc 'ALTER DATABASE " + hidden + " RENAME TO " + name + "'");
  EXPECT_EQ(server.Call("GET", "/v1/allocations", admin).status, 200);
}

}  // namespace
}  // namespace topoplace::testing
