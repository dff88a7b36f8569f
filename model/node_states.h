// The live state of every node, kept apart from the immutable inventory and topology.
//
// A node's state (available, allocated, ...), its holder (the tenant that holds it; the one meaning
// of "holder" everywhere in the model and the solver), the level its holder asked to have to itself
// (`exclusive`) and its generation (bumped by the store on every change; 0 outside a store) change
// all the time; its class, rack, leaf and domains never do. A Snapshot shares one Inventory and
// one Topology between all its versions and gives each version its own NodeStates.
//
// Compact: 16 bytes a node, holders interned as small integers. Copies share storage in blocks
// (CowVector): copying costs O(nodes / 1024) and changing k nodes costs O(k * 1024) at most, so an
// overlay of a few changed nodes never copies the whole data centre.
//
// Thread safety: like a value. Copies are independent; one object is not safe to write while read.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "model/cow_vector.h"
#include "model/entities.h"

namespace topoplace {

class NodeStates {
 public:
  // The holder id of a node nobody holds.
  static constexpr int32_t kNoHolder = -1;

  NodeStates() = default;
  explicit NodeStates(int node_count);
  // The states the inventory's nodes were written with (Node::state, holder, exclusive).
  static NodeStates FromInventory(const Inventory& inventory);

  int size() const { return entries_.size(); }
  NodeState state(int node) const { return static_cast<NodeState>(entries_[node].state); }
  int32_t holder_id(int node) const { return entries_[node].holder; }
  // The tenant holding the node; empty when none.
  const std::string& holder(int node) const;
  bool held(int node) const { return entries_[node].holder != kNoHolder; }
  // Available and held by nobody: free for any request.
  bool free(int node) const { return state(node) == NodeState::kAvailable && !held(node); }
  std::optional<Level> exclusive(int node) const {
    const int8_t e = entries_[node].exclusive;
    if (e < 0) return std::nullopt;
    return static_cast<Level>(e);
  }
  // Nodes whose holder keeps a domain to itself; loops over fenced domains skip when 0.
  int exclusive_count() const { return exclusive_count_; }
  int64_t generation(int node) const { return entries_[node].generation; }

  // Storage blocks shared with `other` (a copy shares all of them until one of its nodes
  // changes), out of block_count().
  int BlocksSharedWith(const NodeStates& other) const {
    return entries_.BlocksSharedWith(other.entries_);
  }
  int block_count() const { return entries_.block_count(); }

  // The id of `tenant` among the holders; kNoHolder when it holds nothing and never did here.
  int32_t FindHolder(std::string_view tenant) const;
  const std::string& HolderName(int32_t id) const;

  // Sets a node's state, holder (empty = none) and exclusivity; its generation stays.
  void Set(int node, NodeState state, std::string_view holder, std::optional<Level> exclusive);
  void SetState(int node, NodeState state);
  void SetGeneration(int node, int64_t generation);
  // Allocated to `tenant` (the state a committed placement leaves a node in).
  void Allocate(int node, std::string_view tenant, std::optional<Level> exclusive) {
    Set(node, NodeState::kAllocated, tenant, exclusive);
  }
  // Back to available, held by nobody.
  void Free(int node) { Set(node, NodeState::kAvailable, "", std::nullopt); }

 private:
  struct Entry {
    uint8_t state = 0;       // NodeState
    int8_t exclusive = -1;   // Level, or -1
    int32_t holder = kNoHolder;
    int64_t generation = 0;
    bool operator==(const Entry&) const = default;
  };
  // Interned holder names, append-only and shared between copies (copied when a copy adds one).
  struct Holders {
    std::vector<std::string> names;
  };
  int32_t Intern(std::string_view tenant);

  CowVector<Entry> entries_;
  int exclusive_count_ = 0;
  std::shared_ptr<const Holders> holders_ = std::make_shared<const Holders>();
};

}  // namespace topoplace
