#include "tests/executors/fabric_peer.h"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "executors/process.h"

namespace topoplace::testing {
namespace {

namespace fs = std::filesystem;

constexpr const char* kSchema = "/usr/share/openvswitch/vswitch.ovsschema";

std::string Trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r\n\"");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t\r\n\"") - b + 1);
}

std::string Joined(const std::vector<std::string>& argv) {
  std::string s;
  for (const std::string& a : argv) s += (s.empty() ? "" : " ") + a;
  return s;
}

// Runs a setup command that must work; the command and its own words otherwise.
Status Must(const std::vector<std::string>& argv, const ProcessOptions& po = {}) {
  Result<ProcessResult> r = RunProcess(argv, po);
  if (!r.ok()) return Status(r.status().code(), Joined(argv) + ": " + r.status().message());
  if (r->exit_code != 0) return InternalError(Joined(argv) + ": " + FirstLine(*r));
  return Status::Ok();
}

bool OnPath(const std::string& program) {
  const char* path = std::getenv("PATH");
  std::string dirs = std::string(path ? path : "") + ":/usr/sbin:/sbin:/usr/bin:/bin";
  std::istringstream in(dirs);
  std::string d;
  while (std::getline(in, d, ':')) {
    if (!d.empty() && access((d + "/" + program).c_str(), X_OK) == 0) return true;
  }
  return false;
}

std::string Base36(unsigned long v) {
  std::string s;
  do {
    s.insert(s.begin(), "0123456789abcdefghijklmnopqrstuvwxyz"[v % 36]);
    v /= 36;
  } while (v != 0);
  return s;
}

bool Alive(int pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text;
  if (!std::getline(stat, text)) return false;
  size_t paren = text.rfind(')');
  return paren != std::string::npos && paren + 2 < text.size() && text[paren + 2] != 'Z';
}

void StopPid(int pid) {
  if (pid <= 1) return;
  kill(pid, SIGTERM);
  for (int i = 0; i < 200 && Alive(pid); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  if (Alive(pid)) kill(pid, SIGKILL);
  for (int i = 0; i < 200 && Alive(pid); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
}

void StopPidFile(const fs::path& file) {
  std::ifstream in(file);
  int pid = 0;
  if (in >> pid) StopPid(pid);
}

// Live processes (not us) whose NUL-separated command line satisfies `match`.
template <typename Match>
std::vector<int> ProcessesWhere(Match match) {
  std::vector<int> pids;
  std::error_code ec;
  for (fs::directory_iterator it("/proc", ec), end; !ec && it != end; it.increment(ec)) {
    const fs::directory_entry& entry = *it;
    std::string name = entry.path().filename().string();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    int pid = std::atoi(name.c_str());
    if (pid == getpid() || !Alive(pid)) continue;
    std::ifstream in(entry.path() / "cmdline", std::ios::binary);
    std::string cmd((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (match(cmd)) pids.push_back(pid);
  }
  return pids;
}

}  // namespace

Result<std::unique_ptr<FabricPeer>> FabricPeer::Start(int nodes, int quarantine_vlan) {
  if (geteuid() != 0)
    return FailedPreconditionError("the fabric peer needs root (namespaces, veths)");
  for (const char* program : {"ip", "ethtool", "ping", "busybox", "ovsdb-tool", "ovsdb-server",
                              "ovs-vswitchd", "ovs-vsctl", "dnsmasq"}) {
    if (!OnPath(program)) {
      return FailedPreconditionError(std::string("program ") + program +
                                     " is not installed (scripts/install-deps.sh installs it)");
    }
  }
  if (!fs::exists(kSchema)) return FailedPreconditionError(std::string(kSchema) + " is missing");
  std::unique_ptr<FabricPeer> peer(new FabricPeer());
  Status s = peer->Setup(nodes, quarantine_vlan);
  if (!s.ok()) return s;  // the destructor removes what was made
  return peer;
}

Status FabricPeer::Setup(int nodes, int quarantine_vlan) {
  prefix_ = "tn" + Base36(static_cast<unsigned long>(getpid()));
  switch_netns_ = prefix_ + "sw";
  char tmpl[] = "/tmp/topoplace-fabric-XXXXXX";
  if (mkdtemp(tmpl) == nullptr) return InternalError("mkdtemp failed");
  dir_ = tmpl;
  // The DHCP servers of the tests keep their state below; dnsmasq reads it after giving up root.
  chmod(dir_.c_str(), 0755);
  for (const char* sub : {"run", "log", "db"}) fs::create_directories(fs::path(dir_) / sub);
  ovsdb_ = "unix:" + dir_ + "/run/db.sock";

  // Leftovers of an earlier process that had our PID.
  for (int i = 0; i < nodes; ++i)
    RunProcess({"ip", "netns", "del", prefix_ + "n" + std::to_string(i)});
  RunProcess({"ip", "netns", "del", switch_netns_});

  ProcessOptions ovs;
  ovs.env = {
      {"OVS_RUNDIR", dir_ + "/run"}, {"OVS_LOGDIR", dir_ + "/log"}, {"OVS_DBDIR", dir_ + "/db"}};
  Status s = Must({"ovsdb-tool", "create", dir_ + "/db/conf.db", kSchema}, ovs);
  if (s.ok()) {
    s = Must({"ovsdb-server", dir_ + "/db/conf.db", "--remote=punix:" + dir_ + "/run/db.sock",
              "--pidfile=" + dir_ + "/run/ovsdb-server.pid", "--detach",
              "--log-file=" + dir_ + "/log/ovsdb-server.log"},
             ovs);
  }
  if (s.ok()) s = Must({"ovs-vsctl", "--db=" + ovsdb_, "--timeout=10", "--no-wait", "init"}, ovs);
  if (s.ok()) s = Must({"ip", "netns", "add", switch_netns_});
  if (s.ok()) s = Must({"ip", "-n", switch_netns_, "link", "set", "lo", "up"});
  if (s.ok()) {
    s = Must({"ip", "netns", "exec", switch_netns_, "ovs-vswitchd", ovsdb_,
              "--pidfile=" + dir_ + "/run/ovs-vswitchd.pid", "--detach",
              "--log-file=" + dir_ + "/log/ovs-vswitchd.log"},
             ovs);
  }
  if (s.ok()) {
    s = Vsctl({"add-br", bridge_, "--", "set", "Bridge", bridge_, "datapath_type=netdev"}).status();
  }
  for (int i = 0; s.ok() && i < nodes; ++i) s = AddNode(i, quarantine_vlan);
  return s;
}

Status FabricPeer::AddNode(int index, int quarantine_vlan) {
  FabricNode n;
  n.netns = prefix_ + "n" + std::to_string(index);
  n.port = prefix_ + "p" + std::to_string(index);
  char mac[18];
  std::snprintf(mac, sizeof mac, "02:00:00:00:0a:%02x", index + 1);
  n.mac = mac;
  nodes_.push_back(n);
  Status s = Must({"ip", "netns", "add", n.netns});
  if (s.ok()) s = Must({"ip", "-n", n.netns, "link", "set", "lo", "up"});
  if (s.ok()) {
    s = Must({"ip", "link", "add", n.port, "netns", switch_netns_, "type", "veth", "peer", "name",
              "eth0", "netns", n.netns});
  }
  // Required with the userspace datapath: else UDP and TCP leave with bad checksums.
  if (s.ok())
    s = Must({"ip", "netns", "exec", switch_netns_, "ethtool", "-K", n.port, "tx", "off"});
  if (s.ok()) s = Must({"ip", "netns", "exec", n.netns, "ethtool", "-K", "eth0", "tx", "off"});
  if (s.ok()) s = Must({"ip", "-n", n.netns, "link", "set", "eth0", "address", n.mac});
  if (s.ok()) s = Must({"ip", "-n", n.netns, "link", "set", "eth0", "up"});
  if (s.ok()) s = Must({"ip", "-n", switch_netns_, "link", "set", n.port, "up"});
  if (s.ok())
    s = Vsctl({"add-port", bridge_, n.port, "tag=" + std::to_string(quarantine_vlan)}).status();
  return s;
}

FabricPeer::~FabricPeer() {
  if (dir_.empty()) return;
  // Anything still naming our directory (a DHCP server of a failed test), then the switch.
  for (int pid : ProcessesWhere(
           [&](const std::string& cmd) { return cmd.find(dir_) != std::string::npos; })) {
    if (pid != getpid()) StopPid(pid);
  }
  StopPidFile(fs::path(dir_) / "run/ovs-vswitchd.pid");
  StopPidFile(fs::path(dir_) / "run/ovsdb-server.pid");
  for (const FabricNode& n : nodes_) RunProcess({"ip", "netns", "del", n.netns});
  if (!switch_netns_.empty()) RunProcess({"ip", "netns", "del", switch_netns_});
  std::error_code ec;
  fs::remove_all(dir_, ec);
}

Switch FabricPeer::LeafSwitch() const {
  Switch sw;
  sw.name = "leaf-" + prefix_;
  sw.management = SwitchManagement{"ovs", bridge_};
  return sw;
}

Result<std::string> FabricPeer::Vsctl(const std::vector<std::string>& args) const {
  std::vector<std::string> argv = {"ovs-vsctl", "--db=" + ovsdb_, "--timeout=10"};
  argv.insert(argv.end(), args.begin(), args.end());
  ProcessOptions po;
  po.timeout_seconds = 15;
  Result<ProcessResult> r = RunProcess(argv, po);
  if (!r.ok()) return r.status();
  if (r->exit_code != 0) return InternalError(Joined(argv) + ": " + FirstLine(*r));
  return Trim(r->out);
}

Status FabricPeer::SetAddress(int i, const std::string& cidr) const {
  Status s = Must({"ip", "-n", node(i).netns, "addr", "flush", "dev", "eth0"});
  return s.ok() ? Must({"ip", "-n", node(i).netns, "addr", "add", cidr, "dev", "eth0"}) : s;
}

bool FabricPeer::Ping(int i, const std::string& address) const {
  ProcessOptions po;
  po.timeout_seconds = 10;
  Result<ProcessResult> r = RunProcess({"ip", "netns", "exec", node(i).netns, "ping", "-c", "3",
                                        "-i", "0.2", "-W", "1", "-q", address},
                                       po);
  return r.ok() && r->exit_code == 0;
}

Result<std::optional<DhcpLease>> FabricPeer::Lease(int i, int tries) const {
  // The client's script only reports what it was given; the node's address stays as it is.
  fs::path script = fs::path(dir_) / "udhcpc.sh";
  if (!fs::exists(script)) {
    std::ofstream out(script);
    out << "#!/bin/sh\n"
           "if [ \"$1\" = bound ]; then\n"
           "  echo \"address=$ip\"; echo \"boot_file=$boot_file\"; echo \"server=$siaddr\"\n"
           "fi\n"
           "exit 0\n";
    out.close();
    chmod(script.c_str(), 0755);
  }
  ProcessOptions po;
  po.timeout_seconds = tries + 10;
  Result<ProcessResult> r =
      RunProcess({"ip", "netns", "exec", node(i).netns, "busybox", "udhcpc", "-i", "eth0", "-f",
                  "-q", "-n", "-t", std::to_string(tries), "-T", "1", "-s", script.string()},
                 po);
  if (!r.ok()) return r.status();
  if (r->exit_code != 0) return std::optional<DhcpLease>();
  DhcpLease lease;
  std::istringstream in(r->out);
  std::string line;
  while (std::getline(in, line)) {
    size_t eq = line.find('=');
    if (eq == std::string::npos) continue;
    std::string key = line.substr(0, eq), value = line.substr(eq + 1);
    if (key == "address") lease.address = value;
    if (key == "boot_file") lease.boot_file = value;
    if (key == "server") lease.server = value;
  }
  if (lease.address.empty()) {
    return InternalError("udhcpc exited 0 without reporting a lease: " + FirstLine(*r));
  }
  return std::optional<DhcpLease>(lease);
}

std::vector<int> FabricPeer::ProcessesWithArgument(const std::string& arg) {
  return ProcessesWhere([&](const std::string& cmd) {
    size_t start = 0;
    while (start < cmd.size()) {
      size_t end = cmd.find('\0', start);
      if (end == std::string::npos) end = cmd.size();
      if (cmd.compare(start, end - start, arg) == 0) return true;
      start = end + 1;
    }
    return false;
  });
}

bool FabricPeer::NetnsExists(const std::string& name) {
  std::error_code ec;
  return fs::exists("/run/netns/" + name, ec);
}

}  // namespace topoplace::testing
