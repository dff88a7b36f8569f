#include "executors/slurm_driver.h"

#include <cctype>
#include <chrono>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <thread>
#include <vector>

#include "executors/netns_port.h"
#include "executors/ovs_driver.h"
#include "executors/process.h"
#include "model/hash.h"

namespace topoplace {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

struct Options {
  std::string conf;
  std::string controller_ns;
  std::string bin;
  double timeout_seconds = 30;
  double drain_timeout_seconds = 60;
  std::string bridge;
  std::string switch_ns;
  std::string ovsdb;
};

// A name Slurm takes as one node or partition name on a command line and in a host list: no
// separators (",", "=", spaces), no brackets, no leading '-'.
bool IsSlurmName(const std::string& s) {
  if (s.empty() || s.size() > 64 || s[0] == '-' || s[0] == '.') return false;
  for (char c : s) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.')
      return false;
  }
  return true;
}

std::string Trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t\r\n") - b + 1);
}

// "Key=Value" words of a one-line scontrol record (`scontrol show ... -o`). Values holding spaces
// (OS=...) are cut at the first one; the keys read here have none.
std::map<std::string, std::string> Record(const std::string& line) {
  std::map<std::string, std::string> r;
  std::istringstream in(line);
  for (std::string w; in >> w;) {
    size_t eq = w.find('=');
    if (eq != std::string::npos && eq > 0) r.emplace(w.substr(0, eq), w.substr(eq + 1));
  }
  return r;
}

bool Contains(const std::string& text, const char* what) {
  return text.find(what) != std::string::npos;
}

// Slurm's words for a controller it could not reach.
bool ControllerUnreachable(const std::string& text) {
  return Contains(text, "Unable to contact slurm controller") ||
         Contains(text, "Socket timed out") || Contains(text, "Zero Bytes were transmitted") ||
         Contains(text, "Connection refused");
}

class SlurmDriver : public ClusterDriver {
 public:
  SlurmDriver(Options o, std::optional<NetnsPort> port)
      : o_(std::move(o)), port_(std::move(port)) {}

  Status EnsureCluster(const ClusterSpec& cluster) override {
    Result<std::string> part = PartitionOf(cluster);
    if (!part.ok()) return part.status();
    std::lock_guard<std::mutex> lock(*LockFor(*part));
    if (port_) {
      Status s = Attach(cluster.network);
      if (!s.ok()) return Named(*part, "", s);
    }
    Result<std::optional<std::map<std::string, std::string>>> p = ShowPartition(*part);
    if (!p.ok()) return Named(*part, "", p.status());
    Status s;
    if (!p->has_value()) {
      s = Scontrol({"create", "PartitionName=" + *part, "State=UP"});
    } else if ((**p)["State"] != "UP") {
      s = Scontrol({"update", "PartitionName=" + *part, "State=UP"});
    }
    return s.ok() ? s : Named(*part, "", s);
  }

  Status AddNode(const ClusterSpec& cluster, const ClusterMember& member) override {
    Result<std::string> part = PartitionOf(cluster);
    if (!part.ok()) return part.status();
    Status valid = CheckMember(*part, member);
    if (!valid.ok()) return valid;
    Status s = RegisterNode(member);
    if (!s.ok()) return Named(*part, member.node, s);
    std::lock_guard<std::mutex> lock(*LockFor(*part));
    Result<std::optional<std::vector<std::string>>> nodes = PartitionNodes(*part);
    if (!nodes.ok()) return Named(*part, member.node, nodes.status());
    if (!nodes->has_value()) {
      return FailedPreconditionError("partition " + *part + " does not exist in Slurm (node " +
                                     member.node + " cannot join it); EnsureCluster first");
    }
    std::vector<std::string> list = **nodes;
    for (const std::string& n : list) {
      if (n == member.node) return Status::Ok();
    }
    list.push_back(member.node);
    s = SetPartitionNodes(*part, list);
    return s.ok() ? s : Named(*part, member.node, s);
  }

  Result<bool> NodeReady(const ClusterSpec& cluster, const ClusterMember& member) override {
    Result<std::string> part = PartitionOf(cluster);
    if (!part.ok()) return part.status();
    if (!IsSlurmName(member.node)) return BadNode(member.node);
    // sinfo lists a node of the partition once it is neither FUTURE nor unknown.
    Result<ProcessResult> r =
        Slurm("sinfo", {"-h", "-N", "-p", *part, "-n", member.node, "-o", "%t"});
    if (!r.ok()) return Named(*part, member.node, r.status());
    if (r->exit_code != 0) {
      if (Contains(r->err, "Invalid node name")) return false;
      return Named(*part, member.node, Failure("sinfo", *r));
    }
    std::istringstream in(r->out);
    for (std::string state; in >> state;) {
      if (state == "idle") return true;
    }
    return false;
  }

  Status VerifyNode(const ClusterSpec& cluster, const ClusterMember& member) override {
    Result<std::string> part = PartitionOf(cluster);
    if (!part.ok()) return part.status();
    if (!IsSlurmName(member.node)) return BadNode(member.node);
    // --immediate: a node that cannot take the job now fails it instead of queueing it.
    const int wait = std::max(1, static_cast<int>(o_.timeout_seconds) - 2);
    Result<ProcessResult> r = Slurm("srun", {"-N1", "-n1", "-w", member.node, "-p", *part,
                                             "--immediate=" + std::to_string(wait), "hostname"});
    if (!r.ok()) return Named(*part, member.node, r.status());
    if (r->exit_code != 0) return Named(*part, member.node, Failure("srun", *r));
    const std::string printed = Trim(r->out);
    if (printed != member.node) {
      return Named(
          *part, member.node,
          InternalError("a job on it printed \"" + printed.substr(0, 100) + "\", not its name"));
    }
    return Status::Ok();
  }

  Status RemoveNode(const ClusterSpec& cluster, const std::string& node) override {
    Result<std::string> part = PartitionOf(cluster);
    if (!part.ok()) return part.status();
    if (!IsSlurmName(node)) return BadNode(node);
    Status s = Remove(*part, node);
    return s.ok() ? s : Named(*part, node, s);
  }

  Status RemoveCluster(const ClusterSpec& cluster) override {
    Result<std::string> part = PartitionOf(cluster);
    if (!part.ok()) return part.status();
    std::lock_guard<std::mutex> lock(*LockFor(*part));
    Result<std::optional<std::vector<std::string>>> nodes = PartitionNodes(*part);
    if (!nodes.ok()) return Named(*part, "", nodes.status());
    if (nodes->has_value()) {
      // Another cluster of the project still has machines in it: it stays, and so does the
      // controller's port on the project's network.
      if (!(*nodes)->empty()) return Status::Ok();
      Status s = Scontrol({"delete", "PartitionName=" + *part});
      if (!s.ok()) return Named(*part, "", s);
    }
    if (port_) {
      Status s = port_->Unplug(PortSpec(cluster.network, ""));
      if (!s.ok()) return Named(*part, "", s);
    }
    return Status::Ok();
  }

  ClusterAccess Access(const ClusterSpec& cluster) override {
    ClusterAccess a;
    a["partition"] = SlurmPartitionName(cluster.tenant, cluster.project);
    a["controller"] = port_ ? ServiceAddress(cluster.network) : ControllerFromConf();
    return a;
  }

 private:
  // ---- names and checks ----

  static Result<std::string> PartitionOf(const ClusterSpec& cluster) {
    std::string name = SlurmPartitionName(cluster.tenant, cluster.project);
    if (!IsSlurmName(name)) {
      return InvalidArgumentError("partition \"" + name + "\" (tenant \"" + cluster.tenant +
                                  "\", project \"" + cluster.project +
                                  "\") is not a name Slurm can take (letters, digits and -_. "
                                  "only, at most 64)");
    }
    return name;
  }

  static Status BadNode(const std::string& node) {
    return InvalidArgumentError("node \"" + node +
                                "\" is not a name Slurm can take (letters, digits and -_. only)");
  }

  static Status CheckMember(const std::string& part, const ClusterMember& m) {
    if (!IsSlurmName(m.node)) return BadNode(m.node);
    std::string who = "node " + m.node + " (partition " + part + ")";
    if (m.address.empty() || !IsSlurmName(m.address))
      return InvalidArgumentError(who + ": no usable address \"" + m.address + "\"");
    if (m.cpus <= 0) return InvalidArgumentError(who + ": its class gives no CPUs");
    if (!(m.memory_gib > 0)) return InvalidArgumentError(who + ": its class gives no memory");
    return Status::Ok();
  }

  // Puts the partition and node in front of a message that does not name them yet.
  static Status Named(const std::string& part, const std::string& node, const Status& s) {
    std::string who =
        node.empty() ? "partition " + part : "node " + node + " (partition " + part + ")";
    if (s.message().rfind(who, 0) == 0) return s;
    return Status(s.code(), who + ": " + s.message());
  }

  std::shared_ptr<std::mutex> LockFor(const std::string& part) {
    std::lock_guard<std::mutex> lock(locks_mu_);
    auto& m = locks_[part];
    if (!m) m = std::make_shared<std::mutex>();
    return m;
  }

  // ---- running Slurm's programs ----

  Result<ProcessResult> Slurm(const std::string& program, const std::vector<std::string>& args,
                              double timeout_seconds = 0) const {
    std::vector<std::string> argv;
    if (!o_.controller_ns.empty()) argv = {"nsenter", "--net=/run/netns/" + o_.controller_ns};
    argv.push_back(o_.bin.empty() ? program : (fs::path(o_.bin) / program).string());
    argv.insert(argv.end(), args.begin(), args.end());
    ProcessOptions po;
    po.timeout_seconds = timeout_seconds > 0 ? timeout_seconds : o_.timeout_seconds;
    if (!o_.conf.empty()) po.env["SLURM_CONF"] = o_.conf;
    Result<ProcessResult> r = RunProcess(argv, po);
    if (!r.ok() && r.status().code() == StatusCode::kDeadlineExceeded) {
      return UnavailableError(program + " got no answer from slurmctld within " +
                              std::to_string(static_cast<int>(po.timeout_seconds)) + " s");
    }
    if (r.ok() && r->exit_code != 0 && ControllerUnreachable(r->err + r->out)) {
      return UnavailableError("slurmctld does not answer: " + FirstLine(*r));
    }
    return r;
  }

  static Status Failure(const std::string& what, const ProcessResult& r) {
    return InternalError(what + ": " + FirstLine(r));
  }

  Status Scontrol(const std::vector<std::string>& args) const {
    Result<ProcessResult> r = Slurm("scontrol", args);
    if (!r.ok()) return r.status();
    if (r->exit_code != 0) return Failure("scontrol " + args.front(), *r);
    return Status::Ok();
  }

  // One record of `scontrol show <kind> -o <name>`; nullopt when Slurm does not know the name.
  Result<std::optional<std::map<std::string, std::string>>> ShowRecord(
      const std::string& kind, const std::string& name) const {
    // --future: a node created but whose slurmd has not registered yet is hidden otherwise.
    Result<ProcessResult> r = Slurm("scontrol", {"--future", "show", kind, "-o", name});
    if (!r.ok()) return r.status();
    const std::string text = r->err + r->out;
    if (r->exit_code != 0) {
      if (Contains(text, "not found") || Contains(text, "Invalid node name"))
        return std::optional<std::map<std::string, std::string>>();
      return Failure("scontrol show " + kind, *r);
    }
    return std::optional<std::map<std::string, std::string>>(Record(r->out));
  }

  Result<std::optional<std::map<std::string, std::string>>> ShowPartition(
      const std::string& part) const {
    return ShowRecord("partition", part);
  }

  // The partition's nodes, its host list expanded by Slurm itself; nullopt when it does not exist.
  Result<std::optional<std::vector<std::string>>> PartitionNodes(const std::string& part) const {
    Result<std::optional<std::map<std::string, std::string>>> p = ShowPartition(part);
    if (!p.ok()) return p.status();
    if (!p->has_value()) return std::optional<std::vector<std::string>>();
    const std::string list = (**p)["Nodes"];
    std::vector<std::string> nodes;
    if (list.empty() || list == "(null)") return std::optional<std::vector<std::string>>(nodes);
    Result<ProcessResult> r = Slurm("scontrol", {"show", "hostnames", list});
    if (!r.ok()) return r.status();
    if (r->exit_code != 0) return Failure("scontrol show hostnames " + list, *r);
    std::istringstream in(r->out);
    for (std::string n; in >> n;) nodes.push_back(n);
    return std::optional<std::vector<std::string>>(nodes);
  }

  Status SetPartitionNodes(const std::string& part, const std::vector<std::string>& nodes) const {
    std::string list;
    for (const std::string& n : nodes) list += (list.empty() ? "" : ",") + n;
    return Scontrol({"update", "PartitionName=" + part, "Nodes=" + list});
  }

  // ---- the calls ----

  Status RegisterNode(const ClusterMember& m) const {
    Result<std::optional<std::map<std::string, std::string>>> node = ShowRecord("node", m.node);
    if (!node.ok()) return node.status();
    if (node->has_value()) {
      // Registered already (by us, or by its own slurmd): only its address must be ours.
      if ((**node)["NodeAddr"] == m.address) return Status::Ok();
      return Scontrol({"update", "NodeName=" + m.node, "NodeAddr=" + m.address});
    }
    const long mib = static_cast<long>(std::floor(m.memory_gib * 1024));
    Result<ProcessResult> r =
        Slurm("scontrol", {"create", "NodeName=" + m.node, "NodeAddr=" + m.address,
                           "CPUs=" + std::to_string(m.cpus), "RealMemory=" + std::to_string(mib),
                           "State=FUTURE"});
    if (!r.ok()) return r.status();
    if (r->exit_code != 0 && !Contains(r->err + r->out, "already exists"))
      return Failure("scontrol create", *r);
    return Status::Ok();
  }

  Status Remove(const std::string& part, const std::string& node) {
    Result<std::optional<std::map<std::string, std::string>>> info = ShowRecord("node", node);
    if (!info.ok()) return info.status();
    if (!info->has_value()) return Status::Ok();  // Slurm does not know it: removed already
    const std::string state = (**info)["State"];
    const auto deadline = Clock::now() + std::chrono::milliseconds(
                                             static_cast<int64_t>(o_.drain_timeout_seconds * 1000));
    // Drained, Slurm starts nothing new on it; a FUTURE node (its slurmd never came) runs nothing.
    if (!Contains(state, "FUTURE") && !Contains(state, "DRAIN")) {
      Status s = Scontrol(
          {"update", "NodeName=" + node, "State=DRAIN", "Reason=handed back by topoplace"});
      if (!s.ok()) return s;
    }
    std::string jobs;
    while (true) {
      Result<ProcessResult> q = Slurm("squeue", {"-h", "-w", node, "-o", "%i"});
      if (!q.ok()) return q.status();
      if (q->exit_code != 0) {
        if (!Contains(q->err, "Invalid node name")) return Failure("squeue", *q);
        jobs.clear();
      } else {
        jobs = Trim(q->out);
      }
      if (jobs.empty() || Clock::now() >= deadline) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
    }
    if (!jobs.empty()) {
      for (char& c : jobs) c = c == '\n' ? ' ' : c;
      return UnavailableError("still runs job(s) " + jobs + " after " +
                              std::to_string(static_cast<int>(o_.drain_timeout_seconds)) +
                              " s of draining");
    }
    {
      std::lock_guard<std::mutex> lock(*LockFor(part));
      Result<std::optional<std::vector<std::string>>> nodes = PartitionNodes(part);
      if (!nodes.ok()) return nodes.status();
      if (nodes->has_value()) {
        std::vector<std::string> kept;
        for (const std::string& n : **nodes) {
          if (n != node) kept.push_back(n);
        }
        if (kept.size() != (*nodes)->size()) {
          Status s = SetPartitionNodes(part, kept);
          if (!s.ok()) return s;
        }
      }
    }
    // A job that just ended leaves the node busy (completing) for a moment: retry until the bound.
    while (true) {
      Result<ProcessResult> r = Slurm("scontrol", {"delete", "NodeName=" + node});
      if (!r.ok()) return r.status();
      const std::string text = r->err + r->out;
      if (r->exit_code == 0 || Contains(text, "Invalid node name")) break;
      if (!Contains(text, "busy") || Clock::now() >= deadline) {
        std::string words = Trim(text);
        if (size_t nl = words.rfind('\n'); nl != std::string::npos) words = words.substr(nl + 1);
        return InternalError("scontrol delete: " + words);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
    }
    Result<std::optional<std::map<std::string, std::string>>> after = ShowRecord("node", node);
    if (!after.ok()) return after.status();
    if (after->has_value()) return InternalError("Slurm still lists the node after deleting it");
    return Status::Ok();
  }

  // ---- the controller on tenant networks ----

  NetnsPortSpec PortSpec(const TenantNetwork& network, const std::string& address) const {
    SlurmControllerPortNames names = SlurmControllerPortFor(network.id);
    NetnsPortSpec spec;
    spec.netns = o_.controller_ns;
    spec.inner_port = names.inner_port;
    spec.switch_port = names.switch_port;
    spec.vlan = network.vlan;
    spec.address = address;
    return spec;
  }

  Status Attach(const TenantNetwork& network) const {
    if (network.vlan < 1 || network.vlan > 4094)
      return InvalidArgumentError("network " + network.id + ": VLAN " +
                                  std::to_string(network.vlan) + " is not in 1..4094");
    const std::string address = ServiceAddress(network);
    const size_t slash = network.subnet.find('/');
    if (address.empty() || slash == std::string::npos) {
      return InvalidArgumentError("network " + network.id + ": subnet \"" + network.subnet +
                                  "\" keeps no address for the controller");
    }
    Status s = port_->Plug(PortSpec(network, address + network.subnet.substr(slash)));
    return s.ok() ? s : Status(s.code(), "network " + network.id + ": " + s.message());
  }

  // SlurmctldHost's address from `conf` ("name(address)" or "name"); "" when unreadable.
  std::string ControllerFromConf() const {
    std::ifstream in(o_.conf);
    for (std::string line; std::getline(in, line);) {
      line = Trim(line);
      for (const char* key : {"SlurmctldHost=", "ControlMachine="}) {
        const std::string k = key;
        if (line.size() <= k.size() || line.compare(0, k.size(), k) != 0) continue;
        std::string v = line.substr(k.size());
        v = v.substr(0, v.find_first_of(" \t#"));
        const size_t open = v.find('('), close = v.find(')');
        if (open != std::string::npos && close != std::string::npos && close > open)
          return v.substr(open + 1, close - open - 1);
        return v;
      }
    }
    return "";
  }

  Options o_;
  std::optional<NetnsPort> port_;
  std::mutex locks_mu_;
  std::map<std::string, std::shared_ptr<std::mutex>> locks_;
};

}  // namespace

std::string SlurmPartitionName(const std::string& tenant, const std::string& project) {
  return tenant + "-" + std::string(ProjectName(project));
}

SlurmControllerPortNames SlurmControllerPortFor(const std::string& network_id) {
  char hex[9];
  std::snprintf(hex, sizeof hex, "%08" PRIx32, Fnv1a32(network_id));
  return {std::string("tps") + hex, std::string("tpc") + hex};
}

Result<std::unique_ptr<ClusterDriver>> MakeSlurmDriver(const DriverOptions& options) {
  static const std::set<std::string> kKnown = {"conf",           "controllerNamespace", "bin",
                                               "timeoutSeconds", "drainTimeoutSeconds", "bridge",
                                               "ovsdb",          "switchNamespace"};
  for (const auto& [key, value] : options) {
    if (!kKnown.count(key)) {
      std::string known;
      for (const std::string& k : kKnown) known += (known.empty() ? "" : ", ") + k;
      return InvalidArgumentError("slurm driver: unknown option \"" + key + "\"; expected one of " +
                                  known);
    }
  }
  auto get = [&](const char* key) {
    auto it = options.find(key);
    return it == options.end() ? std::string() : it->second;
  };
  Options o;
  o.conf = get("conf");
  o.controller_ns = get("controllerNamespace");
  o.bin = get("bin");
  o.bridge = get("bridge");
  o.switch_ns = get("switchNamespace");
  o.ovsdb = get("ovsdb");
  if (!o.conf.empty() && !fs::path(o.conf).is_absolute())
    return InvalidArgumentError("slurm driver: conf \"" + o.conf + "\" is not an absolute path");
  if (!o.bin.empty() && !fs::path(o.bin).is_absolute())
    return InvalidArgumentError("slurm driver: bin \"" + o.bin + "\" is not an absolute path");
  if (!o.controller_ns.empty() &&
      (o.controller_ns.find('/') != std::string::npos || o.controller_ns[0] == '.')) {
    return InvalidArgumentError("slurm driver: controllerNamespace \"" + o.controller_ns +
                                "\" is not a namespace name");
  }
  if (!o.bridge.empty() && !IsDeviceName(o.bridge))
    return InvalidArgumentError("slurm driver: bridge \"" + o.bridge + "\" is not a bridge name");
  struct Bound {
    const char* key;
    double* value;
  };
  for (const Bound& b : {Bound{"timeoutSeconds", &o.timeout_seconds},
                         Bound{"drainTimeoutSeconds", &o.drain_timeout_seconds}}) {
    Result<double> v = NumberOption(options, b.key, *b.value);
    if (!v.ok()) return Status(v.status().code(), "slurm driver: " + v.status().message());
    if (*v <= 0)
      return InvalidArgumentError(std::string("slurm driver: ") + b.key + " must be positive");
    *b.value = *v;
  }
  std::optional<NetnsPort> port;
  if (!o.bridge.empty()) {
    port.emplace(o.bridge, o.switch_ns, OvsVsctl("ovs-vsctl", o.ovsdb, o.timeout_seconds),
                 o.timeout_seconds);
  }
  return std::unique_ptr<ClusterDriver>(new SlurmDriver(std::move(o), std::move(port)));
}

}  // namespace topoplace
