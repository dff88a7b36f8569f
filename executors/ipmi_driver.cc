#include "executors/ipmi_driver.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <string>
#include <vector>

#include "executors/process.h"

namespace topoplace {
namespace {

struct IpmiOptions {
  int cipher_suite = 3;
  double timeout_seconds = 10;
  std::string program = "ipmitool";
  std::string interface = "lanplus";
};

Result<IpmiOptions> ReadOptions(const DriverOptions& options) {
  IpmiOptions o;
  for (const auto& [key, value] : options) {
    if (key == "cipherSuite") {
      int v = -1;
      auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
      if (ec != std::errc() || p != value.data() + value.size() || v < 0 || v > 17) {
        return InvalidArgumentError(
            "bmc driver ipmi: cipherSuite must be an integer 0..17, got \"" + value + "\"");
      }
      o.cipher_suite = v;
    } else if (key == "timeoutSeconds") {
      double v = 0;
      auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
      if (ec != std::errc() || p != value.data() + value.size() || !(v > 0) || v > 3600) {
        return InvalidArgumentError(
            "bmc driver ipmi: timeoutSeconds must be a number of seconds in (0, 3600], got \"" +
            value + "\"");
      }
      o.timeout_seconds = v;
    } else if (key == "ipmitool") {
      if (value.empty())
        return InvalidArgumentError("bmc driver ipmi: ipmitool must name a program");
      o.program = value;
    } else if (key == "interface") {
      if (value != "lanplus" && value != "lan") {
        return InvalidArgumentError("bmc driver ipmi: interface must be lanplus or lan, got \"" +
                                    value + "\"");
      }
      o.interface = value;
    } else {
      return InvalidArgumentError("bmc driver ipmi: unknown option \"" + key +
                                  "\"; expected cipherSuite, timeoutSeconds, ipmitool, interface");
    }
  }
  return o;
}

struct HostPort {
  std::string host;
  std::string port;
};

// "host:port", "host" (port 623), "[v6]:port" or a bare IPv6 address (port 623).
Result<HostPort> SplitAddress(const BmcTarget& t) {
  const std::string& a = t.bmc.address;
  HostPort hp{a, "623"};
  if (!a.empty() && a.front() == '[') {
    const size_t close = a.find(']');
    hp.host = close == std::string::npos ? "" : a.substr(1, close - 1);
    if (close != std::string::npos && close + 1 < a.size()) {
      if (a[close + 1] != ':') hp.host.clear();
      hp.port = a.substr(close + 2);
    }
  } else if (size_t colon = a.rfind(':'); colon != std::string::npos && a.find(':') == colon) {
    hp.host = a.substr(0, colon);
    hp.port = a.substr(colon + 1);
  }
  int port = 0;
  auto [p, ec] = std::from_chars(hp.port.data(), hp.port.data() + hp.port.size(), port);
  bool bad_port =
      ec != std::errc() || p != hp.port.data() + hp.port.size() || port < 1 || port > 65535;
  if (hp.host.empty() || bad_port || hp.host.front() == '-') {
    return InvalidArgumentError("node " + t.node + ": BMC address \"" + a + "\" is not host:port");
  }
  return hp;
}

bool Contains(const std::string& s, const char* needle) {
  return s.find(needle) != std::string::npos;
}

// ipmitool's words for a failed run: its error line, without the verbose chatter.
std::string PeerWords(const ProcessResult& r) {
  std::string best;
  size_t pos = 0;
  const std::string& s = r.err;
  while (pos < s.size()) {
    size_t end = s.find('\n', pos);
    if (end == std::string::npos) end = s.size();
    std::string line = s.substr(pos, end - pos);
    pos = end + 1;
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (line.empty() || Contains(line, "IANA PEN Registry")) continue;
    // The most specific line: the session step that failed, else an error line.
    if (Contains(line, "RAKP") || Contains(line, "Activate Session")) {
      best = line;
      break;
    }
    if (best.empty() || Contains(line, "rror")) best = line;
  }
  if (best.empty()) return FirstLine(r);
  if (best.size() > 300) best.resize(300);
  return best;
}

// The first line ipmitool wrote to stdout (its answer), else its words on stderr.
std::string AnswerWords(const ProcessResult& r) {
  ProcessResult out_only{r.exit_code, r.out, ""};
  return r.out.find_first_not_of(" \t\r\n") == std::string::npos ? PeerWords(r)
                                                                 : FirstLine(out_only);
}

class IpmiDriver final : public BmcDriver {
 public:
  explicit IpmiDriver(IpmiOptions o) : o_(std::move(o)) {}

  Status PowerOn(const BmcTarget& t) override { return SetPower(t, true); }
  Status PowerOff(const BmcTarget& t) override { return SetPower(t, false); }

  Result<bool> IsPoweredOn(const BmcTarget& t) override {
    auto r = Run(t, {"chassis", "power", "status"}, "power status");
    if (!r.ok()) return r.status();
    if (Contains(r->out, "Chassis Power is on")) return true;
    if (Contains(r->out, "Chassis Power is off")) return false;
    return InternalError("node " + t.node + ": BMC at " + t.bmc.address +
                         " gave an unexpected power status: " + AnswerWords(*r));
  }

  Status SetOneTimePxeBoot(const BmcTarget& t) override {
    // Without options=persistent the override holds for the next boot only.
    auto r = Run(t, {"chassis", "bootdev", "pxe"}, "one-time PXE boot");
    if (!r.ok()) return r.status();
    if (!Contains(r->out, "Set Boot Device to pxe")) {
      return InternalError("node " + t.node + ": BMC at " + t.bmc.address +
                           " did not confirm the PXE boot: " + AnswerWords(*r));
    }
    return Status::Ok();
  }

  Result<std::string> BootDevice(const BmcTarget& t) override {
    auto r = Run(t, {"chassis", "bootparam", "get", "5"}, "boot device");
    if (!r.ok()) return r.status();
    const std::string key = "Boot Device Selector :";
    size_t at = r->out.find(key);
    if (at == std::string::npos) {
      return InternalError("node " + t.node + ": BMC at " + t.bmc.address +
                           " gave no boot device selector: " + AnswerWords(*r));
    }
    size_t b = r->out.find_first_not_of(' ', at + key.size());
    size_t e = r->out.find('\n', b);
    std::string sel = r->out.substr(b, e == std::string::npos ? std::string::npos : e - b);
    while (!sel.empty() && (sel.back() == '\r' || sel.back() == ' ')) sel.pop_back();
    // The selector alone: the "boot flags valid" bit is not consulted, since ipmi_sim never sets it
    // and a BMC that clears the override after the boot also resets the selector.
    if (Contains(sel, "No override")) return std::string("none");
    if (Contains(sel, "PXE")) return std::string("pxe");
    if (Contains(sel, "BIOS Setup")) return std::string("bios");
    if (Contains(sel, "Diagnostic")) return std::string("diag");
    if (Contains(sel, "CD/DVD")) return std::string("cdrom");
    if (Contains(sel, "Floppy") || Contains(sel, "removable")) return std::string("floppy");
    if (Contains(sel, "Hard-Drive")) return std::string("disk");
    return sel;
  }

 private:
  Status SetPower(const BmcTarget& t, bool on) {
    auto now = IsPoweredOn(t);
    if (!now.ok()) return now.status();
    if (*now == on) return Status::Ok();
    auto r = Run(t, {"chassis", "power", on ? "on" : "off"}, on ? "power on" : "power off");
    if (!r.ok()) return r.status();
    if (!Contains(r->out, on ? "Up/On" : "Down/Off")) {
      return InternalError("node " + t.node + ": BMC at " + t.bmc.address + " did not confirm " +
                           (on ? "power on: " : "power off: ") + AnswerWords(*r));
    }
    return Status::Ok();
  }

  // Runs one ipmitool command against the target's BMC; a non-zero exit becomes a Status.
  Result<ProcessResult> Run(const BmcTarget& t, const std::vector<std::string>& command,
                            const std::string& what) {
    auto hp = SplitAddress(t);
    if (!hp.ok()) return hp.status();
    // ipmitool retries each session message itself (-N seconds per try, -R tries); it gives up
    // on its own a little before our deadline, so a silent BMC reads as "no answer", not a kill.
    const int per_try = 1;
    const int retries = std::max(1, static_cast<int>(std::floor(o_.timeout_seconds / 3)) - 1);
    std::vector<std::string> argv = {o_.program, "-v", "-I", o_.interface};
    if (o_.interface == "lanplus") {
      argv.insert(argv.end(), {"-C", std::to_string(o_.cipher_suite)});
    }
    argv.insert(argv.end(), {"-N", std::to_string(per_try), "-R", std::to_string(retries), "-H",
                             hp->host, "-p", hp->port, "-U", t.credentials.username, "-E"});
    argv.insert(argv.end(), command.begin(), command.end());
    ProcessOptions po;
    po.timeout_seconds = o_.timeout_seconds;
    po.env["IPMI_PASSWORD"] = t.credentials.password;
    const std::string peer = "node " + t.node + ": BMC at " + t.bmc.address;
    auto r = RunProcess(argv, po);
    if (!r.ok()) {
      if (r.status().code() == StatusCode::kDeadlineExceeded) {
        return UnavailableError(peer + " did not answer " + what + " within " + FormatSeconds() +
                                " s");
      }
      return r.status();  // the program is missing: kUnavailable naming it
    }
    if (r->exit_code == 0) return r;
    std::string words = PeerWords(*r);
    // The peer's words go into messages and logs: never let them carry the secret.
    if (const std::string& pw = t.credentials.password; !pw.empty()) {
      for (size_t at = words.find(pw); at != std::string::npos; at = words.find(pw, at)) {
        words.replace(at, pw.size(), "***");
      }
    }
    const std::string& e = r->err;
    // RAKP 2 is where the BMC checks the user name and the password's HMAC.
    if (Contains(e, "HMAC is invalid") || Contains(e, "unauthorized name") ||
        Contains(e, "Invalid user name") || Contains(e, "invalid password")) {
      return FailedPreconditionError(peer + " refused user \"" + t.credentials.username +
                                     "\" (wrong user name or password) for " + what + ": " + words);
    }
    if (Contains(e, "Get Auth Capabilities error") || Contains(e, "No response") ||
        Contains(e, "Unable to establish") || Contains(e, "timeout") ||
        Contains(e, "Connection refused")) {
      return UnavailableError(peer + " did not answer " + what + ": " + words);
    }
    return InternalError(peer + ": " + what + " failed: " + words);
  }

  std::string FormatSeconds() const {
    std::string s = std::to_string(o_.timeout_seconds);
    s.erase(s.find_last_not_of('0') + 1);
    if (!s.empty() && s.back() == '.') s.pop_back();
    return s;
  }

  IpmiOptions o_;
};

}  // namespace

Result<std::unique_ptr<BmcDriver>> MakeIpmiDriver(const DriverOptions& options) {
  auto o = ReadOptions(options);
  if (!o.ok()) return o.status();
  return std::unique_ptr<BmcDriver>(std::make_unique<IpmiDriver>(std::move(*o)));
}

}  // namespace topoplace
