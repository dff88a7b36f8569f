#include "executors/runner.h"

#include <algorithm>
#include <chrono>

namespace topoplace {
namespace {

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

double SteadySeconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

bool Finished(StepState s) {
  return s == StepState::kDone || s == StepState::kFailed || s == StepState::kCompensated;
}

std::string OneLine(std::string s) {
  for (char& c : s) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  if (s.size() > 400) s.resize(400);
  return s;
}

const NodeAddress* AddressOf(const TenantNetwork& net, const std::string& node) {
  for (const NodeAddress& a : net.addresses) {
    if (a.node == node) return &a;
  }
  return nullptr;
}

// The addresses a node wants: one per port (its first port carries the boot and the lease).
std::vector<NodeAddress> WantedAddresses(const Inventory& inv, const std::vector<std::string>& nodes) {
  std::vector<NodeAddress> out;
  for (const std::string& n : nodes) {
    int i = inv.NodeIndex(n);
    if (i < 0 || inv.nodes[i].ports.empty()) continue;
    const NodePort& p = inv.nodes[i].ports.front();
    out.push_back({n, p.name, p.mac, ""});
  }
  return out;
}

}  // namespace

Result<RunnerDrivers> MakeRunnerDrivers(const DriverRegistry& registry,
                                        const ExecutorSettings& settings) {
  RunnerDrivers d;
  auto layer = [&](const char* name) -> const std::map<std::string, DriverOptions>& {
    static const std::map<std::string, DriverOptions> kNone;
    auto it = settings.drivers.find(name);
    return it == settings.drivers.end() ? kNone : it->second;
  };
  for (const auto& [name, options] : layer("bmc")) {
    auto made = registry.MakeBmc(name, options);
    if (!made.ok()) return made.status();
    d.bmc[name] = std::move(*made);
  }
  for (const auto& [name, options] : layer("l2")) {
    auto made = registry.MakeL2(name, options);
    if (!made.ok()) return made.status();
    d.l2[name] = std::move(*made);
  }
  for (const auto& [name, options] : layer("l3")) {
    auto made = registry.MakeL3(name, options);
    if (!made.ok()) return made.status();
    d.l3[name] = std::move(*made);
  }
  for (const char* layer_name : {"slurm", "cluster"}) {
    for (const auto& [name, options] : layer(layer_name)) {
      auto made = registry.MakeCluster(name, options);
      if (!made.ok()) return made.status();
      d.cluster[name] = std::move(*made);
    }
  }
  return d;
}

PlanRunner::PlanRunner(PlanHost& host, RunnerDrivers drivers, ExecutorSettings settings)
    : host_(host), drivers_(std::move(drivers)), settings_(std::move(settings)) {}

PlanRunner::~PlanRunner() { Stop(); }

DriverChoice PlanRunner::drivers() const {
  DriverChoice c;
  if (!drivers_.l3.empty()) c.l3 = drivers_.l3.begin()->first;
  // Each purpose's hand-over: the driver of its name, else any other configured (a provider's own,
  // or a test's fake) for the purposes still without one.
  c.cluster.clear();
  if (drivers_.cluster.count("slurm")) c.cluster["slurm"] = "slurm";
  if (drivers_.cluster.count("hcp-manifests")) c.cluster["openshift"] = "hcp-manifests";
  for (const auto& [name, d] : drivers_.cluster) {
    for (const char* purpose : {"slurm", "openshift"}) {
      if (!c.cluster.count(purpose)) c.cluster[purpose] = name;
    }
  }
  return c;
}

Status PlanRunner::Start() {
  Result<std::vector<Plan>> unfinished = host_.UnfinishedPlans();
  if (!unfinished.ok()) return unfinished.status();
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (started_) return Status::Ok();
    for (Plan& p : *unfinished) {
      Active a;
      a.failing = p.status == PlanStatus::kProgressing && !p.error.empty();
      if (!p.network.empty()) {
        auto net = host_.GetNetwork(p.network);
        if (net.ok()) a.network = *net;
      }
      std::string id = p.id;
      a.plan = std::move(p);
      active_[id] = std::move(a);
    }
    started_ = true;
    stopping_ = false;
  }
  int n = std::max(1, settings_.runner.parallelism);
  for (int i = 0; i < n; ++i) workers_.emplace_back([this] { WorkerLoop(); });
  scheduler_ = std::thread([this] { SchedulerLoop(); });
  return Status::Ok();
}

void PlanRunner::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!started_) return;
    stopping_ = true;
  }
  wake_scheduler_.notify_all();
  wake_workers_.notify_all();
  if (scheduler_.joinable()) scheduler_.join();
  for (std::thread& t : workers_) {
    if (t.joinable()) t.join();
  }
  workers_.clear();
  std::lock_guard<std::mutex> lock(mu_);
  started_ = false;
}

Status PlanRunner::Submit(Plan plan) {
  if (plan.id.empty()) return InvalidArgumentError("a plan must be persisted before it runs");
  {
    std::lock_guard<std::mutex> lock(mu_);
    // Already running: Start() found it in the journal first. The runner's copy is the newer.
    if (active_.count(plan.id)) return Status::Ok();
    Active a;
    std::string id = plan.id;
    a.plan = std::move(plan);
    active_[id] = std::move(a);
  }
  wake_scheduler_.notify_all();
  return Status::Ok();
}

Status PlanRunner::Teardown(const Plan& persisted) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = active_.find(persisted.id);
    if (it == active_.end()) {
      if (persisted.status == PlanStatus::kDeleted) return Status::Ok();
      Active a;
      a.plan = persisted;
      if (!a.plan.network.empty()) {
        auto net = host_.GetNetwork(a.plan.network);
        if (net.ok()) a.network = *net;
      }
      it = active_.emplace(persisted.id, std::move(a)).first;
    }
    Active& a = it->second;
    if (a.plan.status == PlanStatus::kDeleting) return Status::Ok();
    a.plan.status = PlanStatus::kDeleting;
    a.failing = false;
    a.plan.error.clear();  // an earlier failure stays in the steps' logs and the audit trail
    MilestoneLocked(a, "deleting");
    StartTeardownLocked(a, PlanNodes(a.plan), true);
    SaveHeaderLocked(a);
  }
  wake_scheduler_.notify_all();
  return Status::Ok();
}

bool PlanRunner::Idle() {
  std::lock_guard<std::mutex> lock(mu_);
  return active_.empty();
}

RunnerMetrics PlanRunner::Metrics() {
  std::lock_guard<std::mutex> lock(mu_);
  return metrics_;
}

std::pair<double, double> PlanRunner::OverheadSeconds() {
  std::lock_guard<std::mutex> lock(mu_);
  return {runner_seconds_, driver_seconds_};
}

std::mutex& PlanRunner::NetworkLock(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  return network_locks_[key];  // std::map never moves its elements
}

PlanStep* PlanRunner::FindStep(Active& a, const std::string& id) {
  for (PlanStep& s : a.plan.steps) {
    if (s.id == id) return &s;
  }
  return nullptr;
}

bool PlanRunner::BestEffortLocked(const Active& a, const PlanStep& s) const {
  // Undoing a node that failed (its BMC is gone, say) must not fail the plan or its deletion.
  if (s.phase != StepPhase::kTeardown || s.node.empty()) return false;
  for (const PlanStep& d : a.plan.steps) {
    if (d.node == s.node && d.phase == StepPhase::kDeploy && d.state == StepState::kFailed) {
      return true;
    }
  }
  return false;
}

bool PlanRunner::StepReadyLocked(const Active& a, const PlanStep& s) const {
  if (s.state != StepState::kPending && s.state != StepState::kRunning) return false;
  // During a failure or a deletion no deploy step starts any more.
  if (s.phase == StepPhase::kDeploy &&
      (a.failing || a.plan.status == PlanStatus::kDeleting)) {
    return false;
  }
  for (const std::string& dep : s.after) {
    const PlanStep* d = nullptr;
    for (const PlanStep& x : a.plan.steps) {
      if (x.id == dep) d = &x;
    }
    if (d == nullptr) continue;
    if (s.phase == StepPhase::kTeardown ? !Finished(d->state) : d->state != StepState::kDone) {
      return false;
    }
  }
  // Never undo a node while one of its deploy steps still runs (and the reverse).
  for (const PlanStep& x : a.plan.steps) {
    if (&x == &s || x.node != s.node || x.phase == s.phase) continue;
    auto w = a.work.find(x.id);
    if (w != a.work.end() && w->second.dispatched) return false;
  }
  return true;
}

void PlanRunner::ScheduleLocked(Active& a, std::vector<std::pair<std::string, std::string>>& ready) {
  const int64_t now = NowMs();
  for (PlanStep& s : a.plan.steps) {
    Work& w = a.work[s.id];
    if (w.dispatched || w.not_before_ms > now) continue;
    if (!StepReadyLocked(a, s)) continue;
    if (s.state == StepState::kPending) {
      s.state = StepState::kRunning;
      if (s.started_ms == 0) s.started_ms = now;
      SaveLocked(a, s);
    }
    w.dispatched = true;
    ready.emplace_back(a.plan.id, s.id);
  }
}

void PlanRunner::SchedulerLoop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    std::vector<std::pair<std::string, std::string>> ready;
    double t0 = SteadySeconds();
    int64_t next_wake = NowMs() + 1000;
    for (auto it = active_.begin(); it != active_.end();) {
      Active& a = it->second;
      ScheduleLocked(a, ready);
      CheckDoneLocked(a);
      if (IsFinal(a.plan.status)) {
        Plan done = a.plan;
        it = active_.erase(it);
        lock.unlock();
        host_.PlanFinished(done);
        lock.lock();
        continue;
      }
      for (const auto& [id, w] : a.work) {
        if (!w.dispatched && w.not_before_ms > 0) next_wake = std::min(next_wake, w.not_before_ms);
      }
      ++it;
    }
    runner_seconds_ += SteadySeconds() - t0;
    for (auto& r : ready) queue_.push_back(std::move(r));
    if (!ready.empty()) wake_workers_.notify_all();
    int64_t wait = std::max<int64_t>(5, next_wake - NowMs());
    wake_scheduler_.wait_for(lock, std::chrono::milliseconds(wait));
  }
}

void PlanRunner::WorkerLoop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    wake_workers_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
    if (stopping_) return;
    auto [plan_id, step_id] = queue_.front();
    queue_.pop_front();
    auto it = active_.find(plan_id);
    if (it == active_.end()) continue;
    PlanStep* s = FindStep(it->second, step_id);
    if (s == nullptr) continue;
    Plan plan = it->second.plan;  // a copy: the step runs without the lock
    PlanStep step = *s;
    TenantNetwork network = it->second.network;
    lock.unlock();
    Outcome out;
    out.network = network;
    double t0 = SteadySeconds();
    Status result = Execute(plan, network, step, out);
    double seconds = SteadySeconds() - t0;
    lock.lock();
    driver_seconds_ += seconds;
    lock.unlock();
    Finish(plan_id, step_id, result, out, !(out.network == network), seconds);
    wake_scheduler_.notify_all();
    lock.lock();
  }
}

Status PlanRunner::Execute(const Plan& plan, const TenantNetwork& network, const PlanStep& step,
                           Outcome& out) {
  TenantNetwork& network_out = out.network;
  bool& not_yet = out.not_yet;
  std::shared_ptr<const Inventory> inv = host_.CurrentInventory();
  if (!inv) return UnavailableError("no inventory loaded");
  const Node* node = nullptr;
  if (!step.node.empty()) {
    int i = inv->NodeIndex(step.node);
    if (i < 0) return FailedPreconditionError("node " + step.node + " is not in the inventory");
    node = &inv->nodes[i];
  }
  auto l3 = [&]() -> L3Driver* {
    auto it = drivers_.l3.find(step.driver);
    return it == drivers_.l3.end() ? nullptr : it->second.get();
  };
  auto bmc_target = [&]() -> Result<BmcTarget> {
    BmcTarget t{node->name, *node->bmc, {}};
    if (!node->bmc->credentials.empty()) {
      auto c = ResolveCredentials(settings_, node->bmc->credentials);
      if (!c.ok()) return c.status();
      t.credentials = *c;
    }
    return t;
  };
  auto need_address = [&]() -> Result<NodeAddress> {
    if (const NodeAddress* a = AddressOf(network_out, step.node)) return *a;
    // A node added by a replacement, or a network loaded before the node got its address.
    auto net = host_.AcquireNetwork(plan, *inv->networks, WantedAddresses(*inv, {step.node}));
    if (!net.ok()) return net.status();
    network_out = *net;
    if (const NodeAddress* a = AddressOf(network_out, step.node)) return *a;
    return InternalError("IPAM gave node " + step.node + " no address");
  };

  if (step.layer == "cluster") return ExecuteCluster(plan, *inv, node, step, out);
  if (step.layer == "bmc") {
    auto it = drivers_.bmc.find(step.driver);
    if (it == drivers_.bmc.end()) {
      return FailedPreconditionError("no bmc driver \"" + step.driver + "\" is configured");
    }
    if (!node->bmc) return FailedPreconditionError("node " + node->name + " has no BMC");
    auto t = bmc_target();
    if (!t.ok()) return t.status();
    if (step.action == kActBootPxe) return it->second->SetOneTimePxeBoot(*t);
    if (step.action == kActPowerOn) return it->second->PowerOn(*t);
    if (step.action == kActPowerOff) return it->second->PowerOff(*t);
  } else if (step.layer == "l2") {
    auto it = drivers_.l2.find(step.driver);
    if (it == drivers_.l2.end()) {
      return FailedPreconditionError("no l2 driver \"" + step.driver + "\" is configured");
    }
    if (!inv->networks) return FailedPreconditionError("the inventory has no network policy");
    int vlan = step.action == kActPortQuarantine ? inv->networks->quarantine_vlan : network.vlan;
    if (vlan <= 0) return FailedPreconditionError("the plan has no tenant network yet");
    for (const NodePort& p : node->ports) {
      int sw = inv->SwitchIndex(p.switch_name);
      if (sw < 0) return FailedPreconditionError("switch " + p.switch_name + " is not in the inventory");
      if (Status s = it->second->SetAccessVlan(inv->switches[sw], p.port, vlan); !s.ok()) return s;
    }
    return Status::Ok();
  } else if (step.action == kActNetworkAllocate) {
    if (!inv->networks) return FailedPreconditionError("the inventory has no network policy");
    std::lock_guard<std::mutex> net_lock(NetworkLock(NetworkKey(plan)));
    auto net = host_.AcquireNetwork(plan, *inv->networks, WantedAddresses(*inv, PlanNodes(plan)));
    if (!net.ok()) return net.status();
    network_out = *net;
    return Status::Ok();
  } else if (step.layer == "l3") {
    L3Driver* d = l3();
    if (d == nullptr) {
      return FailedPreconditionError("no l3 driver \"" + step.driver + "\" is configured");
    }
    if (step.action == kActDhcpServe) {
      std::lock_guard<std::mutex> net_lock(NetworkLock(NetworkKey(plan)));
      return d->EnsureNetwork(network);
    }
    if (step.action == kActDhcpReserve) {
      auto a = need_address();
      if (!a.ok()) return a.status();
      return d->Reserve(network_out, *a);
    }
    if (step.action == kActWaitLease) {
      const NodeAddress* a = AddressOf(network, step.node);
      if (a == nullptr) return FailedPreconditionError("node " + step.node + " has no address");
      auto leased = d->LeasedAddress(network, a->mac);
      if (!leased.ok()) return leased.status();
      if (!leased->has_value() || **leased != a->address) {
        not_yet = true;
        return Status::Ok();
      }
      return Status::Ok();
    }
    if (step.action == kActDhcpRelease) {
      if (network.id.empty()) return Status::Ok();
      if (const NodeAddress* a = AddressOf(network, step.node)) {
        if (Status s = d->Release(network, *a); !s.ok()) return s;
      }
      if (Status s = host_.ReleaseAddresses(network.id, {step.node}); !s.ok()) return s;
      std::erase_if(network_out.addresses, [&](const NodeAddress& x) { return x.node == step.node; });
      return Status::Ok();
    }
    if (step.action == kActNetworkFree) {
      if (network.id.empty()) return Status::Ok();
      std::lock_guard<std::mutex> net_lock(NetworkLock(NetworkKey(plan)));
      auto current = host_.GetNetwork(network.id);
      if (!current.ok()) return current.status().code() == StatusCode::kNotFound ? Status::Ok()
                                                                                : current.status();
      if (!current->addresses.empty()) return Status::Ok();  // still used by another plan
      if (Status s = d->RemoveNetwork(*current); !s.ok()) return s;
      auto freed = host_.FreeNetworkIfEmpty(network.id);
      return freed.ok() ? Status::Ok() : freed.status();
    }
  }
  return InternalError("unknown step " + step.layer + "/" + step.action);
}

Status PlanRunner::ExecuteCluster(const Plan& plan, const Inventory& inv, const Node* node,
                                  const PlanStep& step, Outcome& out) {
  auto it = drivers_.cluster.find(step.driver);
  if (it == drivers_.cluster.end()) {
    return FailedPreconditionError("no cluster driver \"" + step.driver + "\" is configured");
  }
  ClusterDriver& driver = *it->second;
  ClusterSpec spec;
  spec.id = plan.id;
  spec.name = plan.allocation;
  spec.tenant = plan.tenant;
  spec.project = plan.project;
  spec.purpose = plan.purpose;
  spec.network = out.network;
  auto member = [&]() -> Result<ClusterMember> {
    const NodeAddress* a = AddressOf(out.network, node->name);
    if (a == nullptr) return FailedPreconditionError("node " + node->name + " has no address");
    const NodeClass& c = inv.ClassOf(inv.NodeIndex(node->name));
    ClusterMember m;
    m.node = node->name;
    m.address = a->address;
    m.mac = a->mac;
    m.node_class = c.name;
    m.cpus = c.cpu.cores;
    m.memory_gib = c.memory_gib;
    m.gpus = c.gpu.count;
    m.gpu_model = c.gpu.model;
    return m;
  };
  if (step.action == kActClusterCreate) {
    if (Status s = driver.EnsureCluster(spec); !s.ok()) return s;
    out.access = driver.Access(spec);
    return Status::Ok();
  }
  if (step.action == kActClusterRemove) return driver.RemoveCluster(spec);
  if (node == nullptr) return InternalError("step " + step.id + " names no node");
  if (step.action == kActClusterLeave) return driver.RemoveNode(spec, node->name);
  Result<ClusterMember> m = member();
  if (!m.ok()) return m.status();
  if (step.action == kActClusterJoin) return driver.AddNode(spec, *m);
  if (step.action == kActClusterWaitReady) {
    Result<bool> ready = driver.NodeReady(spec, *m);
    if (!ready.ok()) return ready.status();
    out.not_yet = !*ready;
    return Status::Ok();
  }
  if (step.action == kActClusterVerify) {
    if (Status s = driver.VerifyNode(spec, *m); !s.ok()) return s;
    out.access = driver.Access(spec);
    return Status::Ok();
  }
  return InternalError("unknown step " + step.layer + "/" + step.action);
}

void PlanRunner::Finish(const std::string& plan_id, const std::string& step_id,
                        const Status& result, const Outcome& out, bool network_changed,
                        double seconds) {
  const TenantNetwork& network = out.network;
  const bool not_yet = out.not_yet;
  std::lock_guard<std::mutex> lock(mu_);
  double t0 = SteadySeconds();
  auto it = active_.find(plan_id);
  if (it == active_.end()) return;
  Active& a = it->second;
  PlanStep* s = FindStep(a, step_id);
  if (s == nullptr) return;
  Work& w = a.work[step_id];
  w.dispatched = false;
  if (network_changed) {
    // Steps finish in any order with copies of the network taken when they started: the host's
    // record is the one that holds every step's change.
    Result<TenantNetwork> fresh = host_.GetNetwork(network.id);
    a.network = fresh.ok() ? *fresh : network;
    if (a.plan.network != network.id) {
      a.plan.network = network.id;
      SaveHeaderLocked(a);
    }
  }
  const int64_t now = NowMs();
  const std::string driver = s->driver.empty() ? s->layer : s->driver;
  if (result.ok() && not_yet) {
    // wait-lease: poll again soon, until the boot timeout.
    double waited = (now - s->started_ms) / 1000.0;
    if (waited < settings_.runner.boot_timeout_seconds) {
      w.not_before_ms = now + 500;
      runner_seconds_ += SteadySeconds() - t0;
      return;
    }
    s->attempts = std::max(s->attempts + 1, settings_.runner.attempts);
    s->log = (s->action == kActWaitLease ? "no lease on the tenant network after "
                                         : "the cluster did not report the node ready after ") +
             std::to_string(static_cast<int>(waited)) + " s";
    s->state = StepState::kFailed;
    metrics_[{driver, "failed"}].count++;
    metrics_[{driver, "failed"}].seconds += seconds;
    SaveLocked(a, *s);
    if (!BestEffortLocked(a, *s)) FailPlanLocked(a, *s);
    runner_seconds_ += SteadySeconds() - t0;
    return;
  }
  s->attempts++;
  if (result.ok() && out.access && a.plan.access != *out.access) {
    a.plan.access = *out.access;
    SaveHeaderLocked(a);
  }
  if (result.ok()) {
    s->state = StepState::kDone;
    s->log = s->action == kActWaitLease ? "leased its address" : "ok";
    if (s->action == kActClusterWaitReady) s->log = "ready in the cluster";
    if (s->action == kActClusterVerify) s->log = "ran a job";
    if (s->action == kActClusterLeave) s->log = "out of the cluster";
    if (s->action == kActNetworkAllocate) {
      s->log = "vlan " + std::to_string(a.network.vlan) + ", subnet " + a.network.subnet;
    }
    if (s->action == kActDhcpReserve) {
      if (const NodeAddress* ad = AddressOf(a.network, s->node)) s->log = ad->address;
    }
    metrics_[{driver, "done"}].count++;
    metrics_[{driver, "done"}].seconds += seconds;
    SaveLocked(a, *s);
  } else if (s->attempts < settings_.runner.attempts &&
             result.code() != StatusCode::kInvalidArgument) {
    s->state = StepState::kPending;
    s->log = OneLine("attempt " + std::to_string(s->attempts) + ": " + result.message());
    double backoff = settings_.runner.backoff_seconds * (1 << std::min(s->attempts - 1, 10));
    w.not_before_ms = now + static_cast<int64_t>(backoff * 1000);
    metrics_[{driver, "retried"}].count++;
    metrics_[{driver, "retried"}].seconds += seconds;
    SaveLocked(a, *s);
  } else {
    s->state = StepState::kFailed;
    s->log = OneLine(result.message());
    metrics_[{driver, "failed"}].count++;
    metrics_[{driver, "failed"}].seconds += seconds;
    SaveLocked(a, *s);
    if (!BestEffortLocked(a, *s)) FailPlanLocked(a, *s);
  }
  runner_seconds_ += SteadySeconds() - t0;
}

void PlanRunner::FailPlanLocked(Active& a, const PlanStep& failed) {
  const std::string why = failed.id + ": " + failed.log;
  if (failed.phase == StepPhase::kTeardown) {
    // An undo that cannot be done: the plan ends FAILED once the rest is undone.
    if (a.plan.error.empty()) a.plan.error = "teardown step " + why;
    SaveHeaderLocked(a);
    return;
  }
  if (a.plan.status == PlanStatus::kDeleting || a.failing) return;
  const std::string failed_node = failed.node;
  if (!failed_node.empty() && settings_.runner.replace_failed_nodes) {
    Plan snapshot = a.plan;
    Result<std::string> replacement = host_.ReplaceNode(snapshot, failed_node, failed.log);
    if (replacement.ok()) {
      std::shared_ptr<const Inventory> inv = host_.CurrentInventory();
      for (PlanStep& s : a.plan.steps) {
        if (s.node == failed_node && s.phase == StepPhase::kDeploy &&
            s.state == StepState::kPending) {
          s.state = StepState::kCompensated;
          s.log = "not run: node replaced by " + *replacement;
          SaveLocked(a, s);
        }
      }
      MilestoneLocked(a, "replaced " + failed_node + " by " + *replacement);
      StartTeardownLocked(a, {failed_node}, false);
      if (inv && inv->NodeIndex(*replacement) >= 0) {
        for (PlanStep& s :
             NodeDeploySteps(*inv, *replacement, drivers(), PlanClusterDriver(a.plan))) {
          if (FindStep(a, s.id) != nullptr) continue;
          a.plan.steps.push_back(s);
          SaveLocked(a, a.plan.steps.back());
        }
      }
      return;
    }
    a.plan.error = why + " (no replacement: " + OneLine(replacement.status().message()) + ")";
  } else {
    a.plan.error = why;
  }
  a.failing = true;
  MilestoneLocked(a, "failed");
  for (PlanStep& s : a.plan.steps) {
    if (s.phase == StepPhase::kDeploy && s.state == StepState::kPending) {
      s.state = StepState::kCompensated;
      s.log = "not run: the plan failed";
      SaveLocked(a, s);
    }
  }
  StartTeardownLocked(a, PlanNodes(a.plan), true);
  SaveHeaderLocked(a);
}

void PlanRunner::StartTeardownLocked(Active& a, const std::vector<std::string>& nodes,
                                     bool free_network) {
  std::shared_ptr<const Inventory> inv = host_.CurrentInventory();
  if (!inv) return;
  if (a.plan.status == PlanStatus::kDeleting) {
    for (PlanStep& s : a.plan.steps) {
      if (s.phase == StepPhase::kDeploy && s.state == StepState::kPending) {
        s.state = StepState::kCompensated;
        s.log = "not run: the cluster is being deleted";
        SaveLocked(a, s);
      }
    }
  }
  for (PlanStep& s :
       TeardownSteps(*inv, nodes, drivers(), PlanClusterDriver(a.plan), free_network)) {
    if (PlanStep* existing = FindStep(a, s.id)) {
      // Deleting again after a failed or replaced teardown: run it once more.
      if (existing->state == StepState::kFailed && !free_network) continue;
      if (existing->state == StepState::kFailed) {
        existing->state = StepState::kPending;
        existing->attempts = 0;
        SaveLocked(a, *existing);
      }
      continue;
    }
    a.plan.steps.push_back(s);
    SaveLocked(a, a.plan.steps.back());
  }
}

void PlanRunner::CheckDoneLocked(Active& a) {
  // Milestones as soon as they are reached, while other steps still run.
  if (a.plan.status == PlanStatus::kProgressing && !a.failing) MilestonesLocked(a);
  bool any_busy = false;
  for (const PlanStep& s : a.plan.steps) {
    auto w = a.work.find(s.id);
    if (w != a.work.end() && w->second.dispatched) any_busy = true;
  }
  if (any_busy) return;
  if (a.plan.status == PlanStatus::kProgressing && !a.failing) {
    bool all_done = true;
    for (const PlanStep& s : a.plan.steps) {
      if (s.phase != StepPhase::kDeploy) continue;
      if (s.state == StepState::kPending || s.state == StepState::kRunning) all_done = false;
    }
    // The teardown of a replaced node must also have finished.
    for (const PlanStep& s : a.plan.steps) {
      if (s.phase == StepPhase::kTeardown && !Finished(s.state)) all_done = false;
    }
    if (all_done) {
      a.plan.status = PlanStatus::kReady;
      SaveHeaderLocked(a);
    }
    MilestonesLocked(a);
    return;
  }
  // Failing or deleting: finished when every teardown step has.
  for (const PlanStep& s : a.plan.steps) {
    if (s.phase == StepPhase::kTeardown && !Finished(s.state)) return;
  }
  for (PlanStep& s : a.plan.steps) {
    // Done, or left running (a wait-lease between polls, a step of a run before a restart).
    if (s.phase == StepPhase::kDeploy &&
        (s.state == StepState::kDone || s.state == StepState::kRunning)) {
      s.state = StepState::kCompensated;
      s.log = a.failing ? "undone after the failure" : "undone";
      SaveLocked(a, s);
    }
  }
  if (a.failing) {
    a.plan.status = PlanStatus::kFailed;
  } else {
    a.plan.status = a.plan.error.empty() ? PlanStatus::kDeleted : PlanStatus::kFailed;
    MilestoneLocked(a, a.plan.error.empty() ? "deleted" : "failed");
  }
  SaveHeaderLocked(a);
}

void PlanRunner::SaveLocked(Active& a, PlanStep& s) {
  s.updated_ms = NowMs();
  Status st = host_.SaveStep(a.plan, s);
  (void)st;  // a journal write that failed is repeated by the next transition of the step
}

void PlanRunner::SaveHeaderLocked(Active& a) {
  a.plan.updated_ms = NowMs();
  Status st = host_.SavePlanHeader(a.plan);
  (void)st;
}

void PlanRunner::MilestonesLocked(Active& a) {
  // Whether every deploy step with this action has come through (done, or not needed any more
  // because its node was replaced); false when the plan has none.
  auto all = [&](std::string_view action) {
    bool any = false;
    for (const PlanStep& s : a.plan.steps) {
      if (s.phase != StepPhase::kDeploy || s.action != action) continue;
      if (s.state != StepState::kDone && s.state != StepState::kCompensated) return false;
      any = true;
    }
    return any;
  };
  const bool ready = a.plan.status == PlanStatus::kReady;
  // The purpose's milestones in order (DESIGN.md section 6a), each with what makes it true; one is
  // recorded only after all before it, so the times always ascend.
  std::vector<std::pair<std::string, bool>> sequence = {
      {"requested", true},
      {"assigned-to-tenant", true},
      {"assigned-to-project", all(kActPortTenantVlan)}};
  if (a.plan.purpose == "slurm") {
    sequence.push_back({"connecting-to-slurm", all(kActClusterCreate)});
    sequence.push_back({"ready-in-slurm", ready});
  } else if (a.plan.purpose == "openshift") {
    sequence.push_back({"installing", all(kActClusterCreate)});
    sequence.push_back({"ready", ready});
  } else {
    sequence.push_back({"network-ready", all(kActDhcpServe)});
    sequence.push_back({"powered-on", all(kActPowerOn)});
    sequence.push_back({"ready", ready});
  }
  for (const auto& [name, reached] : sequence) {
    if (!reached) break;
    MilestoneLocked(a, name);
  }
}

void PlanRunner::MilestoneLocked(Active& a, const std::string& name) {
  for (const Milestone& m : a.plan.milestones) {
    if (m.name == name) return;
  }
  a.plan.milestones.push_back({name, NowMs()});
  SaveHeaderLocked(a);
}

}  // namespace topoplace
