// Preemption over HTTP (DESIGN.md section 8), against the real `topoplace serve` on both stores: a
// reservation with `preemption:` evicts lower-priority allocations in the transaction that holds
// its nodes, each eviction audited with the reservation that caused it; equal priority is never
// evicted; a tenant evicts only its own (a project-bound token only its project's), scope all is
// the provider's; a dry run shows the evictions and does none. Every answer is checked by the
// independent verifier against the problem as it stood before it (the nodes and the allocations
// with their priorities, read back over HTTP).
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <set>
#include <thread>

#include "tests/service/service_harness.h"

namespace topoplace::testing {
namespace {

// Two racks of four CPU nodes under two leaves; tenants alpha (projects p1, p2) and beta.
constexpr std::string_view kScenario = R"yaml(apiVersion: topoplace/v1
inventory:
  sites:
    - {name: s1, region: us-east, jurisdiction: US}
  powerDomains:
    - {name: pdu-a, site: s1}
    - {name: pdu-b, site: s1}
  switches:
    - {name: spine-1, role: spine, vendor: arista, site: s1, pod: pod-1}
    - {name: leaf-1, role: leaf, vendor: arista, site: s1, pod: pod-1, uplinks: [spine-1]}
    - {name: leaf-2, role: leaf, vendor: arista, site: s1, pod: pod-1, uplinks: [spine-1]}
  racks:
    - {name: ra, site: s1, row: row-1, pod: pod-1, powerDomains: [pdu-a, pdu-b]}
    - {name: rb, site: s1, row: row-1, pod: pod-1, powerDomains: [pdu-a, pdu-b]}
  nodeClasses:
    - name: cpu
      cpu: {cores: 64, model: epyc-9554}
      memoryGiB: 512
      storageGiB: 4000
      costPerHour: 4
  nodes:
    - {name: ra-n1, class: cpu, rack: ra, powerDomain: pdu-a, leaf: leaf-1}
    - {name: ra-n2, class: cpu, rack: ra, powerDomain: pdu-b, leaf: leaf-1}
    - {name: ra-n3, class: cpu, rack: ra, powerDomain: pdu-a, leaf: leaf-1}
    - {name: ra-n4, class: cpu, rack: ra, powerDomain: pdu-b, leaf: leaf-1}
    - {name: rb-n1, class: cpu, rack: rb, powerDomain: pdu-a, leaf: leaf-2}
    - {name: rb-n2, class: cpu, rack: rb, powerDomain: pdu-b, leaf: leaf-2}
    - {name: rb-n3, class: cpu, rack: rb, powerDomain: pdu-a, leaf: leaf-2}
    - {name: rb-n4, class: cpu, rack: rb, powerDomain: pdu-b, leaf: leaf-2}
tenants:
  - name: alpha
    quota: {nodes: 8}
    projects:
      - {name: p1}
      - {name: p2}
  - name: beta
    quota: {nodes: 8}
)yaml";

class PreemptionTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    const auto file = std::filesystem::temp_directory_path() /
                      ("topoplace-preemption-" + std::to_string(::getpid()) + ".yaml");
    std::ofstream(file) << kScenario;
    auto loaded = LoadScenarioFile(file.string());
    ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
    base_ = *loaded;
    db_ = NewStoreUrl(GetParam());
    CliResult imported = RunCli({"import", file.string(), "--db", db_});
    ASSERT_EQ(imported.exit_code, 0) << imported.err;
    admin_ = CreateToken(db_, "provider-admin");
    alpha_ = CreateToken(db_, "tenant-admin", "alpha");
    beta_ = CreateToken(db_, "tenant-admin", "beta");
    server_ = std::make_unique<ServerProcess>(db_);
  }

  // A token of alpha bound to `project`.
  std::string ProjectToken(const std::string& project) {
    CliResult r = RunCli({"token", "create", "--db", db_, "--role", "tenant-admin", "--tenant",
                          "alpha", "--project", project});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    std::string t = r.out;
    while (!t.empty() && std::isspace(static_cast<unsigned char>(t.back()))) t.pop_back();
    return t;
  }

  // `nodes` nodes in one rack, at `priority`, preempting in `scope` when given.
  static json Request(int nodes, int priority, const std::string& scope = "",
                      const std::string& tenant = "", const std::string& project = "") {
    json r{{"name", "job"},
           {"nodes", nodes},
           {"priority", priority},
           {"topology", {{"locality", {{"level", "rack"}, {"mode", "required"}}}}}};
    if (!scope.empty()) r["preemption"] = {{"policy", "lowerPriority"}, {"scope", scope}};
    if (!tenant.empty()) r["tenant"] = tenant;
    if (!project.empty()) r["project"] = project;
    return r;
  }

  // Reserves and commits `body` (no preemption): the allocation's id.
  std::string Allocate(const std::string& token, const json& body) {
    Response r = server_->Call("POST", "/v1/reservations", token, body.dump());
    EXPECT_EQ(r.status, 201) << r.body;
    Response a = server_->Call(
        "POST", "/v1/reservations/" + r.Json()["id"].get<std::string>() + ":commit", token, "{}");
    EXPECT_EQ(a.status, 200) << a.body;
    return a.Json()["id"].get<std::string>();
  }

  json Get(const std::string& path, const std::string& token, int expect = 200) {
    Response r = server_->Call("GET", path, token);
    EXPECT_EQ(r.status, expect) << path << " " << r.body;
    return r.Json();
  }

  // The problem as the server stands now, as a provider reads it: node states, and every active
  // allocation as a holding (its id, tenant, project, priority, nodes).
  PlacementProblem ProblemNow(bool across_tenants) {
    Scenario s = base_;
    const json nodes = Get("/v1/nodes", admin_);
    for (const auto& n : nodes["nodes"]) {
      const int i = s.inventory.NodeIndex(n["name"].get<std::string>());
      EXPECT_GE(i, 0);
      s.inventory.nodes[i].state = *ParseNodeState(n["state"].get<std::string>());
      if (n["tenant"].is_string()) s.inventory.nodes[i].holder = n["tenant"].get<std::string>();
    }
    auto snap = MakeSnapshot(s.inventory);
    EXPECT_TRUE(snap.ok());
    PlacementProblem problem{*snap, s.tenants};
    problem.preempt_across_tenants = across_tenants;
    const json allocations = Get("/v1/allocations", admin_);
    for (const auto& a : allocations["items"]) {
      Holding h;
      h.name = a["id"].get<std::string>();
      h.tenant = a["tenant"].get<std::string>();
      h.project = a["project"].get<std::string>();
      h.priority = a["priority"].get<int>();
      for (const auto& n : a["nodes"]) {
        h.nodes.push_back((*snap)->inventory.NodeIndex(n["name"].get<std::string>()));
      }
      std::sort(h.nodes.begin(), h.nodes.end());
      problem.holdings.push_back(std::move(h));
      Allocation counted;
      counted.tenant = a["tenant"].get<std::string>();
      counted.project = a["project"].get<std::string>();
      for (const auto& n : a["nodes"]) counted.nodes.push_back(n["name"].get<std::string>());
      s.allocations.push_back(std::move(counted));
    }
    problem.project_usage = ProjectUsages((*snap)->inventory, s.allocations);
    return problem;
  }

  // Checks a placement answer (`placement`: nodes, evict) for `body` with the verifier against
  // `problem`, the state before it.
  void Verify(const PlacementProblem& problem, const json& body, const json& placement) {
    DecodedRequest d = DecodeRequestJson(body);
    ASSERT_TRUE(d.errors.empty());
    if (d.request.tenant.empty()) d.request.tenant = "alpha";  // a tenant's token names its own
    PlacementResult r;
    r.status = SolveStatus::kFeasible;
    for (const auto& n : placement["nodes"]) {
      r.nodes.push_back(problem.snapshot->inventory.NodeIndex(
          n.is_string() ? n.get<std::string>() : n["name"].get<std::string>()));
    }
    std::sort(r.nodes.begin(), r.nodes.end());
    for (const auto& e : placement["evict"]) {
      Eviction ev;
      ev.allocation = e.get<std::string>();
      r.evictions.push_back(ev);
    }
    ASSERT_FALSE(r.nodes.empty()) << placement.dump();
    for (const auto& v : VerifyResult(problem, d.request, r)) {
      ADD_FAILURE() << v.constraint << ": " << v.detail;
    }
  }

  bool AuditHasEviction(const std::string& victim, const std::string& reservation) {
    const json audit = Get("/v1/audit?limit=1000", admin_);
    for (const auto& e : audit["items"]) {
      if (e["action"] != "allocation.evict" || e["subject"] != victim) continue;
      const json detail =
          e["detail"].is_string() ? json::parse(e["detail"].get<std::string>()) : e["detail"];
      if (detail["cause"]["reservation"] == reservation) return true;
    }
    return false;
  }

  std::string db_, admin_, alpha_, beta_;
  Scenario base_;
  std::unique_ptr<ServerProcess> server_;
};

TEST_P(PreemptionTest, AHigherPriorityReservationEvictsItsTenantsLowerOne) {
  // A request that fits evicts nothing, even when it may.
  const std::string low = Allocate(alpha_, Request(4, 0, "", "", "p2"));
  Response fits = server_->Call("POST", "/v1/reservations", alpha_, Request(2, 5, "tenant").dump());
  ASSERT_EQ(fits.status, 201) << fits.body;
  EXPECT_TRUE(fits.Json()["placement"]["evict"].empty());
  EXPECT_TRUE(fits.Json()["evicted"].empty());
  ASSERT_EQ(
      server_->Call("DELETE", "/v1/reservations/" + fits.Json()["id"].get<std::string>(), alpha_)
          .status,
      200);
  Allocate(beta_, Request(4, 0));  // the other rack: now nothing is free

  // Equal priority is never evicted.
  Response equal =
      server_->Call("POST", "/v1/reservations", alpha_, Request(2, 0, "tenant").dump());
  EXPECT_EQ(equal.status, 422) << equal.body;
  EXPECT_EQ(Get("/v1/allocations/" + low, alpha_)["status"], "active");

  // A dry run shows the eviction and does none.
  const PlacementProblem before = ProblemNow(false);
  const json body = Request(2, 5, "tenant");
  const json version = Get("/v1/nodes", admin_)["stateVersion"];
  Response dry = server_->Call("POST", "/v1/placements:solve", alpha_, body.dump());
  ASSERT_EQ(dry.status, 200) << dry.body;
  EXPECT_EQ(dry.Json()["evict"], json::array({low}));
  Verify(before, body, dry.Json());
  EXPECT_EQ(Get("/v1/nodes", admin_)["stateVersion"], version);
  EXPECT_EQ(Get("/v1/allocations/" + low, alpha_)["status"], "active");

  // The reservation evicts it.
  Response r = server_->Call("POST", "/v1/reservations", alpha_, body.dump());
  ASSERT_EQ(r.status, 201) << r.body;
  const json got = r.Json();
  const std::string reservation = got["id"].get<std::string>();
  EXPECT_EQ(got["placement"]["evict"], json::array({low}));
  EXPECT_EQ(got["priority"], 5);
  ASSERT_EQ(got["placement"]["evictions"].size(), 1u);
  EXPECT_EQ(got["placement"]["evictions"][0]["tenant"], "alpha");
  EXPECT_EQ(got["placement"]["evictions"][0]["priority"], 0);
  ASSERT_EQ(got["evicted"].size(), 1u);
  EXPECT_EQ(got["evicted"][0]["id"], low);
  EXPECT_EQ(got["evicted"][0]["status"], "released");
  Verify(before, body, got["placement"]);

  // The victim is gone; its nodes are the new reservation's or free again.
  const json victim = Get("/v1/allocations/" + low, alpha_);
  EXPECT_EQ(victim["status"], "released");
  EXPECT_EQ(victim["evictedBy"]["reservation"], reservation);
  std::set<std::string> victim_nodes;
  for (const auto& n : victim["nodes"]) victim_nodes.insert(n["name"].get<std::string>());
  for (const auto& n : got["nodes"]) {
    EXPECT_TRUE(victim_nodes.count(n["name"].get<std::string>())) << n.dump();
  }
  const json states = Get("/v1/nodes", admin_);
  for (const auto& n : states["nodes"]) {
    if (!victim_nodes.count(n["name"].get<std::string>())) continue;
    EXPECT_TRUE(n["state"] == "reserved" || n["state"] == "available") << n.dump();
  }
  EXPECT_TRUE(AuditHasEviction(low, reservation));

  // Committed, the allocation keeps the request's priority.
  Response committed =
      server_->Call("POST", "/v1/reservations/" + reservation + ":commit", alpha_, "{}");
  ASSERT_EQ(committed.status, 200) << committed.body;
  EXPECT_EQ(committed.Json()["priority"], 5);
}

TEST_P(PreemptionTest, ScopeAllIsTheProvidersAndTenantsSeeOnlyTheirOwn) {
  const std::string alpha_low = Allocate(alpha_, Request(4, 0));
  const std::string beta_low = Allocate(beta_, Request(4, 0));
  // A tenant may not ask to evict other tenants' allocations.
  Response forbidden =
      server_->Call("POST", "/v1/reservations", alpha_, Request(4, 5, "all").dump());
  EXPECT_EQ(forbidden.status, 403) << forbidden.body;
  EXPECT_EQ(forbidden.Json()["code"], "preemption_not_allowed");
  EXPECT_EQ(Get("/v1/allocations/" + beta_low, admin_)["status"], "active");
  // Nor does scope tenant ever name another tenant's allocation: alpha's own is the only victim.
  Response own =
      server_->Call("POST", "/v1/placements:solve", alpha_, Request(4, 5, "tenant").dump());
  ASSERT_EQ(own.status, 200) << own.body;
  EXPECT_EQ(own.Json()["evict"], json::array({alpha_low}));

  // A provider may, for alpha, evict beta's allocation. Alpha's own is kept busy first: a
  // held reservation is never a victim.
  ASSERT_EQ(server_->Call("DELETE", "/v1/allocations/" + alpha_low, alpha_).status, 200);
  Response hold = server_->Call("POST", "/v1/reservations", alpha_, Request(4, 0).dump());
  ASSERT_EQ(hold.status, 201) << hold.body;
  const PlacementProblem before = ProblemNow(true);
  const json body = Request(4, 5, "all", "alpha");
  Response r = server_->Call("POST", "/v1/reservations", admin_, body.dump());
  ASSERT_EQ(r.status, 201) << r.body;
  const json got = r.Json();
  EXPECT_EQ(got["placement"]["evict"], json::array({beta_low}));
  EXPECT_EQ(got["placement"]["evictions"][0]["tenant"], "beta");
  Verify(before, body, got["placement"]);
  EXPECT_TRUE(AuditHasEviction(beta_low, got["id"].get<std::string>()));
  // Beta sees its allocation released, but not whose reservation took its nodes.
  const json seen_by_beta = Get("/v1/allocations/" + beta_low, beta_);
  EXPECT_EQ(seen_by_beta["status"], "released");
  EXPECT_TRUE(seen_by_beta["evictedBy"]["reservation"].is_null()) << seen_by_beta.dump();
  EXPECT_EQ(seen_by_beta.dump().find(got["id"].get<std::string>()), std::string::npos);
  EXPECT_EQ(Get("/v1/allocations/" + beta_low, admin_)["evictedBy"]["reservation"], got["id"]);
}

TEST_P(PreemptionTest, AProjectTokenEvictsOnlyItsProjectsAllocations) {
  const std::string p2_low = Allocate(alpha_, Request(4, 0, "", "", "p2"));
  Allocate(beta_, Request(4, 0));
  const std::string p1 = ProjectToken("p1");
  Response r = server_->Call("POST", "/v1/reservations", p1, Request(2, 5, "tenant").dump());
  EXPECT_EQ(r.status, 422) << r.body;  // p2's allocation is not p1's to evict
  EXPECT_EQ(Get("/v1/allocations/" + p2_low, alpha_)["status"], "active");
  const std::string p2 = ProjectToken("p2");
  r = server_->Call("POST", "/v1/reservations", p2, Request(2, 5, "tenant").dump());
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(r.Json()["placement"]["evict"], json::array({p2_low}));
}

TEST_P(PreemptionTest, AClusterDoesNotEvict) {
  Response r = server_->Call("POST", "/v1/clusters", alpha_, Request(2, 5, "tenant").dump());
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(r.Json()["code"], "preemption_not_supported");
}

// Preempting reservations race each other and the server is killed (-9) among them: every
// eviction the store kept is whole (its victim released, its reservation there, audited once),
// and no node has two holders, before and after a restart.
TEST_P(PreemptionTest, KillNineAmongEvictionsLeavesEachWholeOrUndone) {
  std::vector<std::string> victims;
  for (int i = 0; i < 8; ++i) {
    victims.push_back(Allocate(alpha_, json{{"nodes", 1}, {"name", "low-" + std::to_string(i)}}));
  }
  std::atomic<int> placed{0};
  std::atomic<bool> stop{false};
  std::vector<std::thread> clients;
  for (int c = 0; c < 4; ++c) {
    clients.emplace_back([&] {
      const json body{{"nodes", 1},
                      {"priority", 10},
                      {"preemption", {{"policy", "lowerPriority"}, {"scope", "tenant"}}}};
      while (!stop) {
        Response r = server_->Call("POST", "/v1/reservations", alpha_, body.dump());
        if (r.status == 201) {
          ++placed;
        } else if (r.status != 409) {
          return;  // no victim left (422), or the server is gone
        }
      }
    });
  }
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (placed.load() < 3 && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  server_->Kill();
  stop = true;
  for (auto& t : clients) t.join();
  EXPECT_GE(placed.load(), 3);

  auto expect_whole = [&] {
    // An evicted allocation's evicter is there, and the eviction was audited once.
    EXPECT_EQ(RunSql(db_,
                     "SELECT COUNT(*) FROM allocations a WHERE a.evicted_by <> '' AND NOT EXISTS "
                     "(SELECT 1 FROM reservations r WHERE r.id = a.evicted_by)"),
              "0");
    EXPECT_EQ(RunSql(db_, "SELECT COUNT(*) FROM allocations WHERE evicted_by <> ''"),
              RunSql(db_, "SELECT COUNT(*) FROM audit_log WHERE action = 'allocation.evict'"));
    EXPECT_EQ(RunSql(db_,
                     "SELECT COUNT(*) FROM allocations WHERE evicted_by <> '' AND status <> "
                     "'released'"),
              "0");
    // Every held node is its holder's, and every active allocation holds all of its nodes.
    EXPECT_EQ(RunSql(db_,
                     "SELECT COUNT(*) FROM nodes n WHERE n.holder <> '' AND NOT EXISTS (SELECT 1 "
                     "FROM allocations a WHERE a.id = n.holder AND a.status = 'active') AND NOT "
                     "EXISTS (SELECT 1 FROM reservations r WHERE r.id = n.holder AND r.status = "
                     "'held')"),
              "0");
    EXPECT_EQ(RunSql(db_,
                     "SELECT COUNT(*) FROM allocation_nodes x JOIN allocations a ON a.id = "
                     "x.allocation_id JOIN nodes n ON n.name = x.node WHERE a.status = 'active' "
                     "AND n.holder <> a.id"),
              "0");
  };
  expect_whole();
  const int evicted =
      std::stoi(RunSql(db_, "SELECT COUNT(*) FROM allocations WHERE evicted_by <> ''"));
  EXPECT_GE(evicted, 3);
  server_ = std::make_unique<ServerProcess>(db_);
  expect_whole();
  CliResult verified = RunCli({"audit", "verify", "--db", db_});
  EXPECT_EQ(verified.exit_code, 0) << verified.out << verified.err;
  // The service goes on: the victims left are still evictable.
  if (evicted < 8) {
    Response more =
        server_->Call("POST", "/v1/reservations", alpha_,
                      json{{"nodes", 1},
                           {"priority", 10},
                           {"preemption", {{"policy", "lowerPriority"}, {"scope", "tenant"}}}}
                          .dump());
    EXPECT_EQ(more.status, 201) << more.body;
    EXPECT_EQ(more.Json()["placement"]["evict"].size(), 1u);
  }
}

INSTANTIATE_TEST_SUITE_P(Stores, PreemptionTest, ::testing::Values("sqlite", "postgresql"),
                         [](const auto& p) { return p.param; });

}  // namespace
}  // namespace topoplace::testing
