// The one table that maps status codes to CLI exit codes (and, with the service, HTTP statuses).
//
// CLI exit codes: 0 ok, 1 internal error, 2 bad input (flags, files, YAML, requests), 3 a valid
// request that cannot be satisfied (infeasible placement, failed precondition), 4 something the
// command needs is unavailable (a database server that cannot be reached, a store file that
// cannot be opened, a port that cannot be listened on): worth retrying once that is fixed.
#pragma once

#include "model/status.h"

namespace topoplace {

inline constexpr int kExitOk = 0;
inline constexpr int kExitInternal = 1;
inline constexpr int kExitBadInput = 2;
inline constexpr int kExitUnsatisfied = 3;
inline constexpr int kExitUnavailable = 4;

struct StatusMapping {
  StatusCode code;
  int exit_code;
  int http_status;
};

inline constexpr StatusMapping kStatusMappings[] = {
    {StatusCode::kOk, kExitOk, 200},
    {StatusCode::kInvalidArgument, kExitBadInput, 400},
    {StatusCode::kNotFound, kExitBadInput, 404},
    {StatusCode::kAlreadyExists, kExitBadInput, 409},
    {StatusCode::kFailedPrecondition, kExitUnsatisfied, 422},
    {StatusCode::kAborted, kExitUnsatisfied, 409},
    {StatusCode::kResourceExhausted, kExitUnsatisfied, 429},
    {StatusCode::kDeadlineExceeded, kExitUnsatisfied, 504},
    {StatusCode::kUnauthenticated, kExitBadInput, 401},
    {StatusCode::kPermissionDenied, kExitBadInput, 403},
    {StatusCode::kUnavailable, kExitUnavailable, 503},
    {StatusCode::kInternal, kExitInternal, 500},
};

constexpr const StatusMapping& MappingFor(StatusCode code) {
  for (const auto& m : kStatusMappings) {
    if (m.code == code) return m;
  }
  return kStatusMappings[sizeof(kStatusMappings) / sizeof(kStatusMappings[0]) - 1];
}

constexpr int ExitCodeFor(StatusCode code) { return MappingFor(code).exit_code; }
constexpr int HttpStatusFor(StatusCode code) { return MappingFor(code).http_status; }

}  // namespace topoplace
