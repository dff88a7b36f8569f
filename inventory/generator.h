// Synthetic data centres: deterministic from a seed, for what-if planning and benchmarks.
//
// A GenerateSpec describes pods of racks of nodes; the generator adds one site (if missing), a pair
// of spines per pod plus one leaf per rack, power domains per row, racks tagged hipaa by a share,
// and pre-allocates a share of nodes to synthetic tenants so the result is realistically fragmented.
// The same spec and seed always give the same entities, names and order.
//
// Thread safety: stateless.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "model/scenario.h"
#include "model/status.h"

namespace topoplace {

struct GenerateSpec {
  std::string name = "dc";           // prefix of every generated name
  std::string site = "site-1";
  std::string region = "us-east";
  std::string jurisdiction = "US";
  int pods = 1;
  int racks_per_pod = 4;
  int nodes_per_rack = 8;
  int racks_per_row = 8;
  int power_domains_per_row = 2;
  // Node classes by weight; when empty, `node_class` alone. Missing well-known classes (h100x8,
  // a100x8, l40sx4, cpu) are added with realistic specs.
  std::string node_class = "h100x8";
  std::vector<std::pair<std::string, double>> class_mix;
  double hipaa_racks = 0;     // share of racks tagged hipaa, [0, 1]
  double allocated = 0;       // share of nodes pre-allocated to synthetic tenants, [0, 1]
  std::vector<std::string> leaf_vendors = {"arista"};  // assigned to pods round robin
  uint64_t seed = 1;
};

// Appends the generated data centre to `scenario` (inventory, and tenants/allocations when
// allocated > 0). InvalidArgument when the spec is out of range or a generated name collides.
Status Generate(const GenerateSpec& spec, Scenario& scenario);

}  // namespace topoplace
