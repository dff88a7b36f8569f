#include "executors/dnsmasq_driver.h"

#include <arpa/inet.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <chrono>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include "executors/netns_port.h"
#include "executors/ovs_driver.h"
#include "executors/process.h"
#include "model/hash.h"

namespace topoplace {
namespace {

namespace fs = std::filesystem;

constexpr const char* kNetnsDir = "/run/netns";

// A tenant network's subnet and gateway, parsed and checked.
struct Ipv4Net {
  uint32_t network = 0;  // host byte order
  int prefix = 0;
  uint32_t gateway = 0;
  uint32_t Mask() const { return prefix == 0 ? 0 : ~uint32_t{0} << (32 - prefix); }
  bool Contains(uint32_t a) const { return (a & Mask()) == network; }
  bool IsHost(uint32_t a) const {
    return Contains(a) && (prefix >= 31 || (a != network && a != (network | ~Mask())));
  }
};

std::optional<uint32_t> ParseIpv4(const std::string& s) {
  in_addr a{};
  if (inet_pton(AF_INET, s.c_str(), &a) != 1) return std::nullopt;
  return ntohl(a.s_addr);
}

std::string FormatIpv4(uint32_t a) {
  in_addr x{};
  x.s_addr = htonl(a);
  char buf[INET_ADDRSTRLEN];
  inet_ntop(AF_INET, &x, buf, sizeof buf);
  return buf;
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool IsMac(const std::string& mac) {
  if (mac.size() != 17) return false;
  for (size_t i = 0; i < mac.size(); ++i) {
    if (i % 3 == 2 ? mac[i] != ':' : !std::isxdigit(static_cast<unsigned char>(mac[i])))
      return false;
  }
  return true;
}

// A network id is a directory name under stateDir: no separators, no leading dot.
bool IsSafeId(const std::string& id) {
  if (id.empty() || id.size() > 128 || id[0] == '.' || id[0] == '-') return false;
  for (char c : id) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '-')
      return false;
  }
  return true;
}

// dnsmasq ignores a reservation line whose host name is not a valid one; keep letters, digits
// and inner hyphens.
std::string HostName(const std::string& node) {
  std::string h;
  for (char c : node) {
    h += std::isalnum(static_cast<unsigned char>(c)) ? static_cast<char>(std::tolower(c)) : '-';
  }
  size_t b = h.find_first_not_of('-');
  if (b == std::string::npos) return "";
  h = h.substr(b, h.find_last_not_of('-') - b + 1);
  if (h.size() > 63) h.resize(63);
  while (!h.empty() && h.back() == '-') h.pop_back();
  return h;
}

Result<std::string> ReadFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) return NotFoundError("cannot read " + p.string());
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Writes `text` to `p` through a temporary file in the same directory and a rename, so a reader
// (dnsmasq watching the directory) sees the old or the new content, never half of it. The
// temporary's name starts with a dot: dnsmasq skips such files in a hosts directory.
Status WriteFileAtomically(const fs::path& p, const std::string& text) {
  fs::path tmp = p.parent_path() / ("." + p.filename().string() + ".tmp");
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << text;
    out.flush();
    if (!out) return InternalError("cannot write " + tmp.string());
  }
  chmod(tmp.c_str(), 0644);
  std::error_code ec;
  fs::rename(tmp, p, ec);
  if (ec)
    return InternalError("cannot rename " + tmp.string() + " to " + p.string() + ": " +
                         ec.message());
  return Status::Ok();
}

std::string ModeText(mode_t mode) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(mode & 07777));
  return buf;
}

std::vector<std::string> SplitLines(const std::string& s) {
  std::vector<std::string> lines;
  std::istringstream in(s);
  std::string line;
  while (std::getline(in, line)) lines.push_back(line);
  return lines;
}

std::vector<std::string> SplitWords(const std::string& line) {
  std::vector<std::string> w;
  std::istringstream in(line);
  std::string x;
  while (in >> x) w.push_back(x);
  return w;
}

// A process's command line from /proc, or nothing when it is gone or a zombie.
std::optional<std::vector<std::string>> ProcessCommandLine(int pid) {
  if (pid <= 0) return std::nullopt;
  std::string dir = "/proc/" + std::to_string(pid);
  Result<std::string> stat = ReadFile(dir + "/stat");
  if (!stat.ok()) return std::nullopt;
  size_t paren = stat->rfind(')');
  if (paren == std::string::npos || paren + 2 >= stat->size() || (*stat)[paren + 2] == 'Z') {
    return std::nullopt;
  }
  Result<std::string> cmd = ReadFile(dir + "/cmdline");
  if (!cmd.ok() || cmd->empty()) return std::nullopt;
  std::vector<std::string> args;
  std::string cur;
  for (char c : *cmd) {
    if (c == '\0') {
      args.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  if (!cur.empty()) args.push_back(cur);
  return args;
}

struct Options {
  std::string state_dir;
  std::string bridge;
  std::string switch_ns;
  std::string boot_file = "pxelinux.0";
  std::string tftp_root;
  int lease_seconds = 3600;
  std::string dnsmasq = "dnsmasq";
  double timeout_seconds = 10;
};

// One tenant network's paths and names.
struct NetworkPlace {
  DnsmasqNetworkNames names;
  fs::path dir, hosts, leases, pid_file, log_file;
};

class DnsmasqDriver : public L3Driver {
 public:
  DnsmasqDriver(Options o, OvsVsctl vsctl)
      : o_(std::move(o)),
        vsctl_(vsctl),
        port_(o_.bridge, o_.switch_ns, vsctl, o_.timeout_seconds) {}

  Status EnsureNetwork(const TenantNetwork& network) override {
    Result<Ipv4Net> net = CheckNetwork(network);
    if (!net.ok()) return net.status();
    std::lock_guard<std::mutex> lock(*LockFor(network.id));
    Status s = Ensure(network, *net);
    return s.ok() ? s : Named(network, s);
  }

  Status RemoveNetwork(const TenantNetwork& network) override {
    if (!IsSafeId(network.id))
      return InvalidArgumentError("network id \"" + network.id + "\" is not usable");
    std::lock_guard<std::mutex> lock(*LockFor(network.id));
    Status s = Remove(network);
    return s.ok() ? s : Named(network, s);
  }

  Status Reserve(const TenantNetwork& network, const NodeAddress& address) override {
    Result<Ipv4Net> net = CheckNetwork(network);
    if (!net.ok()) return net.status();
    Status valid = CheckAddress(network, *net, address);
    if (!valid.ok()) return valid;
    std::lock_guard<std::mutex> lock(*LockFor(network.id));
    NetworkPlace p = PlaceOf(network.id);
    std::error_code ec;
    if (!fs::is_directory(p.hosts, ec)) {
      return FailedPreconditionError("network " + network.id + " is not set up on this server (" +
                                     p.hosts.string() + " is missing); EnsureNetwork first");
    }
    std::string mac = Lower(address.mac);
    // The same address reserved for another MAC would leave one of the two without a lease.
    for (fs::directory_iterator it(p.hosts, ec), end; !ec && it != end; it.increment(ec)) {
      const fs::directory_entry& entry = *it;
      std::string name = entry.path().filename().string();
      if (name.empty() || name[0] == '.' || name == ReservationFile(mac)) continue;
      Result<std::string> text = ReadFile(entry.path());
      if (!text.ok()) continue;
      std::vector<std::string> f = SplitFields(*text);
      if (f.size() >= 2 && f[1] == address.address) {
        return FailedPreconditionError("network " + network.id + ": address " + address.address +
                                       " is already reserved for MAC " + f[0]);
      }
    }
    std::string line = mac + "," + address.address;
    std::string host = HostName(address.node);
    if (!host.empty()) line += "," + host;
    line += "\n";
    fs::path file = p.hosts / ReservationFile(mac);
    Result<std::string> current = ReadFile(file);
    if (current.ok() && *current == line) return Status::Ok();
    Status w = WriteFileAtomically(file, line);
    return w.ok() ? w : Named(network, w);
  }

  Status Release(const TenantNetwork& network, const NodeAddress& address) override {
    if (!IsSafeId(network.id))
      return InvalidArgumentError("network id \"" + network.id + "\" is not usable");
    if (!IsMac(address.mac)) {
      return InvalidArgumentError("network " + network.id + " node " + address.node + ": MAC \"" +
                                  address.mac + "\" is not of the form xx:xx:xx:xx:xx:xx");
    }
    std::lock_guard<std::mutex> lock(*LockFor(network.id));
    Status s = ReleaseLocked(network, address);
    return s.ok() ? s : Named(network, s);
  }

  Result<std::optional<std::string>> LeasedAddress(const TenantNetwork& network,
                                                   const std::string& mac) override {
    if (!IsSafeId(network.id))
      return InvalidArgumentError("network id \"" + network.id + "\" is not usable");
    Result<std::string> text = ReadFile(PlaceOf(network.id).leases);
    if (!text.ok()) return std::optional<std::string>();
    std::string want = Lower(mac);
    int64_t now = static_cast<int64_t>(std::time(nullptr));
    for (const std::string& line : SplitLines(*text)) {
      // <expiry epoch seconds, 0 = never> <mac> <address> <host name> <client id>
      std::vector<std::string> w = SplitWords(line);
      if (w.size() < 3 || Lower(w[1]) != want) continue;
      int64_t expiry = std::strtoll(w[0].c_str(), nullptr, 10);
      if (expiry != 0 && expiry <= now) continue;
      return std::optional<std::string>(w[2]);
    }
    return std::optional<std::string>();
  }

 private:
  static std::string ReservationFile(const std::string& mac) {
    std::string f = Lower(mac);
    for (char& c : f) {
      if (c == ':') c = '-';
    }
    return f;
  }

  static std::vector<std::string> SplitFields(const std::string& text) {
    std::vector<std::string> f;
    std::string line = text.substr(0, text.find('\n'));
    std::istringstream in(line);
    std::string x;
    while (std::getline(in, x, ',')) f.push_back(x);
    return f;
  }

  static Status Named(const TenantNetwork& network, const Status& s) {
    if (s.message().rfind("network " + network.id, 0) == 0) return s;
    return Status(s.code(), "network " + network.id + ": " + s.message());
  }

  std::shared_ptr<std::mutex> LockFor(const std::string& id) {
    std::lock_guard<std::mutex> lock(locks_mu_);
    auto& m = locks_[id];
    if (!m) m = std::make_shared<std::mutex>();
    return m;
  }

  NetworkPlace PlaceOf(const std::string& id) const {
    NetworkPlace p;
    p.names = DnsmasqNamesFor(id);
    p.dir = fs::path(o_.state_dir) / id;
    p.hosts = p.dir / "hosts";
    p.leases = p.dir / "leases";
    p.pid_file = p.dir / "dnsmasq.pid";
    p.log_file = p.dir / "dnsmasq.log";
    return p;
  }

  Result<Ipv4Net> CheckNetwork(const TenantNetwork& network) const {
    if (!IsSafeId(network.id)) {
      return InvalidArgumentError("network id \"" + network.id +
                                  "\" is not usable (letters, digits and ._- only)");
    }
    auto bad = [&](const std::string& why) {
      return InvalidArgumentError("network " + network.id + ": " + why);
    };
    if (network.vlan < 1 || network.vlan > 4094)
      return bad("VLAN " + std::to_string(network.vlan) + " is not in 1..4094");
    size_t slash = network.subnet.find('/');
    if (slash == std::string::npos) return bad("subnet \"" + network.subnet + "\" is not a CIDR");
    std::optional<uint32_t> base = ParseIpv4(network.subnet.substr(0, slash));
    std::string len = network.subnet.substr(slash + 1);
    if (!base || len.empty() || len.size() > 2 ||
        !std::isdigit(static_cast<unsigned char>(len[0])) ||
        !std::isdigit(static_cast<unsigned char>(len.back()))) {
      return bad("subnet \"" + network.subnet + "\" is not a CIDR");
    }
    Ipv4Net n;
    n.prefix = std::stoi(len);
    if (n.prefix < 8 || n.prefix > 30)
      return bad("subnet \"" + network.subnet + "\": prefix length not in 8..30");
    n.network = *base & n.Mask();
    if (n.network != *base) return bad("subnet \"" + network.subnet + "\" has host bits set");
    std::optional<uint32_t> gw = ParseIpv4(network.gateway);
    if (!gw || !n.IsHost(*gw)) {
      return bad("gateway \"" + network.gateway + "\" is not a host address of " + network.subnet);
    }
    n.gateway = *gw;
    return n;
  }

  static Status CheckAddress(const TenantNetwork& network, const Ipv4Net& net,
                             const NodeAddress& a) {
    std::string who = "network " + network.id + " node " + a.node;
    if (!IsMac(a.mac))
      return InvalidArgumentError(who + ": MAC \"" + a.mac +
                                  "\" is not of the form xx:xx:xx:xx:xx:xx");
    std::optional<uint32_t> ip = ParseIpv4(a.address);
    if (!ip || !net.IsHost(*ip)) {
      return InvalidArgumentError(who + ": address \"" + a.address +
                                  "\" is not a host address of " + network.subnet);
    }
    if (*ip == net.gateway)
      return InvalidArgumentError(who + ": address " + a.address + " is the gateway's");
    return Status::Ok();
  }

  // ---- peer commands ----

  Result<ProcessResult> Run(const std::vector<std::string>& argv) const {
    ProcessOptions po;
    po.timeout_seconds = o_.timeout_seconds;
    Result<ProcessResult> r = RunProcess(argv, po);
    if (!r.ok() && r.status().code() == StatusCode::kDeadlineExceeded) {
      return UnavailableError(r.status().message());
    }
    return r;
  }

  // Runs a command that must succeed; its error in the tool's own words otherwise.
  Status Must(const std::vector<std::string>& argv) const {
    Result<ProcessResult> r = Run(argv);
    if (!r.ok()) return r.status();
    if (r->exit_code != 0) {
      std::string cmd;
      for (size_t i = 0; i < argv.size() && i < 6; ++i) cmd += (i ? " " : "") + argv[i];
      return InternalError(cmd + ": " + FirstLine(*r));
    }
    return Status::Ok();
  }

  static std::vector<std::string> Ip(const std::string& ns, std::vector<std::string> args) {
    std::vector<std::string> argv = {"ip"};
    if (!ns.empty()) argv.insert(argv.end(), {"-n", ns});
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
  }

  static bool NetnsExists(const std::string& ns) {
    std::error_code ec;
    return fs::exists(fs::path(kNetnsDir) / ns, ec);
  }

  // ---- dnsmasq ----

  std::vector<std::string> DnsmasqArgs(const Ipv4Net& net, const NetworkPlace& p) const {
    std::vector<std::string> a = {
        "--conf-file=/dev/null",
        "--port=0",
        "--interface=" + p.names.inner_port,
        "--bind-interfaces",
        "--no-ping",
        "--dhcp-authoritative",
        "--dhcp-range=" + FormatIpv4(net.network) + ",static," + FormatIpv4(net.Mask()) + "," +
            std::to_string(o_.lease_seconds),
        "--dhcp-hostsdir=" + p.hosts.string(),
        "--dhcp-leasefile=" + p.leases.string(),
        "--dhcp-boot=" + o_.boot_file,
        "--pid-file=" + p.pid_file.string(),
        "--log-dhcp",
        "--log-facility=" + p.log_file.string(),
    };
    if (!o_.tftp_root.empty()) {
      a.emplace_back("--enable-tftp");
      a.push_back("--tftp-root=" + o_.tftp_root);
    }
    return a;
  }

  // The PID of this network's dnsmasq and its arguments, if it runs.
  std::optional<std::pair<int, std::vector<std::string>>> RunningDnsmasq(
      const NetworkPlace& p) const {
    Result<std::string> text = ReadFile(p.pid_file);
    if (!text.ok()) return std::nullopt;
    int pid = std::atoi(text->c_str());
    std::optional<std::vector<std::string>> cmd = ProcessCommandLine(pid);
    if (!cmd) return std::nullopt;
    std::string marker = "--pid-file=" + p.pid_file.string();
    bool ours = false;
    for (const std::string& a : *cmd) ours = ours || a == marker;
    if (!ours) return std::nullopt;  // a recycled PID
    return std::make_pair(pid, std::vector<std::string>(cmd->begin() + 1, cmd->end()));
  }

  Status StopDnsmasq(const NetworkPlace& p) const {
    auto running = RunningDnsmasq(p);
    if (running) {
      int pid = running->first;
      kill(pid, SIGTERM);
      auto deadline = std::chrono::steady_clock::now() +
                      std::chrono::milliseconds(static_cast<int64_t>(o_.timeout_seconds * 1000));
      while (ProcessCommandLine(pid) && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
      if (ProcessCommandLine(pid)) {
        kill(pid, SIGKILL);
        for (int i = 0; i < 200 && ProcessCommandLine(pid); ++i) {
          std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        if (ProcessCommandLine(pid))
          return InternalError("dnsmasq (pid " + std::to_string(pid) + ") does not stop");
      }
    }
    std::error_code ec;
    fs::remove(p.pid_file, ec);
    return Status::Ok();
  }

  Status StartDnsmasq(const NetworkPlace& p, const std::vector<std::string>& args) const {
    std::error_code ec;
    fs::remove(p.pid_file, ec);
    // dnsmasq detaches itself once it is serving (its first process waits for the daemon to
    // report that setup worked), so an error such as a busy interface comes back here.
    std::vector<std::string> argv = {"ip", "netns", "exec", p.names.netns, o_.dnsmasq};
    argv.insert(argv.end(), args.begin(), args.end());
    Result<ProcessResult> r = Run(argv);
    if (!r.ok()) return r.status();
    if (r->exit_code != 0) return InternalError("dnsmasq did not start: " + FirstLine(*r));
    for (int i = 0; i < 100 && !RunningDnsmasq(p); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    if (!RunningDnsmasq(p)) {
      return InternalError("dnsmasq started but is not running; see " + p.log_file.string());
    }
    return Status::Ok();
  }

  // ---- the calls ----

  Status Ensure(const TenantNetwork& network, const Ipv4Net& net) {
    NetworkPlace p = PlaceOf(network.id);
    const DnsmasqNetworkNames& n = p.names;
    // Everything the server needs from outside first, so a bad setting leaves nothing behind.
    if (!o_.switch_ns.empty() && !NetnsExists(o_.switch_ns)) {
      return FailedPreconditionError("switch namespace " + o_.switch_ns + " does not exist");
    }
    Result<bool> bridge = vsctl_.BridgeExists(o_.bridge);
    if (!bridge.ok()) return bridge.status();
    if (!*bridge)
      return FailedPreconditionError("bridge " + o_.bridge + " does not exist in " +
                                     vsctl_.Where());

    std::error_code ec;
    fs::create_directories(p.hosts, ec);
    if (ec) return InternalError("cannot create " + p.hosts.string() + ": " + ec.message());
    // dnsmasq reads the reservations after giving up root (it runs as nobody): every directory
    // on the way must let others through, else it silently serves no reservation at all.
    fs::permissions(p.dir, fs::perms(0755), ec);
    fs::permissions(p.hosts, fs::perms(0755), ec);
    for (fs::path d = p.dir; !d.empty() && d != d.root_path(); d = d.parent_path()) {
      struct stat st {};
      if (stat(d.c_str(), &st) == 0 && (st.st_mode & S_IXOTH) == 0) {
        return FailedPreconditionError(
            "dnsmasq (running as nobody) cannot reach " + p.hosts.string() + ": " + d.string() +
            " does not let others through (mode " + ModeText(st.st_mode) + ")");
      }
    }

    if (!NetnsExists(n.netns)) {
      Status s = Must({"ip", "netns", "add", n.netns});
      if (!s.ok()) return s;
    }
    Status s = Must(Ip(n.netns, {"link", "set", "lo", "up"}));
    if (!s.ok()) return s;

    s = port_.Plug(PortSpec(n, network.vlan, net));
    if (!s.ok()) return s;

    std::vector<std::string> args = DnsmasqArgs(net, p);
    auto running = RunningDnsmasq(p);
    if (running && running->second == args) return Status::Ok();
    s = StopDnsmasq(p);  // a different configuration (or nothing): start afresh
    if (!s.ok()) return s;
    return StartDnsmasq(p, args);
  }

  static NetnsPortSpec PortSpec(const DnsmasqNetworkNames& n, int vlan, const Ipv4Net& net) {
    NetnsPortSpec spec;
    spec.netns = n.netns;
    spec.inner_port = n.inner_port;
    spec.switch_port = n.switch_port;
    spec.vlan = vlan;
    spec.address = FormatIpv4(net.gateway) + "/" + std::to_string(net.prefix);
    return spec;
  }

  Status Remove(const TenantNetwork& network) {
    NetworkPlace p = PlaceOf(network.id);
    const DnsmasqNetworkNames& n = p.names;
    Status s = StopDnsmasq(p);
    if (!s.ok()) return s;
    s = port_.Unplug(PortSpec(n, network.vlan, Ipv4Net{}));
    if (!s.ok()) return s;
    if (NetnsExists(n.netns)) {
      s = Must({"ip", "netns", "del", n.netns});
      if (!s.ok()) return s;
    }
    std::error_code ec;
    fs::remove_all(p.dir, ec);
    if (ec) return InternalError("cannot remove " + p.dir.string() + ": " + ec.message());
    return Status::Ok();
  }

  Status ReleaseLocked(const TenantNetwork& network, const NodeAddress& address) {
    NetworkPlace p = PlaceOf(network.id);
    std::string mac = Lower(address.mac);
    std::error_code ec;
    fs::remove(p.hosts / ReservationFile(mac), ec);
    if (ec) return InternalError("cannot remove the reservation of " + mac + ": " + ec.message());

    // The lease lines of this MAC (and of the released address, whoever holds it).
    Result<std::string> text = ReadFile(p.leases);
    std::string kept;
    bool leased = false;
    if (text.ok()) {
      for (const std::string& line : SplitLines(*text)) {
        std::vector<std::string> w = SplitWords(line);
        if (w.size() >= 3 &&
            (Lower(w[1]) == mac || (!address.address.empty() && w[2] == address.address))) {
          leased = true;
        } else {
          kept += line + "\n";
        }
      }
    }
    auto running = RunningDnsmasq(p);
    if (!leased) {
      // Only the reservation to forget: dnsmasq drops deleted host files on SIGHUP.
      if (running) kill(running->first, SIGHUP);
      return Status::Ok();
    }
    // dnsmasq keeps its leases in memory and rewrites the file from them: stop it, edit, restart.
    Status s = StopDnsmasq(p);
    if (!s.ok()) return s;
    s = WriteFileAtomically(p.leases, kept);
    if (!s.ok()) return s;
    if (running) return StartDnsmasq(p, running->second);
    return Status::Ok();
  }

  Options o_;
  OvsVsctl vsctl_;
  NetnsPort port_;  // the server's veth on the tenant VLAN
  std::mutex locks_mu_;
  std::map<std::string, std::shared_ptr<std::mutex>> locks_;
};

}  // namespace

DnsmasqNetworkNames DnsmasqNamesFor(const std::string& network_id) {
  char hex[9];
  std::snprintf(hex, sizeof hex, "%08" PRIx32, Fnv1a32(network_id));
  return {std::string("tpdhcp-") + hex, std::string("tpd") + hex, "eth0"};
}

Result<std::unique_ptr<L3Driver>> MakeDnsmasqDriver(const DriverOptions& options) {
  static const std::set<std::string> kKnown = {
      "stateDir", "bridge",   "switchNamespace", "ovsdb",   "vsctl",
      "bootFile", "tftpRoot", "leaseSeconds",    "dnsmasq", "timeoutSeconds"};
  for (const auto& [key, value] : options) {
    if (!kKnown.count(key)) {
      std::string known;
      for (const std::string& k : kKnown) {
        if (!known.empty()) known += ", ";
        known += k;
      }
      return InvalidArgumentError("dnsmasq driver: unknown option \"" + key +
                                  "\"; expected one of " + known);
    }
  }
  auto get = [&](const char* key, const std::string& fallback) {
    auto it = options.find(key);
    return it == options.end() || it->second.empty() ? fallback : it->second;
  };
  Options o;
  o.state_dir = get("stateDir", "");
  o.bridge = get("bridge", "");
  o.switch_ns = get("switchNamespace", "");
  o.boot_file = get("bootFile", o.boot_file);
  o.tftp_root = get("tftpRoot", "");
  o.dnsmasq = get("dnsmasq", o.dnsmasq);
  if (o.state_dir.empty())
    return InvalidArgumentError("dnsmasq driver: option stateDir is required");
  if (!fs::path(o.state_dir).is_absolute()) {
    return InvalidArgumentError("dnsmasq driver: stateDir \"" + o.state_dir +
                                "\" is not an absolute path");
  }
  if (!IsDeviceName(o.bridge)) {
    return InvalidArgumentError(
        "dnsmasq driver: option bridge is required (the OVS bridge to attach DHCP servers to)");
  }
  if (o.boot_file.find(',') != std::string::npos) {
    return InvalidArgumentError("dnsmasq driver: bootFile \"" + o.boot_file +
                                "\" contains a comma");
  }
  if (!o.tftp_root.empty() && !fs::path(o.tftp_root).is_absolute()) {
    return InvalidArgumentError("dnsmasq driver: tftpRoot \"" + o.tftp_root +
                                "\" is not an absolute path");
  }
  Result<double> lease = NumberOption(options, "leaseSeconds", 3600);
  if (!lease.ok())
    return Status(lease.status().code(), "dnsmasq driver: " + lease.status().message());
  if (*lease < 120 || *lease > 365.0 * 86400 || *lease != std::floor(*lease)) {
    return InvalidArgumentError(
        "dnsmasq driver: leaseSeconds must be a whole number from 120 (dnsmasq's minimum) to one "
        "year");
  }
  o.lease_seconds = static_cast<int>(*lease);
  Result<double> timeout = NumberOption(options, "timeoutSeconds", 10);
  if (!timeout.ok())
    return Status(timeout.status().code(), "dnsmasq driver: " + timeout.status().message());
  if (*timeout <= 0) return InvalidArgumentError("dnsmasq driver: timeoutSeconds must be positive");
  o.timeout_seconds = *timeout;
  OvsVsctl vsctl(get("vsctl", "ovs-vsctl"), get("ovsdb", ""), o.timeout_seconds);
  return std::unique_ptr<L3Driver>(new DnsmasqDriver(std::move(o), std::move(vsctl)));
}

}  // namespace topoplace
