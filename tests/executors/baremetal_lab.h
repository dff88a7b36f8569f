// A bare-metal lab for the end-to-end executor tests and the executor benchmark: real peers, one
// `topoplace serve` carrying plans out on them.
//
// N machines: each an `ipmi_sim` BMC on loopback (its own user and password) and a network
// namespace plugged into one Open vSwitch bridge (the leaf) on the quarantine VLAN. When a BMC
// powers its machine on, the machine "boots": its namespace runs a DHCP client that takes the
// address the tenant network offers it (nothing, when its port is not on a tenant VLAN with a DHCP
// server); power off takes the address away. The lab writes the scenario (nodes with their BMC,
// credentials by name and cabling, the leaf's management, the network policy, two tenants) and
// the executor settings (passwords in files, the drivers pointed at this fabric), then starts the
// server with both.
//
// Thread safety: one test thread.
#pragma once

#include <map>
#include <set>
#include <memory>
#include <string>
#include <vector>

#include "tests/executors/bmc_peers.h"
#include "tests/executors/fabric_peer.h"
#include "tests/executors/slurm_peer.h"
#include "tests/service/service_harness.h"

namespace topoplace::testing {

struct LabOptions {
  int nodes = 4;
  std::map<int, std::string> pool;            // node index -> value of its `pool` label
  std::map<int, std::string> port_override;   // node index -> switch port name in the inventory
  std::set<int> redfish;                      // node indices behind the Redfish test emulator
  int attempts = 2;
  double backoff_seconds = 0.2;
  double boot_timeout_seconds = 40;
  int parallelism = 16;
  // A SLURM controller (tests/executors/slurm_peer.h) the slurm cluster driver hands machines to:
  // its namespace is plugged into the tenant VLANs by the driver, and a machine that boots starts
  // its slurmd configless against its subnet's service address, with its class's cores and memory.
  bool slurm = false;
  // The first tenant (the second is always "globex") and, when set, its one project.
  std::string tenant = "acme";
  std::string project;
  // Off: the lab writes its files and starts its peers; the caller runs `topoplace serve`.
  bool start_server = true;
  // The hcp-manifests driver with its hub stand-in's directory under the lab (hub_dir()).
  bool openshift = false;
  // Appended to the lab's scenario (e.g. `clusterTemplates:` over its class "cpu").
  std::string extra_yaml;
};

class BaremetalLab {
 public:
  explicit BaremetalLab(const LabOptions& options);
  ~BaremetalLab();

  // Starts (or restarts, on the same store) `topoplace serve` with the lab's files.
  void StartServer();
  ServerProcess& server() { return *server_; }
  const std::string& admin() const { return admin_; }
  const Scenario& scenario() const { return scenario_; }
  FabricPeer& fabric() { return *fabric_; }
  IpmiSimPeer& bmcs() { return *bmcs_; }
  SlurmPeer& slurm() { return *slurm_; }  // only with LabOptions::slurm
  // What the lab's node class says, and so what each machine's slurmd registers.
  static constexpr int kNodeCores = 16;
  static constexpr int kNodeMemoryGiB = 64;
  const std::string& state_dir() const { return state_dir_; }
  // The files `topoplace serve` runs with: --scenario, --executors, --db.
  const std::string& scenario_path() const { return scenario_path_; }
  const std::string& settings_path() const { return settings_path_; }
  const std::string& db() const { return db_; }
  const std::string& hub_dir() const { return hub_dir_; }  // with LabOptions::openshift

  static std::string Name(int i) { return "n" + std::to_string(i + 1); }
  static int Index(const std::string& name) { return std::stoi(name.substr(1)) - 1; }

  json Call(const std::string& method, const std::string& path, const json& body, int expect);
  // Polls the cluster until its status is `status` (or `seconds` pass); the last answer.
  json WaitForCluster(const std::string& id, const std::string& status, double seconds);

  // What the machines and the switch say, read from the peers themselves.
  bool PoweredOn(int i) const;
  std::string LastBoot(int i) const;  // "pxe", "disk", ... (lower case, whichever BMC it has)
  int PowerOnCalls(int i) const;   // "set power 1" calls the BMC received
  int PortTag(int i) const;        // the access VLAN of the machine's switch port (0 = none)
  std::string Address(int i) const;  // the machine's own IPv4 address on eth0 ("" = none)
  // PIDs of the DHCP servers running for tenant network `network_id` (all of them for "").
  std::vector<int> DhcpServers(const std::string& network_id) const;

 private:
  LabOptions options_;
  std::unique_ptr<FabricPeer> fabric_;
  std::unique_ptr<IpmiSimPeer> bmcs_;
  std::unique_ptr<RedfishEmulatorPeer> redfish_;
  std::unique_ptr<SlurmPeer> slurm_;
  std::unique_ptr<ServerProcess> server_;
  std::unique_ptr<TempDir> dir_;
  std::string scenario_path_, settings_path_, db_, admin_, state_dir_, hub_dir_;
  Scenario scenario_;
};

}  // namespace topoplace::testing
