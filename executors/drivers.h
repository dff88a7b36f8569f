// The driver interfaces, one per layer, and the registry that makes drivers by name.
//
// A driver does one kind of effect on one kind of peer: a BMC (power, one-time PXE boot), a switch
// (a port's access VLAN), a tenant network's L3 services (DHCP with reservations and a boot file,
// leases). Every call is idempotent: doing it twice has the effect of doing it once, so the runner
// may repeat a step whose outcome it did not record (after a crash). Every call is bounded in time
// by the driver's own timeout and returns kUnavailable for a peer that does not answer, kInternal
// for a peer that answered with an error, kInvalidArgument for a target it cannot address.
// Messages name the node, switch or network and the peer's own words; never a secret.
//
// Drivers are registered by name per layer, as solver backends are (DriverRegistry); the runner is
// given a registry, never a global. `fake` drivers (executors/fake_drivers.h) are for unit tests.
//
// Thread safety: a driver is called from several runner threads at once, for different targets.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "model/entities.h"
#include "model/executor_settings.h"
#include "model/plan.h"
#include "model/status.h"

namespace topoplace {

// A user name and password, resolved from a CredentialRef when a driver needs them.
struct Credentials {
  std::string username;
  std::string password;
};

struct BmcTarget {
  std::string node;
  BmcSpec bmc;
  Credentials credentials;
};

class BmcDriver {
 public:
  virtual ~BmcDriver() = default;
  virtual Status PowerOn(const BmcTarget& target) = 0;   // on stays on
  virtual Status PowerOff(const BmcTarget& target) = 0;  // hard off; off stays off
  virtual Result<bool> IsPoweredOn(const BmcTarget& target) = 0;
  // The next boot (only the next) goes to the network.
  virtual Status SetOneTimePxeBoot(const BmcTarget& target) = 0;
  // What the BMC says the next boot device is: "pxe", "disk", "none", ...
  virtual Result<std::string> BootDevice(const BmcTarget& target) = 0;
};

class L2Driver {
 public:
  virtual ~L2Driver() = default;
  // Makes `port` of `sw` an access port of `vlan` (only that VLAN, untagged).
  virtual Status SetAccessVlan(const Switch& sw, const std::string& port, int vlan) = 0;
  virtual Result<int> AccessVlan(const Switch& sw, const std::string& port) = 0;  // 0 = none
};

class L3Driver {
 public:
  virtual ~L3Driver() = default;
  // Serves DHCP (and the boot file) on the tenant network's VLAN at its gateway address.
  virtual Status EnsureNetwork(const TenantNetwork& network) = 0;
  virtual Status RemoveNetwork(const TenantNetwork& network) = 0;
  // A fixed address for one MAC; picked up without restarting the network's server.
  virtual Status Reserve(const TenantNetwork& network, const NodeAddress& address) = 0;
  // Forgets the reservation and any lease of it, so the address may go to another MAC.
  virtual Status Release(const TenantNetwork& network, const NodeAddress& address) = 0;
  // The address the network's server has leased to `mac`, if any.
  virtual Result<std::optional<std::string>> LeasedAddress(const TenantNetwork& network,
                                                           const std::string& mac) = 0;
};

// The cluster a hand-over builds (layer "cluster", DESIGN.md section 6a): whom it is for, and the
// tenant network its machines are on. A SLURM cluster is the project's partition on the
// deployment's controller; an OpenShift cluster is a hosted control plane with its node pool.
struct ClusterSpec {
  std::string id;        // the plan's id: unique, stable across restarts
  std::string name;      // the allocation's name (readable; unique per tenant)
  std::string tenant;
  std::string project;   // "" = the tenant's default project
  std::string purpose;   // "slurm" | "openshift"
  TenantNetwork network; // vlan, subnet, gateway and each machine's address
};

// One machine joining a cluster, with what the cluster needs to know of it.
struct ClusterMember {
  std::string node;
  std::string address;   // its address on the tenant network
  std::string mac;       // of the port that has that address
  std::string node_class;
  int cpus = 0;
  double memory_gib = 0;
  int gpus = 0;
  std::string gpu_model;
};

// What a tenant uses to reach its cluster (the API's `access`): for slurm "partition" and
// "controller"; for openshift "apiUrl", "consoleUrl", "kubeconfig" (a reference, never a secret).
using ClusterAccess = std::map<std::string, std::string>;

class ClusterDriver {
 public:
  virtual ~ClusterDriver() = default;
  // Makes the cluster's home exist before machines join (slurm: the project's partition;
  // openshift: HostedCluster, NodePool and InfraEnv). Idempotent.
  virtual Status EnsureCluster(const ClusterSpec& cluster) = 0;
  // Hands one booted machine to the cluster (slurm: a dynamic node in the partition; openshift:
  // its Agent approved and labelled for the NodePool's selector). Idempotent.
  virtual Status AddNode(const ClusterSpec& cluster, const ClusterMember& member) = 0;
  // True once the cluster reports the machine ready for work (slurm: idle in the partition).
  virtual Result<bool> NodeReady(const ClusterSpec& cluster, const ClusterMember& member) = 0;
  // Proves the machine takes work (slurm: a one-node job on it prints its name). Idempotent.
  virtual Status VerifyNode(const ClusterSpec& cluster, const ClusterMember& member) = 0;
  // Takes the machine back (slurm: drain, wait for its jobs within the driver's bound, delete).
  // A machine the cluster does not know is already removed. Idempotent.
  virtual Status RemoveNode(const ClusterSpec& cluster, const std::string& node) = 0;
  // Removes what EnsureCluster made once no machine of the cluster is left in it (a partition
  // shared by another cluster of the project stays). Idempotent.
  virtual Status RemoveCluster(const ClusterSpec& cluster) = 0;
  // How the tenant reaches the cluster; no secret.
  virtual ClusterAccess Access(const ClusterSpec& cluster) = 0;
};

// Makes drivers by layer and name from their options (already strictly read from the settings
// file; a factory rejects options it does not know with kInvalidArgument naming the key).
class DriverRegistry {
 public:
  using BmcFactory = std::function<Result<std::unique_ptr<BmcDriver>>(const DriverOptions&)>;
  using L2Factory = std::function<Result<std::unique_ptr<L2Driver>>(const DriverOptions&)>;
  using L3Factory = std::function<Result<std::unique_ptr<L3Driver>>(const DriverOptions&)>;
  using ClusterFactory =
      std::function<Result<std::unique_ptr<ClusterDriver>>(const DriverOptions&)>;

  void AddBmc(const std::string& name, BmcFactory f) { bmc_[name] = std::move(f); }
  void AddL2(const std::string& name, L2Factory f) { l2_[name] = std::move(f); }
  void AddL3(const std::string& name, L3Factory f) { l3_[name] = std::move(f); }
  void AddCluster(const std::string& name, ClusterFactory f) { cluster_[name] = std::move(f); }

  Result<std::unique_ptr<BmcDriver>> MakeBmc(const std::string& name,
                                             const DriverOptions& options) const;
  Result<std::unique_ptr<L2Driver>> MakeL2(const std::string& name,
                                           const DriverOptions& options) const;
  Result<std::unique_ptr<L3Driver>> MakeL3(const std::string& name,
                                           const DriverOptions& options) const;
  Result<std::unique_ptr<ClusterDriver>> MakeCluster(const std::string& name,
                                                     const DriverOptions& options) const;
  std::vector<std::string> Names(const std::string& layer) const;  // "bmc", "l2", "l3", "cluster"

 private:
  std::map<std::string, BmcFactory> bmc_;
  std::map<std::string, L2Factory> l2_;
  std::map<std::string, L3Factory> l3_;
  std::map<std::string, ClusterFactory> cluster_;
};

// The drivers that ship: bmc ipmi and redfish, l2 ovs, l3 dnsmasq, cluster slurm and
// hcp-manifests (not the fakes).
DriverRegistry BuiltinDrivers();

// Resolves a credential set by name: the password from its file (first line) or environment
// variable. kNotFound for an unknown name, kFailedPrecondition for an unreadable source; the
// message names the set and the source, never the secret.
Result<Credentials> ResolveCredentials(const ExecutorSettings& settings, const std::string& name);

}  // namespace topoplace
