// The request language, described once: every key of a request, its type, bounds, allowed values,
// default, one line of documentation, its key in the short form, and how to read and write it on a
// Request. The YAML reader and writer (inventory/), the JSON reader and writer (api/), the short
// form (inventory/short_request.h) and the OpenAPI `Request` schema are derived from this table,
// and ValidateRequestFields() is the one check of bounds, values and cross-field rules, so a bad
// value gets the same path and code whichever way it was written.
//
// Contract: readers check only what they must to fill a Request (types, syntax, enum names,
// values that do not fit the field's C++ type); everything else is ValidateRequestFields()'s.
// Paths are key paths as a person writes them in YAML ("topology.locality.level",
// "select.class[1]"); KeyPathToPointer() gives the JSON pointer ("/select/class/1").
// Error codes are stable snake_case: unknown_field, wrong_type, out_of_range, bad_value,
// missing_field, conflicting_fields.
//
// Thread safety: the table is immutable and built on first use (thread-safe static init).
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "model/request.h"
#include "model/status.h"

namespace topoplace {

enum class FieldType {
  kObject,      // a map of more fields
  kInt,         // a whole number
  kNumber,      // any finite number
  kBool,        // true | false
  kString,      // one name, 1 to kMaxRequestText characters
  kEnum,        // one of `values`
  kStringList,  // names; with `single_allowed` a lone name counts as a list of one
  kPredicate,   // a number or a comparison like ">=8"
  kLabelMap,    // label name -> value, list of values, {in: [...]}, {notIn: [...]}, {exists: bool}
};
std::string_view FieldTypeName(FieldType type);  // "object", "int", ...

// The longest name (request, tenant, class, label value...) a request may carry.
inline constexpr size_t kMaxRequestText = 256;

// Inclusive bounds of a number (the minimum exclusive when `min_exclusive`).
struct NumberBounds {
  double min = 0;
  double max = 0;
  bool min_exclusive = false;
  bool Contains(double v) const;
  // "an integer from 1 to 1000000", "a number greater than 0 and at most 1".
  std::string Describe(bool integer) const;
};

// A field's value as the codecs see it: monostate = not set; enums as their name.
using FieldValue = std::variant<std::monostate, int64_t, double, bool, std::string,
                                std::vector<std::string>, NumericPredicate>;

struct RequestField {
  std::string_view path{};  // dotted key path from the request's root
  FieldType type = FieldType::kObject;
  std::string_view doc{};                      // one line for people (OpenAPI descriptions)
  NumberBounds bounds{};                       // kInt, kNumber, kPredicate
  std::span<const std::string_view> values{};  // kEnum
  std::string_view noun{};           // kEnum: "level"; kString/kStringList: "a node class name"
  std::string_view default_value{};  // as written; empty when there is none
  std::string_view short_key{};      // key in the short form; empty when not there
  bool required = false;             // must be given when its parent object is
  bool single_allowed = false;       // kStringList: a lone name counts as a list of one
  // Reads the field; monostate when unset (kObject: true when the object is present, kLabelMap:
  // never called).
  FieldValue (*get)(const Request&) = nullptr;
  // Writes the field (kObject: makes an optional object present). Enum names must be valid.
  void (*set)(Request&, const FieldValue&) = nullptr;

  std::string_view key() const;     // the last segment: "level"
  std::string_view parent() const;  // "topology.locality"; "" for top-level keys
};

// Every field, parents before children, in the order keys are written.
std::span<const RequestField> RequestFields();
const RequestField* FindRequestField(std::string_view path);
const RequestField* FindShortKey(std::string_view short_key);
// The fields directly under `parent` ("" = the request's root), in order.
std::vector<const RequestField*> ChildFields(std::string_view parent);
// Their keys: "level, mode, maxDomains".
std::string ChildKeyList(std::string_view parent);

// Level names in kAllLevels order, and joined: "nvlink, leaf, rack, row, pod, spine, site,
// powerDomain".
std::span<const std::string_view> LevelNames();
std::string LevelNameList();

// Every bound, allowed value and cross-field rule of the table, on a decoded request: counts,
// predicates, fractions, domains, budget and priority in range; exactly one of nodes and gpus;
// a spread with at least one limit; exclusive rack or leaf; names 1 to kMaxRequestText characters;
// label operators with values. Paths are key paths from the request's root; messages read
// "WHAT; expected WHAT". Names of tenants and classes are the caller's to check against a state.
std::vector<ErrorDetail> ValidateRequestFields(const Request& request);

// "select.class[1]" -> "/select/class/1"; "" -> "".
std::string KeyPathToPointer(std::string_view key_path);
// "/select/class/1" -> "select.class[1]".
std::string PointerToKeyPath(std::string_view pointer);

// A value in bounds for a field whose written value a reader rejected: set in its place, it keeps
// ValidateRequestFields() from reporting the same field again ("neither nodes nor gpus" after
// "nodes: got \"two\"").
FieldValue PlaceholderValue(const RequestField& field);

// Shared text checks for readers: empty when `s` is an acceptable name, else "WHAT; expected".
std::string CheckRequestText(std::string_view s);

}  // namespace topoplace
