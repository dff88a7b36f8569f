#include "api/http/metrics.h"

#include <cstdio>

namespace topoplace {
namespace {

std::string Fmt(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

}  // namespace

std::string MetricLabel(const std::string& value) {
  std::string out;
  for (char c : value) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '"')
      out += "\\\"";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

void Histogram::Observe(double seconds) {
  for (size_t i = 0; i < kBuckets.size(); ++i) {
    if (seconds <= kBuckets[i]) ++counts_[i];
  }
  ++count_;
  sum_ += seconds;
}

void Histogram::Render(std::string& out, const std::string& name, const std::string& labels) const {
  const std::string sep = labels.empty() ? "" : ",";
  for (size_t i = 0; i < kBuckets.size(); ++i) {
    char le[32];
    std::snprintf(le, sizeof le, "%g", kBuckets[i]);
    out += name + "_bucket{" + labels + sep + "le=\"" + le + "\"} " + std::to_string(counts_[i]) +
           "\n";
  }
  out += name + "_bucket{" + labels + sep + "le=\"+Inf\"} " + std::to_string(count_) + "\n";
  out += name + "_sum{" + labels + "} " + Fmt(sum_) + "\n";
  out += name + "_count{" + labels + "} " + std::to_string(count_) + "\n";
}

void Metrics::ObserveRequest(const std::string& route, const std::string& method, int status,
                             double seconds) {
  std::lock_guard lock(mu_);
  ++requests_[{route, method, status}];
  latency_[{route, method}].Observe(seconds);
}

void Metrics::ObserveSolve(const std::string& backend, double seconds) {
  std::lock_guard lock(mu_);
  solve_[backend].Observe(seconds);
}

void Metrics::CountConflict(const std::string& where) {
  std::lock_guard lock(mu_);
  ++conflicts_[where];
}

void Metrics::CountExpired(int n) {
  std::lock_guard lock(mu_);
  expired_ += static_cast<uint64_t>(n);
}

std::string Metrics::Render(const std::string& extra) const {
  std::string out;
  std::lock_guard lock(mu_);
  out +=
      "# HELP topoplace_http_requests_total HTTP requests served, by route, method and status "
      "code.\n";
  out += "# TYPE topoplace_http_requests_total counter\n";
  for (const auto& [key, n] : requests_) {
    const auto& [route, method, code] = key;
    out += "topoplace_http_requests_total{route=\"" + MetricLabel(route) + "\",method=\"" + method +
           "\",code=\"" + std::to_string(code) + "\"} " + std::to_string(n) + "\n";
  }
  out +=
      "# HELP topoplace_http_request_duration_seconds Time to answer HTTP requests, by route and "
      "method.\n";
  out += "# TYPE topoplace_http_request_duration_seconds histogram\n";
  for (const auto& [key, h] : latency_) {
    h.Render(out, "topoplace_http_request_duration_seconds",
             "route=\"" + MetricLabel(key.first) + "\",method=\"" + key.second + "\"");
  }
  out += "# HELP topoplace_solve_duration_seconds Solver time per request, by backend.\n";
  out += "# TYPE topoplace_solve_duration_seconds histogram\n";
  for (const auto& [backend, h] : solve_) {
    h.Render(out, "topoplace_solve_duration_seconds", "backend=\"" + MetricLabel(backend) + "\"");
  }
  out +=
      "# HELP topoplace_generation_conflicts_total Optimistic holds that lost a race, by "
      "operation.\n";
  out += "# TYPE topoplace_generation_conflicts_total counter\n";
  for (const auto& [where, n] : conflicts_) {
    out += "topoplace_generation_conflicts_total{operation=\"" + MetricLabel(where) + "\"} " +
           std::to_string(n) + "\n";
  }
  out +=
      "# HELP topoplace_reservations_expired_total Reservations this process released at their "
      "deadline.\n";
  out += "# TYPE topoplace_reservations_expired_total counter\n";
  out += "topoplace_reservations_expired_total " + std::to_string(expired_) + "\n";
  out += extra;
  return out;
}

}  // namespace topoplace
