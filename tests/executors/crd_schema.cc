#include "tests/executors/crd_schema.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <regex>
#include <set>

namespace topoplace::testing {
namespace {

using json = nlohmann::json;

const std::set<std::string> kTypes = {"object", "map",     "array",         "string", "integer",
                                      "number", "boolean", "int-or-string", "any"};
const std::set<std::string> kAttributes = {
    "type",      "required",  "open",     "enum",     "pattern", "keyPattern", "format",
    "minLength", "maxLength", "minItems", "maxItems", "minimum", "maximum",    "note"};

// Where a schema path hangs: its parent's path ("" = the root) and how it is reached.
struct Parent {
  std::string path;
  char via = '.';  // '.' a field of an object, '[' an array's element, '{' a map's value
  std::string key;
};

Parent ParentOf(const std::string& path) {
  if (path.size() >= 2 && path.compare(path.size() - 2, 2, "[]") == 0) {
    return {path.substr(0, path.size() - 2), '[', ""};
  }
  if (path.size() >= 2 && path.compare(path.size() - 2, 2, "{}") == 0) {
    return {path.substr(0, path.size() - 2), '{', ""};
  }
  const size_t dot = path.rfind('.');
  if (dot == std::string::npos) return {"", '.', path};
  return {path.substr(0, dot), '.', path.substr(dot + 1)};
}

// ---- YAML to JSON (for manifests written as YAML) --------------------------------------------

json ScalarValue(const YAML::Node& n) {
  const std::string& s = n.Scalar();
  if (n.Tag() != "?") return s;  // quoted or explicitly tagged: a string
  static const std::regex kInt("[-+]?[0-9]+");
  static const std::regex kFloat(R"([-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?)");
  if (s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL") return nullptr;
  if (s == "true" || s == "True" || s == "TRUE") return true;
  if (s == "false" || s == "False" || s == "FALSE") return false;
  if (std::regex_match(s, kInt)) {
    try {
      return std::stoll(s);
    } catch (const std::exception&) {
      return s;
    }
  }
  if (std::regex_match(s, kFloat)) return std::stod(s);
  return s;
}

json FromYaml(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Map: {
      json o = json::object();
      for (const auto& kv : n) o[kv.first.Scalar()] = FromYaml(kv.second);
      return o;
    }
    case YAML::NodeType::Sequence: {
      json a = json::array();
      for (const auto& e : n) a.push_back(FromYaml(e));
      return a;
    }
    case YAML::NodeType::Scalar: return ScalarValue(n);
    default: return nullptr;
  }
}

// ---- the check --------------------------------------------------------------------------------

class Checker {
 public:
  explicit Checker(const CrdSchema& schema) : schema_(schema) {
    for (const auto& [path, field] : schema.fields) {
      const Parent p = ParentOf(path);
      if (p.via == '.') children_[p.path].push_back(p.key);
    }
  }

  std::vector<ErrorDetail> Run(const json& manifest) {
    if (!manifest.is_object()) {
      Error("", "wrong_type", "a manifest is an object; got " + TypeName(manifest));
      return errors_;
    }
    for (const char* key : {"apiVersion", "kind"}) {
      const std::string want = std::string(key) == "kind" ? schema_.kind : schema_.api_version;
      auto it = manifest.find(key);
      if (it != manifest.end() && (!it->is_string() || it->get<std::string>() != want)) {
        Error(key, "wrong_kind", "is " + it->dump() + "; this schema is for " + want);
      }
    }
    WalkObject(manifest, "", "");
    return errors_;
  }

 private:
  static std::string TypeName(const json& v) {
    if (v.is_object()) return "an object";
    if (v.is_array()) return "an array";
    if (v.is_string()) return "a string";
    if (v.is_boolean()) return "a boolean";
    if (v.is_number_integer()) return "an integer";
    if (v.is_number()) return "a number";
    return "null";
  }

  static std::string Join(const std::string& concrete, const std::string& key) {
    static const std::regex kPlain("[A-Za-z_][A-Za-z0-9_]*");
    if (std::regex_match(key, kPlain)) return concrete.empty() ? key : concrete + "." + key;
    return concrete + "[" + json(key).dump() + "]";
  }

  void Error(const std::string& path, const std::string& code, const std::string& message) {
    errors_.push_back({path, code, message});
  }

  const std::regex& Regex(const std::string& pattern) {
    auto it = regex_.find(pattern);
    if (it == regex_.end()) it = regex_.emplace(pattern, std::regex(pattern)).first;
    return it->second;
  }

  // The fields of an object at schema path `sp` (concrete path `cp`).
  void WalkObject(const json& v, const std::string& sp, const std::string& cp) {
    for (const auto& [key, value] : v.items()) {
      const std::string child = sp.empty() ? key : sp + "." + key;
      const std::string at = Join(cp, key);
      auto f = schema_.fields.find(child);
      if (f == schema_.fields.end()) {
        Error(at, "unknown_field",
              "is not a field of " + schema_.kind + (sp.empty() ? "" : " at " + sp) + " in " +
                  schema_.source);
        continue;
      }
      Walk(value, child, at, f->second);
    }
    auto c = children_.find(sp);
    if (c == children_.end()) return;
    for (const std::string& key : c->second) {
      const CrdField& f = schema_.fields.at(sp.empty() ? key : sp + "." + key);
      if (f.required && !v.contains(key)) {
        Error(Join(cp, key), "missing_field", "is required in " + schema_.kind);
      }
    }
  }

  void Walk(const json& v, const std::string& sp, const std::string& cp, const CrdField& f) {
    auto wrong = [&](const std::string& want) {
      Error(cp, "wrong_type", "is " + TypeName(v) + "; expected " + want);
    };
    if (f.type == "any") return;
    if (f.type == "object") {
      if (!v.is_object()) return wrong("an object");
      if (!f.open) WalkObject(v, sp, cp);
      return;
    }
    if (f.type == "map") {
      if (!v.is_object()) return wrong("a map");
      auto value = schema_.fields.find(sp + "{}");
      for (const auto& [key, item] : v.items()) {
        const std::string at = cp + "[" + json(key).dump() + "]";
        if (!f.key_pattern.empty() && !std::regex_search(key, Regex(f.key_pattern))) {
          Error(at, "pattern_mismatch", "key does not match " + f.key_pattern);
        }
        if (value != schema_.fields.end()) Walk(item, sp + "{}", at, value->second);
      }
      return;
    }
    if (f.type == "array") {
      if (!v.is_array()) return wrong("an array");
      const auto n = static_cast<long long>(v.size());
      if (f.min_items && n < *f.min_items) {
        Error(cp, "out_of_range",
              "has " + std::to_string(n) + " items; at least " + std::to_string(*f.min_items) +
                  " expected");
      }
      if (f.max_items && n > *f.max_items) {
        Error(cp, "out_of_range",
              "has " + std::to_string(n) + " items; at most " + std::to_string(*f.max_items) +
                  " expected");
      }
      auto item = schema_.fields.find(sp + "[]");
      for (size_t i = 0; i < v.size(); ++i) {
        if (item != schema_.fields.end()) {
          Walk(v[i], sp + "[]", cp + "[" + std::to_string(i) + "]", item->second);
        }
      }
      return;
    }
    if (f.type == "boolean") {
      if (!v.is_boolean()) wrong("a boolean");
      return;
    }
    if (f.type == "integer" || (f.type == "int-or-string" && v.is_number())) {
      if (!v.is_number_integer())
        return wrong(f.type == "integer" ? "an integer" : "an integer or a string");
      CheckNumber(v.get<double>(), cp, f);
      const long long n = v.is_number_unsigned() && v.get<unsigned long long>() >
                                                        std::numeric_limits<long long>::max()
                              ? std::numeric_limits<long long>::max()
                              : v.get<long long>();
      if (f.format == "int32" &&
          (n < std::numeric_limits<int32_t>::min() || n > std::numeric_limits<int32_t>::max())) {
        Error(cp, "out_of_range", std::to_string(n) + " does not fit format int32");
      }
      return;
    }
    if (f.type == "number") {
      if (!v.is_number()) return wrong("a number");
      CheckNumber(v.get<double>(), cp, f);
      return;
    }
    // string, or the string side of int-or-string
    if (!v.is_string()) {
      return wrong(f.type == "string" ? "a string" : "an integer or a string");
    }
    const std::string s = v.get<std::string>();
    if (!f.enum_values.empty() &&
        std::find(f.enum_values.begin(), f.enum_values.end(), s) == f.enum_values.end()) {
      std::string allowed;
      for (const std::string& e : f.enum_values) allowed += (allowed.empty() ? "" : ", ") + e;
      Error(cp, "unknown_value", json(s).dump() + " is not one of " + allowed);
    }
    if (!f.pattern.empty() && !std::regex_search(s, Regex(f.pattern))) {
      Error(cp, "pattern_mismatch", json(s).dump() + " does not match " + f.pattern);
    }
    const auto len = static_cast<long long>(s.size());
    if (f.min_length && len < *f.min_length) {
      Error(cp, "out_of_range", "is shorter than " + std::to_string(*f.min_length));
    }
    if (f.max_length && len > *f.max_length) {
      Error(cp, "out_of_range", "is longer than " + std::to_string(*f.max_length));
    }
  }

  void CheckNumber(double x, const std::string& cp, const CrdField& f) {
    if (f.minimum && x < *f.minimum) Error(cp, "out_of_range", "is below the minimum");
    if (f.maximum && x > *f.maximum) Error(cp, "out_of_range", "is above the maximum");
  }

  const CrdSchema& schema_;
  std::map<std::string, std::vector<std::string>> children_;
  std::map<std::string, std::regex> regex_;
  std::vector<ErrorDetail> errors_;
};

// ---- loading a fixture ------------------------------------------------------------------------

Status ReadField(const std::string& file, const std::string& path, const YAML::Node& n,
                 CrdField& f) {
  auto bad = [&](const std::string& what) {
    return InvalidArgumentError(file + ": fields." + path + ": " + what);
  };
  if (!n.IsMap()) return bad("expected a map of attributes");
  for (const auto& kv : n) {
    if (!kAttributes.count(kv.first.Scalar())) return bad("unknown attribute " + kv.first.Scalar());
  }
  if (!n["type"] || !kTypes.count(n["type"].Scalar())) return bad("missing or unknown type");
  f.type = n["type"].Scalar();
  f.required = n["required"] && n["required"].as<bool>();
  f.open = n["open"] && n["open"].as<bool>();
  if (n["enum"]) f.enum_values = n["enum"].as<std::vector<std::string>>();
  if (n["pattern"]) f.pattern = n["pattern"].Scalar();
  if (n["keyPattern"]) f.key_pattern = n["keyPattern"].Scalar();
  if (n["format"]) f.format = n["format"].Scalar();
  for (auto [key, slot] :
       {std::pair{"minLength", &f.min_length}, std::pair{"maxLength", &f.max_length},
        std::pair{"minItems", &f.min_items}, std::pair{"maxItems", &f.max_items}}) {
    if (n[key]) *slot = n[key].as<long long>();
  }
  if (n["minimum"]) f.minimum = n["minimum"].as<double>();
  if (n["maximum"]) f.maximum = n["maximum"].as<double>();
  for (const std::string& p : {f.pattern, f.key_pattern}) {
    if (p.empty()) continue;
    try {
      std::regex r(p);
    } catch (const std::regex_error& e) {
      return bad("pattern " + p + " does not compile: " + e.what());
    }
  }
  return Status::Ok();
}

}  // namespace

Result<CrdSchema> LoadCrdSchema(const std::string& path) {
  CrdSchema schema;
  try {
    const YAML::Node root = YAML::LoadFile(path);
    if (!root["apiVersion"] || !root["kind"] || !root["fields"] || !root["fields"].IsMap()) {
      return InvalidArgumentError(path + ": expected apiVersion, kind, source and fields");
    }
    schema.api_version = root["apiVersion"].Scalar();
    schema.kind = root["kind"].Scalar();
    if (const YAML::Node s = root["source"]) {
      schema.source = s["repository"].as<std::string>("") + " " + s["path"].as<std::string>("") +
                      " @" + s["commit"].as<std::string>("").substr(0, 12);
    }
    for (const auto& kv : root["fields"]) {
      const std::string p = kv.first.Scalar();
      if (schema.fields.count(p)) return InvalidArgumentError(path + ": fields." + p + " twice");
      CrdField f;
      if (Status s = ReadField(path, p, kv.second, f); !s.ok()) return s;
      schema.fields[p] = std::move(f);
    }
  } catch (const YAML::Exception& e) {
    return InvalidArgumentError(path + ": " + e.what());
  }
  // Every field hangs from a declared object (or the root), element from an array, value from a
  // map; so a path typo in a fixture shows up here, not as a check that never runs.
  for (const auto& [p, f] : schema.fields) {
    const Parent parent = ParentOf(p);
    if (parent.path.empty() && parent.via == '.') continue;
    auto it = schema.fields.find(parent.path);
    const std::string want = parent.via == '[' ? "array" : parent.via == '{' ? "map" : "object";
    if (it == schema.fields.end() || it->second.type != want) {
      return InvalidArgumentError(path + ": fields." + p + " hangs from " + parent.path +
                                  ", which is not declared as " + want);
    }
  }
  return schema;
}

Result<nlohmann::json> ParseManifest(const std::string& text) {
  json j = json::parse(text, nullptr, false);
  if (!j.is_discarded()) return j;
  try {
    return FromYaml(YAML::Load(text));
  } catch (const YAML::Exception& e) {
    return InvalidArgumentError(std::string("manifest is neither JSON nor YAML: ") + e.what());
  }
}

std::vector<ErrorDetail> CheckManifest(const CrdSchema& schema, const nlohmann::json& manifest) {
  return Checker(schema).Run(manifest);
}

std::string Describe(const std::vector<ErrorDetail>& errors) {
  std::string out;
  for (const ErrorDetail& e : errors) out += e.path + ": " + e.code + ": " + e.message + "\n";
  return out;
}

}  // namespace topoplace::testing
