// What-if planning for both front ends: `topoplace whatif` / `topoplace capacity` and the
// service's POST /v1/whatif / POST /v1/capacity run the same functions here and print the same
// report, so a what-if asked over HTTP answers exactly what the command answers on a file.
//
// PlanWhatIf applies changes (inventory/changes.h) to a copy of a scenario, repairs the
// allocations that lose nodes (solver/repair.h; an allocation that cannot be repaired is offered
// the preemption that would repair it, when one exists), and compares free capacity, copies of
// request shapes and the scenario's pending requests before and after. Given a request to place
// (`whatif --place REQUEST.yaml [--preempt]`) it also says what placing it would take: against
// the scenario as it is (or, with changes, as the changes and repairs leave it), with the
// scenario's allocations as the holdings a request with `preemption:` may evict from, the
// evictions with the fewest allocations (and whether that is proven), the placement, or why even
// evicting every legal victim would not do. PlanCapacity counts copies of a
// shape, tenant headroom, fragmentation and (given a demand history) forecasts. Both write
// nothing anywhere; the caller keeps its scenario or problem unchanged.
//
// Errors: InvalidArgument for input that does not fit the scenario (a change naming a rack,
// pod or tenant it does not have, a shape naming an unknown class or tenant), with a stable
// reason and one ErrorDetail per bad item whose `path` is the label the caller gave that item
// ("--fail", "/changes/2/fail"); the messages are those the CLI prints. Other codes come from the
// solver and mean the scenario itself could not be worked on.
//
// The service's state becomes a scenario through ScenarioOfState (the same scenario `topoplace
// export` writes, except that nodes held by a reservation stay taken), and HTTP bodies are read by
// DecodeWhatIfJson / DecodeCapacityJson, strictly, with a JSON pointer per error.
//
// Thread safety: stateless functions over values; reports own what they refer to.
#pragma once

#include <cstddef>
#include <iosfwd>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "api/json_codec.h"
#include "api/request_json.h"
#include "api/whatif_report.h"
#include "inventory/changes.h"
#include "inventory/store.h"
#include "model/cow_vector.h"
#include "model/scenario.h"
#include "solver/capacity.h"
#include "solver/forecast.h"
#include "solver/repair.h"
#include "solver/replay.h"

namespace topoplace {

// Bounds on what one HTTP what-if may ask for (a command line has no such limits).
inline constexpr size_t kMaxWhatIfChanges = 64;
inline constexpr size_t kMaxWhatIfShapes = 16;
inline constexpr size_t kMaxChangeTextBytes = 1024;
inline constexpr size_t kMaxShortShapeBytes = 4096;

// --- whatif ------------------------------------------------------------------------------------

struct WhatIfInput {
  std::vector<Change> changes;  // at least one, unless there is a request to place
  // Where each change came from, for error details ("--fail", "/changes/2/fail"); when shorter
  // than `changes`, the change's flag is used.
  std::vector<std::string> change_paths;
  // Shapes whose copies are counted before and after. Unnamed shapes are named "shape"; a shape
  // without a tenant is for the scenario's first tenant.
  std::vector<Request> shapes;
  std::vector<std::string> shape_paths;  // as change_paths; default "--shape"
  // A request to place (a dry run: nothing is evicted, held or written), and where it came from
  // ("--place", "/place"). Without a tenant: the scenario's first tenant's.
  std::optional<Request> place;
  std::string place_path = "--place";
  // Give `place` `preemption: {scope: tenant}` when it has no `preemption:` of its own (scope all
  // only where the request says so and the scenario's policy allows it).
  bool preempt = false;
  // The provider's consent to `scope: all` for `place` beyond the scenario's policy (over HTTP, a
  // provider-admin's call). Repairs and their preemption offers follow the scenario's policy only,
  // so the service answers as the command on an export.
  bool place_across_tenants = false;
};

// What placing one request would take.
struct WhatIfPlacement {
  enum class Outcome {
    kFits,            // placed without evicting anything
    kFitsByEvicting,  // placed once `result.evictions` are evicted
    kImpossible,      // proven: not even evicting every legal victim makes room
    kNotPlaced,       // no placement found and not proven impossible (or maxEvictions too low)
  };
  Request request;             // as solved: with the preemption --preempt gave it
  bool preempt_added = false;  // --preempt gave it `preemption: {scope: tenant}`
  Outcome outcome = Outcome::kNotPlaced;
  // The solve: status, nodes, evictions (for kOptimal with evictions, the count and then the
  // priority sum are proven the least any placement needs), cost.
  PlacementResult result;
  int legal_victims = 0;                     // allocations it may evict (LegalVictims)
  std::vector<Violation> violations;         // the verifier on the result; empty when valid
  std::string summary;                       // one line a person can act on
  std::optional<Explanation> explanation;    // when not placed: why, every legal victim gone
  std::shared_ptr<const Snapshot> snapshot;  // the state it was solved against
};
// "fits", "fitsByEvicting", "impossible", "notPlaced"
std::string_view PlacementOutcomeName(WhatIfPlacement::Outcome o);

struct WhatIfOptions {
  std::string backend = "auto";    // for the scenario's pending requests
  double time_limit_seconds = 10;  // per exact solve (repairs, proofs, pending requests)
  bool relocate = true;            // look for whole-allocation relocations when repair fails
  bool explain = true;             // explain repairs that are impossible
};

struct ShapeCopies {
  Request shape;
  Result<CapacityResult> before, after;  // an error shows as null / "error"
};

struct WhatIfReport {
  std::vector<AppliedChange> changes;  // in the order they were applied
  size_t allocations = 0;              // allocations of the scenario before the changes
  std::vector<AllocationRepair> repairs;
  std::shared_ptr<const Snapshot> before;  // the scenario as it was
  std::shared_ptr<const Snapshot> after;   // with the changes and the repairs in place
  CapacitySummary capacity_before, capacity_after;
  std::vector<ShapeCopies> shapes;
  std::vector<PlacementResult> pending_before, pending_after;  // the scenario's requests
  std::optional<WhatIfPlacement> placement;                    // with a request to place
  int repaired = 0, not_repaired = 0, moves = 0;
  bool all_repaired() const { return not_repaired == 0; }
  // Every affected allocation repaired, and the request to place (if any) placed.
  bool satisfied() const {
    return all_repaired() && (!placement || placement->outcome == WhatIfPlacement::Outcome::kFits ||
                              placement->outcome == WhatIfPlacement::Outcome::kFitsByEvicting);
  }
};

// `before` is an indexed scenario (as loaded). Reasons of input errors: no_change (neither changes
// nor a request to place), change_not_applicable (ApplyChanges refused a change: a name the
// scenario does not have, ...), invalid_shape, invalid_place (the request to place is not valid
// for the scenario, e.g. scope all without the policy's consent).
Result<WhatIfReport> PlanWhatIf(const Scenario& before, const WhatIfInput& input,
                                const WhatIfOptions& options);

// `source` names what the report is about (a file name) and is written as "file".
Json WhatIfReportJson(const WhatIfReport& report, const std::string& source);
// Human text for a terminal: every name it prints (and every message that quotes one, and
// `source`) goes through TerminalText, so a name holding a newline, ESC or a bidi control is shown
// escaped, never acted on. The same holds for PrintCapacityReport.
void PrintWhatIfReport(std::ostream& out, const WhatIfReport& report, const std::string& source);

// --- capacity ----------------------------------------------------------------------------------

struct CapacityQuery {
  std::optional<Request> shape;  // count copies of it (unnamed: "shape")
  // With a shape: the tenant it is for (else the shape's own, else the first tenant); the report
  // shows that tenant's headroom. Without a shape: only this tenant's headroom (else every
  // tenant's).
  std::string tenant;
  std::string tenant_label = "--tenant";  // how errors name `tenant`
  std::string shape_label = "shape";      // how errors name the shape
  std::optional<Trace> history;       // demand history: forecasts of quotas and classes running out
  std::string backend = "heuristic";  // per copy
  double time_limit_seconds = 10;     // per solve and for the joint proof
  size_t max_domains = 20;            // fragmentation entries listed per level
};

// Fills the shape's tenant and name as PlanCapacity does and checks the tenants exist, so a
// caller can report these errors before reading more input. Reasons: no_tenants, unknown_tenant.
Status ResolveCapacityQuery(const std::vector<Tenant>& tenants, CapacityQuery& query);

struct CapacityReport {
  std::shared_ptr<const Snapshot> snapshot;
  std::optional<Request> shape;
  std::optional<CapacityResult> count;  // with a shape
  std::optional<int> largest;           // with a shape: the largest nodes=N of it that fits
  std::vector<TenantHeadroom> headroom;
  FragmentationReport fragmentation;
  bool has_history = false;
  std::vector<Forecast> forecasts;
  size_t max_domains = 20;
};

// Reasons of input errors: no_tenants, unknown_tenant, invalid_shape.
Result<CapacityReport> PlanCapacity(const PlacementProblem& problem, CapacityQuery query);

Json CapacityReportJson(const CapacityReport& report, const std::string& source);
// `history_source` names the demand history in the forecasts' heading.
void PrintCapacityReport(std::ostream& out, const CapacityReport& report, const std::string& source,
                         const std::string& history_source);

// --- the service's state and HTTP bodies -------------------------------------------------------

// The scenario of a service's state: `snapshot` (the inventory with each node's live state, holder
// tenant and exclusive level), the tenants, each node's holding (reservation or allocation id) and
// the active allocations. As `Store::Export` writes it (allocations keep their recorded requests;
// a repeated allocation name is replaced by its id), except that nodes held by a reservation stay
// reserved for their tenant instead of coming back free. No requests.
Result<Scenario> ScenarioOfState(const Snapshot& snapshot, const std::vector<Tenant>& tenants,
                                 const CowVector<std::string>& holdings,
                                 const std::vector<AllocationRecord>& allocations);

// A shape in a body: a request object (api/request_json.h) or a short-form string
// (inventory/short_request.h). `has_tenant` tells whether it names a tenant.
struct DecodedShape {
  Request request;
  bool has_tenant = false;
  std::string tenant_pointer;  // where the tenant is written: "/shape/tenant", or "/shape"
};

// {"changes": [{"fail": "powerDomain:pdu-a"}, {"add": "racks=2,class=h100x8,pod=pod-1"}, ...],
//  "shapes": [{"nodes": 4, ...} | "nodes=4,class=h100x8", ...]}. Change kinds: fail, drain,
// remove, add, tenantQuota (also spelt tenant-quota, as the flag), each with the flag's text.
struct DecodedWhatIf {
  WhatIfInput input;              // change and shape paths are JSON pointers
  std::vector<BodyError> errors;  // empty when the body is valid
};
DecodedWhatIf DecodeWhatIfJson(const nlohmann::json& body);

// {"shape": <request> | "short form", "tenant": "name"}, both optional.
struct DecodedCapacity {
  std::optional<DecodedShape> shape;
  std::optional<std::string> tenant;
  std::vector<BodyError> errors;
};
DecodedCapacity DecodeCapacityJson(const nlohmann::json& body);

// JSON Schemas of the two bodies, for the OpenAPI document; `request_ref` is the schema of a
// request object ({"$ref": ...}). Written beside the decoders so the two cannot drift apart.
Json WhatIfBodySchema(const Json& request_ref);
Json CapacityBodySchema(const Json& request_ref);

}  // namespace topoplace
