// Consistency of the network an inventory describes, checked once every name resolves.
//
// The topology reads the network as a tree: nodes hang off a leaf, a leaf off its spines, and a pod
// lies under one group of spines (model/topology.h: pod < spine < site). CheckNetwork reports what
// breaks that reading, so a "pod required" placement can never span two spine groups:
//   - a node whose rack is in one pod and whose leaf is declared in another (once per rack and
//   leaf);
//   - a leaf uplinked to a spine declared in another pod than the leaf's;
//   - spines uplinked to spines in a loop (reported at the uplink that closes it);
//   - a leaf without uplinks in a site that has spines;
//   - leaves of one declared pod uplinked to different sets of spines.
// Switches or nodes whose references do not resolve are skipped: the loader reports those first.
// Each problem names the entity and field it is about, so the loader can give it FILE:LINE:COL.
//
// Thread safety: stateless.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "model/entities.h"

namespace topoplace {

struct NetworkProblem {
  enum class Field {
    kSwitchName,    // inventory.switches[index].name
    kSwitchUplink,  // inventory.switches[index].uplinks[item]
    kNodeLeaf,      // inventory.nodes[index].leaf
  };
  Field field = Field::kSwitchName;
  size_t index = 0;
  size_t item = 0;
  std::string what;      // what is wrong, names quoted
  std::string expected;  // what would be right
};

// Problems in the order of the entities they are reported at (switches, then nodes).
std::vector<NetworkProblem> CheckNetwork(const Inventory& inventory);

}  // namespace topoplace
