#include "model/node_states.h"

namespace topoplace {

namespace {
const std::string kNobody;
}  // namespace

NodeStates::NodeStates(int node_count) { entries_.Assign(node_count, Entry{}); }

NodeStates NodeStates::FromInventory(const Inventory& inventory) {
  NodeStates out(static_cast<int>(inventory.nodes.size()));
  for (size_t i = 0; i < inventory.nodes.size(); ++i) {
    const Node& n = inventory.nodes[i];
    if (n.state != NodeState::kAvailable || !n.holder.empty() || n.exclusive) {
      out.Set(static_cast<int>(i), n.state, n.holder, n.exclusive);
    }
  }
  return out;
}

const std::string& NodeStates::holder(int node) const {
  return HolderName(entries_[node].holder);
}

const std::string& NodeStates::HolderName(int32_t id) const {
  if (id < 0 || id >= static_cast<int32_t>(holders_->names.size())) return kNobody;
  return holders_->names[static_cast<size_t>(id)];
}

int32_t NodeStates::FindHolder(std::string_view tenant) const {
  if (tenant.empty()) return kNoHolder;
  const auto& names = holders_->names;
  for (size_t i = 0; i < names.size(); ++i) {
    if (names[i] == tenant) return static_cast<int32_t>(i);
  }
  return kNoHolder;
}

int32_t NodeStates::Intern(std::string_view tenant) {
  if (tenant.empty()) return kNoHolder;
  if (int32_t id = FindHolder(tenant); id != kNoHolder) return id;
  auto grown = std::make_shared<Holders>(*holders_);
  grown->names.emplace_back(tenant);
  holders_ = std::move(grown);
  return static_cast<int32_t>(holders_->names.size() - 1);
}

void NodeStates::Set(int node, NodeState state, std::string_view holder,
                     std::optional<Level> exclusive) {
  Entry e = entries_[node];
  e.state = static_cast<uint8_t>(state);
  e.holder = Intern(holder);
  const int8_t was = e.exclusive;
  e.exclusive = exclusive ? static_cast<int8_t>(*exclusive) : int8_t{-1};
  exclusive_count_ += (e.exclusive >= 0) - (was >= 0);
  entries_.Set(node, e);
}

void NodeStates::SetState(int node, NodeState state) {
  Entry e = entries_[node];
  e.state = static_cast<uint8_t>(state);
  entries_.Set(node, e);
}

void NodeStates::SetGeneration(int node, int64_t generation) {
  Entry e = entries_[node];
  e.generation = generation;
  entries_.Set(node, e);
}

}  // namespace topoplace
