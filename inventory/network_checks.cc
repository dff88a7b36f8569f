#include "inventory/network_checks.h"

#include <algorithm>
#include <set>
#include <unordered_map>
#include <utility>

#include "model/text.h"

namespace topoplace {

namespace {

constexpr size_t kNone = static_cast<size_t>(-1);

std::string Q(const std::string& s) { return QuotedText(s); }

// "a, b, c" of at most `max` quoted names, then "and N more".
std::string NameList(const std::vector<std::string>& names, size_t max = 4) {
  std::string out;
  for (size_t i = 0; i < names.size() && i < max; ++i) {
    if (i) out += ", ";
    out += Q(names[i]);
  }
  if (names.size() > max) out += " and " + std::to_string(names.size() - max) + " more";
  return out;
}

class NetworkChecker {
 public:
  explicit NetworkChecker(const Inventory& inv) : inv_(inv) {
    for (size_t i = 0; i < inv.switches.size(); ++i) switch_index_.emplace(inv.switches[i].name, i);
    for (size_t i = 0; i < inv.racks.size(); ++i) rack_index_.emplace(inv.racks[i].name, i);
    // Each leaf's uplinks that resolve to a switch, and its spine group (sorted, unique).
    uplinks_.resize(inv.switches.size());
    groups_.resize(inv.switches.size());
    for (size_t i = 0; i < inv.switches.size(); ++i) {
      for (const std::string& up : inv.switches[i].uplinks) {
        uplinks_[i].push_back(SwitchIndex(up));
        groups_[i].insert(up);
      }
    }
    // A leaf's pod: its own, else its first node's rack's.
    leaf_pod_.resize(inv.switches.size());
    for (size_t i = 0; i < inv.switches.size(); ++i) leaf_pod_[i] = inv.switches[i].pod;
    for (const Node& n : inv.nodes) {
      const size_t leaf = LeafIndex(n.leaf), rack = RackIndex(n.rack);
      if (leaf != kNone && rack != kNone && leaf_pod_[leaf].empty())
        leaf_pod_[leaf] = inv.racks[rack].pod;
    }
  }

  std::vector<NetworkProblem> Run() {
    CheckUplinks();
    CheckSpineLoops();
    CheckLeavesWithoutUplinks();
    CheckNodes();
    std::stable_sort(problems_.begin(), problems_.end(),
                     [](const NetworkProblem& a, const NetworkProblem& b) {
                       const bool a_node = a.field == NetworkProblem::Field::kNodeLeaf;
                       const bool b_node = b.field == NetworkProblem::Field::kNodeLeaf;
                       if (a_node != b_node) return b_node;
                       return a.index < b.index;
                     });
    return std::move(problems_);
  }

 private:
  size_t SwitchIndex(const std::string& name) const {
    auto it = switch_index_.find(name);
    return it == switch_index_.end() ? kNone : it->second;
  }
  size_t LeafIndex(const std::string& name) const {
    const size_t i = SwitchIndex(name);
    return i != kNone && inv_.switches[i].role == SwitchRole::kLeaf ? i : kNone;
  }
  size_t RackIndex(const std::string& name) const {
    auto it = rack_index_.find(name);
    return it == rack_index_.end() ? kNone : it->second;
  }
  bool IsSpine(size_t i) const { return i != kNone && inv_.switches[i].role == SwitchRole::kSpine; }

  void Add(NetworkProblem::Field field, size_t index, size_t item, std::string what,
           std::string expected) {
    problems_.push_back({field, index, item, std::move(what), std::move(expected)});
  }

  // A leaf's uplinks stay in its pod; a spine's uplinks are spines.
  void CheckUplinks() {
    for (size_t i = 0; i < inv_.switches.size(); ++i) {
      const Switch& sw = inv_.switches[i];
      for (size_t k = 0; k < uplinks_[i].size(); ++k) {
        const size_t up = uplinks_[i][k];
        if (up == kNone || up == i) continue;  // dangling or to itself: reported by the loader
        const Switch& target = inv_.switches[up];
        if (sw.role == SwitchRole::kSpine && target.role == SwitchRole::kLeaf) {
          Add(NetworkProblem::Field::kSwitchUplink, i, k,
              "switch " + Q(target.name) + " is a leaf, below spine " + Q(sw.name),
              "a spine one tier up (a spine's uplinks are spines)");
        } else if (sw.role == SwitchRole::kLeaf && target.role == SwitchRole::kSpine &&
                   !target.pod.empty() && !leaf_pod_[i].empty() && target.pod != leaf_pod_[i]) {
          Add(NetworkProblem::Field::kSwitchUplink, i, k,
              "spine " + Q(target.name) + " is in pod " + Q(target.pod) + ", not the pod " +
                  Q(leaf_pod_[i]) + " of leaf " + Q(sw.name),
              "a spine of pod " + Q(leaf_pod_[i]) + " or one shared by pods (without a pod)");
        }
      }
    }
  }

  // Spines uplinked to spines must not come back to where they started.
  void CheckSpineLoops() {
    const size_t n = inv_.switches.size();
    enum : char { kWhite, kGrey, kBlack };
    std::vector<char> colour(n, kWhite);
    struct Frame {
      size_t node;
      size_t next;  // next uplink to follow
    };
    for (size_t start = 0; start < n; ++start) {
      if (!IsSpine(start) || colour[start] != kWhite) continue;
      std::vector<Frame> stack{{start, 0}};
      colour[start] = kGrey;
      while (!stack.empty()) {
        Frame& f = stack.back();
        if (f.next == uplinks_[f.node].size()) {
          colour[f.node] = kBlack;
          stack.pop_back();
          continue;
        }
        const size_t k = f.next++;
        const size_t up = uplinks_[f.node][k];
        if (!IsSpine(up) || up == f.node) continue;
        if (colour[up] == kGrey) {
          // The loop: up -> ... -> f.node -> up, read back along the stack.
          std::vector<std::string> loop;
          size_t from = stack.size();
          while (from > 0 && stack[from - 1].node != up) --from;
          for (size_t s = from == 0 ? 0 : from - 1; s < stack.size(); ++s)
            loop.push_back(inv_.switches[stack[s].node].name);
          loop.push_back(inv_.switches[up].name);
          std::string path;
          for (size_t s = 0; s < loop.size() && s < 8; ++s) path += (s ? " -> " : "") + loop[s];
          if (loop.size() > 8) path += " -> ...";
          Add(NetworkProblem::Field::kSwitchUplink, f.node, k,
              "spine " + Q(inv_.switches[f.node].name) + " uplinks to " +
                  Q(inv_.switches[up].name) + ", which leads back to it (" +
                  PrintableText(path, 200) + ")",
              "uplinks one tier up, without loops");
        } else if (colour[up] == kWhite) {
          colour[up] = kGrey;
          stack.push_back({up, 0});
        }
      }
    }
  }

  // A leaf in a site with spines is cabled to some of them.
  void CheckLeavesWithoutUplinks() {
    for (size_t i = 0; i < inv_.switches.size(); ++i) {
      const Switch& sw = inv_.switches[i];
      if (sw.role != SwitchRole::kLeaf || !sw.uplinks.empty()) continue;
      std::vector<std::string> spines;
      for (const Switch& s : inv_.switches) {
        if (s.role == SwitchRole::kSpine &&
            (s.site.empty() || sw.site.empty() || s.site == sw.site))
          spines.push_back(s.name);
      }
      if (spines.empty()) continue;
      no_uplinks_.insert(i);
      Add(NetworkProblem::Field::kSwitchName, i, 0,
          "leaf " + Q(sw.name) + " has no uplinks, but its site has spines (" + NameList(spines) +
              ")",
          "uplinks: [the spines this leaf is cabled to]");
    }
  }

  // Per node: its rack's pod and its leaf's pod agree, and every leaf of a pod sees the same
  // spines.
  void CheckNodes() {
    std::set<std::pair<size_t, size_t>> seen_pairs;    // (rack, leaf) already looked at
    std::unordered_map<std::string, size_t> pod_leaf;  // declared pod -> its first leaf
    std::set<size_t> reported_leaves;
    for (size_t i = 0; i < inv_.nodes.size(); ++i) {
      const Node& n = inv_.nodes[i];
      const size_t leaf = LeafIndex(n.leaf), rack = RackIndex(n.rack);
      if (leaf == kNone || rack == kNone) continue;
      if (!seen_pairs.insert({rack, leaf}).second) continue;
      const Rack& r = inv_.racks[rack];
      const Switch& sw = inv_.switches[leaf];
      if (!r.pod.empty() && !sw.pod.empty() && r.pod != sw.pod) {
        Add(NetworkProblem::Field::kNodeLeaf, i, 0,
            "leaf " + Q(sw.name) + " is in pod " + Q(sw.pod) + ", but the node's rack " +
                Q(r.name) + " is in pod " + Q(r.pod),
            "a leaf of pod " + Q(r.pod) + " (or the same pod on the rack and the leaf)");
        continue;
      }
      const std::string& pod = PodOfRack(r, &sw);
      if (r.pod.empty() && sw.pod.empty()) continue;  // no pod declared: nothing to agree with
      auto [first, fresh] = pod_leaf.emplace(pod, leaf);
      if (fresh || first->second == leaf || groups_[first->second] == groups_[leaf]) continue;
      if (no_uplinks_.count(leaf) || no_uplinks_.count(first->second)) continue;
      if (!reported_leaves.insert(leaf).second) continue;
      const Switch& other = inv_.switches[first->second];
      auto spines = [](const std::set<std::string>& g) {
        return NameList(std::vector<std::string>(g.begin(), g.end()));
      };
      Add(sw.uplinks.empty() ? NetworkProblem::Field::kSwitchName
                             : NetworkProblem::Field::kSwitchUplink,
          leaf, 0,
          "leaf " + Q(sw.name) + " uplinks to " + spines(groups_[leaf]) + ", but leaf " +
              Q(other.name) + " of the same pod " + Q(pod) + " to " +
              spines(groups_[first->second]),
          "every leaf of pod " + Q(pod) + " uplinked to the same spines");
    }
  }

  const Inventory& inv_;
  std::unordered_map<std::string, size_t> switch_index_, rack_index_;
  std::vector<std::vector<size_t>> uplinks_;
  std::vector<std::set<std::string>> groups_;
  std::vector<std::string> leaf_pod_;
  std::set<size_t> no_uplinks_;
  std::vector<NetworkProblem> problems_;
};

}  // namespace

std::vector<NetworkProblem> CheckNetwork(const Inventory& inventory) {
  return NetworkChecker(inventory).Run();
}

}  // namespace topoplace
