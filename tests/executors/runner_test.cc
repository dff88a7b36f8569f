// The plan runner against fake drivers: ordering, retries, replacement, compensation, teardown and
// resumption from the journal. The fakes keep the effects (power, PXE, port VLANs, DHCP entries)
// so every test reads back what a person would check on the real peers.
#include "executors/runner.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "executors/plan_builder.h"
#include "tests/executors/fake_fabric.h"

namespace topoplace {
namespace {

using ::testing::HasSubstr;
using testing::FakeFabric;
using testing::LabInventory;
using testing::MemoryHost;
using testing::WaitFor;

class RunnerTest : public ::testing::Test {
 protected:
  void SetUp() override { Use(LabInventory(6)); }
  void Use(std::shared_ptr<const Inventory> inv) {
    inventory_ = inv;
    fabric_.inventory = inventory_.get();
    host_ = std::make_unique<MemoryHost>(inventory_);
  }
  std::unique_ptr<PlanRunner> MakeRunner() {
    RunnerDrivers d;
    d.bmc["ipmi"] = testing::MakeFakeBmc(fabric_);
    d.l2["ovs"] = testing::MakeFakeL2(fabric_);
    d.l3["fake"] = testing::MakeFakeL3(fabric_);
    d.cluster["fake"] = testing::MakeFakeCluster(fabric_);
    ExecutorSettings settings;
    settings.runner.attempts = 3;
    settings.runner.backoff_seconds = 0.01;
    settings.runner.boot_timeout_seconds = 1;
    settings.runner.parallelism = 4;
    return std::make_unique<PlanRunner>(*host_, std::move(d), settings);
  }
  Plan NewPlan(const std::vector<std::string>& nodes, const std::string& id = "plan-1",
               const std::string& purpose = "baremetal", const std::string& project = "") {
    DriverChoice choice{"fake", {{"slurm", "fake"}, {"openshift", "fake"}}};
    Result<Plan> p = BuildDeployPlan(*inventory_, "alloc-1", "acme", purpose, nodes, choice);
    if (p.ok()) p->project = project;
    EXPECT_TRUE(p.ok()) << p.status().message();
    p->id = id;
    host_->Put(*p);
    return *p;
  }
  int Vlan(const std::string& node) {
    const Node& n = inventory_->nodes[inventory_->NodeIndex(node)];
    return fabric_.vlan[n.ports[0].switch_name + "/" + n.ports[0].port];
  }
  const PlanStep* Step(const Plan& p, const std::string& id) {
    for (const PlanStep& s : p.steps) {
      if (s.id == id) return &s;
    }
    return nullptr;
  }

  std::shared_ptr<const Inventory> inventory_;
  FakeFabric fabric_;
  std::unique_ptr<MemoryHost> host_;
};

TEST_F(RunnerTest, BuildRefusesNodesWithoutBmcOrPorts) {
  auto inv = std::make_shared<Inventory>(*LabInventory(2));
  inv->nodes[1].bmc.reset();
  inv->nodes[1].ports.clear();
  inv->networks.reset();
  ASSERT_TRUE(inv->BuildIndex().ok());
  Result<Plan> p = BuildDeployPlan(*inv, "a", "acme", "baremetal", {"n1", "n2"}, {});
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(p.status().message(), HasSubstr("node n2 has no `bmc:`"));
  EXPECT_THAT(p.status().message(), HasSubstr("node n2 has no `ports:`"));
  EXPECT_THAT(p.status().message(), HasSubstr("no `networks:` policy"));
}

TEST_F(RunnerTest, DeployMakesEveryNodeReadyOnTheTenantNetwork) {
  Plan plan = NewPlan({"n1", "n2", "n3"});
  auto runner = MakeRunner();
  ASSERT_TRUE(runner->Start().ok());
  ASSERT_TRUE(runner->Submit(plan).ok());
  Plan done = WaitFor(*host_, "plan-1", PlanStatus::kReady, 10);
  ASSERT_EQ(done.status, PlanStatus::kReady) << done.error;
  for (const std::string n : {"n1", "n2", "n3"}) {
    EXPECT_TRUE(fabric_.power[n]) << n;
    EXPECT_TRUE(fabric_.pxe_once[n]) << n;
    EXPECT_EQ(Vlan(n), 100) << n;
    EXPECT_EQ(fabric_.power_on_calls[n], 1) << n;
  }
  EXPECT_FALSE(fabric_.power["n4"]);  // not in the plan
  for (const PlanStep& s : done.steps) {
    EXPECT_EQ(s.state, StepState::kDone) << s.id << ": " << s.log;
  }
  // Power-on waited for the port, the reservation and the PXE flag.
  const PlanStep* on = Step(done, "n1/power-on");
  ASSERT_NE(on, nullptr);
  EXPECT_THAT(on->after, ::testing::UnorderedElementsAre("n1/port-tenant-vlan",
                                                         "n1/dhcp-reserve", "n1/boot-pxe"));
  ASSERT_FALSE(done.network.empty());
  auto net = host_->GetNetwork(done.network);
  ASSERT_TRUE(net.ok());
  EXPECT_EQ(net->addresses.size(), 3u);
  EXPECT_EQ(fabric_.reservations[done.network].size(), 3u);
  std::vector<std::string> milestones;
  for (const Milestone& m : done.milestones) milestones.push_back(m.name);
  EXPECT_THAT(milestones,
              ::testing::ElementsAre("requested", "assigned-to-tenant", "assigned-to-project",
                                     "network-ready", "powered-on", "ready"));
  for (size_t i = 1; i < done.milestones.size(); ++i) {
    EXPECT_LE(done.milestones[i - 1].at_ms, done.milestones[i].at_ms);
  }
}

std::vector<std::string> MilestoneNames(const Plan& p) {
  std::vector<std::string> out;
  for (const Milestone& m : p.milestones) out.push_back(m.name);
  return out;
}

TEST_F(RunnerTest, ASlurmPlanHandsEveryNodeOverAfterItsLeaseAndRecordsAccess) {
  Plan plan = NewPlan({"n1", "n2", "n3"}, "plan-1", "slurm", "llm");
  // The hand-over waits for each node's lease and for the cluster itself.
  const PlanStep* join = Step(plan, "n2/cluster-join");
  ASSERT_NE(join, nullptr);
  EXPECT_THAT(join->after,
              ::testing::UnorderedElementsAre("n2/wait-lease", "network/cluster-create"));
  ASSERT_NE(Step(plan, "n2/cluster-verify"), nullptr);
  auto runner = MakeRunner();
  ASSERT_TRUE(runner->Start().ok());
  ASSERT_TRUE(runner->Submit(plan).ok());
  Plan done = WaitFor(*host_, "plan-1", PlanStatus::kReady, 10);
  ASSERT_EQ(done.status, PlanStatus::kReady) << done.error;
  EXPECT_EQ(fabric_.partitions["acme-llm"], (std::set<std::string>{"n1", "n2", "n3"}));
  for (const std::string n : {"n1", "n2", "n3"}) EXPECT_EQ(fabric_.jobs[n], 1) << n;
  EXPECT_THAT(MilestoneNames(done),
              ::testing::ElementsAre("requested", "assigned-to-tenant", "assigned-to-project",
                                     "connecting-to-slurm", "ready-in-slurm"));
  EXPECT_EQ(done.access["partition"], "acme-llm");
  auto net = host_->GetNetwork(done.network);
  ASSERT_TRUE(net.ok());
  EXPECT_EQ(done.access["controller"], ServiceAddress(*net));
  EXPECT_FALSE(done.access["controller"].empty());
  // The controller's address is never a node's.
  for (const NodeAddress& a : net->addresses) EXPECT_NE(a.address, done.access["controller"]);

  // Release: each node leaves the cluster while still running, then powers off.
  ASSERT_TRUE(runner->Teardown(done).ok());
  Plan gone = WaitFor(*host_, "plan-1", PlanStatus::kDeleted, 10);
  ASSERT_EQ(gone.status, PlanStatus::kDeleted) << gone.error;
  EXPECT_EQ(fabric_.partitions.count("acme-llm"), 0u);
  for (const std::string n : {"n1", "n2", "n3"}) {
    EXPECT_TRUE(fabric_.powered_at_leave[n]) << n << " left the cluster after power-off";
    EXPECT_FALSE(fabric_.power[n]) << n;
    EXPECT_EQ(Vlan(n), 4000) << n;
  }
}

TEST_F(RunnerTest, AnOpenshiftPlanHasItsOwnMilestones) {
  Plan plan = NewPlan({"n1", "n2"}, "plan-1", "openshift");
  auto runner = MakeRunner();
  ASSERT_TRUE(runner->Start().ok());
  ASSERT_TRUE(runner->Submit(plan).ok());
  Plan done = WaitFor(*host_, "plan-1", PlanStatus::kReady, 10);
  ASSERT_EQ(done.status, PlanStatus::kReady) << done.error;
  EXPECT_THAT(MilestoneNames(done),
              ::testing::ElementsAre("requested", "assigned-to-tenant", "assigned-to-project",
                                     "installing", "ready"));
}

TEST_F(RunnerTest, ANodeTheClusterNeverReportsReadyIsReplacedAndHandedOver) {
  fabric_.never_ready.insert("n1");
  host_->AddSpare("n6");
  Plan plan = NewPlan({"n1", "n2"}, "plan-1", "slurm");
  auto runner = MakeRunner();
  ASSERT_TRUE(runner->Start().ok());
  ASSERT_TRUE(runner->Submit(plan).ok());
  Plan done = WaitFor(*host_, "plan-1", PlanStatus::kReady, 15);
  ASSERT_EQ(done.status, PlanStatus::kReady) << done.error;
  EXPECT_THAT(Step(done, "n1/cluster-wait-ready")->log, HasSubstr("did not report the node ready"));
  EXPECT_EQ(fabric_.partitions["acme-default"], (std::set<std::string>{"n2", "n6"}));
  EXPECT_EQ(fabric_.jobs["n6"], 1);
  EXPECT_FALSE(fabric_.power["n1"]);
}

TEST_F(RunnerTest, MilestonesAreRecordedWhenReachedNotWhenThePlanEnds) {
  fabric_.never_ready.insert("n1");  // and no spare: the plan fails after the boot timeout
  Plan plan = NewPlan({"n1", "n2"}, "plan-1", "slurm");
  auto runner = MakeRunner();
  ASSERT_TRUE(runner->Start().ok());
  ASSERT_TRUE(runner->Submit(plan).ok());
  Plan done = WaitFor(*host_, "plan-1", PlanStatus::kFailed, 15);
  ASSERT_EQ(done.status, PlanStatus::kFailed);
  int64_t connecting = 0, failed = 0;
  for (const Milestone& m : done.milestones) {
    if (m.name == "connecting-to-slurm") connecting = m.at_ms;
    if (m.name == "failed") failed = m.at_ms;
  }
  ASSERT_GT(connecting, 0) << "the partition was made before n1 timed out";
  ASSERT_GT(failed, 0);
  EXPECT_GE(failed - connecting, 500) << "recorded only when the plan stopped";
  EXPECT_THAT(MilestoneNames(done), ::testing::Not(::testing::Contains("ready-in-slurm")));
}

TEST_F(RunnerTest, APurposeWithoutAClusterDriverIsRefused) {
  Result<Plan> p = BuildDeployPlan(*inventory_, "a", "acme", "slurm", {"n1"},
                                   DriverChoice{"fake", {}});
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(p.status().message(), HasSubstr("slurm"));
}

TEST_F(RunnerTest, ASwitchThatRefusesTwiceIsRetried) {
  fabric_.reject_vlan_times["leaf-1/p2"] = 2;
  Plan plan = NewPlan({"n1", "n2"});
  auto runner = MakeRunner();
  ASSERT_TRUE(runner->Start().ok());
  ASSERT_TRUE(runner->Submit(plan).ok());
  Plan done = WaitFor(*host_, "plan-1", PlanStatus::kReady, 10);
  ASSERT_EQ(done.status, PlanStatus::kReady) << done.error;
  EXPECT_EQ(Step(done, "n2/port-tenant-vlan")->attempts, 3);
  EXPECT_EQ(Vlan("n2"), 100);
  RunnerMetrics metrics = runner->Metrics();
  EXPECT_EQ((metrics[{"ovs", "retried"}].count), 2);
}

TEST_F(RunnerTest, ADeadBmcIsReplacedAndTheClusterBecomesReady) {
  fabric_.dead_bmcs.insert("n2");
  host_->AddSpare("n5");
  Plan plan = NewPlan({"n1", "n2", "n3"});
  auto runner = MakeRunner();
  ASSERT_TRUE(runner->Start().ok());
  ASSERT_TRUE(runner->Submit(plan).ok());
  Plan done = WaitFor(*host_, "plan-1", PlanStatus::kReady, 10);
  ASSERT_EQ(done.status, PlanStatus::kReady) << done.error;
  EXPECT_THAT(host_->replaced, ::testing::ElementsAre("n2->n5"));
  EXPECT_TRUE(fabric_.power["n5"]);
  EXPECT_EQ(Vlan("n5"), 100);
  // The replaced node's port is back in quarantine and its address and reservation are gone.
  EXPECT_EQ(Vlan("n2"), 4000);
  auto net = host_->GetNetwork(done.network);
  ASSERT_TRUE(net.ok());
  for (const NodeAddress& a : net->addresses) EXPECT_NE(a.node, "n2");
  EXPECT_EQ(net->addresses.size(), 3u);
  bool milestone = false;
  for (const Milestone& m : done.milestones) milestone |= m.name == "replaced n2 by n5";
  EXPECT_TRUE(milestone);
}

TEST_F(RunnerTest, WithoutAReplacementThePlanFailsAndEverythingIsUndone) {
  fabric_.dead_bmcs.insert("n3");
  Plan plan = NewPlan({"n1", "n2", "n3"});
  auto runner = MakeRunner();
  ASSERT_TRUE(runner->Start().ok());
  ASSERT_TRUE(runner->Submit(plan).ok());
  Plan done = WaitFor(*host_, "plan-1", PlanStatus::kFailed, 10);
  ASSERT_EQ(done.status, PlanStatus::kFailed);
  EXPECT_THAT(done.error, HasSubstr("n3/"));
  EXPECT_THAT(done.error, HasSubstr("does not answer"));
  EXPECT_THAT(done.error, HasSubstr("no replacement"));
  for (const std::string n : {"n1", "n2", "n3"}) {
    EXPECT_FALSE(fabric_.power[n]) << n;
    int v = Vlan(n);
    EXPECT_TRUE(v == 4000 || v == 0) << n << " on vlan " << v;
  }
  EXPECT_FALSE(host_->HasNetwork(done.network));
  EXPECT_TRUE(fabric_.served.empty());
  for (const PlanStep& s : done.steps) {
    if (s.phase == StepPhase::kDeploy) {
      EXPECT_TRUE(s.state == StepState::kCompensated || s.state == StepState::kFailed) << s.id;
    }
  }
}

TEST_F(RunnerTest, ANodeThatNeverLeasesIsReplaced) {
  fabric_.never_lease.insert("n1");
  host_->AddSpare("n6");
  Plan plan = NewPlan({"n1", "n2"});
  auto runner = MakeRunner();
  ASSERT_TRUE(runner->Start().ok());
  ASSERT_TRUE(runner->Submit(plan).ok());
  Plan done = WaitFor(*host_, "plan-1", PlanStatus::kReady, 15);
  ASSERT_EQ(done.status, PlanStatus::kReady) << done.error;
  EXPECT_THAT(Step(done, "n1/wait-lease")->log, HasSubstr("no lease"));
  EXPECT_FALSE(fabric_.power["n1"]);
  EXPECT_TRUE(fabric_.power["n6"]);
}

TEST_F(RunnerTest, TeardownReturnsEverythingToQuarantine) {
  Plan plan = NewPlan({"n1", "n2"});
  auto runner = MakeRunner();
  ASSERT_TRUE(runner->Start().ok());
  ASSERT_TRUE(runner->Submit(plan).ok());
  Plan ready = WaitFor(*host_, "plan-1", PlanStatus::kReady, 10);
  ASSERT_EQ(ready.status, PlanStatus::kReady);
  ASSERT_TRUE(runner->Teardown(ready).ok());
  Plan gone = WaitFor(*host_, "plan-1", PlanStatus::kDeleted, 10);
  ASSERT_EQ(gone.status, PlanStatus::kDeleted) << gone.error;
  for (const std::string n : {"n1", "n2"}) {
    EXPECT_FALSE(fabric_.power[n]);
    EXPECT_EQ(Vlan(n), 4000);
  }
  EXPECT_FALSE(host_->HasNetwork(ready.network));
  EXPECT_TRUE(fabric_.reservations[ready.network].empty());
  EXPECT_TRUE(fabric_.served.empty());
}

TEST_F(RunnerTest, ANetworkSharedByTwoPlansOfOneTenantStaysUntilTheLastLeaves) {
  Plan a = NewPlan({"n1"}, "plan-a");
  Plan b = NewPlan({"n2"}, "plan-b");
  auto runner = MakeRunner();
  ASSERT_TRUE(runner->Start().ok());
  ASSERT_TRUE(runner->Submit(a).ok());
  ASSERT_TRUE(runner->Submit(b).ok());
  Plan ra = WaitFor(*host_, "plan-a", PlanStatus::kReady, 10);
  Plan rb = WaitFor(*host_, "plan-b", PlanStatus::kReady, 10);
  ASSERT_EQ(ra.status, PlanStatus::kReady);
  ASSERT_EQ(rb.status, PlanStatus::kReady);
  EXPECT_EQ(ra.network, rb.network);
  ASSERT_TRUE(runner->Teardown(ra).ok());
  ASSERT_EQ(WaitFor(*host_, "plan-a", PlanStatus::kDeleted, 10).status, PlanStatus::kDeleted);
  EXPECT_TRUE(host_->HasNetwork(rb.network));
  EXPECT_TRUE(fabric_.served.count(rb.network));
  EXPECT_TRUE(fabric_.power["n2"]);
  ASSERT_TRUE(runner->Teardown(rb).ok());
  ASSERT_EQ(WaitFor(*host_, "plan-b", PlanStatus::kDeleted, 10).status, PlanStatus::kDeleted);
  EXPECT_FALSE(host_->HasNetwork(rb.network));
}

TEST_F(RunnerTest, ARunnerStartedOverTheJournalFinishesWhatTheLastOneBegan) {
  Plan plan = NewPlan({"n1", "n2", "n3"});
  // The journal as a crash left it: the network allocated, n1 powered on, its wait running.
  {
    auto runner = MakeRunner();
    fabric_.never_lease = {"n1", "n2", "n3"};  // hold the plan short of READY
    ASSERT_TRUE(runner->Start().ok());
    ASSERT_TRUE(runner->Submit(plan).ok());
    for (int i = 0; i < 500; ++i) {
      Plan p = host_->Get("plan-1");
      const PlanStep* s = Step(p, "n3/power-on");
      if (s && s->state == StepState::kDone) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    runner->Stop();
  }
  Plan mid = host_->Get("plan-1");
  ASSERT_EQ(mid.status, PlanStatus::kProgressing);
  fabric_.never_lease.clear();
  auto runner = MakeRunner();
  ASSERT_TRUE(runner->Start().ok());  // no Submit: it comes from the journal
  Plan done = WaitFor(*host_, "plan-1", PlanStatus::kReady, 10);
  ASSERT_EQ(done.status, PlanStatus::kReady) << done.error;
  for (const std::string n : {"n1", "n2", "n3"}) {
    EXPECT_EQ(fabric_.power_on_calls[n], 1) << n << " powered on twice";
  }
}

}  // namespace
}  // namespace topoplace
