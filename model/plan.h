// Plans: how a committed placement is carried out, as a DAG of idempotent steps (DESIGN.md
// section 6), and the tenant networks the steps build.
//
// The vocabulary is shared by the store (which persists every step transition), the runner and the
// drivers (executors/), and the API (which shows plans). Thread safety: plain values.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace topoplace {

enum class StepState { kPending, kRunning, kDone, kFailed, kCompensated };
std::string_view StepStateName(StepState s);  // "pending", "running", "done", ...
std::optional<StepState> ParseStepState(std::string_view s);

// The life of a plan, and of the cluster it carries out.
enum class PlanStatus { kProgressing, kReady, kFailed, kDeleting, kDeleted };
std::string_view PlanStatusName(PlanStatus s);  // "PROGRESSING", "READY", "FAILED", ...
std::optional<PlanStatus> ParsePlanStatus(std::string_view s);
bool IsFinal(PlanStatus s);  // READY, FAILED, DELETED: the runner has nothing left to do

// Which half of a plan a step belongs to.
enum class StepPhase { kDeploy, kTeardown };
std::string_view StepPhaseName(StepPhase p);  // "deploy", "teardown"
std::optional<StepPhase> ParseStepPhase(std::string_view s);

// One idempotent step. `action` names what it does (the runner's table in executors/plan_builder.h):
// network-allocate, port-tenant-vlan, dhcp-reserve, boot-pxe, power-on, wait-lease, and for a
// hand-over cluster-create, cluster-join, cluster-wait-ready, cluster-verify (deploy); cluster-leave,
// power-off, dhcp-release, port-quarantine, cluster-remove, network-free (teardown).
struct PlanStep {
  std::string id;      // unique in its plan: "<node>/<action>" or "network/<action>"
  std::string layer;   // "bmc", "l2", "l3", "cluster", "plan"
  std::string driver;  // the driver that carries it out: "ipmi", "redfish", "ovs", "dnsmasq", ...
  std::string action;
  std::string node;    // empty for steps of the network or the plan
  StepPhase phase = StepPhase::kDeploy;
  std::vector<std::string> after;  // ids of steps that must be done first
  StepState state = StepState::kPending;
  int attempts = 0;
  std::string log;  // the last thing the step said (a result or an error), one line
  int64_t started_ms = 0;
  int64_t updated_ms = 0;
  bool operator==(const PlanStep&) const = default;
};

// A node's address on its tenant network.
struct NodeAddress {
  std::string node;
  std::string port;  // NodePort::name
  std::string mac;
  std::string address;  // dotted IPv4
  bool operator==(const NodeAddress&) const = default;
};

// A tenant network: one VLAN and one subnet, cut from the provider's NetworkPolicy, kept while it
// has nodes. `key` says whose it is: "tenant/project" (a project's machines share one network).
struct TenantNetwork {
  std::string id;
  std::string tenant;
  std::string key;
  int vlan = 0;
  std::string subnet;   // CIDR
  std::string gateway;  // the DHCP server's address on it (the subnet's first host)
  std::vector<NodeAddress> addresses;
  bool operator==(const TenantNetwork&) const = default;
};

// The address cluster services (a SLURM controller) take on a tenant network: the subnet's last
// usable host, which IPAM never gives to a node. "" for a subnet of two hosts or fewer (none kept).
std::string ServiceAddress(const TenantNetwork& network);

// Whose network a plan's machines go on: "<tenant>/<project>" ("default" for no project). The
// machines of one project share a network; another project's are isolated from them.
struct Plan;
std::string NetworkKey(const Plan& plan);

// What the plan carries out and how far it has got (DESIGN.md section 6a): "requested",
// "assigned-to-tenant", "assigned-to-project", then per purpose "network-ready", "powered-on",
// "ready" (baremetal), "connecting-to-slurm", "ready-in-slurm" (slurm), "installing", "ready"
// (openshift); "deleting", "deleted", "failed" at the end.
struct Milestone {
  std::string name;
  int64_t at_ms = 0;
  bool operator==(const Milestone&) const = default;
};

struct Plan {
  std::string id;
  std::string allocation;  // the allocation it carries out
  std::string tenant;
  std::string project;     // the tenant's project the cluster belongs to ("" = default)
  std::string purpose;     // "baremetal", "slurm", "openshift"
  PlanStatus status = PlanStatus::kProgressing;
  std::string network;     // TenantNetwork::id once allocated
  std::string error;       // why it failed: the step and its last log line
  std::vector<PlanStep> steps;
  std::vector<Milestone> milestones;
  // How the tenant reaches the cluster once handed over (ClusterDriver::Access): for slurm
  // "partition" and "controller", for openshift "apiUrl", "consoleUrl", "kubeconfig". No secret.
  std::map<std::string, std::string> access;
  int64_t created_ms = 0;
  int64_t updated_ms = 0;
  bool operator==(const Plan&) const = default;
};

}  // namespace topoplace
