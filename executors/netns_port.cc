#include "executors/netns_port.h"

#include <filesystem>
#include <set>
#include <sstream>

namespace topoplace {
namespace {

namespace fs = std::filesystem;

std::vector<std::string> Ip(const std::string& ns, std::vector<std::string> args) {
  std::vector<std::string> argv = {"ip"};
  if (!ns.empty()) argv.insert(argv.end(), {"-n", ns});
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

std::vector<std::string> InNs(const std::string& ns, std::vector<std::string> argv) {
  if (ns.empty()) return argv;
  std::vector<std::string> wrapped = {"ip", "netns", "exec", ns};
  wrapped.insert(wrapped.end(), argv.begin(), argv.end());
  return wrapped;
}

}  // namespace

bool NetnsPort::NetnsExists(const std::string& netns) {
  std::error_code ec;
  return fs::exists(fs::path("/run/netns") / netns, ec);
}

Result<ProcessResult> NetnsPort::Run(const std::vector<std::string>& argv) const {
  ProcessOptions po;
  po.timeout_seconds = timeout_seconds_;
  Result<ProcessResult> r = RunProcess(argv, po);
  if (!r.ok() && r.status().code() == StatusCode::kDeadlineExceeded) {
    return UnavailableError(r.status().message());
  }
  return r;
}

Status NetnsPort::Must(const std::vector<std::string>& argv) const {
  Result<ProcessResult> r = Run(argv);
  if (!r.ok()) return r.status();
  if (r->exit_code != 0) {
    std::string cmd;
    for (size_t i = 0; i < argv.size() && i < 6; ++i) cmd += (i ? " " : "") + argv[i];
    return InternalError(cmd + ": " + FirstLine(*r));
  }
  return Status::Ok();
}

Result<bool> NetnsPort::LinkExists(const std::string& ns, const std::string& dev) const {
  Result<ProcessResult> r = Run(Ip(ns, {"link", "show", "dev", dev}));
  if (!r.ok()) return r.status();
  if (r->exit_code == 0) return true;
  if (r->err.find("does not exist") != std::string::npos) return false;
  return InternalError("ip link show " + dev + ": " + FirstLine(*r));
}

Status NetnsPort::EnsureAddress(const NetnsPortSpec& spec) const {
  Result<ProcessResult> r =
      Run(Ip(spec.netns, {"-4", "-o", "addr", "show", "dev", spec.inner_port}));
  if (!r.ok()) return r.status();
  if (r->exit_code != 0)
    return InternalError("ip addr show " + spec.inner_port + ": " + FirstLine(*r));
  std::set<std::string> have;
  std::istringstream lines(r->out);
  for (std::string line; std::getline(lines, line);) {
    std::istringstream words(line);
    for (std::string w, prev; words >> w; prev = w) {
      if (prev == "inet") have.insert(w);
    }
  }
  if (have == std::set<std::string>{spec.address}) return Status::Ok();
  Status s = Must(Ip(spec.netns, {"addr", "flush", "dev", spec.inner_port}));
  if (s.ok()) s = Must(Ip(spec.netns, {"addr", "add", spec.address, "dev", spec.inner_port}));
  return s;
}

Status NetnsPort::Plug(const NetnsPortSpec& spec) const {
  // Everything needed from outside first, so a bad setting leaves nothing behind.
  if (!switch_ns_.empty() && !NetnsExists(switch_ns_)) {
    return FailedPreconditionError("switch namespace " + switch_ns_ + " does not exist");
  }
  if (!spec.netns.empty() && !NetnsExists(spec.netns)) {
    return FailedPreconditionError("namespace " + spec.netns + " does not exist");
  }
  Result<bool> bridge = vsctl_.BridgeExists(bridge_);
  if (!bridge.ok()) return bridge.status();
  if (!*bridge)
    return FailedPreconditionError("bridge " + bridge_ + " does not exist in " + vsctl_.Where());

  Result<bool> inner = LinkExists(spec.netns, spec.inner_port);
  if (!inner.ok()) return inner.status();
  Result<bool> outer = LinkExists(switch_ns_, spec.switch_port);
  if (!outer.ok()) return outer.status();
  Status s;
  bool created = false;
  if (!*inner || !*outer) {
    // Half a pair cannot be repaired: start again from a fresh one.
    if (*outer) s = Must(Ip(switch_ns_, {"link", "del", "dev", spec.switch_port}));
    if (s.ok() && *inner) s = Must(Ip(spec.netns, {"link", "del", "dev", spec.inner_port}));
    if (!s.ok()) return s;
    std::vector<std::string> add = {"ip", "link", "add", spec.switch_port};
    if (!switch_ns_.empty()) add.insert(add.end(), {"netns", switch_ns_});
    add.insert(add.end(), {"type", "veth", "peer", "name", spec.inner_port});
    if (!spec.netns.empty()) add.insert(add.end(), {"netns", spec.netns});
    s = Must(add);
    if (!s.ok()) return s;
    created = true;
  }
  // The userspace datapath passes packets with the checksum left to the (absent) offload:
  // without this, UDP and TCP arrive with bad checksums and are dropped.
  s = Must(InNs(switch_ns_, {"ethtool", "-K", spec.switch_port, "tx", "off"}));
  if (s.ok()) s = Must(InNs(spec.netns, {"ethtool", "-K", spec.inner_port, "tx", "off"}));
  if (s.ok()) s = Must(Ip(switch_ns_, {"link", "set", "dev", spec.switch_port, "up"}));
  if (s.ok()) s = Must(Ip(spec.netns, {"link", "set", "dev", spec.inner_port, "up"}));
  if (!s.ok()) return s;
  s = EnsureAddress(spec);
  if (!s.ok()) return s;

  Result<std::optional<std::string>> on = vsctl_.BridgeOfPort(spec.switch_port);
  if (!on.ok()) return on.status();
  if (created || !on->has_value() || **on != bridge_) {
    return vsctl_.AddAccessPort(bridge_, spec.switch_port, spec.vlan);
  }
  Result<int> tag = vsctl_.Tag(spec.switch_port);
  if (!tag.ok()) return tag.status();
  if (*tag != spec.vlan) return vsctl_.SetAccessPort(spec.switch_port, spec.vlan);
  return Status::Ok();
}

Status NetnsPort::Unplug(const NetnsPortSpec& spec) const {
  Status s = vsctl_.DeletePort(spec.switch_port);
  if (!s.ok()) return s;
  if (switch_ns_.empty() || NetnsExists(switch_ns_)) {
    Result<bool> outer = LinkExists(switch_ns_, spec.switch_port);
    if (!outer.ok()) return outer.status();
    if (*outer) return Must(Ip(switch_ns_, {"link", "del", "dev", spec.switch_port}));
  }
  // The outer end gone takes the inner one with it; an inner end left alone goes too.
  if (spec.netns.empty() || NetnsExists(spec.netns)) {
    Result<bool> inner = LinkExists(spec.netns, spec.inner_port);
    if (!inner.ok()) return inner.status();
    if (*inner) return Must(Ip(spec.netns, {"link", "del", "dev", spec.inner_port}));
  }
  return Status::Ok();
}

}  // namespace topoplace
