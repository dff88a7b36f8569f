// The entities of a data centre and its tenants, as plain values.
//
// These mirror the scenario language of DESIGN.md section 3 one to one: references between entities
// are by name, exactly as a person writes them. `Inventory::BuildIndex()` resolves the names into
// dense indices once; everything downstream (topology, solver) works on indices. The model does no
// I/O: inventory/ reads and writes these from YAML and stores.
//
// Thread safety: plain values. An Inventory is immutable once indexed and shared read-only.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "model/status.h"

namespace topoplace {

// The hierarchies a node belongs to. Network: nvlink < leaf < spine; physical: rack < row < site,
// and rack < pod < site; power: powerDomain (its own hierarchy). A row is a line of racks that
// shares cooling and power distribution; it holds whole racks and lies in one site, but it is not
// necessarily inside one pod (pods are network groupings and may cut across rows), so neither of
// row and pod is above the other. The order below is the one level names are listed in.
enum class Level { kNvlink, kLeaf, kRack, kRow, kPod, kSpine, kSite, kPowerDomain };
inline constexpr int kLevelCount = 8;
inline constexpr Level kAllLevels[kLevelCount] = {Level::kNvlink, Level::kLeaf,       Level::kRack,
                                                  Level::kRow,    Level::kPod,        Level::kSpine,
                                                  Level::kSite,   Level::kPowerDomain};
std::string_view LevelName(Level level);  // "nvlink", "leaf", "rack", "row", ..., "powerDomain"
std::optional<Level> ParseLevel(std::string_view s);

struct Site {
  std::string name;
  std::string region;
  std::string jurisdiction;  // ISO-like code: "US", "DE", "EU", ...
  std::vector<std::string> tags;
  bool operator==(const Site&) const = default;
};

struct PowerDomain {
  std::string name;
  std::string site;
  bool operator==(const PowerDomain&) const = default;
};

enum class SwitchRole { kLeaf, kSpine };
std::string_view SwitchRoleName(SwitchRole role);
std::optional<SwitchRole> ParseSwitchRole(std::string_view s);

// How the L2 driver reaches a switch: the driver's name and its settings for this switch.
struct SwitchManagement {
  std::string driver;  // "ovs", ...
  std::string bridge;  // ovs: the bridge the switch's ports are on
  bool operator==(const SwitchManagement&) const = default;
};

struct Switch {
  std::string name;
  SwitchRole role = SwitchRole::kLeaf;
  std::string vendor;
  std::string site;                  // optional for leaves: inherited from their racks
  std::string pod;                   // optional
  std::vector<std::string> uplinks;  // names of switches one tier up
  std::optional<SwitchManagement> management;
  bool operator==(const Switch&) const = default;
};

struct Rack {
  std::string name;
  std::string site;
  std::string row;
  std::string pod;
  std::vector<std::string> power_domains;
  std::vector<std::string> tags;  // e.g. "hipaa"
  bool operator==(const Rack&) const = default;
};

struct CpuSpec {
  int cores = 0;
  std::string model;
  bool operator==(const CpuSpec&) const = default;
};

struct GpuSpec {
  std::string model;  // empty when count == 0
  int count = 0;
  double memory_gib = 0;
  int nvlink_domain_size = 0;  // GPUs that share one NVLink fabric; 0 = same as count
  bool operator==(const GpuSpec&) const = default;
};

struct NodeClass {
  std::string name;
  CpuSpec cpu;
  double memory_gib = 0;
  double storage_gib = 0;
  GpuSpec gpu;
  double cost_per_hour = 0;
  bool operator==(const NodeClass&) const = default;
};

enum class NodeState { kAvailable, kAllocated, kReserved, kMaintenance, kFailed };
std::string_view NodeStateName(NodeState state);
std::optional<NodeState> ParseNodeState(std::string_view s);

// How the executors reach a node's baseboard management controller. `credentials` names a set in
// the deployment's executor settings (model/executor_settings.h); secrets never live here.
struct BmcSpec {
  std::string protocol;     // "ipmi" | "redfish"
  std::string address;      // host:port (redfish: host:port or a base URL)
  std::string credentials;  // name of a credential set, empty = none
  std::string system;       // redfish: the Systems/{id} member; empty = the only system
  bool operator==(const BmcSpec&) const = default;
};

// One NIC of a node and the leaf switch port it is cabled to (DESIGN.md section 6).
struct NodePort {
  std::string name;         // "eth0"
  std::string mac;          // "02:00:00:00:01:01"
  std::string switch_name;  // a leaf switch: the node's own leaf
  std::string port;         // the switch's port name
  bool operator==(const NodePort&) const = default;
};

struct Node {
  std::string name;
  std::string node_class;  // NodeClass::name
  std::string rack;
  std::string power_domain;
  std::string leaf;
  std::map<std::string, std::string> labels;
  std::optional<BmcSpec> bmc;
  std::string mac;
  std::vector<NodePort> ports;  // NIC -> leaf port; the executors move these between VLANs
  NodeState state = NodeState::kAvailable;
  std::string holder;  // tenant holding the node (allocated/reserved), else empty
  // Set when the holder asked for its domain at this level to itself (a request's `exclusive`):
  // no other tenant may be placed in that domain. Derived from allocations, never written out.
  std::optional<Level> exclusive;
  bool operator==(const Node&) const = default;
};

struct Quota {
  std::optional<int64_t> nodes;
  std::optional<int64_t> gpus;
  std::optional<int64_t> cpu_cores;
  std::optional<double> memory_gib;
  std::optional<double> storage_gib;
  bool operator==(const Quota&) const = default;
};

// A tenant's project (DESIGN.md section 6a): allocations, reservations and clusters belong to one.
// Its quota is a share of its tenant's: each limit it sets is at most the tenant's, and the
// projects of a tenant together never hold more than the tenant's quota (the tenant's limit binds
// first). A limit the project leaves unset is bounded by the tenant's alone.
struct Project {
  std::string name;
  Quota quota;
  std::vector<double> alert_at;  // quota-use fractions in (0, 1]; empty = the tenant's
  bool operator==(const Project&) const = default;
};

struct Tenant {
  std::string name;
  Quota quota;
  std::vector<Project> projects;  // empty = one implicit project "default" with no own limits
  std::vector<std::string> compliance;  // what the tenant may ask for ("hipaa", "gdpr")
  std::optional<double> budget_per_hour;
  std::vector<double> alert_at;  // quota-use fractions in (0, 1]
  bool operator==(const Tenant&) const = default;
};

// Project names. A request, allocation or cluster that names no project ("") is in its tenant's
// project "default". "default" (or "") is always a project of every tenant: with no limits of its
// own unless the tenant declares a project of that name. Any other name must be declared.
inline constexpr std::string_view kDefaultProject = "default";
// "" -> "default"; any other name as it is.
std::string_view ProjectName(std::string_view project);
// The declared project `project` names ("" = "default"), or null (an undeclared "default" has no
// limits of its own; any other undeclared name is not a project of `tenant`).
const Project* FindProject(const Tenant& tenant, std::string_view project);
// Whether `project` names a project of `tenant`: "", "default", or a declared one.
bool HasProject(const Tenant& tenant, std::string_view project);
// The names a request of `tenant` may give as its project, for "expected one of" lists: the
// declared ones, else "default".
std::vector<std::string> ProjectNames(const Tenant& tenant);

// Allocation (who holds which nodes, and optionally the request they were placed for) lives in
// model/scenario.h, beside Request.

// The provider's network policy (scenario key `networks:`): where unused ports sit, the VLANs and
// subnets tenant networks are cut from. Absent = the inventory cannot be carried out on L2/L3.
struct NetworkPolicy {
  int quarantine_vlan = 0;        // 1..4094
  int tenant_vlan_from = 0;       // inclusive, 1..4094; must not contain the quarantine VLAN
  int tenant_vlan_to = 0;         // inclusive
  std::string tenant_subnet_pool;  // IPv4 CIDR, "10.128.0.0/16"
  int tenant_prefix_length = 24;  // each tenant network's subnet, longer than the pool's
  bool operator==(const NetworkPolicy&) const = default;
};

// Pods are optional: a node's pod is its rack's pod, else its leaf's pod, else its rack's site.
inline const std::string& PodOfRack(const Rack& rack, const Switch* leaf) {
  if (!rack.pod.empty()) return rack.pod;
  if (leaf && !leaf->pod.empty()) return leaf->pod;
  return rack.site;
}

// The physical data centre. Names are unique per entity kind; node names are unique overall.
class Inventory {
 public:
  std::vector<Site> sites;
  std::vector<PowerDomain> power_domains;
  std::vector<Switch> switches;
  std::vector<Rack> racks;
  std::vector<NodeClass> node_classes;
  std::vector<Node> nodes;
  std::optional<NetworkPolicy> networks;

  // Resolves every name reference into indices. Returns InvalidArgument listing every dangling or
  // duplicate reference (the YAML loader reports these with positions first; this is the backstop
  // for inventories built in code).
  Status BuildIndex();

  // Valid after BuildIndex(). -1 when absent.
  int SiteIndex(std::string_view name) const { return Find(site_index_, name); }
  int PowerDomainIndex(std::string_view name) const { return Find(power_domain_index_, name); }
  int SwitchIndex(std::string_view name) const { return Find(switch_index_, name); }
  int RackIndex(std::string_view name) const { return Find(rack_index_, name); }
  int ClassIndex(std::string_view name) const { return Find(class_index_, name); }
  int NodeIndex(std::string_view name) const { return Find(node_index_, name); }

  // Per-node resolved references (valid after BuildIndex()).
  int NodeClassOf(int node) const { return node_class_[node]; }
  int RackOf(int node) const { return node_rack_[node]; }
  int PowerDomainOf(int node) const { return node_power_domain_[node]; }
  int LeafOf(int node) const { return node_leaf_[node]; }
  int SiteOfRack(int rack) const { return rack_site_[rack]; }
  const NodeClass& ClassOf(int node) const { return node_classes[node_class_[node]]; }
  // A node's pod (PodOfRack), its rack and leaf looked up by name; the leaf's pod, else empty,
  // when the rack is unknown.
  std::string PodOf(const Node& node) const;
  bool indexed() const { return indexed_; }
  // Equal entities in equal order (the indices are derived and not compared).
  bool operator==(const Inventory& o) const {
    return sites == o.sites && power_domains == o.power_domains && switches == o.switches &&
           racks == o.racks && node_classes == o.node_classes && nodes == o.nodes &&
           networks == o.networks;
  }

 private:
  using NameIndex = std::unordered_map<std::string, int>;
  static int Find(const NameIndex& index, std::string_view name) {
    auto it = index.find(std::string(name));
    return it == index.end() ? -1 : it->second;
  }
  NameIndex site_index_, power_domain_index_, switch_index_, rack_index_, class_index_, node_index_;
  std::vector<int> node_class_, node_rack_, node_power_domain_, node_leaf_, rack_site_;
  bool indexed_ = false;
};

}  // namespace topoplace
