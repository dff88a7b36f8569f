#include "api/request_json.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <set>
#include <span>
#include <sstream>

#include "model/request_schema.h"

namespace topoplace {
namespace {

using json = nlohmann::json;

constexpr int kMaxDepth = 32;

std::string Fmt(double v) {
  std::ostringstream s;
  s << v;
  return s.str();
}

class Decoder {
 public:
  std::vector<BodyError> errors;

  void Error(std::string code, const std::string& ptr, std::string detail) {
    errors.push_back({std::move(code), ptr, std::move(detail)});
  }
  void WrongType(const std::string& ptr, const json& v, std::string_view expected) {
    Error("wrong_type", ptr, "got " + JsonTypeName(v) + "; expected " + std::string(expected));
  }

  // Checks `v` is an object with only `allowed` keys; reports unknown ones.
  bool Object(const json& v, const std::string& ptr, const std::vector<std::string_view>& allowed,
              std::string_view what) {
    if (!v.is_object()) {
      WrongType(ptr, v, what);
      return false;
    }
    for (const auto& [key, _] : v.items()) {
      if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
        std::string names;
        for (auto a : allowed) names += (names.empty() ? "" : ", ") + std::string(a);
        Error("unknown_field", ptr + "/" + JsonPointerToken(key),
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
    if (std::string why = CheckRequestText(s); !why.empty()) {
      Error("out_of_range", ptr, why);
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

  // A whole number that fits the field; its bounds are the schema validation's.
  std::optional<int64_t> Int(const json& v, const std::string& ptr, const NumberBounds& b) {
    if (!v.is_number_integer()) {
      WrongType(ptr, v, b.Describe(true));
      return std::nullopt;
    }
    const bool fits = v.is_number_unsigned()
                          ? v.get<uint64_t>() <= static_cast<uint64_t>(INT32_MAX)
                          : v.get<int64_t>() >= INT32_MIN && v.get<int64_t>() <= INT32_MAX;
    if (!fits) {
      Error("out_of_range", ptr, v.dump() + " is out of range; expected " + b.Describe(true));
      return std::nullopt;
    }
    return v.get<int64_t>();
  }

  std::optional<double> Number(const json& v, const std::string& ptr, const NumberBounds& b) {
    if (!v.is_number()) {
      WrongType(ptr, v, b.Describe(false));
      return std::nullopt;
    }
    return v.get<double>();
  }

  // 8, ">=8", "<4" ... as in YAML; the value's bounds are the schema validation's.
  std::optional<NumericPredicate> Predicate(const json& v, const std::string& ptr,
                                            const NumberBounds& b) {
    const std::string expected = "a number or a comparison like \">=8\", with a value from " +
                                 Fmt(b.min) + " to " + Fmt(b.max);
    if (v.is_number()) return NumericPredicate{NumericPredicate::Op::kEq, v.get<double>()};
    if (v.is_string()) {
      std::optional<NumericPredicate> p = ParseNumericPredicate(v.get_ref<const std::string&>());
      if (!p) {
        Error("bad_value", ptr,
              "bad comparison " + v.dump().substr(0, 80) + "; expected " + expected);
      }
      return p;
    }
    WrongType(ptr, v, expected);
    return std::nullopt;
  }

  std::optional<std::string> Enum(const json& v, const std::string& ptr,
                                  std::span<const std::string_view> names, std::string_view what) {
    std::string list;
    for (auto n : names) list += (list.empty() ? "" : ", ") + std::string(n);
    if (!v.is_string()) {
      WrongType(ptr, v, std::string(what) + ": one of " + list);
      return std::nullopt;
    }
    const std::string& s = v.get_ref<const std::string&>();
    for (std::string_view n : names) {
      if (n == s) return s;
    }
    Error("bad_value", ptr,
          "unknown " + std::string(what) + " \"" + s.substr(0, 64) + "\"; expected one of " + list);
    return std::nullopt;
  }
};

void DecodeLabels(Decoder& d, const json& labels, const std::string& p, NodeSelector& sel) {
  if (!labels.is_object()) {
    d.WrongType(p, labels, "an object of label names to values or operators");
    return;
  }
  for (const auto& [key, value] : labels.items()) {
    const std::string lp = p + "/" + JsonPointerToken(key);
    LabelPredicate lbl;
    lbl.key = key;
    if (value.is_string()) {
      lbl.values.push_back(value.get<std::string>());
    } else if (value.is_array()) {
      lbl.values = d.StringList(value, lp, "a label value", false);
      if (value.empty()) continue;  // reported
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
        lbl.op = arg.get<bool>() ? LabelPredicate::Op::kExists : LabelPredicate::Op::kDoesNotExist;
      } else if (op == "in" || op == "notIn") {
        lbl.op = op == "in" ? LabelPredicate::Op::kIn : LabelPredicate::Op::kNotIn;
        lbl.values = d.StringList(arg, lp + "/" + op, "a label value", true);
        if (arg.is_array() && arg.empty()) continue;  // reported
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

std::vector<std::string_view> ChildKeys(std::string_view parent) {
  std::vector<std::string_view> keys;
  for (const RequestField* f : ChildFields(parent)) keys.push_back(f->key());
  return keys;
}

// The fields of the request schema under `parent`, from the object `v` at pointer `ptr`.
void DecodeFields(Decoder& d, const json& v, std::string_view parent, const std::string& ptr,
                  Request& r) {
  for (const RequestField* spec : ChildFields(parent)) {
    const std::string key(spec->key());
    const std::string p = ptr + "/" + key;
    if (!v.contains(key)) {
      if (spec->required) {
        d.Error("missing_field", p, "missing; expected a " + std::string(spec->noun));
        spec->set(r, PlaceholderValue(*spec));
      }
      continue;
    }
    const json& x = v[key];
    const size_t errors_before = d.errors.size();
    FieldValue value;
    switch (spec->type) {
      case FieldType::kObject:
        if (d.Object(x, p, ChildKeys(spec->path), "an object with " + ChildKeyList(spec->path))) {
          spec->set(r, true);
          DecodeFields(d, x, spec->path, p, r);
        }
        continue;
      case FieldType::kInt:
        if (auto i = d.Int(x, p, spec->bounds)) value = *i;
        break;
      case FieldType::kNumber:
        if (auto n = d.Number(x, p, spec->bounds)) value = *n;
        break;
      case FieldType::kBool:
        if (x.is_boolean()) {
          value = x.get<bool>();
        } else {
          d.WrongType(p, x, "true or false");
        }
        break;
      case FieldType::kString:
        if (auto s = d.String(x, p, spec->noun)) value = *s;
        break;
      case FieldType::kEnum:
        if (auto e = d.Enum(x, p, spec->values, spec->noun)) value = *e;
        break;
      case FieldType::kStringList: {
        std::vector<std::string> items = d.StringList(x, p, spec->noun, spec->single_allowed);
        if (!items.empty() && d.errors.size() == errors_before) value = std::move(items);
        break;
      }
      case FieldType::kPredicate:
        if (auto pr = d.Predicate(x, p, spec->bounds)) value = *pr;
        break;
      case FieldType::kLabelMap: DecodeLabels(d, x, p, r.select); continue;
    }
    if (!std::holds_alternative<std::monostate>(value)) {
      spec->set(r, value);
    } else if (d.errors.size() != errors_before) {
      // Reported already: a neutral value keeps validation from reporting the field again.
      FieldValue placeholder = PlaceholderValue(*spec);
      if (!std::holds_alternative<std::monostate>(placeholder)) spec->set(r, placeholder);
    }
  }
}

using oj = nlohmann::ordered_json;

oj ValueJson(const FieldValue& v) {
  if (auto* i = std::get_if<int64_t>(&v)) return *i;
  if (auto* d = std::get_if<double>(&v)) return *d;
  if (auto* b = std::get_if<bool>(&v)) return *b;
  if (auto* s = std::get_if<std::string>(&v)) return *s;
  if (auto* l = std::get_if<std::vector<std::string>>(&v)) return *l;
  if (auto* p = std::get_if<NumericPredicate>(&v)) return p->ToString();
  return nullptr;
}

std::string ValueText(const FieldValue& v) {
  if (auto* i = std::get_if<int64_t>(&v)) return std::to_string(*i);
  if (auto* b = std::get_if<bool>(&v)) return *b ? "true" : "false";
  if (auto* s = std::get_if<std::string>(&v)) return *s;
  return {};
}

void EncodeFields(oj& j, std::string_view parent, const Request& r) {
  for (const RequestField* spec : ChildFields(parent)) {
    const std::string key(spec->key());
    if (spec->type == FieldType::kObject) {
      if (std::holds_alternative<std::monostate>(spec->get(r))) continue;
      oj sub = oj::object();
      EncodeFields(sub, spec->path, r);
      // An optional object (locality, spread, preemption: absent from a request that does not
      // say it) stands for itself, even with every field at its default; a grouping (select,
      // budget) only with content.
      const bool optional = std::holds_alternative<std::monostate>(spec->get(Request{}));
      if (!sub.empty() || optional) j[key] = std::move(sub);
      continue;
    }
    if (spec->type == FieldType::kLabelMap) {
      if (r.select.labels.empty()) continue;
      oj labels = oj::object();
      for (const auto& l : r.select.labels) {
        switch (l.op) {
          case LabelPredicate::Op::kIn: labels[l.key] = {{"in", l.values}}; break;
          case LabelPredicate::Op::kNotIn: labels[l.key] = {{"notIn", l.values}}; break;
          case LabelPredicate::Op::kExists: labels[l.key] = {{"exists", true}}; break;
          case LabelPredicate::Op::kDoesNotExist: labels[l.key] = {{"exists", false}}; break;
        }
      }
      j[key] = std::move(labels);
      continue;
    }
    const FieldValue v = spec->get(r);
    if (std::holds_alternative<std::monostate>(v)) continue;
    // Defaults are left out, except inside topology, which is written in full.
    if (!spec->default_value.empty() && !spec->path.starts_with("topology.") &&
        ValueText(v) == spec->default_value)
      continue;
    j[key] = ValueJson(v);
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
          throw Stop{{"duplicate_key", "/" + JsonPointerToken(key),
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
  if (d.Object(body, "", ChildKeys(""),
               "a request object with tenant, nodes or gpus, select, topology, ...")) {
    DecodeFields(d, body, "", "", r);
    out.has_name = body.contains("name") && body["name"].is_string() && !r.name.empty();
    out.has_tenant = body.contains("tenant") && body["tenant"].is_string() && !r.tenant.empty();
    // Bounds, values and the rules between fields: the request schema's, as for YAML.
    for (const ErrorDetail& e : ValidateRequestFields(r))
      d.Error(e.code, KeyPathToPointer(e.path), e.message);
  }
  out.errors = std::move(d.errors);
  return out;
}

nlohmann::ordered_json EncodeRequestJson(const Request& r) {
  oj j;
  j["name"] = r.name;
  j["tenant"] = r.tenant;
  EncodeFields(j, "", r);
  return j;
}

std::string JsonPointerToken(std::string_view key) {
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

std::string JsonTypeName(const json& v) {
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

}  // namespace topoplace
