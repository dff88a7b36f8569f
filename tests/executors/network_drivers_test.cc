// The ovs L2 driver and the dnsmasq L3 driver against a real fabric
// (tests/executors/fabric_peer.h): every assertion reads the peers' own state (ovs-vsctl, /proc,
// network namespaces, a node's DHCP client), as a person checking the switch and the DHCP server
// would.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>

#include "executors/dnsmasq_driver.h"
#include "executors/ovs_driver.h"
#include "executors/process.h"
#include "tests/executors/fabric_peer.h"

namespace topoplace {
namespace {

namespace fs = std::filesystem;
using testing::DhcpLease;
using testing::FabricPeer;
using ::testing::HasSubstr;

constexpr int kQuarantineVlan = 4000;
constexpr int kVlanA = 101;
constexpr int kVlanB = 102;

class NetworkDriversTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto fabric = FabricPeer::Start(3, kQuarantineVlan);
    ASSERT_TRUE(fabric.ok()) << fabric.status().ToString();
    fabric_ = std::move(*fabric);
    auto l2 = MakeOvsDriver({{"ovsdb", fabric_->ovsdb()}});
    ASSERT_TRUE(l2.ok()) << l2.status().ToString();
    l2_ = std::move(*l2);
    state_dir_ = fabric_->dir() + "/l3";
    tftp_root_ = fabric_->dir() + "/tftp";
    fs::create_directories(tftp_root_);
    std::ofstream(tftp_root_ + "/pxelinux.0") << "boot payload\n";
  }

  void TearDown() override {
    // Whatever a failed test left: the fabric's destructor also stops stray servers by their
    // directory, but only the driver knows its namespaces.
    if (l3_) {
      for (const TenantNetwork& n : networks_) EXPECT_TRUE(l3_->RemoveNetwork(n).ok());
    }
  }

  DriverOptions L3Options() const {
    return {{"stateDir", state_dir_},
            {"bridge", fabric_->bridge()},
            {"switchNamespace", fabric_->switch_netns()},
            {"ovsdb", fabric_->ovsdb()},
            {"tftpRoot", tftp_root_}};
  }

  void MakeL3() {
    auto l3 = MakeDnsmasqDriver(L3Options());
    ASSERT_TRUE(l3.ok()) << l3.status().ToString();
    l3_ = std::move(*l3);
  }

  // A tenant network on VLAN A, 10.200.<third>.0/24, whose id is unique to this process.
  TenantNetwork Network(const std::string& suffix, int vlan = kVlanA, int third = 0) {
    TenantNetwork n;
    n.id = fabric_->prefix() + "-" + suffix;
    n.tenant = "acme";
    n.key = "acme";
    n.vlan = vlan;
    n.subnet = "10.200." + std::to_string(third) + ".0/24";
    n.gateway = "10.200." + std::to_string(third) + ".1";
    networks_.push_back(n);
    return n;
  }

  NodeAddress AddressOf(int node, const std::string& address) const {
    return {"node-" + std::to_string(node), "eth0", fabric_->node(node).mac, address};
  }

  std::string PidFile(const TenantNetwork& n) const {
    return state_dir_ + "/" + n.id + "/dnsmasq.pid";
  }
  std::vector<int> DnsmasqsOf(const TenantNetwork& n) const {
    return FabricPeer::ProcessesWithArgument("--pid-file=" + PidFile(n));
  }

  std::optional<DhcpLease> Lease(int node, int tries = 4) const {
    auto lease = fabric_->Lease(node, tries);
    EXPECT_TRUE(lease.ok()) << lease.status().ToString();
    return lease.ok() ? *lease : std::nullopt;
  }

  // A dnsmasq driver serving tenant network "a" with node 0's reservation (10.200.0.11).
  void ServeNode0(TenantNetwork* net) {
    MakeL3();
    *net = Network("a");
    Status s = l3_->EnsureNetwork(*net);
    ASSERT_TRUE(s.ok()) << s.ToString();
    s = l3_->Reserve(*net, AddressOf(0, "10.200.0.11"));
    ASSERT_TRUE(s.ok()) << s.ToString();
  }

  // Kills the network's dnsmasq under the driver and waits until it is gone.
  void KillDnsmasq(const TenantNetwork& n) const {
    for (int pid : DnsmasqsOf(n)) kill(pid, SIGKILL);
    for (int i = 0; i < 200 && !DnsmasqsOf(n).empty(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ASSERT_TRUE(DnsmasqsOf(n).empty());
  }

  std::unique_ptr<FabricPeer> fabric_;
  std::unique_ptr<L2Driver> l2_;
  std::unique_ptr<L3Driver> l3_;
  // What the driver says node `mac` leased, once dnsmasq has written it down (it writes its
  // lease file right after answering, so a client may be a moment ahead of it).
  std::string LeasedBy(const TenantNetwork& n, const std::string& mac) const {
    std::string got = "none";
    for (int i = 0; i < 100; ++i) {
      auto leased = l3_->LeasedAddress(n, mac);
      EXPECT_TRUE(leased.ok()) << leased.status().ToString();
      got = leased.ok() ? leased->value_or("none") : "error";
      if (got != "none") break;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return got;
  }

  std::string state_dir_;
  std::string tftp_root_;
  std::vector<TenantNetwork> networks_;
};

// ---- ovs ----

TEST_F(NetworkDriversTest, OvsSetAccessVlanIsThePortTagOvsShows) {
  Switch sw = fabric_->LeafSwitch();
  const std::string& port = fabric_->node(0).port;
  auto before = l2_->AccessVlan(sw, port);
  ASSERT_TRUE(before.ok()) << before.status().ToString();
  EXPECT_EQ(*before, kQuarantineVlan);

  // A trunk list left on the port must not survive: an access port carries exactly one VLAN.
  ASSERT_TRUE(fabric_->Vsctl({"set", "Port", port, "trunks=5,6"}).ok());
  Status set = l2_->SetAccessVlan(sw, port, kVlanA);
  ASSERT_TRUE(set.ok()) << set.ToString();
  EXPECT_EQ(*fabric_->Vsctl({"get", "Port", port, "tag"}), std::to_string(kVlanA));
  EXPECT_EQ(*fabric_->Vsctl({"get", "Port", port, "trunks"}), "[]");
  EXPECT_EQ(*fabric_->Vsctl({"get", "Port", port, "vlan_mode"}), "access");
  auto after = l2_->AccessVlan(sw, port);
  ASSERT_TRUE(after.ok()) << after.status().ToString();
  EXPECT_EQ(*after, kVlanA);

  // Again: the same state, no error.
  ASSERT_TRUE(l2_->SetAccessVlan(sw, port, kVlanA).ok());
  EXPECT_EQ(*fabric_->Vsctl({"get", "Port", port, "tag"}), std::to_string(kVlanA));
  // The other ports are untouched.
  EXPECT_EQ(*fabric_->Vsctl({"get", "Port", fabric_->node(1).port, "tag"}),
            std::to_string(kQuarantineVlan));
}

TEST_F(NetworkDriversTest, OvsNodesOfOneVlanReachEachOtherAndNoOtherVlan) {
  Switch sw = fabric_->LeafSwitch();
  for (int i = 0; i < 3; ++i)
    ASSERT_TRUE(fabric_->SetAddress(i, "10.251.0." + std::to_string(i + 1) + "/24").ok());
  ASSERT_TRUE(l2_->SetAccessVlan(sw, fabric_->node(0).port, kVlanA).ok());
  ASSERT_TRUE(l2_->SetAccessVlan(sw, fabric_->node(1).port, kVlanA).ok());
  ASSERT_TRUE(l2_->SetAccessVlan(sw, fabric_->node(2).port, kVlanB).ok());

  EXPECT_TRUE(fabric_->Ping(0, "10.251.0.2"));
  EXPECT_TRUE(fabric_->Ping(1, "10.251.0.1"));
  EXPECT_FALSE(fabric_->Ping(2, "10.251.0.1"));
  EXPECT_FALSE(fabric_->Ping(2, "10.251.0.2"));

  // Moving node 2 to tenant A joins it to A (and the quarantine of node 1 cuts node 1 off).
  ASSERT_TRUE(l2_->SetAccessVlan(sw, fabric_->node(2).port, kVlanA).ok());
  ASSERT_TRUE(l2_->SetAccessVlan(sw, fabric_->node(1).port, kQuarantineVlan).ok());
  EXPECT_TRUE(fabric_->Ping(2, "10.251.0.1"));
  EXPECT_FALSE(fabric_->Ping(1, "10.251.0.1"));
}

TEST_F(NetworkDriversTest, OvsMissingBridgeOrPortIsAFailedPreconditionNamingThem) {
  Switch sw = fabric_->LeafSwitch();
  sw.management->bridge = "nobr";
  Status s = l2_->SetAccessVlan(sw, fabric_->node(0).port, kVlanA);
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition) << s.ToString();
  EXPECT_THAT(s.message(), HasSubstr("nobr"));
  EXPECT_THAT(s.message(), HasSubstr(sw.name));

  sw = fabric_->LeafSwitch();
  s = l2_->SetAccessVlan(sw, "noport", kVlanA);
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition) << s.ToString();
  EXPECT_THAT(s.message(), HasSubstr("noport"));
  EXPECT_EQ(l2_->AccessVlan(sw, "noport").status().code(), StatusCode::kFailedPrecondition);

  s = l2_->SetAccessVlan(sw, fabric_->node(0).port, 5000);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.ToString();
  Switch unmanaged;
  unmanaged.name = "leaf-x";
  EXPECT_EQ(l2_->SetAccessVlan(unmanaged, fabric_->node(0).port, kVlanA).code(),
            StatusCode::kInvalidArgument);
  // Nothing changed on the switch.
  EXPECT_EQ(*fabric_->Vsctl({"get", "Port", fabric_->node(0).port, "tag"}),
            std::to_string(kQuarantineVlan));
}

TEST_F(NetworkDriversTest, OvsOptionsAndAnOvsdbThatDoesNotAnswer) {
  auto bad = MakeOvsDriver({{"ovsdb", fabric_->ovsdb()}, {"colour", "red"}});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(bad.status().message(), HasSubstr("colour"));
  EXPECT_EQ(MakeOvsDriver({{"timeoutSeconds", "soon"}}).status().code(),
            StatusCode::kInvalidArgument);

  auto absent =
      MakeOvsDriver({{"ovsdb", "unix:" + fabric_->dir() + "/no.sock"}, {"timeoutSeconds", "2"}});
  ASSERT_TRUE(absent.ok());
  auto start = std::chrono::steady_clock::now();
  Status s = (*absent)->SetAccessVlan(fabric_->LeafSwitch(), fabric_->node(0).port, kVlanA);
  EXPECT_EQ(s.code(), StatusCode::kUnavailable) << s.ToString();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(6));
}

// ---- dnsmasq ----

TEST_F(NetworkDriversTest, DnsmasqReservedNodeLeasesItsAddressAndAQuarantinedNodeNothing) {
  MakeL3();
  TenantNetwork net = Network("a");
  Status s = l3_->EnsureNetwork(net);
  ASSERT_TRUE(s.ok()) << s.ToString();
  ASSERT_TRUE(l3_->Reserve(net, AddressOf(0, "10.200.0.11")).ok());
  ASSERT_TRUE(l3_->Reserve(net, AddressOf(1, "10.200.0.12")).ok());
  // The server is on VLAN A as an access port.
  DnsmasqNetworkNames names = DnsmasqNamesFor(net.id);
  EXPECT_EQ(*fabric_->Vsctl({"get", "Port", names.switch_port, "tag"}), std::to_string(kVlanA));

  ASSERT_TRUE(l2_->SetAccessVlan(fabric_->LeafSwitch(), fabric_->node(0).port, kVlanA).ok());
  std::optional<DhcpLease> lease = Lease(0);
  ASSERT_TRUE(lease.has_value()) << "the node on the tenant VLAN got no lease";
  EXPECT_EQ(lease->address, "10.200.0.11");
  EXPECT_EQ(lease->boot_file, "pxelinux.0");
  EXPECT_EQ(lease->server, net.gateway);
  EXPECT_EQ(LeasedBy(net, fabric_->node(0).mac), "10.200.0.11");
  // With its address the node fetches the boot file from the gateway.
  ASSERT_TRUE(fabric_->SetAddress(0, "10.200.0.11/24").ok());
  std::string got = fabric_->dir() + "/fetched";
  auto tftp = RunProcess({"ip", "netns", "exec", fabric_->node(0).netns, "busybox", "tftp", "-g",
                          "-r", "pxelinux.0", "-l", got, net.gateway});
  ASSERT_TRUE(tftp.ok()) << tftp.status().ToString();
  EXPECT_EQ(tftp->exit_code, 0) << FirstLine(*tftp);
  std::ifstream fetched(got);
  std::string payload;
  std::getline(fetched, payload);
  EXPECT_EQ(payload, "boot payload");

  // Node 1 has a reservation but sits on the quarantine VLAN: the server never hears it.
  EXPECT_FALSE(Lease(1, 3).has_value());
  EXPECT_EQ(l3_->LeasedAddress(net, fabric_->node(1).mac)->value_or("none"), "none");
  // Node 2 is on the tenant VLAN without a reservation: nothing either.
  ASSERT_TRUE(l2_->SetAccessVlan(fabric_->LeafSwitch(), fabric_->node(2).port, kVlanA).ok());
  EXPECT_FALSE(Lease(2, 3).has_value());
}

TEST_F(NetworkDriversTest, DnsmasqReleasedAddressIsNoLongerGivenAndMayGoToAnotherMac) {
  TenantNetwork net;
  ASSERT_NO_FATAL_FAILURE(ServeNode0(&net));
  ASSERT_TRUE(l2_->SetAccessVlan(fabric_->LeafSwitch(), fabric_->node(0).port, kVlanA).ok());
  ASSERT_TRUE(l2_->SetAccessVlan(fabric_->LeafSwitch(), fabric_->node(1).port, kVlanA).ok());
  ASSERT_EQ(Lease(0).value_or(DhcpLease{}).address, "10.200.0.11");

  // While node 0's reservation stands, the address cannot be given to node 1.
  EXPECT_EQ(l3_->Reserve(net, AddressOf(1, "10.200.0.11")).code(), StatusCode::kFailedPrecondition);

  Status s = l3_->Release(net, AddressOf(0, "10.200.0.11"));
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(l3_->LeasedAddress(net, fabric_->node(0).mac)->value_or("none"), "none");
  EXPECT_FALSE(Lease(0, 3).has_value()) << "a released node still gets an address";
  ASSERT_TRUE(l3_->Release(net, AddressOf(0, "10.200.0.11")).ok());  // again: nothing to do

  s = l3_->Reserve(net, AddressOf(1, "10.200.0.11"));
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(Lease(1).value_or(DhcpLease{}).address, "10.200.0.11");
  EXPECT_EQ(LeasedBy(net, fabric_->node(1).mac), "10.200.0.11");
}

TEST_F(NetworkDriversTest, DnsmasqRemoveNetworkLeavesNoProcessNamespacePortOrState) {
  TenantNetwork net;
  ASSERT_NO_FATAL_FAILURE(ServeNode0(&net));
  DnsmasqNetworkNames names = DnsmasqNamesFor(net.id);
  ASSERT_EQ(DnsmasqsOf(net).size(), 1u);
  ASSERT_TRUE(FabricPeer::NetnsExists(names.netns));

  Status s = l3_->RemoveNetwork(net);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_TRUE(DnsmasqsOf(net).empty());
  EXPECT_FALSE(FabricPeer::NetnsExists(names.netns));
  EXPECT_THAT(*fabric_->Vsctl({"list-ports", fabric_->bridge()}),
              ::testing::Not(HasSubstr(names.switch_port)));
  EXPECT_EQ(*fabric_->Vsctl({"--if-exists", "get", "Port", names.switch_port, "_uuid"}), "");
  EXPECT_FALSE(fs::exists(state_dir_ + "/" + net.id));
  EXPECT_TRUE(l3_->RemoveNetwork(net).ok());  // again: nothing to do
}

TEST_F(NetworkDriversTest, DnsmasqEnsureNetworkTwiceRunsOneServer) {
  MakeL3();
  TenantNetwork net = Network("a");
  ASSERT_TRUE(l3_->EnsureNetwork(net).ok());
  std::vector<int> first = DnsmasqsOf(net);
  ASSERT_EQ(first.size(), 1u);
  Status s = l3_->EnsureNetwork(net);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(DnsmasqsOf(net), first);
  EXPECT_EQ(*fabric_->Vsctl({"get", "Port", DnsmasqNamesFor(net.id).switch_port, "tag"}),
            std::to_string(kVlanA));

  // A second network beside it gets its own server, namespace and port.
  TenantNetwork other = Network("b", kVlanB, 1);
  ASSERT_TRUE(l3_->EnsureNetwork(other).ok());
  EXPECT_EQ(DnsmasqsOf(other).size(), 1u);
  EXPECT_EQ(DnsmasqsOf(net), first);
  EXPECT_NE(DnsmasqNamesFor(other.id).netns, DnsmasqNamesFor(net.id).netns);
}

TEST_F(NetworkDriversTest, DnsmasqCallsFromSeveralThreadsLeaveOneServerPerNetwork) {
  MakeL3();
  TenantNetwork a = Network("a");
  TenantNetwork b = Network("b", kVlanB, 1);
  // Two runner threads on one network and two on another, at once.
  std::vector<Status> results(4);
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&, i] { results[i] = l3_->EnsureNetwork(i % 2 == 0 ? a : b); });
  }
  for (std::thread& t : threads) t.join();
  for (const Status& r : results) EXPECT_TRUE(r.ok()) << r.ToString();
  EXPECT_EQ(DnsmasqsOf(a).size(), 1u);
  EXPECT_EQ(DnsmasqsOf(b).size(), 1u);
  EXPECT_EQ(*fabric_->Vsctl({"get", "Port", DnsmasqNamesFor(b.id).switch_port, "tag"}),
            std::to_string(kVlanB));
}

TEST_F(NetworkDriversTest, DnsmasqKilledUnderUsIsRestartedByTheNextEnsureNetwork) {
  TenantNetwork net;
  ASSERT_NO_FATAL_FAILURE(ServeNode0(&net));
  std::vector<int> first = DnsmasqsOf(net);
  ASSERT_EQ(first.size(), 1u);
  ASSERT_NO_FATAL_FAILURE(KillDnsmasq(net));

  Status s = l3_->EnsureNetwork(net);
  ASSERT_TRUE(s.ok()) << s.ToString();
  std::vector<int> second = DnsmasqsOf(net);
  ASSERT_EQ(second.size(), 1u);
  EXPECT_NE(second[0], first[0]);
  ASSERT_TRUE(l2_->SetAccessVlan(fabric_->LeafSwitch(), fabric_->node(0).port, kVlanA).ok());
  EXPECT_EQ(Lease(0).value_or(DhcpLease{}).address, "10.200.0.11");
}

TEST_F(NetworkDriversTest, DnsmasqNamespaceDeletedUnderUsIsRebuiltByTheNextEnsureNetwork) {
  TenantNetwork net;
  ASSERT_NO_FATAL_FAILURE(ServeNode0(&net));
  DnsmasqNetworkNames names = DnsmasqNamesFor(net.id);
  ASSERT_NO_FATAL_FAILURE(KillDnsmasq(net));
  // The namespace goes, and its veth with it; the switch still has a port record of that name.
  ASSERT_TRUE(RunProcess({"ip", "netns", "del", names.netns}).ok());
  for (int i = 0; i < 200 && FabricPeer::NetnsExists(names.netns); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  ASSERT_EQ(*fabric_->Vsctl({"port-to-br", names.switch_port}), fabric_->bridge());

  Status s = l3_->EnsureNetwork(net);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_TRUE(FabricPeer::NetnsExists(names.netns));
  EXPECT_EQ(DnsmasqsOf(net).size(), 1u);
  ASSERT_TRUE(l2_->SetAccessVlan(fabric_->LeafSwitch(), fabric_->node(0).port, kVlanA).ok());
  EXPECT_EQ(Lease(0).value_or(DhcpLease{}).address, "10.200.0.11");
}

TEST_F(NetworkDriversTest, DnsmasqANewDriverProcessFindsEverythingOnDisk) {
  TenantNetwork net;
  ASSERT_NO_FATAL_FAILURE(ServeNode0(&net));
  ASSERT_TRUE(l2_->SetAccessVlan(fabric_->LeafSwitch(), fabric_->node(0).port, kVlanA).ok());
  ASSERT_EQ(Lease(0).value_or(DhcpLease{}).address, "10.200.0.11");
  std::vector<int> first = DnsmasqsOf(net);

  // As after a kill -9 of our process: a fresh driver knows only the options.
  l3_.reset();
  MakeL3();
  ASSERT_TRUE(l3_->EnsureNetwork(net).ok());
  EXPECT_EQ(DnsmasqsOf(net), first);
  EXPECT_EQ(LeasedBy(net, fabric_->node(0).mac), "10.200.0.11");
  ASSERT_TRUE(l3_->Release(net, AddressOf(0, "10.200.0.11")).ok());
  EXPECT_EQ(l3_->LeasedAddress(net, fabric_->node(0).mac)->value_or("none"), "none");
  ASSERT_TRUE(l3_->RemoveNetwork(net).ok());
  EXPECT_TRUE(DnsmasqsOf(net).empty());
  EXPECT_FALSE(FabricPeer::NetnsExists(DnsmasqNamesFor(net.id).netns));
}

TEST_F(NetworkDriversTest, DnsmasqMissingBridgeIsAClearErrorAndLeavesNothing) {
  DriverOptions options = L3Options();
  options["bridge"] = "nobr";
  auto l3 = MakeDnsmasqDriver(options);
  ASSERT_TRUE(l3.ok()) << l3.status().ToString();
  TenantNetwork net = Network("a");
  Status s = (*l3)->EnsureNetwork(net);
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition) << s.ToString();
  EXPECT_THAT(s.message(), HasSubstr("bridge nobr does not exist"));
  EXPECT_THAT(s.message(), HasSubstr(net.id));
  EXPECT_FALSE(FabricPeer::NetnsExists(DnsmasqNamesFor(net.id).netns));
  EXPECT_TRUE(DnsmasqsOf(net).empty());

  // Reserving on a network that was never set up says so.
  MakeL3();
  EXPECT_EQ(l3_->Reserve(net, AddressOf(0, "10.200.0.11")).code(), StatusCode::kFailedPrecondition);
}

TEST_F(NetworkDriversTest, DnsmasqOptionsAndAddressesAreChecked) {
  auto unknown =
      MakeDnsmasqDriver({{"stateDir", state_dir_}, {"bridge", "br0"}, {"colour", "red"}});
  EXPECT_EQ(unknown.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(unknown.status().message(), HasSubstr("colour"));
  auto no_dir = MakeDnsmasqDriver({{"bridge", "br0"}});
  EXPECT_EQ(no_dir.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(no_dir.status().message(), HasSubstr("stateDir"));
  EXPECT_EQ(MakeDnsmasqDriver({{"stateDir", state_dir_}, {"bridge", "br0"}, {"leaseSeconds", "10"}})
                .status()
                .code(),
            StatusCode::kInvalidArgument);

  // dnsmasq reads its reservations as nobody: a state directory it cannot reach is refused, not
  // served without reservations.
  fs::create_directories(fabric_->dir() + "/private");
  fs::permissions(fabric_->dir() + "/private", fs::perms(0700));
  DriverOptions hidden = L3Options();
  hidden["stateDir"] = fabric_->dir() + "/private/l3";
  auto l3 = MakeDnsmasqDriver(hidden);
  ASSERT_TRUE(l3.ok()) << l3.status().ToString();
  TenantNetwork net = Network("a");
  Status s = (*l3)->EnsureNetwork(net);
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition) << s.ToString();
  EXPECT_THAT(s.message(), HasSubstr(fabric_->dir() + "/private"));

  MakeL3();
  ASSERT_TRUE(l3_->EnsureNetwork(net).ok());
  EXPECT_EQ(l3_->Reserve(net, AddressOf(0, "10.9.0.11")).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(l3_->Reserve(net, AddressOf(0, "10.200.0.1")).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(l3_->Reserve(net, {"n", "eth0", "not-a-mac", "10.200.0.11"}).code(),
            StatusCode::kInvalidArgument);
  TenantNetwork bad = net;
  bad.id = "../escape";
  EXPECT_EQ(l3_->EnsureNetwork(bad).code(), StatusCode::kInvalidArgument);
  bad = net;
  bad.gateway = "10.201.0.1";
  EXPECT_EQ(l3_->EnsureNetwork(bad).code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace topoplace
