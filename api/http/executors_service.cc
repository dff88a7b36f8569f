#include "api/http/executors_service.h"

#include <algorithm>

#include "api/http/service.h"
#include "api/request_json.h"
#include "executors/plan_builder.h"
#include "solver/repair.h"

namespace topoplace {
namespace {

const Actor kRunner{"runner", "system", ""};

int64_t Now() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

Result<std::unique_ptr<ServiceExecutors>> ServiceExecutors::Create(
    Service& service, const ExecutorSettings& settings, const DriverRegistry& registry) {
  Result<RunnerDrivers> drivers = MakeRunnerDrivers(registry, settings);
  if (!drivers.ok()) return drivers.status();
  std::unique_ptr<ServiceExecutors> e(new ServiceExecutors(service));
  e->runner_ = std::make_unique<PlanRunner>(*e, std::move(drivers).value(), settings);
  return e;
}

ServiceExecutors::~ServiceExecutors() { Stop(); }

Status ServiceExecutors::Start() { return runner_->Start(); }
void ServiceExecutors::Stop() {
  if (runner_) runner_->Stop();
}

Result<Plan> ServiceExecutors::BuildPlan(const Inventory& inventory, const std::string& purpose,
                                         const std::string& project,
                                         const std::vector<std::string>& nodes) const {
  Result<Plan> plan = BuildDeployPlan(inventory, "", "", purpose, nodes, runner_->drivers());
  if (!plan.ok()) return plan.status();
  plan->project = project;
  plan->milestones.push_back({"requested", Now()});
  plan->milestones.push_back({"assigned-to-tenant", Now()});
  return plan;
}

Result<bool> ServiceExecutors::TeardownAllocation(const std::string& allocation_id) {
  Result<Plan> plan = service_.store().PlanOfAllocation(allocation_id);
  if (!plan.ok()) {
    if (plan.status().code() == StatusCode::kNotFound) return false;
    return plan.status();
  }
  if (Status s = runner_->Teardown(*plan); !s.ok()) return s;
  return true;
}

std::shared_ptr<const Inventory> ServiceExecutors::CurrentInventory() {
  Result<std::shared_ptr<const View>> view = service_.CurrentView();
  if (!view.ok()) return nullptr;
  std::shared_ptr<const View> v = *view;
  // Keeps the view (and with it the snapshot) alive as long as the inventory is used.
  return std::shared_ptr<const Inventory>(v, &v->snapshot->inventory);
}

Status ServiceExecutors::SaveStep(const Plan& plan, const PlanStep& step) {
  return service_.store().SaveStep(plan.id, step, kRunner);
}

Status ServiceExecutors::SavePlanHeader(const Plan& plan) {
  return service_.store().SavePlanHeader(plan, kRunner);
}

Result<std::vector<Plan>> ServiceExecutors::UnfinishedPlans() {
  return service_.store().ListPlans("", true);
}

Result<TenantNetwork> ServiceExecutors::AcquireNetwork(const Plan& plan,
                                                       const NetworkPolicy& policy,
                                                       const std::vector<NodeAddress>& wanted) {
  // One network per tenant project, reused while it has nodes.
  return service_.store().AcquireNetwork(plan.tenant, NetworkKey(plan), policy, wanted, kRunner);
}

Result<TenantNetwork> ServiceExecutors::GetNetwork(const std::string& id) {
  return service_.store().GetNetwork(id);
}

Status ServiceExecutors::ReleaseAddresses(const std::string& network,
                                          const std::vector<std::string>& nodes) {
  return service_.store().ReleaseAddresses(network, nodes, kRunner);
}

Result<bool> ServiceExecutors::FreeNetworkIfEmpty(const std::string& network) {
  return service_.store().FreeNetworkIfEmpty(network, kRunner);
}

Result<std::string> ServiceExecutors::ReplaceNode(const Plan& plan, const std::string& node,
                                                  const std::string& why) {
  Result<AllocationRecord> alloc = service_.store().GetAllocation(plan.allocation, "");
  if (!alloc.ok()) return alloc.status();
  Result<std::shared_ptr<const View>> view = service_.CurrentView();
  if (!view.ok()) return view.status();
  const Snapshot& snap = *(*view)->snapshot;
  const Inventory& inv = snap.inventory;
  const int lost = inv.NodeIndex(node);
  if (lost < 0) return NotFoundError("node " + node + " is not in the inventory");

  // The problem as the repair sees it: the failed node out of the pool and no longer the
  // tenant's (its resources return to the quota), every other node as the store has it.
  NodeStates states = snap.states;
  states.Set(lost, NodeState::kFailed, "", std::nullopt);
  PlacementProblem problem{snap.WithStates(std::move(states)), (*view)->tenants};

  RepairCase rc;
  rc.allocation = alloc->id;
  rc.tenant = alloc->tenant;
  for (const HeldNode& h : alloc->nodes) {
    const int i = inv.NodeIndex(h.node);
    if (i >= 0 && i != lost) rc.kept.push_back(i);
  }
  std::sort(rc.kept.begin(), rc.kept.end());
  const Node& n = inv.nodes[lost];
  LostNode ln;
  ln.name = n.name;
  ln.node_class = n.node_class;
  ln.rack = n.rack;
  ln.leaf = n.leaf;
  ln.pod = inv.PodOf(n);
  rc.lost.push_back(ln);
  if (!alloc->request.empty()) {
    std::vector<BodyError> errors;
    nlohmann::json body = ParseJsonBody(alloc->request, errors);
    if (errors.empty()) {
      DecodedRequest decoded = DecodeRequestJson(body);
      if (decoded.errors.empty()) {
        decoded.request.name = alloc->name;
        decoded.request.tenant = alloc->tenant;
        rc.request = decoded.request;
      }
    }
  }
  RepairOptions options;
  options.solve.time_limit_seconds = std::min(service_.args().time_limit_seconds, 5.0);
  options.explain = false;
  options.relocate = false;
  Result<std::vector<AllocationRepair>> repairs = RepairAllocations(problem, {rc}, options);
  if (!repairs.ok()) return repairs.status();
  if (repairs->empty() || !repairs->front().repaired || repairs->front().replacements.empty()) {
    std::string reason = repairs->empty() ? "no repair was found" : repairs->front().reason;
    return FailedPreconditionError("no node can replace " + node + ": " + reason);
  }
  const int pick = repairs->front().replacements.front();
  const std::string replacement = inv.nodes[pick].name;
  // Its rack and leaf: the store re-checks there, under lock, that no domain another tenant
  // keeps to itself is shared.
  const std::vector<NeighbourNode> neighbours = NeighboursOf(snap, {pick});
  Result<AllocationRecord> swapped = service_.store().ReplaceAllocationNode(
      alloc->id, node, NodeClaim{replacement, snap.states.generation(pick), "replacement"},
      neighbours, why, kRunner, Now());
  if (!swapped.ok()) return swapped.status();
  return replacement;
}

void ServiceExecutors::PlanFinished(const Plan& plan) {
  if (plan.status != PlanStatus::kDeleted) return;
  // A deleted cluster's nodes go back to the pool only now that they are off and quarantined.
  Result<AllocationRecord> released =
      service_.store().Release(plan.allocation, "", kRunner, Now());
  (void)released;  // already released (the allocation was released first): nothing to do
}

std::string ServiceExecutors::RenderMetrics() {
  std::string out;
  RunnerMetrics m = runner_->Metrics();
  out += "# HELP topoplace_plan_steps_total Plan step attempts by driver and outcome.\n";
  out += "# TYPE topoplace_plan_steps_total counter\n";
  for (const auto& [key, v] : m) {
    out += "topoplace_plan_steps_total{driver=\"" + MetricLabel(key.first) + "\",outcome=\"" +
           MetricLabel(key.second) + "\"} " + std::to_string(v.count) + "\n";
  }
  out += "# HELP topoplace_plan_step_seconds_total Seconds spent in plan steps by driver and "
         "outcome.\n";
  out += "# TYPE topoplace_plan_step_seconds_total counter\n";
  for (const auto& [key, v] : m) {
    out += "topoplace_plan_step_seconds_total{driver=\"" + MetricLabel(key.first) +
           "\",outcome=\"" + MetricLabel(key.second) + "\"} " + std::to_string(v.seconds) + "\n";
  }
  const auto [runner_seconds, driver_seconds] = runner_->OverheadSeconds();
  out += "# HELP topoplace_runner_seconds_total Seconds the plan runner spent on its own work "
         "(scheduling, journal writes), beside the drivers' time.\n";
  out += "# TYPE topoplace_runner_seconds_total counter\n";
  out += "topoplace_runner_seconds_total{part=\"runner\"} " + std::to_string(runner_seconds) +
         "\n";
  out += "topoplace_runner_seconds_total{part=\"drivers\"} " + std::to_string(driver_seconds) +
         "\n";
  return out;
}

}  // namespace topoplace
