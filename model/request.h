// What a tenant asks for: a placement request, as declared in the scenario language.
//
// The solver's semantics for every field are in DESIGN.md section 3. Levels name the hierarchies a
// node belongs to; locality and spread may name different ones at once (pack by network, spread by
// power). Thread safety: plain values.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "model/entities.h"

namespace topoplace {

// A comparison against a number, written in YAML as 8, ">=8", "<4", "!=0", "==2".
struct NumericPredicate {
  enum class Op { kEq, kNe, kLt, kLe, kGt, kGe };
  Op op = Op::kEq;
  double value = 0;
  bool Matches(double x) const;
  std::string ToString() const;  // ">=8"
  bool operator==(const NumericPredicate&) const = default;
};
// Parses "8", ">=8", "> 8", "<=1024" ...; nullopt on anything else.
std::optional<NumericPredicate> ParseNumericPredicate(std::string_view s);

struct LabelPredicate {
  enum class Op { kIn, kNotIn, kExists, kDoesNotExist };
  std::string key;
  Op op = Op::kIn;
  std::vector<std::string> values;  // for kIn / kNotIn
  bool Matches(const std::map<std::string, std::string>& labels) const;
  bool operator==(const LabelPredicate&) const = default;
};

// Shell-style wildcard match ('*' any run, '?' one char), as used for GPU models ("H100*").
bool WildcardMatch(std::string_view pattern, std::string_view text);

// Hard per-node predicates; every present one must hold.
struct NodeSelector {
  std::vector<std::string> classes;     // node class names; empty = any
  std::vector<std::string> gpu_models;  // wildcard patterns; empty = any
  std::optional<NumericPredicate> gpu_count;
  std::optional<NumericPredicate> memory_gib;
  std::optional<NumericPredicate> cpu_cores;
  std::optional<NumericPredicate> storage_gib;
  std::vector<LabelPredicate> labels;
  bool empty() const {
    return classes.empty() && gpu_models.empty() && !gpu_count && !memory_gib && !cpu_cores &&
           !storage_gib && labels.empty();
  }
  bool operator==(const NodeSelector&) const = default;
};

enum class LocalityMode { kRequired, kPreferred };

struct Locality {
  Level level = Level::kLeaf;
  LocalityMode mode = LocalityMode::kRequired;
  int max_domains = 1;  // required: at most this many domains of `level`
  bool operator==(const Locality&) const = default;
};

struct Spread {
  Level level = Level::kPowerDomain;
  std::optional<int> max_per_domain;
  std::optional<double> max_fraction;  // (0, 1]; cap = ceil(max_fraction * count)
  std::optional<int> min_domains;
  // The effective per-domain cap for a placement of `count` nodes; nullopt when uncapped.
  std::optional<int> CapFor(int count) const;
  bool operator==(const Spread&) const = default;
};

enum class Purpose { kBaremetal, kSlurm, kOpenshift };
std::string_view PurposeName(Purpose p);
std::optional<Purpose> ParsePurpose(std::string_view s);

// A request's consent to evict (DESIGN.md section 8). The one policy, `lowerPriority`, evicts whole
// allocations whose priority is strictly below the request's: the requester's own tenant's
// (scope tenant), or any tenant's (scope all, only where the provider allows it).
enum class PreemptionScope { kTenant, kAll };
std::string_view PreemptionScopeName(PreemptionScope s);  // "tenant", "all"
std::optional<PreemptionScope> ParsePreemptionScope(std::string_view s);

struct Preemption {
  PreemptionScope scope = PreemptionScope::kTenant;
  std::optional<int> max_evictions;  // at most this many allocations evicted; unset = no limit
  bool operator==(const Preemption&) const = default;
};

struct Request {
  std::string name;
  std::string tenant;
  std::string project;       // the tenant's project it is for ("" = "default")
  std::optional<int> nodes;  // exactly this many whole nodes, or
  std::optional<int> gpus;   // the fewest whole nodes whose GPUs reach this total
  NodeSelector select;
  std::optional<Locality> locality;
  std::optional<Spread> spread;
  std::vector<std::string> compliance;  // "hipaa" (rack tag), "gdpr" (EU site); other = rack/site tag
  std::optional<Level> exclusive;       // kRack (or kLeaf): no other tenant shares these domains
  bool roce = false;                    // all chosen leaves of one vendor
  std::optional<double> max_cost_per_hour;
  Purpose purpose = Purpose::kBaremetal;
  int priority = 0;
  std::optional<Preemption> preemption;  // absent: nothing is ever evicted for it
  bool operator==(const Request&) const = default;
};

// EU/EEA jurisdictions that satisfy "gdpr".
bool IsGdprJurisdiction(std::string_view jurisdiction);

}  // namespace topoplace
