// The CLI contract, checked on the real executable: exit codes, human output, --json, bad input.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "inventory/scenario_codec.h"
#include "solver/verifier.h"
#include "tests/api/cli_runner.h"

namespace topoplace {
namespace {

using testing::RunTopoplace;
using Json = nlohmann::json;

TEST(CliTest, HelpAndVersionExitZero) {
  for (const char* args : {"--help", "validate --help", "show --help", "place --help"}) {
    auto run = RunTopoplace(args);
    EXPECT_EQ(run.exit_code, 0) << args;
    EXPECT_NE(run.out.find("Usage"), std::string::npos) << args << run.out;
  }
  auto v = RunTopoplace("--version");
  EXPECT_EQ(v.exit_code, 0);
  EXPECT_NE(v.out.find("topoplace"), std::string::npos);
}

TEST(CliTest, BadFlagsExitTwo) {
  for (const char* args :
       {"", "frobnicate", "validate", "place scenarios/moc-small.yaml --solver simplex",
        "place scenarios/moc-small.yaml --time-limit -1", "show scenarios/moc-small.yaml --bogus",
        "place scenarios/moc-small.yaml --time-limit abc"}) {
    auto run = RunTopoplace(args);
    EXPECT_EQ(run.exit_code, 2) << "args: " << args << "\n" << run.out << run.err;
    EXPECT_FALSE(run.err.empty()) << args;
  }
}

TEST(CliTest, AnUnreachableStoreExitsFour) {
  // Nothing listens on port 1: retry later, not a bug and not bad input.
  auto run = RunTopoplace("audit verify --db postgresql://nobody@127.0.0.1:1/none");
  EXPECT_EQ(run.exit_code, 4) << run.out << run.err;
  EXPECT_NE(run.err.find("cannot connect"), std::string::npos) << run.err;
  auto file = RunTopoplace("export --db /nonexistent-directory/store.db");
  EXPECT_EQ(file.exit_code, 4) << file.out << file.err;
  EXPECT_NE(file.err.find("no store at /nonexistent-directory/store.db"), std::string::npos)
      << file.err;
}

TEST(CliTest, ValidateAcceptsEveryShippedScenario) {
  auto run = RunTopoplace("validate scenarios/moc-small.yaml scenarios/hipaa.yaml");
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_NE(run.out.find("scenarios/moc-small.yaml: valid"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("scenarios/hipaa.yaml: valid"), std::string::npos) << run.out;
}

TEST(CliTest, ValidateReportsEveryErrorWithPosition) {
  const auto dir = std::filesystem::temp_directory_path() / "topoplace-cli-validate";
  std::filesystem::create_directories(dir);
  const auto bad = dir / "bad.yaml";
  std::ofstream(bad) << "apiVersion: topoplace/v1\n"
                        "inventory:\n"
                        "  sites: [{name: s1, region: r, jurisdiction: US}]\n"
                        "  racks: [{name: r1, site: s9, row: a, pod: p}]\n"
                        "requests:\n"
                        "  - {name: x, tenant: t, nodes: 2, bogus: 1}\n";
  auto run = RunTopoplace("validate scenarios/moc-small.yaml '" + bad.string() + "'");
  EXPECT_EQ(run.exit_code, 2);
  // One line per error, each FILE:LINE:COL: ...; at least the bad site, unknown tenant, unknown
  // key.
  int lines = 0;
  std::istringstream in(run.err);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(bad.string() + ":", 0) == 0 && line.find("error(s)") == std::string::npos)
      ++lines;
  }
  EXPECT_GE(lines, 3) << run.err;
  EXPECT_NE(run.err.find(bad.string() + ":4:"), std::string::npos) << run.err;
  EXPECT_NE(run.err.find("bogus"), std::string::npos) << run.err;

  auto json = RunTopoplace("validate --json '" + bad.string() + "'");
  EXPECT_EQ(json.exit_code, 2);
  Json j = Json::parse(json.out);
  EXPECT_FALSE(j["valid"].get<bool>());
  EXPECT_GE(j["files"][0]["errors"].size(), 3u);
}

TEST(CliTest, MissingFileIsBadInput) {
  auto run = RunTopoplace("validate /nonexistent/x.yaml");
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_NE(run.err.find("/nonexistent/x.yaml"), std::string::npos) << run.err;
}

TEST(CliTest, ShowSummarisesCountsTenantsAndTree) {
  auto loaded = LoadScenarioFile(testing::SourceDir() + "/scenarios/moc-small.yaml");
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  auto run = RunTopoplace("show scenarios/moc-small.yaml");
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_NE(run.out.find(std::to_string(loaded->inventory.nodes.size()) + " nodes"),
            std::string::npos);
  for (const auto& c : loaded->inventory.node_classes)
    EXPECT_NE(run.out.find(c.name), std::string::npos);
  for (const auto& t : loaded->tenants)
    EXPECT_NE(run.out.find("  " + t.name + ":"), std::string::npos);
  EXPECT_NE(run.out.find("topology"), std::string::npos);
  EXPECT_NE(run.out.find("  site "), std::string::npos);
  EXPECT_NE(run.out.find("leaf "), std::string::npos);

  auto json = RunTopoplace("show --json scenarios/moc-small.yaml");
  ASSERT_EQ(json.exit_code, 0);
  Json j = Json::parse(json.out);
  EXPECT_EQ(j["nodes"]["nodes"].get<size_t>(), loaded->inventory.nodes.size());
  int sum = 0;
  for (auto& [name, c] : j["byRack"].items()) sum += c["nodes"].get<int>();
  EXPECT_EQ(sum, static_cast<int>(loaded->inventory.nodes.size()));
  EXPECT_EQ(j["tenants"].size(), loaded->tenants.size());
}

TEST(CliTest, ShowCollapsesLargeInventories) {
  auto run = RunTopoplace("show scenarios/dc-10k.yaml --max-children 3");
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_NE(run.out.find("not shown"), std::string::npos);
  EXPECT_LT(run.out.size(), 20000u);  // a summary, not 10,000 node lines
}

TEST(CliTest, PlaceDefaultScenarioVerifiesAndExplains) {
  auto loaded = LoadScenarioFile(testing::SourceDir() + "/scenarios/moc-small.yaml");
  ASSERT_TRUE(loaded.ok());
  auto run = RunTopoplace("place scenarios/moc-small.yaml --json --independent");
  // The default scenario holds one impossible request on purpose.
  EXPECT_EQ(run.exit_code, 3) << run.err;
  Json j = Json::parse(run.out);
  ASSERT_EQ(j["results"].size(), loaded->requests.size());
  auto snap = MakeSnapshot(loaded->inventory);
  ASSERT_TRUE(snap.ok());
  PlacementProblem problem{*snap, loaded->tenants};
  int infeasible = 0;
  for (const auto& r : j["results"]) {
    for (const char* key : {"request", "status", "nodes", "costPerHour", "objective", "bound",
                            "gap", "backend", "solveMs", "explanation"}) {
      EXPECT_TRUE(r.contains(key)) << key;
    }
    const Request& req = loaded->requests[loaded->RequestIndex(r["request"].get<std::string>())];
    const std::string status = r["status"];
    if (status == "infeasible") {
      ++infeasible;
      EXPECT_FALSE(r["explanation"].is_null());
      EXPECT_FALSE(r["explanation"]["summary"].get<std::string>().empty());
      continue;
    }
    std::vector<int> nodes;
    for (const auto& n : r["nodes"])
      nodes.push_back((*snap)->inventory.NodeIndex(n.get<std::string>()));
    auto violations = VerifyPlacement(problem, req, nodes);
    EXPECT_TRUE(violations.empty()) << req.name << ": " << violations.front().detail;
  }
  EXPECT_EQ(infeasible, 1);
}

TEST(CliTest, AHeuristicMissIsUndecidedNotInfeasible) {
  // The request fits (the exact solver places it), but the heuristic's search does not reach it:
  // it must say it found nothing, and exit 5 (undecided), never 3 (cannot be satisfied).
  const std::string file = "tests/golden/place/heuristic-miss.yaml";
  auto heuristic = RunTopoplace("place " + file + " --solver heuristic --json");
  EXPECT_EQ(heuristic.exit_code, 5) << heuristic.out << heuristic.err;
  Json j = Json::parse(heuristic.out);
  ASSERT_EQ(j["results"].size(), 1u);
  EXPECT_EQ(j["results"][0]["status"], "noSolutionFound");
  EXPECT_TRUE(j["results"][0]["explanation"].is_null())
      << "only a proven infeasibility is explained";
  auto text = RunTopoplace("place " + file + " --solver heuristic");
  EXPECT_EQ(text.exit_code, 5);
  EXPECT_NE(text.out.find("noSolutionFound"), std::string::npos) << text.out;
  auto exact = RunTopoplace("place " + file + " --solver auto --json");
  EXPECT_EQ(exact.exit_code, 0) << exact.out << exact.err;
  EXPECT_EQ(Json::parse(exact.out)["results"][0]["status"], "optimal");
}

TEST(CliTest, PlaceOneRequestHumanOutput) {
  auto loaded = LoadScenarioFile(testing::SourceDir() + "/scenarios/moc-small.yaml");
  ASSERT_TRUE(loaded.ok());
  const std::string name = loaded->requests.front().name;
  auto run = RunTopoplace("place scenarios/moc-small.yaml --request " + name + " --solver ilp");
  EXPECT_EQ(run.exit_code, 0) << run.out << run.err;
  EXPECT_NE(run.out.find("request " + name), std::string::npos);
  EXPECT_NE(run.out.find("optimal"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("  pod "), std::string::npos);
  EXPECT_NE(run.out.find("gap"), std::string::npos);
  EXPECT_NE(run.out.find("1 of 1 requests placed"), std::string::npos);

  auto unknown = RunTopoplace("place scenarios/moc-small.yaml --request no-such-request");
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_NE(unknown.err.find("no-such-request"), std::string::npos);
}

TEST(CliTest, PlaceATemplateForAProjectPlacesEveryNodeSetOrNone) {
  const std::string file = "scenarios/cluster-templates.yaml";
  auto loaded = LoadScenarioFile(testing::SourceDir() + "/" + file);
  ASSERT_TRUE(loaded.ok()) << loaded.status().message();
  auto run = RunTopoplace("place " + file +
                          " --template slurm-medium --tenant nlp-lab --project speech --json");
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  Json j = Json::parse(run.out);
  EXPECT_EQ(j["status"], "feasible");
  EXPECT_EQ(j["project"], "speech");
  ASSERT_EQ(j["sets"].size(), 2u);
  EXPECT_EQ(j["nodes"], 5);
  // Each set verifies against the scenario with the other set's nodes taken by the tenant.
  auto snap = MakeSnapshot(loaded->inventory);
  ASSERT_TRUE(snap.ok());
  const ClusterTemplate& t = loaded->cluster_templates[1];
  ASSERT_EQ(t.name, "slurm-medium");
  const std::vector<Request> requests = ExpandTemplate(t, "slurm-medium", "nlp-lab", "speech");
  std::vector<std::vector<int>> nodes(2);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(j["sets"][i]["request"], requests[i].name);
    for (const auto& n : j["sets"][i]["nodes"])
      nodes[i].push_back((*snap)->inventory.NodeIndex(n.get<std::string>()));
    EXPECT_EQ(nodes[i].size(), static_cast<size_t>(t.node_sets[i].size));
  }
  for (size_t i = 0; i < 2; ++i) {
    Inventory inv = loaded->inventory;
    for (int node : nodes[1 - i]) {
      inv.nodes[node].state = NodeState::kAllocated;
      inv.nodes[node].holder = "nlp-lab";
    }
    auto with_other = MakeSnapshot(inv);
    ASSERT_TRUE(with_other.ok());
    PlacementProblem problem{*with_other, loaded->tenants,
                             ProjectUsages(loaded->inventory, loaded->allocations)};
    AddProjectUsage(problem.project_usage, inv, "nlp-lab", "speech", nodes[1 - i]);
    auto violations = VerifyPlacement(problem, requests[i], nodes[i]);
    EXPECT_TRUE(violations.empty()) << requests[i].name << ": " << violations.front().detail;
  }

  // slurm-large needs 11 nodes; llm may hold 12 and holds 2: nothing is placed, and the set that
  // did not fit is named with the project's quota.
  auto large = RunTopoplace("place " + file +
                            " --template slurm-large --tenant nlp-lab --project llm --json");
  EXPECT_EQ(large.exit_code, 3) << large.out << large.err;
  Json l = Json::parse(large.out);
  EXPECT_EQ(l["status"], "infeasible");
  EXPECT_EQ(l["nodes"], 0);
  EXPECT_NE(l["why"].get<std::string>().find("quota(project llm)"), std::string::npos) << l["why"];

  auto unknown = RunTopoplace("place " + file + " --template slurm-tiny --tenant nlp-lab");
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_NE(unknown.err.find("no cluster template named \"slurm-tiny\""), std::string::npos)
      << unknown.err;
}

// The problem `place` poses for a scenario: its allocations are what a preempting request may
// evict, under the scenario's policy.
PlacementProblem PreemptionProblem(const Scenario& s, std::shared_ptr<const Snapshot> snap) {
  PlacementProblem problem{std::move(snap), s.tenants, ProjectUsages(s.inventory, s.allocations)};
  problem.holdings = HoldingsOf(s.inventory, s.allocations);
  problem.preempt_across_tenants = s.policy.preempt_across_tenants;
  return problem;
}

TEST(CliTest, PlaceEvictsTheFewestAllocationsAndSaysWhich) {
  const std::string file = "scenarios/preemption.yaml";
  auto loaded = LoadScenarioFile(testing::SourceDir() + "/" + file);
  ASSERT_TRUE(loaded.ok()) << loaded.status().message();
  auto snap = MakeSnapshot(loaded->inventory);
  ASSERT_TRUE(snap.ok());
  const PlacementProblem problem = PreemptionProblem(*loaded, *snap);

  // Each request alone against the scenario's state: its evictions and nodes verify.
  auto run = RunTopoplace("place " + file + " --independent --solver ilp --json");
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  Json j = Json::parse(run.out);
  ASSERT_EQ(j["results"].size(), 2u);
  std::map<std::string, std::vector<std::string>> evicted;
  for (const auto& r : j["results"]) {
    const std::string name = r["request"];
    SCOPED_TRACE(name);
    const Request& req = loaded->requests[loaded->RequestIndex(name)];
    ASSERT_TRUE(r.contains("evict")) << r.dump();
    ASSERT_TRUE(r.contains("evictions")) << r.dump();
    ASSERT_EQ(r["evict"].size(), r["evictions"].size());
    PlacementResult result;
    result.request = name;
    result.status = SolveStatus::kFeasible;
    for (const auto& n : r["nodes"])
      result.nodes.push_back((*snap)->inventory.NodeIndex(n.get<std::string>()));
    for (size_t k = 0; k < r["evictions"].size(); ++k) {
      const Json& e = r["evictions"][k];
      EXPECT_EQ(e["allocation"], r["evict"][k]);
      for (const char* key :
           {"allocation", "tenant", "project", "priority", "nodes", "used", "domain"}) {
        EXPECT_TRUE(e.contains(key)) << key;
      }
      EXPECT_LT(e["priority"].get<int>(), req.priority) << "only lower priorities are evicted";
      Eviction ev;
      ev.allocation = e["allocation"];
      result.evictions.push_back(ev);
      evicted[name].push_back(ev.allocation);
    }
    const auto violations = VerifyResult(problem, req, result);
    EXPECT_TRUE(violations.empty())
        << violations.front().constraint << ": " << violations.front().detail;
  }
  // prod-critical cannot free 4 nodes under leaf b (prod-serving outranks it): evicting research's
  // r-sweep alone frees leaf a. research-urgent alone: r-sweep too (one eviction, the lowest).
  EXPECT_EQ(evicted["prod-critical"], std::vector<std::string>{"r-sweep"});
  EXPECT_EQ(evicted["research-urgent"], std::vector<std::string>{"r-sweep"});
  const Json& victim = j["results"][0]["evictions"][0];
  EXPECT_EQ(victim["tenant"], "research");
  EXPECT_EQ(victim["priority"], 10);
  EXPECT_EQ(victim["nodes"], Json::array({"a1", "a2", "a3", "a4"}));
  EXPECT_EQ(victim["domain"], "leaf/leaf-a");

  // Jointly (the default): prod-critical first; research-urgent sees r-sweep gone and leaf a
  // mostly taken, and evicts r-eval. The text names every victim.
  auto text = RunTopoplace("place " + file + " --solver ilp");
  ASSERT_EQ(text.exit_code, 0) << text.out << text.err;
  EXPECT_NE(text.out.find("  evict: r-sweep\n"), std::string::npos) << text.out;
  EXPECT_NE(
      text.out.find("    - r-sweep: tenant research, priority 10, 4 nodes, from leaf/leaf-a\n"),
      std::string::npos)
      << text.out;
  EXPECT_NE(text.out.find("  evict: r-eval\n"), std::string::npos) << text.out;
  EXPECT_NE(
      text.out.find("    - r-eval: tenant research, priority 20, 2 nodes, from leaf/leaf-a\n"),
      std::string::npos)
      << text.out;
  EXPECT_NE(text.out.find("2 of 2 requests placed"), std::string::npos) << text.out;
  auto batch = RunTopoplace("place " + file + " --solver ilp --json");
  ASSERT_EQ(batch.exit_code, 0) << batch.out << batch.err;
  Json b = Json::parse(batch.out);
  ASSERT_EQ(b["results"].size(), 2u);
  EXPECT_EQ(b["results"][0]["evict"], Json::array({"r-sweep"}));
  EXPECT_EQ(b["results"][1]["evict"], Json::array({"r-eval"}));
}

TEST(CliTest, PreemptingAcrossTenantsNeedsTheProvidersPolicy) {
  std::string yaml = testing::ReadFile(testing::SourceDir() + "/scenarios/preemption.yaml");
  const std::string policy = "policy: {preemptAcrossTenants: true}\n";
  const size_t at = yaml.find(policy);
  ASSERT_NE(at, std::string::npos);
  yaml.erase(at, policy.size());
  const auto file = std::filesystem::temp_directory_path() /
                    ("topoplace-no-policy-" + std::to_string(::getpid()) + ".yaml");
  {
    std::ofstream out(file);
    out << yaml;
  }
  auto run = RunTopoplace("place '" + file.string() + "' --request prod-critical");
  EXPECT_EQ(run.exit_code, 2) << run.out << run.err;
  EXPECT_NE(run.err.find("preemption.scope"), std::string::npos) << run.err;
  auto json = RunTopoplace("place '" + file.string() + "' --request prod-critical --json");
  EXPECT_EQ(json.exit_code, 2) << json.out << json.err;
  Json j = Json::parse(json.out);
  EXPECT_EQ(j["error"]["code"], "preemption_not_allowed") << json.out;
  EXPECT_NE(j["error"]["message"].get<std::string>().find("preemption.scope"), std::string::npos)
      << json.out;
  // The research request (scope tenant) needs no consent.
  auto own = RunTopoplace("place '" + file.string() + "' --request research-urgent --json");
  EXPECT_EQ(own.exit_code, 0) << own.out << own.err;
  std::filesystem::remove(file);
}

}  // namespace
}  // namespace topoplace
