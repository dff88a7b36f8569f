// Bare-metal clusters end to end: `topoplace serve --executors` carries committed placements out
// on real peers (ipmi_sim BMCs, Open vSwitch, dnsmasq per tenant network, machines as namespaces
// that boot when their BMC powers them on). Every assertion reads the peers' own state: the BMC's
// power and boot device, the switch port's VLAN tag, the address the machine really holds, pings.
#include <gtest/gtest.h>

#include <set>

#include "tests/executors/baremetal_lab.h"

namespace topoplace::testing {
namespace {

std::vector<std::string> ClusterNodes(const json& k) {
  std::vector<std::string> out;
  for (const auto& n : k.value("nodes", json::array())) out.push_back(n.value("name", ""));
  return out;
}

std::string AddressOf(const json& k, const std::string& node) {
  for (const auto& a : k["network"]["addresses"]) {
    if (a["node"] == node) return a["address"];
  }
  return "";
}

LabOptions Lab(int nodes, std::map<int, std::string> pool = {},
               std::map<int, std::string> ports = {}) {
  LabOptions o;
  o.nodes = nodes;
  o.pool = std::move(pool);
  o.port_override = std::move(ports);
  return o;
}

bool HasMilestone(const json& k, const std::string& name) {
  for (const auto& m : k["milestones"]) {
    if (m["name"] == name) return true;
  }
  return false;
}

std::string Steps(const json& k) {
  std::string out;
  for (const auto& s : k["steps"]) {
    out += "\n  " + s["id"].get<std::string>() + " " + s["state"].get<std::string>() + " x" +
           std::to_string(s["attempts"].get<int>()) + ": " + s["log"].get<std::string>();
  }
  return out;
}

// The cluster is READY and each of its machines is on, booted from the network, on the tenant
// VLAN and holds the address the API shows, from the tenant's subnet.
void ExpectReadyOnTheTenantNetwork(BaremetalLab& lab, const json& k) {
  ASSERT_EQ(k["status"], "READY") << k.dump(1);
  const int vlan = k["network"]["vlan"];
  const std::string subnet = k["network"]["subnet"];
  const std::string prefix = subnet.substr(0, subnet.rfind('.') + 1);
  EXPECT_GE(vlan, 100);
  EXPECT_LE(vlan, 199);
  for (const std::string& node : ClusterNodes(k)) {
    const int i = BaremetalLab::Index(node);
    EXPECT_TRUE(lab.PoweredOn(i)) << node;
    EXPECT_EQ(lab.LastBoot(i), "pxe") << node;
    EXPECT_EQ(lab.PortTag(i), vlan) << node;
    const std::string shown = AddressOf(k, node);
    EXPECT_EQ(shown.rfind(prefix, 0), 0u) << node << " " << shown << " not in " << subnet;
    EXPECT_EQ(lab.Address(i), shown) << node;
  }
}

TEST(BaremetalE2E, TwoTenantsGetIsolatedReadyClustersAndTeardownQuarantinesEverything) {
  BaremetalLab lab(Lab(4));
  json a = lab.Call("POST", "/v1/clusters",
                    {{"tenant", "acme"}, {"name", "a1"}, {"nodes", 2}, {"purpose", "baremetal"}},
                    201);
  ASSERT_EQ(a["status"], "PROGRESSING") << a.dump(1);
  ASSERT_TRUE(HasMilestone(a, "requested"));
  VerifyServed(lab.server(), lab.admin(), lab.scenario(),
               {{"tenant", "acme"}, {"name", "a1"}, {"nodes", 2}}, ClusterNodes(a), true);
  json g = lab.Call("POST", "/v1/clusters",
                    {{"tenant", "globex"}, {"name", "g1"}, {"nodes", 1}, {"purpose", "baremetal"}},
                    201);
  a = lab.WaitForCluster(a["id"], "READY", 90);
  g = lab.WaitForCluster(g["id"], "READY", 90);
  ExpectReadyOnTheTenantNetwork(lab, a);
  ExpectReadyOnTheTenantNetwork(lab, g);
  EXPECT_TRUE(HasMilestone(a, "network-ready"));
  EXPECT_TRUE(HasMilestone(a, "powered-on"));
  EXPECT_NE(a["network"]["vlan"], g["network"]["vlan"]);
  EXPECT_NE(a["network"]["subnet"], g["network"]["subnet"]);

  // Tenant isolation on the wire: acme's two machines reach each other, globex's cannot.
  const std::vector<std::string> an = ClusterNodes(a);
  const std::string gn = ClusterNodes(g)[0];
  ASSERT_EQ(an.size(), 2u);
  const int a0 = BaremetalLab::Index(an[0]), a1 = BaremetalLab::Index(an[1]);
  const int g0 = BaremetalLab::Index(gn);
  EXPECT_TRUE(lab.fabric().Ping(a0, lab.Address(a1)));
  EXPECT_FALSE(lab.fabric().Ping(g0, lab.Address(a1)));
  // The machine nobody holds sits in quarantine and gets no address.
  int idle = -1;
  for (int i = 0; i < 4; ++i) {
    if (i != a0 && i != a1 && i != g0) idle = i;
  }
  ASSERT_GE(idle, 0);
  EXPECT_EQ(lab.PortTag(idle), 4000);
  EXPECT_FALSE(lab.PoweredOn(idle));
  Result<std::optional<DhcpLease>> lease = lab.fabric().Lease(idle, 3);
  ASSERT_TRUE(lease.ok());
  EXPECT_FALSE(lease->has_value());

  // Tear acme down: its machines off, back in quarantine, addresses gone, allocation released.
  json del = lab.Call("DELETE", "/v1/clusters/" + a["id"].get<std::string>(), nullptr, 202);
  EXPECT_EQ(del["status"], "DELETING");
  a = lab.WaitForCluster(a["id"], "DELETED", 60);
  ASSERT_EQ(a["status"], "DELETED") << Steps(a);
  for (int i : {a0, a1}) {
    EXPECT_FALSE(lab.PoweredOn(i));
    EXPECT_EQ(lab.PortTag(i), 4000);
    EXPECT_EQ(lab.Address(i), "");
  }
  json alloc = lab.Call("GET", "/v1/allocations/" + a["allocation"].get<std::string>(), nullptr, 200);
  EXPECT_EQ(alloc["status"], "released");
  // acme's DHCP server is gone; globex's still serves its machine.
  EXPECT_TRUE(lab.DhcpServers(a["network"]["id"]).empty());
  EXPECT_EQ(lab.DhcpServers(g["network"]["id"]).size(), 1u);
  EXPECT_TRUE(lab.PoweredOn(g0));

  // The steps are counted by driver and outcome.
  Response m = lab.server().Call("GET", "/metrics", lab.admin());
  EXPECT_NE(m.body.find("topoplace_plan_steps_total{driver=\"ipmi\",outcome=\"done\"}"),
            std::string::npos);
}

TEST(BaremetalE2E, MachinesBehindRedfishAndIpmiBmcsMakeOneReadyCluster) {
  LabOptions options = Lab(3);
  options.redfish = {0, 1};
  BaremetalLab lab(options);
  json k = lab.Call("POST", "/v1/clusters",
                    {{"tenant", "acme"}, {"name", "mixed"}, {"nodes", 3}, {"purpose", "baremetal"}},
                    201);
  k = lab.WaitForCluster(k["id"], "READY", 90);
  ExpectReadyOnTheTenantNetwork(lab, k);
  std::set<std::string> drivers;
  for (const auto& s : k["steps"]) {
    if (s["layer"] == "bmc") drivers.insert(s["driver"].get<std::string>());
  }
  EXPECT_EQ(drivers, (std::set<std::string>{"ipmi", "redfish"}));
  lab.Call("DELETE", "/v1/clusters/" + k["id"].get<std::string>(), nullptr, 202);
  k = lab.WaitForCluster(k["id"], "DELETED", 60);
  ASSERT_EQ(k["status"], "DELETED") << Steps(k);
  for (int i = 0; i < 3; ++i) {
    EXPECT_FALSE(lab.PoweredOn(i)) << i;
    EXPECT_EQ(lab.PortTag(i), 4000) << i;
  }
}

TEST(BaremetalE2E, AMachineWhoseBmcIsDeadIsReplacedAndTheClusterBecomesReady) {
  BaremetalLab lab(Lab(5));
  const json request{{"tenant", "acme"}, {"name", "r1"}, {"nodes", 2}, {"purpose", "baremetal"}};
  // The solver is deterministic: the dry run names the machines the cluster will get.
  json dry = lab.Call("POST", "/v1/placements:solve", request, 200);
  std::vector<std::string> planned;
  for (const auto& n : dry.value("nodes", json::array())) planned.push_back(n.get<std::string>());
  ASSERT_EQ(planned.size(), 2u) << dry.dump(1);
  const int dead = BaremetalLab::Index(planned[0]);
  lab.bmcs().Kill(dead);

  json k = lab.Call("POST", "/v1/clusters", request, 201);
  ASSERT_EQ(ClusterNodes(k), planned);
  k = lab.WaitForCluster(k["id"], "READY", 120);
  ASSERT_EQ(k["status"], "READY") << k.dump(1);
  ExpectReadyOnTheTenantNetwork(lab, k);
  const std::vector<std::string> now = ClusterNodes(k);
  EXPECT_EQ(now.size(), 2u);
  EXPECT_EQ(std::count(now.begin(), now.end(), planned[0]), 0);
  EXPECT_EQ(std::count(now.begin(), now.end(), planned[1]), 1);
  std::string replacement;
  for (const auto& n : now) {
    if (n != planned[1]) replacement = n;
  }
  EXPECT_TRUE(HasMilestone(k, "replaced " + planned[0] + " by " + replacement)) << k.dump(1);
  // The dead machine's port went back to quarantine; the machine is out of the pool.
  EXPECT_EQ(lab.PortTag(dead), 4000);
  json nodes = lab.Call("GET", "/v1/nodes?limit=1000", nullptr, 200);
  bool failed = false;
  for (const auto& n : nodes["nodes"]) {
    if (n["name"] == planned[0]) failed = n["state"] == "failed";
  }
  EXPECT_TRUE(failed) << planned[0] << " should be failed";
  VerifyServed(lab.server(), lab.admin(), lab.scenario(), request, now, true);
}

TEST(BaremetalE2E, WhenNoMachineCanReplaceADeadOneThePlanFailsAndIsUndone) {
  BaremetalLab lab(Lab(4, {{0, "gold"}, {1, "gold"}}));
  lab.bmcs().Kill(1);
  const json request{{"tenant", "acme"},
                     {"name", "gold"},
                     {"nodes", 2},
                     {"select", {{"labels", {{"pool", "gold"}}}}},
                     {"purpose", "baremetal"}};
  json k = lab.Call("POST", "/v1/clusters", request, 201);
  k = lab.WaitForCluster(k["id"], "FAILED", 90);
  ASSERT_EQ(k["status"], "FAILED") << Steps(k);
  const std::string error = k["error"];
  EXPECT_NE(error.find("n2/"), std::string::npos) << error;
  EXPECT_NE(error.find("no replacement"), std::string::npos) << error;
  for (const auto& s : k["steps"]) {
    if (s["phase"] == "deploy") {
      EXPECT_TRUE(s["state"] == "compensated" || s["state"] == "failed") << s.dump();
    }
  }
  // Undone: the live machine is off and both ports are back in quarantine, no address anywhere,
  // and the tenant network's DHCP server is gone.
  EXPECT_FALSE(lab.PoweredOn(0));
  EXPECT_EQ(lab.PortTag(0), 4000);
  EXPECT_EQ(lab.PortTag(1), 4000);
  EXPECT_EQ(lab.Address(0), "");
  EXPECT_TRUE(lab.DhcpServers("").empty());
  // Deleting the failed cluster releases its machines.
  lab.Call("DELETE", "/v1/clusters/" + k["id"].get<std::string>(), nullptr, 202);
  k = lab.WaitForCluster(k["id"], "DELETED", 60);
  ASSERT_EQ(k["status"], "DELETED") << Steps(k);
  json alloc = lab.Call("GET", "/v1/allocations/" + k["allocation"].get<std::string>(), nullptr, 200);
  EXPECT_EQ(alloc["status"], "released");
}

TEST(BaremetalE2E, ASwitchPortThatRefusesIsRetriedThenTheClusterIsUndone) {
  // n3's cabling names a port the switch does not have: every change of it is refused.
  BaremetalLab lab(Lab(3, {{2, "odd"}}, {{2, "ghost0"}}));
  json k = lab.Call("POST", "/v1/clusters",
                    {{"tenant", "acme"},
                     {"name", "odd"},
                     {"nodes", 1},
                     {"select", {{"labels", {{"pool", "odd"}}}}},
                     {"purpose", "baremetal"}},
                    201);
  k = lab.WaitForCluster(k["id"], "FAILED", 60);
  ASSERT_EQ(k["status"], "FAILED") << Steps(k);
  bool seen = false;
  for (const auto& s : k["steps"]) {
    if (s["id"] != "n3/port-tenant-vlan") continue;
    seen = true;
    EXPECT_EQ(s["state"], "failed");
    EXPECT_EQ(s["attempts"], 2);  // the lab's runner makes two attempts
    EXPECT_NE(s["log"].get<std::string>().find("ghost0"), std::string::npos) << s.dump();
  }
  EXPECT_TRUE(seen) << Steps(k);
  EXPECT_FALSE(lab.PoweredOn(2));
  EXPECT_TRUE(lab.DhcpServers("").empty());
}

TEST(BaremetalE2E, AServerKilledMidPlanResumesAndReleasingTheAllocationTearsItDown) {
  BaremetalLab lab(Lab(3));
  json k = lab.Call("POST", "/v1/clusters",
                    {{"tenant", "acme"}, {"name", "k9"}, {"nodes", 3}, {"purpose", "baremetal"}},
                    201);
  // Let the plan get under way, then crash the server without any clean-up.
  for (int i = 0; i < 100 && lab.PowerOnCalls(0) + lab.PowerOnCalls(1) + lab.PowerOnCalls(2) == 0;
       ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  lab.server().Kill();
  lab.StartServer();
  k = lab.WaitForCluster(k["id"], "READY", 120);
  ExpectReadyOnTheTenantNetwork(lab, k);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(lab.PowerOnCalls(i), 1) << BaremetalLab::Name(i);

  // Releasing the allocation tears the machines down first; it is released once they are off.
  const std::string alloc = k["allocation"];
  json r = lab.Call("DELETE", "/v1/allocations/" + alloc, nullptr, 202);
  EXPECT_EQ(r["status"], "active") << r.dump(1);
  k = lab.WaitForCluster(k["id"], "DELETED", 60);
  ASSERT_EQ(k["status"], "DELETED") << Steps(k);
  for (int i = 0; i < 3; ++i) {
    EXPECT_FALSE(lab.PoweredOn(i));
    EXPECT_EQ(lab.PortTag(i), 4000);
  }
  EXPECT_EQ(lab.Call("GET", "/v1/allocations/" + alloc, nullptr, 200)["status"], "released");
  EXPECT_TRUE(lab.DhcpServers("").empty());
}

}  // namespace
}  // namespace topoplace::testing

namespace topoplace::testing {
namespace {

TEST(ServeExecutors, ABadSettingsFileStopsTheStartWithWhereAndWhat) {
  TempDir dir("topoplace-bad-executors");
  const std::string file = (dir.path() / "executors.yaml").string();
  std::ofstream(file) << "apiVersion: topoplace/v1\n"
                         "credentials:\n"
                         "  lab: {username: admin, password: hunter2}\n";
  CliResult r = RunCli({"serve", "--db", (dir.path() / "x.db").string(), "--listen",
                        "127.0.0.1:0", "--executors", file});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find(file + ":3:"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("passwordFile"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("hunter2"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "x.db")) << "nothing is written before";
}

}  // namespace
}  // namespace topoplace::testing
