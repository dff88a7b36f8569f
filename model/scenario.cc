#include "model/scenario.h"

#include <algorithm>
#include <iterator>
#include <unordered_map>

namespace topoplace {

std::vector<Request> ExpandTemplate(const ClusterTemplate& t, const std::string& name,
                                    const std::string& tenant, const std::string& project) {
  std::vector<Request> out;
  for (const NodeSet& set : t.node_sets) {
    Request r;
    r.name = name + "/" + set.name;
    r.tenant = tenant;
    r.project = project;
    r.nodes = set.size;
    r.select.classes = {set.node_class};
    r.locality = set.locality ? set.locality : t.locality;
    r.spread = set.spread ? set.spread : t.spread;
    r.compliance = t.compliance;
    r.exclusive = t.exclusive;
    r.roce = t.roce;
    r.purpose = t.purpose;
    out.push_back(std::move(r));
  }
  return out;
}

int Scenario::TenantIndex(std::string_view name) const {
  for (size_t i = 0; i < tenants.size(); ++i) {
    if (tenants[i].name == name) return static_cast<int>(i);
  }
  return -1;
}

int Scenario::RequestIndex(std::string_view name) const {
  for (size_t i = 0; i < requests.size(); ++i) {
    if (requests[i].name == name) return static_cast<int>(i);
  }
  return -1;
}

void Scenario::ApplyAllocations() {
  std::unordered_map<std::string_view, int> by_name;
  by_name.reserve(inventory.nodes.size());
  for (size_t i = 0; i < inventory.nodes.size(); ++i)
    by_name.emplace(inventory.nodes[i].name, static_cast<int>(i));
  for (const Allocation& a : allocations) {
    for (const std::string& n : a.nodes) {
      auto it = by_name.find(n);
      if (it == by_name.end()) continue;  // the loader reports dangling names
      Node& node = inventory.nodes[it->second];
      node.holder = a.tenant;
      if (a.request && a.request->exclusive) node.exclusive = a.request->exclusive;
      if (node.state == NodeState::kAvailable || node.state == NodeState::kReserved) {
        node.state = NodeState::kAllocated;
      }
    }
  }
}

void AddNodeUsage(TenantUsage& u, const NodeClass& c, int sign) {
  u.nodes += sign;
  u.gpus += sign * c.gpu.count;
  u.cpu_cores += sign * c.cpu.cores;
  u.memory_gib += sign * c.memory_gib;
  u.storage_gib += sign * c.storage_gib;
  u.cost_per_hour += sign * c.cost_per_hour;
}

const ProjectUsage* FindProjectUsage(const std::vector<ProjectUsage>& usages,
                                     std::string_view tenant, std::string_view project) {
  const std::string_view name = ProjectName(project);
  for (const ProjectUsage& u : usages) {
    if (u.tenant == tenant && u.project == name) return &u;
  }
  return nullptr;
}

void AddProjectUsage(std::vector<ProjectUsage>& usages, const Inventory& inventory,
                     std::string_view tenant, std::string_view project,
                     std::span<const int> nodes) {
  const std::string_view name = ProjectName(project);
  auto it = std::find_if(usages.begin(), usages.end(), [&](const ProjectUsage& u) {
    return u.tenant == tenant && u.project == name;
  });
  if (it == usages.end()) {
    usages.push_back({std::string(tenant), std::string(name), {}});
    it = std::prev(usages.end());
  }
  for (int node : nodes) AddNodeUsage(it->usage, inventory.ClassOf(node));
}

int AllocationPriority(const Allocation& a) {
  if (a.priority) return *a.priority;
  return a.request ? a.request->priority : 0;
}

std::vector<ProjectUsage> ProjectUsages(const Inventory& inventory,
                                        const std::vector<Allocation>& allocations) {
  std::vector<ProjectUsage> out;
  std::vector<int> nodes;
  for (const Allocation& a : allocations) {
    nodes.clear();
    for (const std::string& n : a.nodes) {
      const int i = inventory.NodeIndex(n);
      if (i >= 0) nodes.push_back(i);
    }
    AddProjectUsage(out, inventory, a.tenant, a.project, nodes);
  }
  return out;
}

namespace {

// What counts as a tenant's usage, written once: the class resources of every node `holds` says
// it holds.
template <typename Holds>
TenantUsage SumUsage(const Inventory& inventory, Holds holds) {
  TenantUsage u;
  for (int i = 0; i < static_cast<int>(inventory.nodes.size()); ++i) {
    if (holds(i)) AddNodeUsage(u, inventory.ClassOf(i));
  }
  return u;
}

}  // namespace

TenantUsage UsageOf(const Inventory& inventory, const NodeStates& states, std::string_view tenant) {
  const int32_t holder = states.FindHolder(tenant);
  if (holder == NodeStates::kNoHolder) return {};
  return SumUsage(inventory,
                  [&](int i) { return i < states.size() && states.holder_id(i) == holder; });
}

TenantUsage UsageOf(const Inventory& inventory, std::string_view tenant) {
  // Node::holder as NodeStates::FromInventory() would read it, without building the states.
  if (tenant.empty()) return {};
  return SumUsage(inventory, [&](int i) { return inventory.nodes[i].holder == tenant; });
}

}  // namespace topoplace
