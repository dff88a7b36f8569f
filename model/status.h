// Status and Result<T>: the one error vocabulary of topoplace.
//
// Every function that can fail across a module boundary returns a Status (or a Result<T> holding
// either a value or a non-OK Status). The codes follow the usual meanings: kInvalidArgument for bad
// input (YAML, JSON, flags), kFailedPrecondition for a valid request the current state cannot
// serve, kNotFound, kAlreadyExists, kAborted for a lost optimistic-concurrency race, and kInternal
// for a bug. api/ maps codes to CLI exit codes and HTTP statuses in one table.
//
// A Status may carry several messages (a loader reports all errors of a file, not only the first).
// Besides its code it may carry a `reason`: a stable snake_case name of what went wrong, finer than
// the code ("generation_conflict", "quota_exceeded"), which HTTP answers show as their `code`; and
// structured `details`, one per input error, each with the path of the offending field (a key path
// such as "requests[2].topology.locality.level" or a JSON pointer), a stable code and a message, so
// the CLI can render FILE:LINE:COL and HTTP a JSON pointer without parsing message text.
// Thread safety: values; no shared state.
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace topoplace {

// One input error: where, what kind (stable snake_case), and a message a person can act on.
struct ErrorDetail {
  std::string path;  // key path or JSON pointer of the offending field; "" = the whole input
  std::string code;  // unknown_field, wrong_type, out_of_range, unknown_value, ...
  std::string message;
  bool operator==(const ErrorDetail&) const = default;
};

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,
  kNotFound,
  kAlreadyExists,
  kFailedPrecondition,
  kAborted,
  kResourceExhausted,
  kDeadlineExceeded,
  kUnauthenticated,
  kPermissionDenied,
  kUnavailable,
  kInternal,
};

std::string_view StatusCodeName(StatusCode code);

class Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code) {
    if (code != StatusCode::kOk) messages_.push_back(std::move(message));
  }
  Status(StatusCode code, std::vector<std::string> messages)
      : code_(code), messages_(std::move(messages)) {}

  static Status Ok() { return Status(); }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  // All messages joined by newlines.
  std::string message() const;
  const std::vector<std::string>& messages() const { return messages_; }
  // "INVALID_ARGUMENT: first message" style, for logs.
  std::string ToString() const;

  // The stable reason ("generation_conflict"); empty when the code says all there is to say.
  const std::string& reason() const { return reason_; }
  // The reason, or the code's own name in lower case ("invalid_argument").
  std::string ReasonOrCodeName() const;
  Status& SetReason(std::string reason) {
    reason_ = std::move(reason);
    return *this;
  }
  const std::vector<ErrorDetail>& details() const { return details_; }
  Status& AddDetail(ErrorDetail detail) {
    details_.push_back(std::move(detail));
    return *this;
  }

 private:
  StatusCode code_ = StatusCode::kOk;
  std::vector<std::string> messages_;
  std::string reason_;
  std::vector<ErrorDetail> details_;
};

// A Status with a reason: WithReason(StatusCode::kAborted, "generation_conflict", "node moved").
inline Status WithReason(StatusCode code, std::string reason, std::string message) {
  Status s(code, std::move(message));
  s.SetReason(std::move(reason));
  return s;
}

inline Status InvalidArgumentError(std::string m) { return {StatusCode::kInvalidArgument, std::move(m)}; }
inline Status NotFoundError(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
inline Status AlreadyExistsError(std::string m) { return {StatusCode::kAlreadyExists, std::move(m)}; }
inline Status FailedPreconditionError(std::string m) { return {StatusCode::kFailedPrecondition, std::move(m)}; }
inline Status AbortedError(std::string m) { return {StatusCode::kAborted, std::move(m)}; }
inline Status InternalError(std::string m) { return {StatusCode::kInternal, std::move(m)}; }
inline Status UnavailableError(std::string m) { return {StatusCode::kUnavailable, std::move(m)}; }
inline Status DeadlineExceededError(std::string m) {
  return {StatusCode::kDeadlineExceeded, std::move(m)};
}
inline Status ResourceExhaustedError(std::string m) {
  return {StatusCode::kResourceExhausted, std::move(m)};
}

// Holds a T or a non-OK Status.
template <typename T>
class Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design, like StatusOr.
  Result(Status status) : v_(std::move(status)) { assert(!std::get<Status>(v_).ok()); }  // NOLINT

  bool ok() const { return std::holds_alternative<T>(v_); }
  const Status& status() const {
    static const Status kOkStatus;
    return ok() ? kOkStatus : std::get<Status>(v_);
  }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace topoplace
