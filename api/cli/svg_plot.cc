#include "api/cli/svg_plot.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <string>

#include "api/cli/commands.h"

namespace topoplace {

namespace {

constexpr const char* kColours[] = {"#1b6ac9", "#e0702a", "#2e9e4f", "#b83280", "#6b6b6b"};
constexpr double kPanelW = 380, kPanelH = 300, kGap = 30, kTop = 60, kLeft = 20;
constexpr double kPadL = 52, kPadR = 12, kPadT = 28, kPadB = 40;

std::string Num(double v, int decimals = 1) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

// Text for XML: control characters and broken UTF-8 (not allowed in XML) escaped as a terminal
// would show them, then the markup characters.
std::string Escape(const std::string& s) {
  std::string out;
  for (char c : TerminalText(s)) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

// A "nice" tick step for a range.
double Step(double range, int ticks) {
  if (!(range > 0)) return 1;
  const double raw = range / ticks;
  const double mag = std::pow(10, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 2.5, 5.0, 10.0}) {
    if (raw <= m * mag) return m * mag;
  }
  return 10 * mag;
}

struct Panel {
  double x0, y0;  // top-left of the panel
  double xmin, xmax, ymin, ymax;
  double X(double x) const {
    return x0 + kPadL + (xmax > xmin ? (x - xmin) / (xmax - xmin) : 0) * (kPanelW - kPadL - kPadR);
  }
  double Y(double y) const {
    return y0 + kPadT +
           (1 - (ymax > ymin ? (y - ymin) / (ymax - ymin) : 0)) * (kPanelH - kPadT - kPadB);
  }
};

void Axes(std::string& svg, const Panel& p, const std::string& title, const std::string& xlabel,
          const std::string& ylabel, bool percent, bool x_ticks = true) {
  svg += "<rect x='" + Num(p.x0) + "' y='" + Num(p.y0) + "' width='" + Num(kPanelW) + "' height='" +
         Num(kPanelH) + "' fill='white' stroke='#ddd'/>\n";
  svg += "<text x='" + Num(p.x0 + kPanelW / 2) + "' y='" + Num(p.y0 + 18) +
         "' text-anchor='middle' font-size='13' font-weight='bold'>" + Escape(title) + "</text>\n";
  const double left = p.x0 + kPadL, right = p.x0 + kPanelW - kPadR;
  const double top = p.y0 + kPadT, bottom = p.y0 + kPanelH - kPadB;
  const double ystep = Step(p.ymax - p.ymin, 5);
  for (double y = std::ceil(p.ymin / ystep) * ystep; y <= p.ymax + 1e-9; y += ystep) {
    svg += "<line x1='" + Num(left) + "' x2='" + Num(right) + "' y1='" + Num(p.Y(y)) + "' y2='" +
           Num(p.Y(y)) + "' stroke='#eee'/>\n";
    svg += "<text x='" + Num(left - 5) + "' y='" + Num(p.Y(y) + 4) +
           "' text-anchor='end' font-size='10'>" +
           (percent ? Num(100 * y, 0) + "%" : Num(y, ystep < 1 ? 1 : 0)) + "</text>\n";
  }
  if (x_ticks) {
    const double xstep = Step(p.xmax - p.xmin, 5);
    for (double x = std::ceil(p.xmin / xstep) * xstep; x <= p.xmax + 1e-9; x += xstep) {
      svg += "<line x1='" + Num(p.X(x)) + "' x2='" + Num(p.X(x)) + "' y1='" + Num(bottom) +
             "' y2='" + Num(bottom + 4) + "' stroke='#555'/>\n";
      svg += "<text x='" + Num(p.X(x)) + "' y='" + Num(bottom + 15) +
             "' text-anchor='middle' font-size='10'>" + Num(x, xstep < 1 ? 1 : 0) + "</text>\n";
    }
  }
  svg += "<line x1='" + Num(left) + "' x2='" + Num(right) + "' y1='" + Num(bottom) + "' y2='" +
         Num(bottom) + "' stroke='#555'/>\n";
  svg += "<line x1='" + Num(left) + "' x2='" + Num(left) + "' y1='" + Num(top) + "' y2='" +
         Num(bottom) + "' stroke='#555'/>\n";
  svg += "<text x='" + Num((left + right) / 2) + "' y='" + Num(bottom + 32) +
         "' text-anchor='middle' font-size='11'>" + Escape(xlabel) + "</text>\n";
  svg += "<text transform='translate(" + Num(p.x0 + 13) + "," + Num((top + bottom) / 2) +
         ") rotate(-90)' text-anchor='middle' font-size='11'>" + Escape(ylabel) + "</text>\n";
}

// A step line: each value holds until the next sample.
void Series(std::string& svg, const Panel& p, const std::vector<ReplaySample>& s,
            const std::function<double(const ReplaySample&)>& value, const char* colour,
            bool dashed) {
  if (s.empty()) return;
  std::string points;
  for (size_t i = 0; i < s.size(); ++i) {
    if (i > 0) points += Num(p.X(s[i].time), 2) + "," + Num(p.Y(value(s[i - 1])), 2) + " ";
    points += Num(p.X(s[i].time), 2) + "," + Num(p.Y(value(s[i])), 2) + " ";
  }
  svg += "<polyline fill='none' stroke='" + std::string(colour) + "' stroke-width='1.6'" +
         (dashed ? " stroke-dasharray='5,3'" : "") + " points='" + points + "'/>\n";
}

}  // namespace

std::string ReplayPlotSvg(const std::vector<PolicyReport>& reports, const std::string& title) {
  const double width = kLeft * 2 + 4 * kPanelW + 3 * kGap;
  const double height = kTop + kPanelH + 50;
  std::string svg = "<svg xmlns='http://www.w3.org/2000/svg' width='" + Num(width, 0) +
                    "' height='" + Num(height, 0) + "' viewBox='0 0 " + Num(width, 0) + " " +
                    Num(height, 0) + "' font-family='sans-serif'>\n";
  svg += "<rect width='100%' height='100%' fill='#fafafa'/>\n";
  svg += "<text x='" + Num(kLeft) + "' y='26' font-size='16' font-weight='bold'>" + Escape(title) +
         "</text>\n";
  // Legend.
  double lx = kLeft;
  for (size_t i = 0; i < reports.size(); ++i) {
    const char* colour = kColours[i % 5];
    const PolicyReport& r = reports[i];
    const std::string label = std::string(ReplayPolicyName(r.policy)) + ": " +
                              std::to_string(r.accepted) + " accepted, " +
                              std::to_string(r.rejected) + " rejected, mean GPU ratio " +
                              Num(100 * r.mean_gpu_ratio, 1) + "%";
    svg += "<rect x='" + Num(lx) + "' y='38' width='14' height='4' fill='" + colour + "'/>\n";
    svg += "<text x='" + Num(lx + 18) + "' y='44' font-size='11'>" + Escape(label) + "</text>\n";
    lx += 20 + 6.2 * static_cast<double>(label.size());
  }
  double tmin = 0, tmax = 1;
  bool any = false;
  int max_accepted = 1;
  for (const PolicyReport& r : reports) {
    for (const ReplaySample& s : r.series) {
      tmin = any ? std::min(tmin, s.time) : s.time;
      tmax = any ? std::max(tmax, s.time) : s.time;
      any = true;
      max_accepted = std::max(max_accepted, s.accepted);
    }
  }
  if (tmax <= tmin) tmax = tmin + 1;
  auto panel = [&](int i, double ymin, double ymax) {
    return Panel{kLeft + i * (kPanelW + kGap), kTop, tmin, tmax, ymin, ymax};
  };
  const Panel ratio = panel(0, 0, 1);
  Axes(svg, ratio, "GPU allocation ratio", "time (hours)", "held GPUs / GPUs in service", true);
  const Panel frag = panel(1, 0, 1);
  Axes(svg, frag, "Fragmentation", "time (hours)", "free GPUs outside fully free leaves", true);
  const Panel acc = panel(2, 0, max_accepted * 1.05);
  Axes(svg, acc, "Requests accepted", "time (hours)", "accepted so far", false);
  // Baselines dashed, so a solver line that coincides with one stays visible.
  for (size_t i = 0; i < reports.size(); ++i) {
    const char* colour = kColours[i % 5];
    const bool dashed =
        reports[i].policy == ReplayPolicy::kFirstFit || reports[i].policy == ReplayPolicy::kRandom;
    Series(
        svg, ratio, reports[i].series, [](const ReplaySample& s) { return s.gpu_ratio; }, colour,
        dashed);
    Series(
        svg, frag, reports[i].series, [](const ReplaySample& s) { return s.fragmentation; }, colour,
        dashed);
    Series(
        svg, acc, reports[i].series,
        [](const ReplaySample& s) { return static_cast<double>(s.accepted); }, colour, dashed);
  }
  // Bars: mean leaf and rack span per accepted request.
  double span_max = 1;
  for (const PolicyReport& r : reports)
    span_max = std::max({span_max, r.mean_leaf_span, r.mean_rack_span});
  Panel bars{kLeft + 3 * (kPanelW + kGap), kTop, 0, 1, 0, span_max * 1.15};
  Axes(svg, bars, "Span per accepted request", "leaves (solid) and racks (light)",
       "mean distinct domains", false, /*x_ticks=*/false);
  const double group_w = (kPanelW - kPadL - kPadR) / std::max<size_t>(1, reports.size());
  for (size_t i = 0; i < reports.size(); ++i) {
    const char* colour = kColours[i % 5];
    const double gx = bars.x0 + kPadL + group_w * static_cast<double>(i);
    const double bw = group_w * 0.35;
    const double base = bars.Y(0);
    auto bar = [&](double x, double value, double opacity) {
      svg += "<rect x='" + Num(x) + "' y='" + Num(bars.Y(value)) + "' width='" + Num(bw) +
             "' height='" + Num(base - bars.Y(value)) + "' fill='" + colour + "' fill-opacity='" +
             Num(opacity, 2) + "'/>\n";
      svg += "<text x='" + Num(x + bw / 2) + "' y='" + Num(bars.Y(value) - 3) +
             "' text-anchor='middle' font-size='9'>" + Num(value, 2) + "</text>\n";
    };
    bar(gx + group_w * 0.1, reports[i].mean_leaf_span, 1.0);
    bar(gx + group_w * 0.1 + bw, reports[i].mean_rack_span, 0.45);
    svg += "<text x='" + Num(gx + group_w / 2) + "' y='" + Num(base + 13) +
           "' text-anchor='middle' font-size='10'>" +
           Escape(std::string(ReplayPolicyName(reports[i].policy))) + "</text>\n";
  }
  svg += "</svg>\n";
  return svg;
}

}  // namespace topoplace
