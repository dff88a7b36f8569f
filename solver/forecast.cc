#include "solver/forecast.h"

#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <utility>

namespace topoplace {

namespace {

constexpr double kZ95 = 1.959963984540054;
constexpr int kMinRecentPoints = 8;
// Relative size below which a change is floating-point noise rather than a trend.
constexpr double kNoiseRelative = 1e-9;

// The recent part of a history: the last half of its time span, at least kMinRecentPoints samples.
std::vector<UsagePoint> Recent(std::span<const UsagePoint> h) {
  if (h.empty()) return {};
  const double start = h.front().time, end = h.back().time;
  const double cut = start + (end - start) / 2;
  size_t first = 0;
  while (first < h.size() && h[first].time < cut) ++first;
  const size_t keep_from =
      std::min(first, h.size() > kMinRecentPoints ? h.size() - kMinRecentPoints : size_t{0});
  return {h.begin() + static_cast<std::ptrdiff_t>(keep_from), h.end()};
}

}  // namespace

std::string_view OutlookName(Forecast::Outlook o) {
  switch (o) {
    case Forecast::Outlook::kReached: return "reached";
    case Forecast::Outlook::kRising: return "rising";
    case Forecast::Outlook::kNotRising: return "not rising";
    case Forecast::Outlook::kTooLittleHistory: return "too little history";
  }
  return "too little history";
}

std::optional<TrendFit> FitLinearTrend(std::span<const UsagePoint> history) {
  const int n = static_cast<int>(history.size());
  if (n < 3) return std::nullopt;
  double t_mean = 0;
  for (const UsagePoint& p : history) t_mean += p.time;
  t_mean /= n;
  Eigen::MatrixXd x(n, 2);
  Eigen::VectorXd y(n);
  for (int i = 0; i < n; ++i) {
    x(i, 0) = 1.0;
    x(i, 1) = history[i].time - t_mean;
    y(i) = history[i].value;
  }
  const double sxx = x.col(1).squaredNorm();
  if (!(sxx > 0)) return std::nullopt;
  const Eigen::Vector2d beta = x.colPivHouseholderQr().solve(y);
  const Eigen::VectorXd residual = y - x * beta;
  const double sse = residual.squaredNorm();
  const double sigma2 = n > 2 ? sse / (n - 2) : 0.0;
  const Eigen::Matrix2d cov = sigma2 * (x.transpose() * x).inverse();
  TrendFit f;
  f.points = n;
  f.t_mean = t_mean;
  f.level = beta(0);
  f.slope = beta(1);
  f.level_se = std::sqrt(std::max(0.0, cov(0, 0)));
  f.slope_se = std::sqrt(std::max(0.0, cov(1, 1)));
  f.residual_sd = std::sqrt(sigma2);
  const double mean_y = y.mean();
  const double sst = (y.array() - mean_y).square().sum();
  f.r2 = sst > 0 ? 1.0 - sse / sst : 1.0;
  // A slope whose whole rise over the fitted span is rounding noise next to the values (a flat
  // series fits a slope of 1e-17, not 0) is no trend: without this, a flat series "reaches" its
  // limit some 1e16 hours out.
  const double span = x.col(1).maxCoeff() - x.col(1).minCoeff();
  const double scale = std::max({y.cwiseAbs().maxCoeff(), std::fabs(mean_y), 1.0});
  if (std::fabs(f.slope) * span <= kNoiseRelative * scale) {
    f.slope = 0;
    if (sst <= kNoiseRelative * kNoiseRelative * scale * scale * n) {
      f.slope_se = 0;
      f.level_se = 0;
      f.residual_sd = 0;
      f.r2 = 1.0;
    }
  }
  return f;
}

Forecast ForecastReach(std::string subject, std::span<const UsagePoint> history, double limit,
                       double now) {
  Forecast f;
  f.subject = std::move(subject);
  f.limit = limit;
  f.now = now;
  f.current = history.empty() ? 0 : history.back().value;
  if (!history.empty() && f.current >= limit) {
    f.outlook = Forecast::Outlook::kReached;
    f.reach = now;
    f.reach_low = now;
    f.reach_high = now;
  }
  const std::vector<UsagePoint> recent = Recent(history);
  f.fit = FitLinearTrend(recent);
  if (f.outlook == Forecast::Outlook::kReached) return f;
  if (!f.fit) {
    f.outlook = Forecast::Outlook::kTooLittleHistory;
    return f;
  }
  const TrendFit& t = *f.fit;
  if (!(t.slope > 0)) {
    f.outlook = Forecast::Outlook::kNotRising;
    return f;
  }
  f.outlook = Forecast::Outlook::kRising;
  const double gap = limit - t.level;
  const double at = t.t_mean + gap / t.slope;
  // Delta method: d t*/d level = -1/slope, d t*/d slope = -gap/slope^2; level and slope are
  // uncorrelated because time is centred.
  const double var = (t.level_se * t.level_se) / (t.slope * t.slope) +
                     (gap * gap) * (t.slope_se * t.slope_se) / std::pow(t.slope, 4);
  const double sd = std::sqrt(std::max(0.0, var));
  f.reach = std::max(at, now);
  f.reach_low = std::max(at - kZ95 * sd, now);
  if (t.slope - kZ95 * t.slope_se > 0) f.reach_high = std::max(at + kZ95 * sd, now);
  return f;
}

std::vector<Forecast> ForecastExhaustion(const UsageHistory& history, const Inventory& inventory,
                                         const std::vector<Tenant>& tenants) {
  std::vector<Forecast> out;
  const double now = history.times.empty() ? 0 : history.times.back();
  auto series = [&](const std::vector<double>& values) {
    std::vector<UsagePoint> pts;
    for (size_t i = 0; i < values.size() && i < history.times.size(); ++i)
      pts.push_back({history.times[i], values[i]});
    return pts;
  };
  for (const Tenant& t : tenants) {
    if (t.quota.gpus && *t.quota.gpus > 0) {
      auto it = history.tenant_gpus.find(t.name);
      const std::vector<UsagePoint> pts =
          it == history.tenant_gpus.end() ? std::vector<UsagePoint>{} : series(it->second);
      out.push_back(ForecastReach("tenant " + t.name + " gpus", pts,
                                  static_cast<double>(*t.quota.gpus), now));
    } else if (t.quota.nodes) {
      auto it = history.tenant_nodes.find(t.name);
      const std::vector<UsagePoint> pts =
          it == history.tenant_nodes.end() ? std::vector<UsagePoint>{} : series(it->second);
      out.push_back(ForecastReach("tenant " + t.name + " nodes", pts,
                                  static_cast<double>(*t.quota.nodes), now));
    }
  }
  std::map<std::string, int> in_service;
  for (const Node& n : inventory.nodes) {
    if (n.state != NodeState::kFailed && n.state != NodeState::kMaintenance)
      ++in_service[n.node_class];
  }
  for (const auto& [cls, values] : history.class_nodes) {
    auto it = in_service.find(cls);
    if (it == in_service.end()) continue;
    out.push_back(ForecastReach("class " + cls + " nodes", series(values), it->second, now));
  }
  return out;
}

}  // namespace topoplace
