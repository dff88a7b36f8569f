#include "model/request_schema.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <string>

#include "model/text.h"

namespace topoplace {

namespace {

// What a sane request can hold. Anything beyond is a typo (an extra zero, a unit mix-up), and
// saying so beats a solver run that cannot mean anything.
constexpr NumberBounds kNodes{1, 1'000'000};
constexpr NumberBounds kGpus{1, 64'000'000};
constexpr NumberBounds kGpuCount{0, 64};
constexpr NumberBounds kMemoryGiB{0, 1e6};
constexpr NumberBounds kCores{0, 4096};
constexpr NumberBounds kStorageGiB{0, 1e7};
constexpr NumberBounds kDomains{1, 1'000'000};
constexpr NumberBounds kFraction{0, 1, /*min_exclusive=*/true};
constexpr NumberBounds kBudget{0, 1e9, /*min_exclusive=*/true};
constexpr NumberBounds kPriority{-1'000'000, 1'000'000};

constexpr std::string_view kModeNames[] = {"required", "preferred"};
constexpr std::string_view kExclusiveNames[] = {"rack", "leaf"};
constexpr std::string_view kPurposeNames[] = {"openshift", "slurm", "baremetal"};
constexpr std::string_view kPreemptionPolicyNames[] = {"lowerPriority"};
constexpr std::string_view kPreemptionScopeNames[] = {"tenant", "all"};
constexpr NumberBounds kEvictions{1, 1'000'000};

std::string FormatNumber(double v) {
  if (std::isfinite(v) && v == std::floor(v) && std::fabs(v) < 1e15) {
    return std::to_string(static_cast<int64_t>(v));
  }
  char buf[64];
  auto [ptr, ec] = std::to_chars(buf, buf + sizeof buf, v);
  if (ec != std::errc()) return "nan";
  return std::string(buf, ptr);
}

// Typed accessors, so the table below stays one line per concern.
template <typename T>
FieldValue Opt(const std::optional<T>& v) {
  if (!v) return std::monostate{};
  if constexpr (std::is_integral_v<T>) {
    return static_cast<int64_t>(*v);
  } else {
    return *v;
  }
}
FieldValue List(const std::vector<std::string>& v) {
  if (v.empty()) return std::monostate{};
  return v;
}
int AsInt(const FieldValue& v) { return static_cast<int>(std::get<int64_t>(v)); }
Locality& Loc(Request& r) {
  if (!r.locality) r.locality.emplace();
  return *r.locality;
}
Spread& Spr(Request& r) {
  if (!r.spread) r.spread.emplace();
  return *r.spread;
}
Level LevelOf(const FieldValue& v) { return *ParseLevel(std::get<std::string>(v)); }
FieldValue NoValue(const Request&) { return std::monostate{}; }
void Ignore(Request&, const FieldValue&) {}
FieldValue Present(const Request&) { return true; }

std::vector<RequestField> BuildTable() {
  using F = FieldType;
  std::vector<RequestField> t;
  auto add = [&](RequestField f) { t.push_back(f); };
  add({.path = "name",
       .type = F::kString,
       .doc = "the request's name; unique within a scenario",
       .noun = "a request name",
       .short_key = "name",
       .get = [](const Request& r) -> FieldValue {
         return r.name.empty() ? FieldValue{} : FieldValue{r.name};
       },
       .set = [](Request& r, const FieldValue& v) { r.name = std::get<std::string>(v); }});
  add({.path = "tenant",
       .type = F::kString,
       .doc = "the tenant the nodes are for",
       .noun = "the name of a tenant",
       .short_key = "tenant",
       .get = [](const Request& r) -> FieldValue {
         return r.tenant.empty() ? FieldValue{} : FieldValue{r.tenant};
       },
       .set = [](Request& r, const FieldValue& v) { r.tenant = std::get<std::string>(v); }});
  add({.path = "project",
       .type = F::kString,
       .doc = "the tenant's project the nodes are for; absent = \"default\"",
       .noun = "the name of a project of the tenant",
       .short_key = "project",
       .get = [](const Request& r) -> FieldValue {
         return r.project.empty() ? FieldValue{} : FieldValue{r.project};
       },
       .set = [](Request& r, const FieldValue& v) { r.project = std::get<std::string>(v); }});
  add({.path = "nodes",
       .type = F::kInt,
       .doc = "exactly this many whole nodes (or give gpus)",
       .bounds = kNodes,
       .short_key = "nodes",
       .get = [](const Request& r) { return Opt(r.nodes); },
       .set = [](Request& r, const FieldValue& v) { r.nodes = AsInt(v); }});
  add({.path = "gpus",
       .type = F::kInt,
       .doc = "the fewest whole nodes whose GPUs reach this total (or give nodes)",
       .bounds = kGpus,
       .short_key = "gpus",
       .get = [](const Request& r) { return Opt(r.gpus); },
       .set = [](Request& r, const FieldValue& v) { r.gpus = AsInt(v); }});
  add({.path = "select",
       .type = F::kObject,
       .doc = "hard per-node predicates; every one given must hold",
       .get = Present,
       .set = Ignore});
  add({.path = "select.class",
       .type = F::kStringList,
       .doc = "node class names; any of them",
       .noun = "a node class name",
       .short_key = "class",
       .single_allowed = true,
       .get = [](const Request& r) { return List(r.select.classes); },
       .set =
           [](Request& r, const FieldValue& v) {
             r.select.classes = std::get<std::vector<std::string>>(v);
           }});
  add({.path = "select.gpu",
       .type = F::kObject,
       .doc = "GPU model and count",
       .get = Present,
       .set = Ignore});
  add({.path = "select.gpu.model",
       .type = F::kStringList,
       .doc = "GPU model patterns with * and ? (H100*); any of them",
       .noun = "a GPU model pattern like H100*",
       .short_key = "gpuModel",
       .single_allowed = true,
       .get = [](const Request& r) { return List(r.select.gpu_models); },
       .set =
           [](Request& r, const FieldValue& v) {
             r.select.gpu_models = std::get<std::vector<std::string>>(v);
           }});
  add({.path = "select.gpu.count",
       .type = F::kPredicate,
       .doc = "GPUs per node",
       .bounds = kGpuCount,
       .short_key = "gpuCount",
       .get = [](const Request& r) { return Opt(r.select.gpu_count); },
       .set = [](Request& r,
                 const FieldValue& v) { r.select.gpu_count = std::get<NumericPredicate>(v); }});
  add({.path = "select.memoryGiB",
       .type = F::kPredicate,
       .doc = "memory per node in GiB",
       .bounds = kMemoryGiB,
       .short_key = "memoryGiB",
       .get = [](const Request& r) { return Opt(r.select.memory_gib); },
       .set = [](Request& r,
                 const FieldValue& v) { r.select.memory_gib = std::get<NumericPredicate>(v); }});
  add({.path = "select.cpuCores",
       .type = F::kPredicate,
       .doc = "CPU cores per node",
       .bounds = kCores,
       .short_key = "cpuCores",
       .get = [](const Request& r) { return Opt(r.select.cpu_cores); },
       .set = [](Request& r,
                 const FieldValue& v) { r.select.cpu_cores = std::get<NumericPredicate>(v); }});
  add({.path = "select.storageGiB",
       .type = F::kPredicate,
       .doc = "local storage per node in GiB",
       .bounds = kStorageGiB,
       .short_key = "storageGiB",
       .get = [](const Request& r) { return Opt(r.select.storage_gib); },
       .set = [](Request& r,
                 const FieldValue& v) { r.select.storage_gib = std::get<NumericPredicate>(v); }});
  add({.path = "select.labels",
       .type = F::kLabelMap,
       .doc = "node labels: a value, a list of values, {in: [...]}, {notIn: [...]} or "
              "{exists: true|false}",
       .noun = "a label value",
       .short_key = "label.KEY",
       .get = NoValue,
       .set = Ignore});
  add({.path = "topology",
       .type = F::kObject,
       .doc = "locality (pack) and spread (spread out), over any two hierarchies",
       .get = Present,
       .set = Ignore});
  add({.path = "topology.locality",
       .type = F::kObject,
       .doc = "all nodes in at most maxDomains domains of level (required), or as few as can be "
              "(preferred)",
       .short_key = "locality",
       .get = [](const Request& r) -> FieldValue {
         return r.locality ? FieldValue{true} : FieldValue{};
       },
       .set = [](Request& r, const FieldValue&) { Loc(r); }});
  add({.path = "topology.locality.level",
       .type = F::kEnum,
       .doc = "the hierarchy level to pack into",
       .values = LevelNames(),
       .noun = "level",
       .required = true,
       .get = [](const Request& r) -> FieldValue {
         if (!r.locality) return {};
         return std::string(LevelName(r.locality->level));
       },
       .set = [](Request& r, const FieldValue& v) { Loc(r).level = LevelOf(v); }});
  add({.path = "topology.locality.mode",
       .type = F::kEnum,
       .doc = "required: a hard limit; preferred: weighed in the objective",
       .values = kModeNames,
       .noun = "mode",
       .default_value = "required",
       .get = [](const Request& r) -> FieldValue {
         if (!r.locality) return {};
         return std::string(r.locality->mode == LocalityMode::kRequired ? "required" : "preferred");
       },
       .set =
           [](Request& r, const FieldValue& v) {
             Loc(r).mode = std::get<std::string>(v) == "preferred" ? LocalityMode::kPreferred
                                                                   : LocalityMode::kRequired;
           }});
  add({.path = "topology.locality.maxDomains",
       .type = F::kInt,
       .doc = "required mode: at most this many domains of level",
       .bounds = kDomains,
       .default_value = "1",
       .get = [](const Request& r) -> FieldValue {
         if (!r.locality) return {};
         return static_cast<int64_t>(r.locality->max_domains);
       },
       .set = [](Request& r, const FieldValue& v) { Loc(r).max_domains = AsInt(v); }});
  add({.path = "topology.spread",
       .type = F::kObject,
       .doc = "no domain of level holds more than maxPerDomain (or ceil(maxFraction * count)) "
              "nodes; at least minDomains domains",
       .short_key = "spread",
       .get = [](const Request& r) -> FieldValue {
         return r.spread ? FieldValue{true} : FieldValue{};
       },
       .set = [](Request& r, const FieldValue&) { Spr(r); }});
  add({.path = "topology.spread.level",
       .type = F::kEnum,
       .doc = "the hierarchy level to spread over",
       .values = LevelNames(),
       .noun = "level",
       .required = true,
       .get = [](const Request& r) -> FieldValue {
         if (!r.spread) return {};
         return std::string(LevelName(r.spread->level));
       },
       .set = [](Request& r, const FieldValue& v) { Spr(r).level = LevelOf(v); }});
  add({.path = "topology.spread.maxPerDomain",
       .type = F::kInt,
       .doc = "at most this many nodes per domain",
       .bounds = kDomains,
       .get = [](const Request& r) -> FieldValue {
         return r.spread ? Opt(r.spread->max_per_domain) : FieldValue{};
       },
       .set = [](Request& r, const FieldValue& v) { Spr(r).max_per_domain = AsInt(v); }});
  add({.path = "topology.spread.maxFraction",
       .type = F::kNumber,
       .doc = "at most ceil(maxFraction * count) nodes per domain",
       .bounds = kFraction,
       .get = [](const Request& r) -> FieldValue {
         return r.spread ? Opt(r.spread->max_fraction) : FieldValue{};
       },
       .set = [](Request& r, const FieldValue& v) { Spr(r).max_fraction = std::get<double>(v); }});
  add({.path = "topology.spread.minDomains",
       .type = F::kInt,
       .doc = "at least this many domains",
       .bounds = kDomains,
       .get = [](const Request& r) -> FieldValue {
         return r.spread ? Opt(r.spread->min_domains) : FieldValue{};
       },
       .set = [](Request& r, const FieldValue& v) { Spr(r).min_domains = AsInt(v); }});
  add({.path = "compliance",
       .type = F::kStringList,
       .doc = "hipaa (rack tag), gdpr (EU jurisdiction), or another rack/site tag",
       .noun = "a compliance name like hipaa",
       .short_key = "compliance",
       .single_allowed = true,
       .get = [](const Request& r) { return List(r.compliance); },
       .set = [](Request& r,
                 const FieldValue& v) { r.compliance = std::get<std::vector<std::string>>(v); }});
  add({.path = "exclusive",
       .type = F::kEnum,
       .doc = "no other tenant may share these racks (or leaves)",
       .values = kExclusiveNames,
       .noun = "exclusive level",
       .short_key = "exclusive",
       .get = [](const Request& r) -> FieldValue {
         if (!r.exclusive) return {};
         return std::string(LevelName(*r.exclusive));
       },
       .set = [](Request& r, const FieldValue& v) { r.exclusive = LevelOf(v); }});
  add({.path = "network",
       .type = F::kObject,
       .doc = "network needs",
       .get = Present,
       .set = Ignore});
  add({.path = "network.roce",
       .type = F::kBool,
       .doc = "all leaves of one vendor (RoCE does not cross vendors)",
       .default_value = "false",
       .short_key = "roce",
       .get = [](const Request& r) -> FieldValue { return r.roce; },
       .set = [](Request& r, const FieldValue& v) { r.roce = std::get<bool>(v); }});
  add({.path = "budget",
       .type = F::kObject,
       .doc = "what the placement may cost",
       .get = Present,
       .set = Ignore});
  add({.path = "budget.maxCostPerHour",
       .type = F::kNumber,
       .doc = "the most the nodes may cost per hour",
       .bounds = kBudget,
       .short_key = "maxCostPerHour",
       .get = [](const Request& r) { return Opt(r.max_cost_per_hour); },
       .set = [](Request& r, const FieldValue& v) { r.max_cost_per_hour = std::get<double>(v); }});
  add({.path = "purpose",
       .type = F::kEnum,
       .doc = "which executors carry the placement out",
       .values = kPurposeNames,
       .noun = "purpose",
       .default_value = "baremetal",
       .short_key = "purpose",
       .get = [](const Request& r) -> FieldValue { return std::string(PurposeName(r.purpose)); },
       .set = [](Request& r,
                 const FieldValue& v) { r.purpose = *ParsePurpose(std::get<std::string>(v)); }});
  add({.path = "priority",
       .type = F::kInt,
       .doc = "higher places first in a batch",
       .bounds = kPriority,
       .default_value = "0",
       .short_key = "priority",
       .get = [](const Request& r) -> FieldValue { return static_cast<int64_t>(r.priority); },
       .set = [](Request& r, const FieldValue& v) { r.priority = AsInt(v); }});
  add({.path = "preemption",
       .type = F::kObject,
       .doc = "may evict whole allocations of strictly lower priority to fit (fewest evictions, "
              "then the lowest priorities)",
       .get = [](const Request& r) -> FieldValue {
         return r.preemption ? FieldValue{true} : FieldValue{};
       },
       .set = [](Request& r, const FieldValue&) {
         if (!r.preemption) r.preemption.emplace();
       }});
  add({.path = "preemption.policy",
       .type = F::kEnum,
       .doc = "which allocations may be evicted: lowerPriority (priority strictly below the "
              "request's)",
       .values = kPreemptionPolicyNames,
       .noun = "preemption policy",
       .default_value = "lowerPriority",
       .get = [](const Request& r) -> FieldValue {
         if (!r.preemption) return {};
         return std::string("lowerPriority");
       },
       .set = [](Request& r, const FieldValue&) {
         if (!r.preemption) r.preemption.emplace();
       }});
  add({.path = "preemption.scope",
       .type = F::kEnum,
       .doc = "whose allocations: tenant (the requester's own) or all (needs the provider's "
              "consent)",
       .values = kPreemptionScopeNames,
       .noun = "preemption scope",
       .default_value = "tenant",
       .get = [](const Request& r) -> FieldValue {
         if (!r.preemption) return {};
         return std::string(PreemptionScopeName(r.preemption->scope));
       },
       .set = [](Request& r, const FieldValue& v) {
         if (!r.preemption) r.preemption.emplace();
         r.preemption->scope = *ParsePreemptionScope(std::get<std::string>(v));
       }});
  add({.path = "preemption.maxEvictions",
       .type = F::kInt,
       .doc = "evict at most this many allocations",
       .bounds = kEvictions,
       .get = [](const Request& r) -> FieldValue {
         return r.preemption ? Opt(r.preemption->max_evictions) : FieldValue{};
       },
       .set = [](Request& r, const FieldValue& v) {
         if (!r.preemption) r.preemption.emplace();
         r.preemption->max_evictions = AsInt(v);
       }});
  return t;
}

std::string Quoted(std::string_view s) { return QuotedText(s); }

}  // namespace

std::string_view FieldTypeName(FieldType type) {
  switch (type) {
    case FieldType::kObject: return "object";
    case FieldType::kInt: return "int";
    case FieldType::kNumber: return "number";
    case FieldType::kBool: return "bool";
    case FieldType::kString: return "string";
    case FieldType::kEnum: return "enum";
    case FieldType::kStringList: return "string list";
    case FieldType::kPredicate: return "predicate";
    case FieldType::kLabelMap: return "label map";
  }
  return "object";
}

bool NumberBounds::Contains(double v) const {
  return std::isfinite(v) && (min_exclusive ? v > min : v >= min) && v <= max;
}

std::string NumberBounds::Describe(bool integer) const {
  const std::string kind = integer ? "an integer" : "a number";
  if (min_exclusive)
    return kind + " greater than " + FormatNumber(min) + " and at most " + FormatNumber(max);
  return kind + " from " + FormatNumber(min) + " to " + FormatNumber(max);
}

std::string_view RequestField::key() const {
  const size_t dot = path.rfind('.');
  return dot == std::string_view::npos ? path : path.substr(dot + 1);
}

std::string_view RequestField::parent() const {
  const size_t dot = path.rfind('.');
  return dot == std::string_view::npos ? std::string_view() : path.substr(0, dot);
}

std::span<const RequestField> RequestFields() {
  static const std::vector<RequestField> kTable = BuildTable();
  return kTable;
}

const RequestField* FindRequestField(std::string_view path) {
  for (const RequestField& f : RequestFields()) {
    if (f.path == path) return &f;
  }
  return nullptr;
}

const RequestField* FindShortKey(std::string_view short_key) {
  for (const RequestField& f : RequestFields()) {
    if (!f.short_key.empty() && f.short_key == short_key) return &f;
  }
  return nullptr;
}

std::vector<const RequestField*> ChildFields(std::string_view parent) {
  std::vector<const RequestField*> out;
  for (const RequestField& f : RequestFields()) {
    if (f.parent() == parent) out.push_back(&f);
  }
  return out;
}

std::string ChildKeyList(std::string_view parent) {
  std::string out;
  for (const RequestField* f : ChildFields(parent)) {
    if (!out.empty()) out += ", ";
    out += f->key();
  }
  return out;
}

std::span<const std::string_view> LevelNames() {
  static const std::vector<std::string_view> kNames = [] {
    std::vector<std::string_view> names;
    for (Level l : kAllLevels) names.push_back(LevelName(l));
    return names;
  }();
  return kNames;
}

std::string LevelNameList() {
  std::string out;
  for (std::string_view n : LevelNames()) {
    if (!out.empty()) out += ", ";
    out += n;
  }
  return out;
}

std::string CheckRequestText(std::string_view s) {
  if (s.empty())
    return "an empty name; expected 1 to " + std::to_string(kMaxRequestText) + " characters";
  if (s.size() > kMaxRequestText) {
    return "a name of " + std::to_string(s.size()) + " bytes; expected 1 to " +
           std::to_string(kMaxRequestText) + " characters";
  }
  return {};
}

FieldValue PlaceholderValue(const RequestField& f) {
  const double x = f.bounds.Contains(f.bounds.min) ? f.bounds.min : f.bounds.max;
  switch (f.type) {
    case FieldType::kInt: return static_cast<int64_t>(x);
    case FieldType::kNumber: return x;
    case FieldType::kPredicate: return NumericPredicate{NumericPredicate::Op::kGe, x};
    case FieldType::kBool: return false;
    case FieldType::kEnum: return std::string(f.values.front());
    case FieldType::kString: return std::string("?");
    case FieldType::kObject: return true;
    default: return std::monostate{};
  }
}

std::vector<ErrorDetail> ValidateRequestFields(const Request& r) {
  std::vector<ErrorDetail> out;
  auto fail = [&](std::string path, std::string code, std::string message) {
    out.push_back({std::move(path), std::move(code), std::move(message)});
  };
  for (const RequestField& f : RequestFields()) {
    if (f.type == FieldType::kObject || f.type == FieldType::kLabelMap) continue;
    const FieldValue v = f.get(r);
    if (std::holds_alternative<std::monostate>(v)) continue;
    const std::string path(f.path);
    switch (f.type) {
      case FieldType::kInt: {
        const double x = static_cast<double>(std::get<int64_t>(v));
        if (!f.bounds.Contains(x))
          fail(path, "out_of_range",
               FormatNumber(x) + " is out of range; expected " + f.bounds.Describe(true));
        break;
      }
      case FieldType::kNumber: {
        const double x = std::get<double>(v);
        if (!f.bounds.Contains(x))
          fail(path, "out_of_range",
               FormatNumber(x) + " is out of range; expected " + f.bounds.Describe(false));
        break;
      }
      case FieldType::kPredicate: {
        const NumericPredicate& p = std::get<NumericPredicate>(v);
        if (!f.bounds.Contains(p.value)) {
          fail(path, "out_of_range",
               Quoted(p.ToString()) +
                   " is out of range; expected a number or a comparison like \">=8\", with a "
                   "value from " +
                   FormatNumber(f.bounds.min) + " to " + FormatNumber(f.bounds.max));
        }
        break;
      }
      case FieldType::kEnum: {
        const std::string& s = std::get<std::string>(v);
        if (std::find(f.values.begin(), f.values.end(), s) == f.values.end()) {
          std::string names;
          for (std::string_view n : f.values) names += (names.empty() ? "" : ", ") + std::string(n);
          fail(path, "bad_value",
               "unknown " + std::string(f.noun) + " " + Quoted(s) + "; expected one of " + names);
        }
        break;
      }
      case FieldType::kString: {
        const std::string why = CheckRequestText(std::get<std::string>(v));
        if (!why.empty()) fail(path, "out_of_range", why);
        break;
      }
      case FieldType::kStringList: {
        const auto& items = std::get<std::vector<std::string>>(v);
        for (size_t i = 0; i < items.size(); ++i) {
          const std::string why = CheckRequestText(items[i]);
          if (!why.empty()) fail(path + "[" + std::to_string(i) + "]", "out_of_range", why);
        }
        break;
      }
      default: break;
    }
  }
  for (const LabelPredicate& l : r.select.labels) {
    const std::string path = "select.labels." + l.key;
    if (l.key.empty() || l.key.size() > kMaxRequestText) {
      fail("select.labels", "out_of_range",
           "a label name of " + std::to_string(l.key.size()) + " bytes; expected 1 to " +
               std::to_string(kMaxRequestText) + " characters");
    }
    const bool has_values = l.op == LabelPredicate::Op::kIn || l.op == LabelPredicate::Op::kNotIn;
    if (has_values && l.values.empty()) {
      fail(path, "out_of_range", "no values; expected at least one label value");
    }
    if (!has_values && !l.values.empty()) {
      fail(path, "bad_value", "values with exists; expected exists: true or false alone");
    }
  }
  // Cross-field rules.
  if (r.nodes && r.gpus) {
    fail("gpus", "conflicting_fields",
         "both nodes and gpus; expected exactly one of nodes or gpus");
  } else if (!r.nodes && !r.gpus) {
    fail("nodes", "missing_field",
         "neither nodes nor gpus; expected exactly one of nodes: N or gpus: N");
  }
  if (r.spread && !r.spread->max_per_domain && !r.spread->max_fraction && !r.spread->min_domains) {
    fail("topology.spread", "missing_field",
         "no limit given; expected at least one of maxPerDomain, maxFraction, minDomains");
  }
  return out;
}

std::string KeyPathToPointer(std::string_view key_path) {
  std::string out;
  std::string segment;
  auto flush = [&] {
    out += '/';
    for (char c : segment) {
      if (c == '~') {
        out += "~0";
      } else if (c == '/') {
        out += "~1";
      } else {
        out += c;
      }
    }
    segment.clear();
  };
  if (key_path.empty()) return out;
  for (size_t i = 0; i < key_path.size(); ++i) {
    const char c = key_path[i];
    if (c == '.') {
      flush();
    } else if (c == '[') {
      flush();
      const size_t end = key_path.find(']', i);
      if (end == std::string_view::npos) break;
      segment = std::string(key_path.substr(i + 1, end - i - 1));
      i = end;
      flush();
      if (i + 1 < key_path.size() && key_path[i + 1] == '.') ++i;
    } else {
      segment += c;
    }
  }
  if (!segment.empty() || key_path.back() == '.') flush();
  return out;
}

std::string PointerToKeyPath(std::string_view pointer) {
  std::string out;
  size_t i = 0;
  while (i < pointer.size()) {
    if (pointer[i] != '/') break;
    size_t end = pointer.find('/', i + 1);
    if (end == std::string_view::npos) end = pointer.size();
    std::string segment;
    for (size_t k = i + 1; k < end; ++k) {
      if (pointer[k] == '~' && k + 1 < end) {
        segment += pointer[k + 1] == '1' ? '/' : '~';
        ++k;
      } else {
        segment += pointer[k];
      }
    }
    const bool index = !segment.empty() && std::all_of(segment.begin(), segment.end(),
                                                       [](char c) { return c >= '0' && c <= '9'; });
    if (index && !out.empty()) {
      out += "[" + segment + "]";
    } else {
      if (!out.empty()) out += '.';
      out += segment;
    }
    i = end;
  }
  return out;
}

}  // namespace topoplace
