// `topoplace whatif`: apply failures, drains, added or removed hardware and quota changes to a
// scenario, repair what is affected, and compare capacity and the pending requests before and
// after.
#include <algorithm>
#include <ostream>
#include <set>

#include "api/cli/commands.h"
#include "api/exit_codes.h"
#include "api/json_codec.h"
#include "api/cli/whatif_cli.h"
#include "api/whatif_report.h"
#include "inventory/changes.h"
#include "inventory/short_request.h"
#include "solver/capacity.h"
#include "solver/repair.h"

namespace topoplace {

namespace {

bool Placed(const PlacementResult& r) {
  return r.status == SolveStatus::kOptimal || r.status == SolveStatus::kFeasible;
}

std::string StatusText(const AllocationRepair& r) {
  switch (r.status) {
    case SolveStatus::kOptimal: return "fewest moves proven";
    case SolveStatus::kFeasible: return "fewest moves not proven";
    case SolveStatus::kInfeasible: return "proven impossible in place";
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
  return j;
}

void PrintRepair(std::ostream& out, const Snapshot& snap, const AllocationRepair& r) {
  int changed = 0;
  std::string lost;
  for (const LostNode& l : r.lost) {
    changed += l.changed;
    lost += (lost.empty() ? "" : ", ") + l.name;
  }
  out << "  " << r.allocation << " (tenant " << r.tenant << "): lost " << r.lost.size() << " of "
      << r.lost.size() + r.kept.size() << " nodes: " << lost;
  if (changed < static_cast<int>(r.lost.size())) {
    out << " (" << r.lost.size() - changed << " already failed before)";
  }
  out << "\n";
  if (r.repaired) {
    out << "    repaired: " << r.moves << " move" << (r.moves == 1 ? "" : "s") << " ("
        << StatusText(r) << ", " << r.method << "); " << Basis(r) << "\n";
    out << "    replacements: " << NodeListText(snap, r.replacements) << "\n";
    return;
  }
  out << "    NOT REPAIRED (" << StatusText(r) << "): " << r.reason << "\n";
  if (!r.by_request) out << "    (" << Basis(r) << ")\n";
  if (r.explanation) PrintExplanation(out, *r.explanation, "    ");
  if (r.relocation) {
    out << "    relocation: the whole allocation could move to "
        << NodeListText(snap, r.relocation->nodes, 8) << ": " << r.relocation->moves << " moves, "
        << r.relocation->kept_moved << " of them nodes that did not fail\n";
  } else if (r.by_request && !r.kept.empty()) {
    out << "    relocation: no placement of the whole allocation exists either\n";
  }
}

}  // namespace

int RunWhatIf(const WhatIfArgs& args, std::ostream& out, std::ostream& err) {
  // Changes first: bad flags are reported before any file is read.
  std::vector<Change> changes;
  std::vector<std::string> errors;
  auto parse = [&](ChangeKind kind, const std::vector<std::string>& texts) {
    for (const std::string& t : texts) {
      Result<Change> c = ParseChange(kind, t);
      if (c.ok()) {
        changes.push_back(*c);
      } else {
        errors.insert(errors.end(), c.status().messages().begin(), c.status().messages().end());
      }
    }
  };
  parse(ChangeKind::kFail, args.fail);
  parse(ChangeKind::kDrain, args.drain);
  parse(ChangeKind::kAdd, args.add);
  parse(ChangeKind::kRemove, args.remove);
  parse(ChangeKind::kTenantQuota, args.tenant_quota);
  std::vector<Request> shapes;
  for (const std::string& s : args.shapes) {
    Result<Request> r = ParseShortRequest(s, "--shape");
    if (r.ok()) {
      shapes.push_back(*r);
    } else {
      errors.insert(errors.end(), r.status().messages().begin(), r.status().messages().end());
    }
  }
  if (!errors.empty()) {
    for (const auto& e : errors) err << "topoplace whatif: " << e << "\n";
    return kExitBadInput;
  }
  if (changes.empty()) {
    err << "topoplace whatif: no change given; expected at least one of --fail, --drain, --add, "
           "--remove, --tenant-quota (see --help)\n";
    return kExitBadInput;
  }

  Scenario before;
  int exit = kExitOk;
  if (!LoadForCommand(args.file, before, args.json, out, err, exit)) return exit;
  Scenario after = before;
  Result<std::vector<AppliedChange>> applied = ApplyChanges(after, changes);
  if (!applied.ok()) {
    for (const auto& m : applied.status().messages()) err << "topoplace whatif: " << m << "\n";
    return ExitCodeFor(applied.status().code());
  }
  for (Request& s : shapes) {
    if (s.name.empty()) s.name = "shape";
    if (s.tenant.empty() && !after.tenants.empty()) s.tenant = after.tenants.front().name;
  }

  Result<RepairInput> input = PrepareRepair(before, after);
  if (!input.ok()) {
    for (const auto& m : input.status().messages()) err << args.file << ": " << m << "\n";
    return ExitCodeFor(input.status().code());
  }
  RepairOptions ro;
  ro.solve.time_limit_seconds = args.time_limit_seconds;
  ro.relocate = !args.no_relocate;
  ro.explain = !args.no_explain;
  PlacementProblem repaired_problem;
  Result<std::vector<AllocationRepair>> repairs =
      RepairAllocations(input->problem, input->cases, ro, &repaired_problem);
  if (!repairs.ok()) {
    for (const auto& m : repairs.status().messages()) err << args.file << ": " << m << "\n";
    return ExitCodeFor(repairs.status().code());
  }
  auto before_snap = MakeSnapshot(before.inventory);
  if (!before_snap.ok()) {
    for (const auto& m : before_snap.status().messages()) err << args.file << ": " << m << "\n";
    return ExitCodeFor(before_snap.status().code());
  }
  const PlacementProblem before_problem{*before_snap, before.tenants};
  const Snapshot& after_snap = *repaired_problem.snapshot;

  // Capacity before and after (after = the changes with the repairs in place).
  const CapacitySummary cap_before = SummariseCapacity(**before_snap);
  const CapacitySummary cap_after = SummariseCapacity(after_snap);
  struct ShapeCounts {
    Request shape;
    Result<CapacityResult> before, after;
  };
  std::vector<ShapeCounts> shape_counts;
  for (const Request& s : shapes) {
    Status v = ValidateRequest(before_problem, s);
    if (!v.ok()) {
      for (const auto& m : v.messages()) err << "topoplace whatif: --shape: " << m << "\n";
      return kExitBadInput;
    }
    CapacityOptions co;
    co.explain = false;
    co.proof_time_limit_seconds = args.time_limit_seconds;
    shape_counts.push_back(
        {s, CountCopies(before_problem, s, co), CountCopies(repaired_problem, s, co)});
  }

  // The file's pending requests, placed jointly by priority, before and after.
  SolveOptions so;
  so.backend = args.solver;
  so.time_limit_seconds = args.time_limit_seconds;
  so.explain = false;
  std::vector<PlacementResult> pending_before, pending_after;
  if (!after.requests.empty()) {
    auto pb = SolveBatch(before_problem, before.requests, so);
    auto pa = SolveBatch(repaired_problem, after.requests, so);
    if (!pb.ok() || !pa.ok()) {
      const Status& st = !pb.ok() ? pb.status() : pa.status();
      for (const auto& m : st.messages()) err << args.file << ": " << m << "\n";
      return ExitCodeFor(st.code());
    }
    pending_before = *pb;
    pending_after = *pa;
  }
  auto placed = [](const std::vector<PlacementResult>& rs) {
    return static_cast<int>(std::count_if(rs.begin(), rs.end(), Placed));
  };

  int repaired = 0, moves = 0;
  for (const AllocationRepair& r : *repairs) {
    repaired += r.repaired;
    moves += r.repaired ? r.moves : 0;
  }
  const int unrepaired = static_cast<int>(repairs->size()) - repaired;
  const int code = unrepaired == 0 ? kExitOk : kExitUnsatisfied;

  if (args.json) {
    Json jchanges = Json::array();
    for (const AppliedChange& a : *applied) {
      jchanges.push_back({{"flag", ChangeFlag(a.change.kind)},
                          {"change", a.change.text},
                          {"summary", a.summary},
                          {"nodes", a.nodes}});
    }
    Json jrepairs = Json::array();
    for (const AllocationRepair& r : *repairs) jrepairs.push_back(RepairJson(after_snap, r));
    Json jshapes = Json::array();
    for (const ShapeCounts& s : shape_counts) {
      jshapes.push_back(
          {{"shape", ShortRequestText(s.shape)},
           {"tenant", s.shape.tenant},
           {"before",
            s.before.ok() ? CapacityResultJson(**before_snap, *s.before, false) : Json(nullptr)},
           {"after",
            s.after.ok() ? CapacityResultJson(after_snap, *s.after, false) : Json(nullptr)}});
    }
    Json jpending = Json::array();
    for (size_t i = 0; i < pending_before.size(); ++i) {
      jpending.push_back({{"request", pending_before[i].request},
                          {"before", SolveStatusName(pending_before[i].status)},
                          {"after", SolveStatusName(pending_after[i].status)},
                          {"nodesAfter", NodeNames(after_snap, pending_after[i].nodes)}});
    }
    out << Json{{"file", args.file},
                {"changes", jchanges},
                {"allocations", before.allocations.size()},
                {"affected", repairs->size()},
                {"repaired", repaired},
                {"notRepaired", unrepaired},
                {"moves", moves},
                {"repairs", jrepairs},
                {"capacity",
                 {{"before", CapacitySummaryJson(cap_before)},
                  {"after", CapacitySummaryJson(cap_after)}}},
                {"shapes", jshapes},
                {"pending",
                 {{"placedBefore", placed(pending_before)},
                  {"placedAfter", placed(pending_after)},
                  {"requests", jpending}}}}
               .dump(2)
        << "\n";
    return code;
  }

  out << "what if, on " << args.file << ":\n";
  for (const AppliedChange& a : *applied) {
    out << "  " << ChangeFlag(a.change.kind) << " " << a.change.text << ": " << a.summary << "\n";
  }
  out << "\naffected allocations: " << repairs->size() << " of " << before.allocations.size()
      << "\n";
  for (const AllocationRepair& r : *repairs) PrintRepair(out, after_snap, r);
  if (repairs->empty()) out << "  (none: no allocation holds a node the changes take)\n";

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
    row("  " + cls, std::to_string(n), std::to_string(after_by_class[cls]));
    after_by_class.erase(cls);
  }
  for (const auto& [cls, n] : after_by_class) row("  " + cls, "0", std::to_string(n));
  row("free nodes in fully free leaves", PercentText(cap_before.free_in_free_leaves),
      PercentText(cap_after.free_in_free_leaves));
  row("free nodes in fully free racks", PercentText(cap_before.free_in_free_racks),
      PercentText(cap_after.free_in_free_racks));
  for (size_t i = 0; i < shape_counts.size(); ++i) {
    const ShapeCounts& s = shape_counts[i];
    auto text = [](const Result<CapacityResult>& r) {
      if (!r.ok()) return std::string("error");
      return std::to_string(r->copies) +
             (r->exact ? " (exact)" : " (<= " + std::to_string(r->upper_bound) + ")");
    };
    row("copies of shape " + std::to_string(i + 1), text(s.before), text(s.after));
  }
  for (size_t i = 0; i < shape_counts.size(); ++i) {
    out << "  shape " << i + 1 << ": " << ShortRequestText(shape_counts[i].shape) << " (tenant "
        << shape_counts[i].shape.tenant << ")\n";
  }

  if (!pending_before.empty()) {
    out << "\npending requests of the file (placed jointly, by priority): "
        << placed(pending_before) << " of " << pending_before.size() << " before, "
        << placed(pending_after) << " after\n";
    for (size_t i = 0; i < pending_before.size(); ++i) {
      const bool b = Placed(pending_before[i]), a = Placed(pending_after[i]);
      out << "  " << pending_before[i].request << ": " << (b ? "placed" : "not placed") << " -> "
          << (a ? "placed" : "not placed") << (b != a ? "   <- changed" : "") << "\n";
    }
  }
  out << "\n"
      << repaired << " of " << repairs->size() << " affected allocations repaired (" << moves
      << " move" << (moves == 1 ? "" : "s") << ")";
  if (unrepaired > 0) out << "; " << unrepaired << " not repaired";
  out << "\n";
  return code;
}

}  // namespace topoplace
