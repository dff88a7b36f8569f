// The short form of a request, for command lines and CSV traces:
//
//   nodes=16,class=h100x8,locality=leaf:required,spread=powerDomain:0.5
//
// Keys (each at most once): nodes=N | gpus=N; class=A|B; gpuModel=H100*|A100*; gpuCount=">=8";
// memoryGiB, cpuCores, storageGiB (a number or a comparison like >=1024); label.KEY=V1|V2;
// locality=LEVEL[:required|preferred][:MAXDOMAINS]; spread=LEVEL:FRACTION | LEVEL:max=N, with
// :min=N added or alone (powerDomain:0.5:min=2, rack:max=2); compliance=hipaa|gdpr;
// exclusive=rack|leaf; roce=true|false; maxCostPerHour=X; purpose=openshift|slurm|baremetal;
// priority=N; name=...; tenant=...; project=.... Levels: nvlink, leaf, rack, row, pod, spine, site,
// powerDomain. The keys, their types and bounds are the request schema's (model/request_schema.h):
// a value out of bounds gets the same path and code as in YAML or JSON (ErrorDetail in
// Status::details()).
//
// Parsing is strict: an unknown key, a repeated key, a bad number or level is an error naming the
// key, the text and the column (1-based) where the item starts. Cross-checks against a scenario
// (tenants, classes) are the caller's: solver::ValidateRequest does them.
//
// Thread safety: stateless.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "model/request.h"
#include "model/status.h"

namespace topoplace {

// Applies one item to `r`. Returns empty on success, else "what is wrong; expected ...".
// `select_only` limits the keys to the per-node predicates (the CSV trace's select column).
std::string ApplyShortRequestItem(std::string_view key, std::string_view value, Request& r,
                                  bool select_only = false);

// Parses a whole short form. `label` names the source in messages ("--shape").
// InvalidArgument with one message per bad item: `LABEL "TEXT": column C: KEY: what; expected ...`.
Result<Request> ParseShortRequest(std::string_view text, std::string_view label);

// Splits "KEY=VALUE"; comparisons may be written inline ("memoryGiB>=1024", "gpuCount==8").
// nullopt when there is no '='.
std::optional<std::pair<std::string, std::string>> SplitShortItem(std::string_view item);

// The short form of `r` (count, select, topology, compliance, ...; without name, tenant and
// project), as ParseShortRequest reads it back.
std::string ShortRequestText(const Request& r);

// Level names accepted anywhere in the short form (and the CSV trace).
std::string LevelNamesList();

}  // namespace topoplace
