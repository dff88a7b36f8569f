#include "api/request_json.h"

#include <algorithm>
#include <cmath>
#include <set>
#include <sstream>

namespace topoplace {
namespace {

using json = nlohmann::json;

constexpr int kMaxDepth = 32;
constexpr size_t kMaxName = 256;

// The bounds of the YAML loader (inventory/scenario_codec.cc), so both languages agree.
struct Range {
  double min, max;
  bool min_exclusive = false;
};
constexpr Range kNodes{1, 1'000'000};
constexpr Range kGpus{1, 64'000'000};
constexpr Range kGpuCount{0, 64};
constexpr Range kMemoryGiB{0, 1e6};
constexpr Range kCores{0, 4096};
constexpr Range kStorageGiB{0, 1e7};
constexpr Range kDomains{1, 1'000'000};
constexpr Range kFraction{0, 1, true};
constexpr Range kBudget{0, 1e9, true};
constexpr Range kPriority{-1'000'000, 1'000'000};

std::string Fmt(double v) {
  std::ostringstream s;
  s << v;
  return s.str();
}

std::string Escape(std::string_view key) {  // RFC 6901
  std::string out;
  for (char c : key) {
    if (c == '~')
      out += "~0";
    else if (c == '/')
      out += "~1";
    else
      out += c;
  }
  return out;
}

std::string TypeName(const json& v) {
  switch (v.type()) {
    case json::value_t::null: return "null";
    case json::value_t::object: return "an object";
    case json::value_t::array: return "an array";
    case json::value_t::string: return "a string";
    case json::value_t::boolean: return "a boolean";
    case json::value_t::number_float: return "a number with a fraction";
    default: return "a number";
  }
}

class Decoder {
 public:
  std::vector<BodyError> errors;

  void Error(std::string code, const std::string& ptr, std::string detail) {
    errors.push_back({std::move(code), ptr, std::move(detail)});
  }
  void WrongType(const std::string& ptr, const json& v, std::string_view expected) {
    Error("wrong_type", ptr, "got " + TypeName(v) + "; expected " + std::string(expected));
  }

  // Checks `v` is an object with only `allowed` keys; reports unknown ones.
  bool Object(const json& v, const std::string& ptr,
              std::initializer_list<std::string_view> allowed, std::string_view what) {
    if (!v.is_object()) {
      WrongType(ptr, v, what);
      return false;
    }
    for (const auto& [key, _] : v.items()) {
      if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
        std::string names;
        for (auto a : allowed) names += (names.empty() ? "" : ", ") + std::string(a);
        Error("unknown_field", ptr + "/" + Escape(key),
              "unknown field \"" + key.substr(0, 64) + "\"; expected one of " + names);
      }
    }
    return true;
  }

  std::optional<std::string> String(const json& v, const std::string& ptr, std::string_view what) {
    if (!v.is_string()) {
      WrongType(ptr, v, what);
      return std::nullopt;
    }
    const std::string& s = v.get_ref<const std::string&>();
    if (s.empty() || s.size() > kMaxName) {
      Error("out_of_range", ptr,
            "a string of " + std::to_string(s.size()) + " characters; expected 1 to " +
                std::to_string(kMaxName));
      return std::nullopt;
    }
    return s;
  }

  std::vector<std::string> StringList(const json& v, const std::string& ptr, std::string_view what,
                                      bool allow_single) {
    std::vector<std::string> out;
    if (allow_single && v.is_string()) {
      if (auto s = String(v, ptr, what)) out.push_back(*s);
      return out;
    }
    if (!v.is_array()) {
      WrongType(ptr, v,
                allow_single ? std::string(what) + " or an array of them"
                             : "an array of " + std::string(what));
      return out;
    }
    if (v.empty()) Error("out_of_range", ptr, "an empty array; expected at least one item");
    for (size_t i = 0; i < v.size(); ++i) {
      if (auto s = String(v[i], ptr + "/" + std::to_string(i), what)) out.push_back(*s);
    }
    return out;
  }

  std::string RangeText(const Range& r, bool integer) {
    return std::string(integer ? "an integer" : "a number") +
           (r.min_exclusive ? " above " : " from ") + Fmt(r.min) +
           (r.min_exclusive ? " up to " : " to ") + Fmt(r.max);
  }

  bool InRange(double x, const Range& r) {
    return std::isfinite(x) && (r.min_exclusive ? x > r.min : x >= r.min) && x <= r.max;
  }

  std::optional<int64_t> Int(const json& v, const std::string& ptr, const Range& r) {
    if (!v.is_number_integer()) {
      WrongType(ptr, v, RangeText(r, true));
      return std::nullopt;
    }
    const double x = v.is_number_unsigned() ? static_cast<double>(v.get<uint64_t>())
                                            : static_cast<double>(v.get<int64_t>());
    if (!InRange(x, r)) {
      Error("out_of_range", ptr, v.dump() + " is out of range; expected " + RangeText(r, true));
      return std::nullopt;
    }
    return static_cast<int64_t>(x);
  }

  std::optional<double> Number(const json& v, const std::string& ptr, const Range& r) {
    if (!v.is_number()) {
      WrongType(ptr, v, RangeText(r, false));
      return std::nullopt;
    }
    const double x = v.get<double>();
    if (!InRange(x, r)) {
      Error("out_of_range", ptr, v.dump() + " is out of range; expected " + RangeText(r, false));
      return std::nullopt;
    }
    return x;
  }

  // 8, ">=8", "<4" ... as in YAML.
  std::optional<NumericPredicate> Predicate(const json& v, const std::string& ptr, const Range& r) {
    const std::string expected = "a number or a comparison like \">=8\", with a value from " +
                                 Fmt(r.min) + " to " + Fmt(r.max);
    std::optional<NumericPredicate> p;
    if (v.is_number()) {
      p = NumericPredicate{NumericPredicate::Op::kEq, v.get<double>()};
    } else if (v.is_string()) {
      p = ParseNumericPredicate(v.get_ref<const std::string&>());
      if (!p) {
        Error("bad_value", ptr,
              "bad comparison " + v.dump().substr(0, 80) + "; expected " + expected);
        return std::nullopt;
      }
    } else {
      WrongType(ptr, v, expected);
      return std::nullopt;
    }
    if (!InRange(p->value, r)) {
      Error("out_of_range", ptr, v.dump() + " is out of range; expected " + expected);
      return std::nullopt;
    }
    return p;
  }

  template <size_t N>
  std::optional<size_t> Enum(const json& v, const std::string& ptr,
                             const std::string_view (&names)[N], std::string_view what) {
    std::string list;
    for (auto n : names) list += (list.empty() ? "" : ", ") + std::string(n);
    if (!v.is_string()) {
      WrongType(ptr, v, std::string(what) + ": one of " + list);
      return std::nullopt;
    }
    const std::string& s = v.get_ref<const std::string&>();
    for (size_t i = 0; i < N; ++i) {
      if (names[i] == s) return i;
    }
    Error("bad_value", ptr,
          "unknown " + std::string(what) + " \"" + s.substr(0, 64) + "\"; expected one of " + list);
    return std::nullopt;
  }
};

constexpr std::string_view kLevelNames[] = {"nvlink", "leaf", "rack",       "pod",
                                            "spine",  "site", "powerDomain"};
constexpr std::string_view kModeNames[] = {"required", "preferred"};
constexpr std::string_view kExclusiveNames[] = {"rack", "leaf"};
constexpr std::string_view kPurposeNames[] = {"openshift", "slurm", "baremetal"};

void DecodeSelect(Decoder& d, const json& v, NodeSelector& sel) {
  const std::string p = "/select";
  if (!d.Object(v, p, {"class", "gpu", "memoryGiB", "cpuCores", "storageGiB", "labels"},
                "an object of predicates: class, gpu, memoryGiB, cpuCores, storageGiB, labels")) {
    return;
  }
  if (v.contains("class"))
    sel.classes = d.StringList(v["class"], p + "/class", "a node class name", true);
  if (v.contains("gpu")) {
    const json& g = v["gpu"];
    if (d.Object(g, p + "/gpu", {"model", "count"}, "an object with model, count")) {
      if (g.contains("model"))
        sel.gpu_models = d.StringList(g["model"], p + "/gpu/model", "a GPU model pattern", true);
      if (g.contains("count")) sel.gpu_count = d.Predicate(g["count"], p + "/gpu/count", kGpuCount);
    }
  }
  if (v.contains("memoryGiB"))
    sel.memory_gib = d.Predicate(v["memoryGiB"], p + "/memoryGiB", kMemoryGiB);
  if (v.contains("cpuCores")) sel.cpu_cores = d.Predicate(v["cpuCores"], p + "/cpuCores", kCores);
  if (v.contains("storageGiB"))
    sel.storage_gib = d.Predicate(v["storageGiB"], p + "/storageGiB", kStorageGiB);
  if (v.contains("labels")) {
    const json& labels = v["labels"];
    if (!labels.is_object()) {
      d.WrongType(p + "/labels", labels, "an object of label names to values or operators");
      return;
    }
    for (const auto& [key, value] : labels.items()) {
      const std::string lp = p + "/labels/" + Escape(key);
      LabelPredicate lbl;
      lbl.key = key;
      if (value.is_string()) {
        lbl.values.push_back(value.get<std::string>());
      } else if (value.is_array()) {
        lbl.values = d.StringList(value, lp, "a label value", false);
      } else if (value.is_object()) {
        if (!d.Object(value, lp, {"in", "notIn", "exists"},
                      "one of {\"in\": [...]}, {\"notIn\": [...]}, {\"exists\": true|false}")) {
          continue;
        }
        if (value.size() != 1) {
          d.Error("bad_value", lp,
                  "got " + std::to_string(value.size()) +
                      " operators; expected exactly one of in, notIn, exists");
          continue;
        }
        const std::string op = value.begin().key();
        const json& arg = value.begin().value();
        if (op == "exists") {
          if (!arg.is_boolean()) {
            d.WrongType(lp + "/exists", arg, "true or false");
            continue;
          }
          lbl.op =
              arg.get<bool>() ? LabelPredicate::Op::kExists : LabelPredicate::Op::kDoesNotExist;
        } else if (op == "in" || op == "notIn") {
          lbl.op = op == "in" ? LabelPredicate::Op::kIn : LabelPredicate::Op::kNotIn;
          lbl.values = d.StringList(arg, lp + "/" + op, "a label value", true);
        } else {
          continue;  // reported as unknown_field
        }
      } else {
        d.WrongType(lp, value, "a value, an array of values, or an operator object");
        continue;
      }
      sel.labels.push_back(std::move(lbl));
    }
  }
}

void DecodeTopology(Decoder& d, const json& v, Request& r) {
  if (!d.Object(v, "/topology", {"locality", "spread"}, "an object with locality, spread")) return;
  if (v.contains("locality")) {
    const std::string p = "/topology/locality";
    const json& l = v["locality"];
    if (d.Object(l, p, {"level", "mode", "maxDomains"}, "an object with level, mode, maxDomains")) {
      Locality loc;
      if (!l.contains("level")) {
        d.Error("missing_field", p + "/level", "missing; expected a level");
      } else if (auto i = d.Enum(l["level"], p + "/level", kLevelNames, "level")) {
        loc.level = *ParseLevel(kLevelNames[*i]);
      }
      if (l.contains("mode")) {
        if (auto i = d.Enum(l["mode"], p + "/mode", kModeNames, "mode"))
          loc.mode = *i == 0 ? LocalityMode::kRequired : LocalityMode::kPreferred;
      }
      if (l.contains("maxDomains")) {
        if (auto i = d.Int(l["maxDomains"], p + "/maxDomains", kDomains))
          loc.max_domains = static_cast<int>(*i);
      }
      r.locality = loc;
    }
  }
  if (v.contains("spread")) {
    const std::string p = "/topology/spread";
    const json& s = v["spread"];
    if (d.Object(s, p, {"level", "maxPerDomain", "maxFraction", "minDomains"},
                 "an object with level, maxPerDomain, maxFraction, minDomains")) {
      Spread spread;
      if (!s.contains("level")) {
        d.Error("missing_field", p + "/level", "missing; expected a level");
      } else if (auto i = d.Enum(s["level"], p + "/level", kLevelNames, "level")) {
        spread.level = *ParseLevel(kLevelNames[*i]);
      }
      if (s.contains("maxPerDomain")) {
        if (auto i = d.Int(s["maxPerDomain"], p + "/maxPerDomain", kDomains))
          spread.max_per_domain = static_cast<int>(*i);
      }
      if (s.contains("maxFraction"))
        spread.max_fraction = d.Number(s["maxFraction"], p + "/maxFraction", kFraction);
      if (s.contains("minDomains")) {
        if (auto i = d.Int(s["minDomains"], p + "/minDomains", kDomains))
          spread.min_domains = static_cast<int>(*i);
      }
      if (!s.contains("maxPerDomain") && !s.contains("maxFraction") && !s.contains("minDomains")) {
        d.Error("missing_field", p,
                "no limit given; expected at least one of maxPerDomain, maxFraction, minDomains");
      }
      r.spread = spread;
    }
  }
}

}  // namespace

json ParseJsonBody(std::string_view text, std::vector<BodyError>& errors) {
  struct Stop {
    BodyError error;
  };
  std::vector<std::set<std::string>> keys;
  std::vector<std::string> path;  // pointer segments of the objects/arrays being parsed
  std::string last_key;
  auto callback = [&](int depth, json::parse_event_t event, json& parsed) {
    if (depth > kMaxDepth) {
      throw Stop{{"too_deep", "", "nested deeper than " + std::to_string(kMaxDepth) + " levels"}};
    }
    switch (event) {
      case json::parse_event_t::object_start: keys.emplace_back(); break;
      case json::parse_event_t::object_end:
        if (!keys.empty()) keys.pop_back();
        break;
      case json::parse_event_t::key: {
        const std::string key = parsed.get<std::string>();
        if (!keys.empty() && !keys.back().insert(key).second) {
          throw Stop{{"duplicate_key", "/" + Escape(key),
                      "key \"" + key.substr(0, 64) + "\" appears twice in one object"}};
        }
        break;
      }
      default: break;
    }
    return true;
  };
  try {
    return json::parse(text.begin(), text.end(), callback);
  } catch (const Stop& s) {
    errors.push_back(s.error);
  } catch (const json::parse_error& e) {
    errors.push_back({"malformed_json", "",
                      "not valid JSON at byte " + std::to_string(e.byte) + ": " +
                          std::string(e.what()).substr(0, 200)});
  } catch (const json::exception& e) {
    errors.push_back({"malformed_json", "", std::string("not valid JSON: ") + e.what()});
  }
  return json();
}

DecodedRequest DecodeRequestJson(const json& body) {
  DecodedRequest out;
  Decoder d;
  Request& r = out.request;
  if (d.Object(body, "",
               {"name", "tenant", "nodes", "gpus", "select", "topology", "compliance", "exclusive",
                "network", "budget", "purpose", "priority"},
               "a request object with tenant, nodes or gpus, select, topology, ...")) {
    if (body.contains("name")) {
      if (auto s = d.String(body["name"], "/name", "a request name")) {
        r.name = *s;
        out.has_name = true;
      }
    }
    if (body.contains("tenant")) {
      if (auto s = d.String(body["tenant"], "/tenant", "a tenant name")) {
        r.tenant = *s;
        out.has_tenant = true;
      }
    }
    const bool nodes = body.contains("nodes"), gpus = body.contains("gpus");
    if (nodes && gpus) {
      d.Error("conflicting_fields", "/gpus", "both nodes and gpus; expected exactly one");
    } else if (!nodes && !gpus) {
      d.Error("missing_field", "/nodes", "neither nodes nor gpus; expected exactly one of them");
    }
    if (nodes) {
      if (auto i = d.Int(body["nodes"], "/nodes", kNodes)) r.nodes = static_cast<int>(*i);
    }
    if (gpus) {
      if (auto i = d.Int(body["gpus"], "/gpus", kGpus)) r.gpus = static_cast<int>(*i);
    }
    if (body.contains("select")) DecodeSelect(d, body["select"], r.select);
    if (body.contains("topology")) DecodeTopology(d, body["topology"], r);
    if (body.contains("compliance"))
      r.compliance = d.StringList(body["compliance"], "/compliance", "a compliance name", true);
    if (body.contains("exclusive")) {
      if (auto i = d.Enum(body["exclusive"], "/exclusive", kExclusiveNames, "exclusive level"))
        r.exclusive = *ParseLevel(kExclusiveNames[*i]);
    }
    if (body.contains("network")) {
      const json& n = body["network"];
      if (d.Object(n, "/network", {"roce"}, "an object with roce") && n.contains("roce")) {
        if (n["roce"].is_boolean()) {
          r.roce = n["roce"].get<bool>();
        } else {
          d.WrongType("/network/roce", n["roce"], "true or false");
        }
      }
    }
    if (body.contains("budget")) {
      const json& b = body["budget"];
      if (d.Object(b, "/budget", {"maxCostPerHour"}, "an object with maxCostPerHour") &&
          b.contains("maxCostPerHour")) {
        r.max_cost_per_hour = d.Number(b["maxCostPerHour"], "/budget/maxCostPerHour", kBudget);
      }
    }
    if (body.contains("purpose")) {
      if (auto i = d.Enum(body["purpose"], "/purpose", kPurposeNames, "purpose"))
        r.purpose = *ParsePurpose(kPurposeNames[*i]);
    }
    if (body.contains("priority")) {
      if (auto i = d.Int(body["priority"], "/priority", kPriority))
        r.priority = static_cast<int>(*i);
    }
  }
  out.errors = std::move(d.errors);
  return out;
}

nlohmann::ordered_json EncodeRequestJson(const Request& r) {
  using oj = nlohmann::ordered_json;
  oj j;
  j["name"] = r.name;
  j["tenant"] = r.tenant;
  if (r.nodes) j["nodes"] = *r.nodes;
  if (r.gpus) j["gpus"] = *r.gpus;
  const NodeSelector& s = r.select;
  if (!s.empty()) {
    oj sel = oj::object();
    if (!s.classes.empty()) sel["class"] = s.classes;
    if (!s.gpu_models.empty() || s.gpu_count) {
      oj g = oj::object();
      if (!s.gpu_models.empty()) g["model"] = s.gpu_models;
      if (s.gpu_count) g["count"] = s.gpu_count->ToString();
      sel["gpu"] = g;
    }
    if (s.memory_gib) sel["memoryGiB"] = s.memory_gib->ToString();
    if (s.cpu_cores) sel["cpuCores"] = s.cpu_cores->ToString();
    if (s.storage_gib) sel["storageGiB"] = s.storage_gib->ToString();
    if (!s.labels.empty()) {
      oj labels = oj::object();
      for (const auto& l : s.labels) {
        switch (l.op) {
          case LabelPredicate::Op::kIn: labels[l.key] = {{"in", l.values}}; break;
          case LabelPredicate::Op::kNotIn: labels[l.key] = {{"notIn", l.values}}; break;
          case LabelPredicate::Op::kExists: labels[l.key] = {{"exists", true}}; break;
          case LabelPredicate::Op::kDoesNotExist: labels[l.key] = {{"exists", false}}; break;
        }
      }
      sel["labels"] = labels;
    }
    j["select"] = sel;
  }
  if (r.locality || r.spread) {
    oj t = oj::object();
    if (r.locality) {
      t["locality"] = {
          {"level", LevelName(r.locality->level)},
          {"mode", r.locality->mode == LocalityMode::kRequired ? "required" : "preferred"},
          {"maxDomains", r.locality->max_domains}};
    }
    if (r.spread) {
      oj sp = {{"level", LevelName(r.spread->level)}};
      if (r.spread->max_per_domain) sp["maxPerDomain"] = *r.spread->max_per_domain;
      if (r.spread->max_fraction) sp["maxFraction"] = *r.spread->max_fraction;
      if (r.spread->min_domains) sp["minDomains"] = *r.spread->min_domains;
      t["spread"] = sp;
    }
    j["topology"] = t;
  }
  if (!r.compliance.empty()) j["compliance"] = r.compliance;
  if (r.exclusive) j["exclusive"] = LevelName(*r.exclusive);
  if (r.roce) j["network"] = {{"roce", true}};
  if (r.max_cost_per_hour) j["budget"] = {{"maxCostPerHour", *r.max_cost_per_hour}};
  j["purpose"] = PurposeName(r.purpose);
  j["priority"] = r.priority;
  return j;
}

}  // namespace topoplace
