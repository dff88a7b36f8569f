#include "model/request_schema.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace topoplace {
namespace {

Request Valid() {
  Request r;
  r.name = "job";
  r.tenant = "lab";
  r.nodes = 4;
  return r;
}

std::set<std::string> Paths(const std::vector<ErrorDetail>& details) {
  std::set<std::string> out;
  for (const ErrorDetail& d : details) out.insert(d.path + ":" + d.code);
  return out;
}

TEST(RequestSchemaTest, AValidRequestHasNoErrors) {
  EXPECT_TRUE(ValidateRequestFields(Valid()).empty());
}

TEST(RequestSchemaTest, EveryBoundOfTheTableIsChecked) {
  Request r = Valid();
  r.nodes = 1'000'001;
  r.select.gpu_count = NumericPredicate{NumericPredicate::Op::kGe, 100};
  r.select.cpu_cores = NumericPredicate{NumericPredicate::Op::kEq, -1};
  r.locality = Locality{Level::kRow, LocalityMode::kRequired, 0};
  r.spread = Spread{Level::kRow, 0, 1.5, 0};
  r.max_cost_per_hour = 0;
  r.priority = 1'000'001;
  r.exclusive = Level::kPod;
  r.select.classes = {"ok", ""};
  EXPECT_EQ(
      Paths(ValidateRequestFields(r)),
      (std::set<std::string>{
          "nodes:out_of_range", "select.gpu.count:out_of_range", "select.cpuCores:out_of_range",
          "topology.locality.maxDomains:out_of_range", "topology.spread.maxPerDomain:out_of_range",
          "topology.spread.maxFraction:out_of_range", "topology.spread.minDomains:out_of_range",
          "budget.maxCostPerHour:out_of_range", "priority:out_of_range", "exclusive:bad_value",
          "select.class[1]:out_of_range"}));
}

TEST(RequestSchemaTest, CrossFieldRules) {
  Request both = Valid();
  both.gpus = 8;
  EXPECT_EQ(Paths(ValidateRequestFields(both)), std::set<std::string>{"gpus:conflicting_fields"});
  Request none = Valid();
  none.nodes.reset();
  EXPECT_EQ(Paths(ValidateRequestFields(none)), std::set<std::string>{"nodes:missing_field"});
  Request spread = Valid();
  spread.spread = Spread{};
  EXPECT_EQ(Paths(ValidateRequestFields(spread)),
            std::set<std::string>{"topology.spread:missing_field"});
  Request label = Valid();
  label.select.labels = {{"fw", LabelPredicate::Op::kIn, {}}};
  EXPECT_EQ(Paths(ValidateRequestFields(label)),
            std::set<std::string>{"select.labels.fw:out_of_range"});
}

TEST(RequestSchemaTest, TheTableDescribesEveryKeyOnceWithItsParentFirst) {
  std::set<std::string> seen;
  for (const RequestField& f : RequestFields()) {
    EXPECT_TRUE(seen.insert(std::string(f.path)).second) << f.path;
    if (!f.parent().empty()) {
      EXPECT_TRUE(seen.count(std::string(f.parent()))) << f.path;
    }
    EXPECT_FALSE(f.doc.empty()) << f.path;
    EXPECT_NE(f.get, nullptr) << f.path;
    EXPECT_NE(f.set, nullptr) << f.path;
    if (f.type == FieldType::kEnum) {
      EXPECT_FALSE(f.values.empty()) << f.path;
    }
  }
  EXPECT_EQ(ChildKeyList("topology.spread"), "level, maxPerDomain, maxFraction, minDomains");
  EXPECT_EQ(LevelNameList(), "nvlink, leaf, rack, row, pod, spine, site, powerDomain");
  const RequestField* level = FindRequestField("topology.locality.level");
  ASSERT_NE(level, nullptr);
  EXPECT_EQ(std::vector<std::string_view>(level->values.begin(), level->values.end()),
            std::vector<std::string_view>(LevelNames().begin(), LevelNames().end()));
  EXPECT_EQ(FindShortKey("gpuCount"), FindRequestField("select.gpu.count"));
}

TEST(RequestSchemaTest, AccessorsWriteWhatTheyRead) {
  for (const RequestField& f : RequestFields()) {
    if (f.type == FieldType::kObject || f.type == FieldType::kLabelMap) continue;
    Request r = Valid();
    const FieldValue v = f.type == FieldType::kStringList
                             ? FieldValue{std::vector<std::string>{"x", "y"}}
                             : PlaceholderValue(f);
    ASSERT_FALSE(std::holds_alternative<std::monostate>(v)) << f.path;
    f.set(r, v);
    EXPECT_EQ(f.get(r), v) << f.path;
  }
}

}  // namespace
}  // namespace topoplace
