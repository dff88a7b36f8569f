#include "executors/plan_builder.h"

#include <set>

namespace topoplace {
namespace {

PlanStep MakeStep(std::string_view layer, std::string driver, std::string_view action,
                  const std::string& node, StepPhase phase, std::vector<std::string> after) {
  PlanStep s;
  const std::string owner = node.empty() ? "network" : node;
  s.id = owner + (phase == StepPhase::kTeardown ? "/~" : "/") + std::string(action);
  s.layer = std::string(layer);
  s.driver = std::move(driver);
  s.action = std::string(action);
  s.node = node;
  s.phase = phase;
  s.after = std::move(after);
  return s;
}

std::string StepId(const std::string& owner, std::string_view action, StepPhase phase) {
  return owner + (phase == StepPhase::kTeardown ? "/~" : "/") + std::string(action);
}

// The L2 driver of a node's ports: its first managed switch's driver.
std::string L2DriverOf(const Inventory& inventory, const Node& node) {
  for (const NodePort& p : node.ports) {
    int sw = inventory.SwitchIndex(p.switch_name);
    if (sw >= 0 && inventory.switches[sw].management) {
      return inventory.switches[sw].management->driver;
    }
  }
  return "";
}

}  // namespace

Status CheckExecutable(const Inventory& inventory, const std::vector<std::string>& nodes) {
  std::vector<std::string> problems;
  if (!inventory.networks) {
    problems.push_back(
        "the inventory has no `networks:` policy (quarantine VLAN, tenant VLANs and subnets)");
  }
  for (const std::string& name : nodes) {
    int i = inventory.NodeIndex(name);
    if (i < 0) {
      problems.push_back("node " + name + " is not in the inventory");
      continue;
    }
    const Node& node = inventory.nodes[i];
    if (!node.bmc) problems.push_back("node " + name + " has no `bmc:`");
    if (node.ports.empty()) problems.push_back("node " + name + " has no `ports:`");
    for (const NodePort& p : node.ports) {
      int sw = inventory.SwitchIndex(p.switch_name);
      if (sw < 0 || !inventory.switches[sw].management) {
        problems.push_back("node " + name + " port " + p.name + ": switch " + p.switch_name +
                           " has no `management:`");
      }
    }
  }
  if (problems.empty()) return Status::Ok();
  Status s(StatusCode::kFailedPrecondition, problems);
  s.SetReason("not_executable");
  return s;
}

Result<std::string> ClusterDriverFor(const DriverChoice& drivers, const std::string& purpose) {
  if (purpose.empty() || purpose == "baremetal") return std::string();
  auto it = drivers.cluster.find(purpose);
  if (it == drivers.cluster.end() || it->second.empty()) {
    Status s(StatusCode::kFailedPrecondition,
             "a " + purpose + " cluster needs a cluster driver that hands machines over to " +
                 purpose + "; the executor settings configure none for it");
    s.SetReason("not_executable");
    return s;
  }
  return it->second;
}

std::vector<PlanStep> NodeDeploySteps(const Inventory& inventory, const std::string& name,
                                      const DriverChoice& drivers,
                                      const std::string& cluster_driver) {
  const Node& node = inventory.nodes[inventory.NodeIndex(name)];
  const std::string bmc = node.bmc ? node.bmc->protocol : "";
  const std::string l2 = L2DriverOf(inventory, node);
  const std::string net_alloc = StepId("network", kActNetworkAllocate, StepPhase::kDeploy);
  const std::string net_serve = StepId("network", kActDhcpServe, StepPhase::kDeploy);
  std::vector<PlanStep> steps;
  steps.push_back(MakeStep("l2", l2, kActPortTenantVlan, name, StepPhase::kDeploy, {net_alloc}));
  steps.push_back(
      MakeStep("l3", drivers.l3, kActDhcpReserve, name, StepPhase::kDeploy, {net_serve}));
  steps.push_back(MakeStep("bmc", bmc, kActBootPxe, name, StepPhase::kDeploy, {}));
  steps.push_back(MakeStep("bmc", bmc, kActPowerOn, name, StepPhase::kDeploy,
                           {steps[0].id, steps[1].id, steps[2].id}));
  steps.push_back(
      MakeStep("l3", drivers.l3, kActWaitLease, name, StepPhase::kDeploy, {steps[3].id}));
  if (!cluster_driver.empty()) {
    const std::string create = StepId("network", kActClusterCreate, StepPhase::kDeploy);
    steps.push_back(MakeStep("cluster", cluster_driver, kActClusterJoin, name,
                             StepPhase::kDeploy, {steps[4].id, create}));
    steps.push_back(MakeStep("cluster", cluster_driver, kActClusterWaitReady, name,
                             StepPhase::kDeploy, {steps[5].id}));
    steps.push_back(MakeStep("cluster", cluster_driver, kActClusterVerify, name,
                             StepPhase::kDeploy, {steps[6].id}));
  }
  return steps;
}

Result<Plan> BuildDeployPlan(const Inventory& inventory, const std::string& allocation,
                             const std::string& tenant, const std::string& purpose,
                             const std::vector<std::string>& nodes, const DriverChoice& drivers) {
  if (Status s = CheckExecutable(inventory, nodes); !s.ok()) return s;
  Result<std::string> cluster = ClusterDriverFor(drivers, purpose);
  if (!cluster.ok()) return cluster.status();
  Plan plan;
  plan.allocation = allocation;
  plan.tenant = tenant;
  plan.purpose = purpose;
  plan.steps.push_back(
      MakeStep("plan", "ipam", kActNetworkAllocate, "", StepPhase::kDeploy, {}));
  plan.steps.push_back(MakeStep("l3", drivers.l3, kActDhcpServe, "", StepPhase::kDeploy,
                                {plan.steps[0].id}));
  if (!cluster->empty()) {
    plan.steps.push_back(MakeStep("cluster", *cluster, kActClusterCreate, "", StepPhase::kDeploy,
                                  {plan.steps[1].id}));
  }
  for (const std::string& n : nodes) {
    for (PlanStep& s : NodeDeploySteps(inventory, n, drivers, *cluster)) {
      plan.steps.push_back(std::move(s));
    }
  }
  return plan;
}

std::vector<PlanStep> TeardownSteps(const Inventory& inventory,
                                    const std::vector<std::string>& nodes,
                                    const DriverChoice& drivers,
                                    const std::string& cluster_driver, bool free_network) {
  std::vector<PlanStep> steps;
  std::vector<std::string> all;
  std::vector<std::string> left;  // every node's cluster-leave
  for (const std::string& name : nodes) {
    int i = inventory.NodeIndex(name);
    if (i < 0) continue;
    const Node& node = inventory.nodes[i];
    const std::string bmc = node.bmc ? node.bmc->protocol : "";
    std::vector<std::string> before_off;
    if (!cluster_driver.empty()) {
      PlanStep leave = MakeStep("cluster", cluster_driver, kActClusterLeave, name,
                                StepPhase::kTeardown, {});
      before_off.push_back(leave.id);
      left.push_back(leave.id);
      steps.push_back(std::move(leave));
    }
    PlanStep off = MakeStep("bmc", bmc, kActPowerOff, name, StepPhase::kTeardown, before_off);
    PlanStep dhcp =
        MakeStep("l3", drivers.l3, kActDhcpRelease, name, StepPhase::kTeardown, {off.id});
    PlanStep port = MakeStep("l2", L2DriverOf(inventory, node), kActPortQuarantine, name,
                             StepPhase::kTeardown, {off.id});
    all.push_back(dhcp.id);
    all.push_back(port.id);
    steps.push_back(std::move(off));
    steps.push_back(std::move(dhcp));
    steps.push_back(std::move(port));
  }
  if (free_network) {
    if (!cluster_driver.empty()) {
      PlanStep remove = MakeStep("cluster", cluster_driver, kActClusterRemove, "",
                                 StepPhase::kTeardown, left);
      all.push_back(remove.id);
      steps.push_back(std::move(remove));
    }
    steps.push_back(
        MakeStep("l3", drivers.l3, kActNetworkFree, "", StepPhase::kTeardown, std::move(all)));
  }
  return steps;
}

std::string PlanClusterDriver(const Plan& plan) {
  for (const PlanStep& s : plan.steps) {
    if (s.layer == "cluster") return s.driver;
  }
  return "";
}

std::vector<std::string> PlanNodes(const Plan& plan) {
  std::vector<std::string> out;
  std::set<std::string> seen;
  for (const PlanStep& s : plan.steps) {
    if (!s.node.empty() && seen.insert(s.node).second) out.push_back(s.node);
  }
  return out;
}

}  // namespace topoplace
