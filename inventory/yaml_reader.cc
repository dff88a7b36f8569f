#include "inventory/yaml_reader.h"

#include <yaml-cpp/eventhandler.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "model/text.h"

namespace topoplace::yaml_reader {

namespace {

constexpr size_t kMaxShownScalar = 40;

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string ShowScalar(std::string_view s) {
  std::string out =
      "\"";  // built by appending: GCC 12 warns falsely on "x" + std::string (-Wrestrict)
  out += Printable(s, kMaxShownScalar);
  out += '"';
  return out;
}

}  // namespace

std::string Printable(std::string_view s, size_t max_chars) { return PrintableText(s, max_chars); }

namespace {

std::string PosText(SourcePos p) { return std::to_string(p.line) + ":" + std::to_string(p.column); }

template <typename Names>
std::string ClosestImpl(std::string_view name, const Names& candidates) {
  const std::string lowered = Lower(name);
  std::string best;
  size_t best_distance = 3;  // more than two edits is a different word, not a typo
  for (const auto& candidate : candidates) {
    const size_t d = EditDistance(lowered, Lower(candidate));
    if (d < best_distance && d * 2 <= std::max<size_t>(candidate.size(), 2)) {
      best_distance = d;
      best = std::string(candidate);
    }
  }
  return best;
}

enum class ParsedNumber { kOk, kInvalid, kOverflow };

ParsedNumber ParseDoubleDetail(std::string_view text, double& value) {
  if (!text.empty() && text.front() == '+') text.remove_prefix(1);
  if (text.empty()) return ParsedNumber::kInvalid;
  // from_chars accepts "inf" and "nan", which are not numbers a person means here.
  const char first = text.front() == '-' && text.size() > 1 ? text[1] : text.front();
  if (!std::isdigit(static_cast<unsigned char>(first)) && first != '.')
    return ParsedNumber::kInvalid;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec == std::errc::result_out_of_range && ptr == end) return ParsedNumber::kOverflow;
  if (ec != std::errc() || ptr != end) return ParsedNumber::kInvalid;
  if (!std::isfinite(value)) return ParsedNumber::kOverflow;
  return ParsedNumber::kOk;
}

}  // namespace

SourcePos PosOf(const YAML::Node& node) {
  const YAML::Mark mark = node.Mark();
  if (mark.is_null() || mark.line < 0 || mark.column < 0) return {1, 1};
  return {mark.line + 1, mark.column + 1};
}

namespace {

bool EntryBefore(SourcePos a, uint64_t a_seq, SourcePos b, uint64_t b_seq) {
  if (a.line != b.line) return a.line < b.line;
  if (a.column != b.column) return a.column < b.column;
  return a_seq < b_seq;
}

}  // namespace

bool Diagnostics::Keeps(SourcePos at) {
  if (entries_.size() < max_kept_) return true;
  // Full: entries_ is a heap whose front is the last kept error; a new error comes after every
  // error found before it at its position.
  if (max_kept_ == 0 || !EntryBefore(at, next_seq_, entries_.front().pos, entries_.front().seq)) {
    ++dropped_;
    ++next_seq_;
    return false;
  }
  return true;
}

void Diagnostics::Add(Entry entry) {
  auto before = [](const Entry& a, const Entry& b) {
    return EntryBefore(a.pos, a.seq, b.pos, b.seq);
  };
  entry.seq = next_seq_++;
  if (entries_.size() < max_kept_) {
    entries_.push_back(std::move(entry));
    if (entries_.size() == max_kept_) std::make_heap(entries_.begin(), entries_.end(), before);
    return;
  }
  // Keeps() let it in: it comes before the last kept error, which makes room.
  std::pop_heap(entries_.begin(), entries_.end(), before);
  entries_.back() = std::move(entry);
  std::push_heap(entries_.begin(), entries_.end(), before);
  ++dropped_;
}

void Diagnostics::Error(SourcePos at, std::string_view path, std::string_view what,
                        std::string_view expected, std::string_view code,
                        std::string_view detail_path) {
  if (!Keeps(at)) return;
  std::string message(what);
  if (!expected.empty()) message += "; expected " + std::string(expected);
  std::string text = source_ + ":" + PosText(at) + ": ";
  if (!path.empty()) text += std::string(path) + ": ";
  text += message;
  if (code.empty()) {
    code = what.starts_with("unknown key")                                 ? "unknown_field"
           : what.starts_with("got ")                                      ? "wrong_type"
           : what.starts_with("missing")                                   ? "missing_field"
           : what.find("is out of range") != std::string_view::npos        ? "out_of_range"
           : what.starts_with("unknown ") || what.starts_with("bad ")      ? "bad_value"
           : what.starts_with("duplicate") || what.starts_with("repeated") ? "duplicate"
           : what.find("does not exist") != std::string_view::npos         ? "unknown_reference"
           : what.find("may not ask for") != std::string_view::npos ? "compliance_not_allowed"
                                                                    : "invalid";
  }
  Add({at,
       std::move(text),
       {std::string(detail_path.empty() ? path : detail_path), std::string(code), message}});
}

std::vector<ErrorDetail> Diagnostics::SortedDetails() const {
  std::vector<const Entry*> order;
  order.reserve(entries_.size());
  for (const Entry& e : entries_) order.push_back(&e);
  std::sort(order.begin(), order.end(), [](const Entry* a, const Entry* b) {
    return EntryBefore(a->pos, a->seq, b->pos, b->seq);
  });
  std::vector<ErrorDetail> out;
  for (const Entry* e : order) out.push_back(e->detail);
  return out;
}

void Diagnostics::Raw(SourcePos at, std::string_view text) {
  if (!Keeps(at)) return;
  Add({at,
       source_ + ":" + PosText(at) + ": " + std::string(text),
       {"", "syntax", std::string(text)}});
}

std::vector<std::string> Diagnostics::Sorted() const {
  std::vector<const Entry*> order;
  order.reserve(entries_.size());
  for (const Entry& e : entries_) order.push_back(&e);
  std::sort(order.begin(), order.end(), [](const Entry* a, const Entry* b) {
    return EntryBefore(a->pos, a->seq, b->pos, b->seq);
  });
  std::vector<std::string> out;
  out.reserve(size());
  for (const Entry* e : order) out.push_back(e->text);
  // Short enough to need no allocation of its own: a count in the form printers expect.
  out.resize(size(), "(not kept)");
  return out;
}

std::string JoinPath(std::string_view base, std::string_view key) {
  if (base.empty()) return std::string(key);
  return std::string(base) + "." + std::string(key);
}

std::string IndexPath(std::string_view base, size_t index) {
  return std::string(base) + "[" + std::to_string(index) + "]";
}

std::string Describe(const YAML::Node& node) {
  if (!node.IsDefined() || node.IsNull()) return "no value";
  if (node.IsMap()) return "a map";
  if (node.IsSequence()) return "a list";
  if (IsQuotedScalar(node)) return "the string " + ShowScalar(node.Scalar());
  return ShowScalar(node.Scalar());
}

bool IsQuotedScalar(const YAML::Node& node) {
  return node.IsScalar() && (node.Tag() == "!" || node.Tag() == "tag:yaml.org,2002:str");
}

std::string JoinNames(std::span<const std::string_view> names) {
  std::string out;
  for (size_t i = 0; i < names.size(); ++i) {
    if (i) out += ", ";
    out += names[i];
  }
  return out;
}

std::string JoinNames(const std::vector<std::string>& names) {
  std::string out;
  for (size_t i = 0; i < names.size(); ++i) {
    if (i) out += ", ";
    out += names[i];
  }
  return out;
}

std::string ClosestName(std::string_view name, std::span<const std::string_view> candidates) {
  return ClosestImpl(name, candidates);
}

std::string ClosestName(std::string_view name, const std::vector<std::string>& candidates) {
  return ClosestImpl(name, candidates);
}

std::string FormatNumber(double v) {
  if (std::isfinite(v) && v == std::floor(v) && std::fabs(v) < 1e15) {
    return std::to_string(static_cast<int64_t>(v));
  }
  char buf[64];
  auto [ptr, ec] =
      std::to_chars(buf, buf + sizeof buf, v);  // shortest form that reads back exactly
  if (ec != std::errc()) return "nan";
  return std::string(buf, ptr);
}

std::string NumberRange::Describe(bool integer) const {
  const std::string kind = integer ? "an integer" : "a number";
  if (min_exclusive)
    return kind + " greater than " + FormatNumber(min) + " and at most " + FormatNumber(max);
  return kind + " from " + FormatNumber(min) + " to " + FormatNumber(max);
}

SourcePos Field::pos() const {
  if (!value.IsDefined() || value.IsNull()) return key_pos;
  return PosOf(value);
}

MapFields::MapFields(Diagnostics& diag, const Field& field,
                     std::span<const std::string_view> allowed, std::string_view expected_what)
    : diag_(diag), node_(field.value), path_(field.path) {
  if (!node_.IsMap()) {
    diag_.Error(field.pos(), path_, "got " + Describe(node_), expected_what);
    return;
  }
  is_map_ = true;
  const bool open = allowed.empty();
  for (auto it = node_.begin(); it != node_.end(); ++it) {
    // Copies: the iterator hands out a temporary pair, so a reference would dangle.
    const YAML::Node key = it->first;
    const YAML::Node value = it->second;
    if (!key.IsScalar()) {
      diag_.Error(PosOf(key), path_, "got " + Describe(key) + " as a key", "a key name");
      continue;
    }
    const std::string name = key.Scalar();
    const std::string key_path = JoinPath(path_, name);
    if (!open && std::find(allowed.begin(), allowed.end(), name) == allowed.end()) {
      std::string what = "unknown key";
      const std::string close = ClosestName(name, allowed);
      if (!close.empty()) what += " (did you mean \"" + close + "\"?)";
      diag_.Error(PosOf(key), key_path, what, "one of " + JoinNames(allowed));
      continue;
    }
    auto same = std::find_if(entries_.begin(), entries_.end(),
                             [&](const auto& e) { return e.first == name; });
    if (same != entries_.end()) {
      diag_.Error(PosOf(key), key_path,
                  "repeated key (first at " + PosText(same->second.key_pos) + ")", "each key once");
      continue;
    }
    entries_.emplace_back(name, Field{value, PosOf(key), key_path});
  }
}

const Field* MapFields::Get(std::string_view key) const {
  for (const auto& [name, field] : entries_) {
    if (name == key) return &field;
  }
  return nullptr;
}

const Field* MapFields::Require(std::string_view key, std::string_view expected) const {
  const Field* f = Get(key);
  if (f == nullptr && is_map_) diag_.Error(pos(), JoinPath(path_, key), "missing", expected);
  return f;
}

std::optional<std::vector<Field>> ListItems(Diagnostics& diag, const Field& f,
                                            std::string_view expected) {
  if (!f.value.IsSequence()) {
    diag.Error(f.pos(), f.path, "got " + Describe(f.value), expected);
    return std::nullopt;
  }
  std::vector<Field> items;
  items.reserve(f.value.size());
  size_t i = 0;
  for (const YAML::Node& item : f.value) {
    const SourcePos where = item.IsNull() ? f.pos() : PosOf(item);
    items.push_back(Field{item, where, IndexPath(f.path, i++)});
  }
  return items;
}

std::optional<std::string> ReadString(Diagnostics& diag, const Field& f,
                                      std::string_view expected) {
  if (!f.value.IsScalar()) {
    diag.Error(f.pos(), f.path, "got " + Describe(f.value), expected);
    return std::nullopt;
  }
  if (f.value.Scalar().empty()) {
    diag.Error(f.pos(), f.path, "empty", expected);
    return std::nullopt;
  }
  return f.value.Scalar();
}

namespace {
// The number in a scalar, or a report of why there is none. `integer` shapes only the wording.
std::optional<double> ScalarNumber(Diagnostics& diag, const Field& f, const NumberRange& range,
                                   bool integer) {
  const std::string expected = range.Describe(integer);
  if (!f.value.IsScalar() || IsQuotedScalar(f.value)) {
    diag.Error(f.pos(), f.path, "got " + Describe(f.value), expected);
    return std::nullopt;
  }
  double v = 0;
  switch (ParseDoubleDetail(f.value.Scalar(), v)) {
    case ParsedNumber::kOk: break;
    case ParsedNumber::kOverflow:
      diag.Error(f.pos(), f.path, f.value.Scalar() + " is out of range", expected);
      return std::nullopt;
    case ParsedNumber::kInvalid:
      diag.Error(f.pos(), f.path, "got " + Describe(f.value), expected);
      return std::nullopt;
  }
  if (!range.Contains(v)) {
    diag.Error(f.pos(), f.path, f.value.Scalar() + " is out of range", expected);
    return std::nullopt;
  }
  return v;
}
}  // namespace

std::optional<int64_t> ReadInt(Diagnostics& diag, const Field& f, const NumberRange& range) {
  std::optional<double> v = ScalarNumber(diag, f, range, /*integer=*/true);
  if (!v) return std::nullopt;
  std::optional<int64_t> i = ParseInteger(f.value.Scalar());
  if (!i) {
    diag.Error(f.pos(), f.path, "got " + Describe(f.value), range.Describe(true));
    return std::nullopt;
  }
  return i;
}

std::optional<double> ReadNumber(Diagnostics& diag, const Field& f, const NumberRange& range) {
  return ScalarNumber(diag, f, range, /*integer=*/false);
}

std::optional<bool> ReadBool(Diagnostics& diag, const Field& f) {
  if (f.value.IsScalar() && !IsQuotedScalar(f.value)) {
    const std::string& s = f.value.Scalar();
    if (s == "true" || s == "True" || s == "TRUE") return true;
    if (s == "false" || s == "False" || s == "FALSE") return false;
  }
  diag.Error(f.pos(), f.path, "got " + Describe(f.value), "true or false");
  return std::nullopt;
}

std::optional<std::vector<std::string>> ReadStringList(Diagnostics& diag, const Field& f,
                                                       std::string_view expected_item,
                                                       bool allow_single) {
  if (allow_single && f.value.IsScalar()) {
    std::optional<std::string> s = ReadString(diag, f, expected_item);
    if (!s) return std::nullopt;
    return std::vector<std::string>{*s};
  }
  const std::string expected = (allow_single ? std::string(expected_item) + " or a list of them"
                                             : "a list of " + std::string(expected_item));
  std::optional<std::vector<Field>> items = ListItems(diag, f, expected);
  if (!items) return std::nullopt;
  std::vector<std::string> out;
  out.reserve(items->size());
  bool ok = true;
  for (const Field& item : *items) {
    std::optional<std::string> s = ReadString(diag, item, expected_item);
    if (s) {
      out.push_back(std::move(*s));
    } else {
      ok = false;
    }
  }
  if (!ok) return std::nullopt;
  return out;
}

std::optional<int64_t> ParseInteger(std::string_view text) {
  if (!text.empty() && text.front() == '+') text.remove_prefix(1);
  if (text.empty()) return std::nullopt;
  int64_t v = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, v);
  if (ec != std::errc() || ptr != end) return std::nullopt;
  return v;
}

std::optional<double> ParseDouble(std::string_view text) {
  double v = 0;
  if (ParseDoubleDetail(text, v) != ParsedNumber::kOk) return std::nullopt;
  return v;
}

std::string ByteSizeText(size_t bytes) {
  if (bytes >= (size_t{1} << 20) && bytes % (size_t{1} << 20) == 0)
    return std::to_string(bytes >> 20) + " MiB";
  if (bytes >= (size_t{1} << 10) && bytes % (size_t{1} << 10) == 0)
    return std::to_string(bytes >> 10) + " KiB";
  return std::to_string(bytes) + " bytes";
}

Result<std::string> ReadBoundedFile(const std::string& path, std::string_view what,
                                    size_t max_bytes) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return NotFoundError(path + ": no such file");
  if (std::filesystem::is_directory(path, ec)) {
    return InvalidArgumentError(path + ": is a directory, not a " + std::string(what) + " file");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFoundError(path + ": cannot open");
  // Blocks, never the whole stream at once: /dev/zero and pipes have no size to ask for.
  std::string text;
  constexpr size_t kBlock = size_t{1} << 16;
  while (in && text.size() <= max_bytes) {
    const size_t want = std::min(kBlock, max_bytes + 1 - text.size());
    const size_t old = text.size();
    text.resize(old + want);
    in.read(text.data() + old, static_cast<std::streamsize>(want));
    text.resize(old + static_cast<size_t>(in.gcount()));
  }
  if (text.size() > max_bytes) {
    Status st = InvalidArgumentError(path + ": larger than " + ByteSizeText(max_bytes) +
                                     ", the limit for a " + std::string(what) +
                                     " file; expected a smaller file");
    st.SetReason("input_too_large");
    st.AddDetail({"", "input_too_large",
                  "larger than " + ByteSizeText(max_bytes) + ", the limit for a " +
                      std::string(what) + " file"});
    return st;
  }
  if (in.bad()) return InvalidArgumentError(path + ": read error");
  return text;
}

namespace {

// Counts nodes as the event parser meets them and stops the parse past the limit: no tree is
// built, so counting a hostile file costs no more memory than its text.
class NodeCounter : public YAML::EventHandler {
 public:
  struct TooMany {
    YAML::Mark mark;
  };
  explicit NodeCounter(size_t max_nodes) : max_nodes_(max_nodes) {}
  void OnDocumentStart(const YAML::Mark&) override {}
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark& mark, YAML::anchor_t) override { Count(mark); }
  void OnAlias(const YAML::Mark& mark, YAML::anchor_t) override { Count(mark); }
  void OnScalar(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                const std::string&) override {
    Count(mark);
  }
  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {
    Count(mark);
  }
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {
    Count(mark);
  }
  void OnMapEnd() override {}

 private:
  void Count(const YAML::Mark& mark) {
    if (++count_ > max_nodes_) throw TooMany{mark};
  }
  size_t max_nodes_;
  size_t count_ = 0;
};

}  // namespace

std::optional<BadByte> FirstInvalidUtf8(std::string_view text) {
  SourcePos pos;
  for (size_t i = 0; i < text.size();) {
    const size_t len = Utf8SequenceLength(text, i);
    if (len == 0) return BadByte{pos, static_cast<unsigned char>(text[i])};
    if (text[i] == '\n') {
      ++pos.line;
      pos.column = 1;
    } else {
      ++pos.column;
    }
    i += len;
  }
  return std::nullopt;
}

bool CheckYamlText(Diagnostics& diag, const std::string& text, size_t max_nodes) {
  // UTF-16 and UTF-32 (a byte order mark, or NULs among the first bytes) are decoded by the parser.
  const bool wide = text.size() >= 2 &&
                    (text[0] == '\0' || text[1] == '\0' || text.compare(0, 2, "\xfe\xff") == 0 ||
                     text.compare(0, 2, "\xff\xfe") == 0);
  if (!wide) {
    if (std::optional<BadByte> bad = FirstInvalidUtf8(text)) {
      char hex[8];
      std::snprintf(hex, sizeof hex, "0x%02x", bad->byte);
      diag.Raw(bad->pos, std::string("invalid UTF-8 (byte ") + hex +
                             "); expected UTF-8 text (the file may be in another encoding)");
      return false;
    }
  }
  std::istringstream in(text);
  NodeCounter counter(max_nodes);
  try {
    YAML::Parser parser(in);
    // One document is all a file may hold; a second is counted too, its own error comes later.
    for (int i = 0; i < 2 && parser.HandleNextDocument(counter); ++i) {
    }
  } catch (const NodeCounter::TooMany& e) {
    const SourcePos at =
        e.mark.is_null() ? SourcePos{} : SourcePos{e.mark.line + 1, e.mark.column + 1};
    diag.Raw(at, "more than " + std::to_string(max_nodes) +
                     " YAML values (maps, lists, scalars) in one file; expected a smaller "
                     "scenario (`generate:` entries describe large data centres in a few lines)");
    return false;
  } catch (const YAML::Exception&) {
    return true;  // the real parse reports it with its position
  }
  return true;
}

namespace {

// Counts documents and finds the second one's first node. YAML::LoadAll would say, but it never
// returns on some inputs (a stray "," at the top level: the parser keeps making empty documents
// without consuming it), so documents are counted with the event parser, stopping at two.
class DocumentCounter : public YAML::EventHandler {
 public:
  void OnDocumentStart(const YAML::Mark& mark) override {
    ++documents_;
    if (documents_ == 2) second_ = mark;
  }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}  // an empty document is harmless
  void OnAlias(const YAML::Mark& mark, YAML::anchor_t) override { Content(mark); }
  void OnScalar(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                const std::string&) override {
    Content(mark);
  }
  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {
    Content(mark);
  }
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {
    Content(mark);
  }
  void OnMapEnd() override {}

  bool HasSecondDocument() const { return second_content_.has_value(); }
  // Where the second document's first node is.
  SourcePos SecondDocumentPos() const {
    const YAML::Mark& m = second_content_ ? *second_content_ : second_;
    return m.is_null() ? SourcePos{} : SourcePos{m.line + 1, m.column + 1};
  }

 private:
  void Content(const YAML::Mark& mark) {
    if (documents_ == 2 && !second_content_) second_content_ = mark;
  }
  int documents_ = 0;
  YAML::Mark second_ = YAML::Mark::null_mark();
  std::optional<YAML::Mark> second_content_;
};

}  // namespace

std::optional<SourcePos> SecondDocumentStart(const std::string& text) {
  // Only a line starting with "---" or "..." after some content can begin another document; the
  // second parse is paid only then.
  bool content = false, marker = false;
  for (size_t start = 0; start < text.size() && !marker;) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    const std::string_view line(text.data() + start, end - start);
    const bool is_marker = line.substr(0, 3) == "---" || line.substr(0, 3) == "...";
    marker = is_marker && content;
    const size_t first = line.find_first_not_of(" \t\r");
    if (!is_marker && first != std::string_view::npos && line[first] != '#') content = true;
    start = end + 1;
  }
  if (!marker) return std::nullopt;
  std::istringstream in(text);
  YAML::Parser parser(in);
  DocumentCounter counter;
  for (int i = 0; i < 2 && parser.HandleNextDocument(counter);) ++i;
  if (!counter.HasSecondDocument()) return std::nullopt;  // a trailing "---" alone is harmless
  return counter.SecondDocumentPos();
}

}  // namespace topoplace::yaml_reader
