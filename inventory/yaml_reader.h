// Strict, position-aware reading of yaml-cpp nodes, private to inventory/.
//
// The scenario codec reads every value through these helpers so that each problem becomes one
// message of the shape `FILE:LINE:COLUMN: KEY.PATH: what is wrong; expected WHAT`, collected in a
// Diagnostics and reported together, in file order. The readers never throw and never descend into
// structure they were not asked for, so hostile input (cyclic aliases, deep nesting) costs nothing.
//
// Input files are read through ReadBoundedFile, which stops at a byte limit however long the file
// (a pipe, /dev/zero) and reports a file past it as bad input naming the file and the limit, and
// CheckYamlText, which rejects bytes that are not UTF-8 (with their position) and counts YAML nodes
// with the event parser before a document tree is built, so a file within the byte limit cannot
// still build gigabytes of nodes.
//
// Thread safety: a Diagnostics belongs to one load; the free functions are stateless.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "model/status.h"

namespace topoplace::yaml_reader {

// Largest scenario, request or trace file read: well above any real inventory written by hand
// (100,000 explicit nodes take some 15 MiB; `generate:` entries take a few lines).
inline constexpr size_t kMaxInputFileBytes = size_t{64} << 20;
// Most YAML nodes (scalars, maps, lists) one document may hold: a parsed node costs a few hundred
// bytes, so this keeps a parse near 1 GB; 100,000 explicit nodes take some 2,000,000 values.
inline constexpr size_t kMaxYamlNodes = size_t{4} << 20;

// 1-based line and column, as editors show them (yaml-cpp marks are 0-based).
struct SourcePos {
  int line = 1;
  int column = 1;
};
SourcePos PosOf(const YAML::Node& node);

// Most error messages one Diagnostics keeps; past it, errors are only counted. Far more than a
// person reads (the CLI prints 100), few enough that a file of millions of bad entries costs
// little memory.
inline constexpr size_t kMaxKeptErrors = 1000;

// Collects the errors of one source; Sorted() returns them in file order. At most `max_kept`
// messages are kept, the first by position; the rest are counted, so size() stays the total.
class Diagnostics {
 public:
  explicit Diagnostics(std::string source, size_t max_kept = kMaxKeptErrors)
      : source_(std::move(source)), max_kept_(max_kept) {}

  // `code` is the stable kind of error (ErrorDetail::code); when empty it is read off `what`.
  // `detail_path` is the ErrorDetail's path when it differs from where the message points (a
  // missing field is reported at its map).
  void Error(SourcePos at, std::string_view path, std::string_view what, std::string_view expected,
             std::string_view code = {}, std::string_view detail_path = {});
  // A message without the "KEY.PATH: ...; expected" shape (YAML syntax errors).
  void Raw(SourcePos at, std::string_view text);

  bool empty() const { return size() == 0; }
  // Every error reported, kept or only counted.
  size_t size() const { return entries_.size() + dropped_; }
  const std::string& source() const { return source_; }
  // size() messages: the kept ones ordered by position (errors at the same position in the order
  // they were found in), then one short placeholder per error only counted, so that a printer
  // that shows the first few and counts the rest (the CLI's "... and N more errors") counts right.
  std::vector<std::string> Sorted() const;
  // The kept errors as ErrorDetails {key path, code, "what; expected ..."}, in the same order.
  std::vector<ErrorDetail> SortedDetails() const;

 private:
  struct Entry {
    SourcePos pos;
    std::string text;
    ErrorDetail detail;
    uint64_t seq = 0;  // order found in
  };
  // Whether an error at `at` is kept: there is room, or it comes before the last kept one (which
  // is then dropped). Counts the error otherwise, and the caller builds no message.
  bool Keeps(SourcePos at);
  void Add(Entry entry);

  std::string source_;
  size_t max_kept_;
  std::vector<Entry> entries_;  // a max-heap by (position, seq) once full
  size_t dropped_ = 0;
  uint64_t next_seq_ = 0;
};

// "inventory.nodes" + "rack" -> "inventory.nodes.rack"; an empty base gives the key alone.
std::string JoinPath(std::string_view base, std::string_view key);
// "inventory.nodes" + 3 -> "inventory.nodes[3]".
std::string IndexPath(std::string_view base, size_t index);

// Text safe to show in a message: quotes and backslashes escaped, control characters and broken
// UTF-8 as \xNN, cut after `max_chars` characters.
std::string Printable(std::string_view s, size_t max_chars = std::string_view::npos);
// How a node reads to a person in "got ..." phrases: a map, a list, no value, "text".
std::string Describe(const YAML::Node& node);
// Whether a scalar was written as a string ("8", '8', !!str 8) rather than a plain number.
bool IsQuotedScalar(const YAML::Node& node);
// "a, b or c" style lists for "expected one of ..." phrases.
std::string JoinNames(std::span<const std::string_view> names);
std::string JoinNames(const std::vector<std::string>& names);
// The closest candidate within a small edit distance (case differences are cheap), or empty.
std::string ClosestName(std::string_view name, std::span<const std::string_view> candidates);
std::string ClosestName(std::string_view name, const std::vector<std::string>& candidates);

// Integral values as integers, others in the shortest form that reads back to the same double.
std::string FormatNumber(double v);

// Inclusive/exclusive bounds of a number, with the phrase that describes them.
struct NumberRange {
  double min = 0;
  double max = 0;
  bool min_exclusive = false;
  std::string Describe(bool integer) const;
  bool Contains(double v) const { return (min_exclusive ? v > min : v >= min) && v <= max; }
};

// The value side of one map: a missing key is absent(), an explicit `key:` or `key: ~` is null.
struct Field {
  YAML::Node value;
  SourcePos key_pos;  // where the key was written; nulls have no useful position of their own
  std::string path;
  // Position to report a problem with the value at: the value itself, or its key when null.
  SourcePos pos() const;
};

// Reads one YAML map against a fixed set of allowed keys (an empty set allows every key, for open
// maps like labels). Construction reports a value that is not a map, every unknown key (with a "did
// you mean" when one is close), repeated keys and keys that are not strings. Absent keys give
// nullptr.
class MapFields {
 public:
  MapFields(Diagnostics& diag, const Field& field, std::span<const std::string_view> allowed,
            std::string_view expected_what);

  bool is_map() const { return is_map_; }
  const std::string& path() const { return path_; }
  SourcePos pos() const { return PosOf(node_); }
  const Field* Get(std::string_view key) const;
  // Like Get, but reports `KEY.PATH.key: missing; expected ...` at the map when the key is absent.
  const Field* Require(std::string_view key, std::string_view expected) const;
  // Each accepted key in file order.
  const std::vector<std::pair<std::string, Field>>& entries() const { return entries_; }

 private:
  Diagnostics& diag_;
  YAML::Node node_;
  std::string path_;
  bool is_map_ = false;
  std::vector<std::pair<std::string, Field>> entries_;
};

// Scalar readers: report and return nullopt on a wrong type or an out-of-range value.
std::optional<std::string> ReadString(Diagnostics& diag, const Field& f, std::string_view expected);
std::optional<int64_t> ReadInt(Diagnostics& diag, const Field& f, const NumberRange& range);
std::optional<double> ReadNumber(Diagnostics& diag, const Field& f, const NumberRange& range);
std::optional<bool> ReadBool(Diagnostics& diag, const Field& f);
// A list of strings; with `allow_single`, a lone scalar counts as a list of one.
std::optional<std::vector<std::string>> ReadStringList(Diagnostics& diag, const Field& f,
                                                       std::string_view expected_item,
                                                       bool allow_single);

// The items of a list as Fields named `path[i]`; reports (and returns nullopt for) a non-list.
std::optional<std::vector<Field>> ListItems(Diagnostics& diag, const Field& f,
                                            std::string_view expected);

// Parses a plain decimal integer or number the way the readers do (no quotes, no hex, finite).
std::optional<int64_t> ParseInteger(std::string_view text);
std::optional<double> ParseDouble(std::string_view text);

// "64 MiB" style text for a byte count.
std::string ByteSizeText(size_t bytes);

// The contents of `path`, read in blocks and never more than `max_bytes` + 1 of them. Errors:
// NotFound (no such file, cannot open), InvalidArgument (a directory; larger than `max_bytes`,
// reason "input_too_large"; a read error). `what` names the kind of file in messages ("scenario").
Result<std::string> ReadBoundedFile(const std::string& path, std::string_view what,
                                    size_t max_bytes = kMaxInputFileBytes);

// Where the first byte that is not valid UTF-8 is in `text` (1-based line, column in characters),
// and the byte; nullopt when all of it is valid.
struct BadByte {
  SourcePos pos;
  unsigned char byte = 0;
};
std::optional<BadByte> FirstInvalidUtf8(std::string_view text);

// Where a second YAML document in `text` begins (its first node), or nullopt when there is one
// document: a file holds one scenario or one settings document, and a parser would silently read
// only the first. Counted with the event parser, which never hangs on input that makes the
// document loader loop.
std::optional<SourcePos> SecondDocumentStart(const std::string& text);

// Whether `text` is UTF-8 (or starts with a UTF-16/32 byte order mark, which the parser decodes)
// and holds at most `max_nodes` YAML nodes; otherwise reports where and returns false. Syntax
// errors are left to the real parse (returns true).
bool CheckYamlText(Diagnostics& diag, const std::string& text, size_t max_nodes = kMaxYamlNodes);

}  // namespace topoplace::yaml_reader
