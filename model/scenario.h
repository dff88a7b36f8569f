// A scenario: an inventory, its tenants, who holds what, and what is being asked for.
//
// This is the in-memory form of one scenario YAML file (DESIGN.md section 3). `ApplyAllocations()`
// marks the nodes of each allocation as allocated to its tenant. Thread safety: plain values.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <vector>

#include "model/entities.h"
#include "model/node_states.h"
#include "model/request.h"

namespace topoplace {

// Who holds which nodes. `request` is the request the nodes were placed for, when known (name and
// tenant equal the allocation's); repairs keep its constraints. Without it a repair can only
// replace each lost node by one of the same class.
struct Allocation {
  std::string name;
  std::string tenant;
  std::string project;  // "" = "default"
  std::vector<std::string> nodes;
  std::optional<Request> request;
  // What a preempting request weighs it by: only an allocation of strictly lower priority may be
  // evicted for it (DESIGN.md section 8). Unset: its request's priority, else 0
  // (AllocationPriority()).
  std::optional<int> priority;
  bool operator==(const Allocation&) const = default;
};
// The allocation's priority, its request's, or 0.
int AllocationPriority(const Allocation& a);

// The provider's policy (scenario key `policy:`).
struct ProviderPolicy {
  // A request may say `preemption: {scope: all}` and evict other tenants' allocations.
  bool preempt_across_tenants = false;
  bool operator==(const ProviderPolicy&) const = default;
};

// A named cluster shape a tenant can order by name (scenario key `clusterTemplates:`, as OSAC's
// ClusterTemplate with node sets {host_type, size}). Each node set is placed by its own
// constraints; a template's nodes are all placed in one solve, or none.
struct NodeSet {
  std::string name;
  std::string node_class;            // the node class every node of the set has
  int size = 0;                      // how many nodes
  std::optional<Locality> locality;  // else the template's
  std::optional<Spread> spread;      // else the template's
  bool operator==(const NodeSet&) const = default;
};

struct ClusterTemplate {
  std::string name;
  std::string description;
  Purpose purpose = Purpose::kBaremetal;
  std::vector<NodeSet> node_sets;
  std::optional<Locality> locality;  // for every node set that does not say its own
  std::optional<Spread> spread;
  std::vector<std::string> compliance;
  std::optional<Level> exclusive;
  bool roce = false;                 // network: {roce: true}
  bool operator==(const ClusterTemplate&) const = default;
};

// The requests a template's node sets become for `tenant`'s `project`, named "<name>/<set>".
std::vector<Request> ExpandTemplate(const ClusterTemplate& t, const std::string& name,
                                    const std::string& tenant, const std::string& project);

struct Scenario {
  std::string api_version = "topoplace/v1";
  Inventory inventory;
  std::vector<Tenant> tenants;
  std::vector<Allocation> allocations;
  std::vector<Request> requests;
  std::vector<ClusterTemplate> cluster_templates;
  ProviderPolicy policy;

  int TenantIndex(std::string_view name) const;   // -1 when absent
  int RequestIndex(std::string_view name) const;  // -1 when absent
  // Sets state = allocated and holder = tenant on every node of every allocation. Nodes in
  // maintenance/failed keep their state but still record the holder.
  void ApplyAllocations();
  bool operator==(const Scenario&) const = default;
};

// What a tenant currently holds and what it may still take.
struct TenantUsage {
  int64_t nodes = 0;
  int64_t gpus = 0;
  int64_t cpu_cores = 0;
  double memory_gib = 0;
  double storage_gib = 0;
  double cost_per_hour = 0;
};

// Adds one node of class `c` to `usage` (sign -1: takes it away).
void AddNodeUsage(TenantUsage& usage, const NodeClass& c, int sign = 1);

// What one project of a tenant holds: the nodes of its allocations (and, in the service, holds).
// A project's quota binds on this; the tenant's own quota binds on everything the tenant holds.
struct ProjectUsage {
  std::string tenant;
  std::string project;  // ProjectName(): "default" for those that name no project
  TenantUsage usage;
};
// Per (tenant, project) in `allocations`, the resources of their nodes, in order of first
// appearance; node names not in the inventory are skipped. Needs an indexed inventory.
std::vector<ProjectUsage> ProjectUsages(const Inventory& inventory,
                                        const std::vector<Allocation>& allocations);
// The entry of `usages` for `tenant`'s `project` ("" = "default"); null when it holds nothing.
const ProjectUsage* FindProjectUsage(const std::vector<ProjectUsage>& usages,
                                     std::string_view tenant, std::string_view project);
// Adds `nodes` (inventory indices) to `tenant`'s `project` in `usages`, making the entry if needed.
void AddProjectUsage(std::vector<ProjectUsage>& usages, const Inventory& inventory,
                     std::string_view tenant, std::string_view project, std::span<const int> nodes);

// Sums the resources of all nodes `states` says `tenant` holds. Needs an indexed inventory.
TenantUsage UsageOf(const Inventory& inventory, const NodeStates& states, std::string_view tenant);
// The same over the states the inventory was written with (Node::holder).
TenantUsage UsageOf(const Inventory& inventory, std::string_view tenant);

}  // namespace topoplace
