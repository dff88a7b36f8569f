// Plans and tenant networks in the store, run against both backends: plans with their steps kept
// one row each and found again after a reopen, step upserts and their audit entries, and IPAM
// inside the store's transactions (distinct VLANs and subnets under concurrency, reuse by key,
// exhaustion, stable addresses, freeing only an empty network). Also that the executors' scenario
// keys survive an import and export.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "inventory/scenario_codec.h"
#include "inventory/store.h"
#include "tests/service/databases.h"

namespace topoplace {
namespace {

using testing::NewStoreUrl;
using testing::SourceDirectory;

const Actor kAdmin{"test", "provider-admin", ""};
const Actor kRunner{"runner", "system", ""};

const NetworkPolicy kPolicy{4000, 100, 199, "10.128.0.0/16", 24};

Scenario BaremetalLab() {
  auto s = LoadScenarioFile(SourceDirectory() + "/scenarios/baremetal-lab.yaml");
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  return s.ok() ? *s : Scenario{};
}

PlanStep Step(std::string id, std::string action, std::string node, std::vector<std::string> after,
              StepPhase phase = StepPhase::kDeploy) {
  PlanStep s;
  s.id = std::move(id);
  s.layer = action.rfind("power", 0) == 0 ? "bmc" : "l2";
  s.driver = s.layer == "bmc" ? "ipmi" : "ovs";
  s.action = std::move(action);
  s.node = std::move(node);
  s.phase = phase;
  s.after = std::move(after);
  return s;
}

Plan SamplePlan(const std::string& tenant, const std::string& allocation) {
  Plan p;
  p.allocation = allocation;
  p.tenant = tenant;
  p.purpose = "baremetal";
  p.steps = {
      Step("network/network-allocate", "network-allocate", "", {}),
      Step("ra-n1/port-tenant-vlan", "port-tenant-vlan", "ra-n1", {"network/network-allocate"}),
      Step("ra-n1/power-on", "power-on", "ra-n1", {"ra-n1/port-tenant-vlan"})};
  p.steps[1].attempts = 2;
  p.steps[1].log = "a, \"quoted\" line";
  p.steps[1].started_ms = 1000;
  p.steps[1].updated_ms = 1001;
  p.milestones = {{"requested", 900}, {"assigned-to-tenant", 950}};
  p.created_ms = 900;
  p.updated_ms = 950;
  return p;
}

NodeAddress Want(std::string node) {
  return {node, "eth0", "02:00:00:00:00:" + node.substr(node.size() - 2), ""};
}

std::vector<std::string> AuditActions(Store& store) {
  auto entries = store.ListAudit(AuditQuery{0, 1000, ""});
  EXPECT_TRUE(entries.ok()) << entries.status().ToString();
  std::vector<std::string> actions;
  if (entries.ok()) {
    for (const AuditEntry& e : *entries) actions.push_back(e.action);
  }
  return actions;
}

class PlanStoreTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    url_ = NewStoreUrl(GetParam());
    auto store = Store::Open(url_);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(store).value();
    ASSERT_TRUE(store_->Import(BaremetalLab(), kAdmin, NowMillis(), false).ok());
  }

  std::string url_;
  std::unique_ptr<Store> store_;
};

int64_t GenerationOf(Store& store, const std::string& node) {
  auto state = store.LoadState();
  EXPECT_TRUE(state.ok());
  for (const NodeRecord& n : state->nodes) {
    if (n.name == node) return n.generation;
  }
  return -1;
}

TEST_P(PlanStoreTest, AClusterAndItsPlanAreRecordedTogetherAndAFailedNodeIsSwapped) {
  HoldRequest hold;
  hold.tenant = "lab-a";
  hold.name = "pair";
  hold.now_ms = NowMillis();
  for (const std::string n : {"ra-n1", "ra-n2"}) {
    hold.nodes.push_back({n, GenerationOf(*store_, n), "test"});
  }
  Plan plan = SamplePlan("", "");
  auto cluster = store_->CreateCluster(hold, "baremetal", "[]", kAdmin, &plan);
  ASSERT_TRUE(cluster.ok()) << cluster.status().ToString();
  auto recorded = store_->PlanOfAllocation(cluster->allocation_id);
  ASSERT_TRUE(recorded.ok()) << recorded.status().ToString();
  EXPECT_EQ(recorded->id, cluster->plan_id);
  EXPECT_EQ(recorded->tenant, "lab-a");
  EXPECT_EQ(recorded->steps.size(), plan.steps.size());

  // A replacement chosen against an old generation is refused and changes nothing.
  const int64_t gen = GenerationOf(*store_, "ra-n3");
  auto stale = store_->ReplaceAllocationNode(cluster->allocation_id, "ra-n1",
                                             {"ra-n3", gen - 1, "replacement"}, {}, "bmc down",
                                             kRunner, NowMillis());
  EXPECT_EQ(stale.status().code(), StatusCode::kAborted);
  EXPECT_EQ(stale.status().reason(), "generation_conflict");
  auto before = store_->GetAllocation(cluster->allocation_id, "");
  ASSERT_TRUE(before.ok());
  ASSERT_EQ(before->nodes.size(), 2u);
  EXPECT_EQ(before->nodes[0].node, "ra-n1");

  // A node the allocation does not hold cannot be replaced.
  auto foreign = store_->ReplaceAllocationNode(cluster->allocation_id, "ra-n4",
                                               {"ra-n3", gen, "replacement"}, {}, "bmc down",
                                               kRunner, NowMillis());
  EXPECT_EQ(foreign.status().code(), StatusCode::kFailedPrecondition);

  auto swapped = store_->ReplaceAllocationNode(cluster->allocation_id, "ra-n1",
                                               {"ra-n3", gen, "replacement"}, {}, "bmc down",
                                               kRunner, NowMillis());
  ASSERT_TRUE(swapped.ok()) << swapped.status().ToString();
  std::vector<std::string> now;
  for (const HeldNode& h : swapped->nodes) now.push_back(h.node);
  EXPECT_EQ(now, (std::vector<std::string>{"ra-n2", "ra-n3"}));
  auto state = store_->LoadState();
  ASSERT_TRUE(state.ok());
  for (const NodeRecord& n : state->nodes) {
    if (n.name == "ra-n1") {
      EXPECT_EQ(n.state, NodeState::kFailed);
      EXPECT_EQ(n.tenant, "");
    }
    if (n.name == "ra-n3") {
      EXPECT_EQ(n.state, NodeState::kAllocated);
      EXPECT_EQ(n.holding, cluster->allocation_id);
    }
  }
  EXPECT_EQ(AuditActions(*store_).back(), "allocation.replace-node");
  auto verified = store_->VerifyAudit();
  ASSERT_TRUE(verified.ok());
  EXPECT_TRUE(verified->ok());
}

TEST_P(PlanStoreTest, ImportAndExportCarryPortsBmcManagementAndNetworks) {
  const Scenario original = BaremetalLab();
  ASSERT_TRUE(original.inventory.networks.has_value());
  auto exported = store_->Export();
  ASSERT_TRUE(exported.ok()) << exported.status().ToString();
  EXPECT_EQ(exported->inventory, original.inventory);
  EXPECT_EQ(exported->inventory.networks, original.inventory.networks);
  EXPECT_EQ(exported->inventory.nodes[4].ports, original.inventory.nodes[4].ports);
  EXPECT_EQ(exported->inventory.nodes[4].bmc->credentials, "lab-bmc");
  EXPECT_EQ(exported->inventory.switches[1].management, (SwitchManagement{"ovs", "br-a"}));
  auto reloaded = LoadScenarioString(DumpScenario(*exported), "export");
  ASSERT_TRUE(reloaded.ok()) << reloaded.status().ToString();
  EXPECT_EQ(reloaded->inventory, original.inventory);
}

TEST_P(PlanStoreTest, APlanAndItsStepsRoundTrip) {
  const Plan sample = SamplePlan("lab-a", "alc-1");
  auto created = store_->CreatePlan(sample, kAdmin);
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  EXPECT_EQ(created->id.rfind("pln-", 0), 0u) << created->id;
  Plan want = sample;
  want.id = created->id;
  EXPECT_EQ(*created, want);
  auto got = store_->GetPlan(created->id, "");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(*got, want);
  auto own = store_->GetPlan(created->id, "lab-a");
  EXPECT_TRUE(own.ok());
  auto other = store_->GetPlan(created->id, "lab-b");
  EXPECT_EQ(other.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(other.status().reason(), "plan_not_found");
  // A caller's id is kept, and taken only once.
  Plan named = sample;
  named.id = "pln-given";
  ASSERT_TRUE(store_->CreatePlan(named, kAdmin).ok());
  auto again = store_->CreatePlan(named, kAdmin);
  EXPECT_EQ(again.status().code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(AuditActions(*store_).back(), "plan.create");
}

TEST_P(PlanStoreTest, StepsAreUpsertedAndFinishedOnesAudited) {
  auto plan = store_->CreatePlan(SamplePlan("lab-a", "alc-1"), kAdmin);
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  const size_t audits_before = AuditActions(*store_).size();

  PlanStep running = plan->steps[0];
  running.state = StepState::kRunning;
  running.attempts = 1;
  running.started_ms = running.updated_ms = 2000;
  ASSERT_TRUE(store_->SaveStep(plan->id, running, kRunner).ok());
  EXPECT_EQ(AuditActions(*store_).size(), audits_before) << "running is not audited";

  PlanStep done = running;
  done.state = StepState::kDone;
  done.log = "vlan 100, 10.128.0.0/24";
  done.updated_ms = 2100;
  ASSERT_TRUE(store_->SaveStep(plan->id, done, kRunner).ok());
  ASSERT_TRUE(store_->SaveStep(plan->id, done, kRunner).ok());  // a repeat changes nothing
  auto entries = store_->ListAudit(AuditQuery{0, 1000, ""});
  ASSERT_TRUE(entries.ok());
  ASSERT_EQ(entries->size(), audits_before + 1);
  const AuditEntry& e = entries->back();
  EXPECT_EQ(e.action, "plan.step");
  EXPECT_EQ(e.subject, plan->id);
  EXPECT_EQ(e.tenant, "lab-a");
  const auto detail = nlohmann::json::parse(e.detail);
  EXPECT_EQ(detail["step"], "network/network-allocate");
  EXPECT_EQ(detail["state"], "done");
  EXPECT_EQ(detail["log"], "vlan 100, 10.128.0.0/24");

  // A step the plan did not have is appended after the others (a replacement, a teardown).
  PlanStep teardown = Step("ra-n1/power-off", "power-off", "ra-n1", {}, StepPhase::kTeardown);
  teardown.state = StepState::kCompensated;
  teardown.updated_ms = 2200;
  ASSERT_TRUE(store_->SaveStep(plan->id, teardown, kRunner).ok());
  auto got = store_->GetPlan(plan->id, "");
  ASSERT_TRUE(got.ok());
  ASSERT_EQ(got->steps.size(), 4u);
  EXPECT_EQ(got->steps[0], done);
  EXPECT_EQ(got->steps[1], plan->steps[1]);
  EXPECT_EQ(got->steps[3], teardown);
  EXPECT_EQ(got->updated_ms, 2200);
  EXPECT_EQ(AuditActions(*store_).back(), "plan.step");

  auto missing = store_->SaveStep("pln-none", done, kRunner);
  EXPECT_EQ(missing.code(), StatusCode::kNotFound);
}

TEST_P(PlanStoreTest, HeadersListsAndThePlanOfAnAllocation) {
  auto first = store_->CreatePlan(SamplePlan("lab-a", "alc-1"), kAdmin);
  auto second = store_->CreatePlan(SamplePlan("lab-b", "alc-2"), kAdmin);
  ASSERT_TRUE(first.ok() && second.ok());
  Plan header = *first;
  header.status = PlanStatus::kReady;
  header.network = "net-1";
  header.milestones.push_back({"ready", 3000});
  header.updated_ms = 3000;
  ASSERT_TRUE(store_->SavePlanHeader(header, kRunner).ok());
  EXPECT_EQ(AuditActions(*store_).back(), "plan.status");
  auto got = store_->GetPlan(first->id, "");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(*got, header) << "the header changed, the steps stayed";

  auto all = store_->ListPlans("", false);
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[1].steps.size(), 3u);
  auto unfinished = store_->ListPlans("", true);
  ASSERT_TRUE(unfinished.ok());
  ASSERT_EQ(unfinished->size(), 1u);
  EXPECT_EQ((*unfinished)[0].id, second->id);
  auto scoped = store_->ListPlans("lab-a", false);
  ASSERT_TRUE(scoped.ok());
  ASSERT_EQ(scoped->size(), 1u);
  EXPECT_EQ((*scoped)[0].id, first->id);

  Plan later = SamplePlan("lab-a", "alc-1");
  later.created_ms = 5000;
  auto third = store_->CreatePlan(later, kAdmin);
  ASSERT_TRUE(third.ok());
  auto of = store_->PlanOfAllocation("alc-1");
  ASSERT_TRUE(of.ok());
  EXPECT_EQ(of->id, third->id) << "the latest plan of the allocation";
  EXPECT_EQ(store_->PlanOfAllocation("alc-9").status().code(), StatusCode::kNotFound);
}

TEST_P(PlanStoreTest, APlanIsStillThereAfterTheStoreIsReopened) {
  auto plan = store_->CreatePlan(SamplePlan("lab-a", "alc-1"), kAdmin);
  ASSERT_TRUE(plan.ok());
  PlanStep done = plan->steps[0];
  done.state = StepState::kDone;
  done.updated_ms = 1500;
  ASSERT_TRUE(store_->SaveStep(plan->id, done, kRunner).ok());
  auto net = store_->AcquireNetwork("lab-a", "lab-a", kPolicy, {Want("ra-n1")}, kRunner);
  ASSERT_TRUE(net.ok()) << net.status().ToString();
  store_.reset();

  auto reopened = Store::Open(url_);
  ASSERT_TRUE(reopened.ok()) << reopened.status().ToString();
  auto got = (*reopened)->GetPlan(plan->id, "");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  Plan want = *plan;
  want.steps[0] = done;
  want.updated_ms = 1500;
  EXPECT_EQ(*got, want);
  auto unfinished = (*reopened)->ListPlans("", true);
  ASSERT_TRUE(unfinished.ok());
  ASSERT_EQ(unfinished->size(), 1u);
  auto again = (*reopened)->GetNetwork(net->id);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, *net);
}

TEST_P(PlanStoreTest, ConcurrentTenantsGetDistinctVlansAndSubnets) {
  constexpr int kTenants = 8;
  std::vector<Result<TenantNetwork>> results(kTenants, Status(StatusCode::kInternal, "unset"));
  std::vector<std::thread> threads;
  for (int i = 0; i < kTenants; ++i) {
    threads.emplace_back([&, i] {
      const std::string tenant = "t" + std::to_string(i);
      results[i] = store_->AcquireNetwork(tenant, tenant, kPolicy,
                                          {Want("n" + std::to_string(10 + i))}, kRunner);
    });
  }
  for (auto& t : threads) t.join();
  std::set<int> vlans;
  std::set<std::string> subnets;
  for (const auto& r : results) {
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    vlans.insert(r->vlan);
    subnets.insert(r->subnet);
    EXPECT_GE(r->vlan, 100);
    EXPECT_LE(r->vlan, 100 + kTenants - 1) << "the lowest free VLANs";
    ASSERT_EQ(r->addresses.size(), 1u);
    const std::string prefix = r->subnet.substr(0, r->subnet.size() - 4);  // "10.128.N."
    EXPECT_EQ(r->gateway, prefix + "1");
    EXPECT_EQ(r->addresses[0].address, prefix + "2");
  }
  EXPECT_EQ(vlans.size(), static_cast<size_t>(kTenants));
  EXPECT_EQ(subnets.size(), static_cast<size_t>(kTenants));
  auto listed = store_->ListNetworks("");
  ASSERT_TRUE(listed.ok());
  EXPECT_EQ(listed->size(), static_cast<size_t>(kTenants));
  auto one = store_->ListNetworks("t3");
  ASSERT_TRUE(one.ok());
  ASSERT_EQ(one->size(), 1u);
  EXPECT_EQ((*one)[0].tenant, "t3");
}

TEST_P(PlanStoreTest, ANetworkIsReusedByItsKey) {
  auto a = store_->AcquireNetwork("lab-a", "lab-a", kPolicy, {Want("ra-n1")}, kRunner);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(a->vlan, 100);
  EXPECT_EQ(a->subnet, "10.128.0.0/24");
  EXPECT_EQ(a->gateway, "10.128.0.1");
  auto same = store_->AcquireNetwork("lab-a", "lab-a", kPolicy, {Want("ra-n2")}, kRunner);
  ASSERT_TRUE(same.ok());
  EXPECT_EQ(same->id, a->id);
  EXPECT_EQ(same->vlan, 100);
  EXPECT_EQ(same->addresses.size(), 2u);
  auto other_key = store_->AcquireNetwork("lab-a", "lab-a/project-2", kPolicy, {}, kRunner);
  ASSERT_TRUE(other_key.ok());
  EXPECT_NE(other_key->id, a->id);
  EXPECT_EQ(other_key->vlan, 101);
  EXPECT_EQ(other_key->subnet, "10.128.1.0/24");
  // The same key of another tenant is another network.
  auto other_tenant = store_->AcquireNetwork("lab-b", "lab-a", kPolicy, {}, kRunner);
  ASSERT_TRUE(other_tenant.ok());
  EXPECT_EQ(other_tenant->vlan, 102);
}

TEST_P(PlanStoreTest, TinyRangesRunOutWithAClearReason) {
  NetworkPolicy two_vlans = kPolicy;
  two_vlans.tenant_vlan_to = 101;
  ASSERT_TRUE(store_->AcquireNetwork("a", "a", two_vlans, {}, kRunner).ok());
  ASSERT_TRUE(store_->AcquireNetwork("b", "b", two_vlans, {}, kRunner).ok());
  auto third = store_->AcquireNetwork("c", "c", two_vlans, {}, kRunner);
  EXPECT_EQ(third.status().code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(third.status().reason(), "no_free_vlan");
  EXPECT_NE(third.status().message().find("100..101"), std::string::npos)
      << third.status().message();

  // Two /30 subnets in a /29 pool, each with room for its gateway and one node.
  const NetworkPolicy tiny{4000, 200, 299, "10.9.0.0/29", 30};
  auto d = store_->AcquireNetwork("d", "d", tiny, {Want("n01")}, kRunner);
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->subnet, "10.9.0.0/30");
  EXPECT_EQ(d->addresses[0].address, "10.9.0.2");
  auto full = store_->AcquireNetwork("d", "d", tiny, {Want("n02")}, kRunner);
  EXPECT_EQ(full.status().code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(full.status().reason(), "no_free_address");
  ASSERT_TRUE(store_->AcquireNetwork("e", "e", tiny, {}, kRunner).ok());
  auto no_subnet = store_->AcquireNetwork("f", "f", tiny, {}, kRunner);
  EXPECT_EQ(no_subnet.status().code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(no_subnet.status().reason(), "no_free_subnet");
  // A failed call leaves nothing behind: d still has its one address.
  auto still = store_->GetNetwork(d->id);
  ASSERT_TRUE(still.ok());
  EXPECT_EQ(still->addresses.size(), 1u);

  const NetworkPolicy bad{4000, 100, 199, "10.0.0.1/16", 24};
  auto refused = store_->AcquireNetwork("g", "g", bad, {}, kRunner);
  EXPECT_EQ(refused.status().code(), StatusCode::kInvalidArgument);
}

TEST_P(PlanStoreTest, AddressesAreStableOnRepeatAndReusedOnceReleased) {
  auto net = store_->AcquireNetwork("lab-a", "lab-a", kPolicy, {Want("n01"), Want("n02")}, kRunner);
  ASSERT_TRUE(net.ok()) << net.status().ToString();
  ASSERT_EQ(net->addresses.size(), 2u);
  EXPECT_EQ(net->addresses[0], (NodeAddress{"n01", "eth0", "02:00:00:00:00:01", "10.128.0.2"}));
  EXPECT_EQ(net->addresses[1].address, "10.128.0.3");
  const size_t audits = AuditActions(*store_).size();
  auto repeat =
      store_->AcquireNetwork("lab-a", "lab-a", kPolicy, {Want("n02"), Want("n01")}, kRunner);
  ASSERT_TRUE(repeat.ok());
  EXPECT_EQ(*repeat, *net);
  EXPECT_EQ(AuditActions(*store_).size(), audits) << "a repeat is no change";

  ASSERT_TRUE(store_->ReleaseAddresses(net->id, {"n01", "n-unknown"}, kRunner).ok());
  EXPECT_EQ(AuditActions(*store_).back(), "network.release");
  auto more =
      store_->AcquireNetwork("lab-a", "lab-a", kPolicy, {Want("n03"), Want("n04")}, kRunner);
  ASSERT_TRUE(more.ok());
  std::map<std::string, std::string> by_node;
  for (const NodeAddress& a : more->addresses) by_node[a.node] = a.address;
  EXPECT_EQ(by_node, (std::map<std::string, std::string>{
                         {"n02", "10.128.0.3"}, {"n03", "10.128.0.2"}, {"n04", "10.128.0.4"}}));
  EXPECT_EQ(store_->ReleaseAddresses("net-none", {"n02"}, kRunner).code(), StatusCode::kNotFound);
  // A replaced NIC keeps the node's address under its new MAC.
  NodeAddress new_nic = Want("n02");
  new_nic.mac = "02:00:00:00:aa:02";
  auto moved = store_->AcquireNetwork("lab-a", "lab-a", kPolicy, {new_nic}, kRunner);
  ASSERT_TRUE(moved.ok());
  auto n02 = std::find_if(moved->addresses.begin(), moved->addresses.end(),
                          [](const NodeAddress& a) { return a.node == "n02"; });
  ASSERT_NE(n02, moved->addresses.end());
  EXPECT_EQ(*n02, (NodeAddress{"n02", "eth0", "02:00:00:00:aa:02", "10.128.0.3"}));
}

TEST_P(PlanStoreTest, ANetworkIsFreedOnlyWhenEmpty) {
  auto net = store_->AcquireNetwork("lab-a", "lab-a", kPolicy, {Want("n01")}, kRunner);
  ASSERT_TRUE(net.ok());
  auto busy = store_->FreeNetworkIfEmpty(net->id, kRunner);
  ASSERT_TRUE(busy.ok());
  EXPECT_FALSE(*busy);
  ASSERT_TRUE(store_->ReleaseAddresses(net->id, {"n01"}, kRunner).ok());
  auto freed = store_->FreeNetworkIfEmpty(net->id, kRunner);
  ASSERT_TRUE(freed.ok());
  EXPECT_TRUE(*freed);
  EXPECT_EQ(AuditActions(*store_).back(), "network.free");
  auto twice = store_->FreeNetworkIfEmpty(net->id, kRunner);
  ASSERT_TRUE(twice.ok());
  EXPECT_FALSE(*twice);
  auto listed = store_->ListNetworks("");
  ASSERT_TRUE(listed.ok());
  EXPECT_TRUE(listed->empty());
  auto kept = store_->GetNetwork(net->id);
  ASSERT_TRUE(kept.ok());
  EXPECT_TRUE(kept->addresses.empty());
  // Its VLAN and subnet are free again; the key makes a new network.
  auto next = store_->AcquireNetwork("lab-b", "lab-b", kPolicy, {}, kRunner);
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(next->vlan, 100);
  EXPECT_EQ(next->subnet, "10.128.0.0/24");
  auto renewed = store_->AcquireNetwork("lab-a", "lab-a", kPolicy, {}, kRunner);
  ASSERT_TRUE(renewed.ok());
  EXPECT_NE(renewed->id, net->id);
  EXPECT_EQ(store_->GetNetwork("net-none").status().code(), StatusCode::kNotFound);
}

TEST_P(PlanStoreTest, PlanAndNetworkEntriesKeepTheAuditChainWhole) {
  auto plan = store_->CreatePlan(SamplePlan("lab-a", "alc-1"), kAdmin);
  ASSERT_TRUE(plan.ok());
  PlanStep failed = plan->steps[2];
  failed.state = StepState::kFailed;
  failed.log = "power-on: no answer from 127.0.0.1:9001";
  ASSERT_TRUE(store_->SaveStep(plan->id, failed, kRunner).ok());
  auto net = store_->AcquireNetwork("lab-a", "lab-a", kPolicy, {Want("ra-n1")}, kRunner);
  ASSERT_TRUE(net.ok());
  ASSERT_TRUE(store_->ReleaseAddresses(net->id, {"ra-n1"}, kRunner).ok());
  ASSERT_TRUE(store_->FreeNetworkIfEmpty(net->id, kRunner).ok());
  const std::vector<std::string> actions = AuditActions(*store_);
  ASSERT_GE(actions.size(), 5u);
  EXPECT_EQ(std::vector<std::string>(actions.end() - 5, actions.end()),
            (std::vector<std::string>{"plan.create", "plan.step", "network.acquire",
                                      "network.release", "network.free"}));
  auto report = store_->VerifyAudit();
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_TRUE(report->ok()) << ::testing::PrintToString(report->problems);
}

INSTANTIATE_TEST_SUITE_P(Backends, PlanStoreTest, ::testing::Values("sqlite", "postgresql"),
                         [](const auto& p) { return p.param; });

}  // namespace
}  // namespace topoplace
