// The public entry: validation once, then the named backend or the "auto" composition (a quick
// backend, then an exact one warm-started from it, chosen from options.backends by capabilities),
// explanations for proven infeasible requests, and batch solves.
#include "solver/solver.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>
#include <string>
#include <utility>
#include <vector>

#include "model/request_schema.h"
#include "model/text.h"
#include "solver/backend.h"
#include "solver/explain.h"
#include "solver/prepared.h"

namespace topoplace {

namespace {

using Clock = std::chrono::steady_clock;

double MillisSince(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

std::string Quoted(std::string_view s) { return QuotedText(s); }

const Tenant* FindTenant(const PlacementProblem& problem, std::string_view name) {
  for (const Tenant& t : problem.tenants) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

bool Feasible(const PlacementResult& r) { return HasPlacement(r.status); }

// Sorted nodes, objective, cost and gap recomputed from the prepared request, so every backend's
// answer reports the same function.
void Normalize(const PreparedRequest& p, PlacementResult& r) {
  r.request = p.request->name;
  std::sort(r.nodes.begin(), r.nodes.end());
  if (!Feasible(r)) {
    r.nodes.clear();
    r.objective = {};
    r.cost_per_hour = 0;
    r.gap.reset();
    return;
  }
  r.objective = EvaluateObjective(p, r.nodes);
  r.cost_per_hour = r.objective.cost_per_hour;
  if (r.status == SolveStatus::kOptimal) {
    r.bound = r.bound ? std::min(*r.bound, r.objective.total) : r.objective.total;
  }
  if (r.bound) {
    r.gap =
        std::max(0.0, r.objective.total - *r.bound) / std::max(1.0, std::abs(r.objective.total));
  }
}

// True when `a` is a better answer than `b`: fewer nodes first for gpus requests, then objective.
bool Better(const PreparedRequest& p, const PlacementResult& a, const PlacementResult& b) {
  if (!Feasible(a)) return false;
  if (!Feasible(b)) return true;
  if (p.request->gpus && a.nodes.size() != b.nodes.size()) return a.nodes.size() < b.nodes.size();
  return a.objective.total < b.objective.total - 1e-9;
}

// The backends "auto" composes, chosen by capabilities: a quick search first, then an exact one
// warm-started from it. Either may be absent from the registry; under keep_current only backends
// that honour it take part.
struct AutoPlan {
  const Backend* quick = nullptr;
  const Backend* exact = nullptr;
};

AutoPlan PlanAuto(const BackendRegistry& registry, const PreparedRequest& p) {
  AutoPlan plan;
  for (const Backend* b : registry.All()) {
    const BackendCapabilities c = b->capabilities();
    if (p.keep_current && !c.honours_keep_current) continue;
    if (c.exact) {
      // An exact backend that improves a warm start is preferred over one that starts afresh.
      if (plan.exact == nullptr ||
          (c.uses_warm_start && !plan.exact->capabilities().uses_warm_start)) {
        plan.exact = b;
      }
    } else if (plan.quick == nullptr) {
      plan.quick = b;
    }
  }
  return plan;
}

std::string AutoName(const Backend* first, const Backend* second) {
  std::string name = "auto(";
  if (first != nullptr) name += first->name();
  if (first != nullptr && second != nullptr) name += "+";
  if (second != nullptr) name += second->name();
  return name + ")";
}

// Quick search first; the exact backend, warm-started from it, proves or improves within the time
// budget. Nothing is claimed beyond what one of them, or ProveInfeasible(), proved.
PlacementResult SolveAuto(const PreparedRequest& p, const SolveOptions& options) {
  const auto start = Clock::now();
  const AutoPlan plan = PlanAuto(*options.backends, p);
  PlacementResult h;
  if (plan.quick != nullptr) {
    h = plan.quick->Solve(p, options, nullptr);
    // An answer that breaks the prepared constraints is a backend bug; never pass it on.
    if (Feasible(h) && !CheckPrepared(p, h.nodes).empty()) h.status = SolveStatus::kNoSolutionFound;
    Normalize(p, h);
  } else {
    h.status = SolveStatus::kNoSolutionFound;
  }
  h.backend = AutoName(plan.quick, nullptr);
  // Settled without the exact search: proven optimal, or proven infeasible by a cheap relaxation.
  if (h.status == SolveStatus::kOptimal) return h;
  if (!Feasible(h) && ProveInfeasible(p)) {
    h.status = SolveStatus::kInfeasible;
    return h;
  }
  if (plan.exact == nullptr) {
    // Nothing can prove more: a placement stays feasible, a miss stays undecided.
    h.status = Feasible(h) ? SolveStatus::kFeasible : SolveStatus::kNoSolutionFound;
    return h;
  }

  SolveOptions exact_options = options;
  exact_options.time_limit_seconds =
      std::max(0.05, options.time_limit_seconds - MillisSince(start) / 1000);
  PlacementResult e = plan.exact->Solve(p, exact_options, Feasible(h) ? &h : nullptr);
  if (Feasible(e) && !CheckPrepared(p, e.nodes).empty()) e.status = SolveStatus::kNoSolutionFound;
  Normalize(p, e);

  PlacementResult out;
  switch (e.status) {
    case SolveStatus::kOptimal:
      out = Better(p, h, e) ? h : e;  // equal objectives: the exact proof covers both
      out.status = SolveStatus::kOptimal;
      out.bound = e.bound;
      break;
    case SolveStatus::kInfeasible:
      // The quick answer passed the prepared checks, so a claimed infeasibility cannot stand.
      out = Feasible(h) ? h : e;
      if (Feasible(h)) out.status = SolveStatus::kFeasible;
      break;
    case SolveStatus::kFeasible:
    case SolveStatus::kNoSolutionFound:
    case SolveStatus::kTimeout:
      out = Better(p, e, h) ? e : h;
      if (Feasible(out)) {
        out.status = SolveStatus::kFeasible;
        if (h.bound || e.bound)
          out.bound = std::max(h.bound.value_or(-1e300), e.bound.value_or(-1e300));
      } else {
        // Undecided either way; the exact backend says whether its clock ran out.
        out.status = e.status == SolveStatus::kTimeout ? SolveStatus::kTimeout
                                                       : SolveStatus::kNoSolutionFound;
      }
      break;
  }
  Normalize(p, out);
  out.backend = AutoName(plan.quick, plan.exact);
  return out;
}

PlacementResult SolveOne(const PlacementProblem& problem, const Request& request,
                         const SolveOptions& options, const Backend* backend) {
  const auto start = Clock::now();
  PreparedRequest p = Prepare(problem, request, options);
  PlacementResult r;
  if (backend == nullptr) {
    r = SolveAuto(p, options);
  } else {
    r = backend->Solve(p, options, nullptr);
    Normalize(p, r);
    r.backend = std::string(backend->name());
  }
  r.request = request.name;
  r.solve_ms = MillisSince(start);
  if (r.status == SolveStatus::kInfeasible && options.explain) {
    r.explanation = Explain(problem, request, options);
  }
  return r;
}

// Resolves options.backend against options.backends: null for "auto", else the registered backend.
Result<const Backend*> ResolveBackend(const SolveOptions& options) {
  if (options.backends == nullptr) return InvalidArgumentError("no backend registry to solve with");
  if (options.backend == kAutoBackend) return static_cast<const Backend*>(nullptr);
  if (const Backend* b = options.backends->Find(options.backend)) return b;
  std::string expected;
  for (const std::string& name : options.backends->Choices())
    expected += (expected.empty() ? "" : ", ") + name;
  Status st = InvalidArgumentError("unknown backend " + Quoted(options.backend) +
                                   "; expected one of " + expected);
  st.SetReason("unknown_backend");
  return st;
}

Status CheckCall(const PlacementProblem& problem, const std::vector<Request>& requests,
                 const SolveOptions& options) {
  if (problem.snapshot == nullptr)
    return InvalidArgumentError("no inventory snapshot to solve against");
  if (!(options.time_limit_seconds > 0)) {
    return InvalidArgumentError("timeLimitSeconds must be positive");
  }
  const ObjectiveWeights& w = options.weights;
  for (double x : {w.cost, w.domains, w.domains_above, w.fragmentation, w.moves}) {
    if (!(x >= 0) || !std::isfinite(x)) {
      return InvalidArgumentError("objective weights must be finite and non-negative");
    }
  }
  if (options.requests_validated) return Status::Ok();  // the caller did, once
  Status out = Status::Ok();
  std::vector<std::string> messages;
  std::vector<ErrorDetail> details;
  for (const Request& r : requests) {
    Status st = ValidateRequest(problem, r);
    if (st.ok()) continue;
    if (messages.empty()) out = st;  // its reason
    messages.insert(messages.end(), st.messages().begin(), st.messages().end());
    details.insert(details.end(), st.details().begin(), st.details().end());
  }
  if (messages.empty()) return Status::Ok();
  Status st(StatusCode::kInvalidArgument, std::move(messages));
  st.SetReason(out.reason());
  for (ErrorDetail& d : details) st.AddDetail(std::move(d));
  return st;
}

}  // namespace

std::string_view SolveStatusName(SolveStatus s) {
  switch (s) {
    case SolveStatus::kOptimal: return "optimal";
    case SolveStatus::kFeasible: return "feasible";
    case SolveStatus::kInfeasible: return "infeasible";
    case SolveStatus::kNoSolutionFound: return "noSolutionFound";
    case SolveStatus::kTimeout: return "timeout";
  }
  return "infeasible";
}

namespace {

Status CheckRequest(const PlacementProblem& problem, const Request& request, bool fields) {
  std::vector<std::string> messages;
  std::vector<ErrorDetail> details;
  auto fail = [&](std::string path, std::string code, const std::string& what) {
    messages.push_back("request " + Quoted(request.name) + ": " + path + ": " + what);
    details.push_back({std::move(path), std::move(code), what});
  };
  if (fields) {
    for (ErrorDetail& d : ValidateRequestFields(request)) fail(d.path, d.code, d.message);
  }
  const Tenant* tenant = FindTenant(problem, request.tenant);
  if (!problem.tenants.empty() && tenant == nullptr) {
    fail("tenant", "unknown_tenant", "unknown tenant " + Quoted(request.tenant));
  }
  if (problem.snapshot != nullptr) {
    const Inventory& inv = problem.snapshot->inventory;
    for (size_t i = 0; i < request.select.classes.size(); ++i) {
      const std::string& c = request.select.classes[i];
      if (inv.ClassIndex(c) >= 0) continue;
      std::string known;
      for (const NodeClass& k : inv.node_classes) known += (known.empty() ? "" : ", ") + k.name;
      fail("select.class[" + std::to_string(i) + "]", "unknown_class",
           "unknown node class " + Quoted(c) + "; expected one of " + known);
    }
  }
  if (tenant != nullptr) {
    for (size_t i = 0; i < request.compliance.size(); ++i) {
      const std::string& item = request.compliance[i];
      if (std::find(tenant->compliance.begin(), tenant->compliance.end(), item) !=
          tenant->compliance.end())
        continue;
      fail("compliance[" + std::to_string(i) + "]", "compliance_not_allowed",
           "tenant " + Quoted(tenant->name) + " may not ask for " + Quoted(item));
    }
  }
  if (messages.empty()) return Status::Ok();
  Status st(StatusCode::kInvalidArgument, std::move(messages));
  st.SetReason(details.front().code);
  for (ErrorDetail& d : details) st.AddDetail(std::move(d));
  return st;
}

}  // namespace

Status ValidateRequest(const PlacementProblem& problem, const Request& request) {
  return CheckRequest(problem, request, true);
}

Status ValidateRequestAgainst(const PlacementProblem& problem, const Request& request) {
  return CheckRequest(problem, request, false);
}

Result<std::vector<PlacementResult>> Solve(const PlacementProblem& problem,
                                           const std::vector<Request>& requests,
                                           const SolveOptions& options) {
  Status st = CheckCall(problem, requests, options);
  if (!st.ok()) return st;
  Result<const Backend*> backend = ResolveBackend(options);
  if (!backend.ok()) return backend.status();
  std::vector<PlacementResult> results;
  results.reserve(requests.size());
  for (const Request& r : requests) results.push_back(SolveOne(problem, r, options, *backend));
  return results;
}

Result<std::vector<PlacementResult>> SolveBatch(const PlacementProblem& problem,
                                                const std::vector<Request>& requests,
                                                const SolveOptions& options) {
  Status st = CheckCall(problem, requests, options);
  if (!st.ok()) return st;
  Result<const Backend*> backend = ResolveBackend(options);
  if (!backend.ok()) return backend.status();

  std::vector<size_t> order(requests.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return requests[a].priority > requests[b].priority; });

  std::vector<PlacementResult> results(requests.size());
  PlacementProblem state = problem;
  for (size_t i : order) {
    PlacementResult r = SolveOne(state, requests[i], options, *backend);
    if (Feasible(r) && !r.nodes.empty()) {
      // The placed nodes become the tenant's: unavailable to later requests and counted against
      // its quota and budget. Only node states change; inventory and topology are shared.
      NodeStates states = state.snapshot->states;
      for (int node : r.nodes) states.Allocate(node, requests[i].tenant, requests[i].exclusive);
      state.snapshot = state.snapshot->WithStates(std::move(states));
    }
    results[i] = std::move(r);
  }
  return results;
}

}  // namespace topoplace
