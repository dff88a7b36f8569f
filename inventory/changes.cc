#include "inventory/changes.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <map>
#include <set>
#include <string>
#include <type_traits>
#include <unordered_set>
#include <vector>

#include "inventory/generator.h"
#include "inventory/text_fields.h"

namespace topoplace {

namespace {

using text_fields::ParseNumber;
using text_fields::Quoted;
using text_fields::Split;
using text_fields::Trim;

std::optional<int> ParseCount(std::string_view s, int max) {
  std::optional<double> v = ParseNumber(s);
  if (!v || *v != std::floor(*v) || *v < 1 || *v > max) return std::nullopt;
  return static_cast<int>(*v);
}

constexpr std::string_view kTargetKinds = "node, rack, leaf, pod, powerDomain";
constexpr std::string_view kQuotaKeys[] = {"nodes",     "gpus",       "cpuCores",
                                           "memoryGiB", "storageGiB", "budgetPerHour"};

std::string_view TargetKindName(TargetKind k) {
  switch (k) {
    case TargetKind::kNode: return "node";
    case TargetKind::kRack: return "rack";
    case TargetKind::kLeaf: return "leaf";
    case TargetKind::kPod: return "pod";
    case TargetKind::kPowerDomain: return "powerDomain";
  }
  return "node";
}

// Edit distance for "did you mean" (small inputs only).
int Distance(std::string_view a, std::string_view b) {
  std::vector<int> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = static_cast<int>(j);
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = static_cast<int>(i);
    for (size_t j = 1; j <= b.size(); ++j) {
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] != b[j - 1])});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

// "expected one of a, b, c" for short lists, "did you mean x?" plus a count for long ones.
std::string KnownNames(const std::set<std::string>& names, std::string_view got,
                       std::string_view noun) {
  if (names.empty()) return "the scenario has no " + std::string(noun) + "s";
  std::string closest;
  int best = 3;
  for (const std::string& n : names) {
    const int d = Distance(n, got);
    if (d < best) {
      best = d;
      closest = n;
    }
  }
  std::string out;
  if (names.size() <= 12) {
    out = "expected one of";
    bool first = true;
    for (const auto& n : names) {
      out += (first ? " " : ", ") + n;
      first = false;
    }
  } else {
    out = "expected one of the " + std::to_string(names.size()) + " " + std::string(noun) +
          "s of the scenario (first: " + *names.begin() + ")";
  }
  if (!closest.empty()) out = "did you mean " + Quoted(closest) + "? " + out;
  return out;
}

std::string TargetValue(const Inventory& inv, const Node& node, TargetKind kind) {
  switch (kind) {
    case TargetKind::kNode: return node.name;
    case TargetKind::kRack: return node.rack;
    case TargetKind::kLeaf: return node.leaf;
    case TargetKind::kPod: return inv.PodOf(node);
    case TargetKind::kPowerDomain: return node.power_domain;
  }
  return node.name;
}

Result<std::vector<int>> Resolve(const Inventory& inv, const Change& c) {
  std::vector<int> nodes;
  std::set<std::string> known;
  for (int i = 0; i < static_cast<int>(inv.nodes.size()); ++i) {
    std::string value = TargetValue(inv, inv.nodes[i], c.target.kind);
    if (value == c.target.name) nodes.push_back(i);
    if (nodes.empty()) known.insert(std::move(value));
  }
  if (!nodes.empty()) return nodes;
  // Names that exist but hold no nodes are still a valid target (nothing happens).
  if (c.target.kind == TargetKind::kRack && inv.RackIndex(c.target.name) >= 0) return nodes;
  if (c.target.kind == TargetKind::kLeaf && inv.SwitchIndex(c.target.name) >= 0) return nodes;
  if (c.target.kind == TargetKind::kPowerDomain && inv.PowerDomainIndex(c.target.name) >= 0)
    return nodes;
  const std::string noun(TargetKindName(c.target.kind));
  return InvalidArgumentError(std::string(ChangeFlag(c.kind)) + " " + Quoted(c.text) + ": no " +
                              noun + " named " + Quoted(c.target.name) + "; " +
                              KnownNames(known, c.target.name, noun));
}

// The most common rack size among racks of `pod`, else 8.
int TypicalRackSize(const Inventory& inv, const std::string& pod) {
  std::map<std::string, int> per_rack;
  for (const Node& n : inv.nodes) {
    if (inv.PodOf(n) == pod) ++per_rack[n.rack];
  }
  std::map<int, int> sizes;
  for (const auto& [rack, count] : per_rack) ++sizes[count];
  int best = 8, best_count = 0;
  for (const auto& [size, count] : sizes) {
    if (count > best_count) {
      best = size;
      best_count = count;
    }
  }
  return best;
}

Status AddRacksTo(Scenario& s, const Change& c, AppliedChange& applied) {
  Inventory& inv = s.inventory;
  const AddRacks& a = c.add;
  const std::string flag = std::string(ChangeFlag(c.kind)) + " " + Quoted(c.text);
  // The pod: racks and leaves that name it.
  std::set<std::string> pods;
  const Rack* pod_rack = nullptr;
  for (const Rack& r : inv.racks) {
    if (!r.pod.empty()) pods.insert(r.pod);
    if (r.pod == a.pod && pod_rack == nullptr) pod_rack = &r;
  }
  const Switch* pod_leaf = nullptr;
  for (const Switch& sw : inv.switches) {
    if (sw.role == SwitchRole::kLeaf && !sw.pod.empty()) pods.insert(sw.pod);
    if (sw.role == SwitchRole::kLeaf && sw.pod == a.pod && pod_leaf == nullptr) pod_leaf = &sw;
  }
  if (pod_rack == nullptr && pod_leaf == nullptr) {
    return InvalidArgumentError(flag + ": pod: no pod named " + Quoted(a.pod) + "; " +
                                KnownNames(pods, a.pod, "pod"));
  }
  // A leaf of the pod gives uplinks and vendor: the new leaves are cabled like their neighbours.
  if (pod_leaf == nullptr) {
    for (const Node& n : inv.nodes) {
      if (n.rack == pod_rack->name) {
        const int leaf = inv.SwitchIndex(n.leaf);
        if (leaf >= 0) pod_leaf = &inv.switches[leaf];
        break;
      }
    }
  }
  if (pod_leaf == nullptr) {
    return InvalidArgumentError(flag + ": pod " + Quoted(a.pod) +
                                " has no leaf switch to copy the cabling from");
  }
  std::string site = pod_rack != nullptr ? pod_rack->site : pod_leaf->site;
  if (site.empty() && !inv.sites.empty()) site = inv.sites.front().name;
  if (inv.ClassIndex(a.node_class) < 0) {
    std::optional<NodeClass> builtin = BuiltinNodeClass(a.node_class);
    if (!builtin) {
      std::set<std::string> classes;
      for (const NodeClass& nc : inv.node_classes) classes.insert(nc.name);
      for (std::string_view b : BuiltinNodeClassNames()) classes.insert(std::string(b));
      return InvalidArgumentError(flag + ": class: no node class named " + Quoted(a.node_class) +
                                  "; " + KnownNames(classes, a.node_class, "class"));
    }
    inv.node_classes.push_back(*builtin);
  }
  const int per_rack = a.nodes_per_rack.value_or(TypicalRackSize(inv, a.pod));
  const int64_t adds = int64_t{a.racks} * per_rack;
  if (static_cast<int64_t>(inv.nodes.size()) + adds > kMaxScenarioNodes) {
    return InvalidArgumentError(flag + ": " + std::to_string(adds) + " more nodes would make " +
                                std::to_string(static_cast<int64_t>(inv.nodes.size()) + adds) +
                                ", too many; expected at most " +
                                std::to_string(kMaxScenarioNodes) + " nodes in one scenario");
  }
  const std::vector<std::string> uplinks = pod_leaf->uplinks;
  const std::string vendor = pod_leaf->vendor;
  std::unordered_set<std::string> taken;
  for (const auto& x : inv.racks) taken.insert(x.name);
  for (const auto& x : inv.switches) taken.insert(x.name);
  for (const auto& x : inv.power_domains) taken.insert(x.name);
  for (const auto& x : inv.nodes) taken.insert(x.name);
  int serial = 1;
  auto pad = [](int v) { return (v < 10 ? "0" : "") + std::to_string(v); };
  for (int k = 0; k < a.racks; ++k) {
    std::string rack;
    for (;; ++serial) {
      rack = a.pod + "-add-r" + pad(serial);
      if (!taken.count(rack) && !taken.count(rack + "-leaf") && !taken.count(rack + "-pd-a") &&
          !taken.count(rack + "-pd-b") && !taken.count(rack + "-n01"))
        break;
    }
    ++serial;
    const std::string leaf = rack + "-leaf";
    const std::string pda = rack + "-pd-a", pdb = rack + "-pd-b";
    taken.insert({rack, leaf, pda, pdb});
    inv.power_domains.push_back({pda, site});
    inv.power_domains.push_back({pdb, site});
    inv.switches.push_back({leaf, SwitchRole::kLeaf, vendor, site, a.pod, uplinks, std::nullopt});
    inv.racks.push_back({rack, site, a.pod + "-row-add", a.pod, {pda, pdb}, a.tags});
    for (int i = 1; i <= per_rack; ++i) {
      Node node;
      node.name = rack + "-n" + pad(i);
      node.node_class = a.node_class;
      node.rack = rack;
      node.power_domain = i % 2 == 1 ? pda : pdb;
      node.leaf = leaf;
      taken.insert(node.name);
      applied.nodes.push_back(node.name);
      inv.nodes.push_back(std::move(node));
    }
  }
  applied.summary = "added " + std::to_string(a.racks) + " rack" + (a.racks == 1 ? "" : "s") +
                    " of " + std::to_string(per_rack) + " " + a.node_class + " nodes to pod " +
                    a.pod + " (" + std::to_string(applied.nodes.size()) +
                    " nodes, a leaf per rack of vendor " + vendor + ", A/B power)";
  return Status::Ok();
}

Status EditQuota(Scenario& s, const Change& c, AppliedChange& applied) {
  const std::string flag = std::string(ChangeFlag(c.kind)) + " " + Quoted(c.text);
  const int t = s.TenantIndex(c.tenant);
  if (t < 0) {
    std::set<std::string> names;
    for (const Tenant& x : s.tenants) names.insert(x.name);
    return InvalidArgumentError(flag + ": no tenant named " + Quoted(c.tenant) + "; " +
                                KnownNames(names, c.tenant, "tenant"));
  }
  Tenant& tenant = s.tenants[t];
  std::string summary;
  for (const QuotaEdit& e : c.quota) {
    auto apply = [&](auto& field) -> Status {
      using T = typename std::remove_reference_t<decltype(field)>::value_type;
      switch (e.op) {
        case QuotaEdit::Op::kClear: field.reset(); break;
        case QuotaEdit::Op::kSet: field = static_cast<T>(e.value); break;
        case QuotaEdit::Op::kAdd:
          if (!field) {
            return InvalidArgumentError(flag + ": " + e.key + ": tenant " + Quoted(tenant.name) +
                                        " has no " + e.key +
                                        " limit to change; expected a number to set one");
          }
          field = static_cast<T>(static_cast<double>(*field) + e.value);
          if (static_cast<double>(*field) < 0) field = static_cast<T>(0);
          break;
      }
      auto show = [&](const auto& f) {
        if (!f) return std::string("none");
        char buf[64];
        std::snprintf(buf, sizeof buf, "%g", static_cast<double>(*f));
        return std::string(buf);
      };
      summary += (summary.empty() ? "" : ", ") + e.key + " -> " + show(field);
      return Status::Ok();
    };
    Status st;
    if (e.key == "nodes") st = apply(tenant.quota.nodes);
    if (e.key == "gpus") st = apply(tenant.quota.gpus);
    if (e.key == "cpuCores") st = apply(tenant.quota.cpu_cores);
    if (e.key == "memoryGiB") st = apply(tenant.quota.memory_gib);
    if (e.key == "storageGiB") st = apply(tenant.quota.storage_gib);
    if (e.key == "budgetPerHour") st = apply(tenant.budget_per_hour);
    if (!st.ok()) return st;
  }
  // A limit cut below what the tenant holds: existing allocations stay, new placements fail.
  std::map<std::string, const NodeClass*> classes;
  for (const NodeClass& k : s.inventory.node_classes) classes.emplace(k.name, &k);
  double held_nodes = 0, held_gpus = 0, held_cost = 0;
  for (const Node& n : s.inventory.nodes) {
    if (n.holder != tenant.name) continue;
    auto it = classes.find(n.node_class);
    if (it == classes.end()) continue;
    held_nodes += 1;
    held_gpus += it->second->gpu.count;
    held_cost += it->second->cost_per_hour;
  }
  const auto over = [&](const char* what, double held, const auto& limit) {
    if (!limit || held <= static_cast<double>(*limit) + 1e-9) return;
    char buf[160];
    std::snprintf(buf, sizeof buf, "; over quota: holds %g %s, %g above the limit", held, what,
                  held - static_cast<double>(*limit));
    summary += buf;
  };
  over("nodes", held_nodes, tenant.quota.nodes);
  over("gpus", held_gpus, tenant.quota.gpus);
  over("per hour", held_cost, tenant.budget_per_hour);
  applied.summary = "tenant " + tenant.name + " quota: " + summary;
  return Status::Ok();
}

}  // namespace

std::string_view ChangeFlag(ChangeKind kind) {
  switch (kind) {
    case ChangeKind::kFail: return "--fail";
    case ChangeKind::kDrain: return "--drain";
    case ChangeKind::kAdd: return "--add";
    case ChangeKind::kRemove: return "--remove";
    case ChangeKind::kTenantQuota: return "--tenant-quota";
  }
  return "--fail";
}

Result<Change> ParseChange(ChangeKind kind, std::string_view text) {
  Change c;
  c.kind = kind;
  c.text = std::string(text);
  const std::string flag = std::string(ChangeFlag(kind)) + " " + Quoted(text);
  std::vector<std::string> errors;
  switch (kind) {
    case ChangeKind::kFail:
    case ChangeKind::kDrain:
    case ChangeKind::kRemove: {
      const size_t colon = text.find(':');
      if (colon == std::string_view::npos) {
        return InvalidArgumentError(flag + ": expected KIND:NAME with KIND one of " +
                                    std::string(kTargetKinds) + " (e.g. rack:r07)");
      }
      const std::string_view k = Trim(text.substr(0, colon));
      const std::string_view name = Trim(text.substr(colon + 1));
      bool found = false;
      for (TargetKind t : {TargetKind::kNode, TargetKind::kRack, TargetKind::kLeaf,
                           TargetKind::kPod, TargetKind::kPowerDomain}) {
        if (TargetKindName(t) == k) {
          c.target.kind = t;
          found = true;
        }
      }
      if (!found) {
        return InvalidArgumentError(flag + ": unknown kind " + Quoted(k) + "; expected one of " +
                                    std::string(kTargetKinds));
      }
      if (name.empty()) {
        return InvalidArgumentError(flag + ": no name after " + Quoted(std::string(k) + ":") +
                                    "; expected " + std::string(k) + ":NAME");
      }
      c.target.name = std::string(name);
      return c;
    }
    case ChangeKind::kAdd: {
      std::set<std::string> seen;
      for (std::string_view item : Split(text, ',')) {
        const size_t eq = item.find('=');
        const std::string_view key = Trim(item.substr(0, eq));
        if (eq == std::string_view::npos) {
          errors.push_back(flag + ": " + Quoted(Trim(item)) +
                           ": no value; expected KEY=VALUE with KEY one of racks, class, pod, "
                           "nodes, tags");
          continue;
        }
        const std::string_view value = Trim(item.substr(eq + 1));
        if (!seen.insert(std::string(key)).second) {
          errors.push_back(flag + ": " + std::string(key) + ": given twice");
          continue;
        }
        if (key == "racks") {
          if (auto n = ParseCount(value, 1000)) {
            c.add.racks = *n;
          } else {
            errors.push_back(flag + ": racks: " + Quoted(value) +
                             " is not a whole number from 1 to 1000");
          }
        } else if (key == "nodes") {
          if (auto n = ParseCount(value, kMaxGeneratedNodesPerRack)) {
            c.add.nodes_per_rack = *n;
          } else {
            errors.push_back(flag + ": nodes: " + Quoted(value) +
                             " is not a whole number from 1 to " +
                             std::to_string(kMaxGeneratedNodesPerRack));
          }
        } else if (key == "class") {
          if (value.empty()) errors.push_back(flag + ": class: empty; expected a node class name");
          c.add.node_class = std::string(value);
        } else if (key == "pod") {
          if (value.empty()) errors.push_back(flag + ": pod: empty; expected a pod name");
          c.add.pod = std::string(value);
        } else if (key == "tags") {
          for (std::string_view tag : Split(value, '+')) {
            tag = Trim(tag);
            if (tag.empty()) {
              errors.push_back(flag + ": tags: an empty tag in " + Quoted(value) +
                               "; expected tags separated by + (hipaa+pci)");
              break;
            }
            c.add.tags.emplace_back(tag);
          }
        } else {
          errors.push_back(flag + ": unknown key " + Quoted(key) +
                           "; expected one of racks, class, pod, nodes, tags");
        }
      }
      for (const char* required : {"racks", "class", "pod"}) {
        if (!seen.count(required) && errors.empty()) {
          errors.push_back(flag + ": " + required +
                           " missing; expected racks=N,class=CLASS,pod=POD[,nodes=N][,tags=T]");
        }
      }
      break;
    }
    case ChangeKind::kTenantQuota: {
      const size_t colon = text.find(':');
      if (colon == std::string_view::npos || Trim(text.substr(0, colon)).empty()) {
        return InvalidArgumentError(flag +
                                    ": expected TENANT:KEY=VALUE[,KEY=VALUE] (e.g. "
                                    "nlp-lab:gpus=+64)");
      }
      c.tenant = std::string(Trim(text.substr(0, colon)));
      std::set<std::string> seen;
      for (std::string_view item : Split(text.substr(colon + 1), ',')) {
        const size_t eq = item.find('=');
        const std::string_view key = Trim(item.substr(0, eq));
        const bool known =
            std::find(std::begin(kQuotaKeys), std::end(kQuotaKeys), key) != std::end(kQuotaKeys);
        if (!known) {
          errors.push_back(flag + ": unknown key " + Quoted(key) +
                           "; expected one of nodes, gpus, cpuCores, memoryGiB, storageGiB, "
                           "budgetPerHour");
          continue;
        }
        if (eq == std::string_view::npos) {
          errors.push_back(flag + ": " + std::string(key) +
                           ": no value; expected +N, -N, N or none");
          continue;
        }
        if (!seen.insert(std::string(key)).second) {
          errors.push_back(flag + ": " + std::string(key) + ": given twice");
          continue;
        }
        std::string_view value = Trim(item.substr(eq + 1));
        QuotaEdit e;
        e.key = std::string(key);
        if (value == "none") {
          e.op = QuotaEdit::Op::kClear;
        } else {
          const bool add = !value.empty() && (value.front() == '+' || value.front() == '-');
          std::optional<double> v =
              ParseNumber(add && value.front() == '+' ? value.substr(1) : value);
          const bool integral = key != "memoryGiB" && key != "storageGiB" && key != "budgetPerHour";
          if (!v || (integral && *v != std::floor(*v)) || (!add && *v < 0) || std::abs(*v) > 1e13) {
            errors.push_back(flag + ": " + std::string(key) + ": " + Quoted(value) +
                             " is not a change; expected +N, -N, N (" +
                             (integral ? "whole numbers" : "numbers") + ") or none");
            continue;
          }
          e.op = add ? QuotaEdit::Op::kAdd : QuotaEdit::Op::kSet;
          e.value = *v;
        }
        c.quota.push_back(e);
      }
      if (c.quota.empty() && errors.empty()) {
        errors.push_back(flag + ": no quota change; expected e.g. " + c.tenant + ":gpus=+64");
      }
      break;
    }
  }
  if (!errors.empty()) return Status(StatusCode::kInvalidArgument, std::move(errors));
  return c;
}

Result<std::vector<AppliedChange>> ApplyChanges(Scenario& scenario,
                                                const std::vector<Change>& changes) {
  Inventory& inv = scenario.inventory;
  if (!inv.indexed()) {
    Status st = inv.BuildIndex();
    if (!st.ok()) return st;
  }
  // Added racks are counted before any is built: the scenario stays within kMaxScenarioNodes, and
  // the flag that would pass it is named without first building what the others add.
  int64_t planned = static_cast<int64_t>(inv.nodes.size());
  std::map<std::string, int> typical;  // per pod, computed once
  for (size_t index = 0; index < changes.size(); ++index) {
    const Change& c = changes[index];
    if (c.kind != ChangeKind::kAdd) continue;
    int per_rack = c.add.nodes_per_rack.value_or(0);
    if (per_rack == 0) {
      auto [it, fresh] = typical.emplace(c.add.pod, 0);
      if (fresh) it->second = TypicalRackSize(inv, c.add.pod);
      per_rack = it->second;
    }
    planned += int64_t{c.add.racks} * per_rack;
    if (planned > kMaxScenarioNodes) {
      // The reason and the change's index let a caller name the change without re-applying them.
      Status st = InvalidArgumentError(
          std::string(ChangeFlag(c.kind)) + " " + Quoted(c.text) + ": the scenario would hold " +
          std::to_string(planned) + " nodes, too many; expected at most " +
          std::to_string(kMaxScenarioNodes) + " nodes in one scenario");
      st.SetReason("too_many_nodes");
      st.AddDetail({std::to_string(index), "too_many_nodes", st.message()});
      return st;
    }
  }
  std::vector<AppliedChange> out;
  std::vector<std::string> errors;
  auto run = [&](ChangeKind kind) {
    for (const Change& c : changes) {
      if (c.kind != kind) continue;
      AppliedChange applied;
      applied.change = c;
      Status st;
      if (kind == ChangeKind::kAdd) {
        st = AddRacksTo(scenario, c, applied);
        if (st.ok()) st = inv.BuildIndex();
      } else if (kind == ChangeKind::kTenantQuota) {
        st = EditQuota(scenario, c, applied);
      } else {
        Result<std::vector<int>> nodes = Resolve(inv, c);
        if (!nodes.ok()) {
          st = nodes.status();
        } else {
          const std::string where =
              std::string(TargetKindName(c.target.kind)) + " " + c.target.name;
          int held = 0, changed = 0;
          for (int i : *nodes) {
            Node& n = inv.nodes[i];
            applied.nodes.push_back(n.name);
            if (kind == ChangeKind::kFail) {
              if (n.state != NodeState::kFailed) ++changed;
              n.state = NodeState::kFailed;
            } else if (kind == ChangeKind::kDrain) {
              if (!n.holder.empty()) {
                ++held;
              } else if (n.state == NodeState::kAvailable) {
                n.state = NodeState::kMaintenance;
                ++changed;
              }
            }
          }
          const int count = static_cast<int>(nodes->size());
          if (kind == ChangeKind::kFail) {
            applied.summary =
                (c.target.kind == TargetKind::kNode
                     ? "failed node " + c.target.name
                     : "failed " + std::to_string(count) + " node" + (count == 1 ? "" : "s") +
                           " of " + where) +
                (changed < count ? " (" + std::to_string(count - changed) + " already failed)"
                                 : "");
          } else if (kind == ChangeKind::kDrain) {
            applied.summary =
                "drained " + where + ": " + std::to_string(changed) + " free node" +
                (changed == 1 ? "" : "s") + " closed to new placements, " + std::to_string(held) +
                (held == 1 ? " held node stays" : " held nodes stay") + " with their holders";
          } else {
            std::set<std::string> touched_racks;
            std::vector<uint8_t> drop(inv.nodes.size(), 0);
            for (int i : *nodes) {
              drop[i] = 1;
              touched_racks.insert(inv.nodes[i].rack);
            }
            std::vector<Node> kept;
            kept.reserve(inv.nodes.size() - nodes->size());
            std::set<std::string> racks_left;
            for (size_t i = 0; i < inv.nodes.size(); ++i) {
              if (drop[i]) continue;
              racks_left.insert(inv.nodes[i].rack);
              kept.push_back(std::move(inv.nodes[i]));
            }
            inv.nodes = std::move(kept);
            int racks_removed = 0;
            inv.racks.erase(std::remove_if(inv.racks.begin(), inv.racks.end(),
                                           [&](const Rack& r) {
                                             const bool gone = touched_racks.count(r.name) &&
                                                               !racks_left.count(r.name);
                                             racks_removed += gone;
                                             return gone;
                                           }),
                            inv.racks.end());
            applied.summary =
                "removed " + std::to_string(count) + " node" + (count == 1 ? "" : "s") + " of " +
                where +
                (racks_removed ? " (and " + std::to_string(racks_removed) + " empty rack" +
                                     (racks_removed == 1 ? "" : "s") + ")"
                               : "");
            st = inv.BuildIndex();
          }
        }
      }
      if (!st.ok()) {
        errors.insert(errors.end(), st.messages().begin(), st.messages().end());
        continue;
      }
      out.push_back(std::move(applied));
    }
  };
  for (ChangeKind kind : {ChangeKind::kAdd, ChangeKind::kRemove, ChangeKind::kFail,
                          ChangeKind::kDrain, ChangeKind::kTenantQuota}) {
    run(kind);
  }
  if (!errors.empty()) return Status(StatusCode::kInvalidArgument, std::move(errors));
  Status st = inv.BuildIndex();
  if (!st.ok()) return st;
  return out;
}

}  // namespace topoplace
