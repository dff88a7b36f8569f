#include "model/scenario.h"

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

namespace {

// What counts as a tenant's usage, written once: the class resources of every node `holds` says
// it holds.
template <typename Holds>
TenantUsage SumUsage(const Inventory& inventory, Holds holds) {
  TenantUsage u;
  for (int i = 0; i < static_cast<int>(inventory.nodes.size()); ++i) {
    if (!holds(i)) continue;
    const NodeClass& c = inventory.ClassOf(i);
    u.nodes += 1;
    u.gpus += c.gpu.count;
    u.cpu_cores += c.cpu.cores;
    u.memory_gib += c.memory_gib;
    u.storage_gib += c.storage_gib;
    u.cost_per_hour += c.cost_per_hour;
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
