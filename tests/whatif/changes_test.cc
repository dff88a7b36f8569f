// What-if changes (--fail, --drain, --add, --remove, --tenant-quota), the short request form, and
// the scenario language's allocation `request:` key.
#include "inventory/changes.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "inventory/scenario_codec.h"
#include "inventory/short_request.h"
#include "tests/solver/fixtures.h"
#include "tests/whatif/whatif_fixtures.h"

namespace topoplace {
namespace {

Scenario Reference() {
  const PlacementProblem p =
      fixtures::MakeProblem(fixtures::ReferenceDataCentre(), fixtures::ReferenceTenants());
  Allocation a;
  a.name = "job";
  a.tenant = "cv-lab";
  a.nodes = {"r2-n01"};
  return whatif_testing::ScenarioOf(p, {a});
}

std::string Error(ChangeKind kind, const std::string& text) {
  auto c = ParseChange(kind, text);
  return c.ok() ? std::string("ok") : c.status().message();
}

std::string ApplyError(Scenario s, ChangeKind kind, const std::string& text) {
  auto c = ParseChange(kind, text);
  if (!c.ok()) return "parse: " + c.status().message();
  auto r = ApplyChanges(s, {*c});
  return r.ok() ? std::string("ok") : r.status().message();
}

TEST(Changes, ParseErrorsNameTheFlagAndWhatWasExpected) {
  EXPECT_EQ(Error(ChangeKind::kFail, "r1"),
            "--fail \"r1\": expected KIND:NAME with KIND one of node, rack, leaf, pod, "
            "powerDomain (e.g. rack:r07)");
  EXPECT_EQ(Error(ChangeKind::kDrain, "racks:r1"),
            "--drain \"racks:r1\": unknown kind \"racks\"; expected one of node, rack, leaf, pod, "
            "powerDomain");
  EXPECT_EQ(Error(ChangeKind::kRemove, "rack:"),
            "--remove \"rack:\": no name after \"rack:\"; expected rack:NAME");
  EXPECT_EQ(Error(ChangeKind::kAdd, "racks=0,class=h100x8,pod=pod-1"),
            "--add \"racks=0,class=h100x8,pod=pod-1\": racks: \"0\" is not a whole number from 1 "
            "to 1000");
  EXPECT_EQ(Error(ChangeKind::kAdd, "racks=2,class=h100x8"),
            "--add \"racks=2,class=h100x8\": pod missing; expected "
            "racks=N,class=CLASS,pod=POD[,nodes=N][,tags=T]");
  EXPECT_EQ(Error(ChangeKind::kAdd, "racks=2,class=h100x8,pod=p,colour=red"),
            "--add \"racks=2,class=h100x8,pod=p,colour=red\": unknown key \"colour\"; expected one "
            "of racks, class, pod, nodes, tags");
  EXPECT_EQ(Error(ChangeKind::kTenantQuota, "nlp-lab:gpus=lots"),
            "--tenant-quota \"nlp-lab:gpus=lots\": gpus: \"lots\" is not a change; expected +N, "
            "-N, N (whole numbers) or none");
  EXPECT_EQ(Error(ChangeKind::kTenantQuota, "gpus=+4"),
            "--tenant-quota \"gpus=+4\": expected TENANT:KEY=VALUE[,KEY=VALUE] (e.g. "
            "nlp-lab:gpus=+64)");
  EXPECT_EQ(Error(ChangeKind::kTenantQuota, "nlp-lab:gpu=+4"),
            "--tenant-quota \"nlp-lab:gpu=+4\": unknown key \"gpu\"; expected one of nodes, gpus, "
            "cpuCores, memoryGiB, storageGiB, budgetPerHour");
}

TEST(Changes, UnknownNamesAreReportedWithTheKnownOnes) {
  const Scenario s = Reference();
  EXPECT_EQ(ApplyError(s, ChangeKind::kFail, "rack:r9"),
            "--fail \"rack:r9\": no rack named \"r9\"; did you mean \"r1\"? expected one of r-eu1, "
            "r1, r2, r3, r4");
  EXPECT_EQ(ApplyError(s, ChangeKind::kAdd, "racks=1,class=h100x8,pod=pod-9"),
            "--add \"racks=1,class=h100x8,pod=pod-9\": pod: no pod named \"pod-9\"; did you mean "
            "\"pod-1\"? expected one of pod-1, pod-2, pod-eu");
  EXPECT_EQ(ApplyError(s, ChangeKind::kAdd, "racks=1,class=h200x8,pod=pod-1"),
            "--add \"racks=1,class=h200x8,pod=pod-1\": class: no node class named \"h200x8\"; did "
            "you mean \"h100x8\"? expected one of a100x8, cpu, gb200x4, h100x8, l40sx4");
  EXPECT_EQ(ApplyError(s, ChangeKind::kTenantQuota, "nlp:gpus=+8"),
            "--tenant-quota \"nlp:gpus=+8\": no tenant named \"nlp\"; expected one of bio-lab, "
            "cv-lab, nlp-lab");
  EXPECT_EQ(ApplyError(s, ChangeKind::kTenantQuota, "nlp-lab:gpus=+8"),
            "--tenant-quota \"nlp-lab:gpus=+8\": gpus: tenant \"nlp-lab\" has no gpus limit to "
            "change; expected a number to set one");
}

TEST(Changes, FailDrainRemoveAndQuota) {
  Scenario s = Reference();
  std::vector<Change> changes;
  for (auto [kind, text] : std::vector<std::pair<ChangeKind, std::string>>{
           {ChangeKind::kFail, "powerDomain:us-pd-a"},
           {ChangeKind::kDrain, "rack:r2"},
           {ChangeKind::kRemove, "rack:r4"},
           {ChangeKind::kTenantQuota, "nlp-lab:gpus=64,nodes=10"},
           {ChangeKind::kTenantQuota, "cv-lab:cpuCores=100"}}) {
    auto c = ParseChange(kind, text);
    ASSERT_TRUE(c.ok()) << c.status().message();
    changes.push_back(*c);
  }
  auto applied = ApplyChanges(s, changes);
  ASSERT_TRUE(applied.ok()) << applied.status().message();
  ASSERT_EQ(applied->size(), 5u);
  // Applied in the fixed order: remove, fail, drain, quota.
  EXPECT_EQ((*applied)[0].summary, "removed 4 nodes of rack r4 (and 1 empty rack)");
  EXPECT_EQ((*applied)[1].summary, "failed 6 nodes of powerDomain us-pd-a");
  EXPECT_EQ((*applied)[2].summary,
            "drained rack r2: 2 free nodes closed to new placements, 1 held node stays with "
            "their holders");
  EXPECT_EQ((*applied)[3].summary, "tenant nlp-lab quota: gpus -> 64, nodes -> 10");
  const Inventory& inv = s.inventory;
  EXPECT_EQ(inv.NodeIndex("r4-n01"), -1);
  EXPECT_EQ(inv.RackIndex("r4"), -1);
  EXPECT_EQ(inv.nodes[inv.NodeIndex("r1-n01")].state, NodeState::kFailed);
  EXPECT_EQ(inv.nodes[inv.NodeIndex("r2-n01")].state, NodeState::kFailed) << "failed wins";
  EXPECT_EQ(inv.nodes[inv.NodeIndex("r2-n04")].state, NodeState::kMaintenance);
  EXPECT_EQ(s.tenants[s.TenantIndex("nlp-lab")].quota.gpus, 64);

  auto more = ParseChange(ChangeKind::kTenantQuota, "nlp-lab:gpus=+16,nodes=-20,memoryGiB=none");
  ASSERT_TRUE(more.ok());
  ASSERT_TRUE(ApplyChanges(s, {*more}).ok());
  EXPECT_EQ(s.tenants[s.TenantIndex("nlp-lab")].quota.gpus, 80);
  EXPECT_EQ(s.tenants[s.TenantIndex("nlp-lab")].quota.nodes, 0) << "never below zero";
}

TEST(Changes, AQuotaCutBelowWhatIsHeldSaysSo) {
  Scenario s = Reference();
  for (const char* n : {"r1-n01", "r1-n02", "r2-n01"}) {
    s.inventory.nodes[s.inventory.NodeIndex(n)].holder = "nlp-lab";
    s.inventory.nodes[s.inventory.NodeIndex(n)].state = NodeState::kAllocated;
  }
  auto cut = ParseChange(ChangeKind::kTenantQuota, "nlp-lab:nodes=1,gpus=200");
  ASSERT_TRUE(cut.ok());
  auto applied = ApplyChanges(s, {*cut});
  ASSERT_TRUE(applied.ok()) << applied.status().message();
  EXPECT_EQ((*applied)[0].summary,
            "tenant nlp-lab quota: nodes -> 1, gpus -> 200; over quota: holds 3 nodes, 2 above "
            "the limit");
}

TEST(Changes, AddedRacksAreCabledAndPoweredLikeTheirPod) {
  Scenario s = Reference();
  auto c = ParseChange(ChangeKind::kAdd, "racks=2,class=gb200x4,pod=pod-2,tags=hipaa+pci");
  ASSERT_TRUE(c.ok());
  auto applied = ApplyChanges(s, {*c});
  ASSERT_TRUE(applied.ok()) << applied.status().message();
  EXPECT_EQ((*applied)[0].summary,
            "added 2 racks of 4 gb200x4 nodes to pod pod-2 (8 nodes, a leaf per rack of vendor "
            "vendor-b, A/B power)");
  const Inventory& inv = s.inventory;
  const int leaf = inv.SwitchIndex("pod-2-add-r02-leaf");
  ASSERT_GE(leaf, 0);
  EXPECT_EQ(inv.switches[leaf].vendor, "vendor-b");
  EXPECT_EQ(inv.switches[leaf].uplinks, std::vector<std::string>{"spine-2"});
  const int rack = inv.RackIndex("pod-2-add-r01");
  ASSERT_GE(rack, 0);
  EXPECT_EQ(inv.racks[rack].tags, (std::vector<std::string>{"hipaa", "pci"}));
  EXPECT_EQ(inv.nodes[inv.NodeIndex("pod-2-add-r01-n02")].power_domain, "pod-2-add-r01-pd-b");
  auto snap = MakeSnapshot(inv);
  ASSERT_TRUE(snap.ok()) << snap.status().message();
  const Topology& topo = (*snap)->topology;
  const int n = inv.NodeIndex("pod-2-add-r01-n01");
  EXPECT_EQ(topo.DomainName(Level::kPod, topo.DomainOf(n, Level::kPod)), "pod-2");
  EXPECT_EQ(topo.HopDistance(n, inv.NodeIndex("r3-n01")), 4) << "leaf - spine - leaf";
}

TEST(ShortRequest, ParsesEveryKey) {
  auto r = ParseShortRequest(
      "nodes=16,class=h100x8|a100x8,locality=leaf:required:2,spread=powerDomain:0.5:min=2,"
      "compliance=hipaa,exclusive=rack,roce=true,maxCostPerHour=1600,purpose=slurm,priority=7,"
      "gpuModel=H100*,memoryGiB>=1024,label.fw=2|3,tenant=nlp-lab",
      "--shape");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->nodes, 16);
  EXPECT_EQ(r->select.classes, (std::vector<std::string>{"h100x8", "a100x8"}));
  ASSERT_TRUE(r->locality);
  EXPECT_EQ(r->locality->level, Level::kLeaf);
  EXPECT_EQ(r->locality->max_domains, 2);
  ASSERT_TRUE(r->spread);
  EXPECT_EQ(r->spread->max_fraction, 0.5);
  EXPECT_EQ(r->spread->min_domains, 2);
  EXPECT_EQ(r->exclusive, Level::kRack);
  EXPECT_TRUE(r->roce);
  EXPECT_EQ(r->max_cost_per_hour, 1600);
  EXPECT_EQ(r->purpose, Purpose::kSlurm);
  EXPECT_EQ(r->priority, 7);
  ASSERT_TRUE(r->select.memory_gib);
  EXPECT_EQ(r->select.memory_gib->ToString(), ">=1024");
  ASSERT_EQ(r->select.labels.size(), 1u);
  EXPECT_EQ(r->select.labels[0].values, (std::vector<std::string>{"2", "3"}));
  EXPECT_EQ(r->tenant, "nlp-lab");
}

TEST(ShortRequest, ErrorsGiveTheColumn) {
  auto r = ParseShortRequest("nodes=16,locality=leafs,spread=rack", "--shape");
  ASSERT_FALSE(r.ok());
  ASSERT_EQ(r.status().messages().size(), 2u);
  EXPECT_EQ(r.status().messages()[0],
            "--shape \"nodes=16,locality=leafs,spread=rack\": column 10: locality: unknown level "
            "\"leafs\"; expected one of nvlink, leaf, rack, row, pod, spine, site, powerDomain");
  EXPECT_EQ(r.status().messages()[1],
            "--shape \"nodes=16,locality=leafs,spread=rack\": column 25: spread: no limit; "
            "expected LEVEL:FRACTION, LEVEL:max=N or LEVEL:min=N");
  auto twice = ParseShortRequest("nodes=1,nodes=2", "--shape");
  EXPECT_EQ(twice.status().message(),
            "--shape \"nodes=1,nodes=2\": column 9: nodes: given twice; expected each key at most "
            "once");
  auto none = ParseShortRequest("class=h100x8", "--shape");
  EXPECT_EQ(none.status().message(),
            "--shape \"class=h100x8\": neither nodes nor gpus; expected nodes=N or gpus=N");
  auto bad = ParseShortRequest("gpus=-8,colour=red", "--shape");
  ASSERT_EQ(bad.status().messages().size(), 2u);
  EXPECT_EQ(bad.status().messages()[0],
            "--shape \"gpus=-8,colour=red\": column 1: gpus: \"-8\" is not a whole number from 1 "
            "to 64000000");
}

TEST(AllocationRequest, LoadsDumpsAndLoadsBack) {
  const std::string yaml = R"(apiVersion: topoplace/v1
inventory:
  sites: [{name: s1, region: us-east, jurisdiction: US}]
  powerDomains: [{name: pd-a, site: s1}]
  switches:
    - {name: spine-1, role: spine, vendor: arista, site: s1}
    - {name: leaf-1, role: leaf, vendor: arista, site: s1, uplinks: [spine-1]}
  racks: [{name: r1, site: s1, pod: pod-1, powerDomains: [pd-a], tags: [hipaa]}]
  nodeClasses:
    - {name: h100x8, cpu: {cores: 112}, memoryGiB: 2048, gpu: {model: H100, count: 8}, costPerHour: 98.32}
  nodes:
    - {name: n1, class: h100x8, rack: r1, powerDomain: pd-a, leaf: leaf-1}
    - {name: n2, class: h100x8, rack: r1, powerDomain: pd-a, leaf: leaf-1}
tenants:
  - {name: lab, compliance: [hipaa]}
allocations:
  - name: train
    tenant: lab
    nodes: [n1, n2]
    request:
      nodes: 2
      select: {class: [h100x8]}
      topology:
        locality: {level: leaf, mode: required}
        spread: {level: powerDomain, maxFraction: 1}
      compliance: [hipaa]
      priority: 5
  - {name: plain, tenant: lab, nodes: []}
)";
  // An allocation without nodes is an error; drop it for the happy path.
  const std::string ok_yaml = yaml.substr(0, yaml.find("  - {name: plain"));
  auto s = LoadScenarioString(ok_yaml, "alloc.yaml");
  ASSERT_TRUE(s.ok()) << s.status().message();
  ASSERT_EQ(s->allocations.size(), 1u);
  const Allocation& a = s->allocations[0];
  ASSERT_TRUE(a.request.has_value());
  EXPECT_EQ(a.request->name, "train");
  EXPECT_EQ(a.request->tenant, "lab");
  EXPECT_EQ(a.request->nodes, 2);
  EXPECT_EQ(a.request->priority, 5);
  EXPECT_EQ(a.request->compliance, std::vector<std::string>{"hipaa"});
  const std::string dumped = DumpScenario(*s);
  EXPECT_NE(dumped.find("    request:\n      nodes: 2\n"), std::string::npos) << dumped;
  auto again = LoadScenarioString(dumped, "dumped.yaml");
  ASSERT_TRUE(again.ok()) << again.status().message() << "\n" << dumped;
  EXPECT_EQ(*again, *s);
}

}  // namespace
}  // namespace topoplace
