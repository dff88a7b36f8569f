// Status and Result<T>: the one error vocabulary of topoplace.
//
// Every function that can fail across a module boundary returns a Status (or a Result<T> holding
// either a value or a non-OK Status). The codes follow the usual meanings: kInvalidArgument for bad
// input (YAML, JSON, flags), kFailedPrecondition for a valid request the current state cannot
// serve, kNotFound, kAlreadyExists, kAborted for a lost optimistic-concurrency race, and kInternal
// for a bug. api/ maps codes to CLI exit codes and HTTP statuses in one table.
//
// A Status may carry several messages (a loader reports all errors of a file, not only the first).
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

 private:
  StatusCode code_ = StatusCode::kOk;
  std::vector<std::string> messages_;
};

inline Status InvalidArgumentError(std::string m) { return {StatusCode::kInvalidArgument, std::move(m)}; }
inline Status NotFoundError(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
inline Status AlreadyExistsError(std::string m) { return {StatusCode::kAlreadyExists, std::move(m)}; }
inline Status FailedPreconditionError(std::string m) { return {StatusCode::kFailedPrecondition, std::move(m)}; }
inline Status AbortedError(std::string m) { return {StatusCode::kAborted, std::move(m)}; }
inline Status InternalError(std::string m) { return {StatusCode::kInternal, std::move(m)}; }

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
