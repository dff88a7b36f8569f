// Golden invalid scenarios: each tests/golden/invalid/NAME.yaml must fail to load with exactly the
// messages in NAME.expected (one per line, positions included). Adding a case is adding two files.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "inventory/scenario_codec.h"
#include "inventory/yaml_reader.h"
#include "tests/inventory/test_files.h"

namespace topoplace {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kGoldenDir = "tests/golden/invalid";

std::vector<std::string> CaseNames() {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& entry :
       fs::directory_iterator(fs::path(testing_files::SourceDir()) / kGoldenDir, ec)) {
    if (entry.path().extension() == ".yaml") names.push_back(entry.path().stem().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    lines.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return lines;
}

class GoldenInvalidTest : public ::testing::TestWithParam<std::string> {};

TEST_P(GoldenInvalidTest, ReportsExactlyTheExpectedErrors) {
  const std::string base =
      testing_files::SourceDir() + "/" + std::string(kGoldenDir) + "/" + GetParam();
  const std::string expected_text = testing_files::ReadFile(base + ".expected");
  ASSERT_FALSE(expected_text.empty()) << "missing or empty " << base << ".expected";
  // Messages name the file the way it was given: relative to the repository root.
  const std::string source = std::string(kGoldenDir) + "/" + GetParam() + ".yaml";
  Result<Scenario> r = LoadScenarioString(testing_files::ReadFile(base + ".yaml"), source);
  ASSERT_FALSE(r.ok()) << source << " loaded although it is in the invalid set";
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(r.status().messages(), Lines(expected_text));
}

INSTANTIATE_TEST_SUITE_P(Files, GoldenInvalidTest, ::testing::ValuesIn(CaseNames()),
                         [](const ::testing::TestParamInfo<std::string>& param_info) {
                           return param_info.param;
                         });

TEST(GoldenInvalidSetTest, CoversTheDocumentedErrorKinds) {
  const std::vector<std::string> names = CaseNames();
  EXPECT_GE(names.size(), 24u);
  for (const char* required : {"unknown_key",
                               "wrong_type_list",
                               "wrong_type_number",
                               "bad_level",
                               "dangling_rack",
                               "dangling_leaf",
                               "leaf_is_spine",
                               "power_domain_other_site",
                               "allocation_missing_node",
                               "node_in_two_allocations",
                               "allocation_unknown_tenant",
                               "duplicate_node",
                               "duplicate_rack",
                               "negative_nodes",
                               "nodes_zero",
                               "absurd_nodes",
                               "max_fraction",
                               "nodes_and_gpus",
                               "neither_nodes_nor_gpus",
                               "compliance_not_allowed",
                               "bad_mac",
                               "bad_predicate",
                               "unknown_class_in_select",
                               "bad_api_version",
                               "yaml_syntax_error",
                               "several_errors",
                               "empty",
                               "non_utf8",
                               "generate_total_nodes",
                               "network_rack_pod_not_leaf_pod",
                               "network_leaf_uplink_other_pod",
                               "network_spine_loop",
                               "network_spine_uplink_to_leaf",
                               "network_leaf_without_uplinks",
                               "network_pod_two_spine_groups"}) {
    EXPECT_TRUE(std::find(names.begin(), names.end(), required) != names.end()) << required;
  }
}

TEST(GoldenInvalidSetTest, EveryExpectedFileHasItsScenario) {
  std::error_code ec;
  for (const auto& entry :
       fs::directory_iterator(fs::path(testing_files::SourceDir()) / kGoldenDir, ec)) {
    if (entry.path().extension() != ".expected") continue;
    fs::path yaml = entry.path();
    yaml.replace_extension(".yaml");
    EXPECT_TRUE(fs::exists(yaml)) << entry.path() << " has no scenario";
  }
}

TEST(GoldenInvalidSetTest, SeveralErrorsAreAllReported) {
  const std::string text = testing_files::ReadFile(
      testing_files::SourceDir() + "/" + std::string(kGoldenDir) + "/several_errors.expected");
  EXPECT_GE(Lines(text).size(), 5u);
}

// The limits a golden file cannot reach cheaply, with small limits.
TEST(InputLimitsTest, TooManyYamlValuesAreReportedWhereTheLimitIsPassed) {
  yaml_reader::Diagnostics diag("many.yaml");
  EXPECT_TRUE(yaml_reader::CheckYamlText(diag, "a: [1, 2, 3]\n", 6));  // map, key, list, 3
  EXPECT_TRUE(diag.empty());
  EXPECT_FALSE(yaml_reader::CheckYamlText(diag, "a: [1, 2, 3]\nb: [4, 5]\n", 6));
  EXPECT_EQ(diag.Sorted(), std::vector<std::string>{
                               "many.yaml:2:1: more than 6 YAML values (maps, lists, scalars) "
                               "in one file; expected a smaller scenario (`generate:` entries "
                               "describe large data centres in a few lines)"});
}

// A request string (from a store or a client, not a file) is held to the scenario's limit on YAML
// values too: refused with the limit's message before any of it is parsed (the unknown key below
// would otherwise be reported).
TEST(InputLimitsTest, ARequestStringWithTooManyYamlValuesIsRefusedBeforeItIsParsed) {
  std::string text = "nodes: 2\nunknownKey: [0";
  text.reserve(text.size() + 2 * yaml_reader::kMaxYamlNodes + 4);
  for (size_t i = 0; i < yaml_reader::kMaxYamlNodes; ++i) text += ",0";
  text += "]\n";
  Result<Request> r = LoadRequestString(text, "big.yaml");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  ASSERT_EQ(r.status().messages().size(), 1u) << r.status().message();
  EXPECT_THAT(r.status().messages()[0], ::testing::StartsWith("big.yaml:2:"));
  EXPECT_THAT(r.status().messages()[0],
              ::testing::HasSubstr(": more than " + std::to_string(yaml_reader::kMaxYamlNodes) +
                                   " YAML values (maps, lists, scalars) in one file"));
  // Within the limit the same shape of text is parsed, and its unknown key reported.
  Result<Request> small = LoadRequestString("nodes: 2\nunknownKey: [0, 0]\n", "small.yaml");
  ASSERT_FALSE(small.ok());
  EXPECT_THAT(small.status().message(), ::testing::HasSubstr("unknownKey"));
}

TEST(InputLimitsTest, FilesAreReadUpToTheLimitOnly) {
  const std::string path = ::testing::TempDir() + "/topoplace-limit.yaml";
  { std::ofstream(path, std::ios::binary) << std::string(4097, 'x'); }
  Result<std::string> read = yaml_reader::ReadBoundedFile(path, "scenario", 4096);
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(read.status().reason(), "input_too_large");
  EXPECT_EQ(read.status().messages(),
            std::vector<std::string>{path + ": larger than 4 KiB, the limit for a scenario file; "
                                            "expected a smaller file"});
  Result<std::string> exact = yaml_reader::ReadBoundedFile(path, "scenario", 4097);
  ASSERT_TRUE(exact.ok());
  EXPECT_EQ(exact->size(), 4097u);
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace topoplace
