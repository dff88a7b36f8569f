// The public entry: validation once, then the named backend or the "auto" composition (heuristic,
// then the ILP warm-started from it), explanations for infeasible requests, and batch solves.
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

bool Feasible(const PlacementResult& r) {
  return r.status == SolveStatus::kOptimal || r.status == SolveStatus::kFeasible;
}

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

// Heuristic first; the ILP, warm-started from it, proves or improves within the time budget.
PlacementResult SolveAuto(const PreparedRequest& p, const SolveOptions& options) {
  const auto start = Clock::now();
  const BackendRegistry& registry = BuiltinBackends();
  const Backend* heuristic = registry.Find("heuristic");
  const Backend* ilp = registry.Find("ilp");
  PlacementResult h;
  if (heuristic != nullptr) {
    h = heuristic->Solve(p, options, nullptr);
    Normalize(p, h);
  } else {
    h.status = SolveStatus::kTimeout;
  }
  h.backend = "auto(heuristic)";
  // Settled without the ILP: proven optimal, or proven infeasible by a cheap relaxation.
  if (h.status == SolveStatus::kOptimal) return h;
  if (!Feasible(h) && ProveInfeasible(p)) {
    h.status = SolveStatus::kInfeasible;
    return h;
  }
  if (ilp == nullptr) {
    if (!Feasible(h)) h.status = SolveStatus::kTimeout;  // unknown: nothing proves infeasibility
    if (Feasible(h)) h.status = SolveStatus::kFeasible;
    return h;
  }

  SolveOptions ilp_options = options;
  ilp_options.time_limit_seconds =
      std::max(0.05, options.time_limit_seconds - MillisSince(start) / 1000);
  PlacementResult e = ilp->Solve(p, ilp_options, Feasible(h) ? &h : nullptr);
  // An answer that breaks the prepared constraints is a backend bug; never pass it on.
  if (Feasible(e) && !CheckPrepared(p, e.nodes).empty()) e.status = SolveStatus::kTimeout;
  Normalize(p, e);

  PlacementResult out;
  switch (e.status) {
    case SolveStatus::kOptimal:
      out = Better(p, h, e) ? h : e;  // equal objectives: the ILP's proof covers both
      out.status = SolveStatus::kOptimal;
      out.bound = e.bound;
      break;
    case SolveStatus::kInfeasible:
      // The heuristic's answer passed the prepared checks, so a claimed infeasibility cannot stand.
      out = Feasible(h) ? h : e;
      if (Feasible(h)) out.status = SolveStatus::kFeasible;
      break;
    case SolveStatus::kFeasible:
    case SolveStatus::kTimeout:
      out = Better(p, e, h) ? e : h;
      if (Feasible(out)) {
        out.status = SolveStatus::kFeasible;
        if (h.bound || e.bound)
          out.bound = std::max(h.bound.value_or(-1e300), e.bound.value_or(-1e300));
      } else {
        out.status = SolveStatus::kTimeout;
      }
      break;
  }
  Normalize(p, out);
  out.backend = "auto(heuristic+ilp)";
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

// Resolves options.backend: null for "auto", else the registered backend.
Result<const Backend*> ResolveBackend(const SolveOptions& options) {
  if (options.backend == "auto") return static_cast<const Backend*>(nullptr);
  if (options.backend == "heuristic" || options.backend == "ilp") {
    const Backend* b = BuiltinBackends().Find(options.backend);
    if (b == nullptr) {
      return InvalidArgumentError("backend " + Quoted(options.backend) +
                                  " is not built into this solver");
    }
    return b;
  }
  return InvalidArgumentError("unknown backend " + Quoted(options.backend) +
                              "; expected one of heuristic, ilp, auto");
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
