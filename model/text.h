// Text that came from outside (a file, a flag, an HTTP request) made safe to show again.
//
// Every message that quotes input (a key, a value, a path) passes it through one of these, so a
// terminal, a log line or a JSON error body never receives broken UTF-8, control characters (a
// name holding "\e[2J" or a newline) or bidirectional overrides that reorder what a person reads.
// Cuts happen on character boundaries. Thread safety: stateless functions.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace topoplace {

// Length of the valid UTF-8 sequence starting at s[i] (1 for ASCII), or 0 where the bytes there
// are not one (overlong forms, surrogates and code points past U+10FFFF are not valid).
size_t Utf8SequenceLength(std::string_view s, size_t i);
// Whether the whole of `s` is valid UTF-8.
bool IsValidUtf8(std::string_view s);

// `s` with quotes and backslashes escaped and every control character (C0, DEL, C1), bidi
// control and broken byte written as an escape (\n, \t, \x1b, \u202e), cut after `max_chars`
// characters with "..." appended. The result is valid, printable UTF-8.
std::string PrintableText(std::string_view s, size_t max_chars = std::string_view::npos);
// `s` safe to print on a terminal: control characters (newlines included), bidi controls and
// broken bytes escaped as PrintableText escapes them, everything else (quotes and backslashes
// too) as it is. For names and messages in human text output.
std::string TerminalText(std::string_view s);
// PrintableText in double quotes, cut after 80 characters: "name".
std::string QuotedText(std::string_view s, size_t max_chars = 80);
// Levenshtein distance (insertions, deletions, substitutions of bytes), for "did you mean" hints.
size_t EditDistance(std::string_view a, std::string_view b);
// `s` cut to at most `max_bytes` bytes without splitting a UTF-8 sequence.
std::string_view CutOnCharacter(std::string_view s, size_t max_bytes);

}  // namespace topoplace
