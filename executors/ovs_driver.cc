#include "executors/ovs_driver.h"

#include <cctype>
#include <charconv>
#include <cmath>

#include "executors/process.h"

namespace topoplace {
namespace {

std::string Trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r\n\"");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t\r\n\"");
  return s.substr(b, e - b + 1);
}

bool ValidVlan(int vlan) { return vlan >= 1 && vlan <= 4094; }

class OvsDriver : public L2Driver {
 public:
  explicit OvsDriver(OvsVsctl vsctl) : vsctl_(std::move(vsctl)) {}

  Status SetAccessVlan(const Switch& sw, const std::string& port, int vlan) override {
    if (!ValidVlan(vlan)) {
      return InvalidArgumentError("switch " + sw.name + " port " + port + ": VLAN " +
                                  std::to_string(vlan) + " is not in 1..4094");
    }
    Status on_bridge = CheckPortOnBridge(sw, port);
    if (!on_bridge.ok()) return on_bridge;
    Status set = vsctl_.SetAccessPort(port, vlan);
    if (!set.ok())
      return Status(set.code(), "switch " + sw.name + " port " + port + ": " + set.message());
    return Status::Ok();
  }

  Result<int> AccessVlan(const Switch& sw, const std::string& port) override {
    Status on_bridge = CheckPortOnBridge(sw, port);
    if (!on_bridge.ok()) return on_bridge;
    Result<int> tag = vsctl_.Tag(port);
    if (!tag.ok()) {
      return Status(tag.status().code(),
                    "switch " + sw.name + " port " + port + ": " + tag.status().message());
    }
    return *tag;
  }

 private:
  // The switch names an ovs bridge, the bridge exists and the port is on it.
  Status CheckPortOnBridge(const Switch& sw, const std::string& port) const {
    if (!sw.management || sw.management->bridge.empty()) {
      return InvalidArgumentError("switch " + sw.name +
                                  " has no management bridge for the ovs driver");
    }
    const std::string& bridge = sw.management->bridge;
    if (!IsDeviceName(bridge) || !IsDeviceName(port)) {
      return InvalidArgumentError("switch " + sw.name + ": bridge \"" + bridge + "\" or port \"" +
                                  port + "\" is not a network device name");
    }
    Result<bool> exists = vsctl_.BridgeExists(bridge);
    if (!exists.ok())
      return Status(exists.status().code(), "switch " + sw.name + ": " + exists.status().message());
    if (!*exists) {
      return FailedPreconditionError("switch " + sw.name + ": bridge " + bridge +
                                     " does not exist in " + vsctl_.Where());
    }
    Result<std::optional<std::string>> on = vsctl_.BridgeOfPort(port);
    if (!on.ok())
      return Status(on.status().code(), "switch " + sw.name + ": " + on.status().message());
    if (!on->has_value()) {
      return FailedPreconditionError("switch " + sw.name + ": port " + port + " is not on bridge " +
                                     bridge);
    }
    if (**on != bridge) {
      return FailedPreconditionError("switch " + sw.name + ": port " + port + " is on bridge " +
                                     **on + ", not " + bridge);
    }
    return Status::Ok();
  }

  OvsVsctl vsctl_;
};

}  // namespace

bool IsDeviceName(const std::string& name) {
  if (name.empty() || name.size() > 15 || name[0] == '-') return false;
  for (char c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '-' &&
        c != ':') {
      return false;
    }
  }
  return true;
}

Result<double> NumberOption(const DriverOptions& options, const std::string& key, double fallback) {
  auto it = options.find(key);
  if (it == options.end()) return fallback;
  double v = 0;
  const std::string& s = it->second;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || !std::isfinite(v) || v < 0) {
    return InvalidArgumentError("option " + key + ": \"" + s + "\" is not a non-negative number");
  }
  return v;
}

Result<std::string> OvsVsctl::Run(const std::vector<std::string>& args) const {
  // --timeout bounds ovs-vsctl's own waits (the database, ovs-vswitchd applying a change); the
  // process deadline is a backstop a little later.
  int seconds = std::max(1, static_cast<int>(std::ceil(timeout_seconds_)));
  std::vector<std::string> argv = {program_, "--timeout=" + std::to_string(seconds)};
  if (!db_.empty()) argv.push_back("--db=" + db_);
  argv.insert(argv.end(), args.begin(), args.end());
  ProcessOptions po;
  po.timeout_seconds = seconds + 2;
  Result<ProcessResult> r = RunProcess(argv, po);
  if (!r.ok()) {
    if (r.status().code() == StatusCode::kDeadlineExceeded) {
      return UnavailableError(Where() + " did not answer within " + std::to_string(seconds) + " s");
    }
    return r.status();
  }
  if (r->exit_code != 0) {
    std::string line = FirstLine(*r);
    bool no_answer = line.find("database connection failed") != std::string::npos ||
                     line.find("timeout") != std::string::npos || r->exit_code == 128 + 14;
    std::string what = program_ + " " + args.front() + " (" + Where() + "): " + line;
    return no_answer ? UnavailableError(what) : InternalError(what);
  }
  return r->out;
}

Result<bool> OvsVsctl::BridgeExists(const std::string& bridge) const {
  // br-exists answers with its exit code (2 = no such bridge), which Run reports as an error; ask
  // for the list instead.
  Result<std::string> out = Run({"list-br"});
  if (!out.ok()) return out.status();
  size_t pos = 0;
  const std::string& s = *out;
  while (pos < s.size()) {
    size_t e = s.find('\n', pos);
    if (e == std::string::npos) e = s.size();
    if (Trim(s.substr(pos, e - pos)) == bridge) return true;
    pos = e + 1;
  }
  return false;
}

Result<std::optional<std::string>> OvsVsctl::BridgeOfPort(const std::string& port) const {
  // `get` with --if-exists prints nothing for a missing record; a port's bridge is the Bridge row
  // whose ports include it, which port-to-br reports (as an error when there is none).
  Result<std::string> uuid = Run({"--if-exists", "get", "Port", port, "_uuid"});
  if (!uuid.ok()) return uuid.status();
  if (Trim(*uuid).empty()) return std::optional<std::string>();
  Result<std::string> br = Run({"port-to-br", port});
  if (!br.ok()) return br.status();
  return std::optional<std::string>(Trim(*br));
}

Result<int> OvsVsctl::Tag(const std::string& port) const {
  Result<std::string> out = Run({"get", "Port", port, "tag"});
  if (!out.ok()) return out.status();
  std::string t = Trim(*out);
  if (t == "[]" || t.empty()) return 0;
  int v = 0;
  auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
  if (ec != std::errc() || end != t.data() + t.size()) {
    return InternalError(Where() + ": port " + port + " has tag \"" + t + "\", not a number");
  }
  return v;
}

Status OvsVsctl::SetAccessPort(const std::string& port, int vlan) const {
  Result<std::string> out = Run({"set", "Port", port, "tag=" + std::to_string(vlan),
                                 "vlan_mode=access", "--", "clear", "Port", port, "trunks"});
  return out.ok() ? Status::Ok() : out.status();
}

Status OvsVsctl::AddAccessPort(const std::string& bridge, const std::string& port, int vlan) const {
  // Two transactions: within one, ovs-vswitchd sees no change and keeps receiving from the device
  // the name had before (gone with its namespace), so nothing arrives from the new one.
  Status deleted = DeletePort(port);
  if (!deleted.ok()) return deleted;
  Result<std::string> out =
      Run({"add-port", bridge, port, "tag=" + std::to_string(vlan), "vlan_mode=access"});
  return out.ok() ? Status::Ok() : out.status();
}

Status OvsVsctl::DeletePort(const std::string& port) const {
  Result<std::string> out = Run({"--if-exists", "del-port", port});
  return out.ok() ? Status::Ok() : out.status();
}

Result<std::unique_ptr<L2Driver>> MakeOvsDriver(const DriverOptions& options) {
  for (const auto& [key, value] : options) {
    if (key != "ovsdb" && key != "vsctl" && key != "timeoutSeconds") {
      return InvalidArgumentError("ovs driver: unknown option \"" + key +
                                  "\"; expected ovsdb, vsctl, timeoutSeconds");
    }
  }
  Result<double> timeout = NumberOption(options, "timeoutSeconds", 10);
  if (!timeout.ok())
    return Status(timeout.status().code(), "ovs driver: " + timeout.status().message());
  auto get = [&](const char* key, const char* fallback) {
    auto it = options.find(key);
    return it == options.end() || it->second.empty() ? std::string(fallback) : it->second;
  };
  return std::unique_ptr<L2Driver>(
      new OvsDriver(OvsVsctl(get("vsctl", "ovs-vsctl"), get("ovsdb", ""), *timeout)));
}

}  // namespace topoplace
