// Synthetic data centres: deterministic from a seed, for what-if planning and benchmarks.
//
// A GenerateSpec describes pods of racks of nodes; the generator adds one site (if missing), a pair
// of spines per pod plus one leaf per rack, power domains per row, racks tagged hipaa by a share,
// and pre-allocates a share of nodes to synthetic tenants so the result is realistically
// fragmented: jobs of 1-16 nodes laid contiguously, then some of them finished, leaving racks full,
// partly used and free as in a cluster that has run for a while. Those nodes come back already
// marked allocated to their tenant, as Scenario::ApplyAllocations() would mark them. The same spec
// and seed always give the same entities, names and order, on every platform (the generator never
// uses the standard library's distributions, whose output differs between implementations).
//
// Thread safety: stateless.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "model/scenario.h"
#include "model/status.h"

namespace topoplace {

struct GenerateSpec {
  std::string name = "dc";  // prefix of every generated name
  std::string site = "site-1";
  std::string region = "us-east";
  std::string jurisdiction = "US";
  int pods = 1;
  int racks_per_pod = 4;
  int nodes_per_rack = 8;
  int racks_per_row = 8;
  int power_domains_per_row = 2;
  // Node classes by weight; when empty, `node_class` alone. Racks get classes in contiguous blocks
  // in proportion to the weights. Classes the scenario does not declare are taken from the
  // well-known ones below (BuiltinNodeClass) and added.
  std::string node_class = "h100x8";
  std::vector<std::pair<std::string, double>> class_mix;
  double hipaa_racks = 0;  // share of racks tagged hipaa, [0, 1]
  double allocated = 0;    // share of nodes pre-allocated to synthetic tenants, [0, 1]
  double maintenance = 0;  // share of nodes in maintenance, [0, 1]
  double failed = 0;       // share of nodes failed, [0, 1]
  std::vector<std::string> leaf_vendors = {"arista"};  // assigned to pods round robin
  uint64_t seed = 1;
  // For the executors (DESIGN.md section 6): `ports` gives every node one NIC, "eth0" with the
  // node's MAC, cabled to port "<node>-eth0" of its leaf; a non-empty `l2_driver` gives every
  // generated leaf `management: {driver: l2_driver, bridge: <leaf name>}`.
  bool ports = false;
  std::string l2_driver;
};

// Bounds a spec must respect; the YAML loader reports the same ones with positions.
inline constexpr int kMaxGeneratedPods = 1000;
inline constexpr int kMaxGeneratedRacksPerPod = 10000;
inline constexpr int kMaxGeneratedNodesPerRack = 256;
inline constexpr int kMaxGeneratedRacksPerRow = 1000;
inline constexpr int kMaxGeneratedPowerDomainsPerRow = 26;  // named a..z, like A/B feeds
inline constexpr int64_t kMaxGeneratedNodes = 2'000'000;    // per spec
// Nodes one scenario may hold in all (written, generated and added by what-if changes together):
// twenty times the largest example (scenarios/dc-100k.yaml), some 1.5 GB of memory at most.
inline constexpr int64_t kMaxScenarioNodes = 2'000'000;

// Well-known node classes with realistic specs and prices: h100x8, a100x8, l40sx4, cpu, gb200x4.
std::span<const std::string_view> BuiltinNodeClassNames();
std::optional<NodeClass> BuiltinNodeClass(std::string_view name);

// Appends the generated data centre to `scenario` (inventory, and tenants/allocations when
// allocated > 0). InvalidArgument when the spec is out of range, a generated name collides, or the
// scenario would hold more than kMaxScenarioNodes nodes (checked before anything is generated).
Status Generate(const GenerateSpec& spec, Scenario& scenario);

}  // namespace topoplace
