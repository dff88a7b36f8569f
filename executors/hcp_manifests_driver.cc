#include "executors/hcp_manifests_driver.h"

#include <arpa/inet.h>
#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <vector>

#include "model/hash.h"

namespace topoplace {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

constexpr const char* kDriver = "cluster driver hcp-manifests";
constexpr const char* kHypershiftApi = "hypershift.openshift.io/v1beta1";
constexpr const char* kAgentApi = "agent-install.openshift.io/v1beta1";
// The label an Agent carries for the InfraEnv it registered through.
constexpr const char* kInfraEnvLabel = "infraenvs.agent-install.openshift.io";
constexpr const char* kNodeAnnotation = "topoplace.io/node";
constexpr const char* kMacAnnotation = "topoplace.io/mac";
constexpr const char* kAddressAnnotation = "topoplace.io/address";
constexpr const char* kNodeClassLabel = "topoplace.io/node-class";
constexpr size_t kMaxClusterName = 40;
constexpr size_t kMaxLabel = 63;

// ---- names ----------------------------------------------------------------------------------

std::string Hex6(const std::string& s) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%06x", static_cast<unsigned>(Fnv1a32(s) & 0xffffff));
  return buf;
}

// Lower-case letters and digits with single inner hyphens: the part of a DNS-1123 label `s` can
// give.
std::string LabelChars(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    const bool ok = std::isalnum(c) && c < 0x80;
    const char ch = ok ? static_cast<char>(std::tolower(c)) : '-';
    if (ch == '-' && (out.empty() || out.back() == '-')) continue;
    out += ch;
  }
  while (!out.empty() && out.back() == '-') out.pop_back();
  return out;
}

// A DNS-1123 label (starting with a letter, so also a DNS-1035 one) of at most `max` characters:
// the readable parts, cut to fit, then six hex digits of a hash of `identity` so distinct
// identities get distinct names even when their readable parts agree or are cut.
std::string BoundedName(const std::vector<std::string>& parts, const std::string& identity,
                        size_t max) {
  std::string base;
  for (const std::string& p : parts) {
    std::string l = LabelChars(p);
    if (l.empty()) continue;
    if (!base.empty()) base += '-';
    base += l;
  }
  if (base.empty() || !std::isalpha(static_cast<unsigned char>(base[0]))) base = "c-" + base;
  const std::string suffix = Hex6(identity);
  if (base.size() > max - 1 - suffix.size()) base.resize(max - 1 - suffix.size());
  while (!base.empty() && base.back() == '-') base.pop_back();
  return base + "-" + suffix;
}

bool IsLabelValue(const std::string& v) {
  static const std::regex kValue("(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?");
  return v.size() <= kMaxLabel && std::regex_match(v, kValue);
}

bool IsDnsLabel(const std::string& v) {
  static const std::regex kLabel("[a-z0-9]([-a-z0-9]*[a-z0-9])?");
  return !v.empty() && v.size() <= kMaxLabel && std::regex_match(v, kLabel);
}

bool IsMac(const std::string& mac) {
  if (mac.size() != 17) return false;
  for (size_t i = 0; i < mac.size(); ++i) {
    if (i % 3 == 2 ? mac[i] != ':' : !std::isxdigit(static_cast<unsigned char>(mac[i])))
      return false;
  }
  return true;
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// ---- IPv4 networks ----------------------------------------------------------------------------

struct Cidr {
  uint32_t network = 0;
  int prefix = 0;
  uint32_t Mask() const { return prefix == 0 ? 0 : ~uint32_t{0} << (32 - prefix); }
  bool Overlaps(const Cidr& o) const {
    const int p = std::min(prefix, o.prefix);
    const uint32_t m = p == 0 ? 0 : ~uint32_t{0} << (32 - p);
    return (network & m) == (o.network & m);
  }
};

std::optional<Cidr> ParseCidr(const std::string& s) {
  const size_t slash = s.find('/');
  if (slash == std::string::npos) return std::nullopt;
  in_addr a{};
  if (inet_pton(AF_INET, s.substr(0, slash).c_str(), &a) != 1) return std::nullopt;
  int prefix = -1;
  const char* b = s.data() + slash + 1;
  const char* e = s.data() + s.size();
  auto [p, ec] = std::from_chars(b, e, prefix);
  if (ec != std::errc() || p != e || b == e || prefix < 0 || prefix > 32) return std::nullopt;
  Cidr c;
  c.prefix = prefix;
  c.network = ntohl(a.s_addr) & c.Mask();
  return c;
}

// ---- options ----------------------------------------------------------------------------------

struct Options {
  std::string apply_dir;
  std::string release_image;
  std::string base_domain = "topoplace.local";
  std::string namespace_name = "clusters";
  std::string agent_namespace;  // "" = namespace_name
  std::string pull_secret = "pull-secret";
  std::string ssh_key_secret;
  std::string ssh_authorized_key;
  std::string service_publishing = "LoadBalancer";
  std::string node_port_address;
  std::string cluster_network = "10.132.0.0/14";
  int host_prefix = 23;
  std::string service_network = "172.31.0.0/16";
  std::string network_type = "OVNKubernetes";
  std::string node_upgrade_type = "InPlace";
};

constexpr const char* kOptionNames =
    "applyDir, releaseImage, baseDomain, namespace, agentNamespace, pullSecret, sshKeySecret, "
    "sshAuthorizedKey, servicePublishing, nodePortAddress, clusterNetwork, hostPrefix, "
    "serviceNetwork, networkType, nodeUpgradeType";

Status BadOption(const std::string& key, const std::string& value, const std::string& expected) {
  return InvalidArgumentError(std::string(kDriver) + ": option " + key + " is \"" + value +
                              "\"; expected " + expected);
}

Result<Options> ReadOptions(const DriverOptions& options) {
  Options o;
  static const std::regex kDomain("(([a-zA-Z0-9-]+\\.)+[a-zA-Z]{2,}|[a-zA-Z0-9-]+)");
  static const std::regex kImage("\\w+\\S+");
  static const std::regex kHost(
      "(([a-zA-Z0-9][-a-zA-Z0-9]*\\.)+[a-zA-Z]{2,}|localhost|(\\d{1,3}\\.){3}\\d{1,3})");
  for (const auto& [key, value] : options) {
    if (key == "applyDir") {
      if (value.empty()) return BadOption(key, value, "the hub stand-in's directory");
      o.apply_dir = value;
    } else if (key == "releaseImage") {
      if (value.size() > 253 || !std::regex_match(value, kImage)) {
        return BadOption(key, value, "a release image reference without spaces");
      }
      o.release_image = value;
    } else if (key == "baseDomain") {
      if (value.size() > 253 || !std::regex_match(value, kDomain)) {
        return BadOption(key, value, "a DNS domain such as clusters.example.org");
      }
      o.base_domain = value;
    } else if (key == "namespace" || key == "agentNamespace") {
      if (!IsDnsLabel(value) || value.size() > 54) {
        return BadOption(key, value, "a namespace name (DNS-1123 label) of at most 54 characters");
      }
      (key == "namespace" ? o.namespace_name : o.agent_namespace) = value;
    } else if (key == "pullSecret" || key == "sshKeySecret") {
      static const std::regex kSubdomain(
          "[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*");
      const bool may_be_empty = key == "sshKeySecret";
      if (!(value.empty() && may_be_empty) &&
          (value.size() > 253 || !std::regex_match(value, kSubdomain))) {
        return BadOption(key, value, "a Secret name (DNS-1123 subdomain)");
      }
      (key == "pullSecret" ? o.pull_secret : o.ssh_key_secret) = value;
    } else if (key == "sshAuthorizedKey") {
      if (value.find('\n') != std::string::npos) {
        return BadOption(key, "...", "one public key line");
      }
      o.ssh_authorized_key = value;
    } else if (key == "servicePublishing") {
      if (value != "LoadBalancer" && value != "Route" && value != "NodePort") {
        return BadOption(key, value, "LoadBalancer, Route or NodePort");
      }
      o.service_publishing = value;
    } else if (key == "nodePortAddress") {
      if (value.size() > 253 || !std::regex_match(value, kHost)) {
        return BadOption(key, value, "a host name or an IPv4 address");
      }
      o.node_port_address = value;
    } else if (key == "clusterNetwork" || key == "serviceNetwork") {
      if (!ParseCidr(value)) return BadOption(key, value, "an IPv4 CIDR such as 10.132.0.0/14");
      (key == "clusterNetwork" ? o.cluster_network : o.service_network) = value;
    } else if (key == "hostPrefix") {
      int v = 0;
      auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
      if (ec != std::errc() || p != value.data() + value.size() || v < 1 || v > 32) {
        return BadOption(key, value, "a prefix length from 1 to 32");
      }
      o.host_prefix = v;
    } else if (key == "networkType") {
      if (value != "OVNKubernetes" && value != "OpenShiftSDN" && value != "Calico" &&
          value != "Other") {
        return BadOption(key, value, "OVNKubernetes, OpenShiftSDN, Calico or Other");
      }
      o.network_type = value;
    } else if (key == "nodeUpgradeType") {
      if (value != "InPlace" && value != "Replace") {
        return BadOption(key, value, "InPlace or Replace");
      }
      o.node_upgrade_type = value;
    } else {
      return InvalidArgumentError(std::string(kDriver) + ": unknown option \"" + key +
                                  "\"; expected " + kOptionNames);
    }
  }
  if (o.apply_dir.empty()) {
    return InvalidArgumentError(std::string(kDriver) +
                                ": option applyDir is required (the hub stand-in's directory)");
  }
  if (o.release_image.empty()) {
    return InvalidArgumentError(std::string(kDriver) +
                                ": option releaseImage is required (the release image of the "
                                "hosted control planes)");
  }
  if (o.service_publishing == "NodePort" && o.node_port_address.empty()) {
    return InvalidArgumentError(std::string(kDriver) +
                                ": servicePublishing NodePort needs option nodePortAddress");
  }
  if (o.agent_namespace.empty()) o.agent_namespace = o.namespace_name;
  if (o.host_prefix < ParseCidr(o.cluster_network)->prefix) {
    return BadOption("hostPrefix", std::to_string(o.host_prefix),
                     "a prefix at least as long as clusterNetwork's");
  }
  if (ParseCidr(o.cluster_network)->Overlaps(*ParseCidr(o.service_network))) {
    return InvalidArgumentError(std::string(kDriver) + ": clusterNetwork " + o.cluster_network +
                                " overlaps serviceNetwork " + o.service_network);
  }
  return o;
}

// ---- the hub stand-in -------------------------------------------------------------------------

// Stands in for the hub that would apply our manifests: one JSON file per object under its
// directory, `<namespace>/<Kind>/<name>.json`. Not thread-safe; the driver serialises calls.
class HubStandIn {
 public:
  explicit HubStandIn(fs::path dir) : dir_(std::move(dir)) {}

  fs::path PathOf(const std::string& kind, const std::string& ns, const std::string& name) const {
    return dir_ / ns / kind / (name + ".json");
  }

  // Writes the object's file (temporary file + rename) unless it already holds the same text.
  Status Apply(const json& object) {
    const json& meta = object.at("metadata");
    const fs::path p =
        PathOf(object.at("kind").get<std::string>(), meta.at("namespace").get<std::string>(),
               meta.at("name").get<std::string>());
    const std::string text = object.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
    if (Result<std::optional<std::string>> old = ReadText(p); old.ok() && *old == text) {
      return Status::Ok();
    }
    std::error_code ec;
    fs::create_directories(p.parent_path(), ec);
    if (ec)
      return InternalError("hub stand-in: cannot create " + p.parent_path().string() + ": " +
                           ec.message());
    const fs::path tmp = p.parent_path() / ("." + p.filename().string() + ".tmp");
    {
      std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
      out << text;
      out.flush();
      if (!out) return InternalError("hub stand-in: cannot write " + tmp.string());
    }
    chmod(tmp.c_str(), 0644);
    fs::rename(tmp, p, ec);
    if (ec) {
      return InternalError("hub stand-in: cannot rename " + tmp.string() + " to " + p.string() +
                           ": " + ec.message());
    }
    return Status::Ok();
  }

  // The object, or nothing when its file does not exist.
  Result<std::optional<json>> Get(const std::string& kind, const std::string& ns,
                                  const std::string& name) const {
    return ReadObject(PathOf(kind, ns, name));
  }

  // A missing file is success: the object is gone either way.
  Status Delete(const std::string& kind, const std::string& ns, const std::string& name) {
    const fs::path p = PathOf(kind, ns, name);
    std::error_code ec;
    fs::remove(p, ec);
    if (ec) return InternalError("hub stand-in: cannot delete " + p.string() + ": " + ec.message());
    return Status::Ok();
  }

  // Every object of `kind`, in one namespace or (ns "") in all, in file name order.
  Result<std::vector<json>> List(const std::string& kind, const std::string& ns) const {
    std::vector<fs::path> dirs;
    std::error_code ec;
    if (!ns.empty()) {
      dirs.push_back(dir_ / ns / kind);
    } else if (fs::is_directory(dir_, ec)) {
      for (const fs::directory_entry& e : fs::directory_iterator(dir_, ec)) {
        if (e.is_directory(ec)) dirs.push_back(e.path() / kind);
      }
    }
    std::vector<fs::path> files;
    for (const fs::path& d : dirs) {
      if (!fs::is_directory(d, ec)) continue;
      for (const fs::directory_entry& e : fs::directory_iterator(d, ec)) {
        const std::string f = e.path().filename().string();
        if (f.empty() || f[0] == '.' || e.path().extension() != ".json") continue;
        files.push_back(e.path());
      }
    }
    std::sort(files.begin(), files.end());
    std::vector<json> out;
    for (const fs::path& f : files) {
      Result<std::optional<json>> o = ReadObject(f);
      if (!o.ok()) return o.status();
      if (*o) out.push_back(std::move(**o));
    }
    return out;
  }

 private:
  static Result<std::optional<std::string>> ReadText(const fs::path& p) {
    std::error_code ec;
    if (!fs::exists(p, ec)) return std::optional<std::string>();
    std::ifstream in(p, std::ios::binary);
    if (!in) return InternalError("hub stand-in: cannot read " + p.string());
    std::ostringstream s;
    s << in.rdbuf();
    return std::optional<std::string>(s.str());
  }

  static Result<std::optional<json>> ReadObject(const fs::path& p) {
    Result<std::optional<std::string>> text = ReadText(p);
    if (!text.ok()) return text.status();
    if (!*text) return std::optional<json>();
    json j = json::parse(**text, nullptr, false);
    if (j.is_discarded() || !j.is_object()) {
      return InternalError("hub stand-in: " + p.string() + " is not a JSON object");
    }
    return std::optional<json>(std::move(j));
  }

  fs::path dir_;
};

// ---- reading objects back ---------------------------------------------------------------------

const json* Find(const json& j, std::initializer_list<const char*> path) {
  const json* at = &j;
  for (const char* key : path) {
    if (!at->is_object()) return nullptr;
    auto it = at->find(key);
    if (it == at->end()) return nullptr;
    at = &*it;
  }
  return at;
}

std::string TextAt(const json& j, std::initializer_list<const char*> path) {
  const json* v = Find(j, path);
  return v && v->is_string() ? v->get<std::string>() : "";
}

// Whether a label selector (matchLabels and matchExpressions) selects an object with `labels`.
// As in the API: no selector selects nothing, an empty one everything.
bool Selects(const json* selector, const json* labels) {
  if (selector == nullptr || !selector->is_object()) return false;
  static const json kNone = json::object();
  const json& l = labels && labels->is_object() ? *labels : kNone;
  auto value_of = [&](const std::string& key) -> std::optional<std::string> {
    auto it = l.find(key);
    if (it == l.end() || !it->is_string()) return std::nullopt;
    return it->get<std::string>();
  };
  if (const json* ml = Find(*selector, {"matchLabels"}); ml && ml->is_object()) {
    for (const auto& [k, v] : ml->items()) {
      if (!v.is_string() || value_of(k) != v.get<std::string>()) return false;
    }
  }
  if (const json* me = Find(*selector, {"matchExpressions"}); me && me->is_array()) {
    for (const json& e : *me) {
      const std::string key = TextAt(e, {"key"});
      const std::string op = TextAt(e, {"operator"});
      std::set<std::string> values;
      if (const json* vs = Find(e, {"values"}); vs && vs->is_array()) {
        for (const json& v : *vs) {
          if (v.is_string()) values.insert(v.get<std::string>());
        }
      }
      const std::optional<std::string> have = value_of(key);
      if (op == "In" && !(have && values.count(*have))) return false;
      if (op == "NotIn" && have && values.count(*have)) return false;
      if (op == "Exists" && !have) return false;
      if (op == "DoesNotExist" && have) return false;
      if (op != "In" && op != "NotIn" && op != "Exists" && op != "DoesNotExist") return false;
    }
  }
  return true;
}

// ---- the driver -------------------------------------------------------------------------------

// What one cluster's objects are called.
struct ClusterNames {
  std::string name;         // HostedCluster, NodePool and InfraEnv
  std::string label_value;  // of kHcpClusterLabel on the NodePool's selector and the Agents
};

class HcpManifestsDriver : public ClusterDriver {
 public:
  explicit HcpManifestsDriver(Options o) : o_(std::move(o)), hub_(o_.apply_dir) {}

  Status EnsureCluster(const ClusterSpec& cluster) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (Status s = CheckCluster(cluster); !s.ok()) return s;
    const ClusterNames n = NamesOf(cluster);
    if (Status s = hub_.Apply(HostedCluster(cluster, n)); !s.ok()) return s;
    if (Status s = hub_.Apply(InfraEnv(n)); !s.ok()) return s;
    return ApplyNodePool(cluster, n, /*leaving=*/false);
  }

  Status AddNode(const ClusterSpec& cluster, const ClusterMember& member) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (Status s = CheckCluster(cluster); !s.ok()) return s;
    if (Status s = CheckMember(cluster, member); !s.ok()) return s;
    const ClusterNames n = NamesOf(cluster);
    Result<std::optional<json>> pool = hub_.Get("NodePool", o_.namespace_name, n.name);
    if (!pool.ok()) return pool.status();
    Result<std::optional<json>> hc = hub_.Get("HostedCluster", o_.namespace_name, n.name);
    if (!hc.ok()) return hc.status();
    if (!*pool || !*hc) {
      return FailedPreconditionError(std::string(kDriver) + ": cluster " + n.name + " (" +
                                     cluster.id + ") is not applied yet; node " + member.node +
                                     " cannot join it");
    }
    if (Status s = hub_.Apply(Agent(cluster, n, member)); !s.ok()) return s;
    return ApplyNodePool(cluster, n, /*leaving=*/false);
  }

  Result<bool> NodeReady(const ClusterSpec& cluster, const ClusterMember& member) override {
    std::lock_guard<std::mutex> lock(mu_);
    const ClusterNames n = NamesOf(cluster);
    Result<std::optional<json>> pool = hub_.Get("NodePool", o_.namespace_name, n.name);
    if (!pool.ok()) return pool.status();
    if (!*pool) {
      return FailedPreconditionError(std::string(kDriver) + ": NodePool " + o_.namespace_name +
                                     "/" + n.name + " of cluster " + cluster.id +
                                     " is not applied");
    }
    Result<std::optional<json>> agent =
        hub_.Get("Agent", o_.agent_namespace, AgentName(cluster, n, member.node));
    if (!agent.ok()) return agent.status();
    if (!*agent) return false;
    const json* approved = Find(**agent, {"spec", "approved"});
    return approved && approved->is_boolean() && approved->get<bool>() &&
           Selects(Find(**pool, {"spec", "platform", "agent", "agentLabelSelector"}),
                   Find(**agent, {"metadata", "labels"}));
  }

  Status VerifyNode(const ClusterSpec& cluster, const ClusterMember& member) override {
    std::lock_guard<std::mutex> lock(mu_);
    const ClusterNames n = NamesOf(cluster);
    const std::string agent_name = AgentName(cluster, n, member.node);
    const std::string where = std::string(kDriver) + ": node " + member.node + " (Agent " +
                              o_.agent_namespace + "/" + agent_name + ", cluster " + n.name + ")";
    Result<std::optional<json>> hc = hub_.Get("HostedCluster", o_.namespace_name, n.name);
    if (!hc.ok()) return hc.status();
    Result<std::optional<json>> pool = hub_.Get("NodePool", o_.namespace_name, n.name);
    if (!pool.ok()) return pool.status();
    Result<std::optional<json>> agent = hub_.Get("Agent", o_.agent_namespace, agent_name);
    if (!agent.ok()) return agent.status();
    if (!*hc || !*pool) return FailedPreconditionError(where + ": the cluster is not applied");
    if (!*agent) return FailedPreconditionError(where + ": its Agent is not applied");
    const json& a = **agent;
    if (TextAt(**pool, {"spec", "clusterName"}) != n.name ||
        TextAt(**hc, {"spec", "platform", "agent", "agentNamespace"}) != o_.agent_namespace) {
      return FailedPreconditionError(where + ": the NodePool is not this HostedCluster's");
    }
    const json* approved = Find(a, {"spec", "approved"});
    if (!approved || !approved->is_boolean() || !approved->get<bool>()) {
      return FailedPreconditionError(where + ": the Agent is not approved");
    }
    if (TextAt(a, {"spec", "hostname"}) != HostName(member.node)) {
      return FailedPreconditionError(where + ": the Agent's hostname is \"" +
                                     TextAt(a, {"spec", "hostname"}) + "\"");
    }
    if (!member.mac.empty() &&
        TextAt(a, {"metadata", "annotations", kMacAnnotation}) != Lower(member.mac)) {
      return FailedPreconditionError(where + ": the Agent carries another MAC");
    }
    const json* labels = Find(a, {"metadata", "labels"});
    if (!Selects(Find(**pool, {"spec", "platform", "agent", "agentLabelSelector"}), labels)) {
      return FailedPreconditionError(where + ": the NodePool's agent selector does not match it");
    }
    // Bound to this NodePool only: no other NodePool whose HostedCluster takes its Agents from
    // this namespace selects it.
    Result<std::vector<json>> pools = hub_.List("NodePool", "");
    if (!pools.ok()) return pools.status();
    for (const json& other : *pools) {
      const std::string other_ns = TextAt(other, {"metadata", "namespace"});
      const std::string other_name = TextAt(other, {"metadata", "name"});
      if (other_ns == o_.namespace_name && other_name == n.name) continue;
      Result<std::optional<json>> other_hc =
          hub_.Get("HostedCluster", other_ns, TextAt(other, {"spec", "clusterName"}));
      if (!other_hc.ok()) return other_hc.status();
      if (!*other_hc || TextAt(**other_hc, {"spec", "platform", "agent", "agentNamespace"}) !=
                            o_.agent_namespace) {
        continue;
      }
      if (Selects(Find(other, {"spec", "platform", "agent", "agentLabelSelector"}), labels)) {
        return FailedPreconditionError(where + ": NodePool " + other_ns + "/" + other_name +
                                       " selects it too");
      }
    }
    return Status::Ok();
  }

  Status RemoveNode(const ClusterSpec& cluster, const std::string& node) override {
    std::lock_guard<std::mutex> lock(mu_);
    const ClusterNames n = NamesOf(cluster);
    if (Status s = hub_.Delete("Agent", o_.agent_namespace, AgentName(cluster, n, node)); !s.ok())
      return s;
    Result<std::optional<json>> pool = hub_.Get("NodePool", o_.namespace_name, n.name);
    if (!pool.ok()) return pool.status();
    if (!*pool) return Status::Ok();
    return ApplyNodePool(cluster, n, /*leaving=*/true);
  }

  Status RemoveCluster(const ClusterSpec& cluster) override {
    std::lock_guard<std::mutex> lock(mu_);
    const ClusterNames n = NamesOf(cluster);
    Result<std::vector<std::string>> left = AgentsOf(n);
    if (!left.ok()) return left.status();
    if (!left->empty()) {
      std::string names;
      for (const std::string& a : *left) names += (names.empty() ? "" : ", ") + a;
      return FailedPreconditionError(std::string(kDriver) + ": cluster " + n.name +
                                     " still has Agents: " + names);
    }
    if (Status s = hub_.Delete("NodePool", o_.namespace_name, n.name); !s.ok()) return s;
    if (Status s = hub_.Delete("InfraEnv", o_.agent_namespace, n.name); !s.ok()) return s;
    return hub_.Delete("HostedCluster", o_.namespace_name, n.name);
  }

  ClusterAccess Access(const ClusterSpec& cluster) override {
    const std::string name = NamesOf(cluster).name;
    return {
        {"apiUrl", "https://api." + name + "." + o_.base_domain + ":6443"},
        {"consoleUrl", "https://console-openshift-console.apps." + name + "." + o_.base_domain},
        {"kubeconfig", o_.namespace_name + "/" + name + "-admin-kubeconfig"},
    };
  }

 private:
  ClusterNames NamesOf(const ClusterSpec& c) const {
    ClusterNames n;
    n.name = HcpClusterName(c, o_.namespace_name);
    n.label_value =
        IsLabelValue(c.id) && !c.id.empty() ? c.id : BoundedName({c.id}, c.id, kMaxLabel);
    return n;
  }

  static std::string HostName(const std::string& node) {
    const std::string h = LabelChars(node);
    return h.size() <= kMaxLabel ? h : BoundedName({node}, node, kMaxLabel);
  }

  static std::string AgentName(const ClusterSpec& c, const ClusterNames& n,
                               const std::string& node) {
    return BoundedName({n.name, node}, c.id + "/" + node, kMaxLabel);
  }

  Status CheckCluster(const ClusterSpec& c) const {
    const std::string who = std::string(kDriver) + ": cluster " + c.id;
    if (c.purpose != "openshift") {
      return InvalidArgumentError(who + " has purpose \"" + c.purpose +
                                  "\"; this driver hands over clusters of purpose openshift");
    }
    if (c.id.empty()) return InvalidArgumentError(std::string(kDriver) + ": a cluster without id");
    const std::optional<Cidr> subnet = ParseCidr(c.network.subnet);
    if (!subnet) {
      return InvalidArgumentError(who + ": tenant subnet \"" + c.network.subnet +
                                  "\" is not an IPv4 CIDR");
    }
    const std::pair<const char*, const std::string*> others[] = {
        {"clusterNetwork", &o_.cluster_network}, {"serviceNetwork", &o_.service_network}};
    for (const auto& [what, cidr] : others) {
      if (subnet->Overlaps(*ParseCidr(*cidr))) {
        return InvalidArgumentError(who + ": tenant subnet " + c.network.subnet + " overlaps " +
                                    what + " " + *cidr);
      }
    }
    return Status::Ok();
  }

  static Status CheckMember(const ClusterSpec& c, const ClusterMember& m) {
    const std::string who = std::string(kDriver) + ": cluster " + c.id;
    if (LabelChars(m.node).empty()) {
      return InvalidArgumentError(who + ": a machine without a usable node name (\"" + m.node +
                                  "\")");
    }
    if (!m.mac.empty() && !IsMac(m.mac)) {
      return InvalidArgumentError(who + ": node " + m.node + " has MAC \"" + m.mac +
                                  "\"; expected six hex pairs separated by colons");
    }
    return Status::Ok();
  }

  // The labels the NodePool selects on; every Agent of the cluster carries them.
  static json PoolLabels(const ClusterNames& n) { return {{kHcpClusterLabel, n.label_value}}; }

  json HostedCluster(const ClusterSpec& c, const ClusterNames& n) const {
    auto strategy = [&](const std::string& service) -> json {
      if (o_.service_publishing == "NodePort") {
        return {{"type", "NodePort"}, {"nodePort", {{"address", o_.node_port_address}}}};
      }
      if (o_.service_publishing == "LoadBalancer" && service == "APIServer") {
        return {{"type", "LoadBalancer"}};
      }
      return {{"type", "Route"}};
    };
    json services = json::array();
    for (const char* s : {"APIServer", "OAuthServer", "Konnectivity", "Ignition"}) {
      services.push_back({{"service", s}, {"servicePublishingStrategy", strategy(s)}});
    }
    json spec = {
        {"release", {{"image", o_.release_image}}},
        {"pullSecret", {{"name", o_.pull_secret}}},
        {"dns", {{"baseDomain", o_.base_domain}}},
        {"networking",
         {{"networkType", o_.network_type},
          {"clusterNetwork",
           json::array({{{"cidr", o_.cluster_network}, {"hostPrefix", o_.host_prefix}}})},
          {"serviceNetwork", json::array({{{"cidr", o_.service_network}}})},
          {"machineNetwork", json::array({{{"cidr", c.network.subnet}}})}}},
        {"platform", {{"type", "Agent"}, {"agent", {{"agentNamespace", o_.agent_namespace}}}}},
        {"etcd",
         {{"managementType", "Managed"},
          {"managed", {{"storage", {{"type", "PersistentVolume"}}}}}}},
        {"services", services},
    };
    if (!o_.ssh_key_secret.empty()) spec["sshKey"] = {{"name", o_.ssh_key_secret}};
    return {{"apiVersion", kHypershiftApi},
            {"kind", "HostedCluster"},
            {"metadata", Metadata(c, n.name, o_.namespace_name, n)},
            {"spec", spec}};
  }

  json InfraEnv(const ClusterNames& n) const {
    json spec = {{"pullSecretRef", {{"name", o_.pull_secret}}}, {"agentLabels", PoolLabels(n)}};
    if (!o_.ssh_authorized_key.empty()) spec["sshAuthorizedKey"] = o_.ssh_authorized_key;
    json meta = {{"name", n.name}, {"namespace", o_.agent_namespace}, {"labels", PoolLabels(n)}};
    return {{"apiVersion", kAgentApi}, {"kind", "InfraEnv"}, {"metadata", meta}, {"spec", spec}};
  }

  json NodePool(const ClusterSpec& c, const ClusterNames& n, int replicas) const {
    json spec = {
        {"clusterName", n.name},
        {"replicas", replicas},
        {"release", {{"image", o_.release_image}}},
        {"management", {{"upgradeType", o_.node_upgrade_type}}},
        {"platform",
         {{"type", "Agent"},
          {"agent", {{"agentLabelSelector", {{"matchLabels", PoolLabels(n)}}}}}}},
    };
    return {{"apiVersion", kHypershiftApi},
            {"kind", "NodePool"},
            {"metadata", Metadata(c, n.name, o_.namespace_name, n)},
            {"spec", spec}};
  }

  json Agent(const ClusterSpec& c, const ClusterNames& n, const ClusterMember& m) const {
    json labels = PoolLabels(n);
    labels[kInfraEnvLabel] = n.name;
    json annotations = {{kNodeAnnotation, m.node}};
    if (!m.mac.empty()) annotations[kMacAnnotation] = Lower(m.mac);
    if (!m.address.empty()) annotations[kAddressAnnotation] = m.address;
    json spec = {{"approved", true}, {"hostname", HostName(m.node)}, {"role", "worker"}};
    if (!m.node_class.empty() && IsLabelValue(m.node_class)) {
      spec["nodeLabels"] = {{kNodeClassLabel, m.node_class}};
    }
    return {{"apiVersion", kAgentApi},
            {"kind", "Agent"},
            {"metadata",
             {{"name", AgentName(c, n, m.node)},
              {"namespace", o_.agent_namespace},
              {"labels", labels},
              {"annotations", annotations}}},
            {"spec", spec}};
  }

  // Who the object is for, as annotations (free text) and the cluster label.
  static json Metadata(const ClusterSpec& c, const std::string& name, const std::string& ns,
                       const ClusterNames& n) {
    json annotations = {{"topoplace.io/cluster-id", c.id},
                        {"topoplace.io/tenant", c.tenant},
                        {"topoplace.io/project", c.project},
                        {"topoplace.io/name", c.name}};
    return {
        {"name", name}, {"namespace", ns}, {"labels", PoolLabels(n)}, {"annotations", annotations}};
  }

  // The names of the cluster's Agents now applied.
  Result<std::vector<std::string>> AgentsOf(const ClusterNames& n) const {
    Result<std::vector<json>> agents = hub_.List("Agent", o_.agent_namespace);
    if (!agents.ok()) return agents.status();
    std::vector<std::string> names;
    for (const json& a : *agents) {
      if (TextAt(a, {"metadata", "labels", kHcpClusterLabel}) == n.label_value) {
        names.push_back(TextAt(a, {"metadata", "name"}));
      }
    }
    return names;
  }

  // Applies the NodePool with its replicas: while machines join, the planned machines (the
  // network's distinct nodes) or the Agents applied, whichever is more; once one has left, the
  // Agents left.
  Status ApplyNodePool(const ClusterSpec& c, const ClusterNames& n, bool leaving) {
    Result<std::vector<std::string>> agents = AgentsOf(n);
    if (!agents.ok()) return agents.status();
    int replicas = static_cast<int>(agents->size());
    if (!leaving) {
      std::set<std::string> planned;
      for (const NodeAddress& a : c.network.addresses) planned.insert(a.node);
      replicas = std::max(replicas, static_cast<int>(planned.size()));
    }
    return hub_.Apply(NodePool(c, n, replicas));
  }

  const Options o_;
  std::mutex mu_;
  HubStandIn hub_;
};

}  // namespace

std::string HcpClusterName(const ClusterSpec& cluster, const std::string& namespace_name) {
  // The hosted control plane lives in namespace `<namespace>-<name>`, itself a DNS-1123 label.
  const size_t room =
      kMaxLabel > namespace_name.size() + 1 + 8 ? kMaxLabel - namespace_name.size() - 1 : 8;
  return BoundedName({cluster.tenant, cluster.project, cluster.name}, cluster.id,
                     std::min(kMaxClusterName, room));
}

Result<std::unique_ptr<ClusterDriver>> MakeHcpManifestsDriver(const DriverOptions& options) {
  Result<Options> o = ReadOptions(options);
  if (!o.ok()) return o.status();
  return std::unique_ptr<ClusterDriver>(std::make_unique<HcpManifestsDriver>(std::move(*o)));
}

}  // namespace topoplace
