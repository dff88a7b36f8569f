// The plan runner: carries plans out step by step, persisting every transition, in a bounded pool.
//
// A step is ready when the steps it waits for are done (for a teardown step: finished in any way)
// and no step of the same node in the other phase is running. Ready steps run on `parallelism`
// worker threads, so one slow BMC holds only its own node. Each transition (running, done, failed,
// compensated) is written through the PlanHost before the runner goes on, so after a `kill -9`
// `Start()` resumes every unfinished plan where the journal says it was: a step found `running`
// runs again, which is harmless because every driver call is idempotent.
//
// Failures: a step that fails is retried after backoffSeconds * 2^(attempt-1) until `attempts`
// tries; `wait-lease` polls until bootTimeoutSeconds after the power-on instead. A node whose
// deploy step fails for good is replaced (PlanHost::ReplaceNode: the solver's fewest-moves answer
// under the same request, swapped into the allocation); its effects are undone best effort, the
// new node's steps are added and the plan goes on. Without a replacement the plan fails: pending
// steps are not run, teardown steps undo every node and the network (compensation), done deploy
// steps become `compensated`, and the plan ends FAILED naming the step and its last log line.
// Deleting a plan (Teardown) runs the same teardown steps and ends DELETED.
//
// Thread safety: all public methods are safe from any thread.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "executors/drivers.h"
#include "executors/plan_builder.h"
#include "model/entities.h"
#include "model/executor_settings.h"
#include "model/plan.h"
#include "model/status.h"

namespace topoplace {

// What the runner needs from the service: the inventory, the journal, IPAM and replacements.
// Implemented over the store in api/; in memory in the runner's unit tests.
class PlanHost {
 public:
  virtual ~PlanHost() = default;
  virtual std::shared_ptr<const Inventory> CurrentInventory() = 0;
  virtual Status SaveStep(const Plan& plan, const PlanStep& step) = 0;
  virtual Status SavePlanHeader(const Plan& plan) = 0;
  virtual Result<std::vector<Plan>> UnfinishedPlans() = 0;
  // The plan tenant's network with an address for each wanted node (idempotent; see Store).
  virtual Result<TenantNetwork> AcquireNetwork(const Plan& plan, const NetworkPolicy& policy,
                                               const std::vector<NodeAddress>& wanted) = 0;
  virtual Result<TenantNetwork> GetNetwork(const std::string& id) = 0;
  virtual Status ReleaseAddresses(const std::string& network,
                                  const std::vector<std::string>& nodes) = 0;
  virtual Result<bool> FreeNetworkIfEmpty(const std::string& network) = 0;
  // A node for `node`, failed for good, swapped into the plan's allocation; an error when none.
  virtual Result<std::string> ReplaceNode(const Plan& plan, const std::string& node,
                                          const std::string& why) = 0;
  // After a plan reached READY, FAILED or DELETED.
  virtual void PlanFinished(const Plan& plan) { (void)plan; }
};

// One driver instance per configured name and layer.
struct RunnerDrivers {
  std::map<std::string, std::unique_ptr<BmcDriver>> bmc;
  std::map<std::string, std::unique_ptr<L2Driver>> l2;
  std::map<std::string, std::unique_ptr<L3Driver>> l3;
  std::map<std::string, std::unique_ptr<ClusterDriver>> cluster;
};

// Makes every driver the settings configure (layers bmc, l2, l3, and cluster: the settings'
// `slurm:` options make the cluster driver "slurm", `cluster:` names any other) from the registry.
Result<RunnerDrivers> MakeRunnerDrivers(const DriverRegistry& registry,
                                        const ExecutorSettings& settings);

// Counts and seconds of step attempts, by driver and outcome ("done", "retried", "failed").
struct StepMetric {
  int64_t count = 0;
  double seconds = 0;
};
using RunnerMetrics = std::map<std::pair<std::string, std::string>, StepMetric>;

class PlanRunner {
 public:
  PlanRunner(PlanHost& host, RunnerDrivers drivers, ExecutorSettings settings);
  ~PlanRunner();
  PlanRunner(const PlanRunner&) = delete;
  PlanRunner& operator=(const PlanRunner&) = delete;

  // Loads the unfinished plans from the host and starts the threads.
  Status Start();
  // Stops the threads after the running steps return; plans stay as persisted.
  void Stop();

  // Runs a plan the host has already persisted (it has an id).
  Status Submit(Plan plan);
  // Tears a plan down: stops its deploy, undoes every effect, ends DELETED. `plan` is the
  // persisted plan (used when the runner does not hold it any more, e.g. a READY plan).
  Status Teardown(const Plan& plan);

  // The l3 driver plans use (the first configured), for building plans.
  DriverChoice drivers() const;
  // True when no plan is active (tests and shutdown).
  bool Idle();
  RunnerMetrics Metrics();
  // The runner's own time (scheduling and journal writes) against the drivers' time, seconds.
  std::pair<double, double> OverheadSeconds();

 private:
  struct Work {  // in-memory bookkeeping of one step beside its persisted form
    int64_t not_before_ms = 0;
    bool dispatched = false;
  };
  struct Active {
    Plan plan;
    std::map<std::string, Work> work;  // by step id
    TenantNetwork network;             // cached once allocated
    bool failing = false;              // compensating after a failure
  };

  void SchedulerLoop();
  void WorkerLoop();
  void ScheduleLocked(Active& a, std::vector<std::pair<std::string, std::string>>& ready);
  bool StepReadyLocked(const Active& a, const PlanStep& s) const;
  // What a step's run tells the runner beside its status.
  struct Outcome {
    TenantNetwork network;                // the plan's network after the step
    bool not_yet = false;                 // a wait step: poll again
    std::optional<ClusterAccess> access;  // a hand-over step: how the tenant reaches the cluster
  };
  Status Execute(const Plan& plan, const TenantNetwork& network, const PlanStep& step,
                 Outcome& out);
  Status ExecuteCluster(const Plan& plan, const Inventory& inv, const Node* node,
                        const PlanStep& step, Outcome& out);
  void Finish(const std::string& plan_id, const std::string& step_id, const Status& result,
              const Outcome& out, bool network_changed, double seconds);
  void MilestonesLocked(Active& a);
  void FailPlanLocked(Active& a, const PlanStep& failed);
  void StartTeardownLocked(Active& a, const std::vector<std::string>& nodes, bool free_network);
  void CheckDoneLocked(Active& a);
  void SaveLocked(Active& a, PlanStep& s);
  void SaveHeaderLocked(Active& a);
  void MilestoneLocked(Active& a, const std::string& name);
  bool BestEffortLocked(const Active& a, const PlanStep& s) const;
  PlanStep* FindStep(Active& a, const std::string& id);
  std::mutex& NetworkLock(const std::string& key);  // serialises a tenant network's changes

  PlanHost& host_;
  RunnerDrivers drivers_;
  ExecutorSettings settings_;
  std::mutex mu_;
  std::condition_variable wake_scheduler_;
  std::condition_variable wake_workers_;
  std::map<std::string, Active> active_;  // by plan id
  std::deque<std::pair<std::string, std::string>> queue_;  // (plan, step) ready to run
  std::map<std::string, std::mutex> network_locks_;        // by tenant network key
  RunnerMetrics metrics_;
  double driver_seconds_ = 0, runner_seconds_ = 0;
  bool stopping_ = false;
  bool started_ = false;
  std::thread scheduler_;
  std::vector<std::thread> workers_;
};

}  // namespace topoplace
