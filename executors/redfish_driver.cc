#include "executors/redfish_driver.h"

#include <httplib.h>

#include <cctype>
#include <charconv>
#include <cmath>
#include <nlohmann/json.hpp>
#include <string>

namespace topoplace {
namespace {

using json = nlohmann::json;

constexpr size_t kMaxAnswerBytes = size_t{1} << 20;
constexpr const char* kEtagMismatch = "etag_mismatch";

struct RedfishOptions {
  bool verify_tls = true;
  double timeout_seconds = 10;
  std::string ca_file;
};

Result<RedfishOptions> ReadOptions(const DriverOptions& options) {
  RedfishOptions o;
  for (const auto& [key, value] : options) {
    if (key == "verifyTls") {
      if (value != "true" && value != "false") {
        return InvalidArgumentError("bmc driver redfish: verifyTls must be true or false, got \"" +
                                    value + "\"");
      }
      o.verify_tls = value == "true";
    } else if (key == "timeoutSeconds") {
      double v = 0;
      auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
      if (ec != std::errc() || p != value.data() + value.size() || !(v > 0) || v > 3600) {
        return InvalidArgumentError(
            "bmc driver redfish: timeoutSeconds must be a number of seconds in (0, 3600], got \"" +
            value + "\"");
      }
      o.timeout_seconds = v;
    } else if (key == "caFile") {
      if (value.empty()) return InvalidArgumentError("bmc driver redfish: caFile must name a file");
      o.ca_file = value;
    } else {
      return InvalidArgumentError("bmc driver redfish: unknown option \"" + key +
                                  "\"; expected verifyTls, timeoutSeconds, caFile");
    }
  }
  return o;
}

// Peer text made fit for a message: printable ASCII, bounded.
std::string Printable(const std::string& s, size_t max = 200) {
  std::string out;
  for (char c : s) {
    if (out.size() >= max) {
      out += "...";
      break;
    }
    out += (c >= 0x20 && c < 0x7f) ? c : '?';
  }
  return out;
}

// The message of a Redfish error body ({"error": {"message", "@Message.ExtendedInfo": [...]}}),
// else the start of the body.
std::string ErrorWords(const std::string& body) {
  json j = json::parse(body, nullptr, false);
  if (j.is_object() && j.contains("error") && j["error"].is_object()) {
    const json& e = j["error"];
    auto info = e.find("@Message.ExtendedInfo");
    if (info != e.end() && info->is_array() && !info->empty() && (*info)[0].is_object()) {
      auto m = (*info)[0].find("Message");
      if (m != (*info)[0].end() && m->is_string()) return Printable(m->get<std::string>());
    }
    auto m = e.find("message");
    if (m != e.end() && m->is_string()) return Printable(m->get<std::string>());
  }
  return Printable(body, 120);
}

// An id as one URL path segment: percent-encoded except the unreserved characters.
std::string Segment(const std::string& id) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : id) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

// "http(s)://host:port" from the BMC's address: host:port (plain HTTP) or a base URL without path.
Result<std::string> BaseUrl(const BmcTarget& t) {
  std::string a = t.bmc.address;
  while (!a.empty() && a.back() == '/') a.pop_back();
  std::string scheme = "http://";
  for (const char* s : {"http://", "https://"}) {
    if (a.rfind(s, 0) == 0) {
      scheme = s;
      a = a.substr(scheme.size());
    }
  }
  std::string host = a, port = scheme == "https://" ? "443" : "80";
  if (!a.empty() && a.front() == '[') {
    size_t close = a.find(']');
    host = close == std::string::npos ? "" : a.substr(0, close + 1);
    if (close != std::string::npos && close + 1 < a.size()) {
      port = a[close + 1] == ':' ? a.substr(close + 2) : "";
    }
  } else if (size_t colon = a.find(':'); colon != std::string::npos) {
    host = a.substr(0, colon);
    port = a.substr(colon + 1);
  }
  int p = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
  const bool host_ok = !host.empty() && host.find_first_of("/?#@ ") == std::string::npos;
  if (!host_ok || ec != std::errc() || end != port.data() + port.size() || p < 1 || p > 65535) {
    return InvalidArgumentError("node " + t.node + ": BMC address \"" +
                                Printable(t.bmc.address, 100) +
                                "\" is not host:port or a base URL http(s)://host:port");
  }
  return scheme + host + ":" + port;
}

// A path the BMC gave us (a member's @odata.id, an action's target) that we may request from it.
bool IsServicePath(const std::string& p) {
  if (p.rfind("/redfish/v1/", 0) != 0 || p.size() > 512) return false;
  for (char c : p) {
    if (c <= 0x20 || c >= 0x7f) return false;
  }
  return true;
}

struct Answer {
  int status = 0;
  std::string body;
  std::string etag;
};

class RedfishDriver final : public BmcDriver {
 public:
  explicit RedfishDriver(RedfishOptions o) : o_(std::move(o)) {}

  Result<bool> IsPoweredOn(const BmcTarget& t) override {
    auto sys = System(t);
    if (!sys.ok()) return sys.status();
    return PoweredOn(t, *sys);
  }

  Status PowerOn(const BmcTarget& t) override { return SetPower(t, true); }
  Status PowerOff(const BmcTarget& t) override { return SetPower(t, false); }

  Status SetOneTimePxeBoot(const BmcTarget& t) override {
    json patch = {
        {"Boot", {{"BootSourceOverrideTarget", "Pxe"}, {"BootSourceOverrideEnabled", "Once"}}}};
    // If-Match with the ETag just read; when the system changed in between (412), read it again
    // and try once more.
    for (int attempt = 0;; ++attempt) {
      auto sys = System(t);
      if (!sys.ok()) return sys.status();
      auto a = Call(t, "PATCH", sys->path, patch.dump(), sys->etag, "one-time PXE boot");
      if (a.ok()) return Status::Ok();
      if (attempt == 1 || a.status().reason() != kEtagMismatch) return a.status();
    }
  }

  Result<std::string> BootDevice(const BmcTarget& t) override {
    auto sys = System(t);
    if (!sys.ok()) return sys.status();
    const json& boot = sys->doc.contains("Boot") ? sys->doc["Boot"] : json();
    auto target = boot.is_object() ? boot.find("BootSourceOverrideTarget") : boot.end();
    auto enabled = boot.is_object() ? boot.find("BootSourceOverrideEnabled") : boot.end();
    if (!boot.is_object() || target == boot.end() || !target->is_string()) {
      return InternalError(Peer(t) + ": system " + sys->path +
                           " has no Boot.BootSourceOverrideTarget");
    }
    if (enabled != boot.end() && enabled->is_string() && *enabled == "Disabled") {
      return std::string("none");
    }
    const std::string v = target->get<std::string>();
    if (v == "Pxe") return std::string("pxe");
    if (v == "Hdd") return std::string("disk");
    if (v == "Cd") return std::string("cdrom");
    if (v == "BiosSetup") return std::string("bios");
    if (v == "None") return std::string("none");
    std::string lower;
    for (char c : Printable(v, 40)) lower += static_cast<char>(std::tolower(c));
    return lower;
  }

 private:
  struct SystemDoc {
    std::string path;
    std::string etag;
    json doc;
  };

  static std::string Peer(const BmcTarget& t) {
    return "node " + t.node + ": BMC at " + Printable(t.bmc.address, 100);
  }

  Status SetPower(const BmcTarget& t, bool on) {
    auto sys = System(t);
    if (!sys.ok()) return sys.status();
    auto now = PoweredOn(t, *sys);
    if (!now.ok()) return now.status();
    if (*now == on) return Status::Ok();
    // The action's target as the system announces it; the standard place when it announces none.
    std::string action = sys->path + "/Actions/ComputerSystem.Reset";
    if (auto a = sys->doc.find("Actions"); a != sys->doc.end() && a->is_object()) {
      if (auto r = a->find("#ComputerSystem.Reset"); r != a->end() && r->is_object()) {
        if (auto tg = r->find("target"); tg != r->end() && tg->is_string()) {
          action = tg->get<std::string>();
          if (!IsServicePath(action)) {
            return InternalError(Peer(t) + ": system " + sys->path +
                                 " announces a reset target that is not a Redfish path");
          }
        }
      }
    }
    json body = {{"ResetType", on ? "On" : "ForceOff"}};
    auto a = Call(t, "POST", action, body.dump(), "", on ? "power on" : "power off");
    if (!a.ok()) return a.status();
    return Status::Ok();
  }

  Result<bool> PoweredOn(const BmcTarget& t, const SystemDoc& sys) {
    auto p = sys.doc.find("PowerState");
    if (p == sys.doc.end() || !p->is_string()) {
      return InternalError(Peer(t) + ": system " + sys.path + " has no PowerState");
    }
    const std::string s = p->get<std::string>();
    if (s == "On" || s == "PoweringOn") return true;
    if (s == "Off" || s == "PoweringOff") return false;
    return InternalError(Peer(t) + ": system " + sys.path + " has PowerState \"" +
                         Printable(s, 40) + "\"");
  }

  // The target's ComputerSystem resource, with its ETag.
  Result<SystemDoc> System(const BmcTarget& t) {
    SystemDoc sys;
    if (!t.bmc.system.empty()) {
      sys.path = "/redfish/v1/Systems/" + Segment(t.bmc.system);
    } else {
      auto c = GetJson(t, "/redfish/v1/Systems", "the Systems collection");
      if (!c.ok()) return c.status();
      const json& members = c->doc.contains("Members") ? c->doc["Members"] : json();
      if (!members.is_array() || members.size() != 1 || !members[0].is_object() ||
          !members[0].contains("@odata.id") || !members[0]["@odata.id"].is_string()) {
        return InvalidArgumentError(Peer(t) + ": the BMC does not have exactly one system (" +
                                    std::to_string(members.is_array() ? members.size() : 0) +
                                    "); name one with the BMC's system");
      }
      sys.path = members[0]["@odata.id"].get<std::string>();
      if (!IsServicePath(sys.path)) {
        return InternalError(Peer(t) +
                             ": the Systems collection lists a member that is not a "
                             "Redfish path");
      }
    }
    auto s = GetJson(t, sys.path, "system " + sys.path);
    if (!s.ok()) return s.status();
    sys.etag = s->etag;
    sys.doc = std::move(s->doc);
    return sys;
  }

  struct JsonAnswer {
    json doc;
    std::string etag;
  };

  Result<JsonAnswer> GetJson(const BmcTarget& t, const std::string& path, const std::string& what) {
    auto a = Call(t, "GET", path, "", "", what);
    if (!a.ok()) return a.status();
    json j = json::parse(a->body, nullptr, false);
    if (!j.is_object()) {
      return InternalError(Peer(t) + ": " + what + " is not a JSON object");
    }
    return JsonAnswer{std::move(j), a->etag};
  }

  // One request; any answer but 2xx becomes a Status.
  Result<Answer> Call(const BmcTarget& t, const std::string& method, const std::string& path,
                      const std::string& body, const std::string& if_match,
                      const std::string& what) {
    auto base = BaseUrl(t);
    if (!base.ok()) return base.status();
    const bool tls = base->rfind("https://", 0) == 0;
    httplib::Client client(*base);
    if (!client.is_valid()) {
      return InvalidArgumentError(Peer(t) + ": the BMC address is not host:port or a base URL");
    }
    const auto secs = static_cast<time_t>(std::floor(o_.timeout_seconds));
    const auto usecs =
        static_cast<time_t>((o_.timeout_seconds - std::floor(o_.timeout_seconds)) * 1e6);
    client.set_connection_timeout(secs, usecs);
    client.set_read_timeout(secs, usecs);
    client.set_write_timeout(secs, usecs);
    client.set_keep_alive(false);
    if (tls) {
      client.enable_server_certificate_verification(o_.verify_tls);
      if (!o_.ca_file.empty()) client.set_ca_cert_path(o_.ca_file);
    }
    if (!t.credentials.username.empty()) {
      client.set_basic_auth(t.credentials.username, t.credentials.password);
    }

    httplib::Request req;
    req.method = method;
    req.path = path;
    req.set_header("Accept", "application/json");
    req.set_header("OData-Version", "4.0");
    if (!body.empty()) {
      req.body = body;
      req.set_header("Content-Type", "application/json");
    }
    if (!if_match.empty()) req.set_header("If-Match", if_match);
    std::string received;
    bool too_large = false;
    req.content_receiver = [&](const char* data, size_t n, uint64_t, uint64_t) {
      if (received.size() + n > kMaxAnswerBytes) {
        too_large = true;
        return false;
      }
      received.append(data, n);
      return true;
    };
    httplib::Response res;
    httplib::Error err = httplib::Error::Success;
    const bool sent = client.send(req, res, err);
    if (too_large) {
      return InternalError(Peer(t) + ": " + what + ": the answer is larger than 1 MiB");
    }
    if (!sent) {
      if (err == httplib::Error::SSLServerVerification || err == httplib::Error::SSLLoadingCerts) {
        return FailedPreconditionError(Peer(t) + ": " + what + ": " + httplib::to_string(err) +
                                       " (check caFile or verifyTls)");
      }
      return UnavailableError(Peer(t) + " did not answer " + what + ": " + TransportWords(err));
    }
    if (res.status == 401 || res.status == 403) {
      return FailedPreconditionError(
          Peer(t) + " refused user \"" + Printable(t.credentials.username, 64) +
          "\" (wrong user name or password) for " + what + ": HTTP " + std::to_string(res.status));
    }
    std::string words = ErrorWords(received);
    if (const std::string& pw = t.credentials.password; !pw.empty()) {
      for (size_t at = words.find(pw); at != std::string::npos; at = words.find(pw, at)) {
        words.replace(at, pw.size(), "***");
      }
    }
    if (res.status == 404) {
      return InvalidArgumentError(Peer(t) + ": " + what + ": " + path +
                                  " does not exist: " + words);
    }
    if (res.status == 412) {
      return WithReason(
          StatusCode::kInternal, kEtagMismatch,
          Peer(t) + ": " + what + ": the resource changed meanwhile (HTTP 412): " + words);
    }
    if (res.status < 200 || res.status > 299) {
      return InternalError(Peer(t) + ": " + what + " failed: HTTP " + std::to_string(res.status) +
                           ": " + words);
    }
    return Answer{res.status, std::move(received), res.get_header_value("ETag")};
  }

  std::string TransportWords(httplib::Error err) const {
    std::string secs = std::to_string(o_.timeout_seconds);
    secs.erase(secs.find_last_not_of('0') + 1);
    if (!secs.empty() && secs.back() == '.') secs.pop_back();
    switch (err) {
      case httplib::Error::Connection: return "no connection (refused or unreachable)";
      case httplib::Error::ConnectionTimeout: return "no connection within " + secs + " s";
      case httplib::Error::Read: return "no answer within " + secs + " s, or the connection closed";
      case httplib::Error::Write: return "the request could not be sent";
      case httplib::Error::SSLConnection: return "the TLS handshake failed";
      default: return httplib::to_string(err);
    }
  }

  RedfishOptions o_;
};

}  // namespace

Result<std::unique_ptr<BmcDriver>> MakeRedfishDriver(const DriverOptions& options) {
  auto o = ReadOptions(options);
  if (!o.ok()) return o.status();
  return std::unique_ptr<BmcDriver>(std::make_unique<RedfishDriver>(std::move(*o)));
}

}  // namespace topoplace
