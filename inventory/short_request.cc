#include "inventory/short_request.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <set>
#include <string>
#include <vector>

#include "inventory/text_fields.h"

namespace topoplace {

namespace {

using text_fields::ParseInt;
using text_fields::ParseNumber;
using text_fields::Quoted;
using text_fields::Split;
using text_fields::Trim;

constexpr std::string_view kSelectKeys[] = {"class",     "gpuModel", "gpuCount",
                                            "memoryGiB", "cpuCores", "storageGiB"};
constexpr std::string_view kAllKeys[] = {
    "nodes",    "gpus",           "class",    "gpuModel", "gpuCount",   "memoryGiB",
    "cpuCores", "storageGiB",     "locality", "spread",   "compliance", "exclusive",
    "roce",     "maxCostPerHour", "purpose",  "priority", "name",       "tenant"};

std::string KeyList(bool select_only) {
  std::string out;
  auto add = [&](std::string_view k) { out += (out.empty() ? "" : ", ") + std::string(k); };
  if (select_only) {
    for (auto k : kSelectKeys) add(k);
  } else {
    for (auto k : kAllKeys) add(k);
  }
  add("label.KEY");
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
  auto add = [&](const std::string& key, const std::string& value) {
    out += (out.empty() ? "" : ",") + key + "=" + value;
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
  if (r.nodes) add("nodes", std::to_string(*r.nodes));
  if (r.gpus) add("gpus", std::to_string(*r.gpus));
  const NodeSelector& s = r.select;
  if (!s.classes.empty()) add("class", join(s.classes));
  if (!s.gpu_models.empty()) add("gpuModel", join(s.gpu_models));
  if (s.gpu_count) add("gpuCount", s.gpu_count->ToString());
  if (s.memory_gib) add("memoryGiB", s.memory_gib->ToString());
  if (s.cpu_cores) add("cpuCores", s.cpu_cores->ToString());
  if (s.storage_gib) add("storageGiB", s.storage_gib->ToString());
  for (const LabelPredicate& l : s.labels) {
    if (l.op == LabelPredicate::Op::kIn) add("label." + l.key, join(l.values));
  }
  if (r.locality) {
    std::string v = std::string(LevelName(r.locality->level)) + ":" +
                    (r.locality->mode == LocalityMode::kRequired ? "required" : "preferred");
    if (r.locality->max_domains != 1) v += ":" + std::to_string(r.locality->max_domains);
    add("locality", v);
  }
  if (r.spread) {
    std::string v(LevelName(r.spread->level));
    if (r.spread->max_fraction) v += ":" + num(*r.spread->max_fraction);
    if (r.spread->max_per_domain) v += ":max=" + std::to_string(*r.spread->max_per_domain);
    if (r.spread->min_domains) v += ":min=" + std::to_string(*r.spread->min_domains);
    add("spread", v);
  }
  if (!r.compliance.empty()) add("compliance", join(r.compliance));
  if (r.exclusive) add("exclusive", std::string(LevelName(*r.exclusive)));
  if (r.roce) add("roce", "true");
  if (r.max_cost_per_hour) add("maxCostPerHour", num(*r.max_cost_per_hour));
  return out;
}

std::string LevelNamesList() { return "nvlink, leaf, rack, pod, spine, site, powerDomain"; }

std::string ApplyShortRequestItem(std::string_view key, std::string_view value, Request& r,
                                  bool select_only) {
  key = Trim(key);
  value = Trim(value);
  const bool is_label = key.substr(0, 6) == "label.";
  const bool known_select =
      std::find(std::begin(kSelectKeys), std::end(kSelectKeys), key) != std::end(kSelectKeys) ||
      is_label;
  const bool known = known_select ||
                     std::find(std::begin(kAllKeys), std::end(kAllKeys), key) != std::end(kAllKeys);
  if (!known || (select_only && !known_select)) {
    return "unknown key " + Quoted(key) + "; expected one of " + KeyList(select_only);
  }
  if (value.empty()) return "no value; expected " + std::string(key) + "=VALUE";
  auto positive = [&](std::optional<int>& out, int64_t max) -> std::string {
    std::optional<int64_t> v = ParseInt(value);
    if (!v || *v < 1 || *v > max)
      return Quoted(value) + " is not a whole number from 1 to " + std::to_string(max);
    out = static_cast<int>(*v);
    return {};
  };
  auto predicate = [&](std::optional<NumericPredicate>& out) -> std::string {
    std::optional<NumericPredicate> p = ParseNumericPredicate(value);
    if (!p) return Quoted(value) + " is not a number or comparison; expected e.g. 8 or >=1024";
    out = *p;
    return {};
  };
  if (key == "nodes") return positive(r.nodes, 1'000'000);
  if (key == "gpus") return positive(r.gpus, 64'000'000);
  if (key == "class" || key == "gpuModel" || key == "compliance") {
    std::optional<std::vector<std::string>> items = Alternatives(value);
    if (!items) return "an empty item in " + Quoted(value) + "; expected names separated by |";
    if (key == "class") r.select.classes = *items;
    if (key == "gpuModel") r.select.gpu_models = *items;
    if (key == "compliance") r.compliance = *items;
    return {};
  }
  if (key == "gpuCount") return predicate(r.select.gpu_count);
  if (key == "memoryGiB") return predicate(r.select.memory_gib);
  if (key == "cpuCores") return predicate(r.select.cpu_cores);
  if (key == "storageGiB") return predicate(r.select.storage_gib);
  if (is_label) {
    const std::string_view label = key.substr(6);
    if (label.empty()) return "a label needs a key; expected label.KEY=VALUE";
    std::optional<std::vector<std::string>> items = Alternatives(value);
    if (!items) return "an empty item in " + Quoted(value) + "; expected values separated by |";
    r.select.labels.push_back({std::string(label), LabelPredicate::Op::kIn, *items});
    return {};
  }
  if (key == "locality") {
    const std::vector<std::string_view> parts = Split(value, ':');
    if (parts.size() > 3) return Quoted(value) + " has too many parts; expected LEVEL[:MODE[:N]]";
    Locality l;
    std::optional<Level> level = ParseLevel(Trim(parts[0]));
    if (!level) return LevelError(Trim(parts[0]));
    l.level = *level;
    if (parts.size() >= 2) {
      const std::string_view mode = Trim(parts[1]);
      if (mode == "required") {
        l.mode = LocalityMode::kRequired;
      } else if (mode == "preferred") {
        l.mode = LocalityMode::kPreferred;
      } else {
        return "unknown mode " + Quoted(mode) + "; expected required or preferred";
      }
    }
    if (parts.size() == 3) {
      std::optional<int64_t> n = ParseInt(parts[2]);
      if (!n || *n < 1 || *n > 1'000'000)
        return "maxDomains " + Quoted(Trim(parts[2])) + " is not a whole number from 1";
      l.max_domains = static_cast<int>(*n);
    }
    r.locality = l;
    return {};
  }
  if (key == "spread") {
    const std::vector<std::string_view> parts = Split(value, ':');
    std::optional<Level> level = ParseLevel(Trim(parts[0]));
    if (!level) return LevelError(Trim(parts[0]));
    Spread s;
    s.level = *level;
    if (parts.size() < 2) return "no limit; expected LEVEL:FRACTION, LEVEL:max=N or LEVEL:min=N";
    for (size_t i = 1; i < parts.size(); ++i) {
      const std::string_view part = Trim(parts[i]);
      if (part.substr(0, 4) == "max=" || part.substr(0, 4) == "min=") {
        std::optional<int64_t> n = ParseInt(part.substr(4));
        if (!n || *n < 1 || *n > 1'000'000)
          return Quoted(part) + ": not a whole number from 1; expected max=N or min=N";
        (part[1] == 'a' ? s.max_per_domain : s.min_domains) = static_cast<int>(*n);
      } else if (std::optional<double> f = ParseNumber(part)) {
        if (!(*f > 0 && *f <= 1)) return "fraction " + Quoted(part) + " is not in (0, 1]";
        s.max_fraction = *f;
      } else {
        return Quoted(part) + " is not a limit; expected a fraction in (0, 1], max=N or min=N";
      }
    }
    r.spread = s;
    return {};
  }
  if (key == "exclusive") {
    if (value == "rack") {
      r.exclusive = Level::kRack;
    } else if (value == "leaf") {
      r.exclusive = Level::kLeaf;
    } else {
      return "unknown exclusive level " + Quoted(value) + "; expected rack or leaf";
    }
    return {};
  }
  if (key == "roce") {
    if (value == "true") {
      r.roce = true;
    } else if (value == "false") {
      r.roce = false;
    } else {
      return Quoted(value) + " is not a boolean; expected true or false";
    }
    return {};
  }
  if (key == "maxCostPerHour") {
    std::optional<double> v = ParseNumber(value);
    if (!v || *v <= 0 || *v > 1e9) return Quoted(value) + " is not a positive amount per hour";
    r.max_cost_per_hour = *v;
    return {};
  }
  if (key == "purpose") {
    std::optional<Purpose> p = ParsePurpose(value);
    if (!p) return "unknown purpose " + Quoted(value) + "; expected openshift, slurm or baremetal";
    r.purpose = *p;
    return {};
  }
  if (key == "priority") {
    std::optional<int64_t> v = ParseInt(value);
    if (!v || *v < -1'000'000 || *v > 1'000'000)
      return Quoted(value) + " is not a whole number from -1000000 to 1000000";
    r.priority = static_cast<int>(*v);
    return {};
  }
  if (key == "name") {
    r.name = std::string(value);
    return {};
  }
  if (key == "tenant") {
    r.tenant = std::string(value);
    return {};
  }
  return "unknown key " + Quoted(key);
}

Result<Request> ParseShortRequest(std::string_view text, std::string_view label) {
  Request r;
  std::vector<std::string> errors;
  std::set<std::string, std::less<>> seen;
  auto fail = [&](size_t column, std::string_view key, const std::string& what) {
    errors.push_back(std::string(label) + " " + Quoted(text) + ": column " +
                     std::to_string(column) + (key.empty() ? "" : ": " + std::string(key)) + ": " +
                     what);
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
      fail(column, "", "an empty item; expected KEY=VALUE");
      continue;
    }
    const std::optional<std::pair<std::string, std::string>> kv = SplitShortItem(item);
    if (!kv) {
      fail(column, Trim(item), "no value; expected KEY=VALUE");
      continue;
    }
    const std::string_view key = kv->first;
    // Labels may repeat with different keys; everything else at most once.
    if (!seen.insert(std::string(key)).second) {
      fail(column, key, "given twice; expected each key at most once");
      continue;
    }
    const std::string why = ApplyShortRequestItem(key, kv->second, r);
    if (!why.empty()) fail(column, key, why);
  }
  if (errors.empty()) {
    if (r.nodes && r.gpus) {
      errors.push_back(std::string(label) + " " + Quoted(text) +
                       ": both nodes and gpus; expected exactly one");
    } else if (!r.nodes && !r.gpus) {
      errors.push_back(std::string(label) + " " + Quoted(text) +
                       ": neither nodes nor gpus; expected nodes=N or gpus=N");
    }
  }
  if (!errors.empty()) return Status(StatusCode::kInvalidArgument, std::move(errors));
  return r;
}

}  // namespace topoplace
