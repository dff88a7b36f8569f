#include "tests/executors/fake_fabric.h"

#include <chrono>
#include <thread>

namespace topoplace::testing {
namespace {

class FakeBmc : public BmcDriver {
 public:
  explicit FakeBmc(FakeFabric& f) : f_(f) {}
  Status PowerOn(const BmcTarget& t) override {
    std::lock_guard<std::mutex> l(f_.mu);
    if (f_.dead_bmcs.count(t.node)) return UnavailableError("bmc of " + t.node + " does not answer");
    f_.power[t.node] = true;
    f_.power_on_calls[t.node]++;
    return Status::Ok();
  }
  Status PowerOff(const BmcTarget& t) override {
    std::lock_guard<std::mutex> l(f_.mu);
    if (f_.dead_bmcs.count(t.node)) return UnavailableError("bmc of " + t.node + " does not answer");
    f_.power[t.node] = false;
    return Status::Ok();
  }
  Result<bool> IsPoweredOn(const BmcTarget& t) override {
    std::lock_guard<std::mutex> l(f_.mu);
    return f_.power[t.node];
  }
  Status SetOneTimePxeBoot(const BmcTarget& t) override {
    std::lock_guard<std::mutex> l(f_.mu);
    if (f_.dead_bmcs.count(t.node)) return UnavailableError("bmc of " + t.node + " does not answer");
    f_.pxe_once[t.node] = true;
    return Status::Ok();
  }
  Result<std::string> BootDevice(const BmcTarget& t) override {
    std::lock_guard<std::mutex> l(f_.mu);
    return std::string(f_.pxe_once[t.node] ? "pxe" : "disk");
  }

 private:
  FakeFabric& f_;
};

class FakeL2 : public L2Driver {
 public:
  explicit FakeL2(FakeFabric& f) : f_(f) {}
  Status SetAccessVlan(const Switch& sw, const std::string& port, int vlan) override {
    std::lock_guard<std::mutex> l(f_.mu);
    const std::string key = sw.name + "/" + port;
    if (int& left = f_.reject_vlan_times[key]; left > 0) {
      --left;
      return InternalError("switch " + sw.name + " rejected the change of " + port);
    }
    f_.vlan[key] = vlan;
    return Status::Ok();
  }
  Result<int> AccessVlan(const Switch& sw, const std::string& port) override {
    std::lock_guard<std::mutex> l(f_.mu);
    return f_.vlan[sw.name + "/" + port];
  }

 private:
  FakeFabric& f_;
};

class FakeL3 : public L3Driver {
 public:
  explicit FakeL3(FakeFabric& f) : f_(f) {}
  Status EnsureNetwork(const TenantNetwork& n) override {
    std::lock_guard<std::mutex> l(f_.mu);
    f_.served.insert(n.id);
    return Status::Ok();
  }
  Status RemoveNetwork(const TenantNetwork& n) override {
    std::lock_guard<std::mutex> l(f_.mu);
    f_.served.erase(n.id);
    f_.reservations.erase(n.id);
    return Status::Ok();
  }
  Status Reserve(const TenantNetwork& n, const NodeAddress& a) override {
    std::lock_guard<std::mutex> l(f_.mu);
    f_.reservations[n.id][a.mac] = a.address;
    return Status::Ok();
  }
  Status Release(const TenantNetwork& n, const NodeAddress& a) override {
    std::lock_guard<std::mutex> l(f_.mu);
    f_.reservations[n.id].erase(a.mac);
    return Status::Ok();
  }
  Result<std::optional<std::string>> LeasedAddress(const TenantNetwork& n,
                                                   const std::string& mac) override {
    std::lock_guard<std::mutex> l(f_.mu);
    if (!f_.served.count(n.id)) return std::optional<std::string>();
    const Inventory& inv = *f_.inventory;
    for (const Node& node : inv.nodes) {
      if (node.ports.empty() || node.ports.front().mac != mac) continue;
      if (!f_.power[node.name] || !f_.pxe_once[node.name] || f_.never_lease.count(node.name)) {
        return std::optional<std::string>();
      }
      for (const NodePort& p : node.ports) {
        if (f_.vlan[p.switch_name + "/" + p.port] != n.vlan) return std::optional<std::string>();
      }
      auto r = f_.reservations[n.id].find(mac);
      if (r == f_.reservations[n.id].end()) return std::optional<std::string>();
      return std::optional<std::string>(r->second);
    }
    return std::optional<std::string>();
  }

 private:
  FakeFabric& f_;
};

class FakeCluster : public ClusterDriver {
 public:
  explicit FakeCluster(FakeFabric& f) : f_(f) {}
  static std::string Partition(const ClusterSpec& c) {
    return c.tenant + "-" + std::string(ProjectName(c.project));
  }
  Status EnsureCluster(const ClusterSpec& c) override {
    std::lock_guard<std::mutex> l(f_.mu);
    f_.partitions[Partition(c)];
    return Status::Ok();
  }
  Status AddNode(const ClusterSpec& c, const ClusterMember& m) override {
    std::lock_guard<std::mutex> l(f_.mu);
    auto p = f_.partitions.find(Partition(c));
    if (p == f_.partitions.end()) return FailedPreconditionError("no partition " + Partition(c));
    if (!f_.power[m.node]) return UnavailableError("node " + m.node + " is not running");
    p->second.insert(m.node);
    return Status::Ok();
  }
  Result<bool> NodeReady(const ClusterSpec& c, const ClusterMember& m) override {
    std::lock_guard<std::mutex> l(f_.mu);
    return f_.partitions[Partition(c)].count(m.node) > 0 && !f_.never_ready.count(m.node);
  }
  Status VerifyNode(const ClusterSpec& c, const ClusterMember& m) override {
    std::lock_guard<std::mutex> l(f_.mu);
    if (!f_.partitions[Partition(c)].count(m.node)) return InternalError("not in the partition");
    f_.jobs[m.node]++;
    return Status::Ok();
  }
  Status RemoveNode(const ClusterSpec& c, const std::string& node) override {
    std::lock_guard<std::mutex> l(f_.mu);
    f_.powered_at_leave[node] = f_.power[node];
    f_.partitions[Partition(c)].erase(node);
    return Status::Ok();
  }
  Status RemoveCluster(const ClusterSpec& c) override {
    std::lock_guard<std::mutex> l(f_.mu);
    auto p = f_.partitions.find(Partition(c));
    if (p != f_.partitions.end() && p->second.empty()) f_.partitions.erase(p);
    return Status::Ok();
  }
  ClusterAccess Access(const ClusterSpec& c) override {
    return {{"partition", Partition(c)}, {"controller", ServiceAddress(c.network)}};
  }

 private:
  FakeFabric& f_;
};

}  // namespace

std::unique_ptr<ClusterDriver> MakeFakeCluster(FakeFabric& f) {
  return std::make_unique<FakeCluster>(f);
}

std::unique_ptr<BmcDriver> MakeFakeBmc(FakeFabric& f) { return std::make_unique<FakeBmc>(f); }
std::unique_ptr<L2Driver> MakeFakeL2(FakeFabric& f) { return std::make_unique<FakeL2>(f); }
std::unique_ptr<L3Driver> MakeFakeL3(FakeFabric& f) { return std::make_unique<FakeL3>(f); }

Status MemoryHost::SaveStep(const Plan& plan, const PlanStep& step) {
  std::lock_guard<std::mutex> l(mu_);
  Plan& p = plans_[plan.id];
  for (PlanStep& s : p.steps) {
    if (s.id == step.id) {
      s = step;
      return Status::Ok();
    }
  }
  p.steps.push_back(step);
  return Status::Ok();
}

Status MemoryHost::SavePlanHeader(const Plan& plan) {
  std::lock_guard<std::mutex> l(mu_);
  Plan& p = plans_[plan.id];
  std::vector<PlanStep> steps = std::move(p.steps);
  p = plan;
  p.steps = std::move(steps);
  return Status::Ok();
}

Result<std::vector<Plan>> MemoryHost::UnfinishedPlans() {
  std::lock_guard<std::mutex> l(mu_);
  std::vector<Plan> out;
  for (const auto& [id, p] : plans_) {
    if (!IsFinal(p.status)) out.push_back(p);
  }
  return out;
}

Result<TenantNetwork> MemoryHost::AcquireNetwork(const Plan& plan, const NetworkPolicy& policy,
                                                 const std::vector<NodeAddress>& wanted) {
  std::lock_guard<std::mutex> l(mu_);
  TenantNetwork* net = nullptr;
  for (auto& [id, n] : networks_) {
    if (n.key == NetworkKey(plan)) net = &n;
  }
  if (net == nullptr) {
    if (next_vlan_ > policy.tenant_vlan_to) return ResourceExhaustedError("no VLAN left");
    int k = next_vlan_ - policy.tenant_vlan_from;
    TenantNetwork n;
    n.id = "net-" + std::to_string(next_vlan_);
    n.tenant = plan.tenant;
    n.key = NetworkKey(plan);
    n.vlan = next_vlan_++;
    n.subnet = "10.128." + std::to_string(k) + ".0/24";
    n.gateway = "10.128." + std::to_string(k) + ".1";
    net = &(networks_[n.id] = n);
  }
  for (const NodeAddress& w : wanted) {
    bool have = false;
    for (const NodeAddress& a : net->addresses) have |= a.node == w.node;
    if (have) continue;
    NodeAddress a = w;
    std::string prefix = net->gateway.substr(0, net->gateway.rfind('.') + 1);
    for (int host = 2;; ++host) {
      std::string ip = prefix + std::to_string(host);
      bool used = false;
      for (const NodeAddress& x : net->addresses) used |= x.address == ip;
      if (!used) {
        a.address = ip;
        break;
      }
    }
    net->addresses.push_back(a);
  }
  return *net;
}

Result<TenantNetwork> MemoryHost::GetNetwork(const std::string& id) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = networks_.find(id);
  if (it == networks_.end()) return NotFoundError("no network " + id);
  return it->second;
}

Status MemoryHost::ReleaseAddresses(const std::string& network,
                                    const std::vector<std::string>& nodes) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = networks_.find(network);
  if (it == networks_.end()) return Status::Ok();
  for (const std::string& n : nodes) {
    std::erase_if(it->second.addresses, [&](const NodeAddress& a) { return a.node == n; });
  }
  return Status::Ok();
}

Result<bool> MemoryHost::FreeNetworkIfEmpty(const std::string& network) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = networks_.find(network);
  if (it == networks_.end() || !it->second.addresses.empty()) return false;
  networks_.erase(it);
  return true;
}

Result<std::string> MemoryHost::ReplaceNode(const Plan& plan, const std::string& node,
                                            const std::string& why) {
  (void)plan;
  (void)why;
  std::lock_guard<std::mutex> l(mu_);
  if (spares_.empty()) return FailedPreconditionError("no free node can replace " + node);
  std::string spare = spares_.front();
  spares_.erase(spares_.begin());
  replaced.push_back(node + "->" + spare);
  return spare;
}

void MemoryHost::PlanFinished(const Plan& plan) {
  (void)plan;
  std::lock_guard<std::mutex> l(mu_);
  ++finished;
}

void MemoryHost::Put(const Plan& plan) {
  std::lock_guard<std::mutex> l(mu_);
  plans_[plan.id] = plan;
}

Plan MemoryHost::Get(const std::string& id) {
  std::lock_guard<std::mutex> l(mu_);
  return plans_[id];
}

bool MemoryHost::HasNetwork(const std::string& id) {
  std::lock_guard<std::mutex> l(mu_);
  return networks_.count(id) > 0;
}

std::shared_ptr<const Inventory> LabInventory(int n) {
  auto inv = std::make_shared<Inventory>();
  inv->sites.push_back({"lab", "us-east", "US", {}});
  inv->power_domains.push_back({"pdu-1", "lab"});
  Switch spine;
  spine.name = "spine-1";
  spine.role = SwitchRole::kSpine;
  spine.site = "lab";
  inv->switches.push_back(spine);
  Switch leaf;
  leaf.name = "leaf-1";
  leaf.role = SwitchRole::kLeaf;
  leaf.site = "lab";
  leaf.uplinks = {"spine-1"};
  leaf.management = SwitchManagement{"ovs", "br0"};
  inv->switches.push_back(leaf);
  Rack rack;
  rack.name = "r1";
  rack.site = "lab";
  rack.power_domains = {"pdu-1"};
  inv->racks.push_back(rack);
  NodeClass cls;
  cls.name = "cpu";
  cls.cpu.cores = 8;
  cls.memory_gib = 32;
  inv->node_classes.push_back(cls);
  for (int i = 1; i <= n; ++i) {
    Node node;
    node.name = "n" + std::to_string(i);
    node.node_class = "cpu";
    node.rack = "r1";
    node.power_domain = "pdu-1";
    node.leaf = "leaf-1";
    node.bmc = BmcSpec{"ipmi", "127.0.0.1:" + std::to_string(9000 + i), "", ""};
    char mac[32];
    std::snprintf(mac, sizeof mac, "02:00:00:00:01:%02x", i);
    node.ports.push_back({"eth0", mac, "leaf-1", "p" + std::to_string(i)});
    inv->nodes.push_back(node);
  }
  inv->networks = NetworkPolicy{4000, 100, 199, "10.128.0.0/16", 24};
  Status s = inv->BuildIndex();
  (void)s;
  return inv;
}

Plan WaitFor(MemoryHost& host, const std::string& plan_id, PlanStatus status, double seconds) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  Plan p;
  while (std::chrono::steady_clock::now() < deadline) {
    p = host.Get(plan_id);
    if (p.status == status) return p;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  // Say where it stopped, for the failure message of the test that waited.
  std::fprintf(stderr, "plan %s is %s, not %s; error: %s\n", plan_id.c_str(),
               std::string(PlanStatusName(p.status)).c_str(),
               std::string(PlanStatusName(status)).c_str(), p.error.c_str());
  for (const PlanStep& s : p.steps) {
    std::fprintf(stderr, "  %-28s %-12s attempts %d: %s\n", s.id.c_str(),
                 std::string(StepStateName(s.state)).c_str(), s.attempts, s.log.c_str());
  }
  return p;
}

}  // namespace topoplace::testing
