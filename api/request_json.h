// The request language as JSON: the HTTP body of a solve, reservation or cluster is one request of
// the scenario language (DESIGN.md section 3) with the same keys, types, bounds and enum values,
// written as JSON instead of YAML. Decoding is strict: an unknown key, a wrong type, a bad enum
// value or an absurd number is an error naming the JSON pointer of the offending field
// ("/topology/locality/level"); every error of a body is reported, first one first. `name` is
// optional here (the service names unnamed requests), everything else is as in YAML.
//
// Thread safety: stateless functions.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "model/request.h"

namespace topoplace {

struct BodyError {
  std::string code;     // stable: malformed_json, unknown_field, wrong_type, out_of_range, ...
  std::string pointer;  // JSON pointer of the offending field, "" for the whole body
  std::string detail;
};

struct DecodedRequest {
  Request request;
  bool has_name = false;
  bool has_tenant = false;
  std::vector<BodyError> errors;  // empty when the request is valid
};

// Parses JSON text strictly: duplicate keys and nesting deeper than 32 levels are errors too.
// On failure `errors` holds one malformed_json / duplicate_key / too_deep error.
nlohmann::json ParseJsonBody(std::string_view text, std::vector<BodyError>& errors);

DecodedRequest DecodeRequestJson(const nlohmann::json& body);

// One key as a JSON pointer token (RFC 6901: "~" as "~0", "/" as "~1").
std::string JsonPointerToken(std::string_view key);
// How a JSON value reads in "got ..." phrases: null, an object, a string, a number, ...
std::string JsonTypeName(const nlohmann::json& v);
nlohmann::ordered_json EncodeRequestJson(const Request& request);

}  // namespace topoplace
