#include "model/request.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdio>

namespace topoplace {

namespace {
constexpr std::array<std::pair<Level, std::string_view>, kLevelCount> kLevelNames = {{
    {Level::kNvlink, "nvlink"},
    {Level::kLeaf, "leaf"},
    {Level::kRack, "rack"},
    {Level::kRow, "row"},
    {Level::kPod, "pod"},
    {Level::kSpine, "spine"},
    {Level::kSite, "site"},
    {Level::kPowerDomain, "powerDomain"},
}};

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}
}  // namespace

std::string_view LevelName(Level level) {
  for (const auto& [l, name] : kLevelNames) {
    if (l == level) return name;
  }
  return "unknown";
}

std::optional<Level> ParseLevel(std::string_view s) {
  for (const auto& [l, name] : kLevelNames) {
    if (name == s) return l;
  }
  return std::nullopt;
}

bool NumericPredicate::Matches(double x) const {
  switch (op) {
    case Op::kEq: return x == value;
    case Op::kNe: return x != value;
    case Op::kLt: return x < value;
    case Op::kLe: return x <= value;
    case Op::kGt: return x > value;
    case Op::kGe: return x >= value;
  }
  return false;
}

std::string NumericPredicate::ToString() const {
  static constexpr std::array<std::string_view, 6> kOps = {"==", "!=", "<", "<=", ">", ">="};
  char buf[64];
  std::snprintf(buf, sizeof buf, "%g", value);
  return std::string(kOps[static_cast<int>(op)]) + buf;
}

std::optional<NumericPredicate> ParseNumericPredicate(std::string_view s) {
  s = Trim(s);
  NumericPredicate p;
  static constexpr std::array<std::pair<std::string_view, NumericPredicate::Op>, 6> kPrefixes = {{
      {">=", NumericPredicate::Op::kGe},
      {"<=", NumericPredicate::Op::kLe},
      {"==", NumericPredicate::Op::kEq},
      {"!=", NumericPredicate::Op::kNe},
      {">", NumericPredicate::Op::kGt},
      {"<", NumericPredicate::Op::kLt},
  }};
  for (const auto& [prefix, op] : kPrefixes) {
    if (s.substr(0, prefix.size()) == prefix) {
      p.op = op;
      s = Trim(s.substr(prefix.size()));
      break;
    }
  }
  if (s.empty()) return std::nullopt;
  const char* end = s.data() + s.size();
  auto [ptr, ec] = std::from_chars(s.data(), end, p.value);
  if (ec != std::errc() || ptr != end || !std::isfinite(p.value)) return std::nullopt;
  return p;
}

bool LabelPredicate::Matches(const std::map<std::string, std::string>& labels) const {
  auto it = labels.find(key);
  switch (op) {
    case Op::kExists: return it != labels.end();
    case Op::kDoesNotExist: return it == labels.end();
    case Op::kIn:
      return it != labels.end() && std::find(values.begin(), values.end(), it->second) != values.end();
    case Op::kNotIn:
      return it == labels.end() || std::find(values.begin(), values.end(), it->second) == values.end();
  }
  return false;
}

bool WildcardMatch(std::string_view pattern, std::string_view text) {
  // Iterative glob with single-star backtracking: linear in practice, no recursion.
  size_t p = 0, t = 0, star = std::string_view::npos, mark = 0;
  while (t < text.size()) {
    if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == text[t])) {
      ++p;
      ++t;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      mark = t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

std::optional<int> Spread::CapFor(int count) const {
  std::optional<int> cap = max_per_domain;
  if (max_fraction) {
    // A tiny epsilon keeps 0.5 * 16 = 8 from becoming 9 through rounding noise.
    int by_fraction = static_cast<int>(std::ceil(*max_fraction * count - 1e-9));
    by_fraction = std::max(by_fraction, 1);
    cap = cap ? std::min(*cap, by_fraction) : by_fraction;
  }
  return cap;
}

std::string_view PurposeName(Purpose p) {
  switch (p) {
    case Purpose::kBaremetal: return "baremetal";
    case Purpose::kSlurm: return "slurm";
    case Purpose::kOpenshift: return "openshift";
  }
  return "baremetal";
}

std::optional<Purpose> ParsePurpose(std::string_view s) {
  if (s == "baremetal") return Purpose::kBaremetal;
  if (s == "slurm") return Purpose::kSlurm;
  if (s == "openshift") return Purpose::kOpenshift;
  return std::nullopt;
}

std::string_view PreemptionScopeName(PreemptionScope s) {
  return s == PreemptionScope::kAll ? "all" : "tenant";
}

std::optional<PreemptionScope> ParsePreemptionScope(std::string_view s) {
  if (s == "tenant") return PreemptionScope::kTenant;
  if (s == "all") return PreemptionScope::kAll;
  return std::nullopt;
}

bool IsGdprJurisdiction(std::string_view j) {
  // EU member states, the EEA members outside the EU, and "EU" itself.
  static constexpr std::array<std::string_view, 32> kEea = {
      "EU", "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE", "IT",
      "LV", "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE", "IS", "LI", "NO", "EEA"};
  return std::find(kEea.begin(), kEea.end(), j) != kEea.end();
}

}  // namespace topoplace
