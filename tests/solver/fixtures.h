// Small data centres, tenants and requests built in code for the solver tests.
//
// Three kinds of fixture:
// - DataCentreBuilder: a fluent way to write a data centre entity by entity, with standard node
//   classes (h100x8, a100x8, l40sx4, gb200x4, cpu) and helpers that fill racks with nodes;
// - ReferenceDataCentre(): one fixed, documented layout most hand-written tests share;
// - seeded generators: RandomDataCentre()/RandomRequest() for property tests (small enough for an
//   exhaustive oracle) and GeneratedDataCentre() for scale (thousands of nodes).
//
// Generators map the RNG output with their own arithmetic (modulo), never the standard
// distributions, so a seed gives the same data centre on every platform and library version.
// Everything throws std::runtime_error on an inconsistent fixture (gtest reports it as a failure).
#pragma once

#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "model/entities.h"
#include "model/request.h"
#include "model/scenario.h"
#include "model/topology.h"
#include "solver/solver.h"

namespace topoplace::fixtures {

// ---------------------------------------------------------------------------------------------
// Deterministic random numbers.

class Rng {
 public:
  explicit Rng(uint64_t seed) : engine_(seed * 0x9E3779B97F4A7C15ull + 1) {}
  // Uniform-enough in [0, n); n > 0.
  uint64_t Below(uint64_t n) { return engine_() % n; }
  // In [lo, hi], lo <= hi.
  int Between(int lo, int hi) {
    return lo + static_cast<int>(Below(static_cast<uint64_t>(hi - lo + 1)));
  }
  bool Percent(int p) { return static_cast<int>(Below(100)) < p; }
  template <typename T>
  const T& Pick(const std::vector<T>& items) {
    return items[Below(items.size())];
  }

 private:
  std::mt19937_64 engine_;
};

// ---------------------------------------------------------------------------------------------
// Node classes.

inline NodeClass MakeClass(std::string name, int cores, double memory_gib, double storage_gib,
                           std::string gpu_model, int gpus, double cost_per_hour,
                           int nvlink_domain_size = 0) {
  NodeClass c;
  c.name = std::move(name);
  c.cpu = {cores, "cpu-" + std::to_string(cores)};
  c.memory_gib = memory_gib;
  c.storage_gib = storage_gib;
  c.gpu.model = gpus > 0 ? std::move(gpu_model) : std::string();
  c.gpu.count = gpus;
  c.gpu.memory_gib = gpus > 0 ? 80 : 0;
  c.gpu.nvlink_domain_size = nvlink_domain_size;
  c.cost_per_hour = cost_per_hour;
  return c;
}

// h100x8 (8x H100-SXM5-80GB, 112 cores, 2048 GiB, 30000 GiB, $98.32/h),
// a100x8 (8x A100-SXM4-80GB, 128 cores, 1024 GiB, 15000 GiB, $32.77/h),
// l40sx4 (4x L40S, 64 cores, 512 GiB, 7680 GiB, $12.50/h),
// gb200x4 (4x GB200, 144 cores, 960 GiB, 7680 GiB, $60.00/h, NVLink fabric of 8 GPUs: two
//          consecutive nodes of a rack share one nvlink domain),
// cpu (no GPU, 64 cores, 512 GiB, 4000 GiB, $2.40/h).
inline std::vector<NodeClass> StandardClasses() {
  return {
      MakeClass("h100x8", 112, 2048, 30000, "H100-SXM5-80GB", 8, 98.32, 8),
      MakeClass("a100x8", 128, 1024, 15000, "A100-SXM4-80GB", 8, 32.77, 8),
      MakeClass("l40sx4", 64, 512, 7680, "L40S", 4, 12.50),
      MakeClass("gb200x4", 144, 960, 7680, "GB200", 4, 60.00, 8),
      MakeClass("cpu", 64, 512, 4000, "", 0, 2.40),
  };
}

// ---------------------------------------------------------------------------------------------
// Building a data centre entity by entity.

struct NodeOptions {
  NodeState state = NodeState::kAvailable;
  std::string holder;  // a tenant; with state kAvailable this becomes kAllocated
  std::map<std::string, std::string> labels;
};

class DataCentreBuilder {
 public:
  DataCentreBuilder() { inv_.node_classes = StandardClasses(); }

  DataCentreBuilder& Site(std::string name, std::string jurisdiction,
                          std::vector<std::string> tags = {}) {
    inv_.sites.push_back({name, "region-" + name, std::move(jurisdiction), std::move(tags)});
    return *this;
  }
  DataCentreBuilder& PowerDomain(std::string name, std::string site) {
    inv_.power_domains.push_back({std::move(name), std::move(site)});
    return *this;
  }
  DataCentreBuilder& Spine(std::string name, std::string vendor, std::string site) {
    Switch s;
    s.name = std::move(name);
    s.role = SwitchRole::kSpine;
    s.vendor = std::move(vendor);
    s.site = std::move(site);
    inv_.switches.push_back(std::move(s));
    return *this;
  }
  DataCentreBuilder& Leaf(std::string name, std::string vendor, std::vector<std::string> uplinks,
                          std::string pod = "") {
    Switch s;
    s.name = std::move(name);
    s.role = SwitchRole::kLeaf;
    s.vendor = std::move(vendor);
    s.pod = std::move(pod);
    s.uplinks = std::move(uplinks);
    inv_.switches.push_back(std::move(s));
    return *this;
  }
  DataCentreBuilder& Rack(std::string name, std::string site, std::string row, std::string pod,
                          std::vector<std::string> power_domains,
                          std::vector<std::string> tags = {}) {
    inv_.racks.push_back({std::move(name), std::move(site), std::move(row), std::move(pod),
                          std::move(power_domains), std::move(tags)});
    return *this;
  }
  DataCentreBuilder& Class(NodeClass c) {
    inv_.node_classes.push_back(std::move(c));
    return *this;
  }
  DataCentreBuilder& Node(std::string name, std::string node_class, std::string rack,
                          std::string power_domain, std::string leaf, NodeOptions options = {}) {
    topoplace::Node n;
    n.name = std::move(name);
    n.node_class = std::move(node_class);
    n.rack = std::move(rack);
    n.power_domain = std::move(power_domain);
    n.leaf = std::move(leaf);
    n.labels = std::move(options.labels);
    n.state = options.state;
    n.holder = std::move(options.holder);
    if (!n.holder.empty() && n.state == NodeState::kAvailable) n.state = NodeState::kAllocated;
    inv_.nodes.push_back(std::move(n));
    return *this;
  }
  // Adds `count` nodes named "<rack>-nNN" (numbered after the rack's existing nodes) under `leaf`,
  // alternating over the rack's power domains.
  DataCentreBuilder& Nodes(const std::string& rack, const std::string& leaf,
                           const std::string& node_class, int count, NodeOptions options = {}) {
    const auto* r = FindRack(rack);
    if (r == nullptr || r->power_domains.empty()) {
      throw std::runtime_error("fixture: rack " + rack + " missing or without power domains");
    }
    int existing = 0;
    for (const auto& n : inv_.nodes) existing += n.rack == rack ? 1 : 0;
    for (int i = 0; i < count; ++i) {
      const int number = existing + i + 1;
      std::string name = rack + "-n" + (number < 10 ? "0" : "") + std::to_string(number);
      Node(std::move(name), node_class, rack,
           r->power_domains[(existing + i) % r->power_domains.size()], leaf, options);
    }
    return *this;
  }
  // Marks a node as held by `tenant` (allocated unless `state` says otherwise).
  DataCentreBuilder& Hold(const std::string& node, const std::string& tenant,
                          NodeState state = NodeState::kAllocated) {
    auto& n = FindNode(node);
    n.holder = tenant;
    n.state = state;
    return *this;
  }
  // Held by `tenant` for a request that asked for its `level` domain to itself.
  DataCentreBuilder& HoldExclusive(const std::string& node, const std::string& tenant,
                                   Level level) {
    Hold(node, tenant);
    FindNode(node).exclusive = level;
    return *this;
  }
  DataCentreBuilder& SetState(const std::string& node, NodeState state) {
    FindNode(node).state = state;
    return *this;
  }
  DataCentreBuilder& Label(const std::string& node, const std::string& key,
                           const std::string& value) {
    FindNode(node).labels[key] = value;
    return *this;
  }

  Inventory& inventory() { return inv_; }
  // The inventory, indexed.
  Inventory Build() const {
    Inventory inv = inv_;
    Status st = inv.BuildIndex();
    if (!st.ok()) throw std::runtime_error("fixture inventory: " + st.message());
    return inv;
  }

 private:
  const topoplace::Rack* FindRack(const std::string& name) const {
    for (const auto& r : inv_.racks) {
      if (r.name == name) return &r;
    }
    return nullptr;
  }
  topoplace::Node& FindNode(const std::string& name) {
    for (auto& n : inv_.nodes) {
      if (n.name == name) return n;
    }
    throw std::runtime_error("fixture: no node " + name);
  }
  Inventory inv_;
};

// ---------------------------------------------------------------------------------------------
// Tenants, problems, requests.

// Quota{.nodes = 3} trips -Wmissing-field-initializers; this spells the same positionally.
inline Quota MakeQuota(std::optional<int64_t> nodes, std::optional<int64_t> gpus = std::nullopt,
                       std::optional<int64_t> cpu_cores = std::nullopt,
                       std::optional<double> memory_gib = std::nullopt,
                       std::optional<double> storage_gib = std::nullopt) {
  Quota q;
  q.nodes = nodes;
  q.gpus = gpus;
  q.cpu_cores = cpu_cores;
  q.memory_gib = memory_gib;
  q.storage_gib = storage_gib;
  return q;
}

inline Tenant MakeTenant(std::string name, std::vector<std::string> compliance = {},
                         Quota quota = {}, std::optional<double> budget_per_hour = std::nullopt) {
  Tenant t;
  t.name = std::move(name);
  t.quota = quota;
  t.compliance = std::move(compliance);
  t.budget_per_hour = budget_per_hour;
  return t;
}

// Snapshots `inv` (indexing it if needed) and pairs it with the tenants.
inline PlacementProblem MakeProblem(Inventory inv, std::vector<Tenant> tenants) {
  auto snap = MakeSnapshot(std::move(inv));
  if (!snap.ok()) throw std::runtime_error("fixture snapshot: " + snap.status().message());
  return PlacementProblem{std::move(snap).value(), std::move(tenants)};
}
inline PlacementProblem MakeProblem(const DataCentreBuilder& builder, std::vector<Tenant> tenants) {
  return MakeProblem(builder.Build(), std::move(tenants));
}

// Node index by name in a problem's snapshot; throws when absent.
inline int NodeId(const PlacementProblem& problem, const std::string& name) {
  const int i = problem.snapshot->inventory.NodeIndex(name);
  if (i < 0) throw std::runtime_error("fixture: no node " + name);
  return i;
}
inline std::vector<int> NodeIds(const PlacementProblem& problem,
                                const std::vector<std::string>& names) {
  std::vector<int> ids;
  for (const auto& n : names) ids.push_back(NodeId(problem, n));
  std::sort(ids.begin(), ids.end());
  return ids;
}
inline std::vector<std::string> NodeNames(const PlacementProblem& problem,
                                          const std::vector<int>& ids) {
  std::vector<std::string> names;
  for (int i : ids) names.push_back(problem.snapshot->inventory.nodes[i].name);
  return names;
}

// Fluent request construction: RequestBuilder("job", "nlp-lab").Nodes(4).Classes({"h100x8"})
//   .Locality(Level::kLeaf).SpreadMaxFraction(Level::kPowerDomain, 0.5).Build().
class RequestBuilder {
 public:
  RequestBuilder(std::string name, std::string tenant) {
    r_.name = std::move(name);
    r_.tenant = std::move(tenant);
  }
  RequestBuilder& Nodes(int n) {
    r_.nodes = n;
    r_.gpus.reset();
    return *this;
  }
  RequestBuilder& Gpus(int g) {
    r_.gpus = g;
    r_.nodes.reset();
    return *this;
  }
  RequestBuilder& Classes(std::vector<std::string> classes) {
    r_.select.classes = std::move(classes);
    return *this;
  }
  RequestBuilder& GpuModels(std::vector<std::string> patterns) {
    r_.select.gpu_models = std::move(patterns);
    return *this;
  }
  RequestBuilder& GpuCount(const std::string& predicate) {
    r_.select.gpu_count = Predicate(predicate);
    return *this;
  }
  RequestBuilder& MemoryGib(const std::string& predicate) {
    r_.select.memory_gib = Predicate(predicate);
    return *this;
  }
  RequestBuilder& CpuCores(const std::string& predicate) {
    r_.select.cpu_cores = Predicate(predicate);
    return *this;
  }
  RequestBuilder& StorageGib(const std::string& predicate) {
    r_.select.storage_gib = Predicate(predicate);
    return *this;
  }
  RequestBuilder& LabelIn(std::string key, std::vector<std::string> values) {
    r_.select.labels.push_back({std::move(key), LabelPredicate::Op::kIn, std::move(values)});
    return *this;
  }
  RequestBuilder& LabelNotIn(std::string key, std::vector<std::string> values) {
    r_.select.labels.push_back({std::move(key), LabelPredicate::Op::kNotIn, std::move(values)});
    return *this;
  }
  RequestBuilder& LabelExists(std::string key, bool exists = true) {
    r_.select.labels.push_back(
        {std::move(key),
         exists ? LabelPredicate::Op::kExists : LabelPredicate::Op::kDoesNotExist,
         {}});
    return *this;
  }
  RequestBuilder& Locality(Level level, LocalityMode mode = LocalityMode::kRequired,
                           int max_domains = 1) {
    r_.locality = topoplace::Locality{level, mode, max_domains};
    return *this;
  }
  RequestBuilder& PreferLocality(Level level) {
    return Locality(level, LocalityMode::kPreferred, 1);
  }
  RequestBuilder& SpreadMaxPerDomain(Level level, int cap) {
    SpreadAt(level).max_per_domain = cap;
    return *this;
  }
  RequestBuilder& SpreadMaxFraction(Level level, double fraction) {
    SpreadAt(level).max_fraction = fraction;
    return *this;
  }
  RequestBuilder& SpreadMinDomains(Level level, int domains) {
    SpreadAt(level).min_domains = domains;
    return *this;
  }
  RequestBuilder& Compliance(std::vector<std::string> items) {
    r_.compliance = std::move(items);
    return *this;
  }
  RequestBuilder& Exclusive(Level level = Level::kRack) {
    r_.exclusive = level;
    return *this;
  }
  RequestBuilder& Roce(bool on = true) {
    r_.roce = on;
    return *this;
  }
  RequestBuilder& Budget(double max_cost_per_hour) {
    r_.max_cost_per_hour = max_cost_per_hour;
    return *this;
  }
  RequestBuilder& For(Purpose purpose) {
    r_.purpose = purpose;
    return *this;
  }
  RequestBuilder& Priority(int priority) {
    r_.priority = priority;
    return *this;
  }
  Request Build() const { return r_; }
  operator Request() const {
    return r_;
  }  // NOLINT: lets a builder stand where a Request is expected.

 private:
  static NumericPredicate Predicate(const std::string& text) {
    auto p = ParseNumericPredicate(text);
    if (!p) throw std::runtime_error("fixture: bad numeric predicate " + text);
    return *p;
  }
  Spread& SpreadAt(Level level) {
    if (!r_.spread || r_.spread->level != level) r_.spread = Spread{level, {}, {}, {}};
    return *r_.spread;
  }
  Request r_;
};

// ---------------------------------------------------------------------------------------------
// The reference data centre most hand-written tests share.
//
// Site us-east (US): power domains us-pd-a, us-pd-b; spines spine-1, spine-2 (vendor-a).
//   pod-1: leaf-1 (vendor-a) -> r1 (hipaa; 4x h100x8), leaf-2 (vendor-a) -> r2 (4x h100x8)
//   pod-2: leaf-3 (vendor-b) -> r3 (hipaa; 4x a100x8), leaf-4 (vendor-b) -> r4 (2x l40sx4, 2x cpu)
//   leaves 1-2 uplink to spine-1, leaves 3-4 to spine-2 (so spine domain = pod here).
//   Row row-1 holds r1, r2; row-2 holds r3, r4. Every rack has both power domains; nodes
//   alternate a, b, a, b. r1-n01..r1-n04, r2-n01.., r3-n01.., r4-n01 r4-n02 (l40sx4), r4-n03
//   r4-n04 (cpu). Labels: fw=2 on every node except r2-n03, r2-n04 (fw=1).
// Site eu-central (DE, tags iso27001): power domain eu-pd-a; spine-eu (vendor-a);
//   pod-eu: leaf-eu (vendor-a) -> r-eu1 (4x h100x8, all on eu-pd-a).
// Nothing is held unless a test holds it. Tenants: see ReferenceTenants().
inline DataCentreBuilder ReferenceDataCentre() {
  DataCentreBuilder b;
  b.Site("us-east", "US").Site("eu-central", "DE", {"iso27001"});
  b.PowerDomain("us-pd-a", "us-east")
      .PowerDomain("us-pd-b", "us-east")
      .PowerDomain("eu-pd-a", "eu-central");
  b.Spine("spine-1", "vendor-a", "us-east").Spine("spine-2", "vendor-a", "us-east");
  b.Spine("spine-eu", "vendor-a", "eu-central");
  b.Leaf("leaf-1", "vendor-a", {"spine-1"}, "pod-1")
      .Leaf("leaf-2", "vendor-a", {"spine-1"}, "pod-1");
  b.Leaf("leaf-3", "vendor-b", {"spine-2"}, "pod-2")
      .Leaf("leaf-4", "vendor-b", {"spine-2"}, "pod-2");
  b.Leaf("leaf-eu", "vendor-a", {"spine-eu"}, "pod-eu");
  b.Rack("r1", "us-east", "row-1", "pod-1", {"us-pd-a", "us-pd-b"}, {"hipaa"});
  b.Rack("r2", "us-east", "row-1", "pod-1", {"us-pd-a", "us-pd-b"});
  b.Rack("r3", "us-east", "row-2", "pod-2", {"us-pd-a", "us-pd-b"}, {"hipaa"});
  b.Rack("r4", "us-east", "row-2", "pod-2", {"us-pd-a", "us-pd-b"});
  b.Rack("r-eu1", "eu-central", "row-eu", "pod-eu", {"eu-pd-a"});
  const NodeOptions fw2{NodeState::kAvailable, "", {{"fw", "2"}}};
  const NodeOptions fw1{NodeState::kAvailable, "", {{"fw", "1"}}};
  b.Nodes("r1", "leaf-1", "h100x8", 4, fw2);
  b.Nodes("r2", "leaf-2", "h100x8", 2, fw2).Nodes("r2", "leaf-2", "h100x8", 2, fw1);
  b.Nodes("r3", "leaf-3", "a100x8", 4, fw2);
  b.Nodes("r4", "leaf-4", "l40sx4", 2, fw2).Nodes("r4", "leaf-4", "cpu", 2, fw2);
  b.Nodes("r-eu1", "leaf-eu", "h100x8", 4, fw2);
  return b;
}

// nlp-lab (may ask for hipaa and gdpr; no quota), cv-lab (no compliance; no quota),
// bio-lab (hipaa; no quota).
inline std::vector<Tenant> ReferenceTenants() {
  return {MakeTenant("nlp-lab", {"hipaa", "gdpr", "iso27001"}), MakeTenant("cv-lab"),
          MakeTenant("bio-lab", {"hipaa"})};
}

// ---------------------------------------------------------------------------------------------
// Seeded random small data centres and requests for property tests.

struct RandomDataCentreOptions {
  int max_nodes = 40;
};

// 1-2 sites (us-1: US, de-1: DE), 2-4 power domains, 1-3 pods, 2-6 leaves of 1-2 vendors with
// random uplinks (so spine domains differ), 1-3 racks per leaf (some racks' nodes split over two
// leaves), hipaa racks, a pci site tag, mixed classes, fw/ib labels, random maintenance/failed
// nodes, random occupancy by the tenants lab-a, lab-b (and lab-c), random tight quotas and budgets.
inline PlacementProblem RandomDataCentre(uint64_t seed,
                                         const RandomDataCentreOptions& options = {}) {
  Rng rng(seed);
  DataCentreBuilder b;
  const int sites = rng.Between(1, 2);
  const std::vector<std::string> site_names = {"us-1", "de-1"};
  const std::vector<std::string> jurisdictions = {"US", "DE"};
  for (int s = 0; s < sites; ++s) {
    std::vector<std::string> tags;
    if (rng.Percent(30)) tags.push_back("pci");
    b.Site(site_names[s], jurisdictions[s], tags);
  }
  // Power domains: one per site, then up to 4 in total.
  std::vector<std::vector<std::string>> pds(sites);
  const int pd_total = rng.Between(std::max(2, sites), 4);
  for (int i = 0; i < pd_total; ++i) {
    const int s = i < sites ? i : static_cast<int>(rng.Below(sites));
    pds[s].push_back(site_names[s] + "-pd" + std::to_string(pds[s].size() + 1));
    b.PowerDomain(pds[s].back(), site_names[s]);
  }
  std::vector<std::vector<std::string>> spines(sites);
  for (int s = 0; s < sites; ++s) {
    const int count = rng.Between(1, 2);
    for (int k = 1; k <= count; ++k) {
      spines[s].push_back(site_names[s] + "-spine" + std::to_string(k));
      b.Spine(spines[s].back(), "vendor-a", site_names[s]);
    }
  }
  // Pods: one per site, then up to 3 in total.
  struct Pod {
    int site;
    std::string name;
    std::vector<std::string> leaves;
  };
  std::vector<Pod> pods;
  const int pod_total = rng.Between(sites, 3);
  for (int i = 0; i < pod_total; ++i) {
    const int s = i < sites ? i : static_cast<int>(rng.Below(sites));
    pods.push_back({s, site_names[s] + "-pod" + std::to_string(i + 1), {}});
  }
  const std::vector<std::string> vendors = rng.Percent(50)
                                               ? std::vector<std::string>{"vendor-a"}
                                               : std::vector<std::string>{"vendor-a", "vendor-b"};
  const int leaf_total = rng.Between(std::max(2, pod_total), 6);
  for (int i = 0; i < leaf_total; ++i) {
    Pod& pod = pods[i < pod_total ? i : static_cast<int>(rng.Below(pod_total))];
    const auto& ups = spines[pod.site];
    std::vector<std::string> uplinks;
    if (ups.size() == 1) {
      uplinks = ups;
    } else {
      const int pick = rng.Between(0, 2);  // first, second or both spines
      if (pick != 1) uplinks.push_back(ups[0]);
      if (pick != 0) uplinks.push_back(ups[1]);
    }
    pod.leaves.push_back("leaf" + std::to_string(i + 1));
    b.Leaf(pod.leaves.back(), rng.Pick(vendors), uplinks, pod.name);
  }
  const std::vector<std::string> classes = {"h100x8", "a100x8", "l40sx4", "gb200x4", "cpu"};
  const std::vector<std::string> tenant_names =
      rng.Percent(50) ? std::vector<std::string>{"lab-a", "lab-b"}
                      : std::vector<std::string>{"lab-a", "lab-b", "lab-c"};
  const int node_target = rng.Between(std::min(8, options.max_nodes), options.max_nodes);
  int nodes = 0, rack_number = 0;
  for (const Pod& pod : pods) {
    for (const std::string& leaf : pod.leaves) {
      const int racks = rng.Between(1, 3);
      for (int r = 0; r < racks && nodes < node_target; ++r) {
        const std::string rack = "r" + std::to_string(++rack_number);
        const auto& site_pds = pds[pod.site];
        std::vector<std::string> rack_pds = {rng.Pick(site_pds)};
        if (site_pds.size() > 1 && rng.Percent(60)) {
          for (const auto& pd : site_pds) {
            if (pd != rack_pds[0]) {
              rack_pds.push_back(pd);
              break;
            }
          }
        }
        std::vector<std::string> tags;
        if (rng.Percent(35)) tags.push_back("hipaa");
        b.Rack(rack, site_names[pod.site], "row" + std::to_string(rng.Between(1, 2)), pod.name,
               rack_pds, tags);
        const bool homogeneous = rng.Percent(60);
        const std::string rack_class = rng.Pick(classes);
        const int count = std::min(rng.Between(1, 5), node_target - nodes);
        for (int k = 0; k < count; ++k) {
          NodeOptions o;
          o.labels["fw"] = rng.Percent(70) ? "2" : "1";
          if (rng.Percent(50)) o.labels["ib"] = "true";
          const int roll = rng.Between(0, 99);
          if (roll < 6) {
            o.state = NodeState::kMaintenance;
          } else if (roll < 8) {
            o.state = NodeState::kFailed;
          } else if (roll < 28) {
            o.holder = rng.Pick(tenant_names);
          } else if (roll < 31) {
            o.holder = rng.Pick(tenant_names);
            o.state = NodeState::kReserved;
          }
          // A node on another leaf of the same pod now and then: racks and leaves differ.
          std::string node_leaf = leaf;
          if (pod.leaves.size() > 1 && rng.Percent(15)) node_leaf = rng.Pick(pod.leaves);
          const std::string node_class = homogeneous ? rack_class : rng.Pick(classes);
          b.Nodes(rack, node_leaf, node_class, 1, o);
          ++nodes;
        }
      }
    }
  }
  Inventory inv = b.Build();
  // Tenants: lab-a may ask for everything, lab-b for hipaa, lab-c for nothing. Quotas and budgets
  // are tight now and then: a little above what the tenant already holds.
  std::vector<Tenant> tenants;
  const std::vector<std::vector<std::string>> compliance = {
      {"hipaa", "gdpr", "pci"}, {"hipaa"}, {}};
  for (size_t t = 0; t < tenant_names.size(); ++t) {
    const TenantUsage used = UsageOf(inv, tenant_names[t]);
    Quota q;
    if (rng.Percent(20)) q.nodes = used.nodes + rng.Between(1, 5);
    if (rng.Percent(20)) q.gpus = used.gpus + rng.Between(0, 40);
    if (rng.Percent(15)) q.cpu_cores = used.cpu_cores + rng.Between(64, 600);
    if (rng.Percent(15)) q.memory_gib = used.memory_gib + rng.Between(512, 8000);
    if (rng.Percent(10)) q.storage_gib = used.storage_gib + rng.Between(4000, 100000);
    std::optional<double> budget;
    if (rng.Percent(30)) budget = used.cost_per_hour + rng.Between(10, 400);
    tenants.push_back(MakeTenant(tenant_names[t], compliance[t], q, budget));
  }
  return MakeProblem(std::move(inv), std::move(tenants));
}

// A request touching every key now and then, valid for `problem` (its tenant exists, it only asks
// for compliance the tenant may ask for, classes exist). Sizes stay small (1-6 nodes, 4-32 GPUs).
inline Request RandomRequest(uint64_t seed, const PlacementProblem& problem) {
  Rng rng(seed ^ 0x5DEECE66Dull);
  const Inventory& inv = problem.snapshot->inventory;
  const Tenant& tenant = problem.tenants[rng.Below(problem.tenants.size())];
  RequestBuilder r("req-" + std::to_string(seed), tenant.name);
  if (rng.Percent(70)) {
    r.Nodes(rng.Percent(70) ? rng.Between(1, 3) : rng.Between(4, 6));
  } else {
    r.Gpus(rng.Pick(std::vector<int>{4, 8, 12, 16, 20, 24, 32}));
  }
  // Classes are picked among those the data centre has nodes of, mostly.
  std::vector<std::string> present;
  for (const Node& n : inv.nodes) {
    if (std::find(present.begin(), present.end(), n.node_class) == present.end())
      present.push_back(n.node_class);
  }
  std::sort(present.begin(), present.end());
  if (rng.Percent(30)) {
    const auto& pool =
        rng.Percent(85) ? present : std::vector<std::string>{"h100x8", "a100x8", "l40sx4"};
    std::vector<std::string> picked = {rng.Pick(pool)};
    if (rng.Percent(50)) {
      const std::string& other = rng.Pick(pool);
      if (other != picked[0]) picked.push_back(other);
    }
    r.Classes(picked);
  }
  if (rng.Percent(12))
    r.GpuModels(
        {rng.Pick(std::vector<std::string>{"H100*", "A100*", "*100*", "L40?", "GB200", "*"})});
  if (rng.Percent(10))
    r.GpuCount(rng.Pick(std::vector<std::string>{">=4", ">=8", "==4", "!=0", "<8"}));
  if (rng.Percent(10)) r.MemoryGib(rng.Pick(std::vector<std::string>{">=1024", "<1024", ">=512"}));
  if (rng.Percent(8)) r.CpuCores(rng.Pick(std::vector<std::string>{">=100", "<=64"}));
  if (rng.Percent(6)) r.StorageGib(rng.Pick(std::vector<std::string>{">=7680", "<10000"}));
  if (rng.Percent(15)) {
    switch (rng.Between(0, 3)) {
      case 0: r.LabelIn("fw", {"2"}); break;
      case 1: r.LabelNotIn("fw", {"1"}); break;
      case 2: r.LabelExists("ib"); break;
      default: r.LabelExists("ib", false); break;
    }
  }
  if (rng.Percent(50)) {
    const Level level = kAllLevels[rng.Below(kLevelCount)];
    const LocalityMode mode = rng.Percent(50) ? LocalityMode::kRequired : LocalityMode::kPreferred;
    r.Locality(level, mode, rng.Between(1, 3));
  }
  if (rng.Percent(35)) {
    const Level level = rng.Percent(50) ? Level::kPowerDomain : kAllLevels[rng.Below(kLevelCount)];
    bool any = false;
    if (rng.Percent(40)) {
      r.SpreadMaxPerDomain(level, rng.Between(1, 3));
      any = true;
    }
    if (rng.Percent(40)) {
      r.SpreadMaxFraction(level, rng.Pick(std::vector<double>{0.34, 0.5, 0.67, 1.0}));
      any = true;
    }
    if (!any || rng.Percent(30)) r.SpreadMinDomains(level, rng.Between(1, 3));
  }
  if (!tenant.compliance.empty() && rng.Percent(25)) {
    std::vector<std::string> items;
    for (const auto& c : tenant.compliance) {
      if (rng.Percent(50)) items.push_back(c);
    }
    if (items.empty()) items.push_back(rng.Pick(tenant.compliance));
    r.Compliance(items);
  }
  if (rng.Percent(15)) r.Exclusive(rng.Percent(70) ? Level::kRack : Level::kLeaf);
  if (rng.Percent(20)) r.Roce();
  if (rng.Percent(20)) r.Budget(rng.Between(10, 400));
  r.For(rng.Pick(std::vector<Purpose>{Purpose::kBaremetal, Purpose::kSlurm, Purpose::kOpenshift}));
  r.Priority(rng.Between(0, 100));
  return r.Build();
}

// ---------------------------------------------------------------------------------------------
// Large synthetic data centres for scale tests and measurements.

struct GeneratedOptions {
  int pods = 8;
  int racks_per_pod = 40;
  int nodes_per_rack = 32;
  int held_percent = 60;   // share of nodes held by other tenants
  int hipaa_percent = 10;  // share of hipaa racks
  uint64_t seed = 7;
};

// One site (US), 2 power domains per row (a row = 8 racks), 2 spines per pod (vendor-a), one leaf
// per rack (vendor-a in even pods, vendor-b in odd ones), one class per rack (mostly h100x8 and
// a100x8, some l40sx4). Held nodes come in runs (whole jobs), by tenants other-1..other-4.
// Tenant "big-lab" (hipaa) holds nothing.
inline PlacementProblem GeneratedDataCentre(const GeneratedOptions& o) {
  Rng rng(o.seed);
  DataCentreBuilder b;
  b.Site("dc", "US");
  const std::vector<std::string> classes = {"h100x8", "h100x8", "a100x8", "a100x8", "l40sx4"};
  int rack_number = 0;
  for (int p = 0; p < o.pods; ++p) {
    const std::string pod = "pod" + std::to_string(p + 1);
    b.Spine(pod + "-spine1", "vendor-a", "dc").Spine(pod + "-spine2", "vendor-a", "dc");
    for (int r = 0; r < o.racks_per_pod; ++r) {
      const std::string row = pod + "-row" + std::to_string(r / 8 + 1);
      if (r % 8 == 0) b.PowerDomain(row + "-a", "dc").PowerDomain(row + "-b", "dc");
      const std::string rack = "r" + std::to_string(++rack_number);
      const std::string leaf = "leaf-" + rack;
      b.Leaf(leaf, p % 2 == 0 ? "vendor-a" : "vendor-b", {pod + "-spine1", pod + "-spine2"}, pod);
      std::vector<std::string> tags;
      if (rng.Percent(o.hipaa_percent)) tags.push_back("hipaa");
      b.Rack(rack, "dc", row, pod, {row + "-a", row + "-b"}, tags);
      b.Nodes(rack, leaf, rng.Pick(classes), o.nodes_per_rack);
    }
  }
  Inventory& inv = b.inventory();
  for (size_t i = 0; i < inv.nodes.size();) {
    const int run = rng.Between(1, 16);
    const bool held = rng.Percent(o.held_percent);
    const std::string holder = "other-" + std::to_string(rng.Between(1, 4));
    for (int k = 0; k < run && i < inv.nodes.size(); ++k, ++i) {
      if (held) {
        inv.nodes[i].holder = holder;
        inv.nodes[i].state = NodeState::kAllocated;
      } else if (rng.Percent(2)) {
        inv.nodes[i].state = NodeState::kMaintenance;
      }
    }
  }
  std::vector<Tenant> tenants = {MakeTenant("big-lab", {"hipaa"})};
  for (int t = 1; t <= 4; ++t) tenants.push_back(MakeTenant("other-" + std::to_string(t)));
  return MakeProblem(b.Build(), std::move(tenants));
}

}  // namespace topoplace::fixtures
