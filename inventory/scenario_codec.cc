// Loading scenario YAML: parse every section into the model, expand `generate:` entries, then check
// every cross-reference with the position of the value that names it. Errors are collected, never
// thrown, and reported together in file order.
#include "inventory/scenario_codec.h"

#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <sstream>
#include <unordered_map>
#include <unordered_set>

#include "inventory/generator.h"
#include "inventory/network_checks.h"
#include "inventory/yaml_reader.h"
#include "model/ipv4.h"
#include "model/request_schema.h"

namespace topoplace {

namespace {

using yaml_reader::Diagnostics;
using yaml_reader::Field;
using yaml_reader::JoinNames;
using yaml_reader::MapFields;
using yaml_reader::NumberRange;
using yaml_reader::SourcePos;

constexpr std::string_view kApiVersion = "topoplace/v1";

constexpr std::string_view kRootKeys[] = {"apiVersion", "inventory",       "networks",
                                          "policy",     "tenants",         "allocations",
                                          "requests",   "clusterTemplates"};
constexpr std::string_view kPolicyKeys[] = {"preemptAcrossTenants"};
constexpr std::string_view kInventoryKeys[] = {"sites",       "powerDomains", "switches", "racks",
                                               "nodeClasses", "nodes",        "generate"};
constexpr std::string_view kSiteKeys[] = {"name", "region", "jurisdiction", "tags"};
constexpr std::string_view kPowerDomainKeys[] = {"name", "site"};
constexpr std::string_view kSwitchKeys[] = {"name", "role",    "vendor",    "site",
                                            "pod",  "uplinks", "management"};
constexpr std::string_view kManagementKeys[] = {"driver", "bridge"};
constexpr std::string_view kRackKeys[] = {"name", "site", "row", "pod", "powerDomains", "tags"};
constexpr std::string_view kClassKeys[] = {"name",       "cpu", "memoryGiB",
                                           "storageGiB", "gpu", "costPerHour"};
constexpr std::string_view kCpuKeys[] = {"cores", "model"};
constexpr std::string_view kGpuKeys[] = {"model", "count", "memoryGiB", "nvlinkDomainSize"};
constexpr std::string_view kNodeKeys[] = {"name",   "class", "rack", "powerDomain", "leaf",
                                          "labels", "bmc",   "mac",  "ports",       "state"};
constexpr std::string_view kBmcKeys[] = {"protocol", "address", "credentials", "system"};
constexpr std::string_view kPortKeys[] = {"name", "mac", "switch", "port"};
constexpr std::string_view kNetworksKeys[] = {"quarantineVlan", "tenantVlans", "tenantSubnets"};
constexpr std::string_view kVlanRangeKeys[] = {"from", "to"};
constexpr std::string_view kSubnetPoolKeys[] = {"pool", "prefixLength"};
constexpr std::string_view kGenerateKeys[] = {"name",         "site",        "region",
                                              "jurisdiction", "pods",        "racksPerPod",
                                              "nodesPerRack", "racksPerRow", "powerDomainsPerRow",
                                              "class",        "classes",     "hipaaRacks",
                                              "allocated",    "maintenance", "failed",
                                              "vendors",      "seed",        "ports",
                                              "l2Driver"};
constexpr std::string_view kTenantKeys[] = {"name",       "quota",         "projects",
                                            "compliance", "budgetPerHour", "alertAt"};
constexpr std::string_view kProjectKeys[] = {"name", "quota", "alertAt"};
constexpr std::string_view kQuotaKeys[] = {"nodes", "gpus", "cpuCores", "memoryGiB", "storageGiB"};
constexpr std::string_view kAllocationKeys[] = {"name",  "tenant",  "project",
                                                "nodes", "request", "priority"};
constexpr std::string_view kTemplateKeys[] = {"name",     "description", "purpose",   "nodeSets",
                                              "topology", "compliance",  "exclusive", "network"};
constexpr std::string_view kNodeSetKeys[] = {"name", "class", "size", "topology"};
// The request keys a template (or one of its node sets) shares with a request; read by the
// request's own reader, so they mean and are checked exactly as in a request.
constexpr std::string_view kTemplateRequestKeys[] = {"topology", "compliance", "exclusive",
                                                     "network", "purpose"};
constexpr std::string_view kLabelOpKeys[] = {"in", "notIn", "exists"};

constexpr std::string_view kRoleNames[] = {"leaf", "spine"};
constexpr std::string_view kStateNames[] = {"available", "maintenance", "failed", "allocated",
                                            "reserved"};
constexpr std::string_view kProtocolNames[] = {"ipmi", "redfish"};

// What a sane scenario can hold. Anything beyond is a typo (an extra zero, a unit mix-up), and
// saying so beats a solver run that cannot mean anything. The bounds of a request are the request
// schema's (model/request_schema.h), shared with JSON and the short form.
const NumberRange kCores{1, 4096};
const NumberRange kMemoryGiB{0, 1e6};
const NumberRange kStorageGiB{0, 1e7};
const NumberRange kGpuCount{0, 64};
const NumberRange kGpuMemoryGiB{0, 4096};
const NumberRange kNvlinkDomain{0, 4096};
const NumberRange kCostPerHour{0, 1e5};
const NumberRange kBudget{0, 1e9};
const NumberRange kQuotaNodes{0, 10'000'000};
const NumberRange kQuotaGpus{0, 1e9};
const NumberRange kQuotaCores{0, 1e10};
const NumberRange kQuotaMemory{0, 1e13};
const NumberRange kQuotaStorage{0, 1e15};
const NumberRange kNodeSetSize{1, 1'000'000};
const NumberRange kFraction{0, 1, /*min_exclusive=*/true};
const NumberRange kShare{0, 1};
const NumberRange kWeight{0, 1e6, /*min_exclusive=*/true};
const NumberRange kSeed{0, 9e18};
const NumberRange kVlan{1, 4094};
// A tenant subnet needs a gateway and at least one node: /30 is the longest that has both.
const NumberRange kTenantPrefix{1, 30};

// A quota's limit on resource `k` (kQuotaKeys order), as a number; nullopt when unset.
std::optional<double> QuotaLimit(const Quota& q, size_t k) {
  switch (k) {
    case 0: return q.nodes ? std::optional<double>(static_cast<double>(*q.nodes)) : std::nullopt;
    case 1: return q.gpus ? std::optional<double>(static_cast<double>(*q.gpus)) : std::nullopt;
    case 2:
      return q.cpu_cores ? std::optional<double>(static_cast<double>(*q.cpu_cores)) : std::nullopt;
    case 3: return q.memory_gib;
    case 4: return q.storage_gib;
  }
  return std::nullopt;
}

// The keys of a request map its reader's caller reads (an allocation's request takes them from
// the allocation).
bool IsCallersKey(std::string_view key) {
  return key == "name" || key == "tenant" || key == "project";
}

// The keys of a request map, from the request schema: all of them, or without name, tenant and
// project (an allocation's request, whose name, tenant and project are the allocation's).
std::span<const std::string_view> RequestKeys() {
  static const std::vector<std::string_view> kKeys = [] {
    std::vector<std::string_view> keys;
    for (const RequestField* f : ChildFields("")) keys.push_back(f->key());
    return keys;
  }();
  return kKeys;
}
std::span<const std::string_view> RequestBodyKeys() {
  static const std::vector<std::string_view> kKeys = [] {
    std::vector<std::string_view> keys;
    for (const RequestField* f : ChildFields("")) {
      if (!IsCallersKey(f->key())) keys.push_back(f->key());
    }
    return keys;
  }();
  return kKeys;
}

// Every error of a load: the messages for people, the details for programs.
Status Failed(const Diagnostics& diag) {
  Status st(StatusCode::kInvalidArgument, diag.Sorted());
  for (ErrorDetail& d : diag.SortedDetails()) st.AddDetail(std::move(d));
  return st;
}

std::string Quoted(std::string_view s) {
  std::string out =
      "\"";  // built by appending: GCC 12 warns falsely on "x" + std::string (-Wrestrict)
  out += yaml_reader::Printable(s);
  out += '"';
  return out;
}

std::string PosText(SourcePos p) { return std::to_string(p.line) + ":" + std::to_string(p.column); }

std::string LowerAscii(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool IsValidMac(std::string_view mac) {
  if (mac.size() != 17) return false;
  for (size_t i = 0; i < mac.size(); ++i) {
    if (i % 3 == 2) {
      if (mac[i] != ':') return false;
    } else if (!std::isxdigit(static_cast<unsigned char>(mac[i]))) {
      return false;
    }
  }
  return true;
}

// "host:port" with a non-empty host and a port from 1 to 65535.
bool IsValidAddress(std::string_view address) {
  const size_t colon = address.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return false;
  std::optional<int64_t> port = yaml_reader::ParseInteger(address.substr(colon + 1));
  if (!port || address[colon + 1] == '+') return false;
  return *port >= 1 && *port <= 65535;
}

// A Redfish service's base URL: http:// or https:// and a host.
bool IsValidBaseUrl(std::string_view address) {
  for (std::string_view scheme : {"http://", "https://"}) {
    if (address.substr(0, scheme.size()) == scheme) {
      const std::string_view rest = address.substr(scheme.size());
      return !rest.empty() && rest.front() != '/' && rest.front() != ':' &&
             rest.find_first_of(" \t") == std::string_view::npos;
    }
  }
  return false;
}

// A name reference that still has to be resolved once every entity is known.
struct Ref {
  std::string path;
  SourcePos pos;
};

struct SiteSrc {
  std::optional<Ref> name;
};
struct PowerDomainSrc {
  std::optional<Ref> name, site;
};
struct SwitchSrc {
  std::optional<Ref> name, site;
  std::vector<Ref> uplinks;  // parallel to Switch::uplinks
};
struct RackSrc {
  std::optional<Ref> name, site;
  std::vector<Ref> power_domains;  // parallel to Rack::power_domains
};
struct ClassSrc {
  std::optional<Ref> name;
};
struct PortSrc {
  std::optional<Ref> name, mac, switch_name, port;
};
struct NodeSrc {
  std::optional<Ref> name, node_class, rack, power_domain, leaf, mac;
  std::vector<PortSrc> ports;  // parallel to Node::ports
};
struct NetworksSrc {
  std::optional<Ref> quarantine_vlan, vlan_from, vlan_to, pool, prefix_length;
};
// Where each limit of a quota was written, in kQuotaResources order.
struct QuotaSrc {
  std::array<std::optional<Ref>, 5> limits;
};
struct ProjectSrc {
  std::optional<Ref> name;
  QuotaSrc quota;
};
struct TenantSrc {
  std::optional<Ref> name;
  QuotaSrc quota;
  std::vector<ProjectSrc> projects;  // parallel to Tenant::projects
};
struct NodeSetSrc {
  std::optional<Ref> name, node_class;
};
struct TemplateSrc {
  std::optional<Ref> name;
  std::vector<NodeSetSrc> node_sets;  // parallel to ClusterTemplate::node_sets
};
struct RequestSrc {
  std::optional<Ref> name, tenant, project;
  std::vector<Ref> classes;     // parallel to NodeSelector::classes
  std::vector<Ref> compliance;  // parallel to Request::compliance
};
// Where each field of one request was written (full key paths), so the request schema's
// validation can report at the value (or, for conflicting fields, the key) it is about.
struct RequestPositions {
  std::string base;  // the request map's own path: "requests[2]", "" for a shape file
  SourcePos root;
  std::unordered_map<std::string, SourcePos> value, key;
  std::unordered_map<std::string, std::string> text;  // comparisons as written (">=2e6")
};
struct AllocationSrc {
  std::optional<Ref> name, tenant, project;
  std::vector<Ref> nodes;             // parallel to Allocation::nodes
  std::optional<RequestSrc> request;  // when the allocation carries its request
  std::optional<Ref> request_nodes;   // where its request's `nodes` was written
};
struct GenerateSrc {
  GenerateSpec spec;
  std::string path;
  SourcePos pos;
  std::optional<Ref> name;
  std::vector<Ref> classes;  // parallel to the class names the spec uses
  bool valid = true;
};

// Name -> index and where it was first written, for one kind of entity.
class NameTable {
 public:
  // Returns false (and leaves the first entry) when the name is taken.
  bool Add(const std::string& name, int index, SourcePos pos) {
    return entries_.emplace(name, Entry{index, pos}).second;
  }
  int Find(const std::string& name) const {
    auto it = entries_.find(name);
    return it == entries_.end() ? -1 : it->second.index;
  }
  SourcePos FirstPos(const std::string& name) const { return entries_.at(name).pos; }
  size_t size() const { return entries_.size(); }
  std::vector<std::string> Names() const {
    std::vector<std::string> names;
    names.reserve(entries_.size());
    for (const auto& [name, e] : entries_) names.push_back(name);
    std::sort(names.begin(), names.end());
    return names;
  }

 private:
  struct Entry {
    int index;
    SourcePos pos;
  };
  std::unordered_map<std::string, Entry> entries_;
};

class ScenarioLoader {
 public:
  explicit ScenarioLoader(std::string source, bool stored = false)
      : diag_(std::move(source)), stored_(stored) {}

  Result<Scenario> Load(std::string_view yaml);
  // One request map (a shape file): name and tenant optional; references are not checked.
  Result<Request> LoadRequest(std::string_view yaml);

 private:
  // Parsing: each fills the scenario and the parallel *Src records.
  void ParseRoot(const YAML::Node& root);
  void ParseInventory(const Field& f);
  void ParseSite(const Field& f);
  void ParsePowerDomain(const Field& f);
  void ParseSwitch(const Field& f);
  void ParseRack(const Field& f);
  void ParseNodeClass(const Field& f);
  void ParseNode(const Field& f);
  void ParsePort(const Field& f, Node& node, NodeSrc& src);
  void ParseNetworks(const Field& f);
  void ParsePolicy(const Field& f);
  void ParseGenerate(const Field& f);
  void ParseTenant(const Field& f);
  void ParseAllocation(const Field& f);
  void ParseRequest(const Field& f);
  void ParseClusterTemplate(const Field& f);
  void ParseNodeSet(const Field& f, ClusterTemplate& t, TemplateSrc& src);
  // A quota map (a tenant's or a project's).
  void ParseQuota(const Field& f, Quota& q, QuotaSrc& src);
  // The request keys of a template or node set (kTemplateRequestKeys present in `m`) into `shape`,
  // with the request schema's validation of them.
  void ReadTemplateShape(const MapFields& m, Request& shape);
  // The keys of a request other than name and tenant, from a map already read, then the request
  // schema's validation of the whole request.
  void ParseRequestBody(const MapFields& m, Request& r, RequestSrc& src, RequestPositions& at);
  // The fields of the schema under `parent` (a key path, "" = the request's root).
  void ReadRequestMap(const MapFields& m, std::string_view parent, Request& r, RequestSrc& src,
                      RequestPositions& at);
  void ReportValidation(const Request& r, const RequestPositions& at);
  // Class and compliance references of one request (top-level or an allocation's).
  void CheckRequestRefs(const Request& r, const RequestSrc& src, int tenant);
  std::optional<NumericPredicate> ReadPredicate(const Field& f, const NumberRange& range);
  std::optional<LabelPredicate> ReadLabelPredicate(const std::string& key, const Field& f);
  template <typename ParseItem>
  void ParseList(const MapFields& m, std::string_view key, std::string_view expected,
                 ParseItem parse_item);

  // Small typed readers that also keep the position of a name for the reference checks.
  std::optional<Ref> ReadName(const MapFields& m, std::string_view key, std::string_view expected,
                              std::string& out, bool required);
  // The map's `mac`, checked for its form; nullopt (and reported) when absent or malformed.
  std::optional<Ref> ReadMac(const MapFields& m, std::string& out, bool required);
  std::vector<Ref> ReadNameList(const Field& f, std::string_view expected_item,
                                std::vector<std::string>& out, bool allow_single);
  std::optional<int> ReadEnum(const Field& f, std::string_view noun,
                              std::span<const std::string_view> names);
  template <typename T>
  void ReadIntInto(const MapFields& m, std::string_view key, const NumberRange& range, T& out);
  void ReadNumberInto(const MapFields& m, std::string_view key, const NumberRange& range,
                      double& out);
  void ReadStringInto(const MapFields& m, std::string_view key, std::string_view expected,
                      std::string& out);

  // After parsing: generated entities, then every cross-reference.
  void ExpandGenerate();
  void CheckInventory();
  // Where a MAC address or a switch port was first seen: a node and its port (-1: the node's mac).
  struct PortOwner {
    size_t node = 0;
    int port = -1;
  };
  // One node's ports: their switch is the node's leaf, one cable per switch port, unique port
  // names, MACs unique across nodes (a node's `mac` may repeat one of its own ports').
  void CheckPorts(size_t node, std::unordered_map<std::string, PortOwner>& macs,
                  std::map<std::pair<std::string, std::string>, PortOwner>& cabled);
  void CheckNetworks();
  void CheckTenantsAllocationsRequests();
  // A tenant's projects: unique names, each limit within the tenant's.
  void CheckProjects(size_t tenant);
  // `project` (written at `ref`) names a project of `tenant` (-1: unknown, not checked).
  void CheckProjectRef(const std::optional<Ref>& ref, const std::string& project, int tenant);
  void CheckClusterTemplates();
  // Reports a dangling reference unless it points into a generate entry that could not run.
  void Dangling(const Ref& ref, std::string_view kind, const std::string& name,
                std::string_view section, const NameTable& table);
  void Duplicate(const Ref& ref, std::string_view kind, const std::string& name,
                 const NameTable& table);

  Diagnostics diag_;
  bool stored_ = false;  // a store's own document (LoadStoredScenario)
  Scenario s_;
  std::vector<SiteSrc> sites_;
  std::vector<PowerDomainSrc> power_domains_;
  std::vector<SwitchSrc> switches_;
  std::vector<RackSrc> racks_;
  std::vector<ClassSrc> classes_;
  std::vector<NodeSrc> nodes_;
  NetworksSrc networks_;
  std::vector<GenerateSrc> generates_;
  std::vector<TenantSrc> tenants_;
  std::vector<AllocationSrc> allocations_;
  std::vector<RequestSrc> requests_;
  std::vector<TemplateSrc> templates_;
  std::vector<std::string> failed_generate_prefixes_;
  // Sections that were not a list: references into them would only repeat that error.
  std::unordered_set<std::string> unreadable_sections_;
  NameTable site_names_, power_domain_names_, switch_names_, rack_names_, class_names_, node_names_,
      tenant_names_;
};

// ---------------------------------------------------------------------------------------------
// Readers

std::optional<Ref> ScenarioLoader::ReadName(const MapFields& m, std::string_view key,
                                            std::string_view expected, std::string& out,
                                            bool required) {
  const Field* f = required ? m.Require(key, expected) : m.Get(key);
  if (f == nullptr) return std::nullopt;
  std::optional<std::string> s = yaml_reader::ReadString(diag_, *f, expected);
  if (!s) return std::nullopt;
  out = std::move(*s);
  return Ref{f->path, f->pos()};
}

std::optional<Ref> ScenarioLoader::ReadMac(const MapFields& m, std::string& out, bool required) {
  std::optional<Ref> ref =
      ReadName(m, "mac", "a MAC address like 02:00:00:00:01:01", out, required);
  if (ref && !IsValidMac(out)) {
    diag_.Error(ref->pos, ref->path, "bad MAC address " + Quoted(out),
                "six hex pairs separated by colons, like 02:00:00:00:01:01");
    ref.reset();
  }
  return ref;
}

std::vector<Ref> ScenarioLoader::ReadNameList(const Field& f, std::string_view expected_item,
                                              std::vector<std::string>& out, bool allow_single) {
  std::vector<Ref> refs;
  if (allow_single && f.value.IsScalar()) {
    std::optional<std::string> s = yaml_reader::ReadString(diag_, f, expected_item);
    if (s) {
      out.push_back(std::move(*s));
      refs.push_back({f.path, f.pos()});
    }
    return refs;
  }
  const std::string expected = allow_single ? std::string(expected_item) + " or a list of them"
                                            : "a list of " + std::string(expected_item) + "s";
  std::optional<std::vector<Field>> items = yaml_reader::ListItems(diag_, f, expected);
  if (!items) return refs;
  for (const Field& item : *items) {
    std::optional<std::string> s = yaml_reader::ReadString(diag_, item, expected_item);
    if (!s) continue;
    out.push_back(std::move(*s));
    refs.push_back({item.path, item.pos()});
  }
  return refs;
}

std::optional<int> ScenarioLoader::ReadEnum(const Field& f, std::string_view noun,
                                            std::span<const std::string_view> names) {
  const std::string expected = "one of " + JoinNames(names);
  if (!f.value.IsScalar()) {
    diag_.Error(f.pos(), f.path, "got " + yaml_reader::Describe(f.value), expected);
    return std::nullopt;
  }
  const std::string& s = f.value.Scalar();
  for (size_t i = 0; i < names.size(); ++i) {
    if (names[i] == s) return static_cast<int>(i);
  }
  std::string what = "unknown " + std::string(noun) + " " + yaml_reader::Describe(f.value);
  if (yaml_reader::IsQuotedScalar(f.value)) what = "unknown " + std::string(noun) + " " + Quoted(s);
  diag_.Error(f.pos(), f.path, what, expected);
  return std::nullopt;
}

template <typename T>
void ScenarioLoader::ReadIntInto(const MapFields& m, std::string_view key, const NumberRange& range,
                                 T& out) {
  if (const Field* f = m.Get(key)) {
    if (auto v = yaml_reader::ReadInt(diag_, *f, range))
      out = static_cast<typename T::value_type>(*v);
  }
}

void ScenarioLoader::ReadNumberInto(const MapFields& m, std::string_view key,
                                    const NumberRange& range, double& out) {
  if (const Field* f = m.Get(key)) {
    if (auto v = yaml_reader::ReadNumber(diag_, *f, range)) out = *v;
  }
}

void ScenarioLoader::ReadStringInto(const MapFields& m, std::string_view key,
                                    std::string_view expected, std::string& out) {
  if (const Field* f = m.Get(key)) {
    if (auto v = yaml_reader::ReadString(diag_, *f, expected)) out = std::move(*v);
  }
}

template <typename ParseItem>
void ScenarioLoader::ParseList(const MapFields& m, std::string_view key, std::string_view expected,
                               ParseItem parse_item) {
  const Field* f = m.Get(key);
  if (f == nullptr) return;
  std::optional<std::vector<Field>> items = yaml_reader::ListItems(diag_, *f, expected);
  if (!items) {
    unreadable_sections_.insert(f->path);
    return;
  }
  for (const Field& item : *items) (this->*parse_item)(item);
}

// ---------------------------------------------------------------------------------------------
// Parsing

void ScenarioLoader::ParseRoot(const YAML::Node& root) {
  const Field root_field{root, SourcePos{1, 1}, ""};
  if (!root.IsMap()) {
    diag_.Error(yaml_reader::PosOf(root), "",
                root.IsNull() ? "empty document" : "the document is " + yaml_reader::Describe(root),
                "a map starting with apiVersion: topoplace/v1");
    return;
  }
  MapFields m(diag_, root_field, kRootKeys,
              "a map of apiVersion, inventory, networks, policy, tenants, allocations, requests, "
              "clusterTemplates");
  if (const Field* f = m.Require("apiVersion", std::string(kApiVersion))) {
    if (!f->value.IsScalar() || f->value.Scalar() != kApiVersion) {
      diag_.Error(f->pos(), f->path, "unsupported apiVersion " + yaml_reader::Describe(f->value),
                  std::string(kApiVersion));
    }
  }
  s_.api_version = std::string(kApiVersion);
  if (const Field* f = m.Get("inventory")) ParseInventory(*f);
  if (const Field* f = m.Get("networks")) ParseNetworks(*f);
  if (const Field* f = m.Get("policy")) ParsePolicy(*f);
  ParseList(m, "tenants", "a list of tenants", &ScenarioLoader::ParseTenant);
  ParseList(m, "allocations", "a list of allocations", &ScenarioLoader::ParseAllocation);
  ParseList(m, "requests", "a list of requests", &ScenarioLoader::ParseRequest);
  ParseList(m, "clusterTemplates", "a list of cluster templates",
            &ScenarioLoader::ParseClusterTemplate);
}

void ScenarioLoader::ParseInventory(const Field& f) {
  MapFields m(diag_, f, kInventoryKeys,
              "a map of sites, powerDomains, switches, racks, nodeClasses, nodes, generate");
  if (!m.is_map()) return;
  ParseList(m, "sites", "a list of sites", &ScenarioLoader::ParseSite);
  ParseList(m, "powerDomains", "a list of power domains", &ScenarioLoader::ParsePowerDomain);
  ParseList(m, "switches", "a list of switches", &ScenarioLoader::ParseSwitch);
  ParseList(m, "racks", "a list of racks", &ScenarioLoader::ParseRack);
  ParseList(m, "nodeClasses", "a list of node classes", &ScenarioLoader::ParseNodeClass);
  ParseList(m, "nodes", "a list of nodes", &ScenarioLoader::ParseNode);
  ParseList(m, "generate", "a list of generate entries", &ScenarioLoader::ParseGenerate);
}

void ScenarioLoader::ParseSite(const Field& f) {
  MapFields m(diag_, f, kSiteKeys, "a site: a map with name, region, jurisdiction, tags");
  if (!m.is_map()) return;
  Site site;
  SiteSrc src;
  src.name = ReadName(m, "name", "a site name", site.name, true);
  ReadStringInto(m, "region", "a region name", site.region);
  ReadStringInto(m, "jurisdiction", "a jurisdiction code like US or DE", site.jurisdiction);
  if (const Field* t = m.Get("tags")) ReadNameList(*t, "a tag", site.tags, false);
  s_.inventory.sites.push_back(std::move(site));
  sites_.push_back(std::move(src));
}

void ScenarioLoader::ParsePowerDomain(const Field& f) {
  MapFields m(diag_, f, kPowerDomainKeys, "a power domain: a map with name, site");
  if (!m.is_map()) return;
  PowerDomain pd;
  PowerDomainSrc src;
  src.name = ReadName(m, "name", "a power domain name", pd.name, true);
  src.site = ReadName(m, "site", "the name of a site", pd.site, true);
  s_.inventory.power_domains.push_back(std::move(pd));
  power_domains_.push_back(std::move(src));
}

void ScenarioLoader::ParseSwitch(const Field& f) {
  MapFields m(diag_, f, kSwitchKeys,
              "a switch: a map with name, role, vendor, site, pod, uplinks, management");
  if (!m.is_map()) return;
  Switch sw;
  SwitchSrc src;
  src.name = ReadName(m, "name", "a switch name", sw.name, true);
  if (const Field* r = m.Require("role", "one of leaf, spine")) {
    if (auto role = ReadEnum(*r, "role", kRoleNames)) sw.role = *ParseSwitchRole(kRoleNames[*role]);
  }
  ReadStringInto(m, "vendor", "a vendor name", sw.vendor);
  src.site = ReadName(m, "site", "the name of a site", sw.site, false);
  ReadStringInto(m, "pod", "a pod name", sw.pod);
  if (const Field* u = m.Get("uplinks"))
    src.uplinks = ReadNameList(*u, "a switch name", sw.uplinks, false);
  if (const Field* mg = m.Get("management")) {
    MapFields mm(diag_, *mg, kManagementKeys, "a map with driver, bridge");
    if (mm.is_map()) {
      SwitchManagement management;
      // Required and never empty (the reader refuses an empty string).
      ReadName(mm, "driver", "the name of an L2 driver, like ovs", management.driver, true);
      ReadStringInto(mm, "bridge", "a bridge name", management.bridge);
      sw.management = std::move(management);
    }
  }
  s_.inventory.switches.push_back(std::move(sw));
  switches_.push_back(std::move(src));
}

void ScenarioLoader::ParseRack(const Field& f) {
  MapFields m(diag_, f, kRackKeys, "a rack: a map with name, site, row, pod, powerDomains, tags");
  if (!m.is_map()) return;
  Rack rack;
  RackSrc src;
  src.name = ReadName(m, "name", "a rack name", rack.name, true);
  src.site = ReadName(m, "site", "the name of a site", rack.site, true);
  ReadStringInto(m, "row", "a row name", rack.row);
  ReadStringInto(m, "pod", "a pod name", rack.pod);
  if (const Field* p = m.Get("powerDomains")) {
    src.power_domains = ReadNameList(*p, "a power domain name", rack.power_domains, false);
  }
  if (const Field* t = m.Get("tags")) ReadNameList(*t, "a tag", rack.tags, false);
  s_.inventory.racks.push_back(std::move(rack));
  racks_.push_back(std::move(src));
}

void ScenarioLoader::ParseNodeClass(const Field& f) {
  MapFields m(diag_, f, kClassKeys,
              "a node class: a map with name, cpu, memoryGiB, storageGiB, gpu, costPerHour");
  if (!m.is_map()) return;
  NodeClass c;
  ClassSrc src;
  src.name = ReadName(m, "name", "a node class name", c.name, true);
  if (const Field* cpu = m.Get("cpu")) {
    MapFields cm(diag_, *cpu, kCpuKeys, "a map with cores, model");
    if (cm.is_map()) {
      if (const Field* cores = cm.Require("cores", kCores.Describe(true))) {
        if (auto v = yaml_reader::ReadInt(diag_, *cores, kCores))
          c.cpu.cores = static_cast<int>(*v);
      }
      ReadStringInto(cm, "model", "a CPU model name", c.cpu.model);
    }
  }
  ReadNumberInto(m, "memoryGiB", kMemoryGiB, c.memory_gib);
  ReadNumberInto(m, "storageGiB", kStorageGiB, c.storage_gib);
  if (const Field* gpu = m.Get("gpu")) {
    MapFields gm(diag_, *gpu, kGpuKeys, "a map with model, count, memoryGiB, nvlinkDomainSize");
    if (gm.is_map()) {
      ReadName(gm, "model", "a GPU model name", c.gpu.model, true);
      if (const Field* count = gm.Require("count", kGpuCount.Describe(true))) {
        if (auto v = yaml_reader::ReadInt(diag_, *count, kGpuCount))
          c.gpu.count = static_cast<int>(*v);
      }
      ReadNumberInto(gm, "memoryGiB", kGpuMemoryGiB, c.gpu.memory_gib);
      if (const Field* nvl = gm.Get("nvlinkDomainSize")) {
        if (auto v = yaml_reader::ReadInt(diag_, *nvl, kNvlinkDomain)) {
          c.gpu.nvlink_domain_size = static_cast<int>(*v);
        }
      }
    }
  }
  ReadNumberInto(m, "costPerHour", kCostPerHour, c.cost_per_hour);
  s_.inventory.node_classes.push_back(std::move(c));
  classes_.push_back(std::move(src));
}

void ScenarioLoader::ParseNode(const Field& f) {
  MapFields m(diag_, f, kNodeKeys,
              "a node: a map with name, class, rack, powerDomain, leaf, labels, bmc, mac, ports, "
              "state");
  if (!m.is_map()) return;
  Node node;
  NodeSrc src;
  src.name = ReadName(m, "name", "a node name", node.name, true);
  src.node_class = ReadName(m, "class", "the name of a node class", node.node_class, true);
  src.rack = ReadName(m, "rack", "the name of a rack", node.rack, true);
  src.power_domain =
      ReadName(m, "powerDomain", "the name of a power domain", node.power_domain, true);
  src.leaf = ReadName(m, "leaf", "the name of a leaf switch", node.leaf, true);
  if (const Field* labels = m.Get("labels")) {
    MapFields lm(diag_, *labels, {}, "a map of label names to values");
    for (const auto& [key, value] : lm.entries()) {
      if (!value.value.IsScalar()) {
        diag_.Error(value.pos(), value.path, "got " + yaml_reader::Describe(value.value),
                    "a label value (a string or number)");
        continue;
      }
      node.labels[key] = value.value.Scalar();
    }
  }
  if (const Field* bmc = m.Get("bmc")) {
    MapFields bm(diag_, *bmc, kBmcKeys, "a map with protocol, address, credentials, system");
    if (bm.is_map()) {
      BmcSpec spec;
      if (const Field* p = bm.Require("protocol", "one of ipmi, redfish")) {
        if (auto v = ReadEnum(*p, "BMC protocol", kProtocolNames))
          spec.protocol = std::string(kProtocolNames[*v]);
      }
      const bool redfish = spec.protocol == "redfish";
      if (ReadName(bm, "address", "host:port", spec.address, true) &&
          !IsValidAddress(spec.address) && !(redfish && IsValidBaseUrl(spec.address))) {
        const Field* a = bm.Get("address");
        diag_.Error(a->pos(), a->path, "bad address " + Quoted(spec.address),
                    redfish ? "host:port with a port from 1 to 65535, or an http(s):// base URL"
                            : "host:port with a port from 1 to 65535");
      }
      ReadStringInto(bm, "credentials", "the name of a credential set in the executor settings",
                     spec.credentials);
      ReadStringInto(bm, "system", "a Redfish Systems member id", spec.system);
      node.bmc = std::move(spec);
    }
  }
  src.mac = ReadMac(m, node.mac, false);
  if (const Field* ports = m.Get("ports")) {
    if (auto items = yaml_reader::ListItems(diag_, *ports, "a list of ports")) {
      for (const Field& item : *items) ParsePort(item, node, src);
    }
  }
  if (const Field* st = m.Get("state")) {
    if (auto v = ReadEnum(*st, "state", kStateNames)) node.state = *ParseNodeState(kStateNames[*v]);
  }
  s_.inventory.nodes.push_back(std::move(node));
  nodes_.push_back(std::move(src));
}

void ScenarioLoader::ParsePort(const Field& f, Node& node, NodeSrc& src) {
  MapFields m(diag_, f, kPortKeys, "a port: a map with name, mac, switch, port");
  if (!m.is_map()) return;
  NodePort port;
  PortSrc ps;
  ps.name = ReadName(m, "name", "a NIC name like eth0", port.name, true);
  ps.mac = ReadMac(m, port.mac, true);
  ps.switch_name =
      ReadName(m, "switch", "the name of the node's leaf switch", port.switch_name, true);
  ps.port = ReadName(m, "port", "the switch's port name", port.port, true);
  node.ports.push_back(std::move(port));
  src.ports.push_back(std::move(ps));
}

void ScenarioLoader::ParseNetworks(const Field& f) {
  MapFields m(diag_, f, kNetworksKeys, "a map of quarantineVlan, tenantVlans, tenantSubnets");
  if (!m.is_map()) return;
  NetworkPolicy policy;
  auto read_int = [&](const MapFields& map, std::string_view key, const NumberRange& range,
                      int& out, std::optional<Ref>& ref) {
    const Field* field = map.Require(key, range.Describe(true));
    if (field == nullptr) return;
    if (auto v = yaml_reader::ReadInt(diag_, *field, range)) {
      out = static_cast<int>(*v);
      ref = Ref{field->path, field->pos()};
    }
  };
  read_int(m, "quarantineVlan", kVlan, policy.quarantine_vlan, networks_.quarantine_vlan);
  if (const Field* v = m.Require("tenantVlans", "a map with from, to")) {
    MapFields vm(diag_, *v, kVlanRangeKeys, "a map with from, to");
    if (vm.is_map()) {
      read_int(vm, "from", kVlan, policy.tenant_vlan_from, networks_.vlan_from);
      read_int(vm, "to", kVlan, policy.tenant_vlan_to, networks_.vlan_to);
    }
  }
  if (const Field* p = m.Require("tenantSubnets", "a map with pool, prefixLength")) {
    MapFields pm(diag_, *p, kSubnetPoolKeys, "a map with pool, prefixLength");
    if (pm.is_map()) {
      networks_.pool =
          ReadName(pm, "pool", "an IPv4 CIDR like 10.128.0.0/16", policy.tenant_subnet_pool, true);
      if (networks_.pool) {
        const std::string problem = CidrProblem(policy.tenant_subnet_pool);
        if (!problem.empty()) {
          diag_.Error(networks_.pool->pos, networks_.pool->path,
                      "bad CIDR " + Quoted(policy.tenant_subnet_pool) + ": " + problem,
                      "an IPv4 network like 10.128.0.0/16");
          networks_.pool.reset();
        }
      }
      if (const Field* len = pm.Get("prefixLength")) {
        if (auto v = yaml_reader::ReadInt(diag_, *len, kTenantPrefix)) {
          policy.tenant_prefix_length = static_cast<int>(*v);
          networks_.prefix_length = Ref{len->path, len->pos()};
        }
      }
    }
  }
  s_.inventory.networks = std::move(policy);
}

void ScenarioLoader::ParseGenerate(const Field& f) {
  MapFields m(diag_, f, kGenerateKeys,
              "a generate entry: a map with name, site, pods, racksPerPod, ...");
  if (!m.is_map()) return;
  const size_t errors_before = diag_.size();
  GenerateSrc g;
  g.path = f.path;
  g.pos = m.pos();
  GenerateSpec& spec = g.spec;
  g.name = ReadName(m, "name", "a prefix for generated names", spec.name, true);
  ReadStringInto(m, "site", "a site name", spec.site);
  ReadStringInto(m, "region", "a region name", spec.region);
  ReadStringInto(m, "jurisdiction", "a jurisdiction code like US or DE", spec.jurisdiction);
  auto read_int = [&](std::string_view key, int64_t max, int& out) {
    if (const Field* v = m.Get(key)) {
      if (auto i = yaml_reader::ReadInt(diag_, *v, NumberRange{1, static_cast<double>(max)})) {
        out = static_cast<int>(*i);
      }
    }
  };
  read_int("pods", kMaxGeneratedPods, spec.pods);
  read_int("racksPerPod", kMaxGeneratedRacksPerPod, spec.racks_per_pod);
  read_int("nodesPerRack", kMaxGeneratedNodesPerRack, spec.nodes_per_rack);
  read_int("racksPerRow", kMaxGeneratedRacksPerRow, spec.racks_per_row);
  read_int("powerDomainsPerRow", kMaxGeneratedPowerDomainsPerRow, spec.power_domains_per_row);
  const Field* one = m.Get("class");
  const Field* mix = m.Get("classes");
  if (one && mix) {
    diag_.Error(mix->key_pos, mix->path, "both class and classes", "one of them");
  } else if (one) {
    if (auto s = yaml_reader::ReadString(diag_, *one, "the name of a node class")) {
      spec.node_class = *s;
      g.classes.push_back({one->path, one->pos()});
    }
  } else if (mix) {
    MapFields cm(diag_, *mix, {}, "a map of node class names to weights");
    for (const auto& [name, weight] : cm.entries()) {
      if (auto w = yaml_reader::ReadNumber(diag_, weight, kWeight)) {
        spec.class_mix.emplace_back(name, *w);
        g.classes.push_back({weight.path, weight.key_pos});
      }
    }
    if (cm.is_map() && cm.entries().empty()) {
      diag_.Error(mix->pos(), mix->path, "no classes", "at least one class: weight");
    }
  }
  ReadNumberInto(m, "hipaaRacks", kShare, spec.hipaa_racks);
  ReadNumberInto(m, "allocated", kShare, spec.allocated);
  ReadNumberInto(m, "maintenance", kShare, spec.maintenance);
  ReadNumberInto(m, "failed", kShare, spec.failed);
  if (const Field* v = m.Get("vendors")) {
    std::vector<std::string> vendors;
    ReadNameList(*v, "a vendor name", vendors, true);
    if (!vendors.empty()) {
      spec.leaf_vendors = std::move(vendors);
    } else if (v->value.IsSequence()) {
      diag_.Error(v->pos(), v->path, "no vendors", "at least one vendor name");
    }
  }
  if (const Field* v = m.Get("seed")) {
    if (auto i = yaml_reader::ReadInt(diag_, *v, kSeed)) spec.seed = static_cast<uint64_t>(*i);
  }
  if (const Field* v = m.Get("ports")) {
    if (auto b = yaml_reader::ReadBool(diag_, *v)) spec.ports = *b;
  }
  ReadStringInto(m, "l2Driver", "the name of an L2 driver, like ovs", spec.l2_driver);
  g.valid = diag_.size() == errors_before;
  generates_.push_back(std::move(g));
}

// Reads quota-use fractions like [0.8, 0.95], sorted.
void ReadAlertAt(Diagnostics& diag, const Field& f, std::vector<double>& out) {
  if (auto items =
          yaml_reader::ListItems(diag, f, "a list of quota-use fractions like [0.8, 0.95]")) {
    for (const Field& item : *items) {
      if (auto v = yaml_reader::ReadNumber(diag, item, kFraction)) out.push_back(*v);
    }
    std::sort(out.begin(), out.end());
  }
}

void ScenarioLoader::ParseQuota(const Field& f, Quota& q, QuotaSrc& src) {
  MapFields qm(diag_, f, kQuotaKeys, "a map with nodes, gpus, cpuCores, memoryGiB, storageGiB");
  if (!qm.is_map()) return;
  auto at = [&](size_t k) {
    const Field* v = qm.Get(kQuotaKeys[k]);
    return v ? std::optional<Ref>(Ref{v->path, v->pos()}) : std::nullopt;
  };
  ReadIntInto(qm, "nodes", kQuotaNodes, q.nodes);
  ReadIntInto(qm, "gpus", kQuotaGpus, q.gpus);
  ReadIntInto(qm, "cpuCores", kQuotaCores, q.cpu_cores);
  if (const Field* v = qm.Get("memoryGiB"))
    q.memory_gib = yaml_reader::ReadNumber(diag_, *v, kQuotaMemory);
  if (const Field* v = qm.Get("storageGiB"))
    q.storage_gib = yaml_reader::ReadNumber(diag_, *v, kQuotaStorage);
  for (size_t k = 0; k < src.limits.size(); ++k) {
    if (QuotaLimit(q, k)) src.limits[k] = at(k);
  }
}

void ScenarioLoader::ParseTenant(const Field& f) {
  MapFields m(diag_, f, kTenantKeys,
              "a tenant: a map with name, quota, projects, compliance, budgetPerHour, alertAt");
  if (!m.is_map()) return;
  Tenant t;
  TenantSrc src;
  src.name = ReadName(m, "name", "a tenant name", t.name, true);
  if (const Field* q = m.Get("quota")) ParseQuota(*q, t.quota, src.quota);
  if (const Field* ps = m.Get("projects")) {
    if (auto items = yaml_reader::ListItems(diag_, *ps, "a list of projects")) {
      for (const Field& item : *items) {
        MapFields pm(diag_, item, kProjectKeys, "a project: a map with name, quota, alertAt");
        if (!pm.is_map()) continue;
        Project p;
        ProjectSrc psrc;
        psrc.name = ReadName(pm, "name", "a project name", p.name, true);
        if (psrc.name) {
          if (std::string why = CheckRequestText(p.name); !why.empty()) {
            const size_t semi = why.find("; expected ");
            diag_.Error(psrc.name->pos, psrc.name->path, why.substr(0, semi),
                        why.substr(semi + 11));
          }
        }
        if (const Field* q = pm.Get("quota")) ParseQuota(*q, p.quota, psrc.quota);
        if (const Field* a = pm.Get("alertAt")) ReadAlertAt(diag_, *a, p.alert_at);
        t.projects.push_back(std::move(p));
        src.projects.push_back(std::move(psrc));
      }
    }
  }
  if (const Field* c = m.Get("compliance"))
    ReadNameList(*c, "a compliance name like hipaa", t.compliance, false);
  if (const Field* b = m.Get("budgetPerHour"))
    t.budget_per_hour = yaml_reader::ReadNumber(diag_, *b, kBudget);
  if (const Field* a = m.Get("alertAt")) ReadAlertAt(diag_, *a, t.alert_at);
  s_.tenants.push_back(std::move(t));
  tenants_.push_back(std::move(src));
}

void ScenarioLoader::ParsePolicy(const Field& f) {
  MapFields m(diag_, f, kPolicyKeys, "the provider's policy: a map with preemptAcrossTenants");
  if (!m.is_map()) return;
  if (const Field* p = m.Get("preemptAcrossTenants")) {
    if (auto b = yaml_reader::ReadBool(diag_, *p)) s_.policy.preempt_across_tenants = *b;
  }
}

void ScenarioLoader::ParseAllocation(const Field& f) {
  MapFields m(diag_, f, kAllocationKeys,
              "an allocation: a map with name, tenant, project, nodes, priority, request");
  if (!m.is_map()) return;
  Allocation a;
  AllocationSrc src;
  src.name = ReadName(m, "name", "an allocation name", a.name, true);
  src.tenant = ReadName(m, "tenant", "the name of a tenant", a.tenant, true);
  src.project = ReadName(m, "project", "the name of a project of the tenant", a.project, false);
  if (const Field* n = m.Require("nodes", "a list of node names")) {
    src.nodes = ReadNameList(*n, "a node name", a.nodes, false);
    if (n->value.IsSequence() && n->value.size() == 0) {
      diag_.Error(n->pos(), n->path, "no nodes", "at least one node name");
    }
  }
  if (const Field* p = m.Get("priority")) {
    // The bounds of a request's priority: the two are compared.
    const NumberBounds& b = FindRequestField("priority")->bounds;
    if (auto v = yaml_reader::ReadInt(diag_, *p, NumberRange{b.min, b.max, b.min_exclusive}))
      a.priority = static_cast<int>(*v);
  }
  if (const Field* rf = m.Get("request")) {
    MapFields rm(diag_, *rf, RequestBodyKeys(),
                 "a request without name, tenant and project (the allocation's): nodes or gpus, "
                 "select, topology, ...");
    if (rm.is_map()) {
      Request r;
      RequestSrc rsrc;
      RequestPositions at{rm.path(), rm.pos(), {}, {}, {}};
      ParseRequestBody(rm, r, rsrc, at);
      if (const Field* count = rm.Get("nodes")) src.request_nodes = Ref{count->path, count->pos()};
      r.name = a.name;
      r.tenant = a.tenant;
      r.project = a.project;
      a.request = std::move(r);
      src.request = std::move(rsrc);
    }
  }
  s_.allocations.push_back(std::move(a));
  allocations_.push_back(std::move(src));
}

std::optional<NumericPredicate> ScenarioLoader::ReadPredicate(const Field& f,
                                                              const NumberRange& range) {
  const std::string expected = "a number or a comparison like \">=8\", with a value from " +
                               yaml_reader::FormatNumber(range.min) + " to " +
                               yaml_reader::FormatNumber(range.max);
  if (!f.value.IsScalar()) {
    diag_.Error(f.pos(), f.path, "got " + yaml_reader::Describe(f.value), expected);
    return std::nullopt;
  }
  std::optional<NumericPredicate> p = ParseNumericPredicate(f.value.Scalar());
  if (!p) {
    diag_.Error(f.pos(), f.path, "bad comparison " + Quoted(f.value.Scalar()), expected);
    return std::nullopt;
  }
  return p;  // the range is the schema validation's
}

std::optional<LabelPredicate> ScenarioLoader::ReadLabelPredicate(const std::string& key,
                                                                 const Field& f) {
  LabelPredicate p;
  p.key = key;
  if (f.value.IsScalar()) {
    p.values.push_back(f.value.Scalar());
    return p;
  }
  if (f.value.IsSequence()) {
    ReadNameList(f, "a label value", p.values, false);
    if (p.values.empty() && f.value.size() == 0) {
      diag_.Error(f.pos(), f.path, "no values", "at least one label value", "out_of_range");
      return std::nullopt;
    }
    return p;
  }
  MapFields m(
      diag_, f, kLabelOpKeys,
      "a value, a list of values, or one of {in: [...]}, {notIn: [...]}, {exists: true|false}");
  if (!m.is_map()) return std::nullopt;
  if (m.entries().empty() && f.value.size() > 0) return std::nullopt;  // unknown operator, reported
  if (m.entries().size() != 1) {
    diag_.Error(m.pos(), m.path(), "got " + std::to_string(m.entries().size()) + " operators",
                "exactly one of in, notIn, exists");
    return std::nullopt;
  }
  const auto& [op, value] = m.entries().front();
  if (op == "exists") {
    std::optional<bool> b = yaml_reader::ReadBool(diag_, value);
    if (!b) return std::nullopt;
    p.op = *b ? LabelPredicate::Op::kExists : LabelPredicate::Op::kDoesNotExist;
    return p;
  }
  p.op = op == "in" ? LabelPredicate::Op::kIn : LabelPredicate::Op::kNotIn;
  ReadNameList(value, "a label value", p.values, true);
  if (value.value.IsSequence() && value.value.size() == 0) {
    diag_.Error(value.pos(), value.path, "no values", "at least one label value", "out_of_range");
    return std::nullopt;
  }
  return p;
}

void ScenarioLoader::ParseRequest(const Field& f) {
  MapFields m(diag_, f, RequestKeys(),
              "a request: a map with name, tenant, nodes or gpus, select, topology, ...");
  if (!m.is_map()) return;
  Request r;
  RequestSrc src;
  RequestPositions at{m.path(), m.pos(), {}, {}, {}};
  src.name = ReadName(m, "name", "a request name", r.name, true);
  src.tenant = ReadName(m, "tenant", "the name of a tenant", r.tenant, true);
  src.project = ReadName(m, "project", "the name of a project of the tenant", r.project, false);
  ParseRequestBody(m, r, src, at);
  s_.requests.push_back(std::move(r));
  requests_.push_back(std::move(src));
}

void ScenarioLoader::ReadTemplateShape(const MapFields& m, Request& shape) {
  RequestSrc src;
  RequestPositions at{m.path(), m.pos(), {}, {}, {}};
  ReadRequestMap(m, "", shape, src, at);
  // A shape is not a whole request: its count is the node set's, so only the rules on the keys
  // it has can fail.
  shape.nodes = 1;
  ReportValidation(shape, at);
}

void ScenarioLoader::ParseClusterTemplate(const Field& f) {
  MapFields m(diag_, f, kTemplateKeys,
              "a cluster template: a map with name, description, purpose, nodeSets, topology, "
              "compliance, exclusive, network");
  if (!m.is_map()) return;
  ClusterTemplate t;
  TemplateSrc src;
  src.name = ReadName(m, "name", "a template name", t.name, true);
  ReadStringInto(m, "description", "a line of text", t.description);
  Request shape;
  ReadTemplateShape(m, shape);
  t.purpose = shape.purpose;
  t.locality = shape.locality;
  t.spread = shape.spread;
  t.compliance = shape.compliance;
  t.exclusive = shape.exclusive;
  t.roce = shape.roce;
  if (const Field* sets = m.Require("nodeSets", "a list of node sets")) {
    if (auto items = yaml_reader::ListItems(diag_, *sets, "a list of node sets")) {
      for (const Field& item : *items) ParseNodeSet(item, t, src);
      if (items->empty()) {
        diag_.Error(sets->pos(), sets->path, "no node sets",
                    "at least one node set {name, class, size}");
      }
    }
  }
  s_.cluster_templates.push_back(std::move(t));
  templates_.push_back(std::move(src));
}

void ScenarioLoader::ParseNodeSet(const Field& f, ClusterTemplate& t, TemplateSrc& src) {
  MapFields m(diag_, f, kNodeSetKeys, "a node set: a map with name, class, size, topology");
  if (!m.is_map()) return;
  NodeSet set;
  NodeSetSrc set_src;
  set_src.name = ReadName(m, "name", "a node set name", set.name, true);
  set_src.node_class = ReadName(m, "class", "the name of a node class", set.node_class, true);
  if (const Field* size = m.Require("size", kNodeSetSize.Describe(true))) {
    if (auto v = yaml_reader::ReadInt(diag_, *size, kNodeSetSize)) set.size = static_cast<int>(*v);
  }
  Request shape;
  ReadTemplateShape(m, shape);
  set.locality = shape.locality;
  set.spread = shape.spread;
  t.node_sets.push_back(std::move(set));
  src.node_sets.push_back(std::move(set_src));
}

void ScenarioLoader::ParseRequestBody(const MapFields& m, Request& r, RequestSrc& src,
                                      RequestPositions& at) {
  for (const std::string_view key : {"name", "tenant", "project"}) {
    if (const Field* f = m.Get(key)) {
      at.value[f->path] = f->pos();
      at.key[f->path] = f->key_pos;
    }
  }
  ReadRequestMap(m, "", r, src, at);
  ReportValidation(r, at);
}

void ScenarioLoader::ReadRequestMap(const MapFields& m, std::string_view parent, Request& r,
                                    RequestSrc& src, RequestPositions& at) {
  for (const RequestField* spec : ChildFields(parent)) {
    const std::string_view key = spec->key();
    if (parent.empty() && IsCallersKey(key)) continue;  // the caller reads these
    std::string required_expected;
    if (spec->required) {
      required_expected = spec->type == FieldType::kEnum ? "one of " + JoinNames(spec->values)
                                                         : std::string(FieldTypeName(spec->type));
    }
    const Field* f = spec->required ? m.Require(key, required_expected) : m.Get(key);
    if (f == nullptr) continue;
    at.value[f->path] = f->pos();
    at.key[f->path] = f->key_pos;
    const size_t errors_before = diag_.size();
    FieldValue value;
    switch (spec->type) {
      case FieldType::kObject: {
        std::vector<std::string_view> keys;
        for (const RequestField* c : ChildFields(spec->path)) keys.push_back(c->key());
        MapFields sub(diag_, *f, keys, "a map with " + ChildKeyList(spec->path));
        if (!sub.is_map()) break;
        spec->set(r, true);
        ReadRequestMap(sub, spec->path, r, src, at);
        continue;
      }
      case FieldType::kInt: {
        const NumberRange range{spec->bounds.min, spec->bounds.max, spec->bounds.min_exclusive};
        // Any whole number that fits is taken; its bounds are the schema validation's.
        std::optional<int64_t> v;
        if (f->value.IsScalar() && !yaml_reader::IsQuotedScalar(f->value))
          v = yaml_reader::ParseInteger(f->value.Scalar());
        if (!v || *v < std::numeric_limits<int>::min() || *v > std::numeric_limits<int>::max())
          v = yaml_reader::ReadInt(diag_, *f, range);
        if (v) value = *v;
        break;
      }
      case FieldType::kNumber: {
        const NumberRange range{spec->bounds.min, spec->bounds.max, spec->bounds.min_exclusive};
        std::optional<double> v;
        if (f->value.IsScalar() && !yaml_reader::IsQuotedScalar(f->value))
          v = yaml_reader::ParseDouble(f->value.Scalar());
        if (!v) v = yaml_reader::ReadNumber(diag_, *f, range);
        if (v) value = *v;
        break;
      }
      case FieldType::kBool:
        if (auto b = yaml_reader::ReadBool(diag_, *f)) value = *b;
        break;
      case FieldType::kString:
        if (auto v = yaml_reader::ReadString(diag_, *f, spec->noun)) value = std::move(*v);
        break;
      case FieldType::kEnum:
        if (auto i = ReadEnum(*f, spec->noun, spec->values)) value = std::string(spec->values[*i]);
        break;
      case FieldType::kStringList: {
        std::vector<std::string> items;
        std::vector<Ref> refs = ReadNameList(*f, spec->noun, items, spec->single_allowed);
        for (const Ref& ref : refs) at.value[ref.path] = ref.pos;
        if (spec->path == "select.class") src.classes = std::move(refs);
        if (spec->path == "compliance") src.compliance = std::move(refs);
        if (!items.empty()) value = std::move(items);
        break;
      }
      case FieldType::kPredicate:
        if (f->value.IsScalar()) at.text[f->path] = f->value.Scalar();
        if (auto p = ReadPredicate(
                *f, NumberRange{spec->bounds.min, spec->bounds.max, spec->bounds.min_exclusive}))
          value = *p;
        break;
      case FieldType::kLabelMap: {
        MapFields lm(diag_, *f, {}, "a map of label names to values or operators");
        for (const auto& [label, item] : lm.entries()) {
          at.value[item.path] = item.pos();
          if (auto p = ReadLabelPredicate(label, item)) r.select.labels.push_back(std::move(*p));
        }
        continue;
      }
    }
    if (!std::holds_alternative<std::monostate>(value)) {
      spec->set(r, value);
    } else if (diag_.size() != errors_before) {
      // Reported already: a neutral value keeps validation from reporting the field again.
      FieldValue placeholder = PlaceholderValue(*spec);
      if (!std::holds_alternative<std::monostate>(placeholder)) spec->set(r, placeholder);
    }
  }
}

void ScenarioLoader::ReportValidation(const Request& r, const RequestPositions& at) {
  for (const ErrorDetail& d : ValidateRequestFields(r)) {
    std::string path = at.base.empty() ? d.path : yaml_reader::JoinPath(at.base, d.path);
    if (d.path.empty()) path = at.base;
    // Reported where it was written: the value, the key for conflicting fields, else the nearest
    // enclosing map that was written (a missing field is missing from its map).
    const auto& table = d.code == "conflicting_fields" ? at.key : at.value;
    SourcePos pos = at.root;
    std::string where = at.base;
    for (std::string p = path; !p.empty() && p.size() > at.base.size();) {
      if (auto it = table.find(p); it != table.end()) {
        pos = it->second;
        where = p;
        break;
      }
      const size_t cut = p.find_last_of(".[");
      if (cut == std::string::npos) break;
      p.resize(cut);
    }
    const size_t semi = d.message.find("; expected ");
    std::string what = semi == std::string::npos ? d.message : d.message.substr(0, semi);
    if (auto it = at.text.find(path); it != at.text.end() && d.code == "out_of_range")
      what = Quoted(it->second) + " is out of range";  // as the person wrote it
    const std::string expected =
        semi == std::string::npos ? std::string() : d.message.substr(semi + 11);
    diag_.Error(pos, where, what, expected, d.code, path);
  }
}

// ---------------------------------------------------------------------------------------------
// Checks

void ScenarioLoader::Dangling(const Ref& ref, std::string_view kind, const std::string& name,
                              std::string_view section, const NameTable& table) {
  if (unreadable_sections_.count(std::string(section))) return;
  for (const std::string& prefix : failed_generate_prefixes_) {
    // The entry that would have made this name could not run; its own error says why.
    if (name.compare(0, prefix.size(), prefix) == 0) return;
  }
  std::string what = std::string(kind) + " " + Quoted(name) + " does not exist";
  std::string expected;
  constexpr size_t kListAll = 8;
  constexpr size_t kSuggestAmong = 5000;  // keeps error reports cheap on huge inventories
  if (table.size() == 0) {
    expected =
        "a " + std::string(kind) + " declared in " + std::string(section) + " (there are none)";
  } else if (table.size() <= kListAll) {
    expected = "one of " + JoinNames(table.Names());
  } else {
    if (table.size() <= kSuggestAmong) {
      const std::string close = yaml_reader::ClosestName(name, table.Names());
      if (!close.empty()) what += " (did you mean " + Quoted(close) + "?)";
    }
    expected = "a " + std::string(kind) + " declared in " + std::string(section);
  }
  diag_.Error(ref.pos, ref.path, what, expected);
}

void ScenarioLoader::Duplicate(const Ref& ref, std::string_view kind, const std::string& name,
                               const NameTable& table) {
  diag_.Error(ref.pos, ref.path,
              "duplicate " + std::string(kind) + " name " + Quoted(name) + " (first at " +
                  PosText(table.FirstPos(name)) + ")",
              "unique " + std::string(kind) + " names");
}

void ScenarioLoader::ExpandGenerate() {
  const Inventory& inv = s_.inventory;
  for (GenerateSrc& g : generates_) {
    if (g.valid) {
      // Classes must be declared by hand or be well-known ones.
      std::vector<std::string> used;
      if (g.spec.class_mix.empty()) {
        used.push_back(g.spec.node_class);
      } else {
        for (const auto& [name, weight] : g.spec.class_mix) used.push_back(name);
      }
      for (size_t k = 0; k < used.size() && k < g.classes.size(); ++k) {
        const bool declared = std::any_of(inv.node_classes.begin(), inv.node_classes.end(),
                                          [&](const NodeClass& c) { return c.name == used[k]; });
        if (!declared && !BuiltinNodeClass(used[k])) {
          diag_.Error(g.classes[k].pos, g.classes[k].path, "unknown node class " + Quoted(used[k]),
                      "a class declared in inventory.nodeClasses or one of " +
                          JoinNames(BuiltinNodeClassNames()));
          g.valid = false;
        }
      }
    }
    if (g.valid) {
      Status st = Generate(g.spec, s_);
      if (!st.ok()) {
        const SourcePos at = g.name ? g.name->pos : g.pos;
        const std::string path = g.name ? g.name->path : g.path;
        for (const std::string& message : st.messages()) {
          const size_t split = message.find("; expected ");
          if (split == std::string::npos) {
            diag_.Error(at, path, message, "");
          } else {
            diag_.Error(at, path, message.substr(0, split), message.substr(split + 11));
          }
        }
        g.valid = false;
      }
    }
    if (!g.valid) failed_generate_prefixes_.push_back(g.spec.name + "-");
  }
}

void ScenarioLoader::CheckInventory() {
  const Inventory& inv = s_.inventory;
  // Name tables: hand-written entities first (duplicates reported at the second one), then the
  // generated ones, which Generate() already checked against everything before them.
  auto index = [&](const auto& items, const auto& srcs, NameTable& table, std::string_view kind) {
    for (size_t i = 0; i < items.size(); ++i) {
      const bool written = i < srcs.size();
      const SourcePos pos = written && srcs[i].name ? srcs[i].name->pos : SourcePos{};
      if (written && !srcs[i].name) continue;  // missing name, reported already
      if (!table.Add(items[i].name, static_cast<int>(i), pos) && written) {
        Duplicate(*srcs[i].name, kind, items[i].name, table);
      }
    }
  };
  index(inv.sites, sites_, site_names_, "site");
  index(inv.power_domains, power_domains_, power_domain_names_, "power domain");
  index(inv.switches, switches_, switch_names_, "switch");
  index(inv.racks, racks_, rack_names_, "rack");
  index(inv.node_classes, classes_, class_names_, "node class");
  index(inv.nodes, nodes_, node_names_, "node");
  // Per role, only to list the right candidates when a leaf or spine reference dangles.
  NameTable leaf_names, spine_names;
  for (size_t i = 0; i < inv.switches.size(); ++i) {
    NameTable& table = inv.switches[i].role == SwitchRole::kLeaf ? leaf_names : spine_names;
    table.Add(inv.switches[i].name, static_cast<int>(i), SourcePos{});
  }

  for (size_t i = 0; i < power_domains_.size(); ++i) {
    const PowerDomainSrc& src = power_domains_[i];
    const PowerDomain& pd = inv.power_domains[i];
    if (src.site && site_names_.Find(pd.site) < 0)
      Dangling(*src.site, "site", pd.site, "inventory.sites", site_names_);
  }
  for (size_t i = 0; i < switches_.size(); ++i) {
    const SwitchSrc& src = switches_[i];
    const Switch& sw = inv.switches[i];
    if (src.site && site_names_.Find(sw.site) < 0)
      Dangling(*src.site, "site", sw.site, "inventory.sites", site_names_);
    for (size_t k = 0; k < src.uplinks.size(); ++k) {
      const std::string& up = sw.uplinks[k];
      const int target = switch_names_.Find(up);
      if (target < 0) {
        if (sw.role == SwitchRole::kLeaf) {
          Dangling(src.uplinks[k], "spine", up, "inventory.switches", spine_names);
        } else {
          Dangling(src.uplinks[k], "switch", up, "inventory.switches", switch_names_);
        }
      } else if (up == sw.name) {
        diag_.Error(src.uplinks[k].pos, src.uplinks[k].path,
                    "switch " + Quoted(up) + " uplinks to itself", "a switch one tier up");
      } else if (sw.role == SwitchRole::kLeaf && inv.switches[target].role != SwitchRole::kSpine) {
        diag_.Error(src.uplinks[k].pos, src.uplinks[k].path, "switch " + Quoted(up) + " is a leaf",
                    "a spine (a leaf's uplinks are spines)");
      }
    }
  }
  for (size_t i = 0; i < racks_.size(); ++i) {
    const RackSrc& src = racks_[i];
    const Rack& rack = inv.racks[i];
    const bool site_ok = src.site && site_names_.Find(rack.site) >= 0;
    if (src.site && !site_ok)
      Dangling(*src.site, "site", rack.site, "inventory.sites", site_names_);
    for (size_t k = 0; k < src.power_domains.size(); ++k) {
      const std::string& name = rack.power_domains[k];
      const int pd = power_domain_names_.Find(name);
      if (pd < 0) {
        Dangling(src.power_domains[k], "power domain", name, "inventory.powerDomains",
                 power_domain_names_);
      } else if (site_ok && inv.power_domains[pd].site != rack.site) {
        diag_.Error(src.power_domains[k].pos, src.power_domains[k].path,
                    "power domain " + Quoted(name) + " is in site " +
                        Quoted(inv.power_domains[pd].site) + ", not the rack's site " +
                        Quoted(rack.site),
                    "a power domain of site " + Quoted(rack.site));
      }
    }
  }
  std::unordered_map<std::string, PortOwner> macs;  // lower-cased MAC -> where first seen
  std::map<std::pair<std::string, std::string>, PortOwner> cabled;  // (switch, port) -> port
  for (size_t i = 0; i < nodes_.size(); ++i) {
    const NodeSrc& src = nodes_[i];
    const Node& node = inv.nodes[i];
    if (src.node_class && class_names_.Find(node.node_class) < 0) {
      Dangling(*src.node_class, "node class", node.node_class, "inventory.nodeClasses",
               class_names_);
    }
    const int rack = src.rack ? rack_names_.Find(node.rack) : -1;
    if (src.rack && rack < 0)
      Dangling(*src.rack, "rack", node.rack, "inventory.racks", rack_names_);
    // Site consistency only means something once the rack's own site is known to be right.
    const bool rack_site_ok = rack >= 0 && site_names_.Find(inv.racks[rack].site) >= 0;
    if (src.leaf) {
      const int leaf = switch_names_.Find(node.leaf);
      if (leaf < 0) {
        Dangling(*src.leaf, "leaf switch", node.leaf, "inventory.switches", leaf_names);
      } else if (inv.switches[leaf].role != SwitchRole::kLeaf) {
        diag_.Error(src.leaf->pos, src.leaf->path, "switch " + Quoted(node.leaf) + " is a spine",
                    "a leaf switch");
      } else if (rack_site_ok && !inv.switches[leaf].site.empty() &&
                 inv.switches[leaf].site != inv.racks[rack].site) {
        diag_.Error(src.leaf->pos, src.leaf->path,
                    "leaf " + Quoted(node.leaf) + " is in site " + Quoted(inv.switches[leaf].site) +
                        ", not the rack's site " + Quoted(inv.racks[rack].site),
                    "a leaf of site " + Quoted(inv.racks[rack].site));
      }
    }
    if (src.power_domain) {
      const int pd = power_domain_names_.Find(node.power_domain);
      if (pd < 0) {
        Dangling(*src.power_domain, "power domain", node.power_domain, "inventory.powerDomains",
                 power_domain_names_);
      } else if (rack_site_ok) {
        const Rack& r = inv.racks[rack];
        const std::string& pd_site = inv.power_domains[pd].site;
        if (pd_site != r.site) {
          diag_.Error(src.power_domain->pos, src.power_domain->path,
                      "power domain " + Quoted(node.power_domain) + " is in site " +
                          Quoted(pd_site) + ", not site " + Quoted(r.site) + " of rack " +
                          Quoted(r.name),
                      "a power domain of site " + Quoted(r.site));
        } else if (!r.power_domains.empty() &&
                   std::find(r.power_domains.begin(), r.power_domains.end(), node.power_domain) ==
                       r.power_domains.end()) {
          diag_.Error(
              src.power_domain->pos, src.power_domain->path,
              "power domain " + Quoted(node.power_domain) + " does not feed rack " + Quoted(r.name),
              "one of the rack's power domains: " + JoinNames(r.power_domains));
        }
      }
    }
    if (src.mac) {
      auto [it, fresh] = macs.emplace(LowerAscii(node.mac), PortOwner{i, -1});
      if (!fresh) {
        diag_.Error(src.mac->pos, src.mac->path,
                    "MAC address " + Quoted(node.mac) + " is already used by node " +
                        Quoted(inv.nodes[it->second.node].name),
                    "a MAC address unique to this node");
      }
    }
    CheckPorts(i, macs, cabled);
  }
  CheckNetworks();
}

void ScenarioLoader::CheckPorts(size_t i, std::unordered_map<std::string, PortOwner>& macs,
                                std::map<std::pair<std::string, std::string>, PortOwner>& cabled) {
  const Inventory& inv = s_.inventory;
  const Node& node = inv.nodes[i];
  const NodeSrc& src = nodes_[i];
  const int leaf = src.leaf ? switch_names_.Find(node.leaf) : -1;
  const bool leaf_ok = leaf >= 0 && inv.switches[leaf].role == SwitchRole::kLeaf;
  for (size_t k = 0; k < src.ports.size() && k < node.ports.size(); ++k) {
    const NodePort& port = node.ports[k];
    const PortSrc& ps = src.ports[k];
    if (ps.name) {
      for (size_t e = 0; e < k; ++e) {
        if (node.ports[e].name == port.name) {
          diag_.Error(ps.name->pos, ps.name->path, "duplicate port name " + Quoted(port.name),
                      "port names unique within the node");
          break;
        }
      }
    }
    if (ps.mac) {
      auto [it, fresh] = macs.emplace(LowerAscii(port.mac), PortOwner{i, static_cast<int>(k)});
      if (!fresh && it->second.node != i) {
        diag_.Error(ps.mac->pos, ps.mac->path,
                    "MAC address " + Quoted(port.mac) + " is already used by node " +
                        Quoted(inv.nodes[it->second.node].name),
                    "a MAC address unique to this node");
      } else if (!fresh && it->second.port >= 0) {
        diag_.Error(ps.mac->pos, ps.mac->path,
                    "MAC address " + Quoted(port.mac) + " is already used by port " +
                        Quoted(node.ports[it->second.port].name) + " of this node",
                    "a MAC address unique to this port");
      } else if (!fresh) {
        it->second.port = static_cast<int>(k);  // the node's own `mac` is this port's
      }
    }
    if (!ps.switch_name) continue;
    const int sw = switch_names_.Find(port.switch_name);
    if (sw < 0) {
      Dangling(*ps.switch_name, "switch", port.switch_name, "inventory.switches", switch_names_);
      continue;
    }
    if (leaf_ok && port.switch_name != node.leaf) {
      diag_.Error(
          ps.switch_name->pos, ps.switch_name->path,
          "switch " + Quoted(port.switch_name) + " is not the node's leaf " + Quoted(node.leaf),
          "the node's leaf " + Quoted(node.leaf) + " (a node's ports are cabled to its leaf)");
      continue;
    }
    if (!ps.port) continue;
    auto [it, fresh] = cabled.emplace(std::make_pair(port.switch_name, port.port),
                                      PortOwner{i, static_cast<int>(k)});
    if (!fresh) {
      const Node& other = inv.nodes[it->second.node];
      diag_.Error(ps.port->pos, ps.port->path,
                  "port " + Quoted(port.port) + " of switch " + Quoted(port.switch_name) +
                      " is already cabled to node " + Quoted(other.name) + " port " +
                      Quoted(other.ports[it->second.port].name),
                  "one cable per switch port");
    }
  }
}

void ScenarioLoader::CheckNetworks() {
  if (!s_.inventory.networks) return;
  const NetworkPolicy& n = *s_.inventory.networks;
  const NetworksSrc& src = networks_;
  if (src.vlan_from && src.vlan_to) {
    if (n.tenant_vlan_from > n.tenant_vlan_to) {
      diag_.Error(src.vlan_to->pos, src.vlan_to->path,
                  "tenant VLANs end at " + std::to_string(n.tenant_vlan_to) +
                      ", before they start at " + std::to_string(n.tenant_vlan_from),
                  "to >= from");
    } else if (src.quarantine_vlan && n.quarantine_vlan >= n.tenant_vlan_from &&
               n.quarantine_vlan <= n.tenant_vlan_to) {
      diag_.Error(src.quarantine_vlan->pos, src.quarantine_vlan->path,
                  "the quarantine VLAN " + std::to_string(n.quarantine_vlan) +
                      " lies in the tenant VLANs " + std::to_string(n.tenant_vlan_from) + ".." +
                      std::to_string(n.tenant_vlan_to),
                  "a VLAN outside the tenant range");
    }
  }
  if (src.pool) {
    const Ipv4Subnet pool = *ParseCidr(n.tenant_subnet_pool);
    if (n.tenant_prefix_length <= pool.prefix_length) {
      const Ref& at = src.prefix_length ? *src.prefix_length : *src.pool;
      diag_.Error(at.pos, at.path,
                  "tenant subnets of /" + std::to_string(n.tenant_prefix_length) +
                      " are not smaller than the pool " + Quoted(n.tenant_subnet_pool),
                  "a prefix length longer than the pool's /" + std::to_string(pool.prefix_length) +
                      " and at most 30");
    }
  }
}

void ScenarioLoader::CheckTenantsAllocationsRequests() {
  for (size_t i = 0; i < s_.tenants.size(); ++i) {
    const bool written = i < tenants_.size();
    if (written && !tenants_[i].name) continue;
    const SourcePos pos = written ? tenants_[i].name->pos : SourcePos{};
    if (!tenant_names_.Add(s_.tenants[i].name, static_cast<int>(i), pos) && written) {
      Duplicate(*tenants_[i].name, "tenant", s_.tenants[i].name, tenant_names_);
    }
  }
  for (size_t i = 0; i < tenants_.size() && i < s_.tenants.size(); ++i) CheckProjects(i);

  NameTable allocation_names;
  struct Holder {
    size_t allocation;
    SourcePos pos;
  };
  std::unordered_map<std::string, Holder> held;  // node -> first allocation naming it
  for (size_t i = 0; i < allocations_.size(); ++i) {
    const AllocationSrc& src = allocations_[i];
    const Allocation& a = s_.allocations[i];
    if (src.name && !allocation_names.Add(a.name, static_cast<int>(i), src.name->pos)) {
      Duplicate(*src.name, "allocation", a.name, allocation_names);
    }
    if (src.tenant && tenant_names_.Find(a.tenant) < 0)
      Dangling(*src.tenant, "tenant", a.tenant, "tenants", tenant_names_);
    CheckProjectRef(src.project, a.project, src.tenant ? tenant_names_.Find(a.tenant) : -1);
    if (src.request && a.request) {
      CheckRequestRefs(*a.request, *src.request, src.tenant ? tenant_names_.Find(a.tenant) : -1);
      if (a.request->nodes && *a.request->nodes != static_cast<int>(a.nodes.size()) &&
          src.request_nodes) {
        diag_.Error(src.request_nodes->pos, src.request_nodes->path,
                    "the request asks for " + std::to_string(*a.request->nodes) +
                        " nodes but the allocation lists " + std::to_string(a.nodes.size()),
                    "the number of nodes the allocation lists");
      }
    }
    for (size_t k = 0; k < src.nodes.size(); ++k) {
      const std::string& node = a.nodes[k];
      if (node_names_.Find(node) < 0) {
        Dangling(src.nodes[k], "node", node, "inventory.nodes", node_names_);
        continue;
      }
      auto [it, fresh] = held.emplace(node, Holder{i, src.nodes[k].pos});
      if (!fresh) {
        const Allocation& first = s_.allocations[it->second.allocation];
        diag_.Error(src.nodes[k].pos, src.nodes[k].path,
                    "node " + Quoted(node) + " is already in allocation " + Quoted(first.name) +
                        " (at " + PosText(it->second.pos) + ")",
                    "each node in at most one allocation");
      }
    }
  }

  NameTable request_names;
  for (size_t i = 0; i < requests_.size(); ++i) {
    const RequestSrc& src = requests_[i];
    const Request& r = s_.requests[i];
    if (src.name && !request_names.Add(r.name, static_cast<int>(i), src.name->pos)) {
      Duplicate(*src.name, "request", r.name, request_names);
    }
    const int tenant = src.tenant ? tenant_names_.Find(r.tenant) : -1;
    if (src.tenant && tenant < 0)
      Dangling(*src.tenant, "tenant", r.tenant, "tenants", tenant_names_);
    CheckProjectRef(src.project, r.project, tenant);
    CheckRequestRefs(r, src, tenant);
  }
}

void ScenarioLoader::CheckProjects(size_t i) {
  const Tenant& t = s_.tenants[i];
  const TenantSrc& src = tenants_[i];
  NameTable names;
  for (size_t k = 0; k < t.projects.size() && k < src.projects.size(); ++k) {
    const Project& p = t.projects[k];
    const ProjectSrc& psrc = src.projects[k];
    if (psrc.name && !names.Add(p.name, static_cast<int>(k), psrc.name->pos)) {
      Duplicate(*psrc.name, "project", p.name, names);
    }
    for (size_t r = 0; r < psrc.quota.limits.size(); ++r) {
      const std::optional<double> own = QuotaLimit(p.quota, r);
      const std::optional<double> tenants = QuotaLimit(t.quota, r);
      if (!own || !tenants || *own <= *tenants || !psrc.quota.limits[r]) continue;
      const std::string key(kQuotaKeys[r]);
      const Ref& at = *psrc.quota.limits[r];
      diag_.Error(at.pos, at.path,
                  "project " + Quoted(p.name) + " has quota " + key + " " +
                      yaml_reader::FormatNumber(*own) + ", above tenant " + Quoted(t.name) +
                      "'s quota " + key + " " + yaml_reader::FormatNumber(*tenants),
                  "at most " + yaml_reader::FormatNumber(*tenants) +
                      " (a project's quota is a share of its tenant's)");
    }
  }
}

void ScenarioLoader::CheckProjectRef(const std::optional<Ref>& ref, const std::string& project,
                                     int tenant) {
  if (!ref || tenant < 0) return;
  const Tenant& t = s_.tenants[tenant];
  if (HasProject(t, project)) return;
  diag_.Error(ref->pos, ref->path,
              "project " + Quoted(project) + " is not a project of tenant " + Quoted(t.name),
              t.projects.empty()
                  ? "\"default\" or no project (tenant " + Quoted(t.name) + " declares no projects)"
                  : "one of " + JoinNames(ProjectNames(t)) + ", or no project (\"default\")");
}

void ScenarioLoader::CheckClusterTemplates() {
  NameTable template_names;
  const std::vector<std::string> classes = class_names_.Names();
  for (size_t i = 0; i < templates_.size() && i < s_.cluster_templates.size(); ++i) {
    const ClusterTemplate& t = s_.cluster_templates[i];
    const TemplateSrc& src = templates_[i];
    if (src.name && !template_names.Add(t.name, static_cast<int>(i), src.name->pos)) {
      Duplicate(*src.name, "cluster template", t.name, template_names);
    }
    NameTable set_names;
    for (size_t k = 0; k < t.node_sets.size() && k < src.node_sets.size(); ++k) {
      const NodeSet& set = t.node_sets[k];
      const NodeSetSrc& set_src = src.node_sets[k];
      if (set_src.name && !set_names.Add(set.name, static_cast<int>(k), set_src.name->pos)) {
        Duplicate(*set_src.name, "node set", set.name, set_names);
      }
      if (!set_src.node_class || class_names_.Find(set.node_class) >= 0) continue;
      if (unreadable_sections_.count("inventory.nodeClasses")) continue;
      std::string what = "unknown node class " + Quoted(set.node_class);
      const std::string close = yaml_reader::ClosestName(set.node_class, classes);
      if (!close.empty()) what += " (did you mean " + Quoted(close) + "?)";
      diag_.Error(set_src.node_class->pos, set_src.node_class->path, what,
                  classes.empty() ? std::string("a node class declared in inventory.nodeClasses "
                                                "(there are none)")
                                  : "one of " + JoinNames(classes));
    }
  }
}

void ScenarioLoader::CheckRequestRefs(const Request& r, const RequestSrc& src, int tenant) {
  for (size_t k = 0; k < src.classes.size(); ++k) {
    if (class_names_.Find(r.select.classes[k]) < 0) {
      Dangling(src.classes[k], "node class", r.select.classes[k], "inventory.nodeClasses",
               class_names_);
    }
  }
  if (tenant < 0) return;
  const Tenant& t = s_.tenants[tenant];
  for (size_t k = 0; k < src.compliance.size(); ++k) {
    const std::string& c = r.compliance[k];
    if (std::find(t.compliance.begin(), t.compliance.end(), c) != t.compliance.end()) continue;
    diag_.Error(src.compliance[k].pos, src.compliance[k].path,
                "tenant " + Quoted(t.name) + " may not ask for " + Quoted(c),
                t.compliance.empty()
                    ? "no compliance (the tenant's compliance list is empty)"
                    : "one of the tenant's compliance: " + JoinNames(t.compliance));
  }
}

Result<Request> ScenarioLoader::LoadRequest(std::string_view yaml) {
  Request r;
  try {
    const std::string text(yaml);
    // As for a scenario: bytes that are not UTF-8 and more YAML values than a parse may build are
    // refused before the parse (a request string may come from a store or a client, not a file).
    if (!yaml_reader::CheckYamlText(diag_, text))
      return Status(StatusCode::kInvalidArgument, diag_.Sorted());
    if (std::optional<SourcePos> second = yaml_reader::SecondDocumentStart(text)) {
      diag_.Error(*second, "", "a second YAML document", "one request per file");
    }
    const YAML::Node root = YAML::Load(text);
    const Field root_field{root, SourcePos{1, 1}, ""};
    MapFields m(diag_, root_field, RequestKeys(),
                "a request: a map with nodes or gpus, select, topology, ...");
    if (m.is_map()) {
      RequestSrc src;
      RequestPositions at{"", m.pos(), {}, {}, {}};
      src.name = ReadName(m, "name", "a request name", r.name, false);
      src.tenant = ReadName(m, "tenant", "the name of a tenant", r.tenant, false);
      src.project = ReadName(m, "project", "the name of a project of the tenant", r.project, false);
      ParseRequestBody(m, r, src, at);
    }
  } catch (const YAML::Exception& e) {
    const SourcePos at =
        e.mark.is_null() ? SourcePos{} : SourcePos{e.mark.line + 1, e.mark.column + 1};
    diag_.Raw(at, "YAML syntax error: " + yaml_reader::Printable(e.msg));
  }
  if (!diag_.empty()) return Failed(diag_);
  return r;
}

Result<Scenario> ScenarioLoader::Load(std::string_view yaml) {
  try {
    const std::string text(yaml);
    if (!stored_ && !yaml_reader::CheckYamlText(diag_, text))
      return Status(StatusCode::kInvalidArgument, diag_.Sorted());
    if (std::optional<SourcePos> second = yaml_reader::SecondDocumentStart(text)) {
      diag_.Error(*second, "", "a second YAML document", "one scenario per file");
    }
    ParseRoot(YAML::Load(text));
  } catch (const YAML::DeepRecursion& e) {
    diag_.Raw({e.mark.line + 1, e.mark.column + 1},
              "YAML syntax error: nested deeper than " + std::to_string(e.depth()) + " levels");
    return Failed(diag_);
  } catch (const YAML::Exception& e) {
    const SourcePos at =
        e.mark.is_null() ? SourcePos{} : SourcePos{e.mark.line + 1, e.mark.column + 1};
    diag_.Raw(at, "YAML syntax error: " + yaml_reader::Printable(e.msg));
    return Failed(diag_);
  }
  ExpandGenerate();
  CheckInventory();
  if (diag_.empty()) {  // the network is checked once every name in it resolves
    for (const NetworkProblem& p : CheckNetwork(s_.inventory)) {
      using F = NetworkProblem::Field;
      std::optional<Ref> at;  // none for generated entities: reported at the top of the file
      if (p.field == F::kNodeLeaf && p.index < nodes_.size()) at = nodes_[p.index].leaf;
      if (p.field == F::kSwitchName && p.index < switches_.size()) at = switches_[p.index].name;
      if (p.field == F::kSwitchUplink && p.index < switches_.size() &&
          p.item < switches_[p.index].uplinks.size())
        at = switches_[p.index].uplinks[p.item];
      diag_.Error(at ? at->pos : SourcePos{}, at ? at->path : "inventory", p.what, p.expected);
    }
  }
  CheckTenantsAllocationsRequests();
  CheckClusterTemplates();
  if (!diag_.empty()) return Failed(diag_);
  s_.ApplyAllocations();
  Status indexed = s_.inventory.BuildIndex();
  if (!indexed.ok()) {
    // The checks above should have caught everything with a position; this is the backstop.
    std::vector<std::string> messages;
    for (const std::string& m : indexed.messages()) messages.push_back(diag_.source() + ": " + m);
    return Status(StatusCode::kInvalidArgument, std::move(messages));
  }
  return std::move(s_);
}

}  // namespace

Result<Scenario> LoadStoredScenario(std::string_view yaml) {
  try {
    ScenarioLoader loader{"store inventory", /*stored=*/true};
    return loader.Load(yaml);
  } catch (const std::bad_alloc&) {
    return WithReason(StatusCode::kInternal, "out_of_memory",
                      "store inventory: out of memory while loading");
  } catch (const std::exception& e) {
    return InternalError(std::string("store inventory: unexpected error while loading: ") +
                         e.what());
  }
}

Result<Scenario> LoadScenarioString(std::string_view yaml, std::string_view source_name) {
  try {
    ScenarioLoader loader{std::string(source_name)};
    return loader.Load(yaml);
  } catch (const std::bad_alloc&) {  // not the input's fault: an internal error, exit 1
    return WithReason(StatusCode::kInternal, "out_of_memory",
                      std::string(source_name) + ": out of memory while loading");
  } catch (const std::exception& e) {
    return InternalError(std::string(source_name) +
                         ": unexpected error while loading: " + e.what());
  }
}

Result<Request> LoadRequestFile(const std::string& path) {
  Result<std::string> text = yaml_reader::ReadBoundedFile(path, "request");
  if (!text.ok()) return text.status();
  return LoadRequestString(*text, path);  // which checks the text before it parses it
}

Result<Request> LoadRequestString(std::string_view yaml, std::string_view source_name) {
  try {
    ScenarioLoader loader{std::string(source_name)};
    return loader.LoadRequest(yaml);
  } catch (const std::bad_alloc&) {  // not the input's fault: an internal error, exit 1
    return WithReason(StatusCode::kInternal, "out_of_memory",
                      std::string(source_name) + ": out of memory while loading");
  } catch (const std::exception& e) {
    return InternalError(std::string(source_name) +
                         ": unexpected error while loading: " + e.what());
  }
}

Result<Scenario> LoadScenarioFile(const std::string& path) {
  Result<std::string> text = yaml_reader::ReadBoundedFile(path, "scenario");
  if (!text.ok()) return text.status();
  return LoadScenarioString(*text, path);
}

}  // namespace topoplace
