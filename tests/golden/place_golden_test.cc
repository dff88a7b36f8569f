// Golden placements: each tests/golden/place/NAME.yaml is a scenario whose requests are solved one
// by one against its state; NAME.expected says, per request, what the answer must be:
//
//   # comment
//   REQUEST: optimal OBJECTIVE BOUND
//   REQUEST: evicts COUNT PRIORITY_SUM
//   REQUEST: infeasible
//
// `evicts` is for a request with `preemption:` that fits only by evicting: the exact backends must
// evict exactly COUNT allocations whose priorities sum to PRIORITY_SUM (the least any placement
// needs, the count first); the heuristic must evict no fewer (and at an equal count, no lower
// sum) or report that it found nothing. An `optimal` request evicts nothing. The problem holds the
// scenario's allocations as the holdings a preempting request chooses from, and its policy.
//
// Invariants, not node lists (ties between equally good nodes are the backends' to break). The
// exact backends (ilp, auto) must prove the expected optimum: status `optimal`, the objective and
// the bound equal to the expected values. The heuristic must place every request that has a
// placement with an objective no better than the optimum, or report that it found none
// (noSolutionFound, never infeasible); it must never place an infeasible one. Every placement
// passes the independent verifier. Adding a case is adding two files.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>

#include "inventory/scenario_codec.h"
#include "solver/solver.h"
#include "solver/verifier.h"

namespace topoplace {
namespace {

namespace fs = std::filesystem;

std::string SourceDir() {
  const char* env = std::getenv("TOPOPLACE_SOURCE_DIR");
  return env != nullptr && *env != '\0' ? std::string(env)
                                        : std::string(TOPOPLACE_SOURCE_DIR_DEFAULT);
}

fs::path GoldenDir() { return fs::path(SourceDir()) / "tests/golden/place"; }

std::vector<std::string> CaseNames() {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(GoldenDir(), ec)) {
    if (entry.path().extension() == ".yaml") names.push_back(entry.path().stem().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

struct Expected {
  bool placed = false;
  double objective = 0;
  double bound = 0;
  std::optional<int> evictions;  // `evicts`: how many, and the sum of their priorities
  long priority_sum = 0;
};

// Parses NAME.expected; a malformed line fails the test that reads it.
std::map<std::string, Expected> ReadExpected(const fs::path& path) {
  std::map<std::string, Expected> out;
  std::ifstream in(path);
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (line.empty() || line[0] == '#') continue;
    const size_t colon = line.find(':');
    std::istringstream rest(colon == std::string::npos ? "" : line.substr(colon + 1));
    std::string status;
    rest >> status;
    Expected e;
    if (status == "optimal") {
      e.placed = true;
      rest >> e.objective >> e.bound;
      if (!rest) ADD_FAILURE() << path << ":" << number << ": expected OBJECTIVE BOUND";
    } else if (status == "evicts") {
      e.placed = true;
      int count = 0;
      rest >> count >> e.priority_sum;
      if (!rest) ADD_FAILURE() << path << ":" << number << ": expected COUNT PRIORITY_SUM";
      e.evictions = count;
    } else if (status != "infeasible") {
      ADD_FAILURE() << path << ":" << number << ": expected optimal, evicts or infeasible, got "
                    << line;
      continue;
    }
    out[line.substr(0, colon)] = e;
  }
  return out;
}

bool Placed(const PlacementResult& r) { return HasPlacement(r.status); }

bool Near(double a, double b) { return std::abs(a - b) <= 1e-6 * std::max(1.0, std::abs(b)); }

class GoldenPlaceTest : public ::testing::TestWithParam<std::string> {};

TEST_P(GoldenPlaceTest, EveryBackendMeetsTheExpectedAnswer) {
  const fs::path base = GoldenDir() / GetParam();
  Result<Scenario> scenario = LoadScenarioFile(base.string() + ".yaml");
  ASSERT_TRUE(scenario.ok()) << scenario.status().message();
  const std::map<std::string, Expected> expected = ReadExpected(base.string() + ".expected");
  ASSERT_EQ(expected.size(), scenario->requests.size())
      << "every request of the scenario needs exactly one expected line";
  auto snapshot = MakeSnapshot(scenario->inventory);
  ASSERT_TRUE(snapshot.ok()) << snapshot.status().message();
  PlacementProblem problem{*snapshot, scenario->tenants};
  problem.holdings = HoldingsOf(scenario->inventory, scenario->allocations);
  problem.preempt_across_tenants = scenario->policy.preempt_across_tenants;

  for (const std::string backend : {"ilp", "auto", "heuristic"}) {
    SolveOptions options;
    options.backend = backend;
    options.time_limit_seconds = 30;
    Result<std::vector<PlacementResult>> results = Solve(problem, scenario->requests, options);
    ASSERT_TRUE(results.ok()) << backend << ": " << results.status().message();
    ASSERT_EQ(results->size(), scenario->requests.size());
    for (size_t i = 0; i < results->size(); ++i) {
      const Request& request = scenario->requests[i];
      const PlacementResult& r = (*results)[i];
      SCOPED_TRACE(backend + " on request " + request.name);
      auto it = expected.find(request.name);
      ASSERT_NE(it, expected.end()) << "no expected line for " << request.name;
      const Expected& want = it->second;
      if (Placed(r)) {
        const auto violations = VerifyResult(problem, request, r);
        EXPECT_TRUE(violations.empty())
            << violations.front().constraint << ": " << violations.front().detail;
      }
      if (!want.placed) {
        EXPECT_FALSE(Placed(r)) << "placed a request that has no placement, objective "
                                << r.objective.total;
        EXPECT_TRUE(r.evictions.empty()) << "evicted for a request it did not place";
        continue;
      }
      if (want.evictions) {
        if (!Placed(r)) {
          ASSERT_NE(backend, "ilp") << "no placement: " << SolveStatusName(r.status);
          ASSERT_NE(backend, "auto") << "no placement: " << SolveStatusName(r.status);
          EXPECT_EQ(r.status, SolveStatus::kNoSolutionFound) << SolveStatusName(r.status);
          continue;
        }
        const int count = static_cast<int>(r.evictions.size());
        long sum = 0;
        std::string names;
        for (const Eviction& e : r.evictions) {
          sum += e.priority;
          names += " " + e.allocation;
        }
        if (backend == "heuristic") {
          EXPECT_GE(count, *want.evictions) << "evicts" << names;
          if (count == *want.evictions) {
            EXPECT_GE(sum, want.priority_sum) << "evicts" << names;
          }
        } else {
          EXPECT_EQ(count, *want.evictions) << "evicts" << names;
          EXPECT_EQ(sum, want.priority_sum) << "evicts" << names;
        }
        continue;
      }
      EXPECT_TRUE(r.evictions.empty()) << "evicted although the request fits without";
      if (backend == "heuristic") {
        if (Placed(r)) {
          EXPECT_GE(r.objective.total, want.objective - 1e-6);
        } else {
          // A miss is not a proof: a request that has a placement is never called infeasible.
          EXPECT_EQ(r.status, SolveStatus::kNoSolutionFound) << SolveStatusName(r.status);
        }
        continue;
      }
      ASSERT_EQ(r.status, SolveStatus::kOptimal) << SolveStatusName(r.status);
      EXPECT_TRUE(Near(r.objective.total, want.objective))
          << "objective " << r.objective.total << ", expected " << want.objective;
      ASSERT_TRUE(r.bound.has_value());
      EXPECT_TRUE(Near(*r.bound, want.bound))
          << "bound " << *r.bound << ", expected " << want.bound;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Files, GoldenPlaceTest, ::testing::ValuesIn(CaseNames()),
                         [](const ::testing::TestParamInfo<std::string>& param_info) {
                           std::string name = param_info.param;
                           std::replace(name.begin(), name.end(), '-', '_');
                           return name;
                         });

TEST(GoldenPlaceSetTest, HoldsCases) { EXPECT_GE(CaseNames().size(), 8u); }

}  // namespace
}  // namespace topoplace
