// The executors inside `topoplace serve`: the plan runner over the store, and how the service's
// clusters and allocations start and stop plans (DESIGN.md section 6).
//
// ServiceExecutors is the runner's PlanHost: it journals steps and plan headers in the store,
// hands out tenant networks through the store's IPAM, reads the inventory from the service's
// view, and replaces a node that failed for good with the repair solver's fewest-moves answer
// under the allocation's recorded request, swapped into the allocation by the store (audited,
// quota and exclusivity rechecked). When a torn-down plan ends DELETED its allocation is released.
//
// Thread safety: every method may be called from the runner's and the server's threads at once.
#pragma once

#include <memory>
#include <string>

#include "executors/runner.h"
#include "model/executor_settings.h"

namespace topoplace {

class Service;

class ServiceExecutors : public PlanHost {
 public:
  // Makes every configured driver; kInvalidArgument naming a driver or option that is not known.
  static Result<std::unique_ptr<ServiceExecutors>> Create(Service& service,
                                                          const ExecutorSettings& settings,
                                                          const DriverRegistry& registry);
  ~ServiceExecutors() override;

  // Resumes every unfinished plan and starts the runner's threads.
  Status Start();
  void Stop();

  // Builds and runs the plan of a new cluster's allocation; the plan is the one CreateCluster
  // recorded in the same transaction.
  Result<Plan> BuildPlan(const Inventory& inventory, const std::string& purpose,
                         const std::string& project,
                         const std::vector<std::string>& nodes) const;
  Status Run(const Plan& plan) { return runner_->Submit(plan); }
  // Tears down the plan carrying out an allocation (if any); false when there is none.
  Result<bool> TeardownAllocation(const std::string& allocation_id);

  PlanRunner& runner() { return *runner_; }
  // Prometheus families: step counts and seconds by driver and outcome.
  std::string RenderMetrics();

  // PlanHost.
  std::shared_ptr<const Inventory> CurrentInventory() override;
  Status SaveStep(const Plan& plan, const PlanStep& step) override;
  Status SavePlanHeader(const Plan& plan) override;
  Result<std::vector<Plan>> UnfinishedPlans() override;
  Result<TenantNetwork> AcquireNetwork(const Plan& plan, const NetworkPolicy& policy,
                                       const std::vector<NodeAddress>& wanted) override;
  Result<TenantNetwork> GetNetwork(const std::string& id) override;
  Status ReleaseAddresses(const std::string& network, const std::vector<std::string>& nodes) override;
  Result<bool> FreeNetworkIfEmpty(const std::string& network) override;
  Result<std::string> ReplaceNode(const Plan& plan, const std::string& node,
                                  const std::string& why) override;
  void PlanFinished(const Plan& plan) override;

 private:
  explicit ServiceExecutors(Service& service) : service_(service) {}
  Service& service_;
  std::unique_ptr<PlanRunner> runner_;
};

}  // namespace topoplace
