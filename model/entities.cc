#include "model/entities.h"

#include <array>

namespace topoplace {

std::string Inventory::PodOf(const Node& node) const {
  const int rack = RackIndex(node.rack);
  const int leaf = SwitchIndex(node.leaf);
  const Switch* leaf_switch = leaf >= 0 ? &switches[leaf] : nullptr;
  if (rack >= 0) return PodOfRack(racks[rack], leaf_switch);
  return leaf_switch ? leaf_switch->pod : std::string();
}

std::string_view ProjectName(std::string_view project) {
  return project.empty() ? kDefaultProject : project;
}

const Project* FindProject(const Tenant& tenant, std::string_view project) {
  const std::string_view name = ProjectName(project);
  for (const Project& p : tenant.projects) {
    if (p.name == name) return &p;
  }
  return nullptr;
}

bool HasProject(const Tenant& tenant, std::string_view project) {
  return ProjectName(project) == kDefaultProject || FindProject(tenant, project) != nullptr;
}

std::vector<std::string> ProjectNames(const Tenant& tenant) {
  std::vector<std::string> names;
  for (const Project& p : tenant.projects) names.push_back(p.name);
  if (names.empty()) names.emplace_back(kDefaultProject);
  return names;
}

std::string_view SwitchRoleName(SwitchRole role) {
  return role == SwitchRole::kLeaf ? "leaf" : "spine";
}

std::optional<SwitchRole> ParseSwitchRole(std::string_view s) {
  if (s == "leaf") return SwitchRole::kLeaf;
  if (s == "spine") return SwitchRole::kSpine;
  return std::nullopt;
}

namespace {
constexpr std::array<std::pair<NodeState, std::string_view>, 5> kNodeStates = {{
    {NodeState::kAvailable, "available"},
    {NodeState::kAllocated, "allocated"},
    {NodeState::kReserved, "reserved"},
    {NodeState::kMaintenance, "maintenance"},
    {NodeState::kFailed, "failed"},
}};

template <typename T>
void IndexNames(const std::vector<T>& items, std::string_view kind,
                std::unordered_map<std::string, int>& index, std::vector<std::string>& errors) {
  index.clear();
  index.reserve(items.size());
  for (size_t i = 0; i < items.size(); ++i) {
    if (!index.emplace(items[i].name, static_cast<int>(i)).second) {
      errors.push_back(std::string(kind) + " \"" + items[i].name + "\": duplicate name");
    }
  }
}
}  // namespace

std::string_view NodeStateName(NodeState state) {
  for (const auto& [s, name] : kNodeStates) {
    if (s == state) return name;
  }
  return "unknown";
}

std::optional<NodeState> ParseNodeState(std::string_view s) {
  for (const auto& [state, name] : kNodeStates) {
    if (name == s) return state;
  }
  return std::nullopt;
}

Status Inventory::BuildIndex() {
  std::vector<std::string> errors;
  IndexNames(sites, "site", site_index_, errors);
  IndexNames(power_domains, "power domain", power_domain_index_, errors);
  IndexNames(switches, "switch", switch_index_, errors);
  IndexNames(racks, "rack", rack_index_, errors);
  IndexNames(node_classes, "node class", class_index_, errors);
  IndexNames(nodes, "node", node_index_, errors);

  auto ref = [&](int found, std::string_view from, std::string_view what, const std::string& name) {
    if (found < 0) {
      errors.push_back(std::string(from) + ": " + std::string(what) + " \"" + name +
                       "\" does not exist");
    }
    return found;
  };
  for (const auto& pd : power_domains) ref(SiteIndex(pd.site), "power domain " + pd.name, "site", pd.site);
  for (const auto& sw : switches) {
    if (!sw.site.empty()) ref(SiteIndex(sw.site), "switch " + sw.name, "site", sw.site);
    for (const auto& up : sw.uplinks) ref(SwitchIndex(up), "switch " + sw.name, "uplink", up);
  }
  rack_site_.assign(racks.size(), -1);
  for (size_t r = 0; r < racks.size(); ++r) {
    const Rack& rack = racks[r];
    rack_site_[r] = ref(SiteIndex(rack.site), "rack " + rack.name, "site", rack.site);
    for (const auto& pd : rack.power_domains) {
      ref(PowerDomainIndex(pd), "rack " + rack.name, "power domain", pd);
    }
  }
  const size_t n = nodes.size();
  node_class_.assign(n, -1);
  node_rack_.assign(n, -1);
  node_power_domain_.assign(n, -1);
  node_leaf_.assign(n, -1);
  for (size_t i = 0; i < n; ++i) {
    const Node& node = nodes[i];
    const std::string from = "node " + node.name;
    node_class_[i] = ref(ClassIndex(node.node_class), from, "class", node.node_class);
    node_rack_[i] = ref(RackIndex(node.rack), from, "rack", node.rack);
    node_power_domain_[i] = ref(PowerDomainIndex(node.power_domain), from, "power domain", node.power_domain);
    node_leaf_[i] = ref(SwitchIndex(node.leaf), from, "leaf", node.leaf);
    if (node_leaf_[i] >= 0 && switches[node_leaf_[i]].role != SwitchRole::kLeaf) {
      errors.push_back(from + ": switch \"" + node.leaf + "\" is a spine, not a leaf");
    }
    if (node_rack_[i] >= 0 && node_power_domain_[i] >= 0 && rack_site_[node_rack_[i]] >= 0 &&
        power_domains[node_power_domain_[i]].site != racks[node_rack_[i]].site) {
      errors.push_back(from + ": power domain \"" + node.power_domain + "\" belongs to site \"" +
                       power_domains[node_power_domain_[i]].site + "\", not the rack's site \"" +
                       racks[node_rack_[i]].site + "\"");
    }
  }
  indexed_ = errors.empty();
  if (!errors.empty()) return Status(StatusCode::kInvalidArgument, std::move(errors));
  return Status::Ok();
}

}  // namespace topoplace
