#include "api/whatif.h"

#include <algorithm>
#include <map>
#include <ostream>
#include <set>
#include <unordered_set>

#include "inventory/scenario_codec.h"
#include "inventory/short_request.h"
#include "model/text.h"

namespace topoplace {

namespace {

bool Placed(const PlacementResult& r) { return HasPlacement(r.status); }

// --- whatif: the report's pieces ----------------------------------------------------------------

std::string StatusText(const AllocationRepair& r) {
  switch (r.status) {
    case SolveStatus::kOptimal: return "fewest moves proven";
    case SolveStatus::kFeasible: return "fewest moves not proven";
    case SolveStatus::kInfeasible: return "proven impossible in place";
    case SolveStatus::kNoSolutionFound: return "nothing found, nothing proven impossible";
    case SolveStatus::kTimeout: return "nothing found within the time limit";
  }
  return "";
}

std::string Basis(const AllocationRepair& r) {
  return r.by_request ? "keeps every constraint of its recorded request"
                      : "no request recorded: each lost node replaced by a free node of the same "
                        "class, nearest first (same leaf, rack, pod); nothing else is known";
}

Json RepairJson(const Snapshot& snap, const AllocationRepair& r) {
  Json lost = Json::array();
  for (const LostNode& l : r.lost) {
    lost.push_back({{"node", l.name},
                    {"class", l.node_class},
                    {"rack", l.rack},
                    {"leaf", l.leaf},
                    {"byThisChange", l.changed}});
  }
  Json j{{"allocation", r.allocation},
         {"tenant", r.tenant},
         {"basis", r.by_request ? "request" : "same-class"},
         {"lost", lost},
         {"kept", NodeNames(snap, r.kept)},
         {"repaired", r.repaired},
         {"status", SolveStatusName(r.status)},
         {"moves", r.moves},
         {"method", r.method},
         {"replacements", NodeNames(snap, r.replacements)},
         {"reason", r.reason},
         {"solveMs", r.solve_ms}};
  j["explanation"] = r.explanation ? ExplanationJson(*r.explanation) : Json(nullptr);
  if (r.relocation) {
    j["relocation"] = {{"nodes", NodeNames(snap, r.relocation->nodes)},
                       {"moves", r.relocation->moves},
                       {"unaffectedMoved", r.relocation->kept_moved},
                       {"status", SolveStatusName(r.relocation->status)}};
  } else {
    j["relocation"] = nullptr;
  }
  Json v = Json::array();
  for (const Violation& x : r.violations)
    v.push_back({{"constraint", x.constraint}, {"detail", x.detail}});
  j["violations"] = v;
  if (r.preemption) {
    const RepairPreemption& p = *r.preemption;
    Json evict = Json::array();
    for (const Eviction& e : p.evictions) evict.push_back(e.allocation);
    j["preemption"] = {{"evict", evict},
                       {"evictions", EvictionsJson(snap, p.evictions)},
                       {"replacements", NodeNames(snap, p.replacements)},
                       {"moves", p.moves},
                       {"prioritySum", p.priority_sum},
                       {"provenMinimal", p.minimal},
                       {"note", p.note},
                       {"candidates", p.candidates},
                       {"setsTried", p.sets_tried}};
  } else {
    j["preemption"] = nullptr;
  }
  j["noPreemption"] = r.no_preemption;
  return j;
}

void PrintRepair(std::ostream& out, const Snapshot& snap, const AllocationRepair& r) {
  int changed = 0;
  std::string lost;
  for (const LostNode& l : r.lost) {
    changed += l.changed;
    lost += (lost.empty() ? "" : ", ") + TerminalText(l.name);
  }
  out << "  " << TerminalText(r.allocation) << " (tenant " << TerminalText(r.tenant) << "): lost "
      << r.lost.size() << " of " << r.lost.size() + r.kept.size() << " nodes: " << lost;
  if (changed < static_cast<int>(r.lost.size())) {
    out << " (" << r.lost.size() - changed << " already failed before)";
  }
  out << "\n";
  if (r.repaired) {
    out << "    repaired: " << r.moves << " move" << (r.moves == 1 ? "" : "s") << " ("
        << StatusText(r) << ", " << TerminalText(r.method) << "); " << Basis(r) << "\n";
    out << "    replacements: " << NodeListText(snap, r.replacements) << "\n";
    return;
  }
  out << "    NOT REPAIRED (" << StatusText(r) << "): " << TerminalText(r.reason) << "\n";
  if (!r.by_request) out << "    (" << Basis(r) << ")\n";
  if (r.explanation) PrintExplanation(out, *r.explanation, "    ");
  if (r.relocation) {
    out << "    relocation: the whole allocation could move to "
        << NodeListText(snap, r.relocation->nodes, 8) << ": " << r.relocation->moves << " moves, "
        << r.relocation->kept_moved << " of them nodes that did not fail\n";
  } else if (r.by_request && !r.kept.empty()) {
    out << "    relocation: no placement of the whole allocation exists either\n";
  }
  if (r.preemption) {
    const RepairPreemption& p = *r.preemption;
    out << "    preemption: evicting " << p.evictions.size() << " lower-priority allocation"
        << (p.evictions.size() == 1 ? "" : "s") << " (of " << p.candidates
        << ") would repair it with " << p.moves << " move" << (p.moves == 1 ? "" : "s") << " ("
        << (p.minimal ? "fewest evictions proven" : "not proven minimal: " + TerminalText(p.note))
        << ")\n";
    for (const Eviction& e : p.evictions) out << "      evict " << EvictionText(snap, e) << "\n";
    out << "      replacements: " << NodeListText(snap, p.replacements) << "\n";
  } else if (!r.no_preemption.empty()) {
    out << "    preemption: none would repair it: " << TerminalText(r.no_preemption) << "\n";
  }
}

int PlacedCount(const std::vector<PlacementResult>& rs) {
  return static_cast<int>(std::count_if(rs.begin(), rs.end(), Placed));
}

std::string PathOf(const std::vector<std::string>& paths, size_t i, std::string fallback) {
  return i < paths.size() ? paths[i] : std::move(fallback);
}

// ApplyChanges reports every change it could not apply, in its own order. Which change each
// message belongs to: the same changes applied one at a time, in that order, to a fresh copy (only
// on this error path, so a valid what-if pays nothing for it). The messages stay the batch's.
Status ChangeErrors(const Scenario& before, const WhatIfInput& input, const Status& batch) {
  Status out(batch.code(), batch.messages());
  if (batch.reason() == "too_many_nodes" && !batch.details().empty()) {
    // Named by ApplyChanges before anything was built: re-applying each add would build them all.
    out.SetReason("too_many_nodes");
    const size_t i = std::stoul(batch.details().front().path);
    out.AddDetail({PathOf(input.change_paths, i, std::string(ChangeFlag(ChangeKind::kAdd))),
                   "too_many_nodes", batch.details().front().message});
    return out;
  }
  out.SetReason("change_not_applicable");
  Scenario probe = before;
  for (ChangeKind kind : {ChangeKind::kAdd, ChangeKind::kRemove, ChangeKind::kFail,
                          ChangeKind::kDrain, ChangeKind::kTenantQuota}) {
    for (size_t i = 0; i < input.changes.size(); ++i) {
      const Change& c = input.changes[i];
      if (c.kind != kind) continue;
      Result<std::vector<AppliedChange>> one = ApplyChanges(probe, {c});
      if (one.ok()) continue;
      for (const std::string& m : one.status().messages()) {
        out.AddDetail({PathOf(input.change_paths, i, std::string(ChangeFlag(c.kind))),
                       "change_not_applicable", m});
      }
    }
  }
  if (out.details().empty()) {
    for (const std::string& m : batch.messages()) out.AddDetail({"", "change_not_applicable", m});
  }
  return out;
}

// A shape (or request to place) the problem cannot take: its messages prefixed with where it came
// from.
Status ShapeError(const Status& invalid, const std::string& path,
                  const std::string& reason = "invalid_shape") {
  std::vector<std::string> messages;
  for (const std::string& m : invalid.messages()) messages.push_back(path + ": " + m);
  Status out(StatusCode::kInvalidArgument, messages);
  out.SetReason(reason);
  for (const std::string& m : messages) out.AddDetail({path, reason, m});
  return out;
}

// --- whatif --place: what placing one request would take ----------------------------------------

std::string PreemptionScopeText(const PlacementProblem& problem, const Request& request) {
  if (!request.preemption) return "";
  return request.preemption->scope == PreemptionScope::kAll && problem.preempt_across_tenants
             ? "any tenant's"
             : "tenant " + request.tenant + "'s";
}

// The request solved against `problem` (its holdings are what a preempting request may evict),
// its result verified, and, when it is not placed, the request without preemption solved once
// every legal victim is gone: proven infeasible there, it is impossible, and that solve explains
// why.
Result<WhatIfPlacement> PlanPlacement(const PlacementProblem& problem, const Request& request,
                                      bool preempt_added, const WhatIfOptions& options) {
  WhatIfPlacement out;
  out.request = request;
  out.preempt_added = preempt_added;
  out.snapshot = problem.snapshot;
  SolveOptions so;
  so.backend = options.backend;
  so.time_limit_seconds = options.time_limit_seconds;
  so.explain = options.explain;
  so.requests_validated = true;
  Result<std::vector<PlacementResult>> solved = Solve(problem, {request}, so);
  if (!solved.ok()) return solved.status();
  out.result = std::move(solved->front());
  const std::vector<int> victims = LegalVictims(problem, request);
  out.legal_victims = static_cast<int>(victims.size());
  const PlacementResult& r = out.result;
  if (HasPlacement(r.status)) {
    out.violations = VerifyResult(problem, request, r);
    const int n = static_cast<int>(r.evictions.size());
    if (n == 0) {
      out.outcome = WhatIfPlacement::Outcome::kFits;
      out.summary = "fits without evicting anything";
      return out;
    }
    int sum = 0;
    for (const Eviction& e : r.evictions) sum += e.priority;
    out.outcome = WhatIfPlacement::Outcome::kFitsByEvicting;
    out.summary =
        "fits by evicting " + std::to_string(n) + " allocation" + (n == 1 ? "" : "s") +
        " (priority sum " + std::to_string(sum) + ") of the " + std::to_string(victims.size()) +
        " it may evict; " +
        (r.status == SolveStatus::kOptimal ? "no placement evicts fewer (proven)"
                                           : "fewer evictions not ruled out (not proven minimal)");
    return out;
  }
  std::vector<std::string> names;
  for (int v : victims) names.push_back(problem.holdings[v].name);
  Request plain = request;
  plain.preemption.reset();
  SolveOptions everyone_options = so;
  everyone_options.explain = true;
  Result<std::vector<PlacementResult>> everyone =
      Solve(AfterEvictions(problem, names), {plain}, everyone_options);
  if (!everyone.ok()) return everyone.status();
  const PlacementResult& all = everyone->front();
  const std::string may_evict = victims.empty()
                                    ? std::string()
                                    : std::to_string(victims.size()) + " allocation" +
                                          (victims.size() == 1 ? "" : "s") + " of priority below " +
                                          std::to_string(request.priority) + " (" +
                                          PreemptionScopeText(problem, request) + ")";
  if (all.status == SolveStatus::kInfeasible) {
    out.outcome = WhatIfPlacement::Outcome::kImpossible;
    out.explanation = all.explanation;
    if (!request.preemption) {
      out.summary = "does not fit, and the request may not evict anything (no preemption:)";
    } else if (victims.empty()) {
      out.summary = "does not fit, and there is nothing it may evict: no allocation of " +
                    PreemptionScopeText(problem, request) + " has a priority below " +
                    std::to_string(request.priority);
    } else {
      out.summary = "does not fit even if all " + may_evict + " were evicted";
      if (out.explanation) {
        out.explanation->summary =
            "with all " + std::to_string(victims.size()) + " evicted: " + out.explanation->summary;
      }
    }
    return out;
  }
  out.outcome = WhatIfPlacement::Outcome::kNotPlaced;
  if (HasPlacement(all.status) && request.preemption && request.preemption->max_evictions &&
      *request.preemption->max_evictions < static_cast<int>(victims.size())) {
    const std::string most = std::to_string(*request.preemption->max_evictions);
    out.summary = "evicting all " + may_evict +
                  " would make room, but no placement evicting at most " + most +
                  (r.status == SolveStatus::kInfeasible ? " exists (proven)" : " was found");
    if (r.status == SolveStatus::kInfeasible) out.outcome = WhatIfPlacement::Outcome::kImpossible;
  } else if (HasPlacement(all.status)) {
    out.summary = "evicting all " + may_evict +
                  " would make room, but the search found no placement (" +
                  std::string(SolveStatusName(r.status)) + ")";
  } else {
    out.summary = "no placement found and none proven impossible (" +
                  std::string(SolveStatusName(r.status)) + ")";
  }
  return out;
}

Json PlacementJson(const WhatIfPlacement& p) {
  const Request& r = p.request;
  Json preemption = nullptr;
  if (r.preemption) {
    preemption = {{"scope", PreemptionScopeName(r.preemption->scope)},
                  {"maxEvictions", r.preemption->max_evictions ? Json(*r.preemption->max_evictions)
                                                               : Json(nullptr)},
                  {"addedByPreempt", p.preempt_added}};
  }
  Json violations = Json::array();
  for (const Violation& v : p.violations)
    violations.push_back({{"constraint", v.constraint}, {"detail", v.detail}});
  const bool evicts = !p.result.evictions.empty();
  return Json{{"request", r.name},
              {"tenant", r.tenant},
              {"priority", r.priority},
              {"preemption", preemption},
              {"outcome", PlacementOutcomeName(p.outcome)},
              {"summary", p.summary},
              {"legalVictims", p.legal_victims},
              {"evictionsProvenMinimal", evicts && p.result.status == SolveStatus::kOptimal},
              {"result", PlacementResultToJson(*p.snapshot, p.result)},
              {"violations", violations},
              {"explanation", p.explanation ? ExplanationJson(*p.explanation) : Json(nullptr)}};
}

void PrintPlacement(std::ostream& out, const WhatIfPlacement& p) {
  const Request& r = p.request;
  const Snapshot& snap = *p.snapshot;
  out << "place " << TerminalText(r.name) << " (tenant " << TerminalText(r.tenant) << ", priority "
      << r.priority;
  if (r.preemption) {
    out << ", preemption scope " << PreemptionScopeName(r.preemption->scope);
    if (r.preemption->max_evictions) out << " maxEvictions " << *r.preemption->max_evictions;
    if (p.preempt_added) out << " (added by --preempt)";
  } else {
    out << ", no preemption";
  }
  out << "): " << TerminalText(p.summary) << "\n";
  out << "  status: " << SolveStatusName(p.result.status);
  if (!p.result.evictions.empty()) {
    out << (p.result.status == SolveStatus::kOptimal
                ? " (the eviction count is proven minimal)"
                : " (the eviction count is not proven minimal)");
  }
  out << "\n";
  if (!p.result.evictions.empty()) {
    out << "  evict (" << p.result.evictions.size() << " of " << p.legal_victims
        << " it may evict):\n";
    for (const Eviction& e : p.result.evictions) out << "    " << EvictionText(snap, e) << "\n";
  }
  if (HasPlacement(p.result.status)) {
    out << "  nodes: " << NodeListText(snap, p.result.nodes) << "\n";
    out << "  cost: " << FixedText(p.result.cost_per_hour) << "/h\n";
    for (const Violation& v : p.violations) {
      out << "  VERIFIER: " << TerminalText(v.constraint) << ": " << TerminalText(v.detail) << "\n";
    }
  }
  if (p.explanation) PrintExplanation(out, *p.explanation, "  ");
  out << "  (a dry run: nothing was evicted, held or written)\n";
}

std::string Limit(const std::optional<int64_t>& v) {
  return v ? std::to_string(*v) : std::string("unlimited");
}
std::string Limit(const std::optional<double>& v) {
  return v ? FixedText(*v, 0) : std::string("unlimited");
}

}  // namespace

// --- whatif --------------------------------------------------------------------------------------

std::string_view PlacementOutcomeName(WhatIfPlacement::Outcome o) {
  switch (o) {
    case WhatIfPlacement::Outcome::kFits: return "fits";
    case WhatIfPlacement::Outcome::kFitsByEvicting: return "fitsByEvicting";
    case WhatIfPlacement::Outcome::kImpossible: return "impossible";
    case WhatIfPlacement::Outcome::kNotPlaced: return "notPlaced";
  }
  return "";
}

Result<WhatIfReport> PlanWhatIf(const Scenario& before, const WhatIfInput& input,
                                const WhatIfOptions& options) {
  if (input.changes.empty() && !input.place) {
    Status st = WithReason(StatusCode::kInvalidArgument, "no_change",
                           "no change given; expected at least one of --fail, --drain, --add, "
                           "--remove, --tenant-quota, or a request to --place");
    st.AddDetail({"", "no_change", st.message()});
    return st;
  }
  WhatIfReport report;
  Scenario after = before;
  if (!input.changes.empty()) {
    Result<std::vector<AppliedChange>> applied = ApplyChanges(after, input.changes);
    if (!applied.ok()) return ChangeErrors(before, input, applied.status());
    report.changes = std::move(applied).value();
  }
  report.allocations = before.allocations.size();

  auto before_snap = MakeSnapshot(before.inventory);
  if (!before_snap.ok()) return before_snap.status();
  report.before = *before_snap;
  const PlacementProblem before_problem{*before_snap, before.tenants};

  // Shapes are checked before anything is solved: a bad one costs nothing.
  std::vector<Request> shapes = input.shapes;
  for (size_t i = 0; i < shapes.size(); ++i) {
    Request& s = shapes[i];
    if (s.name.empty()) s.name = "shape";
    if (s.tenant.empty() && !after.tenants.empty()) s.tenant = after.tenants.front().name;
    Status v = ValidateRequest(before_problem, s);
    if (!v.ok()) return ShapeError(v, PathOf(input.shape_paths, i, "--shape"));
  }
  // So is the request to place. The problem it is placed against: the scenario's allocations are
  // the holdings it may evict from, under the scenario's policy.
  std::optional<Request> place = input.place;
  bool preempt_added = false;
  const bool across = before.policy.preempt_across_tenants || input.place_across_tenants;
  if (place) {
    if (place->name.empty()) place->name = "request";
    if (place->tenant.empty() && !before.tenants.empty())
      place->tenant = before.tenants.front().name;
    if (input.preempt && !place->preemption) {
      place->preemption = Preemption{};
      preempt_added = true;
    }
    PlacementProblem check = before_problem;
    check.preempt_across_tenants = across;
    Status v = ValidateRequest(check, *place);
    if (!v.ok()) return ShapeError(v, input.place_path, "invalid_place");
  }
  if (input.changes.empty()) {
    // Only the placement: the scenario as it is.
    report.after = report.before;
    report.capacity_before = report.capacity_after = SummariseCapacity(*report.before);
    for (const Request& s : shapes) {
      CapacityOptions co;
      co.explain = false;
      co.proof_time_limit_seconds = options.time_limit_seconds;
      Result<CapacityResult> copies = CountCopies(before_problem, s, co);
      report.shapes.push_back({s, copies, copies});
    }
    PlacementProblem problem = before_problem;
    problem.project_usage = ProjectUsages(before.inventory, before.allocations);
    problem.holdings = HoldingsOf(before.inventory, before.allocations);
    problem.preempt_across_tenants = across;
    Result<WhatIfPlacement> placed = PlanPlacement(problem, *place, preempt_added, options);
    if (!placed.ok()) return placed.status();
    report.placement = std::move(placed).value();
    return report;
  }

  Result<RepairInput> repair_input = PrepareRepair(before, after);
  if (!repair_input.ok()) return repair_input.status();
  RepairOptions ro;
  ro.solve.time_limit_seconds = options.time_limit_seconds;
  ro.relocate = options.relocate;
  ro.explain = options.explain;
  ro.preemption_seconds = options.time_limit_seconds;
  PlacementProblem repaired_problem;
  Result<std::vector<AllocationRepair>> repairs =
      RepairAllocations(repair_input->problem, repair_input->cases, ro, &repaired_problem);
  if (!repairs.ok()) return repairs.status();
  report.repairs = std::move(repairs).value();
  report.after = repaired_problem.snapshot;

  // Capacity before and after (after = the changes with the repairs in place).
  report.capacity_before = SummariseCapacity(*report.before);
  report.capacity_after = SummariseCapacity(*report.after);
  for (const Request& s : shapes) {
    CapacityOptions co;
    co.explain = false;
    co.proof_time_limit_seconds = options.time_limit_seconds;
    report.shapes.push_back(
        {s, CountCopies(before_problem, s, co), CountCopies(repaired_problem, s, co)});
  }

  // The scenario's pending requests, placed jointly by priority, before and after.
  if (!after.requests.empty()) {
    SolveOptions so;
    so.backend = options.backend;
    so.time_limit_seconds = options.time_limit_seconds;
    so.explain = false;
    auto pb = SolveBatch(before_problem, before.requests, so);
    if (!pb.ok()) return pb.status();
    auto pa = SolveBatch(repaired_problem, after.requests, so);
    if (!pa.ok()) return pa.status();
    report.pending_before = std::move(pb).value();
    report.pending_after = std::move(pa).value();
  }

  if (place) {
    // After the changes and the repairs: the allocations hold what they kept and their
    // replacements (the repair's holdings); their projects hold the same.
    PlacementProblem problem = repaired_problem;
    problem.preempt_across_tenants = across;
    problem.project_usage.clear();
    for (const Holding& h : problem.holdings) {
      AddProjectUsage(problem.project_usage, problem.snapshot->inventory, h.tenant, h.project,
                      h.nodes);
    }
    Result<WhatIfPlacement> placed = PlanPlacement(problem, *place, preempt_added, options);
    if (!placed.ok()) return placed.status();
    report.placement = std::move(placed).value();
  }

  for (const AllocationRepair& r : report.repairs) {
    report.repaired += r.repaired;
    report.moves += r.repaired ? r.moves : 0;
  }
  report.not_repaired = static_cast<int>(report.repairs.size()) - report.repaired;
  return report;
}

Json WhatIfReportJson(const WhatIfReport& report, const std::string& source) {
  const Snapshot& after_snap = *report.after;
  Json jchanges = Json::array();
  for (const AppliedChange& a : report.changes) {
    jchanges.push_back({{"flag", ChangeFlag(a.change.kind)},
                        {"change", a.change.text},
                        {"summary", a.summary},
                        {"nodes", a.nodes}});
  }
  Json jrepairs = Json::array();
  for (const AllocationRepair& r : report.repairs) jrepairs.push_back(RepairJson(after_snap, r));
  Json jshapes = Json::array();
  for (const ShapeCopies& s : report.shapes) {
    jshapes.push_back(
        {{"shape", ShortRequestText(s.shape)},
         {"tenant", s.shape.tenant},
         {"before",
          s.before.ok() ? CapacityResultJson(*report.before, *s.before, false) : Json(nullptr)},
         {"after",
          s.after.ok() ? CapacityResultJson(after_snap, *s.after, false) : Json(nullptr)}});
  }
  Json jpending = Json::array();
  for (size_t i = 0; i < report.pending_before.size(); ++i) {
    jpending.push_back({{"request", report.pending_before[i].request},
                        {"before", SolveStatusName(report.pending_before[i].status)},
                        {"after", SolveStatusName(report.pending_after[i].status)},
                        {"nodesAfter", NodeNames(after_snap, report.pending_after[i].nodes)}});
  }
  return Json{{"file", source},
              {"changes", jchanges},
              {"allocations", report.allocations},
              {"affected", report.repairs.size()},
              {"repaired", report.repaired},
              {"notRepaired", report.not_repaired},
              {"moves", report.moves},
              {"repairs", jrepairs},
              {"capacity",
               {{"before", CapacitySummaryJson(report.capacity_before)},
                {"after", CapacitySummaryJson(report.capacity_after)}}},
              {"shapes", jshapes},
              {"pending",
               {{"placedBefore", PlacedCount(report.pending_before)},
                {"placedAfter", PlacedCount(report.pending_after)},
                {"requests", jpending}}},
              {"place", report.placement ? PlacementJson(*report.placement) : Json(nullptr)}};
}

void PrintWhatIfReport(std::ostream& out, const WhatIfReport& report, const std::string& source) {
  const Snapshot& after_snap = *report.after;
  const CapacitySummary& cap_before = report.capacity_before;
  const CapacitySummary& cap_after = report.capacity_after;
  out << "what if, on " << TerminalText(source) << ":\n";
  for (const AppliedChange& a : report.changes) {
    out << "  " << ChangeFlag(a.change.kind) << " " << TerminalText(a.change.text) << ": "
        << TerminalText(a.summary) << "\n";
  }
  if (report.changes.empty()) {
    // Only a request to place, on the scenario as it is.
    if (report.placement) {
      out << "\n";
      PrintPlacement(out, *report.placement);
    }
    return;
  }
  out << "\naffected allocations: " << report.repairs.size() << " of " << report.allocations
      << "\n";
  for (const AllocationRepair& r : report.repairs) PrintRepair(out, after_snap, r);
  if (report.repairs.empty()) out << "  (none: no allocation holds a node the changes take)\n";

  out << "\ncapacity (free nodes; after = with the changes and the repairs)\n";
  auto row = [&](const std::string& label, const std::string& b, const std::string& a) {
    out << "  " << label << std::string(label.size() < 34 ? 34 - label.size() : 1, ' ') << b
        << std::string(b.size() < 12 ? 12 - b.size() : 1, ' ') << a << "\n";
  };
  row("", "before", "after");
  row("free nodes", std::to_string(cap_before.free_nodes), std::to_string(cap_after.free_nodes));
  row("free GPUs", std::to_string(cap_before.free_gpus), std::to_string(cap_after.free_gpus));
  std::map<std::string, int> after_by_class(cap_after.free_by_class.begin(),
                                            cap_after.free_by_class.end());
  for (const auto& [cls, n] : cap_before.free_by_class) {
    row("  " + TerminalText(cls), std::to_string(n), std::to_string(after_by_class[cls]));
    after_by_class.erase(cls);
  }
  for (const auto& [cls, n] : after_by_class) row("  " + TerminalText(cls), "0", std::to_string(n));
  row("free nodes in fully free leaves", PercentText(cap_before.free_in_free_leaves),
      PercentText(cap_after.free_in_free_leaves));
  row("free nodes in fully free racks", PercentText(cap_before.free_in_free_racks),
      PercentText(cap_after.free_in_free_racks));
  for (size_t i = 0; i < report.shapes.size(); ++i) {
    const ShapeCopies& s = report.shapes[i];
    auto text = [](const Result<CapacityResult>& r) {
      if (!r.ok()) return std::string("error");
      return std::to_string(r->copies) +
             (r->exact ? " (exact)" : " (<= " + std::to_string(r->upper_bound) + ")");
    };
    row("copies of shape " + std::to_string(i + 1), text(s.before), text(s.after));
  }
  for (size_t i = 0; i < report.shapes.size(); ++i) {
    out << "  shape " << i + 1 << ": " << TerminalText(ShortRequestText(report.shapes[i].shape))
        << " (tenant " << TerminalText(report.shapes[i].shape.tenant) << ")\n";
  }

  const auto& pending_before = report.pending_before;
  const auto& pending_after = report.pending_after;
  if (!pending_before.empty()) {
    out << "\npending requests of the file (placed jointly, by priority): "
        << PlacedCount(pending_before) << " of " << pending_before.size() << " before, "
        << PlacedCount(pending_after) << " after\n";
    for (size_t i = 0; i < pending_before.size(); ++i) {
      const bool b = Placed(pending_before[i]), a = Placed(pending_after[i]);
      out << "  " << TerminalText(pending_before[i].request) << ": "
          << (b ? "placed" : "not placed") << " -> " << (a ? "placed" : "not placed")
          << (b != a ? "   <- changed" : "") << "\n";
    }
  }
  if (report.placement) {
    out << "\nwith the changes and the repairs in place:\n";
    PrintPlacement(out, *report.placement);
  }
  out << "\n"
      << report.repaired << " of " << report.repairs.size() << " affected allocations repaired ("
      << report.moves << " move" << (report.moves == 1 ? "" : "s") << ")";
  if (report.not_repaired > 0) out << "; " << report.not_repaired << " not repaired";
  out << "\n";
}

// --- capacity ------------------------------------------------------------------------------------

Status ResolveCapacityQuery(const std::vector<Tenant>& tenants, CapacityQuery& query) {
  auto known = [&](const std::string& name) {
    return std::any_of(tenants.begin(), tenants.end(),
                       [&](const Tenant& t) { return t.name == name; });
  };
  if (query.shape) {
    Request& shape = *query.shape;
    if (!query.tenant.empty()) shape.tenant = query.tenant;
    if (shape.tenant.empty()) {
      if (tenants.empty()) {
        Status st = WithReason(StatusCode::kInvalidArgument, "no_tenants",
                               "the scenario has no tenants; give a shape with tenant=");
        st.AddDetail({query.shape_label, "no_tenants", st.message()});
        return st;
      }
      shape.tenant = tenants.front().name;
    }
    if (shape.name.empty()) shape.name = "shape";
  } else if (!query.tenant.empty() && !known(query.tenant)) {
    Status st = WithReason(StatusCode::kInvalidArgument, "unknown_tenant",
                           query.tenant_label + ": no tenant named " + QuotedText(query.tenant));
    st.AddDetail({query.tenant_label, "unknown_tenant", st.message()});
    return st;
  }
  return Status::Ok();
}

Result<CapacityReport> PlanCapacity(const PlacementProblem& problem, CapacityQuery query) {
  Status resolved = ResolveCapacityQuery(problem.tenants, query);
  if (!resolved.ok()) return resolved;
  CapacityReport report;
  report.snapshot = problem.snapshot;
  report.shape = query.shape;
  report.max_domains = query.max_domains;
  report.has_history = query.history.has_value();
  if (query.shape) {
    Status v = ValidateRequest(problem, *query.shape);
    if (!v.ok()) return ShapeError(v, query.shape_label);
    CapacityOptions co;
    co.solve.backend = query.backend;
    co.solve.time_limit_seconds = query.time_limit_seconds;
    co.proof_time_limit_seconds = query.time_limit_seconds;
    Result<CapacityResult> r = CountCopies(problem, *query.shape, co);
    if (!r.ok()) return r.status();
    report.count = std::move(r).value();
  }
  // With a shape, TenantHeadrooms reports the shape's tenant only.
  const std::string only = query.shape ? std::string() : query.tenant;
  for (TenantHeadroom& h : TenantHeadrooms(problem, query.shape ? &*query.shape : nullptr)) {
    if (only.empty() || h.tenant == only) report.headroom.push_back(std::move(h));
  }
  report.fragmentation = Fragmentation(*problem.snapshot);
  if (query.shape) {
    SolveOptions so;
    so.backend = query.backend;
    so.time_limit_seconds = query.time_limit_seconds;
    report.largest = LargestShapeThatFits(problem, *query.shape, so);
  }
  if (query.history) {
    const Inventory& inventory = problem.snapshot->inventory;
    const UsageHistory usage = DemandHistory(*query.history, inventory);
    report.forecasts = ForecastExhaustion(usage, inventory, problem.tenants);
  }
  return report;
}

Json CapacityReportJson(const CapacityReport& report, const std::string& source) {
  Json j{{"file", source}};
  if (report.shape) {
    j["shape"] = {{"request", ShortRequestText(*report.shape)}, {"tenant", report.shape->tenant}};
    j["count"] = CapacityResultJson(*report.snapshot, *report.count, true);
    j["largestThatFits"] = report.largest ? Json(*report.largest) : Json(nullptr);
  }
  Json h = Json::array();
  for (const TenantHeadroom& t : report.headroom) h.push_back(TenantHeadroomJson(t));
  j["tenants"] = h;
  j["fragmentation"] = FragmentationJson(report.fragmentation, report.max_domains);
  if (report.has_history) {
    Json f = Json::array();
    for (const Forecast& x : report.forecasts) f.push_back(ForecastJson(x));
    j["forecasts"] = f;
  }
  return j;
}

void PrintCapacityReport(std::ostream& out, const CapacityReport& report, const std::string& source,
                         const std::string& history_source) {
  const FragmentationReport& frag = report.fragmentation;
  out << "capacity of " << TerminalText(source) << "\n";
  if (report.shape) {
    const CapacityResult& count = *report.count;
    out << "\nshape: " << TerminalText(ShortRequestText(*report.shape)) << " (tenant "
        << TerminalText(report.shape->tenant) << ")\n";
    out << "  " << count.copies << " more cop" << (count.copies == 1 ? "y" : "ies") << " fit";
    if (count.exact) {
      out << " (exact: no more than " << count.upper_bound << " by " << TerminalText(count.proof)
          << ")\n";
    } else {
      out << " (at least; " << TerminalText(count.proof) << ")\n";
    }
    for (const char* level : {"pod", "rack", "leaf", "powerDomain"}) {
      auto it = count.domains.find(level);
      if (it == count.domains.end()) continue;
      const std::string plural = std::string(level) == "leaf" ? "leaves" : std::string(level) + "s";
      out << "  " << plural << " used: " << it->second.size();
      std::vector<std::pair<int, std::string>> top;
      for (const auto& [name, n] : it->second) top.emplace_back(-n, name);
      std::sort(top.begin(), top.end());
      out << " (";
      for (size_t i = 0; i < top.size() && i < 6; ++i)
        out << (i ? ", " : "") << TerminalText(top[i].second) << " " << -top[i].first;
      out << (top.size() > 6 ? ", ..." : "") << ")\n";
    }
    if (count.why_no_more) {
      out << "  the next copy does not fit:\n";
      PrintExplanation(out, *count.why_no_more, "    ");
    }
    if (report.largest) {
      out << "  the largest such request that fits now: nodes=" << *report.largest << "\n";
    } else {
      out << "  not even one node of this shape fits now\n";
    }
  }
  out << "\ntenant headroom (quota left; unlimited when no quota)\n";
  for (const TenantHeadroom& h : report.headroom) {
    out << "  " << TerminalText(h.tenant) << ": nodes " << Limit(h.nodes) << ", gpus "
        << Limit(h.gpus) << ", cpuCores " << Limit(h.cpu_cores) << ", memoryGiB "
        << Limit(h.memory_gib) << ", budget/h " << Limit(h.cost_per_hour);
    if (report.shape) {
      out << "; copies of the shape its quota allows: "
          << (h.shape_copies
                  ? std::to_string(*h.shape_copies) + " (by " + TerminalText(h.limiting) + ")"
                  : std::string("unlimited"));
    }
    out << "\n";
  }
  out << "\nfragmentation: " << frag.free_nodes << " of " << frag.total_nodes << " nodes free ("
      << frag.free_gpus << " of " << frag.total_gpus << " GPUs)\n";
  out << "  free nodes in fully free leaves " << PercentText(frag.free_in_free_leaves)
      << ", in fully free racks " << PercentText(frag.free_in_free_racks)
      << "; free GPUs in fully free leaves " << PercentText(frag.gpu_free_in_free_leaves) << "\n";
  auto list = [&](const char* what, const std::vector<DomainFree>& domains) {
    out << "  free nodes by " << what << ":";
    size_t shown = 0;
    for (const DomainFree& d : domains) {
      if (shown == report.max_domains) {
        out << " ... (" << domains.size() << " in all)";
        break;
      }
      out << " " << TerminalText(d.name) << " " << d.free << "/" << d.total;
      ++shown;
    }
    out << "\n";
  };
  list("pod", frag.pods);
  list("rack", frag.racks);
  list("leaf", frag.leaves);
  out << "  largest request that fits, per class (nodes=N in one leaf / rack / pod / anywhere):\n";
  std::map<std::string, std::vector<const LargestFit*>> by_class;
  for (const LargestFit& l : frag.largest) by_class[l.node_class].push_back(&l);
  for (const auto& [cls, fits] : by_class) {
    out << "    " << TerminalText(cls) << ":";
    for (const LargestFit* l : fits) {
      out << " " << l->scope << " " << l->nodes;
      if (!l->where.empty()) out << " (" << TerminalText(l->where) << ")";
      out << (l == fits.back() ? "" : ",");
    }
    out << "\n";
  }
  if (report.has_history) {
    out << "\nforecasts from the demand in " << TerminalText(history_source)
        << " (hours; linear trend over the recent half)\n";
    PrintForecasts(out, report.forecasts, "h");
  }
}

// --- the service's state -------------------------------------------------------------------------

Result<Scenario> ScenarioOfState(const Snapshot& snapshot, const std::vector<Tenant>& tenants,
                                 const CowVector<std::string>& holdings,
                                 const std::vector<AllocationRecord>& allocations) {
  Scenario s;
  s.inventory = snapshot.inventory;
  s.tenants = tenants;
  std::unordered_set<std::string> allocation_ids;
  for (const AllocationRecord& a : allocations) allocation_ids.insert(a.id);
  const NodeStates& states = snapshot.states;
  for (int i = 0; i < static_cast<int>(s.inventory.nodes.size()); ++i) {
    Node& n = s.inventory.nodes[i];
    n.state = states.state(i);
    n.holder = states.holder(i);
    n.exclusive = states.exclusive(i);
    const std::string& holding = i < holdings.size() ? holdings[i] : std::string();
    // A reservation's hold is not an allocation to repair, but its nodes are not free either.
    if (!holding.empty() && !allocation_ids.count(holding)) continue;
    if (n.state != NodeState::kMaintenance && n.state != NodeState::kFailed) {
      n.state = NodeState::kAvailable;
    }
    n.holder.clear();
    n.exclusive.reset();
  }
  Status added = AddAllocationRecords(s, allocations);
  if (!added.ok()) return added;
  return s;
}

// --- HTTP bodies ---------------------------------------------------------------------------------

namespace {

using json = nlohmann::json;

void WrongType(std::vector<BodyError>& errors, const std::string& ptr, const json& v,
               const std::string& expected) {
  errors.push_back({"wrong_type", ptr, "got " + JsonTypeName(v) + "; expected " + expected});
}

void UnknownFields(std::vector<BodyError>& errors, const json& body,
                   std::initializer_list<std::string_view> allowed) {
  for (const auto& [key, value] : body.items()) {
    if (std::find(allowed.begin(), allowed.end(), key) != allowed.end()) continue;
    std::string names;
    for (auto a : allowed) names += (names.empty() ? "" : ", ") + std::string(a);
    errors.push_back({"unknown_field", "/" + JsonPointerToken(key),
                      "unknown field " + QuotedText(key, 64) + "; expected one of " + names});
  }
}

// A string of 1 to `max_bytes` bytes.
std::optional<std::string> Text(std::vector<BodyError>& errors, const json& v,
                                const std::string& ptr, const std::string& what, size_t max_bytes) {
  if (!v.is_string()) {
    WrongType(errors, ptr, v, what);
    return std::nullopt;
  }
  const std::string& s = v.get_ref<const std::string&>();
  if (s.empty() || s.size() > max_bytes) {
    errors.push_back({"out_of_range", ptr,
                      "a string of " + std::to_string(s.size()) + " bytes; expected 1 to " +
                          std::to_string(max_bytes)});
    return std::nullopt;
  }
  return s;
}

std::optional<DecodedShape> Shape(std::vector<BodyError>& errors, const json& v,
                                  const std::string& ptr) {
  if (v.is_string()) {
    auto text = Text(errors, v, ptr, "a request object or its short form", kMaxShortShapeBytes);
    if (!text) return std::nullopt;
    Result<Request> r = ParseShortRequest(*text, "shape");
    if (!r.ok()) {
      for (const std::string& m : r.status().messages())
        errors.push_back({"invalid_shape", ptr, m});
      return std::nullopt;
    }
    DecodedShape out;
    out.request = std::move(r).value();
    out.has_tenant = !out.request.tenant.empty();
    out.tenant_pointer = ptr;
    return out;
  }
  if (!v.is_object()) {
    WrongType(errors, ptr, v, "a request object or its short form (a string)");
    return std::nullopt;
  }
  DecodedRequest d = DecodeRequestJson(v);
  if (!d.errors.empty()) {
    for (BodyError& e : d.errors) {
      e.pointer = ptr + e.pointer;
      // The request decoder may cut a quoted key inside a character: keep the answer valid UTF-8.
      if (!IsValidUtf8(e.detail)) e.detail = PrintableText(e.detail);
      errors.push_back(std::move(e));
    }
    return std::nullopt;
  }
  return DecodedShape{std::move(d.request), d.has_tenant, ptr + "/tenant"};
}

struct ChangeKey {
  std::string_view key;
  ChangeKind kind;
};
constexpr ChangeKey kChangeKeys[] = {
    {"fail", ChangeKind::kFail},
    {"drain", ChangeKind::kDrain},
    {"remove", ChangeKind::kRemove},
    {"add", ChangeKind::kAdd},
    {"tenantQuota", ChangeKind::kTenantQuota},
    {"tenant-quota", ChangeKind::kTenantQuota},
};
constexpr std::string_view kChangeKindList = "fail, drain, remove, add, tenantQuota";

void DecodeChange(DecodedWhatIf& out, const json& v, const std::string& ptr) {
  std::vector<BodyError>& errors = out.errors;
  if (!v.is_object()) {
    WrongType(errors, ptr, v, "an object with one change, like {\"fail\": \"powerDomain:NAME\"}");
    return;
  }
  if (v.size() != 1) {
    errors.push_back({v.empty() ? "missing_field" : "conflicting_fields", ptr,
                      std::to_string(v.size()) + " members; expected exactly one of " +
                          std::string(kChangeKindList)});
    return;
  }
  const std::string key = v.begin().key();
  const json& value = v.begin().value();
  const std::string at = ptr + "/" + JsonPointerToken(key);
  const ChangeKey* kind = nullptr;
  for (const ChangeKey& k : kChangeKeys) {
    if (k.key == key) kind = &k;
  }
  if (kind == nullptr) {
    errors.push_back({"unknown_change_kind", at,
                      "unknown change kind " + QuotedText(key, 64) + "; expected one of " +
                          std::string(kChangeKindList)});
    return;
  }
  auto text = Text(errors, value, at,
                   "the change as the flag " + std::string(ChangeFlag(kind->kind)) + " takes it",
                   kMaxChangeTextBytes);
  if (!text) return;
  Result<Change> c = ParseChange(kind->kind, *text);
  if (!c.ok()) {
    for (const std::string& m : c.status().messages()) errors.push_back({"invalid_change", at, m});
    return;
  }
  out.input.changes.push_back(std::move(c).value());
  out.input.change_paths.push_back(at);
}

}  // namespace

DecodedWhatIf DecodeWhatIfJson(const json& body) {
  DecodedWhatIf out;
  if (!body.is_object()) {
    WrongType(out.errors, "", body, "an object with changes and, optionally, shapes");
    return out;
  }
  UnknownFields(out.errors, body, {"changes", "shapes", "place", "preempt"});
  if (body.contains("place")) {
    const json& place = body["place"];
    if (!place.is_object()) {
      WrongType(out.errors, "/place", place, "a request object");
    } else if (auto s = Shape(out.errors, place, "/place")) {
      out.input.place = std::move(s->request);
      out.input.place_path = "/place";
    }
  }
  if (body.contains("preempt")) {
    const json& preempt = body["preempt"];
    if (!preempt.is_boolean()) {
      WrongType(out.errors, "/preempt", preempt, "a boolean");
    } else if (!body.contains("place")) {
      out.errors.push_back({"missing_field", "/place", "preempt needs a request to place"});
    } else {
      out.input.preempt = preempt.get<bool>();
    }
  }
  if (!body.contains("changes")) {
    if (!body.contains("place")) {
      out.errors.push_back({"missing_field", "/changes",
                            "no changes; expected an array of changes like {\"fail\": "
                            "\"powerDomain:NAME\"} (or a request to place)"});
    }
  } else if (const json& changes = body["changes"]; !changes.is_array()) {
    WrongType(out.errors, "/changes", changes, "an array of changes");
  } else if (changes.empty() || changes.size() > kMaxWhatIfChanges) {
    out.errors.push_back({"out_of_range", "/changes",
                          std::to_string(changes.size()) + " changes; expected 1 to " +
                              std::to_string(kMaxWhatIfChanges)});
  } else {
    for (size_t i = 0; i < changes.size(); ++i) {
      DecodeChange(out, changes[i], "/changes/" + std::to_string(i));
    }
  }
  if (body.contains("shapes")) {
    const json& shapes = body["shapes"];
    if (!shapes.is_array()) {
      WrongType(out.errors, "/shapes", shapes, "an array of request shapes");
    } else if (shapes.size() > kMaxWhatIfShapes) {
      out.errors.push_back({"out_of_range", "/shapes",
                            std::to_string(shapes.size()) + " shapes; expected at most " +
                                std::to_string(kMaxWhatIfShapes)});
    } else {
      for (size_t i = 0; i < shapes.size(); ++i) {
        const std::string ptr = "/shapes/" + std::to_string(i);
        if (auto s = Shape(out.errors, shapes[i], ptr)) {
          out.input.shapes.push_back(std::move(s->request));
          out.input.shape_paths.push_back(ptr);
        }
      }
    }
  }
  return out;
}

DecodedCapacity DecodeCapacityJson(const json& body) {
  DecodedCapacity out;
  if (!body.is_object()) {
    WrongType(out.errors, "", body, "an object with a shape and, optionally, a tenant");
    return out;
  }
  UnknownFields(out.errors, body, {"shape", "tenant"});
  if (body.contains("shape")) out.shape = Shape(out.errors, body["shape"], "/shape");
  if (body.contains("tenant")) {
    out.tenant = Text(out.errors, body["tenant"], "/tenant", "a tenant name", 256);
  }
  return out;
}

namespace {

Json ShapeSchema(const Json& request_ref) {
  return Json{
      {"oneOf", Json::array({request_ref,
                             Json{{"type", "string"},
                                  {"minLength", 1},
                                  {"maxLength", kMaxShortShapeBytes},
                                  {"description", "the short form of a request"},
                                  {"example", "nodes=4,class=h100x8,locality=leaf:required"}}})}};
}

}  // namespace

Json WhatIfBodySchema(const Json& request_ref) {
  Json kinds = Json::object();
  for (const ChangeKey& k : kChangeKeys) {
    kinds[std::string(k.key)] = {
        {"type", "string"},
        {"minLength", 1},
        {"maxLength", kMaxChangeTextBytes},
        {"description", "as `topoplace whatif " + std::string(ChangeFlag(k.kind)) + "` takes it"}};
  }
  return Json{
      {"type", "object"},
      {"description",
       "Changes to try on the current state (applied in the order add, remove, fail, drain, "
       "tenantQuota), request shapes whose copies are counted before and after, and a request "
       "to place: what placing it would take (with preempt, the fewest evictions of "
       "lower-priority allocations). Changes, a request to place, or both."},
      {"additionalProperties", false},
      {"anyOf", Json::array({Json{{"required", Json::array({"changes"})}},
                             Json{{"required", Json::array({"place"})}}})},
      {"properties",
       {{"changes",
         {{"type", "array"},
          {"minItems", 1},
          {"maxItems", kMaxWhatIfChanges},
          {"items",
           {{"type", "object"},
            {"minProperties", 1},
            {"maxProperties", 1},
            {"additionalProperties", false},
            {"properties", kinds},
            {"example", {{"fail", "powerDomain:pdu-r02-a"}}}}}}},
        {"shapes",
         {{"type", "array"}, {"maxItems", kMaxWhatIfShapes}, {"items", ShapeSchema(request_ref)}}},
        {"place", request_ref},
        {"preempt",
         {{"type", "boolean"},
          {"description",
           "give the request to place preemption: {scope: tenant} when it has none of its "
           "own"}}}}}};
}

Json CapacityBodySchema(const Json& request_ref) {
  return Json{{"type", "object"},
              {"description",
               "A request shape to count copies of (its tenant defaults to the token's) and, "
               "without one, the tenant whose headroom to show."},
              {"additionalProperties", false},
              {"properties",
               {{"shape", ShapeSchema(request_ref)},
                {"tenant", {{"type", "string"}, {"minLength", 1}, {"maxLength", 256}}}}}};
}

}  // namespace topoplace
