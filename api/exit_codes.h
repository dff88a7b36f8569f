// The one table that maps status codes to CLI exit codes (and, with the service, HTTP statuses).
//
// CLI exit codes: 0 ok, 1 internal error, 2 bad input (flags, files, YAML, requests), 3 a valid
// request that cannot be satisfied (proven infeasible placement, failed precondition), 4 something
// the command needs is unavailable (a database server that cannot be reached, a store file that
// cannot be opened, a port that cannot be listened on): worth retrying once that is fixed, 5 a
// solve left undecided (no placement found and none proven impossible: SolveStatus
// noSolutionFound or timeout): worth retrying with more time or an exact backend.
#pragma once

#include <string_view>

#include "model/status.h"

namespace topoplace {

inline constexpr int kExitOk = 0;
inline constexpr int kExitInternal = 1;
inline constexpr int kExitBadInput = 2;
inline constexpr int kExitUnsatisfied = 3;
inline constexpr int kExitUnavailable = 4;
inline constexpr int kExitUndecided = 5;

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

// HTTP statuses the service's transport and glue answer with by themselves (not from a Status):
// protocol errors, limits and overload.
inline constexpr int kHttpOk = 200;
inline constexpr int kHttpCreated = 201;
inline constexpr int kHttpAccepted = 202;
inline constexpr int kHttpBadRequest = 400;
inline constexpr int kHttpUnauthorized = 401;
inline constexpr int kHttpForbidden = 403;
inline constexpr int kHttpNotFound = 404;
inline constexpr int kHttpMethodNotAllowed = 405;
inline constexpr int kHttpContentTooLarge = 413;
inline constexpr int kHttpUriTooLong = 414;
inline constexpr int kHttpUnsupportedMediaType = 415;
inline constexpr int kHttpTooManyRequests = 429;
inline constexpr int kHttpHeaderFieldsTooLarge = 431;
inline constexpr int kHttpInternalError = 500;
inline constexpr int kHttpNotImplemented = 501;
inline constexpr int kHttpServiceUnavailable = 503;

// The reason phrase of an HTTP status, for status lines and problem titles.
constexpr std::string_view HttpReasonPhrase(int status) {
  switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 201: return "Created";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 422: return "Unprocessable Content";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return status >= 500 ? "Server Error" : status >= 400 ? "Client Error" : "Other";
  }
}

}  // namespace topoplace
