// What-if over HTTP: POST /v1/whatif and POST /v1/capacity against the real server answer what
// `topoplace whatif --json` and `topoplace capacity --json` answer on an export of the same state,
// write nothing, keep to the roles and the caller's tenant, and refuse bad input with a 400 that
// points at the offending item. Every repair in an answer is checked with the verifier.
#include <gtest/gtest.h>

#include <set>

#include "api/whatif.h"
#include "inventory/changes.h"
#include "solver/repair.h"
#include "tests/service/service_harness.h"

namespace topoplace::testing {
namespace {

constexpr const char* kTimeLimit = "5";

// The answer without what differs between runs and front ends: the source label, the state
// version and solve times.
json Comparable(json j) {
  if (j.is_object()) {
    j.erase("file");
    j.erase("stateVersion");
    j.erase("solveMs");
    for (auto& [k, v] : j.items()) v = Comparable(v);
  } else if (j.is_array()) {
    for (auto& v : j) v = Comparable(v);
  }
  return j;
}

void ExpectSameAnswer(const json& http, const json& cli) {
  const json a = Comparable(http), b = Comparable(cli);
  EXPECT_EQ(a, b) << "differences (HTTP -> CLI): " << json::diff(a, b).dump(1);
}

class WhatIfHttpTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    db_ = new std::string(NewStoreUrl("sqlite"));
    admin_ = new std::string(CreateToken(*db_, "provider-admin"));
    server_ = new ServerProcess(*db_, {"--solver", "auto", "--time-limit", kTimeLimit});
    auditor_ = new std::string(CreateToken(*db_, "auditor"));
    nlp_admin_ = new std::string(CreateToken(*db_, "tenant-admin", "nlp-lab"));
    nlp_member_ = new std::string(CreateToken(*db_, "tenant-member", "nlp-lab"));
    // An allocation made through the service, with its request recorded: its repair must keep
    // every constraint of that request.
    const json request = {{"tenant", "med-imaging"},
                          {"name", "med-train"},
                          {"nodes", 2},
                          {"select", {{"class", "a100x8"}}}};
    Response r = server_->Call("POST", "/v1/reservations", *admin_, request.dump());
    ASSERT_EQ(r.status, 201) << r.body;
    Response a = server_->Call(
        "POST", "/v1/reservations/" + r.Json()["id"].get<std::string>() + ":commit", *admin_, "{}");
    ASSERT_EQ(a.status, 200) << a.body;
    const std::string first = a.Json()["nodes"][0]["name"];
    const Scenario base = LoadMocSmall();
    served_power_domain_ =
        new std::string(base.inventory.nodes[base.inventory.NodeIndex(first)].power_domain);
  }
  static void TearDownTestSuite() { delete server_; }

  // The store's state as a scenario file, as `topoplace export` writes it.
  static std::string Export() {
    static int n = 0;
    const auto path = std::filesystem::temp_directory_path() /
                      ("topoplace-whatif-export-" + std::to_string(::getpid()) + "-" +
                       std::to_string(n++) + ".yaml");
    CliResult r = RunCli({"export", "--db", *db_, "-o", path.string()});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return path.string();
  }

  static json Cli(std::vector<std::string> args, int expected_exit) {
    args.insert(args.end(), {"--time-limit", kTimeLimit, "--json"});
    CliResult r = RunCli(args);
    EXPECT_EQ(r.exit_code, expected_exit) << r.err;
    return json::parse(r.out, nullptr, false);
  }

  // What a provider can see of the state: the audit head, the allocations and the nodes.
  static std::string StateSeen() {
    std::string seen;
    for (const char* path : {"/v1/audit?limit=1000", "/v1/allocations?all=true",
                             "/v1/reservations?all=true", "/v1/nodes"}) {
      Response r = server_->Call("GET", path, *admin_);
      EXPECT_EQ(r.status, 200) << path << ": " << r.body;
      seen += std::string(path) + " " + r.body + "\n";
    }
    return seen;
  }

  static void ExpectProblem(const Response& r, int status, const std::string& code,
                            const std::string& pointer) {
    EXPECT_EQ(r.status, status) << r.body;
    EXPECT_EQ(r.content_type, "application/problem+json") << r.body;
    const json j = r.Json();
    ASSERT_FALSE(j.is_discarded()) << r.body;
    EXPECT_EQ(j["code"], code) << r.body;
    EXPECT_EQ(j.value("pointer", std::string("<none>")), pointer) << r.body;
  }

  static inline std::string *db_, *admin_, *auditor_, *nlp_admin_, *nlp_member_;
  static inline std::string* served_power_domain_;
  static inline ServerProcess* server_;
};

// Checks every repair of a /v1/whatif answer: a repair by request with the verifier against the
// state the changes leave (lost nodes released), a same-class repair by its rule; no node is
// handed out twice. Returns how many repairs were checked against a request.
int VerifyRepairs(const std::string& export_file, const std::vector<Change>& changes,
                  const json& answer) {
  Result<Scenario> before = LoadScenarioFile(export_file);
  EXPECT_TRUE(before.ok()) << before.status().ToString();
  if (!before.ok()) return 0;
  Scenario after = *before;
  EXPECT_TRUE(ApplyChanges(after, changes).ok());
  Result<RepairInput> input = PrepareRepair(*before, after);
  EXPECT_TRUE(input.ok()) << input.status().ToString();
  if (!input.ok()) return 0;
  const Inventory& inv = input->problem.snapshot->inventory;
  int by_request = 0;
  std::set<std::string> handed_out;
  for (const json& repair : answer["repairs"]) {
    if (!repair["repaired"].get<bool>()) continue;
    const std::string name = repair["allocation"];
    const RepairCase* c = nullptr;
    for (const RepairCase& x : input->cases) {
      if (x.allocation == name) c = &x;
    }
    EXPECT_NE(c, nullptr) << name;
    if (c == nullptr) continue;
    std::vector<int> kept, all;
    for (const auto& n : repair["kept"]) kept.push_back(inv.NodeIndex(n.get<std::string>()));
    all = kept;
    std::multiset<std::string> lost_classes;
    for (const LostNode& l : c->lost) lost_classes.insert(l.node_class);
    for (const auto& n : repair["replacements"]) {
      const std::string node = n;
      EXPECT_TRUE(handed_out.insert(node).second) << node << " replaces nodes twice";
      const int i = inv.NodeIndex(node);
      EXPECT_GE(i, 0) << node;
      if (i < 0) continue;
      all.push_back(i);
      if (!c->request) {
        EXPECT_EQ(inv.nodes[i].state, NodeState::kAvailable) << node;
        EXPECT_TRUE(inv.nodes[i].holder.empty()) << node;
        auto it = lost_classes.find(inv.nodes[i].node_class);
        EXPECT_NE(it, lost_classes.end()) << node << " is not of a lost node's class";
        if (it != lost_classes.end()) lost_classes.erase(it);
      }
    }
    EXPECT_EQ(repair["replacements"].size(), c->lost.size()) << name;
    if (c->request) {
      ++by_request;
      for (const Violation& v : VerifyPlacement(input->problem, *c->request, all, kept)) {
        ADD_FAILURE() << name << ": " << v.constraint << ": " << v.detail;
      }
    }
  }
  return by_request;
}

TEST_F(WhatIfHttpTest, PowerDomainFailureAnswersAsTheCommandOnAnExport) {
  const std::string before = StateSeen();
  const json body = {
      {"changes",
       {{{"fail", "powerDomain:" + *served_power_domain_}}, {{"fail", "powerDomain:pdu-r02-a"}}}}};
  Response r = server_->Call("POST", "/v1/whatif", *admin_, body.dump());
  ASSERT_EQ(r.status, 200) << r.body;
  const json answer = r.Json();
  // The failures hit the allocation made through the service and the seed's nlp-eval.
  std::set<std::string> hit;
  for (const auto& repair : answer["repairs"]) hit.insert(repair["allocation"]);
  EXPECT_TRUE(hit.count("med-train")) << answer["repairs"].dump();
  EXPECT_TRUE(hit.count("nlp-eval")) << answer["repairs"].dump();
  EXPECT_GT(answer["repaired"].get<int>(), 0);

  const std::string file = Export();
  const json cli = Cli({"whatif", file, "--fail", "powerDomain:" + *served_power_domain_, "--fail",
                        "powerDomain:pdu-r02-a"},
                       answer["notRepaired"].get<int>() == 0 ? 0 : 3);
  ExpectSameAnswer(answer, cli);

  std::vector<Change> changes;
  for (const std::string& t :
       {"powerDomain:" + *served_power_domain_, std::string("powerDomain:pdu-r02-a")}) {
    changes.push_back(*ParseChange(ChangeKind::kFail, t));
  }
  EXPECT_GE(VerifyRepairs(file, changes, answer), 1);
  EXPECT_EQ(StateSeen(), before) << "a what-if changed the state";
}

TEST_F(WhatIfHttpTest, AddedRacksAndShapesAnswerAsTheCommand) {
  const std::string before = StateSeen();
  const json body = {
      {"changes",
       {{{"add", "racks=2,class=h100x8,pod=pod-2"}}, {{"tenantQuota", "nlp-lab:gpus=+64"}}}},
      {"shapes",
       {"nodes=8,class=h100x8,locality=leaf:required,tenant=nlp-lab",
        {{"tenant", "med-imaging"},
         {"nodes", 2},
         {"select", {{"class", "h100x8"}}},
         {"topology", {{"locality", {{"level", "rack"}, {"mode", "required"}}}}}}}}};
  Response r = server_->Call("POST", "/v1/whatif", *auditor_, body.dump());
  ASSERT_EQ(r.status, 200) << r.body;
  const json answer = r.Json();
  EXPECT_EQ(answer["affected"], 0);
  EXPECT_EQ(answer["capacity"]["after"]["freeNodes"].get<int>(),
            answer["capacity"]["before"]["freeNodes"].get<int>() + 16);
  ASSERT_EQ(answer["shapes"].size(), 2u);
  EXPECT_GT(answer["shapes"][0]["after"]["copies"].get<int>(),
            answer["shapes"][0]["before"]["copies"].get<int>());

  const json cli = Cli(
      {"whatif", Export(), "--add", "racks=2,class=h100x8,pod=pod-2", "--tenant-quota",
       "nlp-lab:gpus=+64", "--shape", "nodes=8,class=h100x8,locality=leaf:required,tenant=nlp-lab",
       "--shape", "nodes=2,class=h100x8,locality=rack:required,tenant=med-imaging"},
      0);
  ExpectSameAnswer(answer, cli);
  EXPECT_EQ(StateSeen(), before) << "a what-if changed the state";
}

// A held reservation is not an allocation to repair, but its nodes are not free either.
TEST_F(WhatIfHttpTest, HeldReservationsStayTaken) {
  const std::string body = json{{"changes", {{{"fail", "rack:r05"}}}}}.dump();
  auto ask = [&] {
    Response r = server_->Call("POST", "/v1/whatif", *admin_, body);
    EXPECT_EQ(r.status, 200) << r.body;
    return r.Json();
  };
  const json before = ask();
  const json hold = {{"tenant", "hpc-physics"}, {"nodes", 2}, {"select", {{"class", "cpu"}}}};
  Response r = server_->Call("POST", "/v1/reservations", *admin_, hold.dump());
  ASSERT_EQ(r.status, 201) << r.body;
  const json held = ask();
  EXPECT_EQ(held["capacity"]["before"]["freeNodes"].get<int>(),
            before["capacity"]["before"]["freeNodes"].get<int>() - 2);
  EXPECT_EQ(held["allocations"], before["allocations"]);
  Response cancel =
      server_->Call("DELETE", "/v1/reservations/" + r.Json()["id"].get<std::string>(), *admin_);
  ASSERT_EQ(cancel.status, 200) << cancel.body;
  EXPECT_EQ(ask()["capacity"]["before"]["freeNodes"], before["capacity"]["before"]["freeNodes"]);
}

TEST_F(WhatIfHttpTest, OnlyProvidersAndAuditorsAskWhatIf) {
  const std::string body = json{{"changes", {{{"fail", "rack:r05"}}}}}.dump();
  for (const std::string* token : {nlp_admin_, nlp_member_}) {
    ExpectProblem(server_->Call("POST", "/v1/whatif", *token, body), 403, "forbidden", "<none>");
  }
  ExpectProblem(server_->Call("POST", "/v1/whatif", "", body), 401, "unauthenticated", "<none>");
  EXPECT_EQ(server_->Call("POST", "/v1/whatif", *auditor_, body).status, 200);
}

TEST_F(WhatIfHttpTest, BadWhatIfInputIs400WithAPointer) {
  const std::string before = StateSeen();
  struct Case {
    json body;
    std::string code, pointer;
  };
  // A change object, a body of changes and shapes (arrays built explicitly).
  auto change = [](const std::string& kind, const json& text) {
    json c = json::object();
    c[kind] = text;
    return c;
  };
  auto with = [](json changes, json shapes = nullptr) {
    json b = json::object();
    b["changes"] = std::move(changes);
    if (!shapes.is_null()) b["shapes"] = std::move(shapes);
    return b;
  };
  const json ok_change = change("fail", "rack:r05");
  const json ok = json::array({ok_change});
  json too_many = json::array();
  for (size_t i = 0; i <= kMaxWhatIfChanges; ++i) too_many.push_back(ok_change);
  json two_kinds = change("fail", "rack:r01");
  two_kinds["drain"] = "rack:r02";
  json bogus = with(ok);
  bogus["bogus"] = 1;
  json no_changes = json::object();
  no_changes["shapes"] = json::array({"nodes=2"});
  const json h200 = {{"nodes", 2}, {"select", {{"class", "h200x8"}}}};
  const json racks = {{"nodes", 2}, {"topology", {{"locality", {{"level", "racks"}}}}}};
  const json ghost = {{"nodes", 2}, {"tenant", "ghost"}};
  const std::vector<Case> cases = {
      {with(json::array(
           {ok_change, change("drain", "rack:r01"), change("fail", "powerDomain:pdu-nope")})),
       "change_not_applicable", "/changes/2/fail"},
      {with(json::array({ok_change, change("add", "racks=1,class=h100x8,pod=pod-9")})),
       "change_not_applicable", "/changes/1/add"},
      {with(json::array({change("tenantQuota", "ghost:gpus=+8")})), "change_not_applicable",
       "/changes/0/tenantQuota"},
      {with(json::array({change("explode", "rack:r01")})), "unknown_change_kind",
       "/changes/0/explode"},
      {with(json::array({change("fail", "rackx:r01")})), "invalid_change", "/changes/0/fail"},
      {with(json::array({change("add", "racks=two,class=h100x8,pod=pod-1")})), "invalid_change",
       "/changes/0/add"},
      {with(json::array({change("fail", 3)})), "wrong_type", "/changes/0/fail"},
      {with(json::array({two_kinds})), "conflicting_fields", "/changes/0"},
      {with(json::array({"rack:r01"})), "wrong_type", "/changes/0"},
      {with(json::array()), "out_of_range", "/changes"},
      {with(too_many), "out_of_range", "/changes"},
      {no_changes, "missing_field", "/changes"},
      {with(ok, json::array({"nodes=x"})), "invalid_shape", "/shapes/0"},
      {with(ok, json::array({"nodes=2", h200})), "invalid_shape", "/shapes/1"},
      {with(ok, json::array({racks})), "bad_value", "/shapes/0/topology/locality/level"},
      {with(ok, json::array({ghost})), "invalid_shape", "/shapes/0"},
      {bogus, "unknown_field", "/bogus"},
      {json::array(), "wrong_type", ""},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.body.dump());
    ExpectProblem(server_->Call("POST", "/v1/whatif", *admin_, c.body.dump()), 400, c.code,
                  c.pointer);
  }
  ExpectProblem(server_->Call("POST", "/v1/whatif", *admin_, "{\"changes\": ["), 400,
                "malformed_json", "");
  ExpectProblem(server_->Call("POST", "/v1/whatif", *admin_, ""), 400, "empty_body", "");
  ExpectProblem(server_->Call("POST", "/v1/whatif?backend=ilp", *admin_, with(ok).dump()), 400,
                "bad_parameter", "<none>");
  // Hostile text comes back escaped: no terminal control or reordering characters.
  Response hostile =
      server_->Call("POST", "/v1/whatif", *admin_,
                    with(json::array({change("fail", "rack:\u202e\x1b[2Jr01")})).dump());
  ExpectProblem(hostile, 400, "change_not_applicable", "/changes/0/fail");
  EXPECT_EQ(hostile.body.find("\u202e"), std::string::npos) << hostile.body;
  EXPECT_EQ(StateSeen(), before) << "a refused what-if changed the state";
}

TEST_F(WhatIfHttpTest, TenantSeesItsOwnHeadroomOnly) {
  const std::string shape = "nodes=2,class=h100x8,locality=leaf:required";
  Response r = server_->Call(
      "POST", "/v1/capacity", *nlp_member_,
      json{{"shape",
            {{"nodes", 2},
             {"select", {{"class", "h100x8"}}},
             {"topology", {{"locality", {{"level", "leaf"}, {"mode", "required"}}}}}}}}
          .dump());
  ASSERT_EQ(r.status, 200) << r.body;
  const json answer = r.Json();
  EXPECT_EQ(answer["shape"]["tenant"], "nlp-lab");
  ASSERT_EQ(answer["tenants"].size(), 1u);
  EXPECT_EQ(answer["tenants"][0]["tenant"], "nlp-lab");
  EXPECT_GT(answer["count"]["copies"].get<int>(), 0);
  for (const char* other : {"med-imaging", "hpc-physics", "med-train", "physics-mc"}) {
    EXPECT_EQ(r.body.find(other), std::string::npos) << other << " in " << r.body;
  }
  // The command on an export says the same.
  const json cli = Cli({"capacity", Export(), "--shape", shape, "--tenant", "nlp-lab"}, 0);
  ExpectSameAnswer(answer, cli);

  // Without a shape: the tenant's own headroom and the anonymous free capacity.
  Response plain = server_->Call("POST", "/v1/capacity", *nlp_admin_, "");
  ASSERT_EQ(plain.status, 200) << plain.body;
  ASSERT_EQ(plain.Json()["tenants"].size(), 1u);
  EXPECT_EQ(plain.Json()["tenants"][0]["tenant"], "nlp-lab");
  EXPECT_FALSE(plain.Json().contains("count"));
  EXPECT_EQ(plain.body.find("med-imaging"), std::string::npos);
  // where a provider sees every tenant's.
  Response all = server_->Call("POST", "/v1/capacity", *admin_, "{}");
  ASSERT_EQ(all.status, 200) << all.body;
  EXPECT_EQ(all.Json()["tenants"].size(), 3u);
}

TEST_F(WhatIfHttpTest, TenantNamingAnotherTenantGets404) {
  const json for_med = {{"nodes", 2}, {"tenant", "med-imaging"}};
  ExpectProblem(
      server_->Call("POST", "/v1/capacity", *nlp_member_, json{{"shape", for_med}}.dump()), 404,
      "tenant_not_found", "/shape/tenant");
  ExpectProblem(
      server_->Call("POST", "/v1/capacity", *nlp_admin_, json{{"tenant", "med-imaging"}}.dump()),
      404, "tenant_not_found", "/tenant");
  ExpectProblem(server_->Call("POST", "/v1/capacity", *nlp_admin_,
                              json{{"shape", "nodes=2,tenant=med-imaging"}}.dump()),
                404, "tenant_not_found", "/shape");
  // A tenant that does not exist looks the same, to a tenant and to a provider.
  ExpectProblem(server_->Call("POST", "/v1/capacity", *nlp_admin_,
                              json{{"shape", {{"nodes", 2}, {"tenant", "ghost"}}}}.dump()),
                404, "tenant_not_found", "/shape/tenant");
  ExpectProblem(server_->Call("POST", "/v1/capacity", *admin_, json{{"tenant", "ghost"}}.dump()),
                404, "tenant_not_found", "/tenant");
}

TEST_F(WhatIfHttpTest, ProviderCapacityAnswersAsTheCommand) {
  const std::string shape = "nodes=4,class=h100x8,locality=leaf:required,tenant=med-imaging";
  Response r = server_->Call("POST", "/v1/capacity", *admin_, json{{"shape", shape}}.dump());
  ASSERT_EQ(r.status, 200) << r.body;
  const json answer = r.Json();
  ASSERT_EQ(answer["tenants"].size(), 1u);
  EXPECT_EQ(answer["tenants"][0]["tenant"], "med-imaging");
  ExpectSameAnswer(answer, Cli({"capacity", Export(), "--shape", shape}, 0));
}

TEST_F(WhatIfHttpTest, BadCapacityInputIs400WithAPointer) {
  ExpectProblem(
      server_->Call("POST", "/v1/capacity", *admin_,
                    json{{"shape", {{"nodes", 2}, {"select", {{"class", "h200x8"}}}}}}.dump()),
      400, "invalid_shape", "/shape");
  ExpectProblem(server_->Call("POST", "/v1/capacity", *admin_,
                              json{{"shape", "nodes=2,locality=leaf:sometimes"}}.dump()),
                400, "invalid_shape", "/shape");
  ExpectProblem(server_->Call("POST", "/v1/capacity", *admin_, json{{"shape", 7}}.dump()), 400,
                "wrong_type", "/shape");
  ExpectProblem(server_->Call("POST", "/v1/capacity", *nlp_member_,
                              json{{"shape", {{"nodes", 2}, {"gpus", 8}}}}.dump()),
                400, "conflicting_fields", "/shape/gpus");
  // A long unknown key whose quoted cut would split a character still gets a 400.
  const std::string key = std::string(63, 'a') + "\u00e9";
  json odd = {{"nodes", 2}};
  odd[key] = 1;
  ExpectProblem(server_->Call("POST", "/v1/capacity", *admin_, json{{"shape", odd}}.dump()), 400,
                "unknown_field", "/shape/" + key);
  ExpectProblem(server_->Call("POST", "/v1/capacity", *admin_, json{{"history", "x.csv"}}.dump()),
                400, "unknown_field", "/history");
}

TEST_F(WhatIfHttpTest, OpenApiDescribesBothEndpoints) {
  Response r = server_->Call("GET", "/v1/openapi.json");
  ASSERT_EQ(r.status, 200) << r.body;
  const json doc = r.Json();
  for (const char* path : {"/v1/whatif", "/v1/capacity"}) {
    const json& op = doc["paths"][path]["post"];
    EXPECT_FALSE(op.value("summary", "").empty()) << path;
    EXPECT_TRUE(op.contains("requestBody")) << path;
    EXPECT_FALSE(op.contains("parameters")) << path << ": takes no query parameters";
  }
  const json& change = doc["components"]["schemas"]["WhatIfBody"]["properties"]["changes"];
  EXPECT_EQ(change["maxItems"], kMaxWhatIfChanges);
  EXPECT_TRUE(change["items"]["properties"].contains("fail"));
}

}  // namespace
}  // namespace topoplace::testing
