#include "inventory/short_request.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <limits>
#include <set>
#include <string>
#include <vector>

#include "inventory/text_fields.h"
#include "model/request_schema.h"

namespace topoplace {

namespace {

using text_fields::ParseInt;
using text_fields::ParseNumber;
using text_fields::Quoted;
using text_fields::Split;
using text_fields::Trim;

// The short form's keys are the request schema's short keys; locality, spread and label.KEY have
// a syntax of their own.
bool IsSelectField(const RequestField& f) { return f.path.starts_with("select."); }

std::string KeyList(bool select_only) {
  std::string out;
  for (const RequestField& f : RequestFields()) {
    if (f.short_key.empty() || (select_only && !IsSelectField(f))) continue;
    if (!out.empty()) out += ", ";
    out += f.short_key;
  }
  return out;
}

std::string LevelError(std::string_view got) {
  return "unknown level " + Quoted(got) + "; expected one of " + LevelNamesList();
}

// "H100*|A100*" -> items, rejecting empty ones.
std::optional<std::vector<std::string>> Alternatives(std::string_view v) {
  std::vector<std::string> out;
  for (std::string_view item : Split(v, '|')) {
    item = Trim(item);
    if (item.empty()) return std::nullopt;
    out.emplace_back(item);
  }
  return out;
}

std::string Fmt(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.15g", v);
  return buf;
}

// The error of one item: where in the request (a key path), the code, and "what; expected".
struct ItemError {
  std::string path;
  std::string code;
  std::string message;
};

// Reads `text` as the value of `f` (types and syntax only; bounds are the validation's).
std::optional<ItemError> SetField(const RequestField& f, std::string_view text, Request& r) {
  const std::string path(f.path);
  auto fail = [&](std::string code, std::string message) {
    return ItemError{path, std::move(code), std::move(message)};
  };
  switch (f.type) {
    case FieldType::kInt: {
      std::optional<int64_t> v = ParseInt(text);
      if (!v || *v < std::numeric_limits<int>::min() || *v > std::numeric_limits<int>::max()) {
        return fail(v ? "out_of_range" : "wrong_type",
                    Quoted(Trim(text)) + " is not a whole number from " + Fmt(f.bounds.min) +
                        " to " + Fmt(f.bounds.max));
      }
      f.set(r, *v);
      return std::nullopt;
    }
    case FieldType::kNumber: {
      std::optional<double> v = ParseNumber(text);
      if (!v)
        return fail("wrong_type",
                    Quoted(Trim(text)) + " is not a number; expected " + f.bounds.Describe(false));
      f.set(r, *v);
      return std::nullopt;
    }
    case FieldType::kBool:
      if (text != "true" && text != "false")
        return fail("wrong_type", Quoted(text) + " is not a boolean; expected true or false");
      f.set(r, text == "true");
      return std::nullopt;
    case FieldType::kString: f.set(r, std::string(text)); return std::nullopt;
    case FieldType::kEnum: {
      for (std::string_view v : f.values) {
        if (v == text) {
          f.set(r, std::string(v));
          return std::nullopt;
        }
      }
      std::string names;
      for (size_t i = 0; i < f.values.size(); ++i) {
        names += i == 0 ? "" : i + 1 == f.values.size() ? " or " : ", ";
        names += f.values[i];
      }
      return fail("bad_value",
                  "unknown " + std::string(f.noun) + " " + Quoted(text) + "; expected " + names);
    }
    case FieldType::kStringList: {
      std::optional<std::vector<std::string>> items = Alternatives(text);
      if (!items)
        return fail("bad_value",
                    "an empty item in " + Quoted(text) + "; expected names separated by |");
      f.set(r, *items);
      return std::nullopt;
    }
    case FieldType::kPredicate: {
      std::optional<NumericPredicate> p = ParseNumericPredicate(text);
      if (!p)
        return fail("bad_value",
                    Quoted(text) + " is not a number or comparison; expected e.g. 8 or >=1024");
      f.set(r, *p);
      return std::nullopt;
    }
    default: return fail("bad_value", "not a value of its own");
  }
}

const RequestField& Spec(std::string_view path) { return *FindRequestField(path); }

// locality=LEVEL[:required|preferred][:MAXDOMAINS]
std::optional<ItemError> SetLocality(std::string_view value, Request& r) {
  const std::vector<std::string_view> parts = Split(value, ':');
  if (parts.size() > 3)
    return ItemError{"topology.locality", "bad_value",
                     Quoted(value) + " has too many parts; expected LEVEL[:MODE[:N]]"};
  Request tmp = r;
  tmp.locality.reset();
  if (!ParseLevel(Trim(parts[0])))
    return ItemError{"topology.locality.level", "bad_value", LevelError(Trim(parts[0]))};
  const char* keys[] = {"topology.locality.level", "topology.locality.mode",
                        "topology.locality.maxDomains"};
  for (size_t i = 0; i < parts.size(); ++i) {
    if (auto e = SetField(Spec(keys[i]), Trim(parts[i]), tmp)) {
      if (i == 1)
        e->message = "unknown mode " + Quoted(Trim(parts[1])) + "; expected required or preferred";
      if (i == 2) e->message = "maxDomains " + e->message;
      return e;
    }
  }
  r = std::move(tmp);
  return std::nullopt;
}

// spread=LEVEL:FRACTION | LEVEL:max=N, with :min=N added or alone.
std::optional<ItemError> SetSpread(std::string_view value, Request& r) {
  const std::vector<std::string_view> parts = Split(value, ':');
  if (!ParseLevel(Trim(parts[0])))
    return ItemError{"topology.spread.level", "bad_value", LevelError(Trim(parts[0]))};
  if (parts.size() < 2)
    return ItemError{"topology.spread", "missing_field",
                     "no limit; expected LEVEL:FRACTION, LEVEL:max=N or LEVEL:min=N"};
  Request tmp = r;
  tmp.spread.reset();
  SetField(Spec("topology.spread.level"), Trim(parts[0]), tmp);
  for (size_t i = 1; i < parts.size(); ++i) {
    const std::string_view part = Trim(parts[i]);
    std::optional<ItemError> e;
    if (part.substr(0, 4) == "max=" || part.substr(0, 4) == "min=") {
      e = SetField(
          Spec(part[1] == 'a' ? "topology.spread.maxPerDomain" : "topology.spread.minDomains"),
          part.substr(4), tmp);
      if (e) e->message = Quoted(part) + ": " + e->message;
    } else if (ParseNumber(part)) {
      e = SetField(Spec("topology.spread.maxFraction"), part, tmp);
    } else {
      e = ItemError{
          "topology.spread", "bad_value",
          Quoted(part) + " is not a limit; expected a fraction in (0, 1], max=N or min=N"};
    }
    if (e) return e;
  }
  r = std::move(tmp);
  return std::nullopt;
}

// Applies one item, then the schema's validation of what it set (bounds, values).
std::optional<ItemError> ApplyItem(std::string_view key, std::string_view value, Request& r,
                                   bool select_only) {
  key = Trim(key);
  value = Trim(value);
  const bool is_label = key.substr(0, 6) == "label.";
  const RequestField* f = is_label ? FindRequestField("select.labels") : FindShortKey(key);
  if (f == nullptr || key == "label.KEY" || (select_only && !IsSelectField(*f))) {
    return ItemError{"", "unknown_field",
                     "unknown key " + Quoted(key) + "; expected one of " + KeyList(select_only)};
  }
  if (value.empty())
    return ItemError{std::string(f->path), "missing_field",
                     "no value; expected " + std::string(key) + "=VALUE"};
  std::optional<ItemError> e;
  std::string path(f->path);
  if (is_label) {
    const std::string_view label = key.substr(6);
    if (label.empty())
      return ItemError{path, "bad_value", "a label needs a key; expected label.KEY=VALUE"};
    std::optional<std::vector<std::string>> items = Alternatives(value);
    if (!items)
      return ItemError{path, "bad_value",
                       "an empty item in " + Quoted(value) + "; expected values separated by |"};
    r.select.labels.push_back({std::string(label), LabelPredicate::Op::kIn, *items});
    path += "." + std::string(label);
  } else if (f->path == "topology.locality") {
    e = SetLocality(value, r);
  } else if (f->path == "topology.spread") {
    e = SetSpread(value, r);
  } else {
    e = SetField(*f, value, r);
  }
  if (e) return e;
  for (const ErrorDetail& d : ValidateRequestFields(r)) {
    if (d.code != "out_of_range" && d.code != "bad_value") continue;  // cross-field: at the end
    if (d.path != path && !d.path.starts_with(path + ".") && !d.path.starts_with(path + "["))
      continue;
    const RequestField* at = FindRequestField(d.path);
    if (at != nullptr && at->type == FieldType::kInt) {
      // In the short form's own words: the item's text and the whole-number range.
      const FieldValue v = at->get(r);
      return ItemError{d.path, d.code,
                       Quoted(std::to_string(std::get<int64_t>(v))) +
                           " is not a whole number from " + Fmt(at->bounds.min) + " to " +
                           Fmt(at->bounds.max)};
    }
    return ItemError{d.path, d.code, d.message};
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::pair<std::string, std::string>> SplitShortItem(std::string_view item) {
  const size_t eq = item.find('=');
  if (eq == std::string_view::npos) return std::nullopt;
  std::string key(Trim(item.substr(0, eq)));
  std::string value(Trim(item.substr(eq + 1)));
  // "memoryGiB>=1024" reads as memoryGiB=">=1024".
  if (!key.empty() && (key.back() == '>' || key.back() == '<' || key.back() == '!')) {
    value = std::string(1, key.back()) + "=" + value;
    key.pop_back();
    key = std::string(Trim(key));
  } else if (!value.empty() && value.front() == '=') {
    value = "==" + value.substr(1);  // "gpuCount==8"
  }
  return std::make_pair(key, value);
}

std::string ShortRequestText(const Request& r) {
  std::string out;
  auto add = [&](std::string_view key, const std::string& value) {
    out += (out.empty() ? "" : ",") + std::string(key) + "=" + value;
  };
  auto join = [](const std::vector<std::string>& items) {
    std::string s;
    for (const auto& i : items) s += (s.empty() ? "" : "|") + i;
    return s;
  };
  auto num = [](double v) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%g", v);
    return std::string(buf);
  };
  for (const RequestField& f : RequestFields()) {
    if (f.short_key.empty() || f.path == "name" || f.path == "tenant" || f.path == "project")
      continue;
    if (f.type == FieldType::kLabelMap) {
      for (const LabelPredicate& l : r.select.labels) {
        if (l.op == LabelPredicate::Op::kIn) add("label." + l.key, join(l.values));
      }
      continue;
    }
    if (f.path == "topology.locality") {
      if (!r.locality) continue;
      std::string v = std::string(LevelName(r.locality->level)) + ":" +
                      (r.locality->mode == LocalityMode::kRequired ? "required" : "preferred");
      if (r.locality->max_domains != 1) v += ":" + std::to_string(r.locality->max_domains);
      add(f.short_key, v);
      continue;
    }
    if (f.path == "topology.spread") {
      if (!r.spread) continue;
      std::string v(LevelName(r.spread->level));
      if (r.spread->max_fraction) v += ":" + num(*r.spread->max_fraction);
      if (r.spread->max_per_domain) v += ":max=" + std::to_string(*r.spread->max_per_domain);
      if (r.spread->min_domains) v += ":min=" + std::to_string(*r.spread->min_domains);
      add(f.short_key, v);
      continue;
    }
    const FieldValue v = f.get(r);
    if (std::holds_alternative<std::monostate>(v)) continue;
    std::string text;
    if (auto* i = std::get_if<int64_t>(&v)) text = std::to_string(*i);
    if (auto* d = std::get_if<double>(&v)) text = num(*d);
    if (auto* b = std::get_if<bool>(&v)) text = *b ? "true" : "false";
    if (auto* str = std::get_if<std::string>(&v)) text = *str;
    if (auto* list = std::get_if<std::vector<std::string>>(&v)) text = join(*list);
    if (auto* p = std::get_if<NumericPredicate>(&v)) {
      // Equality as a plain number: "cpuCores===112" would not read back.
      text = p->op == NumericPredicate::Op::kEq ? num(p->value) : p->ToString();
    }
    if (text == f.default_value) continue;  // the default says nothing
    add(f.short_key, text);
  }
  return out;
}

std::string LevelNamesList() { return LevelNameList(); }

std::string ApplyShortRequestItem(std::string_view key, std::string_view value, Request& r,
                                  bool select_only) {
  std::optional<ItemError> e = ApplyItem(key, value, r, select_only);
  return e ? e->message : std::string();
}

Result<Request> ParseShortRequest(std::string_view text, std::string_view label) {
  Request r;
  std::vector<std::string> errors;
  std::vector<ErrorDetail> details;
  std::set<std::string, std::less<>> seen;
  auto fail = [&](size_t column, std::string_view key, const std::string& what,
                  std::string path = "", std::string code = "bad_value") {
    errors.push_back(std::string(label) + " " + Quoted(text) + ": column " +
                     std::to_string(column) + (key.empty() ? "" : ": " + std::string(key)) + ": " +
                     what);
    details.push_back({std::move(path), std::move(code), what});
  };
  if (Trim(text).empty()) {
    return InvalidArgumentError(std::string(label) +
                                ": empty; expected e.g. nodes=16,class=h100x8,locality=leaf");
  }
  size_t start = 0;
  for (std::string_view item : Split(text, ',')) {
    const size_t column = start + 1;
    start += item.size() + 1;
    if (Trim(item).empty()) {
      fail(column, "", "an empty item; expected KEY=VALUE", "", "missing_field");
      continue;
    }
    const std::optional<std::pair<std::string, std::string>> kv = SplitShortItem(item);
    if (!kv) {
      fail(column, Trim(item), "no value; expected KEY=VALUE", "", "missing_field");
      continue;
    }
    const std::string_view key = kv->first;
    // Labels may repeat with different keys; everything else at most once.
    if (!seen.insert(std::string(key)).second) {
      fail(column, key, "given twice; expected each key at most once", "", "duplicate");
      continue;
    }
    if (std::optional<ItemError> e = ApplyItem(key, kv->second, r, false))
      fail(column, key, e->message, e->path, e->code);
  }
  if (errors.empty()) {
    // The rules between items, as the request schema states them (in the short form's words for
    // the count).
    for (const ErrorDetail& d : ValidateRequestFields(r)) {
      std::string what = d.message;
      if (d.code == "conflicting_fields" && (d.path == "gpus" || d.path == "nodes"))
        what = "both nodes and gpus; expected exactly one";
      if (d.code == "missing_field" && d.path == "nodes")
        what = "neither nodes nor gpus; expected nodes=N or gpus=N";
      errors.push_back(std::string(label) + " " + Quoted(text) + ": " + what);
      details.push_back({d.path, d.code, what});
    }
  }
  if (!errors.empty()) {
    Status st(StatusCode::kInvalidArgument, std::move(errors));
    for (ErrorDetail& d : details) st.AddDetail(std::move(d));
    return st;
  }
  return r;
}

}  // namespace topoplace
