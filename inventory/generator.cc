#include "inventory/generator.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <random>
#include <unordered_set>

namespace topoplace {

namespace {

constexpr std::array<std::string_view, 5> kBuiltinNames = {"h100x8", "a100x8", "l40sx4", "cpu",
                                                           "gb200x4"};

// mt19937_64 is specified bit for bit by the standard; the mapping to ranges below is ours, so a
// seed means the same data centre everywhere.
class Rng {
 public:
  // Independent streams per purpose: changing the allocated share must not move the hipaa racks.
  Rng(uint64_t seed, uint64_t stream) : engine_(Mix(seed ^ Mix(stream))) {}

  // Uniform in [0, n), unbiased by rejection.
  uint64_t Below(uint64_t n) {
    const uint64_t threshold = (0 - n) % n;
    for (;;) {
      const uint64_t r = engine_();
      if (r >= threshold) return r % n;
    }
  }
  double Unit() { return static_cast<double>(engine_() >> 11) * 0x1.0p-53; }
  bool Chance(double p) { return Unit() < p; }
  // The first `k` entries of `items` become a uniform random sample (partial Fisher-Yates).
  void SampleFront(std::vector<int>& items, size_t k) {
    for (size_t i = 0; i < k && i < items.size(); ++i) {
      const size_t j = i + Below(items.size() - i);
      std::swap(items[i], items[j]);
    }
  }

 private:
  static uint64_t Mix(uint64_t x) {  // splitmix64 finaliser
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
  }
  std::mt19937_64 engine_;
};

enum Stream : uint64_t { kHipaaStream = 1, kStateStream = 2, kAllocationStream = 3 };

std::string Padded(int value, int width) {
  std::string s = std::to_string(value);
  if (static_cast<int>(s.size()) < width) s.insert(0, width - s.size(), '0');
  return s;
}

std::string LowerAscii(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

int Digits(int n) { return static_cast<int>(std::to_string(n).size()); }

int64_t RoundShare(double share, int64_t total) {
  return std::clamp<int64_t>(std::llround(share * static_cast<double>(total)), 0, total);
}

// Range checks, phrased "what; expected WHAT" so the YAML loader can prefix a position.
std::vector<std::string> Validate(const GenerateSpec& spec) {
  std::vector<std::string> errors;
  auto int_in = [&](std::string_view key, int64_t v, int64_t lo, int64_t hi) {
    if (v < lo || v > hi) {
      errors.push_back(std::string(key) + " " + std::to_string(v) +
                       " is out of range; expected an integer from " + std::to_string(lo) + " to " +
                       std::to_string(hi));
    }
  };
  auto share_in = [&](std::string_view key, double v) {
    if (!(v >= 0 && v <= 1)) {
      errors.push_back(std::string(key) + " is out of range; expected a share from 0 to 1");
    }
  };
  if (spec.name.empty())
    errors.emplace_back("name is empty; expected a prefix for generated names");
  if (spec.site.empty()) errors.emplace_back("site is empty; expected a site name");
  int_in("pods", spec.pods, 1, kMaxGeneratedPods);
  int_in("racksPerPod", spec.racks_per_pod, 1, kMaxGeneratedRacksPerPod);
  int_in("nodesPerRack", spec.nodes_per_rack, 1, kMaxGeneratedNodesPerRack);
  int_in("racksPerRow", spec.racks_per_row, 1, kMaxGeneratedRacksPerRow);
  int_in("powerDomainsPerRow", spec.power_domains_per_row, 1, kMaxGeneratedPowerDomainsPerRow);
  const int64_t nodes = int64_t{spec.pods} * spec.racks_per_pod * spec.nodes_per_rack;
  if (errors.empty() && nodes > kMaxGeneratedNodes) {
    errors.push_back(std::to_string(nodes) + " nodes is too many; expected at most " +
                     std::to_string(kMaxGeneratedNodes) + " per generate entry");
  }
  share_in("hipaaRacks", spec.hipaa_racks);
  share_in("allocated", spec.allocated);
  share_in("maintenance", spec.maintenance);
  share_in("failed", spec.failed);
  if (spec.maintenance + spec.failed > 1) {
    errors.emplace_back("maintenance + failed exceed 1; expected shares that sum to at most 1");
  }
  if (spec.class_mix.empty() && spec.node_class.empty()) {
    errors.emplace_back("no node class; expected class or classes");
  }
  for (const auto& [name, weight] : spec.class_mix) {
    if (!(weight > 0) || !std::isfinite(weight)) {
      errors.push_back("weight of class \"" + name +
                       "\" is not positive; expected a number greater than 0");
    }
  }
  if (spec.leaf_vendors.empty()) errors.emplace_back("no vendors; expected at least one vendor");
  return errors;
}

// Racks per class by largest remainder, so the counts match the weights as closely as integers can.
std::vector<int> ApportionRacks(const std::vector<double>& weights, int racks) {
  const double total = std::accumulate(weights.begin(), weights.end(), 0.0);
  std::vector<int> counts(weights.size());
  std::vector<std::pair<double, size_t>> remainders;
  int given = 0;
  for (size_t k = 0; k < weights.size(); ++k) {
    const double exact = weights[k] / total * racks;
    counts[k] = static_cast<int>(std::floor(exact));
    given += counts[k];
    remainders.emplace_back(exact - counts[k], k);
  }
  std::stable_sort(remainders.begin(), remainders.end(),
                   [](const auto& a, const auto& b) { return a.first > b.first; });
  for (size_t i = 0; given < racks; ++i, ++given)
    ++counts[remainders[i % remainders.size()].second];
  return counts;
}

// Next rack at or after `r` (cyclically) that still has free nodes, with path compression so that
// skipping full racks stays cheap even when almost everything is allocated. Racks only ever become
// full between two Reset()s.
class FreeRackFinder {
 public:
  explicit FreeRackFinder(int racks) : next_(racks + 1) { Reset(); }
  void Reset() { std::iota(next_.begin(), next_.end(), 0); }
  void MarkFull(int r) { next_[r] = r + 1; }
  // == the rack count when every rack is full.
  int From(int r) {
    int found = Find(r);
    if (found == static_cast<int>(next_.size()) - 1) found = Find(0);
    return found;
  }

 private:
  int Find(int r) {
    int root = r;
    while (next_[root] != root) root = next_[root];
    while (next_[r] != root) {
      const int up = next_[r];
      next_[r] = root;
      r = up;
    }
    return root;
  }
  std::vector<int> next_;
};

// Job sizes of a mixed training and inference cluster: many small jobs, a few of 16 nodes.
int DrawJobSize(Rng& rng) {
  static constexpr std::array<int, 5> kSizes = {1, 2, 4, 8, 16};
  static constexpr std::array<int, 5> kWeights = {20, 20, 25, 20, 15};  // of 100
  int draw = static_cast<int>(rng.Below(100));
  size_t pick = 0;
  while (draw >= kWeights[pick]) draw -= kWeights[pick++];
  return kSizes[pick];
}

// Lays jobs onto racks the way schedulers do: contiguously from a rack's first free slots, spilling
// into the next racks; mostly where the last job ended, sometimes in a random rack. Only available
// nodes (not in maintenance or failed) are taken.
class JobPlacer {
 public:
  JobPlacer(const std::vector<Node>& nodes, int racks, int per_rack)
      : per_rack_(per_rack), taken_(nodes.size(), 0), free_in_(racks, 0), finder_(racks) {
    for (size_t i = 0; i < nodes.size(); ++i) {
      if (nodes[i].state == NodeState::kAvailable) {
        ++free_in_[i / per_rack];
      } else {
        taken_[i] = 1;
      }
    }
    ResetSearch();
  }

  int64_t Used() const { return used_; }

  // The nodes of a new job of `size` nodes; the caller keeps size within the free nodes.
  std::vector<int> Place(int64_t size, Rng& rng) {
    static constexpr double kJumpChance = 0.2;
    const int racks = static_cast<int>(free_in_.size());
    if (current_ < 0 || rng.Chance(kJumpChance))
      current_ = finder_.From(static_cast<int>(rng.Below(racks)));
    std::vector<int> job;
    int r = current_;
    while (static_cast<int64_t>(job.size()) < size) {
      if (free_in_[r] == 0) r = finder_.From(r);
      const int first = r * per_rack_;
      for (int slot = 0;
           slot < per_rack_ && free_in_[r] > 0 && static_cast<int64_t>(job.size()) < size; ++slot) {
        if (taken_[first + slot]) continue;
        taken_[first + slot] = 1;
        --free_in_[r];
        job.push_back(first + slot);
      }
      if (free_in_[r] == 0) finder_.MarkFull(r);
    }
    current_ = r;
    used_ += size;
    return job;
  }

  void Release(const std::vector<int>& job) {
    for (int node : job) {
      taken_[node] = 0;
      ++free_in_[node / per_rack_];
    }
    used_ -= static_cast<int64_t>(job.size());
  }

  // After releases, racks that were full may have room again.
  void ResetSearch() {
    finder_.Reset();
    for (size_t r = 0; r < free_in_.size(); ++r) {
      if (free_in_[r] == 0) finder_.MarkFull(static_cast<int>(r));
    }
    current_ = -1;
  }

 private:
  int per_rack_;
  std::vector<char> taken_;
  std::vector<int> free_in_;
  FreeRackFinder finder_;
  int current_ = -1;
  int64_t used_ = 0;
};

std::string MacOf(uint64_t salt, uint64_t index) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "02:%02x:%02x:%02x:%02x:%02x", static_cast<unsigned>(salt & 0xff),
                static_cast<unsigned>((index >> 24) & 0xff),
                static_cast<unsigned>((index >> 16) & 0xff),
                static_cast<unsigned>((index >> 8) & 0xff), static_cast<unsigned>(index & 0xff));
  return buf;
}

std::string BmcAddressOf(uint64_t index, bool ipmi) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "10.%u.%u.%u:%d", static_cast<unsigned>((index >> 16) & 0xff),
                static_cast<unsigned>((index >> 8) & 0xff), static_cast<unsigned>(index & 0xff),
                ipmi ? 623 : 443);
  return buf;
}

template <typename T>
std::unordered_set<std::string_view> NamesOf(const std::vector<T>& items) {
  std::unordered_set<std::string_view> names;
  names.reserve(items.size() * 2);
  for (const T& item : items) names.insert(item.name);
  return names;
}

// Reports the first generated name of a kind that is already taken (one message per kind is enough
// for a person to rename the prefix).
template <typename T>
void CheckCollisions(const std::vector<T>& existing, const std::vector<T>& generated,
                     std::string_view kind, std::vector<std::string>& errors) {
  if (existing.empty()) return;
  const auto names = NamesOf(existing);
  for (const T& item : generated) {
    if (names.count(item.name)) {
      errors.push_back("generated " + std::string(kind) + " \"" + item.name +
                       "\" already exists; expected a name prefix no other entity uses");
      return;
    }
  }
}

// Which racks are tagged hipaa: exactly the share asked for, chosen by the seed.
std::vector<char> PickHipaaRacks(const GenerateSpec& spec, int rack_count) {
  std::vector<char> hipaa(rack_count, 0);
  Rng rng(spec.seed, kHipaaStream);
  std::vector<int> order(rack_count);
  std::iota(order.begin(), order.end(), 0);
  const size_t k = static_cast<size_t>(RoundShare(spec.hipaa_racks, rack_count));
  rng.SampleFront(order, k);
  for (size_t i = 0; i < k; ++i) hipaa[order[i]] = 1;
  return hipaa;
}

// The mix entry of each rack: contiguous blocks by weight, as halls are usually built out one
// system type at a time.
std::vector<int> AssignRackClasses(const std::vector<std::pair<std::string, double>>& mix,
                                   int rack_count) {
  std::vector<double> weights;
  for (const auto& m : mix) weights.push_back(m.second);
  const std::vector<int> counts = ApportionRacks(weights, rack_count);
  std::vector<int> rack_class(rack_count, 0);
  int r = 0;
  for (size_t k = 0; k < counts.size(); ++k) {
    for (int i = 0; i < counts[k]; ++i) rack_class[r++] = static_cast<int>(k);
  }
  return rack_class;
}

// A second MAC byte no existing node uses, so generated MACs never collide with hand-written ones
// (or with an earlier generate entry's).
uint64_t FreeMacSalt(const Inventory& inv) {
  std::unordered_set<std::string> used;
  for (const Node& node : inv.nodes) {
    if (node.mac.size() >= 5) used.insert(LowerAscii(node.mac.substr(0, 5)));
    for (const NodePort& port : node.ports) {
      if (port.mac.size() >= 5) used.insert(LowerAscii(port.mac.substr(0, 5)));
    }
  }
  for (uint64_t salt = 0x10; salt <= 0xff; ++salt) {
    if (!used.count(MacOf(salt, 0).substr(0, 5))) return salt;
  }
  return 0xff;  // 240 taken prefixes: uniqueness is then up to the loader's duplicate check
}

// Puts the maintenance and failed shares of nodes out of service.
void MarkOutOfService(const GenerateSpec& spec, std::vector<Node>& nodes) {
  const int64_t count = static_cast<int64_t>(nodes.size());
  const int64_t maintenance = RoundShare(spec.maintenance, count);
  const int64_t failed = std::min(RoundShare(spec.failed, count), count - maintenance);
  if (maintenance + failed == 0) return;
  Rng rng(spec.seed, kStateStream);
  std::vector<int> order(nodes.size());
  std::iota(order.begin(), order.end(), 0);
  rng.SampleFront(order, static_cast<size_t>(maintenance + failed));
  for (int64_t i = 0; i < maintenance + failed; ++i) {
    nodes[order[i]].state = i < maintenance ? NodeState::kMaintenance : NodeState::kFailed;
  }
}

// Synthetic tenants that may use the whole generated data centre, so they are never quota-bound.
std::vector<Tenant> SyntheticTenants(const GenerateSpec& spec, const std::vector<Node>& nodes,
                                     const std::vector<NodeClass>& classes, int64_t allocated,
                                     bool any_hipaa) {
  Quota whole{static_cast<int64_t>(nodes.size()), 0, 0, 0.0, 0.0};
  for (const Node& node : nodes) {
    const NodeClass& c = *std::find_if(classes.begin(), classes.end(), [&](const NodeClass& k) {
      return k.name == node.node_class;
    });
    *whole.gpus += c.gpu.count;
    *whole.cpu_cores += c.cpu.cores;
    *whole.memory_gib += c.memory_gib;
    *whole.storage_gib += c.storage_gib;
  }
  const int64_t count = std::min<int64_t>({6, 2 + allocated / 2000, allocated});
  std::vector<Tenant> tenants;
  for (int64_t k = 1; k <= count; ++k) {
    Tenant t;
    t.name = spec.name + "-tenant-" + std::to_string(k);
    t.quota = whole;
    if (any_hipaa && k % 2 == 1) t.compliance.emplace_back("hipaa");
    t.alert_at = {0.8, 0.95};
    tenants.push_back(std::move(t));
  }
  return tenants;
}

// Allocates `target` available nodes to `tenants` in jobs. Fills a third beyond the target, then
// lets a random quarter of the jobs finish: the holes they leave are what makes partly used racks,
// as churn does in a real cluster. Marks the nodes allocated and returns the allocations.
std::vector<Allocation> AllocateJobs(const GenerateSpec& spec, std::vector<Node>& nodes,
                                     int rack_count, int64_t available, int64_t target,
                                     const std::vector<Tenant>& tenants) {
  Rng rng(spec.seed, kAllocationStream);
  JobPlacer placer(nodes, rack_count, spec.nodes_per_rack);
  std::vector<std::vector<int>> jobs;
  std::vector<size_t> job_tenant;
  auto place_until = [&](int64_t goal) {
    while (placer.Used() < goal) {
      jobs.push_back(placer.Place(std::min<int64_t>(DrawJobSize(rng), goal - placer.Used()), rng));
      job_tenant.push_back(rng.Below(tenants.size()));
    }
  };
  place_until(std::min(available, target + target / 3));
  std::vector<int> finish_order(jobs.size());
  std::iota(finish_order.begin(), finish_order.end(), 0);
  rng.SampleFront(finish_order, finish_order.size());
  for (size_t i = 0; i < finish_order.size() && placer.Used() > target; ++i) {
    placer.Release(jobs[finish_order[i]]);
    jobs[finish_order[i]].clear();
  }
  placer.ResetSearch();
  place_until(target);

  std::vector<Allocation> allocations;
  const int width = Digits(static_cast<int>(jobs.size()));
  int number = 0;
  for (size_t j = 0; j < jobs.size(); ++j) {
    if (jobs[j].empty()) continue;
    Allocation a;
    a.name = spec.name + "-job-" + Padded(++number, width);
    a.tenant = tenants[job_tenant[j]].name;
    for (int node : jobs[j]) {
      nodes[node].state = NodeState::kAllocated;
      nodes[node].holder = a.tenant;
      a.nodes.push_back(nodes[node].name);
    }
    allocations.push_back(std::move(a));
  }
  return allocations;
}

}  // namespace

std::span<const std::string_view> BuiltinNodeClassNames() { return kBuiltinNames; }

std::optional<NodeClass> BuiltinNodeClass(std::string_view name) {
  NodeClass c;
  c.name = std::string(name);
  if (name == "h100x8") {
    c.cpu = {112, "xeon-8480"};
    c.memory_gib = 2048;
    c.storage_gib = 30000;
    c.gpu = {"H100-SXM5-80GB", 8, 80, 8};
    c.cost_per_hour = 98.32;
  } else if (name == "a100x8") {
    c.cpu = {128, "epyc-7763"};
    c.memory_gib = 2048;
    c.storage_gib = 15000;
    c.gpu = {"A100-SXM4-80GB", 8, 80, 8};
    c.cost_per_hour = 40.96;
  } else if (name == "l40sx4") {
    c.cpu = {64, "xeon-6448y"};
    c.memory_gib = 512;
    c.storage_gib = 7680;
    c.gpu = {"L40S-48GB", 4, 48, 0};  // PCIe cards: no NVLink fabric beyond the node
    c.cost_per_hour = 12.4;
  } else if (name == "cpu") {
    c.cpu = {128, "epyc-9554"};
    c.memory_gib = 1024;
    c.storage_gib = 7680;
    c.cost_per_hour = 4.1;
  } else if (name == "gb200x4") {
    c.cpu = {144, "grace"};
    c.memory_gib = 960;
    c.storage_gib = 15000;
    c.gpu = {"GB200", 4, 186, 72};  // 18 trays share one NVL72 fabric per rack
    c.cost_per_hour = 60.5;
  } else {
    return std::nullopt;
  }
  return c;
}

Status Generate(const GenerateSpec& spec, Scenario& scenario) {
  std::vector<std::string> errors = Validate(spec);
  if (!errors.empty()) return Status(StatusCode::kInvalidArgument, std::move(errors));
  Inventory& inv = scenario.inventory;
  const int64_t adds = int64_t{spec.pods} * spec.racks_per_pod * spec.nodes_per_rack;
  if (static_cast<int64_t>(inv.nodes.size()) + adds > kMaxScenarioNodes) {
    return InvalidArgumentError(std::to_string(adds) + " more nodes would make " +
                                std::to_string(static_cast<int64_t>(inv.nodes.size()) + adds) +
                                " in the scenario, too many; expected at most " +
                                std::to_string(kMaxScenarioNodes) + " nodes in one scenario");
  }

  // Classes: declared ones win; missing well-known ones are added.
  std::vector<std::pair<std::string, double>> mix = spec.class_mix;
  if (mix.empty()) mix.emplace_back(spec.node_class, 1);
  std::vector<NodeClass> new_classes;
  std::vector<NodeClass> rack_class_specs;  // one per mix entry
  for (const auto& [name, weight] : mix) {
    auto declared = std::find_if(inv.node_classes.begin(), inv.node_classes.end(),
                                 [&](const NodeClass& c) { return c.name == name; });
    if (declared != inv.node_classes.end()) {
      rack_class_specs.push_back(*declared);
      continue;
    }
    auto added = std::find_if(new_classes.begin(), new_classes.end(),
                              [&](const NodeClass& c) { return c.name == name; });
    if (added != new_classes.end()) {
      rack_class_specs.push_back(*added);
      continue;
    }
    std::optional<NodeClass> builtin = BuiltinNodeClass(name);
    if (!builtin) {
      std::string known;
      for (std::string_view b : kBuiltinNames)
        known += (known.empty() ? "" : ", ") + std::string(b);
      errors.push_back("unknown node class \"" + name +
                       "\"; expected a class declared in inventory.nodeClasses or one of " + known);
      continue;
    }
    new_classes.push_back(*builtin);
    rack_class_specs.push_back(*builtin);
  }
  if (!errors.empty()) return Status(StatusCode::kInvalidArgument, std::move(errors));

  const int pods = spec.pods;
  const int racks_per_pod = spec.racks_per_pod;
  const int per_rack = spec.nodes_per_rack;
  const int rack_count = pods * racks_per_pod;
  const int node_count = rack_count * per_rack;
  const int rows_per_pod = (racks_per_pod + spec.racks_per_row - 1) / spec.racks_per_row;
  const int pod_w = Digits(pods), rack_w = std::max(2, Digits(racks_per_pod));
  const int row_w = Digits(rows_per_pod), node_w = std::max(2, Digits(per_rack));
  const std::string& n = spec.name;

  std::vector<PowerDomain> power_domains;
  std::vector<Switch> switches;
  std::vector<Rack> racks;
  std::vector<Node> nodes;
  power_domains.reserve(static_cast<size_t>(pods) * rows_per_pod * spec.power_domains_per_row);
  switches.reserve(static_cast<size_t>(pods) * (2 + racks_per_pod));
  racks.reserve(rack_count);
  nodes.reserve(node_count);

  const std::vector<char> hipaa = PickHipaaRacks(spec, rack_count);
  const std::vector<int> rack_class = AssignRackClasses(mix, rack_count);
  const uint64_t mac_salt = FreeMacSalt(inv);
  const uint64_t base_index = inv.nodes.size();

  for (int p = 1; p <= pods; ++p) {
    const std::string pod = n + "-p" + Padded(p, pod_w);
    const std::string& vendor = spec.leaf_vendors[(p - 1) % spec.leaf_vendors.size()];
    const std::string spine1 = pod + "-spine-1", spine2 = pod + "-spine-2";
    switches.push_back({spine1, SwitchRole::kSpine, vendor, spec.site, pod, {}, std::nullopt});
    switches.push_back({spine2, SwitchRole::kSpine, vendor, spec.site, pod, {}, std::nullopt});
    std::vector<std::string> row_pds;
    for (int r = 1; r <= racks_per_pod; ++r) {
      const int row = (r - 1) / spec.racks_per_row + 1;
      const std::string row_name = pod + "-row" + Padded(row, row_w);
      if ((r - 1) % spec.racks_per_row == 0) {
        row_pds.clear();
        for (int k = 0; k < spec.power_domains_per_row; ++k) {
          row_pds.push_back(row_name + "-pd-" + std::string(1, static_cast<char>('a' + k)));
          power_domains.push_back({row_pds.back(), spec.site});
        }
      }
      const int rack_index = static_cast<int>(racks.size());
      const std::string rack_name = pod + "-r" + Padded(r, rack_w);
      const std::string leaf = rack_name + "-leaf";
      std::optional<SwitchManagement> management;
      if (!spec.l2_driver.empty()) management = SwitchManagement{spec.l2_driver, leaf};
      switches.push_back(
          {leaf, SwitchRole::kLeaf, vendor, spec.site, pod, {spine1, spine2}, management});
      Rack rack{rack_name, spec.site, row_name, pod, row_pds, {}};
      if (hipaa[rack_index]) rack.tags.emplace_back("hipaa");
      racks.push_back(std::move(rack));
      const NodeClass& cls = rack_class_specs[rack_class[rack_index]];
      const bool ipmi = cls.gpu.count == 0;
      for (int k = 1; k <= per_rack; ++k) {
        const uint64_t index = base_index + nodes.size();
        Node node;
        node.name = rack_name + "-n" + Padded(k, node_w);
        node.node_class = cls.name;
        node.rack = rack_name;
        node.power_domain = row_pds[(k - 1) % row_pds.size()];
        node.leaf = leaf;
        node.bmc = BmcSpec{ipmi ? "ipmi" : "redfish", BmcAddressOf(index + 1, ipmi), "", ""};
        node.mac = MacOf(mac_salt, index);
        if (spec.ports) node.ports.push_back({"eth0", node.mac, leaf, node.name + "-eth0"});
        nodes.push_back(std::move(node));
      }
    }
  }

  // Nodes out of service, then the allocations among the rest.
  MarkOutOfService(spec, nodes);
  std::vector<Tenant> tenants;
  std::vector<Allocation> allocations;
  const int64_t available = std::count_if(nodes.begin(), nodes.end(), [](const Node& node) {
    return node.state == NodeState::kAvailable;
  });
  const int64_t target = std::min(RoundShare(spec.allocated, node_count), available);
  if (target > 0) {
    std::vector<NodeClass> classes = inv.node_classes;
    classes.insert(classes.end(), new_classes.begin(), new_classes.end());
    const bool any_hipaa = std::find(hipaa.begin(), hipaa.end(), 1) != hipaa.end();
    tenants = SyntheticTenants(spec, nodes, classes, target, any_hipaa);
    allocations = AllocateJobs(spec, nodes, rack_count, available, target, tenants);
  }

  CheckCollisions(inv.power_domains, power_domains, "power domain", errors);
  CheckCollisions(inv.switches, switches, "switch", errors);
  CheckCollisions(inv.racks, racks, "rack", errors);
  CheckCollisions(inv.nodes, nodes, "node", errors);
  CheckCollisions(scenario.tenants, tenants, "tenant", errors);
  CheckCollisions(scenario.allocations, allocations, "allocation", errors);
  if (!errors.empty()) return Status(StatusCode::kInvalidArgument, std::move(errors));

  const bool has_site = std::any_of(inv.sites.begin(), inv.sites.end(),
                                    [&](const Site& s) { return s.name == spec.site; });
  if (!has_site) inv.sites.push_back({spec.site, spec.region, spec.jurisdiction, {}});
  auto append = [](auto& to, auto& from) {
    to.insert(to.end(), std::make_move_iterator(from.begin()), std::make_move_iterator(from.end()));
  };
  append(inv.power_domains, power_domains);
  append(inv.switches, switches);
  append(inv.racks, racks);
  append(inv.node_classes, new_classes);
  append(inv.nodes, nodes);
  append(scenario.tenants, tenants);
  append(scenario.allocations, allocations);
  return Status::Ok();
}

}  // namespace topoplace
