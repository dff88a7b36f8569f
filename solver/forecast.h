// Forecasts: when does a tenant reach its quota, when does the site run out of a node class, at the
// current trend?
//
// A usage history is a series of (time, value) samples (from a replay, or from a demand trace). The
// current trend is an ordinary least-squares line through the recent part of the history (the last
// half of its time span, at least 8 samples), fitted with Eigen; its standard errors give the
// uncertainty. The time the line reaches a limit is t* = t_mean + (limit - level) / slope, with a
// 95% interval from the delta method on (level, slope); when the slope is not significantly above
// zero the interval has no upper end ("possibly never"). A slope whose rise over the fitted span is
// below a billionth of the values' scale is rounding noise and counts as flat (slope 0): a flat
// series is "not rising", never "reaches its limit at hour 5.5e16".
//
// Thread safety: stateless.
#pragma once

#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "model/scenario.h"

namespace topoplace {

struct UsagePoint {
  double time = 0;
  double value = 0;
};

struct TrendFit {
  int points = 0;
  double t_mean = 0;    // the fit is level + slope * (t - t_mean)
  double level = 0;     // fitted value at t_mean
  double slope = 0;     // per time unit
  double level_se = 0;  // standard errors
  double slope_se = 0;
  double residual_sd = 0;
  double r2 = 0;
  double ValueAt(double t) const { return level + slope * (t - t_mean); }
};

// Least squares on all of `history`; nullopt with fewer than 3 points or no spread in time.
std::optional<TrendFit> FitLinearTrend(std::span<const UsagePoint> history);

struct Forecast {
  std::string subject;  // "tenant nlp-lab gpus", "class h100x8 nodes"
  double limit = 0;     // quota or capacity
  double now = 0;
  double current = 0;  // last observed value
  // kReached: already at the limit; kRising: reaches it at `reach`; kNotRising: the trend is flat
  // or falling; kTooLittleHistory: fewer than 3 recent samples.
  enum class Outlook {
    kReached,
    kRising,
    kNotRising,
    kTooLittleHistory
  } outlook = Outlook::kTooLittleHistory;
  std::optional<double> reach;      // when the trend reaches the limit (absolute time)
  std::optional<double> reach_low;  // 95% interval; reach_high nullopt = possibly never
  std::optional<double> reach_high;
  std::optional<TrendFit> fit;
};
std::string_view OutlookName(Forecast::Outlook o);  // "reached", "rising", ...

// The forecast for one series against `limit`, at time `now` (usually the last sample's).
Forecast ForecastReach(std::string subject, std::span<const UsagePoint> history, double limit,
                       double now);

// Usage over time, per tenant and per node class.
struct UsageHistory {
  std::vector<double> times;
  std::map<std::string, std::vector<double>> tenant_gpus, tenant_nodes;
  std::map<std::string, std::vector<double>> class_nodes;  // held nodes per class
};

// Forecasts for every tenant with a gpus quota above zero (else a nodes quota), and every class
// against the nodes of that class in service (not failed, not in maintenance) in `inventory`.
std::vector<Forecast> ForecastExhaustion(const UsageHistory& history, const Inventory& inventory,
                                         const std::vector<Tenant>& tenants);

}  // namespace topoplace
