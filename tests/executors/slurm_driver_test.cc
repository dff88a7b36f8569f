// The slurm cluster driver against a real slurmctld and real slurmd (tests/executors/slurm_peer.h):
// every assertion reads Slurm's own state back (scontrol, sinfo, a job we run ourselves), as a
// person handed the cluster would.
#include "executors/slurm_driver.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "executors/drivers.h"
#include "tests/executors/fabric_peer.h"
#include "tests/executors/slurm_peer.h"

namespace topoplace {
namespace {

using ::testing::ElementsAre;
using testing::FabricPeer;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using testing::SlurmPeer;
using testing::SlurmPeerOptions;
using ::testing::UnorderedElementsAre;

class SlurmDriverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto peer = SlurmPeer::Start();
    ASSERT_TRUE(peer.ok()) << peer.status().ToString();
    peer_ = std::move(*peer);
    driver_ = MakeDriver({});
    ASSERT_NE(driver_, nullptr);
  }

  std::unique_ptr<ClusterDriver> MakeDriver(DriverOptions extra) {
    DriverOptions o = {{"conf", peer_->conf()},
                       {"controllerNamespace", peer_->controller_netns()},
                       {"timeoutSeconds", "20"},
                       {"drainTimeoutSeconds", "20"}};
    for (const auto& [k, v] : extra) o[k] = v;
    auto d = BuiltinDrivers().MakeCluster("slurm", o);
    EXPECT_TRUE(d.ok()) << d.status().ToString();
    return d.ok() ? std::move(*d) : nullptr;
  }

  static ClusterSpec Cluster(const std::string& id, const std::string& tenant,
                             const std::string& project) {
    ClusterSpec c;
    c.id = id;
    c.name = id;
    c.tenant = tenant;
    c.project = project;
    c.purpose = "slurm";
    c.network.id = "net-" + tenant;
    c.network.vlan = 100;
    c.network.subnet = "10.252.0.0/24";
    c.network.gateway = "10.252.0.1";
    return c;
  }

  // A machine on the controller's bridge: its namespace, and what its node class says.
  ClusterMember Machine(const std::string& node, int host, int cpus = 2, double gib = 1.5) {
    auto ns = peer_->AddBridgedNode(node, "10.252.0." + std::to_string(host) + "/24");
    EXPECT_TRUE(ns.ok()) << ns.status().ToString();
    if (ns.ok()) netns_[node] = *ns;
    ClusterMember m;
    m.node = node;
    m.address = "10.252.0." + std::to_string(host);
    m.mac = "02:00:00:00:00:" + std::to_string(host);
    m.node_class = "cpu";
    m.cpus = cpus;
    m.memory_gib = gib;
    return m;
  }

  // The machine boots: its slurmd starts configless with what its class says.
  void Boot(const ClusterMember& m) {
    Status s = peer_->StartSlurmd(netns_.at(m.node), m.node, m.cpus,
                                  static_cast<long>(m.memory_gib * 1024));
    ASSERT_TRUE(s.ok()) << s.ToString();
  }

  bool WaitReady(const ClusterSpec& c, const ClusterMember& m, double seconds = 40) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    while (std::chrono::steady_clock::now() < deadline) {
      Result<bool> ready = driver_->NodeReady(c, m);
      if (ready.ok() && *ready) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    return false;
  }

  std::string Srun(const std::string& node, const std::string& partition) {
    auto r = peer_->Client("srun",
                           {"-N1", "-w", node, "-p", partition, "--immediate=10", "hostname"}, 30);
    if (!r.ok()) return "error: " + r.status().ToString();
    if (r->exit_code != 0) return "failed: " + FirstLine(*r);
    std::string out = r->out;
    while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
    return out;
  }

  // Submits `seconds` of sleep on `node` and waits until it runs there (not merely queued).
  bool RunJob(const std::string& node, const std::string& partition, int seconds) {
    auto job = peer_->Client("sbatch", {"--parsable", "--output=/dev/null", "-p", partition, "-w",
                                        node, "--wrap", "sleep " + std::to_string(seconds)});
    if (!job.ok() || job->exit_code != 0) return false;
    std::string id = job->out.substr(0, job->out.find_first_of(";\n"));
    for (int i = 0; i < 100; ++i) {
      auto q = peer_->Client("squeue", {"-h", "-j", id, "-o", "%T"});
      if (q.ok() && q->out.rfind("RUNNING", 0) == 0) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
  }

  std::unique_ptr<SlurmPeer> peer_;
  std::unique_ptr<ClusterDriver> driver_;
  std::map<std::string, std::string> netns_;
};

TEST_F(SlurmDriverTest, TwoTenantsPartitionsHoldExactlyTheirNodesAndRunJobs) {
  ClusterSpec acme = Cluster("plan-acme", "acme", "");
  ClusterSpec globex = Cluster("plan-globex", "globex", "ml");
  ClusterMember a1 = Machine("a1", 11), a2 = Machine("a2", 12, 1, 1);
  ClusterMember g1 = Machine("g1", 13);

  ASSERT_TRUE(driver_->EnsureCluster(acme).ok());
  ASSERT_TRUE(driver_->EnsureCluster(acme).ok());  // idempotent
  ASSERT_TRUE(driver_->EnsureCluster(globex).ok());
  ASSERT_TRUE(peer_->PartitionExists("acme-default"));
  ASSERT_TRUE(peer_->PartitionExists("globex-ml"));
  EXPECT_THAT(peer_->PartitionNodes("acme-default"), IsEmpty());

  // Joined before its slurmd runs: known to Slurm with its class's resources, not ready.
  ASSERT_TRUE(driver_->AddNode(acme, a1).ok());
  auto node = peer_->Node("a1");
  EXPECT_THAT(node["State"], HasSubstr("FUTURE"));
  EXPECT_EQ(node["NodeAddr"], "10.252.0.11");
  EXPECT_EQ(node["CPUTot"], "2");
  EXPECT_EQ(node["RealMemory"], "1536");
  Result<bool> ready = driver_->NodeReady(acme, a1);
  ASSERT_TRUE(ready.ok()) << ready.status().ToString();
  EXPECT_FALSE(*ready);

  // Adding twice changes nothing.
  ASSERT_TRUE(driver_->AddNode(acme, a1).ok());
  EXPECT_THAT(peer_->PartitionNodes("acme-default"), ElementsAre("a1"));

  // a2 and g1 boot first and register themselves; joining them is still right.
  Boot(a2);
  Boot(g1);
  ASSERT_TRUE(driver_->AddNode(acme, a2).ok());
  ASSERT_TRUE(driver_->AddNode(globex, g1).ok());
  Boot(a1);
  for (const auto& [c, m] : {std::pair{acme, a1}, {acme, a2}, {globex, g1}}) {
    ASSERT_TRUE(WaitReady(c, m)) << m.node << ": " << peer_->Node(m.node)["State"];
  }
  EXPECT_THAT(peer_->PartitionNodes("acme-default"), UnorderedElementsAre("a1", "a2"));
  EXPECT_THAT(peer_->PartitionNodes("globex-ml"), ElementsAre("g1"));
  EXPECT_EQ(peer_->Node("a2")["CPUTot"], "1");
  EXPECT_EQ(peer_->Node("a2")["RealMemory"], "1024");

  for (const auto& [c, m] : {std::pair{acme, a1}, {acme, a2}, {globex, g1}}) {
    Status v = driver_->VerifyNode(c, m);
    EXPECT_TRUE(v.ok()) << v.ToString();
  }
  // Jobs of our own: each node takes work in its own partition, never in the other tenant's.
  EXPECT_EQ(Srun("a1", "acme-default"), "a1");
  EXPECT_EQ(Srun("a2", "acme-default"), "a2");
  EXPECT_EQ(Srun("g1", "globex-ml"), "g1");
  EXPECT_THAT(Srun("a1", "globex-ml"), HasSubstr("failed"));
  Status wrong = driver_->VerifyNode(globex, a1);
  EXPECT_EQ(wrong.code(), StatusCode::kInternal) << wrong.ToString();
  EXPECT_THAT(wrong.message(), HasSubstr("a1"));
  EXPECT_THAT(wrong.message(), HasSubstr("globex-ml"));

  ClusterAccess access = driver_->Access(globex);
  EXPECT_EQ(access["partition"], "globex-ml");
  EXPECT_EQ(access["controller"], peer_->controller_address());
}

TEST_F(SlurmDriverTest, RemoveNodeTakesItOutOfSlurmWhileItsSlurmdStillRuns) {
  ClusterSpec acme = Cluster("plan-acme", "acme", "");
  ClusterMember n1 = Machine("n1", 21);
  ASSERT_TRUE(driver_->EnsureCluster(acme).ok());
  Boot(n1);
  ASSERT_TRUE(driver_->AddNode(acme, n1).ok());
  ASSERT_TRUE(WaitReady(acme, n1));
  // A short job still running when the hand-back starts: the drain waits for it.
  ASSERT_TRUE(RunJob("n1", "acme-default", 3));

  Status s = driver_->RemoveNode(acme, "n1");
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_NE(peer_->SlurmdPid("n1"), 0) << "the machine's slurmd was still running";
  EXPECT_FALSE(peer_->NodeKnown("n1"));
  EXPECT_THAT(peer_->PartitionNodes("acme-default"), IsEmpty());
  auto sinfo = peer_->Client("sinfo", {"-h", "-N", "-o", "%N"});
  ASSERT_TRUE(sinfo.ok());
  EXPECT_THAT(sinfo->out, ::testing::Not(HasSubstr("n1")));
  // It stays gone while its slurmd keeps running, and removing it again is a no-op.
  std::this_thread::sleep_for(std::chrono::seconds(3));
  EXPECT_FALSE(peer_->NodeKnown("n1"));
  EXPECT_TRUE(driver_->RemoveNode(acme, "n1").ok());
}

TEST_F(SlurmDriverTest, RemoveNodeOfAMachineWhoseSlurmdIsGoneStillDeletesIt) {
  ClusterSpec acme = Cluster("plan-acme", "acme", "");
  ClusterMember n1 = Machine("n1", 22);
  ASSERT_TRUE(driver_->EnsureCluster(acme).ok());
  Boot(n1);
  ASSERT_TRUE(driver_->AddNode(acme, n1).ok());
  ASSERT_TRUE(WaitReady(acme, n1));
  peer_->StopSlurmd("n1");  // the machine went away before it was handed back
  Status s = driver_->RemoveNode(acme, "n1");
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_FALSE(peer_->NodeKnown("n1"));
  EXPECT_THAT(peer_->PartitionNodes("acme-default"), IsEmpty());
}

TEST_F(SlurmDriverTest, RemoveNodeGivesUpOnJobsThatOutlastTheDrainBound) {
  ClusterSpec acme = Cluster("plan-acme", "acme", "");
  ClusterMember n1 = Machine("n1", 21);
  ASSERT_TRUE(driver_->EnsureCluster(acme).ok());
  Boot(n1);
  ASSERT_TRUE(driver_->AddNode(acme, n1).ok());
  ASSERT_TRUE(WaitReady(acme, n1));
  ASSERT_TRUE(RunJob("n1", "acme-default", 120));
  auto impatient = MakeDriver({{"drainTimeoutSeconds", "2"}});
  Status s = impatient->RemoveNode(acme, "n1");
  EXPECT_EQ(s.code(), StatusCode::kUnavailable) << s.ToString();
  EXPECT_THAT(s.message(), HasSubstr("n1"));
  EXPECT_TRUE(peer_->NodeKnown("n1"));  // not deleted under a running job
  EXPECT_THAT(peer_->Node("n1")["State"], HasSubstr("DRAIN"));
  (void)peer_->Client("scancel", {"-w", "n1"});
}

TEST_F(SlurmDriverTest, RemoveClusterDeletesAnEmptyPartitionAndKeepsOneInUse) {
  // Two clusters of one project share its partition.
  ClusterSpec first = Cluster("plan-1", "acme", "ml");
  ClusterSpec second = Cluster("plan-2", "acme", "ml");
  ClusterMember n1 = Machine("n1", 31);
  ASSERT_TRUE(driver_->EnsureCluster(first).ok());
  ASSERT_TRUE(driver_->EnsureCluster(second).ok());
  ASSERT_TRUE(driver_->AddNode(second, n1).ok());

  ASSERT_TRUE(driver_->RemoveCluster(first).ok());
  EXPECT_TRUE(peer_->PartitionExists("acme-ml"));
  EXPECT_THAT(peer_->PartitionNodes("acme-ml"), ElementsAre("n1"));

  ASSERT_TRUE(driver_->RemoveNode(second, "n1").ok());  // never booted: nothing to drain
  EXPECT_FALSE(peer_->NodeKnown("n1"));
  ASSERT_TRUE(driver_->RemoveCluster(second).ok());
  EXPECT_FALSE(peer_->PartitionExists("acme-ml"));
  EXPECT_TRUE(driver_->RemoveCluster(second).ok());  // idempotent
}

TEST_F(SlurmDriverTest, AStoppedControllerIsUnavailableWithinTheTimeout) {
  auto quick = MakeDriver({{"timeoutSeconds", "3"}});
  ClusterSpec acme = Cluster("plan-acme", "acme", "");
  peer_->StopController();
  auto start = std::chrono::steady_clock::now();
  Status s = quick->EnsureCluster(acme);
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(s.code(), StatusCode::kUnavailable) << s.ToString();
  EXPECT_THAT(s.message(), HasSubstr("acme-default"));
  EXPECT_LT(seconds, 8);
  ClusterMember m;
  m.node = "n1";
  m.address = "10.252.0.9";
  m.cpus = 1;
  m.memory_gib = 1;
  EXPECT_EQ(quick->AddNode(acme, m).code(), StatusCode::kUnavailable);
  EXPECT_EQ(quick->NodeReady(acme, m).status().code(), StatusCode::kUnavailable);
}

TEST_F(SlurmDriverTest, BadOptionsAndNamesAreRefused) {
  auto unknown = MakeSlurmDriver({{"conf", peer_->conf()}, {"controler", "x"}});
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(unknown.status().message(), HasSubstr("controler"));
  auto bad_timeout = MakeSlurmDriver({{"timeoutSeconds", "soon"}});
  ASSERT_FALSE(bad_timeout.ok());
  EXPECT_THAT(bad_timeout.status().message(), HasSubstr("timeoutSeconds"));
  EXPECT_FALSE(MakeSlurmDriver({{"conf", "relative/slurm.conf"}}).ok());

  // Names Slurm would cut or misread are refused before Slurm sees them.
  Status s = driver_->EnsureCluster(Cluster("p", "acme corp", ""));
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.ToString();
  s = driver_->EnsureCluster(Cluster("p", "acme", "a,b"));
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  ClusterMember bad;
  bad.node = "n[1-2]";
  bad.address = "10.252.0.9";
  bad.cpus = 1;
  bad.memory_gib = 1;
  EXPECT_EQ(driver_->AddNode(Cluster("p", "acme", ""), bad).code(), StatusCode::kInvalidArgument);
  auto show = peer_->Client("scontrol", {"show", "partition"});
  ASSERT_TRUE(show.ok());
  EXPECT_THAT(show->out, ::testing::Not(HasSubstr("acme")));
}

// The controller on tenant VLANs: with `bridge` set, the driver plugs the controller's namespace
// into each tenant network at its service address; a machine on that VLAN (and only there)
// reaches it, boots its slurmd against it, and is handed over.
TEST(SlurmDriverOnFabricTest, ControllerJoinsEachTenantVlanAtItsServiceAddress) {
  auto fabric = FabricPeer::Start(2, 4000);
  ASSERT_TRUE(fabric.ok()) << fabric.status().ToString();
  SlurmPeerOptions so;
  so.bridge_cidr = "";
  so.loopback_address = "10.254.0.1";
  auto peer = SlurmPeer::Start(so);
  ASSERT_TRUE(peer.ok()) << peer.status().ToString();
  auto made = MakeSlurmDriver({{"conf", (*peer)->conf()},
                               {"controllerNamespace", (*peer)->controller_netns()},
                               {"bridge", (*fabric)->bridge()},
                               {"switchNamespace", (*fabric)->switch_netns()},
                               {"ovsdb", (*fabric)->ovsdb()},
                               {"timeoutSeconds", "20"}});
  ASSERT_TRUE(made.ok()) << made.status().ToString();
  std::unique_ptr<ClusterDriver> driver = std::move(*made);

  ClusterSpec a, b;
  a.id = "plan-a";
  a.tenant = "acme";
  a.network = {"net-a", "acme", "acme/", 101, "10.128.0.0/24", "10.128.0.1", {}};
  b.id = "plan-b";
  b.tenant = "globex";
  b.network = {"net-b", "globex", "globex/", 102, "10.128.1.0/24", "10.128.1.1", {}};
  ASSERT_TRUE(driver->EnsureCluster(a).ok());
  Status s = driver->EnsureCluster(b);
  ASSERT_TRUE(s.ok()) << s.ToString();
  ASSERT_TRUE(driver->EnsureCluster(a).ok());  // idempotent
  EXPECT_EQ(driver->Access(a)["controller"], "10.128.0.254");

  // Machine 0 on acme's VLAN with an address of acme's subnet; machine 1 on globex's VLAN but
  // with an acme address: the controller is not reachable across VLANs.
  const FabricPeer& f = **fabric;
  ASSERT_TRUE(f.Vsctl({"set", "port", f.node(0).port, "tag=101"}).ok());
  ASSERT_TRUE(f.Vsctl({"set", "port", f.node(1).port, "tag=102"}).ok());
  ASSERT_TRUE(f.SetAddress(0, "10.128.0.10/24").ok());
  ASSERT_TRUE(f.SetAddress(1, "10.128.0.11/24").ok());
  EXPECT_TRUE(f.Ping(0, "10.128.0.254"));
  EXPECT_FALSE(f.Ping(1, "10.128.0.254"));

  ClusterMember m;
  m.node = "n1";
  m.address = "10.128.0.10";
  m.cpus = 16;
  m.memory_gib = 64;
  ASSERT_TRUE((*peer)->StartSlurmd(f.node(0).netns, "n1", 16, 64 * 1024, "service").ok());
  ASSERT_TRUE(driver->AddNode(a, m).ok());
  bool ready = false;
  for (int i = 0; i < 200 && !ready; ++i) {
    Result<bool> r = driver->NodeReady(a, m);
    ready = r.ok() && *r;
    if (!ready) std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  ASSERT_TRUE(ready) << (*peer)->Node("n1")["State"];
  EXPECT_EQ((*peer)->Node("n1")["CPUTot"], "16");
  EXPECT_EQ((*peer)->Node("n1")["RealMemory"], "65536");
  s = driver->VerifyNode(a, m);
  EXPECT_TRUE(s.ok()) << s.ToString();

  ASSERT_TRUE(driver->RemoveNode(a, "n1").ok());
  EXPECT_FALSE((*peer)->NodeKnown("n1"));
  ASSERT_TRUE(driver->RemoveCluster(a).ok());
  EXPECT_FALSE((*peer)->PartitionExists("acme-default"));
  EXPECT_FALSE(f.Ping(0, "10.128.0.254"));  // unplugged
  auto ports = f.Vsctl({"list-ports", f.bridge()});
  ASSERT_TRUE(ports.ok());
  EXPECT_THAT(*ports, ::testing::Not(HasSubstr(SlurmControllerPortFor("net-a").switch_port)));
  EXPECT_THAT(*ports, HasSubstr(SlurmControllerPortFor("net-b").switch_port));
  EXPECT_TRUE(driver->RemoveCluster(b).ok());
}

}  // namespace
}  // namespace topoplace
