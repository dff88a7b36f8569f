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
  if (request.preemption && !Feasible(r)) {
    r = SolvePreempting(problem, request, options, backend, std::move(r));
  } else if (r.status == SolveStatus::kInfeasible && options.explain) {
    r.explanation = Explain(problem, request, options);
  }
  r.solve_ms = MillisSince(start);
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

// The placed nodes become the tenant's: unavailable to later requests and counted against its
// quota, its project's quota and its budget. Only node states change; inventory and topology are
// shared.
void TakeNodes(PlacementProblem& state, const Request& request, std::span<const int> nodes) {
  NodeStates states = state.snapshot->states;
  for (int node : nodes) states.Allocate(node, request.tenant, request.exclusive);
  state.snapshot = state.snapshot->WithStates(std::move(states));
  AddProjectUsage(state.project_usage, state.snapshot->inventory, request.tenant, request.project,
                  nodes);
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
  if (tenant != nullptr && !HasProject(*tenant, request.project)) {
    std::string known;
    for (const std::string& p : ProjectNames(*tenant)) known += (known.empty() ? "" : ", ") + p;
    fail("project", "unknown_project",
         "project " + Quoted(request.project) + " is not a project of tenant " +
             Quoted(tenant->name) + "; expected one of " + known);
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
  if (request.preemption && request.preemption->scope == PreemptionScope::kAll &&
      !problem.preempt_across_tenants) {
    fail("preemption.scope", "preemption_not_allowed",
         "scope all evicts other tenants' allocations, which the provider does not allow here; "
         "expected scope tenant (or the provider's policy preemptAcrossTenants: true)");
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
    if (Feasible(r) && !r.evictions.empty()) {
      std::vector<std::string> evicted;
      for (const Eviction& e : r.evictions) evicted.push_back(e.allocation);
      state = AfterEvictions(state, evicted);
    }
    if (Feasible(r) && !r.nodes.empty()) TakeNodes(state, requests[i], r.nodes);
    results[i] = std::move(r);
  }
  return results;
}

namespace {

// Sets that are placed in every order when one fails: 4 sets have 24 orders.
constexpr size_t kMaxOrderedSets = 4;

// One pass over the sets in `order`, each solved against the problem with the sets before it
// taken; stops at the first set that does not fit.
struct TemplatePass {
  std::vector<PlacementResult> results;  // by set index; filled up to the failed set
  int failed = -1;
  PlacementProblem state_at_failure;  // what the failed set was solved against
};

TemplatePass PlaceInOrder(const PlacementProblem& problem, const std::vector<Request>& requests,
                          const std::vector<int>& order, const SolveOptions& options,
                          const Backend* backend) {
  TemplatePass pass;
  pass.results.resize(requests.size());
  PlacementProblem state = problem;
  for (int i : order) {
    PlacementResult r = SolveOne(state, requests[i], options, backend);
    if (!Feasible(r)) {
      pass.failed = i;
      pass.results[i] = std::move(r);
      pass.state_at_failure = std::move(state);
      return pass;
    }
    TakeNodes(state, requests[i], r.nodes);
    pass.results[i] = std::move(r);
  }
  return pass;
}

}  // namespace

Result<TemplateResult> SolveTemplate(const PlacementProblem& problem,
                                     const ClusterTemplate& cluster_template,
                                     const std::string& cluster, const std::string& tenant,
                                     const std::string& project, const SolveOptions& options) {
  if (cluster_template.node_sets.empty()) {
    return InvalidArgumentError("cluster template " + Quoted(cluster_template.name) +
                                " has no node sets");
  }
  const std::vector<Request> requests = ExpandTemplate(cluster_template, cluster, tenant, project);
  Status st = CheckCall(problem, requests, options);
  if (!st.ok()) return st;
  Result<const Backend*> backend = ResolveBackend(options);
  if (!backend.ok()) return backend.status();
  SolveOptions quiet = options;
  quiet.explain = false;  // explained once, below, for the set that decides
  quiet.requests_validated = true;

  const int n = static_cast<int>(requests.size());
  // Most constrained first: the largest sets, then the template's order.
  std::vector<int> first(n);
  std::iota(first.begin(), first.end(), 0);
  std::stable_sort(first.begin(), first.end(),
                   [&](int a, int b) { return *requests[a].nodes > *requests[b].nodes; });

  TemplateResult out;
  TemplatePass pass = PlaceInOrder(problem, requests, first, quiet, *backend);
  const TemplatePass first_pass = pass;
  if (pass.failed >= 0 && requests.size() <= kMaxOrderedSets) {
    std::vector<int> positions(n);
    std::iota(positions.begin(), positions.end(), 0);
    while (pass.failed >= 0 && std::next_permutation(positions.begin(), positions.end())) {
      std::vector<int> order(n);
      for (int k = 0; k < n; ++k) order[k] = first[positions[k]];
      pass = PlaceInOrder(problem, requests, order, quiet, *backend);
      if (pass.failed < 0) first = order;
    }
  }
  if (pass.failed < 0) {
    out.status = SolveStatus::kFeasible;
    out.placement_order = first;
    for (PlacementResult& r : pass.results) {
      out.nodes.insert(out.nodes.end(), r.nodes.begin(), r.nodes.end());
      out.cost_per_hour += r.cost_per_hour;
    }
    std::sort(out.nodes.begin(), out.nodes.end());
    out.sets = std::move(pass.results);
    return out;
  }

  // Nothing is placed. Which set could not be, and whether that is proven: a set that has no
  // placement even alone, or sets whose sum the quota cannot hold, make the template infeasible.
  const int failed = first_pass.failed;
  out.failed_set = failed;
  SolveOptions explaining = quiet;
  explaining.explain = options.explain;
  PlacementResult alone = SolveOne(problem, requests[failed], explaining, *backend);
  PlacementResult decided;
  if (alone.status == SolveStatus::kInfeasible) {
    out.status = SolveStatus::kInfeasible;
    decided = std::move(alone);
  } else {
    int64_t total = 0;
    for (const Request& r : requests) total += *r.nodes;
    const Headroom h = Prepare(problem, requests[failed], quiet).headroom;
    decided = SolveOne(first_pass.state_at_failure, requests[failed], explaining, *backend);
    if (h.nodes && *h.nodes < total) {
      out.status = SolveStatus::kInfeasible;
    } else {
      out.status = decided.status == SolveStatus::kTimeout ? SolveStatus::kTimeout
                                                           : SolveStatus::kNoSolutionFound;
    }
  }
  if (decided.explanation) {
    decided.explanation->summary =
        "node set " + cluster_template.node_sets[failed].name + ": " + decided.explanation->summary;
  }
  out.explanation = decided.explanation;
  out.sets.resize(n);
  for (int i = 0; i < n; ++i) {
    if (i == failed) {
      out.sets[i] = decided;
    } else {
      out.sets[i].request = requests[i].name;
      out.sets[i].status = SolveStatus::kNoSolutionFound;
    }
  }
  return out;
}

}  // namespace topoplace
