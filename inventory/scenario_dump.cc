// Dumping scenario YAML: explicit entities only, every field that is set, in the order the loader
// reads them back. Entities one per line in flow style so a data centre of thousands of nodes stays
// greppable; requests and classes in block style because people edit those.
#include <algorithm>
#include <cstdio>
#include <unordered_set>

#include "inventory/scenario_codec.h"
#include "inventory/yaml_reader.h"
#include "model/request_schema.h"

namespace topoplace {

namespace {

using yaml_reader::FormatNumber;

bool IsPlainSafe(std::string_view s) {
  if (s.empty() || !std::isalnum(static_cast<unsigned char>(s.front()))) return false;
  for (char c : s) {
    const bool ok = std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' ||
                    c == '.' || c == '/' || c == '+' || c == '*';
    if (!ok) return false;
  }
  // Words YAML reads as null or booleans, and numbers, are quoted so they stay strings to a reader.
  static constexpr std::string_view kReserved[] = {
      "null", "Null", "NULL", "true", "True", "TRUE", "false", "False", "FALSE", "yes", "no",
      "on",   "off",  "Yes",  "No",   "On",   "Off",  "YES",   "NO",    "ON",    "OFF"};
  if (std::find(std::begin(kReserved), std::end(kReserved), s) != std::end(kReserved)) return false;
  return !yaml_reader::ParseDouble(s);
}

class Writer {
 public:
  std::string& out() { return out_; }

  // A string scalar, plain when that reads back unchanged, double-quoted otherwise.
  void Str(std::string_view s) {
    if (IsPlainSafe(s)) {
      out_ += s;
      return;
    }
    out_ += '"';
    for (unsigned char c : s) {
      switch (c) {
        case '"': out_ += "\\\""; break;
        case '\\': out_ += "\\\\"; break;
        case '\n': out_ += "\\n"; break;
        case '\t': out_ += "\\t"; break;
        default:
          if (c < 0x20 || c == 0x7f) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\x%02x", c);
            out_ += buf;
          } else {
            out_ += static_cast<char>(c);
          }
      }
    }
    out_ += '"';
  }
  void Num(double v) { out_ += FormatNumber(v); }
  void Int(int64_t v) { out_ += std::to_string(v); }
  void StrList(const std::vector<std::string>& items) {
    out_ += '[';
    for (size_t i = 0; i < items.size(); ++i) {
      if (i) out_ += ", ";
      Str(items[i]);
    }
    out_ += ']';
  }
  void NumList(const std::vector<double>& items) {
    out_ += '[';
    for (size_t i = 0; i < items.size(); ++i) {
      if (i) out_ += ", ";
      Num(items[i]);
    }
    out_ += ']';
  }

  // Flow-map building: Key() writes the separator and the key.
  void Open() {
    out_ += '{';
    first_ = true;
  }
  void Close() {
    out_ += '}';
    first_ = false;
  }
  void Key(std::string_view key) {
    if (!first_) out_ += ", ";
    first_ = false;
    out_ += key;
    out_ += ": ";
  }
  // A key that is data (label names), quoted when needed.
  void StrKey(std::string_view key) {
    if (!first_) out_ += ", ";
    first_ = false;
    Str(key);
    out_ += ": ";
  }
  void KeyStr(std::string_view key, std::string_view value) {
    Key(key);
    Str(value);
  }
  void KeyStrIfSet(std::string_view key, std::string_view value) {
    if (!value.empty()) KeyStr(key, value);
  }

  void Line(std::string_view text) {
    out_ += text;
    out_ += '\n';
  }

 private:
  std::string out_;
  bool first_ = true;
};

// Equality as a plain number, other comparisons as a quoted string like ">=1024".
std::string PredicateValue(const NumericPredicate& p) {
  static constexpr std::string_view kOps[] = {"==", "!=", "<", "<=", ">", ">="};
  if (p.op == NumericPredicate::Op::kEq) return FormatNumber(p.value);
  std::string text = "\"";
  text += kOps[static_cast<int>(p.op)];
  text += FormatNumber(p.value);
  text += '"';
  return text;
}

void WriteInventory(Writer& w, const Inventory& inv, const Scenario& s) {
  std::string& out = w.out();
  if (inv.sites.empty() && inv.power_domains.empty() && inv.switches.empty() && inv.racks.empty() &&
      inv.node_classes.empty() && inv.nodes.empty()) {
    return;
  }
  w.Line("inventory:");
  if (!inv.sites.empty()) {
    w.Line("  sites:");
    for (const Site& site : inv.sites) {
      out += "    - ";
      w.Open();
      w.KeyStr("name", site.name);
      w.KeyStrIfSet("region", site.region);
      w.KeyStrIfSet("jurisdiction", site.jurisdiction);
      if (!site.tags.empty()) {
        w.Key("tags");
        w.StrList(site.tags);
      }
      w.Close();
      out += '\n';
    }
  }
  if (!inv.power_domains.empty()) {
    w.Line("  powerDomains:");
    for (const PowerDomain& pd : inv.power_domains) {
      out += "    - ";
      w.Open();
      w.KeyStr("name", pd.name);
      w.KeyStr("site", pd.site);
      w.Close();
      out += '\n';
    }
  }
  if (!inv.switches.empty()) {
    w.Line("  switches:");
    for (const Switch& sw : inv.switches) {
      out += "    - ";
      w.Open();
      w.KeyStr("name", sw.name);
      w.KeyStr("role", SwitchRoleName(sw.role));
      w.KeyStrIfSet("vendor", sw.vendor);
      w.KeyStrIfSet("site", sw.site);
      w.KeyStrIfSet("pod", sw.pod);
      if (!sw.uplinks.empty()) {
        w.Key("uplinks");
        w.StrList(sw.uplinks);
      }
      if (sw.management) {
        w.Key("management");
        w.Open();
        w.KeyStr("driver", sw.management->driver);
        w.KeyStrIfSet("bridge", sw.management->bridge);
        w.Close();
      }
      w.Close();
      out += '\n';
    }
  }
  if (!inv.racks.empty()) {
    w.Line("  racks:");
    for (const Rack& rack : inv.racks) {
      out += "    - ";
      w.Open();
      w.KeyStr("name", rack.name);
      w.KeyStr("site", rack.site);
      w.KeyStrIfSet("row", rack.row);
      w.KeyStrIfSet("pod", rack.pod);
      if (!rack.power_domains.empty()) {
        w.Key("powerDomains");
        w.StrList(rack.power_domains);
      }
      if (!rack.tags.empty()) {
        w.Key("tags");
        w.StrList(rack.tags);
      }
      w.Close();
      out += '\n';
    }
  }
  if (!inv.node_classes.empty()) {
    w.Line("  nodeClasses:");
    for (const NodeClass& c : inv.node_classes) {
      out += "    - name: ";
      w.Str(c.name);
      out += '\n';
      if (c.cpu.cores != 0 || !c.cpu.model.empty()) {
        out += "      cpu: ";
        w.Open();
        if (c.cpu.cores != 0) {
          w.Key("cores");
          w.Int(c.cpu.cores);
        }
        w.KeyStrIfSet("model", c.cpu.model);
        w.Close();
        out += '\n';
      }
      if (c.memory_gib != 0) {
        out += "      memoryGiB: ";
        w.Num(c.memory_gib);
        out += '\n';
      }
      if (c.storage_gib != 0) {
        out += "      storageGiB: ";
        w.Num(c.storage_gib);
        out += '\n';
      }
      if (c.gpu.count != 0 || !c.gpu.model.empty()) {
        out += "      gpu: ";
        w.Open();
        w.KeyStr("model", c.gpu.model);
        w.Key("count");
        w.Int(c.gpu.count);
        if (c.gpu.memory_gib != 0) {
          w.Key("memoryGiB");
          w.Num(c.gpu.memory_gib);
        }
        if (c.gpu.nvlink_domain_size != 0) {
          w.Key("nvlinkDomainSize");
          w.Int(c.gpu.nvlink_domain_size);
        }
        w.Close();
        out += '\n';
      }
      if (c.cost_per_hour != 0) {
        out += "      costPerHour: ";
        w.Num(c.cost_per_hour);
        out += '\n';
      }
    }
  }
  if (!inv.nodes.empty()) {
    // A node's allocated state and holder come back from the allocations; only write the state
    // when the allocations would not restore it.
    std::unordered_set<std::string_view> allocated;
    for (const Allocation& a : s.allocations) {
      for (const std::string& n : a.nodes) allocated.insert(n);
    }
    w.Line("  nodes:");
    for (const Node& node : inv.nodes) {
      out += "    - ";
      w.Open();
      w.KeyStr("name", node.name);
      w.KeyStr("class", node.node_class);
      w.KeyStr("rack", node.rack);
      w.KeyStr("powerDomain", node.power_domain);
      w.KeyStr("leaf", node.leaf);
      if (!node.labels.empty()) {
        w.Key("labels");
        w.Open();
        for (const auto& [k, v] : node.labels) {
          w.StrKey(k);
          w.Str(v);
        }
        w.Close();
      }
      if (node.bmc) {
        w.Key("bmc");
        w.Open();
        w.KeyStr("protocol", node.bmc->protocol);
        w.KeyStr("address", node.bmc->address);
        w.KeyStrIfSet("credentials", node.bmc->credentials);
        w.KeyStrIfSet("system", node.bmc->system);
        w.Close();
      }
      w.KeyStrIfSet("mac", node.mac);
      if (!node.ports.empty()) {
        w.Key("ports");
        out += '[';
        for (size_t k = 0; k < node.ports.size(); ++k) {
          if (k) out += ", ";
          const NodePort& port = node.ports[k];
          w.Open();
          w.KeyStr("name", port.name);
          w.KeyStr("mac", port.mac);
          w.KeyStr("switch", port.switch_name);
          w.KeyStr("port", port.port);
          w.Close();
        }
        out += ']';
      }
      const bool derived = node.state == NodeState::kAllocated && allocated.count(node.name) != 0;
      if (node.state != NodeState::kAvailable && !derived)
        w.KeyStr("state", NodeStateName(node.state));
      w.Close();
      out += '\n';
    }
  }
}

void WriteNetworks(Writer& w, const std::optional<NetworkPolicy>& networks) {
  if (!networks) return;
  std::string& out = w.out();
  w.Line("networks:");
  out += "  quarantineVlan: ";
  w.Int(networks->quarantine_vlan);
  out += "\n  tenantVlans: ";
  w.Open();
  w.Key("from");
  w.Int(networks->tenant_vlan_from);
  w.Key("to");
  w.Int(networks->tenant_vlan_to);
  w.Close();
  out += "\n  tenantSubnets: ";
  w.Open();
  w.KeyStr("pool", networks->tenant_subnet_pool);
  w.Key("prefixLength");
  w.Int(networks->tenant_prefix_length);
  w.Close();
  out += '\n';
}

bool HasLimits(const Quota& q) {
  return q.nodes || q.gpus || q.cpu_cores || q.memory_gib || q.storage_gib;
}

// A quota as one flow map: {nodes: 8, gpus: 64}.
void WriteQuota(Writer& w, const Quota& q) {
  w.Open();
  if (q.nodes) {
    w.Key("nodes");
    w.Int(*q.nodes);
  }
  if (q.gpus) {
    w.Key("gpus");
    w.Int(*q.gpus);
  }
  if (q.cpu_cores) {
    w.Key("cpuCores");
    w.Int(*q.cpu_cores);
  }
  if (q.memory_gib) {
    w.Key("memoryGiB");
    w.Num(*q.memory_gib);
  }
  if (q.storage_gib) {
    w.Key("storageGiB");
    w.Num(*q.storage_gib);
  }
  w.Close();
}

void WriteTenants(Writer& w, const std::vector<Tenant>& tenants) {
  if (tenants.empty()) return;
  std::string& out = w.out();
  w.Line("tenants:");
  for (const Tenant& t : tenants) {
    out += "  - name: ";
    w.Str(t.name);
    out += '\n';
    if (HasLimits(t.quota)) {
      out += "    quota: ";
      WriteQuota(w, t.quota);
      out += '\n';
    }
    if (!t.projects.empty()) {
      out += "    projects:\n";
      for (const Project& p : t.projects) {
        out += "      - ";
        w.Open();
        w.KeyStr("name", p.name);
        if (HasLimits(p.quota)) {
          w.Key("quota");
          WriteQuota(w, p.quota);
        }
        if (!p.alert_at.empty()) {
          w.Key("alertAt");
          w.NumList(p.alert_at);
        }
        w.Close();
        out += '\n';
      }
    }
    if (!t.compliance.empty()) {
      out += "    compliance: ";
      w.StrList(t.compliance);
      out += '\n';
    }
    if (t.budget_per_hour) {
      out += "    budgetPerHour: ";
      w.Num(*t.budget_per_hour);
      out += '\n';
    }
    if (!t.alert_at.empty()) {
      out += "    alertAt: ";
      w.NumList(t.alert_at);
      out += '\n';
    }
  }
}

void WriteRequestBody(Writer& w, const Request& r, const std::string& ind);

void WriteAllocations(Writer& w, const std::vector<Allocation>& allocations) {
  if (allocations.empty()) return;
  w.Line("allocations:");
  for (const Allocation& a : allocations) {
    if (a.request) {
      // Block form: the request body nests under the allocation.
      w.out() += "  - name: ";
      w.Str(a.name);
      w.out() += "\n    tenant: ";
      w.Str(a.tenant);
      if (!a.project.empty()) {
        w.out() += "\n    project: ";
        w.Str(a.project);
      }
      w.out() += "\n    nodes: ";
      w.StrList(a.nodes);
      if (a.priority) {
        w.out() += "\n    priority: ";
        w.Int(*a.priority);
      }
      w.out() += "\n    request:\n";
      WriteRequestBody(w, *a.request, "      ");
      continue;
    }
    w.out() += "  - ";
    w.Open();
    w.KeyStr("name", a.name);
    w.KeyStr("tenant", a.tenant);
    w.KeyStrIfSet("project", a.project);
    w.Key("nodes");
    w.StrList(a.nodes);
    if (a.priority) {
      w.Key("priority");
      w.Int(*a.priority);
    }
    w.Close();
    w.out() += '\n';
  }
}

// The provider's policy; nothing when it is the default (no preemption across tenants).
void WritePolicy(Writer& w, const ProviderPolicy& policy) {
  if (policy == ProviderPolicy{}) return;
  w.out() += "policy: ";
  w.Open();
  w.Key("preemptAcrossTenants");
  w.out() += policy.preempt_across_tenants ? "true" : "false";
  w.Close();
  w.out() += '\n';
}

void WriteLabelPredicate(Writer& w, const LabelPredicate& p) {
  switch (p.op) {
    case LabelPredicate::Op::kIn:
      if (p.values.size() == 1) {
        w.Str(p.values.front());
      } else {
        w.Open();
        w.Key("in");
        w.StrList(p.values);
        w.Close();
      }
      return;
    case LabelPredicate::Op::kNotIn:
      w.Open();
      w.Key("notIn");
      w.StrList(p.values);
      w.Close();
      return;
    case LabelPredicate::Op::kExists:
    case LabelPredicate::Op::kDoesNotExist:
      w.Open();
      w.Key("exists");
      w.out() += p.op == LabelPredicate::Op::kExists ? "true" : "false";
      w.Close();
      return;
  }
}

// One value of the request schema, in YAML.
void WriteValue(Writer& w, const FieldValue& v) {
  if (auto* i = std::get_if<int64_t>(&v)) w.Int(*i);
  if (auto* d = std::get_if<double>(&v)) w.Num(*d);
  if (auto* b = std::get_if<bool>(&v)) w.out() += *b ? "true" : "false";
  if (auto* s = std::get_if<std::string>(&v)) w.Str(*s);
  if (auto* l = std::get_if<std::vector<std::string>>(&v)) w.StrList(*l);
  if (auto* p = std::get_if<NumericPredicate>(&v)) w.out() += PredicateValue(*p);
}

std::string ValueText(const FieldValue& v) {
  if (auto* i = std::get_if<int64_t>(&v)) return std::to_string(*i);
  if (auto* b = std::get_if<bool>(&v)) return *b ? "true" : "false";
  if (auto* s = std::get_if<std::string>(&v)) return *s;
  return {};
}

// Whether an object is optional: absent from a request that does not say it (locality, spread,
// preemption), rather than a grouping of keys (select, budget). An optional object stands for
// itself: `preemption: {}` asks for preemption with every default.
bool OptionalObject(const RequestField& f) {
  return std::holds_alternative<std::monostate>(f.get(Request{}));
}

// Whether a field is written: set, and (outside topology, which is written in full) not its
// default. Optional objects when present, groupings when one of their fields is written.
bool Written(const RequestField& f, const Request& r) {
  if (f.type == FieldType::kLabelMap) return !r.select.labels.empty();
  const FieldValue v = f.get(r);
  if (std::holds_alternative<std::monostate>(v)) return false;
  if (f.type == FieldType::kObject) {
    if (f.path.starts_with("topology.") || OptionalObject(f)) return true;
    for (const RequestField* c : ChildFields(f.path)) {
      if (Written(*c, r)) return true;
    }
    return false;
  }
  return f.default_value.empty() || f.path.starts_with("topology.") ||
         ValueText(v) != f.default_value;
}

// The fields under `parent` as one flow map: {level: leaf, mode: required}.
void WriteFlowMap(Writer& w, std::string_view parent, const Request& r) {
  w.Open();
  for (const RequestField* c : ChildFields(parent)) {
    if (!Written(*c, r)) continue;
    w.Key(c->key());
    WriteValue(w, c->get(r));
  }
  w.Close();
}

// The fields of the request schema under `parent` (name and tenant excepted at the root), in
// block style, each line starting with `ind`; an object whose fields are all plain values goes on
// one line as a flow map.
void WriteRequestFields(Writer& w, std::string_view parent, const Request& r,
                        const std::string& ind) {
  std::string& out = w.out();
  for (const RequestField* f : ChildFields(parent)) {
    if (parent.empty() && (f->key() == "name" || f->key() == "tenant" || f->key() == "project"))
      continue;  // the caller's: an allocation's request takes them from the allocation
    if (!Written(*f, r)) continue;
    out += ind;
    out += f->key();
    out += ':';
    if (f->type == FieldType::kLabelMap) {
      out += '\n';
      for (const LabelPredicate& p : r.select.labels) {
        out += ind + "  ";
        w.Str(p.key);
        out += ": ";
        WriteLabelPredicate(w, p);
        out += '\n';
      }
      continue;
    }
    if (f->type != FieldType::kObject) {
      out += ' ';
      WriteValue(w, f->get(r));
      out += '\n';
      continue;
    }
    bool flat = true;
    for (const RequestField* c : ChildFields(f->path)) {
      flat = flat && c->type != FieldType::kObject && c->type != FieldType::kLabelMap;
    }
    if (flat) {
      out += ' ';
      WriteFlowMap(w, f->path, r);
      out += '\n';
    } else {
      out += '\n';
      WriteRequestFields(w, f->path, r, ind + "  ");
    }
  }
}

// The keys of a request other than name, tenant and project, each line starting with `ind`.
void WriteRequestBody(Writer& w, const Request& r, const std::string& ind) {
  WriteRequestFields(w, "", r, ind);
}

void WriteRequests(Writer& w, const std::vector<Request>& requests) {
  if (requests.empty()) return;
  std::string& out = w.out();
  w.Line("requests:");
  for (const Request& r : requests) {
    out += "  - name: ";
    w.Str(r.name);
    out += "\n    tenant: ";
    w.Str(r.tenant);
    out += '\n';
    if (!r.project.empty()) {
      out += "    project: ";
      w.Str(r.project);
      out += '\n';
    }
    WriteRequestBody(w, r, "    ");
  }
}

// A template's (or node set's) request keys are written by the request's writer, from the
// request they stand for.
Request TemplateShape(const ClusterTemplate& t) {
  Request shape;
  shape.purpose = t.purpose;
  shape.locality = t.locality;
  shape.spread = t.spread;
  shape.compliance = t.compliance;
  shape.exclusive = t.exclusive;
  shape.roce = t.roce;
  return shape;
}

void WriteClusterTemplates(Writer& w, const std::vector<ClusterTemplate>& templates) {
  if (templates.empty()) return;
  std::string& out = w.out();
  w.Line("clusterTemplates:");
  for (const ClusterTemplate& t : templates) {
    out += "  - name: ";
    w.Str(t.name);
    out += '\n';
    if (!t.description.empty()) {
      out += "    description: ";
      w.Str(t.description);
      out += '\n';
    }
    out += "    nodeSets:\n";
    for (const NodeSet& set : t.node_sets) {
      out += "      - name: ";
      w.Str(set.name);
      out += "\n        class: ";
      w.Str(set.node_class);
      out += "\n        size: ";
      w.Int(set.size);
      out += '\n';
      Request shape;
      shape.locality = set.locality;
      shape.spread = set.spread;
      WriteRequestBody(w, shape, "        ");
    }
    WriteRequestBody(w, TemplateShape(t), "    ");
  }
}

}  // namespace

std::string DumpRequest(const Request& request) {
  Writer w;
  w.out() += "name: ";
  w.Str(request.name);
  w.out() += "\ntenant: ";
  w.Str(request.tenant);
  w.out() += '\n';
  if (!request.project.empty()) {
    w.out() += "project: ";
    w.Str(request.project);
    w.out() += '\n';
  }
  WriteRequestBody(w, request, "");
  return std::move(w.out());
}

std::string DumpScenario(const Scenario& scenario) {
  Writer w;
  w.out().reserve(256 + scenario.inventory.nodes.size() * 220);
  w.out() += "apiVersion: ";
  w.Str(scenario.api_version);
  w.out() += '\n';
  WriteInventory(w, scenario.inventory, scenario);
  WriteNetworks(w, scenario.inventory.networks);
  WritePolicy(w, scenario.policy);
  WriteTenants(w, scenario.tenants);
  WriteAllocations(w, scenario.allocations);
  WriteRequests(w, scenario.requests);
  WriteClusterTemplates(w, scenario.cluster_templates);
  return std::move(w.out());
}

}  // namespace topoplace
