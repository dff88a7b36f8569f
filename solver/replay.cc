// Trace replay: the event loop, the baseline policies, and the metrics. See replay.h.
#include "solver/replay.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <map>
#include <memory>
#include <queue>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "solver/backend.h"
#include "solver/prepared.h"

namespace topoplace {

namespace {

using Clock = std::chrono::steady_clock;

bool Feasible(SolveStatus s) { return s == SolveStatus::kOptimal || s == SolveStatus::kFeasible; }

// Our own mapping of the engine's output, so a seed means the same order everywhere.
class Rng {
 public:
  explicit Rng(uint64_t seed) : engine_(seed * 0x9E3779B97F4A7C15ull + 0x5EED) {}
  uint64_t Below(uint64_t n) {
    const uint64_t threshold = (0 - n) % n;
    for (;;) {
      const uint64_t r = engine_();
      if (r >= threshold) return r % n;
    }
  }
  template <typename T>
  void Shuffle(std::vector<T>& v) {
    for (size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[Below(i)]);
  }

 private:
  std::mt19937_64 engine_;
};

// The replay's mutable world: a snapshot of our own plus counters kept as nodes change hands.
class World {
 public:
  explicit World(const PlacementProblem& p)
      : snapshot_(std::make_shared<Snapshot>(*p.snapshot)), problem_{snapshot_, p.tenants} {
    const Inventory& inv = snapshot_->inventory;
    const NodeStates& states = snapshot_->states;
    const Topology& topo = snapshot_->topology;
    const int leaves = topo.DomainCount(Level::kLeaf);
    leaf_total_.assign(leaves, 0);
    leaf_free_.assign(leaves, 0);
    leaf_free_units_.assign(leaves, 0);
    for (int i = 0; i < static_cast<int>(inv.nodes.size()); ++i) {
      const Node& n = inv.nodes[i];
      const int gpus = inv.ClassOf(i).gpu.count;
      const int d = topo.DomainOf(i, Level::kLeaf);
      ++leaf_total_[d];
      const NodeState state = states.state(i);
      if (state != NodeState::kFailed && state != NodeState::kMaintenance) service_gpus_ += gpus;
      if (states.held(i)) {
        held_gpus_ += gpus;
        tenant_gpus_[states.holder(i)] += gpus;
        tenant_nodes_[states.holder(i)] += 1;
        class_nodes_[n.node_class] += 1;
      }
      if (states.free(i)) {
        ++leaf_free_[d];
        leaf_free_units_[d] += Units(i);
        all_units_ += Units(i);
      }
    }
    for (int d = 0; d < leaves; ++d) {
      if (leaf_free_[d] == leaf_total_[d]) whole_units_ += leaf_free_units_[d];
    }
    for (const Tenant& t : p.tenants) {
      tenant_gpus_.emplace(t.name, 0);
      tenant_nodes_.emplace(t.name, 0);
    }
    for (const NodeClass& c : inv.node_classes) class_nodes_.emplace(c.name, 0);
  }

  const PlacementProblem& problem() const { return problem_; }
  const Inventory& inventory() const { return snapshot_->inventory; }

  void Take(const std::vector<int>& nodes, const std::string& tenant,
            std::optional<Level> exclusive) {
    const Inventory& inv = snapshot_->inventory;
    for (int i : nodes) {
      const Node& n = inv.nodes[i];
      const int d = snapshot_->topology.DomainOf(i, Level::kLeaf);
      if (leaf_free_[d] == leaf_total_[d]) whole_units_ -= leaf_free_units_[d];
      --leaf_free_[d];
      leaf_free_units_[d] -= Units(i);
      all_units_ -= Units(i);
      snapshot_->states.Allocate(i, tenant, exclusive);
      const int gpus = inv.ClassOf(i).gpu.count;
      held_gpus_ += gpus;
      tenant_gpus_[tenant] += gpus;
      tenant_nodes_[tenant] += 1;
      class_nodes_[n.node_class] += 1;
    }
  }

  void Release(const std::vector<int>& nodes) {
    const Inventory& inv = snapshot_->inventory;
    for (int i : nodes) {
      const Node& n = inv.nodes[i];
      const int gpus = inv.ClassOf(i).gpu.count;
      const std::string holder = snapshot_->states.holder(i);
      held_gpus_ -= gpus;
      tenant_gpus_[holder] -= gpus;
      tenant_nodes_[holder] -= 1;
      class_nodes_[n.node_class] -= 1;
      snapshot_->states.Free(i);
      const int d = snapshot_->topology.DomainOf(i, Level::kLeaf);
      ++leaf_free_[d];
      leaf_free_units_[d] += Units(i);
      all_units_ += Units(i);
      if (leaf_free_[d] == leaf_total_[d]) whole_units_ += leaf_free_units_[d];
    }
  }

  double GpuRatio() const {
    return service_gpus_ > 0 ? static_cast<double>(held_gpus_) / service_gpus_ : 0.0;
  }
  double Fragmentation() const {
    return all_units_ > 0 ? 1.0 - static_cast<double>(whole_units_) / all_units_ : 0.0;
  }
  const std::map<std::string, int64_t>& tenant_gpus() const { return tenant_gpus_; }
  const std::map<std::string, int64_t>& tenant_nodes() const { return tenant_nodes_; }
  const std::map<std::string, int64_t>& class_nodes() const { return class_nodes_; }

 private:
  int64_t Units(int node) const {
    return std::max(1, snapshot_->inventory.ClassOf(node).gpu.count);
  }

  std::shared_ptr<Snapshot> snapshot_;
  PlacementProblem problem_;
  int64_t held_gpus_ = 0, service_gpus_ = 0;
  std::vector<int> leaf_total_, leaf_free_;
  std::vector<int64_t> leaf_free_units_;
  int64_t all_units_ = 0, whole_units_ = 0;
  std::map<std::string, int64_t> tenant_gpus_, tenant_nodes_, class_nodes_;
};

// First-fit and random: walk `order`, take what keeps the caps, vendor and headroom.
std::vector<int> TakeInOrder(const PreparedRequest& p, const std::vector<int>& order) {
  const Request& r = *p.request;
  const Inventory& inv = p.inventory();
  const Topology& topo = p.topology();
  const bool spread = p.mask.spread && r.spread.has_value();
  const int cap = spread && r.nodes
                      ? r.spread->CapFor(*r.nodes).value_or(std::numeric_limits<int>::max())
                      : std::numeric_limits<int>::max();
  std::map<int, int> per_spread;
  std::string vendor;
  const Headroom& h = p.headroom;
  int64_t nodes = 0, gpus = 0, cores = 0;
  double memory = 0, storage = 0, cost = 0;
  std::vector<int> chosen;
  for (int node : order) {
    if (r.nodes && nodes >= *r.nodes) break;
    if (r.gpus && gpus >= *r.gpus) break;
    const NodeClass& c = inv.ClassOf(node);
    if (r.gpus && c.gpu.count <= 0) continue;
    if (spread && per_spread[topo.DomainOf(node, r.spread->level)] >= cap) continue;
    if (r.roce && !vendor.empty() && LeafVendor(inv, node) != vendor) continue;
    if (h.nodes && nodes + 1 > *h.nodes) continue;
    if (h.gpus && gpus + c.gpu.count > *h.gpus) continue;
    if (h.cpu_cores && cores + c.cpu.cores > *h.cpu_cores) continue;
    if (h.memory_gib && memory + c.memory_gib > *h.memory_gib + kCostTolerance) continue;
    if (h.storage_gib && storage + c.storage_gib > *h.storage_gib + kCostTolerance) continue;
    if (h.cost_per_hour && cost + c.cost_per_hour > *h.cost_per_hour + kCostTolerance) continue;
    chosen.push_back(node);
    if (spread) ++per_spread[topo.DomainOf(node, r.spread->level)];
    if (r.roce && vendor.empty()) vendor = LeafVendor(inv, node);
    nodes += 1;
    gpus += c.gpu.count;
    cores += c.cpu.cores;
    memory += c.memory_gib;
    storage += c.storage_gib;
    cost += c.cost_per_hour;
  }
  if (r.gpus) {
    // Whole nodes, none to spare: drop the smallest nodes the target does not need.
    std::vector<int> by_size = chosen;
    std::sort(by_size.begin(), by_size.end(),
              [&](int a, int b) { return inv.ClassOf(a).gpu.count < inv.ClassOf(b).gpu.count; });
    for (int node : by_size) {
      const int g = inv.ClassOf(node).gpu.count;
      if (gpus - g >= *r.gpus) {
        gpus -= g;
        chosen.erase(std::find(chosen.begin(), chosen.end(), node));
      }
    }
  }
  std::sort(chosen.begin(), chosen.end());
  return chosen;
}

std::optional<std::vector<int>> PlaceBaseline(const PlacementProblem& problem, const Request& r,
                                              const std::vector<int>& name_rank, Rng* rng) {
  SolveOptions so;
  const PreparedRequest p = Prepare(problem, r, so);
  std::vector<int> order = p.candidates;
  if (rng != nullptr) {
    rng->Shuffle(order);
  } else {
    std::sort(order.begin(), order.end(),
              [&](int a, int b) { return name_rank[a] < name_rank[b]; });
  }
  auto accept = [&](std::vector<int> nodes) -> std::optional<std::vector<int>> {
    if (nodes.empty() || !CheckPrepared(p, nodes).empty()) return std::nullopt;
    return nodes;
  };
  const bool required =
      p.mask.locality && r.locality && r.locality->mode == LocalityMode::kRequired;
  if (!required) return accept(TakeInOrder(p, order));
  // Domains in the order their first node appears; windows of maxDomains consecutive domains.
  const Topology& topo = p.topology();
  std::vector<int> domains;
  std::set<int> seen;
  for (int node : order) {
    const int d = topo.DomainOf(node, r.locality->level);
    if (seen.insert(d).second) domains.push_back(d);
  }
  const int m = r.locality->max_domains;
  for (size_t i = 0; i < domains.size() && i < 2000; ++i) {
    std::set<int> window(domains.begin() + static_cast<std::ptrdiff_t>(i),
                         domains.begin() + static_cast<std::ptrdiff_t>(std::min(
                                               domains.size(), i + static_cast<size_t>(m))));
    std::vector<int> subset;
    for (int node : order) {
      if (window.count(topo.DomainOf(node, r.locality->level))) subset.push_back(node);
    }
    if (std::optional<std::vector<int>> nodes = accept(TakeInOrder(p, subset))) return nodes;
  }
  return std::nullopt;
}

struct Departure {
  double time;
  size_t seq;
  std::vector<int> nodes;
  bool operator>(const Departure& o) const { return time != o.time ? time > o.time : seq > o.seq; }
};

// Keeps at most `n` samples, evenly spread, always the first and the last.
template <typename T>
std::vector<T> Thin(const std::vector<T>& v, int n) {
  if (static_cast<int>(v.size()) <= n || n < 2) return v;
  std::vector<T> out;
  out.reserve(n);
  for (int i = 0; i < n; ++i) {
    const size_t at =
        static_cast<size_t>(std::llround(static_cast<double>(i) * (v.size() - 1) / (n - 1)));
    out.push_back(v[at]);
  }
  return out;
}

PolicyReport RunPolicy(const PlacementProblem& problem, const Trace& trace, ReplayPolicy policy,
                       const ReplayOptions& options, const std::vector<int>& name_rank) {
  const auto wall_start = Clock::now();
  PolicyReport rep;
  rep.policy = policy;
  World world(problem);
  Rng rng(options.seed);
  SolveOptions so;
  so.explain = false;
  so.time_limit_seconds = options.time_limit_seconds;
  so.backend = policy == ReplayPolicy::kHeuristic ? "heuristic" : "auto";
  so.requests_validated = true;  // every entry was, once, before any policy ran

  std::vector<ReplaySample> samples;
  std::vector<double> times;
  std::map<std::string, std::vector<double>> tg, tn, cn;
  int running = 0;
  auto sample = [&](double t) {
    samples.push_back(
        {t, world.GpuRatio(), world.Fragmentation(), running, rep.accepted, rep.rejected});
    times.push_back(t);
    for (const auto& [k, v] : world.tenant_gpus()) tg[k].push_back(static_cast<double>(v));
    for (const auto& [k, v] : world.tenant_nodes()) tn[k].push_back(static_cast<double>(v));
    for (const auto& [k, v] : world.class_nodes()) cn[k].push_back(static_cast<double>(v));
  };
  std::priority_queue<Departure, std::vector<Departure>, std::greater<>> departures;
  size_t seq = 0;
  auto depart_until = [&](double t) {
    while (!departures.empty() && departures.top().time <= t) {
      const Departure d = departures.top();
      departures.pop();
      world.Release(d.nodes);
      --running;
      sample(d.time);
    }
  };
  double leaf_span = 0, rack_span = 0;
  const Topology& topo = problem.snapshot->topology;
  if (!trace.entries.empty()) sample(trace.entries.front().time);
  for (const TraceEntry& e : trace.entries) {
    depart_until(e.time);
    const auto start = Clock::now();
    std::optional<std::vector<int>> nodes;
    switch (policy) {
      case ReplayPolicy::kAuto:
      case ReplayPolicy::kHeuristic: {
        auto r = Solve(world.problem(), {e.request}, so);
        if (r.ok() && Feasible((*r)[0].status)) nodes = (*r)[0].nodes;
        break;
      }
      case ReplayPolicy::kFirstFit:
        nodes = PlaceBaseline(world.problem(), e.request, name_rank, nullptr);
        break;
      case ReplayPolicy::kRandom:
        nodes = PlaceBaseline(world.problem(), e.request, name_rank, &rng);
        break;
    }
    const double ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
    rep.solve_ms_total += ms;
    rep.solve_ms_max = std::max(rep.solve_ms_max, ms);
    if (nodes) {
      int64_t gpus = 0;
      for (int n : *nodes) gpus += world.inventory().ClassOf(n).gpu.count;
      ++rep.accepted;
      ++running;
      rep.gpus_accepted += gpus;
      std::set<int> leaves, racks;
      for (int n : *nodes) {
        leaves.insert(topo.DomainOf(n, Level::kLeaf));
        racks.insert(topo.DomainOf(n, Level::kRack));
      }
      leaf_span += static_cast<double>(leaves.size());
      rack_span += static_cast<double>(racks.size());
      world.Take(*nodes, e.request.tenant, e.request.exclusive);
      rep.placements.emplace_back(e.request.name, *nodes);
      departures.push({e.time + e.duration, seq++, *nodes});
    } else {
      ++rep.rejected;
      rep.rejected_requests.push_back(e.request.name);
    }
    sample(e.time);
  }
  depart_until(std::numeric_limits<double>::infinity());

  const size_t requests = trace.entries.size();
  rep.solve_ms_mean = requests ? rep.solve_ms_total / static_cast<double>(requests) : 0;
  rep.mean_leaf_span = rep.accepted ? leaf_span / rep.accepted : 0;
  rep.mean_rack_span = rep.accepted ? rack_span / rep.accepted : 0;
  // Time-weighted means over the arrival window: each sample's value holds until the next one.
  if (!trace.entries.empty()) {
    const double t0 = trace.entries.front().time, t1 = trace.entries.back().time;
    double ratio = 0, frag = 0, span = 0;
    for (size_t i = 0; i + 1 < samples.size(); ++i) {
      const double a = std::max(samples[i].time, t0), b = std::min(samples[i + 1].time, t1);
      if (b <= a) continue;
      ratio += samples[i].gpu_ratio * (b - a);
      frag += samples[i].fragmentation * (b - a);
      span += b - a;
    }
    if (span > 0) {
      rep.mean_gpu_ratio = ratio / span;
      rep.mean_fragmentation = frag / span;
    } else if (!samples.empty()) {
      rep.mean_gpu_ratio = samples.back().gpu_ratio;
      rep.mean_fragmentation = samples.back().fragmentation;
    }
  }
  rep.series = Thin(samples, options.max_series_points);
  // Usage for forecasts: the arrival window only (the drain after the last arrival is no trend).
  if (!trace.entries.empty()) {
    const double last = trace.entries.back().time;
    size_t keep = 0;
    while (keep < times.size() && times[keep] <= last) ++keep;
    times.resize(keep);
    for (auto* m : {&tg, &tn, &cn}) {
      for (auto& [k, v] : *m) v.resize(std::min(v.size(), keep));
    }
  }
  rep.usage.times = times;
  rep.usage.tenant_gpus = std::move(tg);
  rep.usage.tenant_nodes = std::move(tn);
  rep.usage.class_nodes = std::move(cn);
  rep.wall_ms = std::chrono::duration<double, std::milli>(Clock::now() - wall_start).count();
  return rep;
}

}  // namespace

std::string_view ReplayPolicyName(ReplayPolicy p) {
  switch (p) {
    case ReplayPolicy::kAuto: return "auto";
    case ReplayPolicy::kHeuristic: return "heuristic";
    case ReplayPolicy::kFirstFit: return "first-fit";
    case ReplayPolicy::kRandom: return "random";
  }
  return "auto";
}

std::optional<ReplayPolicy> ParseReplayPolicy(std::string_view s) {
  for (ReplayPolicy p : {ReplayPolicy::kAuto, ReplayPolicy::kHeuristic, ReplayPolicy::kFirstFit,
                         ReplayPolicy::kRandom}) {
    if (ReplayPolicyName(p) == s) return p;
  }
  return std::nullopt;
}

Result<std::vector<PolicyReport>> Replay(const PlacementProblem& problem, const Trace& trace,
                                         const std::vector<ReplayPolicy>& policies,
                                         const ReplayOptions& options) {
  if (problem.snapshot == nullptr) return InvalidArgumentError("no snapshot to replay against");
  if (!(options.time_limit_seconds > 0))
    return InvalidArgumentError("timeLimitSeconds must be positive");
  std::vector<std::string> errors;
  for (const TraceEntry& e : trace.entries) {
    Status st = ValidateRequest(problem, e.request);
    if (st.ok()) continue;
    for (const std::string& m : st.messages()) {
      errors.push_back(trace.source + (e.line ? ":" + std::to_string(e.line) : "") + ": " + m);
    }
  }
  if (!errors.empty()) return Status(StatusCode::kInvalidArgument, std::move(errors));
  Trace sorted = trace;
  std::stable_sort(sorted.entries.begin(), sorted.entries.end(),
                   [](const TraceEntry& a, const TraceEntry& b) { return a.time < b.time; });
  // Node names in order, for first-fit.
  const Inventory& inv = problem.snapshot->inventory;
  std::vector<int> by_name(inv.nodes.size());
  for (size_t i = 0; i < by_name.size(); ++i) by_name[i] = static_cast<int>(i);
  std::sort(by_name.begin(), by_name.end(),
            [&](int a, int b) { return inv.nodes[a].name < inv.nodes[b].name; });
  std::vector<int> name_rank(inv.nodes.size());
  for (size_t i = 0; i < by_name.size(); ++i) name_rank[by_name[i]] = static_cast<int>(i);

  std::vector<PolicyReport> out;
  out.reserve(policies.size());
  for (ReplayPolicy p : policies) out.push_back(RunPolicy(problem, sorted, p, options, name_rank));
  return out;
}

UsageHistory DemandHistory(const Trace& trace, const Inventory& inventory) {
  UsageHistory h;
  int max_gpus = 1;
  for (const NodeClass& c : inventory.node_classes) max_gpus = std::max(max_gpus, c.gpu.count);
  struct Event {
    double time;
    int sign;
    size_t index;
  };
  std::vector<Event> events;
  for (size_t i = 0; i < trace.entries.size(); ++i) {
    events.push_back({trace.entries[i].time, +1, i});
    events.push_back({trace.entries[i].time + trace.entries[i].duration, -1, i});
  }
  std::stable_sort(events.begin(), events.end(), [](const Event& a, const Event& b) {
    return a.time != b.time ? a.time < b.time : a.sign < b.sign;  // departures first
  });
  // What is held already is the baseline the demand adds to.
  std::map<std::string, double> gpus, nodes, cls;
  for (size_t i = 0; i < inventory.nodes.size(); ++i) {
    const Node& n = inventory.nodes[i];
    if (n.holder.empty()) continue;
    gpus[n.holder] += inventory.node_classes[inventory.ClassIndex(n.node_class)].gpu.count;
    nodes[n.holder] += 1;
    cls[n.node_class] += 1;
  }
  for (const TraceEntry& e : trace.entries) {
    gpus.emplace(e.request.tenant, 0);
    nodes.emplace(e.request.tenant, 0);
    if (e.request.select.classes.size() == 1) cls.emplace(e.request.select.classes[0], 0);
  }
  // The arrival window only, as for a replay: the drain after the last arrival is no trend.
  double last_arrival = -std::numeric_limits<double>::infinity();
  for (const TraceEntry& e : trace.entries) last_arrival = std::max(last_arrival, e.time);
  for (const Event& ev : events) {
    if (ev.time > last_arrival) break;
    const Request& r = trace.entries[ev.index].request;
    int node_gpus = max_gpus;
    if (r.select.classes.size() == 1) {
      const int c = inventory.ClassIndex(r.select.classes[0]);
      if (c >= 0) node_gpus = std::max(1, inventory.node_classes[c].gpu.count);
    }
    const double n = r.nodes ? *r.nodes : std::ceil(static_cast<double>(*r.gpus) / node_gpus);
    const double g = r.gpus ? *r.gpus : static_cast<double>(*r.nodes) * node_gpus;
    gpus[r.tenant] += ev.sign * g;
    nodes[r.tenant] += ev.sign * n;
    if (r.select.classes.size() == 1) cls[r.select.classes[0]] += ev.sign * n;
    h.times.push_back(ev.time);
    for (const auto& [k, v] : gpus) h.tenant_gpus[k].push_back(v);
    for (const auto& [k, v] : nodes) h.tenant_nodes[k].push_back(v);
    for (const auto& [k, v] : cls) h.class_nodes[k].push_back(v);
  }
  return h;
}

}  // namespace topoplace
