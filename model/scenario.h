// A scenario: an inventory, its tenants, who holds what, and what is being asked for.
//
// This is the in-memory form of one scenario YAML file (DESIGN.md section 3). `ApplyAllocations()`
// marks the nodes of each allocation as allocated to its tenant. Thread safety: plain values.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "model/entities.h"
#include "model/node_states.h"
#include "model/request.h"

namespace topoplace {

// Who holds which nodes. `request` is the request the nodes were placed for, when known (name and
// tenant equal the allocation's); repairs keep its constraints. Without it a repair can only
// replace each lost node by one of the same class.
struct Allocation {
  std::string name;
  std::string tenant;
  std::vector<std::string> nodes;
  std::optional<Request> request;
  bool operator==(const Allocation&) const = default;
};

struct Scenario {
  std::string api_version = "topoplace/v1";
  Inventory inventory;
  std::vector<Tenant> tenants;
  std::vector<Allocation> allocations;
  std::vector<Request> requests;

  int TenantIndex(std::string_view name) const;   // -1 when absent
  int RequestIndex(std::string_view name) const;  // -1 when absent
  // Sets state = allocated and holder = tenant on every node of every allocation. Nodes in
  // maintenance/failed keep their state but still record the holder.
  void ApplyAllocations();
  bool operator==(const Scenario&) const = default;
};

// What a tenant currently holds and what it may still take.
struct TenantUsage {
  int64_t nodes = 0;
  int64_t gpus = 0;
  int64_t cpu_cores = 0;
  double memory_gib = 0;
  double storage_gib = 0;
  double cost_per_hour = 0;
};

// Sums the resources of all nodes `states` says `tenant` holds. Needs an indexed inventory.
TenantUsage UsageOf(const Inventory& inventory, const NodeStates& states, std::string_view tenant);
// The same over the states the inventory was written with (Node::holder).
TenantUsage UsageOf(const Inventory& inventory, std::string_view tenant);

}  // namespace topoplace
