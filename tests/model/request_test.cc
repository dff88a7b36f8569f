#include "model/request.h"

#include <gtest/gtest.h>

namespace topoplace {
namespace {

TEST(NumericPredicateTest, ParsesEveryOperator) {
  struct Case { const char* text; double probe; bool expected; };
  const Case cases[] = {
      {"8", 8, true},       {"8", 7, false},     {">=8", 8, true},   {">=8", 7, false},
      {"> 8", 9, true},     {">8", 8, false},    {"<4", 3, true},    {"<4", 4, false},
      {"<=1024", 1024, true}, {"!=0", 0, false}, {"==2", 2, true},   {" >= 0.5 ", 0.5, true},
  };
  for (const auto& c : cases) {
    auto p = ParseNumericPredicate(c.text);
    ASSERT_TRUE(p.has_value()) << c.text;
    EXPECT_EQ(p->Matches(c.probe), c.expected) << c.text << " vs " << c.probe;
  }
}

TEST(NumericPredicateTest, RejectsGarbage) {
  for (const char* bad : {"", ">=", "eight", "8x", ">>8", "=8", "nan", "inf"}) {
    EXPECT_FALSE(ParseNumericPredicate(bad).has_value()) << bad;
  }
}

TEST(NumericPredicateTest, PrintsBack) {
  EXPECT_EQ(ParseNumericPredicate(">=8")->ToString(), ">=8");
  EXPECT_EQ(ParseNumericPredicate("1024")->ToString(), "==1024");
}

TEST(WildcardTest, MatchesGpuModels) {
  EXPECT_TRUE(WildcardMatch("H100*", "H100-SXM5-80GB"));
  EXPECT_TRUE(WildcardMatch("*80GB", "H100-SXM5-80GB"));
  EXPECT_TRUE(WildcardMatch("H?00*", "A100-SXM4") == false);
  EXPECT_TRUE(WildcardMatch("?100*", "A100-SXM4"));
  EXPECT_TRUE(WildcardMatch("*", ""));
  EXPECT_FALSE(WildcardMatch("H100", "H100-SXM5"));
  EXPECT_TRUE(WildcardMatch("H100-SXM5", "H100-SXM5"));
  EXPECT_TRUE(WildcardMatch("*S*X*", "H100-SXM5"));
}

TEST(LabelPredicateTest, AllOperators) {
  std::map<std::string, std::string> labels{{"fw", "2.1"}};
  LabelPredicate in{"fw", LabelPredicate::Op::kIn, {"2.0", "2.1"}};
  LabelPredicate not_in{"fw", LabelPredicate::Op::kNotIn, {"2.1"}};
  LabelPredicate exists{"fw", LabelPredicate::Op::kExists, {}};
  LabelPredicate absent{"gpu-driver", LabelPredicate::Op::kDoesNotExist, {}};
  EXPECT_TRUE(in.Matches(labels));
  EXPECT_FALSE(not_in.Matches(labels));
  EXPECT_TRUE(exists.Matches(labels));
  EXPECT_TRUE(absent.Matches(labels));
  EXPECT_TRUE(not_in.Matches({}));  // a missing key is "not in" any set
  EXPECT_FALSE(in.Matches({}));
}

TEST(SpreadTest, CapFromFractionRoundsUp) {
  Spread s;
  s.max_fraction = 0.5;
  EXPECT_EQ(s.CapFor(16), 8);
  EXPECT_EQ(s.CapFor(5), 3);
  s.max_per_domain = 2;
  EXPECT_EQ(s.CapFor(16), 2);  // the tighter of the two
  Spread none;
  EXPECT_FALSE(none.CapFor(4).has_value());
}

TEST(LevelTest, NamesRoundTrip) {
  for (Level l : kAllLevels) EXPECT_EQ(ParseLevel(LevelName(l)), l);
  EXPECT_FALSE(ParseLevel("leafs").has_value());
}

TEST(GdprTest, EuJurisdictions) {
  EXPECT_TRUE(IsGdprJurisdiction("DE"));
  EXPECT_TRUE(IsGdprJurisdiction("EU"));
  EXPECT_FALSE(IsGdprJurisdiction("US"));
}

}  // namespace
}  // namespace topoplace
