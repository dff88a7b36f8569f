// The whatif, capacity and replay commands run as processes: exit codes, reports, JSON, errors,
// and the golden replay summary of the story trace (tests/golden/replay/story.expected).
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "tests/api/cli_runner.h"

namespace topoplace {
namespace {

using testing::RunTopoplace;
using Json = nlohmann::json;

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(WhatIfCli, HelpForEachCommand) {
  for (const char* cmd : {"whatif", "capacity", "replay"}) {
    const auto run = RunTopoplace(std::string(cmd) + " --help");
    EXPECT_EQ(run.exit_code, 0) << cmd;
    EXPECT_TRUE(Contains(run.out, "--json")) << run.out;
  }
}

TEST(WhatIfCli, RepairedAllocationsExitZero) {
  const auto run = RunTopoplace("whatif scenarios/whatif-moc.yaml --fail leaf:leaf-r07");
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_TRUE(Contains(run.out, "nlp-serving (tenant nlp-lab): lost 4 of 4 nodes")) << run.out;
  EXPECT_TRUE(Contains(run.out, "repaired: 4 moves (fewest moves proven")) << run.out;
  EXPECT_TRUE(Contains(run.out, "1 of 1 affected allocations repaired (4 moves)")) << run.out;
}

TEST(WhatIfCli, UnrepairableExitsThreeWithExplanationAndRelocation) {
  const auto run = RunTopoplace("whatif scenarios/whatif-moc.yaml --fail node:r01-n03 --json");
  EXPECT_EQ(run.exit_code, 3) << run.err;
  const Json j = Json::parse(run.out);
  EXPECT_EQ(j["affected"], 1);
  EXPECT_EQ(j["notRepaired"], 1);
  const Json& r = j["repairs"][0];
  EXPECT_EQ(r["allocation"], "nlp-pretrain");
  EXPECT_EQ(r["basis"], "request");
  EXPECT_EQ(r["repaired"], false);
  EXPECT_EQ(r["status"], "infeasible");
  EXPECT_EQ(r["explanation"]["conflict"][0]["constraint"], "locality");
  EXPECT_EQ(r["relocation"]["moves"], 8);
  EXPECT_EQ(r["relocation"]["unaffectedMoved"], 7);
  EXPECT_EQ(j["capacity"]["before"]["freeNodes"], j["capacity"]["after"]["freeNodes"]);
  EXPECT_EQ(j["pending"]["requests"].size(), 6u);
}

TEST(WhatIfCli, AllocationsWithoutRequestsSaySo) {
  const auto run = RunTopoplace("whatif scenarios/moc-small.yaml --fail powerDomain:pdu-r02-a");
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_TRUE(Contains(run.out,
                       "no request recorded: each lost node replaced by a free node of "
                       "the same class"))
      << run.out;
}

TEST(WhatIfCli, BadChangesExitTwoWithClearMessages) {
  auto run = RunTopoplace("whatif scenarios/moc-small.yaml --fail rackx:r01 --add racks=two");
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_TRUE(Contains(run.err, "--fail \"rackx:r01\": unknown kind \"rackx\"")) << run.err;
  EXPECT_TRUE(Contains(run.err, "--add \"racks=two\": racks: \"two\" is not a whole number"))
      << run.err;
  run = RunTopoplace("whatif scenarios/moc-small.yaml --fail rack:r99");
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_TRUE(Contains(run.err, "no rack named \"r99\"")) << run.err;
  run = RunTopoplace("whatif scenarios/moc-small.yaml");
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_TRUE(Contains(run.err, "no change given")) << run.err;
  run = RunTopoplace("whatif scenarios/moc-small.yaml --fail rack:r01 --shape nodes=x");
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_TRUE(Contains(run.err, "--shape \"nodes=x\": column 1: nodes:")) << run.err;
}

TEST(WhatIfCli, AddedRacksAndQuotaShowInCapacity) {
  const auto run = RunTopoplace(
      "whatif scenarios/moc-small.yaml --add racks=2,class=h100x8,pod=pod-2 "
      "--tenant-quota nlp-lab:gpus=+64 --shape nodes=8,class=h100x8,locality=leaf:required,"
      "tenant=nlp-lab --json");
  EXPECT_EQ(run.exit_code, 0) << run.err;
  const Json j = Json::parse(run.out);
  EXPECT_EQ(j["affected"], 0);
  EXPECT_EQ(j["capacity"]["after"]["freeNodes"].get<int>(),
            j["capacity"]["before"]["freeNodes"].get<int>() + 16);
  const Json& shape = j["shapes"][0];
  EXPECT_GT(shape["after"]["copies"].get<int>(), shape["before"]["copies"].get<int>());
}

// A small scenario written for the test: two leaves of four H100 nodes; the lab's allocations
// small-a (priority 1) and small-b (2) on leaf-1, big (10) on three nodes of leaf-2.
constexpr const char* kPreemptScenario = R"(apiVersion: topoplace/v1
inventory:
  sites: [{name: s1, region: r, jurisdiction: US}]
  powerDomains: [{name: pd-a, site: s1}, {name: pd-b, site: s1}]
  switches:
    - {name: spine-1, role: spine, vendor: arista, site: s1}
    - {name: leaf-1, role: leaf, vendor: arista, uplinks: [spine-1], pod: pod-1}
    - {name: leaf-2, role: leaf, vendor: arista, uplinks: [spine-1], pod: pod-1}
  racks:
    - {name: r1, site: s1, row: row-1, pod: pod-1, powerDomains: [pd-a, pd-b]}
    - {name: r2, site: s1, row: row-1, pod: pod-1, powerDomains: [pd-a, pd-b]}
  nodeClasses:
    - name: h100x8
      cpu: {cores: 112, model: xeon-8480}
      memoryGiB: 2048
      storageGiB: 30000
      gpu: {model: H100-SXM5-80GB, count: 8, memoryGiB: 80, nvlinkDomainSize: 8}
      costPerHour: 98.32
  nodes:
    - {name: r1-n01, class: h100x8, rack: r1, powerDomain: pd-a, leaf: leaf-1}
    - {name: r1-n02, class: h100x8, rack: r1, powerDomain: pd-b, leaf: leaf-1}
    - {name: r1-n03, class: h100x8, rack: r1, powerDomain: pd-a, leaf: leaf-1}
    - {name: r1-n04, class: h100x8, rack: r1, powerDomain: pd-b, leaf: leaf-1}
    - {name: r2-n01, class: h100x8, rack: r2, powerDomain: pd-a, leaf: leaf-2}
    - {name: r2-n02, class: h100x8, rack: r2, powerDomain: pd-b, leaf: leaf-2}
    - {name: r2-n03, class: h100x8, rack: r2, powerDomain: pd-a, leaf: leaf-2}
    - {name: r2-n04, class: h100x8, rack: r2, powerDomain: pd-b, leaf: leaf-2}
tenants:
  - name: lab
allocations:
  - name: small-a
    tenant: lab
    nodes: [r1-n01]
    request: {nodes: 1, select: {class: h100x8}, priority: 1}
  - name: small-b
    tenant: lab
    nodes: [r1-n02]
    request: {nodes: 1, select: {class: h100x8}, priority: 2}
  - name: big
    tenant: lab
    nodes: [r2-n01, r2-n02, r2-n03]
    request: {nodes: 3, select: {class: h100x8}, priority: 10}
)";

TEST(WhatIfCli, PlacePreemptIsADryRunThatNamesTheVictims) {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("topoplace-whatif-place-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto scenario = dir / "small.yaml";
  std::ofstream(scenario) << kPreemptScenario;
  auto request = [&](const std::string& name, int nodes) {
    const auto path = dir / (name + ".yaml");
    std::ofstream(path) << "name: " << name << "\ntenant: lab\nnodes: " << nodes
                        << "\nselect: {class: h100x8}\ntopology:\n"
                           "  locality: {level: leaf, mode: required}\npriority: 50\n";
    return path.string();
  };
  const std::string before = testing::ReadFile(scenario);
  const std::string file = scenario.string();

  auto run =
      RunTopoplace("whatif " + file + " --place " + request("train", 3) + " --preempt --json");
  ASSERT_EQ(run.exit_code, 0) << run.err << run.out;
  Json j = Json::parse(run.out);
  EXPECT_EQ(j["place"]["outcome"], "fitsByEvicting");
  EXPECT_EQ(j["place"]["result"]["evict"], Json::array({"small-a"}));
  EXPECT_EQ(j["place"]["result"]["evictions"][0]["tenant"], "lab");
  EXPECT_EQ(j["place"]["result"]["evictions"][0]["priority"], 1);
  EXPECT_EQ(j["place"]["result"]["evictions"][0]["nodes"], Json::array({"r1-n01"}));
  EXPECT_EQ(j["place"]["result"]["evictions"][0]["domain"], "leaf/leaf-1");
  EXPECT_EQ(j["place"]["result"]["nodes"].size(), 3u);
  EXPECT_EQ(j["place"]["legalVictims"], 3);
  EXPECT_EQ(j["place"]["violations"], Json::array());
  EXPECT_EQ(j["affected"], 0);

  run = RunTopoplace("whatif " + file + " --place " + request("train", 3) + " --preempt");
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_TRUE(Contains(run.out, "evict (1 of 3 it may evict):")) << run.out;
  EXPECT_TRUE(Contains(run.out, "small-a (tenant lab, project default, priority 1, 1 node: r1-n01"))
      << run.out;
  EXPECT_TRUE(Contains(run.out, "nothing was evicted, held or written")) << run.out;

  // Without --preempt the request may not evict: not placed, exit 3, with the explanation.
  run = RunTopoplace("whatif " + file + " --place " + request("train", 3));
  EXPECT_EQ(run.exit_code, 3) << run.err;
  EXPECT_TRUE(Contains(run.out, "may not evict anything")) << run.out;
  EXPECT_TRUE(Contains(run.out, "why: ")) << run.out;

  // Room for it already: nothing needs evicting.
  run = RunTopoplace("whatif " + file + " --place " + request("pair", 2) + " --preempt");
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_TRUE(Contains(run.out, "fits without evicting anything")) << run.out;

  // No leaf holds five nodes, whatever is evicted.
  run = RunTopoplace("whatif " + file + " --place " + request("huge", 5) + " --preempt --json");
  EXPECT_EQ(run.exit_code, 3) << run.err;
  j = Json::parse(run.out);
  EXPECT_EQ(j["place"]["outcome"], "impossible");
  EXPECT_TRUE(Contains(j["place"]["summary"].get<std::string>(), "does not fit even if all 3"))
      << j["place"]["summary"];
  EXPECT_FALSE(j["place"]["explanation"].is_null());

  EXPECT_EQ(testing::ReadFile(scenario), before) << "a dry run writes nothing";

  run = RunTopoplace("whatif " + file + " --preempt");
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_TRUE(Contains(run.err, "--preempt needs a request to --place")) << run.err;
  std::filesystem::remove_all(dir);
}

TEST(CapacityCli, CountsExactlyAndReportsFragmentation) {
  const auto run = RunTopoplace(
      "capacity scenarios/moc-small.yaml --shape "
      "nodes=4,class=h100x8,locality=leaf:required,tenant=med-imaging --json");
  EXPECT_EQ(run.exit_code, 0) << run.err;
  const Json j = Json::parse(run.out);
  EXPECT_TRUE(j["count"]["exact"].get<bool>()) << j["count"]["proof"];
  EXPECT_EQ(j["count"]["copies"].get<int>(), j["count"]["placements"].size());
  EXPECT_GT(j["count"]["copies"].get<int>(), 0);
  EXPECT_EQ(j["tenants"].size(), 1u);
  EXPECT_EQ(j["tenants"][0]["tenant"], "med-imaging");
  EXPECT_GT(j["fragmentation"]["freeNodes"].get<int>(), 0);
  EXPECT_FALSE(j["fragmentation"]["largest"].empty());

  const auto text = RunTopoplace(
      "capacity scenarios/moc-small.yaml --shape nodes=4,class=h100x8,locality=leaf:required");
  EXPECT_EQ(text.exit_code, 0) << text.err;
  EXPECT_TRUE(Contains(text.out, "more copies fit (exact")) << text.out;
  EXPECT_TRUE(Contains(text.out, "free nodes in fully free leaves")) << text.out;
}

TEST(CapacityCli, ShapeFileAndErrors) {
  const auto dir = std::filesystem::temp_directory_path() / "topoplace-capacity-test";
  std::filesystem::create_directories(dir);
  {
    std::ofstream(dir / "shape.yaml") << "nodes: 2\nselect: {class: a100x8}\ntopology:\n"
                                         "  locality: {level: rack, mode: required}\n";
    std::ofstream(dir / "bad.yaml") << "nodes: 2\ntopology:\n  locality: {level: racks}\n";
  }
  auto run = RunTopoplace("capacity scenarios/moc-small.yaml --tenant nlp-lab --shape-file " +
                          (dir / "shape.yaml").string());
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_TRUE(Contains(run.out,
                       "shape: nodes=2,class=a100x8,locality=rack:required (tenant "
                       "nlp-lab)"))
      << run.out;
  run =
      RunTopoplace("capacity scenarios/moc-small.yaml --shape-file " + (dir / "bad.yaml").string());
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_TRUE(Contains(run.err, "bad.yaml:3:21: topology.locality.level: unknown level \"racks\""))
      << run.err;
  run = RunTopoplace("capacity scenarios/moc-small.yaml --shape nodes=2,locality=leaf:sometimes");
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_TRUE(Contains(run.err, "column 9: locality: unknown mode \"sometimes\"")) << run.err;
  run = RunTopoplace("capacity scenarios/moc-small.yaml --shape nodes=2,class=h200x8");
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_TRUE(Contains(run.err, "unknown node class \"h200x8\"")) << run.err;
}

TEST(CapacityCli, ForecastsFromADemandHistory) {
  const auto run =
      RunTopoplace("capacity scenarios/moc-small.yaml --history scenarios/traces/story.csv --json");
  EXPECT_EQ(run.exit_code, 0) << run.err;
  const Json j = Json::parse(run.out);
  ASSERT_TRUE(j.contains("forecasts"));
  EXPECT_GE(j["forecasts"].size(), 3u);
  EXPECT_EQ(j["forecasts"][0]["subject"], "tenant nlp-lab gpus");
}

TEST(ReplayCli, GoldenSummaryOfTheStoryTrace) {
  const auto run = RunTopoplace(
      "replay scenarios/moc-small.yaml --trace scenarios/traces/story.csv --no-timing");
  EXPECT_EQ(run.exit_code, 0) << run.err;
  const std::string expected =
      testing::ReadFile(testing::SourceDir() + "/tests/golden/replay/story.expected");
  EXPECT_EQ(run.out, expected)
      << "regenerate with: topoplace replay scenarios/moc-small.yaml --trace "
         "scenarios/traces/story.csv --no-timing > tests/golden/replay/story.expected";
}

TEST(ReplayCli, JsonPlotTableAndErrors) {
  const auto dir = std::filesystem::temp_directory_path() / "topoplace-replay-test";
  std::filesystem::create_directories(dir);
  const auto svg = dir / "plot.svg", csv = dir / "series.csv";
  auto run = RunTopoplace(
      "replay scenarios/moc-small.yaml --trace scenarios/traces/story.csv "
      "--policy first-fit,random --seed 3 --json --plot " +
      svg.string() + " --table " + csv.string());
  EXPECT_EQ(run.exit_code, 0) << run.err;
  const Json j = Json::parse(run.out);
  ASSERT_EQ(j["policies"].size(), 2u);
  EXPECT_EQ(j["policies"][0]["policy"], "first-fit");
  EXPECT_EQ(j["policies"][1]["policy"], "random");
  EXPECT_EQ(j["policies"][0]["accepted"].get<int>() + j["policies"][0]["rejected"].get<int>(), 16);
  const std::string plot = testing::ReadFile(svg);
  EXPECT_TRUE(Contains(plot, "<svg")) << plot.substr(0, 200);
  EXPECT_TRUE(Contains(plot, "GPU allocation ratio"));
  EXPECT_TRUE(Contains(testing::ReadFile(csv), "policy,time,gpuRatio,fragmentation"));

  run = RunTopoplace(
      "replay scenarios/moc-small.yaml --trace scenarios/traces/story.csv "
      "--policy best-fit");
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_TRUE(Contains(run.err, "unknown policy \"best-fit\"")) << run.err;
  { std::ofstream(dir / "bad.csv") << "time,name,tenant,nodes,duration\n1,a,nlp-lab,two,1\n"; }
  run = RunTopoplace("replay scenarios/moc-small.yaml --trace " + (dir / "bad.csv").string());
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_TRUE(Contains(run.err, "bad.csv:2:13: nodes: \"two\" is not a whole number")) << run.err;
}

}  // namespace
}  // namespace topoplace
