// The service's metrics in the Prometheus text format (version 0.0.4), private to api/.
//
// Counters and histograms the server updates as it runs (requests by route, method and status
// code with their latency, solve times by backend, lost optimistic races, expired reservations),
// plus gauges computed at scrape time by the caller (free nodes by class and pod, quota use by
// tenant) and appended through `extra`. Thread safety: all methods may be called concurrently.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <tuple>

namespace topoplace {

class Histogram {
 public:
  static constexpr std::array<double, 14> kBuckets = {
      0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
  void Observe(double seconds);
  // Appends `name_bucket{labels,le=...}`, `_sum` and `_count` lines.
  void Render(std::string& out, const std::string& name, const std::string& labels) const;

 private:
  std::array<uint64_t, kBuckets.size()> counts_{};
  uint64_t count_ = 0;
  double sum_ = 0;
};

class Metrics {
 public:
  void ObserveRequest(const std::string& route, const std::string& method, int status,
                      double seconds);
  void ObserveSolve(const std::string& backend, double seconds);
  void CountConflict(const std::string& where);
  void CountExpired(int n);
  // The whole exposition: own metrics, then `extra` (already formatted families).
  std::string Render(const std::string& extra) const;

 private:
  mutable std::mutex mu_;
  std::map<std::tuple<std::string, std::string, int>, uint64_t> requests_;
  std::map<std::pair<std::string, std::string>, Histogram> latency_;
  std::map<std::string, Histogram> solve_;
  std::map<std::string, uint64_t> conflicts_;
  uint64_t expired_ = 0;
};

// Escapes a label value for the text format.
std::string MetricLabel(const std::string& value);

}  // namespace topoplace
