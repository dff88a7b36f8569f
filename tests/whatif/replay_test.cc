// Trace replay (deterministic for a seed; first-fit and random behave as named; every placement
// verifies), the CSV trace codec (strict errors with positions), and forecasts.
#include "solver/replay.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <set>
#include <string>
#include <vector>

#include "inventory/scenario_codec.h"
#include "inventory/trace_codec.h"
#include "solver/forecast.h"
#include "solver/verifier.h"
#include "tests/solver/fixtures.h"
#include "tests/whatif/whatif_fixtures.h"

namespace topoplace {
namespace {

using fixtures::MakeProblem;
using fixtures::ReferenceDataCentre;
using fixtures::ReferenceTenants;
using fixtures::RequestBuilder;

TraceEntry Entry(double time, double duration, Request r) {
  TraceEntry e;
  e.time = time;
  e.duration = duration;
  e.request = std::move(r);
  return e;
}

std::vector<std::string> NamesOf(const PlacementProblem& p, const std::vector<int>& nodes) {
  return whatif_testing::Names(p, nodes);
}

// Everything except timings.
void ExpectSameReplay(const PolicyReport& a, const PolicyReport& b) {
  EXPECT_EQ(a.accepted, b.accepted);
  EXPECT_EQ(a.rejected_requests, b.rejected_requests);
  EXPECT_EQ(a.placements, b.placements);
  EXPECT_EQ(a.mean_gpu_ratio, b.mean_gpu_ratio);
  EXPECT_EQ(a.mean_fragmentation, b.mean_fragmentation);
  ASSERT_EQ(a.series.size(), b.series.size());
  for (size_t i = 0; i < a.series.size(); ++i) {
    EXPECT_EQ(a.series[i].gpu_ratio, b.series[i].gpu_ratio);
    EXPECT_EQ(a.series[i].fragmentation, b.series[i].fragmentation);
  }
}

TEST(Replay, FirstFitTakesTheLowestNamesAndRandomShuffles) {
  const PlacementProblem problem = MakeProblem(ReferenceDataCentre(), ReferenceTenants());
  Trace trace;
  trace.entries.push_back(
      Entry(0, 1, RequestBuilder("job", "cv-lab").Nodes(3).Classes({"h100x8"})));
  auto ff = Replay(problem, trace, {ReplayPolicy::kFirstFit});
  ASSERT_TRUE(ff.ok()) << ff.status().message();
  ASSERT_EQ((*ff)[0].placements.size(), 1u);
  EXPECT_EQ(NamesOf(problem, (*ff)[0].placements[0].second),
            (std::vector<std::string>{"r-eu1-n01", "r-eu1-n02", "r-eu1-n03"}))
      << "\"r-eu1\" sorts before \"r1\"";

  // Random: the same seed, the same nodes; other seeds, other nodes (almost never the lowest).
  std::set<std::vector<int>> seen;
  int lowest = 0;
  for (uint64_t seed = 1; seed <= 8; ++seed) {
    ReplayOptions o;
    o.seed = seed;
    auto a = Replay(problem, trace, {ReplayPolicy::kRandom}, o);
    auto b = Replay(problem, trace, {ReplayPolicy::kRandom}, o);
    ASSERT_TRUE(a.ok() && b.ok());
    ASSERT_EQ((*a)[0].placements.size(), 1u);
    EXPECT_EQ((*a)[0].placements, (*b)[0].placements);
    seen.insert((*a)[0].placements[0].second);
    lowest += (*a)[0].placements[0].second == (*ff)[0].placements[0].second;
  }
  EXPECT_GE(seen.size(), 6u) << "eight seeds should give (nearly) eight different draws";
  EXPECT_LE(lowest, 1);
}

TEST(Replay, FirstFitWalksLocalityDomainsInNameOrder) {
  fixtures::DataCentreBuilder b = ReferenceDataCentre();
  b.Hold("r-eu1-n01", "nlp-lab");  // r-eu1 keeps three free H100 nodes
  const PlacementProblem problem = MakeProblem(b, ReferenceTenants());
  Trace trace;
  trace.entries.push_back(Entry(
      0, 1, RequestBuilder("job", "cv-lab").Nodes(4).Classes({"h100x8"}).Locality(Level::kRack)));
  auto ff = Replay(problem, trace, {ReplayPolicy::kFirstFit});
  ASSERT_TRUE(ff.ok());
  ASSERT_EQ((*ff)[0].placements.size(), 1u);
  // r-eu1 comes first by name but holds only three: the next rack by name, r1, takes the job.
  EXPECT_EQ(NamesOf(problem, (*ff)[0].placements[0].second),
            (std::vector<std::string>{"r1-n01", "r1-n02", "r1-n03", "r1-n04"}));
}

TEST(Replay, DeparturesFreeNodesAndMetricsFollow) {
  const PlacementProblem problem = MakeProblem(ReferenceDataCentre(), ReferenceTenants());
  Trace trace;
  // Two four-node racks of H100: a third rack-local job fits only after the first one leaves.
  const auto job = [](const std::string& name) {
    return RequestBuilder(name, "cv-lab").Nodes(4).Classes({"h100x8"}).Locality(Level::kRack);
  };
  trace.entries.push_back(Entry(0, 10, job("a")));
  trace.entries.push_back(Entry(1, 10, job("b")));
  trace.entries.push_back(Entry(2, 10, job("c")));
  trace.entries.push_back(Entry(3, 10, job("d")));  // all three H100 racks taken: rejected
  trace.entries.push_back(Entry(10, 5, job("e")));  // "a" left at 10: fits again
  auto r = Replay(problem, trace,
                  {ReplayPolicy::kAuto, ReplayPolicy::kHeuristic, ReplayPolicy::kFirstFit,
                   ReplayPolicy::kRandom});
  ASSERT_TRUE(r.ok()) << r.status().message();
  for (const PolicyReport& p : *r) {
    SCOPED_TRACE(std::string(ReplayPolicyName(p.policy)));
    EXPECT_EQ(p.accepted, 4);
    EXPECT_EQ(p.rejected_requests, std::vector<std::string>{"d"});
    EXPECT_EQ(p.mean_leaf_span, 1.0);
    EXPECT_EQ(p.gpus_accepted, 4 * 32);
    // At the end everything has left.
    EXPECT_EQ(p.series.back().gpu_ratio, 0.0);
    EXPECT_EQ(p.series.back().running, 0);
    // Three racks of 32 GPUs held from t=2 to t=10, the end of the arrival window.
    EXPECT_GT(p.mean_gpu_ratio, 0.5);
  }
}

// Every placement of every policy verifies against the state it was made in (replayed by hand).
TEST(ReplayProperty, EveryPlacementVerifiesAndSeedsRepeat) {
  for (uint64_t seed = 1; seed <= 30; ++seed) {
    fixtures::RandomDataCentreOptions o;
    o.max_nodes = 30;
    const PlacementProblem problem = fixtures::RandomDataCentre(seed, o);
    Trace trace;
    fixtures::Rng rng(seed);
    for (int i = 0; i < 25; ++i) {
      Request r = fixtures::RandomRequest(seed * 100 + i, problem);
      r.name = "r" + std::to_string(i);
      trace.entries.push_back(Entry(i * 0.5, 0.5 + static_cast<double>(rng.Below(8)), r));
    }
    ReplayOptions ro;
    ro.seed = seed;
    ro.time_limit_seconds = 2;
    const std::vector<ReplayPolicy> policies = {ReplayPolicy::kHeuristic, ReplayPolicy::kFirstFit,
                                                ReplayPolicy::kRandom};
    auto a = Replay(problem, trace, policies, ro);
    auto b = Replay(problem, trace, policies, ro);
    ASSERT_TRUE(a.ok()) << a.status().message();
    ASSERT_TRUE(b.ok());
    for (size_t p = 0; p < policies.size(); ++p) {
      SCOPED_TRACE("seed " + std::to_string(seed) + " " +
                   std::string(ReplayPolicyName(policies[p])));
      ExpectSameReplay((*a)[p], (*b)[p]);
      // Re-run the events by hand and verify each placement where it was made.
      auto snap = std::make_shared<Snapshot>(*problem.snapshot);
      PlacementProblem state{snap, problem.tenants};
      struct Held {
        double until;
        std::vector<int> nodes;
      };
      std::vector<Held> held;
      size_t next = 0;
      for (const TraceEntry& e : trace.entries) {
        for (auto it = held.begin(); it != held.end();) {
          if (it->until <= e.time) {
            for (int n : it->nodes) snap->states.Free(n);
            it = held.erase(it);
          } else {
            ++it;
          }
        }
        const auto& placements = (*a)[p].placements;
        if (next < placements.size() && placements[next].first == e.request.name) {
          const std::vector<int>& nodes = placements[next].second;
          EXPECT_TRUE(VerifyPlacement(state, e.request, nodes).empty()) << e.request.name;
          for (int n : nodes) snap->states.Allocate(n, e.request.tenant, std::nullopt);
          held.push_back({e.time + e.duration, nodes});
          ++next;
        }
      }
      EXPECT_EQ(next, (*a)[p].placements.size());
    }
  }
}

TEST(TraceCodec, ReadsColumnsInAnyOrderWithCommentsAndQuotes) {
  const std::string csv =
      "# a comment\n"
      "name,time,tenant,gpus,nodes,duration,class,select,locality,spread,compliance\n"
      "late,2.5,nlp-lab,,2,1,h100x8,\"memoryGiB>=1024;label.fw=2\",rack:required,"
      "powerDomain:max=1,hipaa\n"
      "\n"
      "early,0,cv-lab,16,,3.5,,,,,\n";
  Scenario s;
  const PlacementProblem p = MakeProblem(ReferenceDataCentre(), ReferenceTenants());
  s.inventory = p.snapshot->inventory;
  s.tenants = p.tenants;
  auto t = LoadTraceString(csv, "t.csv", &s);
  ASSERT_TRUE(t.ok()) << t.status().message();
  ASSERT_EQ(t->entries.size(), 2u);
  EXPECT_EQ(t->entries[0].request.name, "early") << "sorted by arrival";
  EXPECT_EQ(t->entries[0].request.gpus, 16);
  EXPECT_EQ(t->entries[0].duration, 3.5);
  const Request& late = t->entries[1].request;
  EXPECT_EQ(t->entries[1].line, 3);
  EXPECT_EQ(late.nodes, 2);
  ASSERT_TRUE(late.select.memory_gib);
  EXPECT_EQ(late.select.labels.size(), 1u);
  ASSERT_TRUE(late.locality);
  EXPECT_EQ(late.locality->level, Level::kRack);
  ASSERT_TRUE(late.spread);
  EXPECT_EQ(late.spread->max_per_domain, 1);
  EXPECT_EQ(late.compliance, std::vector<std::string>{"hipaa"});
  // Dump and load give the same requests.
  auto again = LoadTraceString(DumpTrace(*t), "again.csv", &s);
  ASSERT_TRUE(again.ok()) << again.status().message() << "\n" << DumpTrace(*t);
  ASSERT_EQ(again->entries.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(again->entries[i].request, t->entries[i].request);
    EXPECT_EQ(again->entries[i].time, t->entries[i].time);
  }
}

TEST(TraceCodec, EveryErrorHasFileLineAndColumn) {
  Scenario s;
  const PlacementProblem p = MakeProblem(ReferenceDataCentre(), ReferenceTenants());
  s.inventory = p.snapshot->inventory;
  s.tenants = p.tenants;
  const std::string csv =
      "time,name,tenant,nodes,gpus,duration,class,locality\n"
      "x,a,nlp-lab,1,,1,h100x8,\n"
      "1,b,nobody,1,,0,h200x8,leafs\n"
      "2,a,cv-lab,1,8,1,,\n"
      "3,c,cv-lab,1\n"
      "4,\"d,cv-lab,1,,1,,\n";
  auto t = LoadTraceString(csv, "bad.csv", &s);
  ASSERT_FALSE(t.ok());
  const std::vector<std::string> expected = {
      "bad.csv:2:1: time: \"x\" is not a time; expected hours >= 0",
      "bad.csv:3:5: tenant: no tenant named \"nobody\"; expected one of bio-lab, cv-lab, nlp-lab",
      "bad.csv:3:15: duration: \"0\" is not a duration; expected hours > 0",
      "bad.csv:3:17: class: no node class named \"h200x8\"; expected one of a100x8, cpu, gb200x4, "
      "h100x8, l40sx4",
      "bad.csv:3:24: locality: unknown level \"leafs\"; expected one of nvlink, leaf, rack, row, "
      "pod, spine, site, powerDomain",
      "bad.csv:4:3: name: \"a\" is already used on line 2; expected names unique in the trace",
      "bad.csv:4:14: gpus: both nodes and gpus; expected exactly one",
      "bad.csv:5:1: 4 fields; expected 8 as in the header",
      "bad.csv:6:3: an unterminated quote; expected a closing \""};
  EXPECT_EQ(t.status().messages(), expected);

  auto header = LoadTraceString("time,name,who,nodes,duration\n", "h.csv", &s);
  ASSERT_FALSE(header.ok());
  const std::vector<std::string> header_expected = {
      "h.csv:1:1: no tenant column; expected a header with time, name, tenant, nodes or gpus, "
      "duration",
      "h.csv:1:11: unknown column \"who\"; expected one of time, name, tenant, nodes, gpus, "
      "duration, class, select, locality, spread, compliance, exclusive, roce, maxCostPerHour, "
      "priority, purpose"};
  EXPECT_EQ(header.status().messages(), header_expected);

  // Bytes that are not UTF-8 are reported where they are; control characters are quoted
  // escaped and cut short, so they cannot garble a terminal.
  auto broken = LoadTraceString(
      std::string("time,name,tenant,nodes,duration,w\x01\xff") + std::string(200, 'x') + "\n",
      "g.csv", &s);
  ASSERT_FALSE(broken.ok());
  EXPECT_EQ(broken.status().messages(),
            std::vector<std::string>{"g.csv:1:35: invalid UTF-8 (byte 0xff); expected UTF-8 text"});
  auto garbage = LoadTraceString(
      std::string("time,name,tenant,nodes,duration,w\x01\x1b") + std::string(200, 'x') + "\n",
      "g.csv", &s);
  ASSERT_FALSE(garbage.ok());
  const std::string message = garbage.status().messages().front();
  EXPECT_NE(message.find("unknown column \"w\\x01\\x1bxxx"), std::string::npos) << message;
  EXPECT_NE(message.find("...\""), std::string::npos) << message;
  EXPECT_LT(message.size(), 400u) << message;
}

TEST(Forecast, LinearTrendWithUncertainty) {
  // 100 + 2 t with a small deterministic wobble, t = 0..49: reaches 300 at t = 100.
  std::vector<UsagePoint> h;
  for (int t = 0; t < 50; ++t) h.push_back({static_cast<double>(t), 100 + 2.0 * t + ((t % 3) - 1)});
  auto fit = FitLinearTrend(h);
  ASSERT_TRUE(fit);
  EXPECT_NEAR(fit->slope, 2.0, 0.05);
  EXPECT_GT(fit->slope_se, 0);
  const Forecast f = ForecastReach("tenant x gpus", h, 300, 49);
  EXPECT_EQ(f.outlook, Forecast::Outlook::kRising);
  ASSERT_TRUE(f.reach && f.reach_low && f.reach_high);
  EXPECT_NEAR(*f.reach, 100, 3);
  EXPECT_LT(*f.reach_low, 100);
  EXPECT_GT(*f.reach_high, 100);

  // Falling: never; already over: reached; too short: too little history.
  std::vector<UsagePoint> flat;
  for (int t = 0; t < 20; ++t) flat.push_back({static_cast<double>(t), 50.0 - 0.01 * t});
  EXPECT_EQ(ForecastReach("f", flat, 100, 19).outlook, Forecast::Outlook::kNotRising);
  EXPECT_EQ(ForecastReach("f", flat, 40, 19).outlook, Forecast::Outlook::kReached);
  EXPECT_EQ(ForecastReach("f", std::vector<UsagePoint>{{0, 1}, {1, 2}}, 100, 1).outlook,
            Forecast::Outlook::kTooLittleHistory);
  // A rise whose slope is not clearly above zero (noise of +-40 around +3 per step) has no upper
  // end: the limit may never be reached.
  std::vector<UsagePoint> noisy;
  for (int t = 0; t < 12; ++t) {
    noisy.push_back({static_cast<double>(t), 50.0 + (t % 2 == 0 ? -40 : 40) + 3.0 * t});
  }
  const Forecast n = ForecastReach("n", noisy, 500, 11);
  EXPECT_EQ(n.outlook, Forecast::Outlook::kRising);
  EXPECT_TRUE(n.reach.has_value());
  EXPECT_FALSE(n.reach_high.has_value());
}

TEST(Forecast, AFlatSeriesNeverReachesItsLimit) {
  // Flat usage at awkward times and levels: least squares leaves a slope of rounding noise
  // (1e-17 or so), which must read as flat, not as "reaches its limit at hour 5.5e16".
  int rising = 0;
  for (double level : {0.3, 7.1, 123.456, 2048.0, 99999.9}) {
    for (double start : {0.0, 0.7, 1234.5678}) {
      std::vector<UsagePoint> h;
      for (int k = 0; k < 40; ++k) h.push_back({start + 0.1 * k + 0.013 * (k % 7), level});
      const Forecast f = ForecastReach("flat", h, level * 2 + 1, h.back().time);
      ASSERT_TRUE(f.fit.has_value());
      EXPECT_EQ(f.fit->slope, 0) << level << " from " << start;
      rising += f.outlook == Forecast::Outlook::kRising;
      EXPECT_EQ(f.outlook, Forecast::Outlook::kNotRising) << level << " from " << start;
      EXPECT_FALSE(f.reach.has_value()) << level << " from " << start << ": " << *f.reach;
    }
  }
  EXPECT_EQ(rising, 0);
  // A slow but real rise (0.1 over the span, on a level of 1000) is still a trend.
  std::vector<UsagePoint> slow;
  for (int t = 0; t <= 100; ++t) slow.push_back({static_cast<double>(t), 1000 + 0.001 * t});
  const Forecast f = ForecastReach("slow", slow, 1001, 100);
  EXPECT_EQ(f.outlook, Forecast::Outlook::kRising);
  ASSERT_TRUE(f.reach.has_value());
  EXPECT_NEAR(*f.reach, 1000, 1);
}

TEST(Forecast, DemandHistoryAddsTheTraceToWhatIsHeld) {
  fixtures::DataCentreBuilder b = ReferenceDataCentre();
  b.Hold("r1-n01", "nlp-lab");
  const PlacementProblem p = MakeProblem(b, ReferenceTenants());
  Trace trace;
  trace.entries.push_back(Entry(0, 2, RequestBuilder("a", "nlp-lab").Nodes(2).Classes({"h100x8"})));
  trace.entries.push_back(Entry(1, 2, RequestBuilder("b", "nlp-lab").Gpus(16)));
  trace.entries.push_back(
      Entry(2.5, 5, RequestBuilder("c", "nlp-lab").Nodes(1).Classes({"h100x8"})));
  const UsageHistory h = DemandHistory(trace, p.snapshot->inventory);
  // Departures after the last arrival (b at 3, c at 7.5) are the drain, not the trend: cut.
  ASSERT_EQ(h.times, (std::vector<double>{0, 1, 2, 2.5}));
  EXPECT_EQ(h.tenant_gpus.at("nlp-lab"), (std::vector<double>{24, 40, 24, 32}));
  EXPECT_EQ(h.tenant_nodes.at("nlp-lab"), (std::vector<double>{3, 5, 3, 4}));
  EXPECT_EQ(h.class_nodes.at("h100x8"), (std::vector<double>{3, 3, 1, 2}));
}

}  // namespace
}  // namespace topoplace
