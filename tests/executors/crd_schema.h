// A field-by-field check of a manifest against a condensed CRD schema (tests/fixtures/crds/).
//
// The fixtures are our own condensation of the upstream CustomResourceDefinitions (each says
// which one and which commit it was read from; the format is described at the top of each). The
// check walks the manifest: apiVersion and kind must be the schema's; every field present must be
// declared (an object marked `open` is not looked into); types must match; a field marked
// required must be present whenever its parent object is; enum values, patterns, lengths, item
// counts, integer formats and bounds, and map key patterns are honoured. Each error names the
// concrete path of the offending field ("spec.services[2].servicePublishingStrategy.type",
// "metadata.labels[\"a/b\"]") with a stable code: wrong_kind, unknown_field, missing_field,
// wrong_type, unknown_value, pattern_mismatch, out_of_range.
//
// Thread safety: values and stateless functions.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "model/status.h"

namespace topoplace::testing {

// One field's rule, as a fixture line states it.
struct CrdField {
  std::string type;  // object, map, array, string, integer, number, boolean, int-or-string
  bool required = false;
  bool open = false;  // an object whose contents are not described (not checked)
  std::vector<std::string> enum_values;
  std::string pattern;      // ECMAScript, searched; "" = none
  std::string key_pattern;  // a map's keys; "" = none
  std::string format;       // int32, int64, ...
  std::optional<long long> min_length, max_length, min_items, max_items;
  std::optional<double> minimum, maximum;
};

struct CrdSchema {
  std::string api_version;
  std::string kind;
  std::string source;                      // where upstream it was read from
  std::map<std::string, CrdField> fields;  // by schema path: "spec.services[].service"
};

// Reads a fixture; kInvalidArgument naming the file and the entry for a malformed one (an
// unknown attribute or type, a field whose parent is not declared as an object, a bad pattern).
Result<CrdSchema> LoadCrdSchema(const std::string& path);

// Parses a manifest written as JSON or YAML (plain YAML scalars resolve to booleans, integers,
// numbers and null as the YAML core schema does; quoted ones stay strings).
Result<nlohmann::json> ParseManifest(const std::string& text);

// Every error of `manifest` against `schema`, in walk order; empty when it conforms.
std::vector<ErrorDetail> CheckManifest(const CrdSchema& schema, const nlohmann::json& manifest);

// The errors as lines "path: code: message", for test failure output.
std::string Describe(const std::vector<ErrorDetail>& errors);

}  // namespace topoplace::testing
