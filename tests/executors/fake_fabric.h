// Fake drivers for the runner's unit tests (never registered in a shipped registry), and an
// in-memory PlanHost. The fakes share one FakeFabric: a node leases its reserved address only
// when it is powered on with a one-time PXE boot set, every port of it is on the network's VLAN,
// and the network is served: the same conditions the real peers impose.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "executors/runner.h"

namespace topoplace::testing {

struct FakeFabric {
  std::mutex mu;
  const Inventory* inventory = nullptr;
  std::map<std::string, bool> power;           // by node
  std::map<std::string, bool> pxe_once;        // by node
  std::map<std::string, int> power_on_calls;   // by node
  std::map<std::string, int> vlan;             // by "switch/port"
  std::map<std::string, std::map<std::string, std::string>> reservations;  // net -> mac -> ip
  std::set<std::string> served;                // network ids
  std::set<std::string> dead_bmcs;             // nodes whose BMC does not answer
  std::map<std::string, int> reject_vlan_times;  // "switch/port" -> refusals left
  std::set<std::string> never_lease;           // nodes that boot but never ask for an address
  // The fake cluster: partitions (by "tenant-project") and their members, the jobs run, and what
  // was true when a node left (its power, to prove it left before power went off).
  std::map<std::string, std::set<std::string>> partitions;
  std::map<std::string, int> jobs;             // by node: VerifyNode calls that ran
  std::map<std::string, bool> powered_at_leave;
  std::set<std::string> never_ready;           // nodes the cluster never reports ready
};

std::unique_ptr<BmcDriver> MakeFakeBmc(FakeFabric& fabric);
std::unique_ptr<L2Driver> MakeFakeL2(FakeFabric& fabric);
std::unique_ptr<L3Driver> MakeFakeL3(FakeFabric& fabric);
// A node joins only while powered on; it is ready once joined (unless in never_ready).
std::unique_ptr<ClusterDriver> MakeFakeCluster(FakeFabric& fabric);

// A PlanHost over memory: plans, one network per tenant, replacement from a list of spares.
class MemoryHost : public PlanHost {
 public:
  explicit MemoryHost(std::shared_ptr<const Inventory> inventory) : inventory_(std::move(inventory)) {}

  std::shared_ptr<const Inventory> CurrentInventory() override { return inventory_; }
  Status SaveStep(const Plan& plan, const PlanStep& step) override;
  Status SavePlanHeader(const Plan& plan) override;
  Result<std::vector<Plan>> UnfinishedPlans() override;
  Result<TenantNetwork> AcquireNetwork(const Plan& plan, const NetworkPolicy& policy,
                                       const std::vector<NodeAddress>& wanted) override;
  Result<TenantNetwork> GetNetwork(const std::string& id) override;
  Status ReleaseAddresses(const std::string& network, const std::vector<std::string>& nodes) override;
  Result<bool> FreeNetworkIfEmpty(const std::string& network) override;
  Result<std::string> ReplaceNode(const Plan& plan, const std::string& node,
                                  const std::string& why) override;
  void PlanFinished(const Plan& plan) override;

  void Put(const Plan& plan);
  Plan Get(const std::string& id);
  bool HasNetwork(const std::string& id);
  void AddSpare(const std::string& node) { spares_.push_back(node); }
  std::vector<std::string> replaced;  // "old->new"
  int finished = 0;

 private:
  std::mutex mu_;
  std::shared_ptr<const Inventory> inventory_;
  std::map<std::string, Plan> plans_;
  std::map<std::string, TenantNetwork> networks_;  // by id
  std::vector<std::string> spares_;
  int next_vlan_ = 100;
};

// A small data centre: `n` nodes n1..nN on leaf-1 (ports p1..pN), BMC ipmi, switch driver "ovs",
// quarantine VLAN 4000, tenant VLANs 100-199, subnets /24 of 10.128.0.0/16.
std::shared_ptr<const Inventory> LabInventory(int n);

// Runs until `done(plan)` or `seconds` pass; returns the last plan seen.
Plan WaitFor(MemoryHost& host, const std::string& plan_id, PlanStatus status, double seconds);

}  // namespace topoplace::testing
