#include "model/text.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <vector>

namespace topoplace {
namespace {

uint32_t DecodeAt(std::string_view s, size_t i, size_t len) {
  const auto b = [&](size_t k) { return static_cast<uint32_t>(static_cast<unsigned char>(s[k])); };
  if (len == 1) return b(i);
  if (len == 2) return ((b(i) & 0x1f) << 6) | (b(i + 1) & 0x3f);
  if (len == 3) return ((b(i) & 0x0f) << 12) | ((b(i + 1) & 0x3f) << 6) | (b(i + 2) & 0x3f);
  return ((b(i) & 0x07) << 18) | ((b(i + 1) & 0x3f) << 12) | ((b(i + 2) & 0x3f) << 6) |
         (b(i + 3) & 0x3f);
}

// Code points that reorder or hide text on a terminal: C1 controls, bidi embeddings, overrides
// and isolates, marks, and the line/paragraph separators.
bool IsInvisibleControl(uint32_t cp) {
  return (cp >= 0x80 && cp <= 0x9f) || (cp >= 0x202a && cp <= 0x202e) ||
         (cp >= 0x2066 && cp <= 0x2069) || cp == 0x200e || cp == 0x200f || cp == 0x061c ||
         cp == 0x2028 || cp == 0x2029 || cp == 0xfeff;
}

}  // namespace

size_t Utf8SequenceLength(std::string_view s, size_t i) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = byte(i);
  if (c < 0x80) return 1;
  size_t len = 0;
  if (c >= 0xc2 && c <= 0xdf)
    len = 2;
  else if (c >= 0xe0 && c <= 0xef)
    len = 3;
  else if (c >= 0xf0 && c <= 0xf4)
    len = 4;
  if (len == 0 || i + len > s.size()) return 0;
  for (size_t k = 1; k < len; ++k) {
    if ((byte(i + k) & 0xc0) != 0x80) return 0;
  }
  const uint32_t cp = DecodeAt(s, i, len);
  if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff))) return 0;
  if (cp >= 0xd800 && cp <= 0xdfff) return 0;
  return len;
}

bool IsValidUtf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    const size_t len = Utf8SequenceLength(s, i);
    if (len == 0) return false;
    i += len;
  }
  return true;
}

std::string PrintableText(std::string_view s, size_t max_chars) {
  std::string out;
  size_t shown = 0;
  for (size_t i = 0; i < s.size(); ++shown) {
    if (shown == max_chars) {
      out += "...";
      break;
    }
    const unsigned char c = static_cast<unsigned char>(s[i]);
    const size_t len = Utf8SequenceLength(s, i);
    char buf[16];
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '\r') {
      out += "\\r";
    } else if (len == 1 && c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else if (len == 0 || len == 1) {
      std::snprintf(buf, sizeof buf, "\\x%02x", c);  // control byte or broken UTF-8
      out += buf;
    } else if (const uint32_t cp = DecodeAt(s, i, len); IsInvisibleControl(cp)) {
      std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(cp));
      out += buf;
    } else {
      out.append(s.substr(i, len));
    }
    i += len == 0 ? 1 : len;
  }
  return out;
}

std::string TerminalText(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    const size_t len = Utf8SequenceLength(s, i);
    const size_t take = len == 0 ? 1 : len;
    const std::string_view seq = s.substr(i, take);
    const unsigned char c = static_cast<unsigned char>(seq.front());
    if (take == 1 && c >= 0x20 && c < 0x7f) {
      out += seq;  // printable ASCII, quotes and backslashes included
    } else {
      out += PrintableText(seq);  // escapes what must be; visible characters come back as is
    }
    i += take;
  }
  return out;
}

std::string QuotedText(std::string_view s, size_t max_chars) {
  std::string q = "\"";
  q += PrintableText(s, max_chars);
  q += '"';
  return q;
}

size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

std::string_view CutOnCharacter(std::string_view s, size_t max_bytes) {
  if (s.size() <= max_bytes) return s;
  size_t end = max_bytes;
  // Step back over continuation bytes to the start of the sequence that would be split.
  while (end > 0 && (static_cast<unsigned char>(s[end]) & 0xc0) == 0x80) --end;
  return s.substr(0, end);
}

}  // namespace topoplace
