#include "model/status.h"

#include <gtest/gtest.h>

namespace topoplace {
namespace {

TEST(StatusTest, OkHasNoMessage) {
  Status s;
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.ToString(), "OK");
}

TEST(StatusTest, KeepsEveryMessage) {
  Status s(StatusCode::kInvalidArgument, std::vector<std::string>{"a.yaml:1:1: x", "a.yaml:2:3: y"});
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.messages().size(), 2u);
  EXPECT_EQ(s.message(), "a.yaml:1:1: x\na.yaml:2:3: y");
  EXPECT_EQ(s.ToString().rfind("INVALID_ARGUMENT: ", 0), 0u);
}

TEST(ResultTest, HoldsValueOrStatus) {
  Result<int> good(7);
  ASSERT_TRUE(good.ok());
  EXPECT_EQ(*good, 7);
  Result<int> bad(NotFoundError("node r9-n01"));
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(bad.status().message(), "node r9-n01");
}

}  // namespace
}  // namespace topoplace
