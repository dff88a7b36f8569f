#include "tests/executors/slurm_peer.h"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

namespace topoplace::testing {
namespace {

namespace fs = std::filesystem;

std::string SourceDir() {
  const char* s = std::getenv("TOPOPLACE_SOURCE_DIR");
  return s ? s : TOPOPLACE_SOURCE_DIR_DEFAULT;
}

std::string Joined(const std::vector<std::string>& argv) {
  std::string s;
  for (const std::string& a : argv) s += (s.empty() ? "" : " ") + a;
  return s;
}

Status Must(const std::vector<std::string>& argv, double timeout_seconds = 10) {
  ProcessOptions po;
  po.timeout_seconds = timeout_seconds;
  Result<ProcessResult> r = RunProcess(argv, po);
  if (!r.ok()) return Status(r.status().code(), Joined(argv) + ": " + r.status().message());
  if (r->exit_code != 0) return InternalError(Joined(argv) + ": " + FirstLine(*r));
  return Status::Ok();
}

std::string Base36(unsigned long v) {
  std::string s;
  do {
    s.insert(s.begin(), "0123456789abcdefghijklmnopqrstuvwxyz"[v % 36]);
    v /= 36;
  } while (v != 0);
  return s;
}

std::string ReadText(const fs::path& p) {
  std::ifstream in(p);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// True while `pid` runs a program whose command line contains `what`.
// The process exists and has not exited (whatever it runs: right after the spawn it may not have
// reached its exec yet).
bool Alive(int pid) {
  if (pid <= 1) return false;
  std::string stat = ReadText("/proc/" + std::to_string(pid) + "/stat");
  size_t paren = stat.rfind(')');
  return paren != std::string::npos && paren + 2 < stat.size() && stat[paren + 2] != 'Z';
}

bool Runs(int pid, const std::string& what) {
  if (!Alive(pid)) return false;
  return ReadText("/proc/" + std::to_string(pid) + "/cmdline").find(what) != std::string::npos;
}

void StopPid(int pid, const std::string& what) {
  if (!Runs(pid, what)) return;
  kill(pid, SIGTERM);
  for (int i = 0; i < 300 && Runs(pid, what); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  if (Runs(pid, what)) kill(pid, SIGKILL);
  for (int i = 0; i < 200 && Runs(pid, what); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
}

int PidIn(const fs::path& file) { return std::atoi(ReadText(file).c_str()); }

std::string Trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t\r\n") - b + 1);
}

}  // namespace

Result<std::unique_ptr<SlurmPeer>> SlurmPeer::Start(const SlurmPeerOptions& options) {
  if (geteuid() != 0) return FailedPreconditionError("the SLURM test peer needs root");
  std::unique_ptr<SlurmPeer> p(new SlurmPeer());
  Status s = p->Setup(options);
  if (!s.ok()) return s;
  return p;
}

Status SlurmPeer::Setup(const SlurmPeerOptions& options) {
  char tmpl[] = "/tmp/tpslurm-XXXXXX";
  if (mkdtemp(tmpl) == nullptr) return InternalError("mkdtemp failed");
  dir_ = tmpl;
  ::chmod(dir_.c_str(), 0755);
  prefix_ = "ts" + Base36(static_cast<unsigned long>(getpid()));
  const fs::path d(dir_);
  for (const char* sub : {"state", "spool", "log", "run", "munge/etc", "munge/run"})
    fs::create_directories(d / sub);
  ::chmod((d / "munge/etc").c_str(), 0700);
  ::chmod((d / "munge").c_str(), 0755);
  ::chmod((d / "munge/run").c_str(), 0755);

  // munge: a private key, and the socket under the default name so that a configless slurmd
  // (which has no AuthInfo before it fetched the configuration) finds it in its private /run.
  {
    std::ifstream rnd("/dev/urandom", std::ios::binary);
    std::string key(1024, '\0');
    rnd.read(key.data(), static_cast<std::streamsize>(key.size()));
    std::ofstream out(d / "munge/etc/munge.key", std::ios::binary);
    out << key;
  }
  ::chmod((d / "munge/etc/munge.key").c_str(), 0400);
  Status s = Must({"munged", "--key-file=" + (d / "munge/etc/munge.key").string(),
                   "--socket=" + (d / "munge/run/munge.socket.2").string(),
                   "--pid-file=" + (d / "munge/run/munged.pid").string(),
                   "--log-file=" + (d / "munge/munged.log").string(),
                   "--seed-file=" + (d / "munge/etc/munged.seed").string()});
  if (!s.ok()) return s;

  ctl_netns_ = prefix_ + "-ctl";
  s = Must({"ip", "netns", "add", ctl_netns_});
  if (!s.ok()) return s;
  netns_.push_back(ctl_netns_);
  s = Must({"ip", "-n", ctl_netns_, "link", "set", "lo", "up"});
  if (s.ok() && !options.bridge_cidr.empty()) {
    ctl_address_ = options.bridge_cidr.substr(0, options.bridge_cidr.find('/'));
    s = Must({"ip", "-n", ctl_netns_, "link", "add", "br0", "type", "bridge"});
    if (s.ok())
      s = Must({"ip", "-n", ctl_netns_, "addr", "add", options.bridge_cidr, "dev", "br0"});
    if (s.ok()) s = Must({"ip", "-n", ctl_netns_, "link", "set", "br0", "up"});
  } else if (s.ok()) {
    ctl_address_ = options.loopback_address;
    if (ctl_address_.empty()) return InvalidArgumentError("SlurmPeer: no controller address");
    s = Must({"ip", "-n", ctl_netns_, "addr", "add", ctl_address_ + "/32", "dev", "lo"});
  }
  if (!s.ok()) return s;

  conf_ = (d / "slurm.conf").string();
  std::ofstream conf(conf_);
  conf << "ClusterName=topoplace\n"
       << "SlurmctldHost=ctl(" << ctl_address_ << ")\n"
       << "SlurmUser=root\nSlurmdUser=root\n"
       << "AuthType=auth/munge\nCredType=cred/munge\n"
       << "AuthInfo=socket=" << (d / "munge/run/munge.socket.2").string() << "\n"
       << "StateSaveLocation=" << (d / "state").string() << "\n"
       << "SlurmdSpoolDir=" << (d / "spool").string() << "/%n\n"
       << "SlurmctldPidFile=" << (d / "run/slurmctld.pid").string() << "\n"
       << "SlurmdPidFile=" << (d / "run").string() << "/slurmd-%n.pid\n"
       << "SlurmctldLogFile=" << (d / "log/slurmctld.log").string() << "\n"
       << "SlurmdLogFile=" << (d / "log").string()
       << "/slurmd-%n.log\n"
       // Configless nodes, dynamic nodes, a node's resources as registered even beyond the
       // hardware of this test machine (a node class of 16 cores on a 2-core machine).
       << "SlurmctldParameters=enable_configless\n"
       << "SlurmdParameters=config_overrides\n"
       << "MaxNodeCount=256\nTreeWidth=65533\n"
       << "ProctrackType=proctrack/linuxproc\nTaskPlugin=task/none\n"
       << "JobAcctGatherType=jobacct_gather/none\nAccountingStorageType=accounting_storage/none\n"
       << "JobCompType=jobcomp/none\nMpiDefault=none\nMailProg=/bin/true\n"
       << "SelectType=select/cons_tres\nSelectTypeParameters=CR_Core\n"
       << "ReturnToService=2\nSlurmdTimeout=30\nInactiveLimit=0\nKillWait=2\n"
       // slurmctld needs one partition in its configuration; the driver makes the real ones.
       << "PartitionName=lobby State=INACTIVE Hidden=YES\n";
  conf.close();

  // slurmctld checks that its host name is SlurmctldHost's: give it its own.
  Result<int> pid =
      SpawnDaemon({"nsenter", "--net=/run/netns/" + ctl_netns_, "unshare", "--uts", "env",
                   "SLURM_CONF=" + conf_, "sh", "-c", "hostname ctl && exec slurmctld -D -i"},
                  (d / "log/slurmctld.out").string());
  if (!pid.ok()) return pid.status();
  slurmctld_pid_ = *pid;
  for (int i = 0; i < 200; ++i) {
    Result<ProcessResult> r = Client("scontrol", {"ping"}, 5);
    if (r.ok() && r->exit_code == 0 && r->out.find("is UP") != std::string::npos)
      return Status::Ok();
    if (!Alive(slurmctld_pid_)) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return InternalError("slurmctld did not come up; see " + (d / "log/slurmctld.log").string() +
                       ": " + ReadText(d / "log/slurmctld.out").substr(0, 500));
}

SlurmPeer::~SlurmPeer() {
  std::error_code ec;
  for (fs::directory_iterator it(fs::path(dir_) / "run", ec), end; !ec && it != end;
       it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.rfind("slurmd-", 0) == 0) StopPid(PidIn(it->path()), "slurmd");
  }
  StopPid(slurmctld_pid_, "slurmctld");
  StopPid(PidIn(fs::path(dir_) / "munge/run/munged.pid"), "munged");
  // What else still runs in our namespaces (a job's slurmstepd outliving its slurmd).
  for (const std::string& ns : netns_) {
    Result<ProcessResult> pids = RunProcess({"ip", "netns", "pids", ns});
    std::istringstream in(pids.ok() ? pids->out : "");
    for (int pid = 0; in >> pid;) {
      if (pid > 1) kill(pid, SIGKILL);
    }
  }
  for (const std::string& ns : netns_) (void)RunProcess({"ip", "netns", "del", ns});
  if (!dir_.empty() && std::getenv("TOPOPLACE_KEEP_PEER_DIRS") == nullptr) fs::remove_all(dir_, ec);
}

Result<std::string> SlurmPeer::AddBridgedNode(const std::string& node, const std::string& cidr) {
  const std::string ns = prefix_ + "-" + node;
  const std::string host_end = "h" + prefix_.substr(0, 8) + std::to_string(netns_.size());
  Status s = Must({"ip", "netns", "add", ns});
  if (!s.ok()) return s;
  netns_.push_back(ns);
  s = Must({"ip", "-n", ns, "link", "set", "lo", "up"});
  if (s.ok())
    s = Must({"ip", "link", "add", host_end, "netns", ctl_netns_, "type", "veth", "peer", "name",
              "eth0", "netns", ns});
  if (s.ok()) s = Must({"ip", "-n", ctl_netns_, "link", "set", host_end, "master", "br0", "up"});
  if (s.ok()) s = Must({"ip", "-n", ns, "addr", "add", cidr, "dev", "eth0"});
  if (s.ok()) s = Must({"ip", "-n", ns, "link", "set", "eth0", "up"});
  if (!s.ok()) return s;
  return ns;
}

std::string SlurmPeer::PidFile(const std::string& node) const {
  return dir_ + "/run/slurmd-" + node + ".pid";
}

std::string SlurmPeer::SlurmdBootCommand(const std::string& netns, const std::string& node,
                                         int cpus, long mib, const std::string& conf_server) const {
  return SourceDir() + "/tests/peers/slurmd_boot.sh " + dir_ + " " + netns + " " + node + " " +
         std::to_string(cpus) + " " + std::to_string(mib) + " " +
         (conf_server.empty() ? ctl_address_ : conf_server) + " " + ctl_address_;
}

std::string SlurmPeer::SlurmdStopCommand(const std::string& node) const {
  const std::string f = PidFile(node);
  return "[ -f " + f + " ] && kill $(cat " + f + ") 2>/dev/null; rm -f " + f;
}

Status SlurmPeer::StartSlurmd(const std::string& netns, const std::string& node, int cpus, long mib,
                              const std::string& conf_server) {
  Status s = Must({"/bin/sh", "-c", SlurmdBootCommand(netns, node, cpus, mib, conf_server)}, 30);
  if (!s.ok()) return s;
  for (int i = 0; i < 200; ++i) {
    if (SlurmdPid(node) != 0) return Status::Ok();
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return InternalError("slurmd of " + node + " wrote no PID file; see " + dir_ + "/log/slurmd-" +
                       node + ".log");
}

int SlurmPeer::SlurmdPid(const std::string& node) const {
  int pid = PidIn(PidFile(node));
  return Runs(pid, "slurmd") ? pid : 0;
}

void SlurmPeer::StopSlurmd(const std::string& node) {
  StopPid(SlurmdPid(node), "slurmd");
  std::error_code ec;
  fs::remove(PidFile(node), ec);
}

void SlurmPeer::StopController() { StopPid(slurmctld_pid_, "slurmctld"); }

Result<ProcessResult> SlurmPeer::Client(const std::string& program,
                                        const std::vector<std::string>& args,
                                        double timeout_seconds) const {
  std::vector<std::string> argv = {"nsenter", "--net=/run/netns/" + ctl_netns_, program};
  argv.insert(argv.end(), args.begin(), args.end());
  ProcessOptions po;
  po.timeout_seconds = timeout_seconds;
  po.env["SLURM_CONF"] = conf_;
  return RunProcess(argv, po);
}

bool SlurmPeer::PartitionExists(const std::string& partition) const {
  Result<ProcessResult> r = Client("scontrol", {"show", "partition", "-o", partition});
  return r.ok() && r->exit_code == 0 &&
         r->out.find("PartitionName=" + partition) != std::string::npos;
}

std::vector<std::string> SlurmPeer::PartitionNodes(const std::string& partition) const {
  std::vector<std::string> nodes;
  Result<ProcessResult> r = Client("scontrol", {"show", "partition", "-o", partition});
  if (!r.ok() || r->exit_code != 0) return nodes;
  std::istringstream words(r->out);
  std::string list;
  for (std::string w; words >> w;) {
    if (w.rfind("Nodes=", 0) == 0) list = w.substr(6);
  }
  if (list.empty() || list == "(null)") return nodes;
  Result<ProcessResult> h = Client("scontrol", {"show", "hostnames", list});
  if (!h.ok()) return nodes;
  std::istringstream in(h->out);
  for (std::string n; in >> n;) nodes.push_back(n);
  return nodes;
}

std::map<std::string, std::string> SlurmPeer::Node(const std::string& node) const {
  std::map<std::string, std::string> fields;
  Result<ProcessResult> r = Client("scontrol", {"--future", "show", "node", "-o", node});
  if (!r.ok() || r->exit_code != 0) return fields;
  std::istringstream words(Trim(r->out));
  for (std::string w; words >> w;) {
    size_t eq = w.find('=');
    if (eq != std::string::npos && eq > 0) fields.emplace(w.substr(0, eq), w.substr(eq + 1));
  }
  if (fields["NodeName"] != node) fields.clear();
  return fields;
}

}  // namespace topoplace::testing
