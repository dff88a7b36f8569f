// Small helpers for the one-line text forms of the inventory module: the short request form
// (short_request.h), what-if change specs (changes.h) and CSV traces (trace_codec.h). Internal to
// inventory/. Thread safety: stateless.
#pragma once

#include <charconv>
#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "inventory/yaml_reader.h"

namespace topoplace::text_fields {

// Without leading and trailing blanks (spaces, tabs, a carriage return).
inline std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

// Double-quoted for a message, control bytes and broken UTF-8 escaped, cut after 80 characters.
inline std::string Quoted(std::string_view s) {
  std::string q = "\"";
  q += yaml_reader::Printable(s, 80);
  q += '"';
  return q;
}

// Every field between separators, empty ones included ("a,,b" -> "a", "", "b").
inline std::vector<std::string_view> Split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (size_t i = 0; i <= s.size(); ++i) {
    if (i == s.size() || s[i] == sep) {
      out.push_back(s.substr(start, i - start));
      start = i + 1;
    }
  }
  return out;
}

// The whole (trimmed) field as an integer, or nullopt.
inline std::optional<int64_t> ParseInt(std::string_view s) {
  s = Trim(s);
  int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

// The whole (trimmed) field as a finite number, or nullopt.
inline std::optional<double> ParseNumber(std::string_view s) {
  s = Trim(s);
  double v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || s.empty() || !std::isfinite(v))
    return std::nullopt;
  return v;
}

}  // namespace topoplace::text_fields
