// One request language, described once (model/request_schema.h): the same bad value written as
// YAML, as JSON and in the short form is rejected with the same path and code; what one writer
// writes, every reader reads back; the OpenAPI Request schema carries the table's bounds and
// levels; and the CLI's capacity command rejects a shape the YAML loader rejects.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "api/http/service.h"
#include "api/request_json.h"
#include "inventory/scenario_codec.h"
#include "inventory/short_request.h"
#include "model/request_schema.h"
#include "tests/api/cli_runner.h"

namespace topoplace {
namespace {

struct BadValue {
  const char* yaml;   // a request file
  const char* json;   // a request body
  const char* shape;  // the short form
  const char* path;   // where, as a key path
  const char* code;
};

// Every bound and enum of the table, once per language.
const std::vector<BadValue>& Cases() {
  static const std::vector<BadValue> kCases = {
      {"nodes: 2\nselect: {gpu: {count: \">=100\"}}\n",
       R"({"nodes": 2, "select": {"gpu": {"count": ">=100"}}})", "nodes=2,gpuCount=>=100",
       "select.gpu.count", "out_of_range"},
      {"nodes: 0\n", R"({"nodes": 0})", "nodes=0", "nodes", "out_of_range"},
      {"nodes: -3\n", R"({"nodes": -3})", "nodes=-3", "nodes", "out_of_range"},
      {"gpus: 64000001\n", R"({"gpus": 64000001})", "gpus=64000001", "gpus", "out_of_range"},
      {"nodes: 2\nselect: {memoryGiB: \">=2000000\"}\n",
       R"({"nodes": 2, "select": {"memoryGiB": ">=2000000"}})", "nodes=2,memoryGiB>=2000000",
       "select.memoryGiB", "out_of_range"},
      {"nodes: 2\nselect: {cpuCores: 5000}\n", R"({"nodes": 2, "select": {"cpuCores": 5000}})",
       "nodes=2,cpuCores=5000", "select.cpuCores", "out_of_range"},
      {"nodes: 2\nselect: {storageGiB: \"<2e7\"}\n",
       R"({"nodes": 2, "select": {"storageGiB": "<2e7"}})", "nodes=2,storageGiB=<2e7",
       "select.storageGiB", "out_of_range"},
      {"nodes: 2\ntopology: {locality: {level: leaf, maxDomains: 0}}\n",
       R"({"nodes": 2, "topology": {"locality": {"level": "leaf", "maxDomains": 0}}})",
       "nodes=2,locality=leaf:required:0", "topology.locality.maxDomains", "out_of_range"},
      {"nodes: 2\ntopology: {locality: {level: leafs}}\n",
       R"({"nodes": 2, "topology": {"locality": {"level": "leafs"}}})", "nodes=2,locality=leafs",
       "topology.locality.level", "bad_value"},
      {"nodes: 2\ntopology: {spread: {level: row, maxFraction: 1.5}}\n",
       R"({"nodes": 2, "topology": {"spread": {"level": "row", "maxFraction": 1.5}}})",
       "nodes=2,spread=row:1.5", "topology.spread.maxFraction", "out_of_range"},
      {"nodes: 2\ntopology: {spread: {level: row, maxPerDomain: 0}}\n",
       R"({"nodes": 2, "topology": {"spread": {"level": "row", "maxPerDomain": 0}}})",
       "nodes=2,spread=row:max=0", "topology.spread.maxPerDomain", "out_of_range"},
      {"nodes: 2\ntopology: {spread: {level: rack, minDomains: 2000000}}\n",
       R"({"nodes": 2, "topology": {"spread": {"level": "rack", "minDomains": 2000000}}})",
       "nodes=2,spread=rack:min=2000000", "topology.spread.minDomains", "out_of_range"},
      {"nodes: 2\nbudget: {maxCostPerHour: 0}\n",
       R"({"nodes": 2, "budget": {"maxCostPerHour": 0}})", "nodes=2,maxCostPerHour=0",
       "budget.maxCostPerHour", "out_of_range"},
      {"nodes: 2\npriority: 2000000\n", R"({"nodes": 2, "priority": 2000000})",
       "nodes=2,priority=2000000", "priority", "out_of_range"},
      {"nodes: 2\nexclusive: pod\n", R"({"nodes": 2, "exclusive": "pod"})", "nodes=2,exclusive=pod",
       "exclusive", "bad_value"},
      {"nodes: 2\npurpose: k8s\n", R"({"nodes": 2, "purpose": "k8s"})", "nodes=2,purpose=k8s",
       "purpose", "bad_value"},
      {"nodes: 2\ngpus: 8\n", R"({"nodes": 2, "gpus": 8})", "nodes=2,gpus=8", "gpus",
       "conflicting_fields"},
      {"select: {class: h100x8}\n", R"({"select": {"class": "h100x8"}})", "class=h100x8", "nodes",
       "missing_field"},
  };
  return kCases;
}

TEST(RequestLanguageTest, TheSameBadValueGetsTheSamePathAndCodeInEveryLanguage) {
  for (const BadValue& c : Cases()) {
    SCOPED_TRACE(c.shape);
    Result<Request> yaml = LoadRequestString(c.yaml, "shape.yaml");
    ASSERT_FALSE(yaml.ok());
    ASSERT_EQ(yaml.status().details().size(), 1u) << yaml.status().message();
    EXPECT_EQ(yaml.status().details()[0].path, c.path) << yaml.status().message();
    EXPECT_EQ(yaml.status().details()[0].code, c.code) << yaml.status().message();

    std::vector<BodyError> parse_errors;
    const nlohmann::json body = ParseJsonBody(c.json, parse_errors);
    ASSERT_TRUE(parse_errors.empty());
    const DecodedRequest json = DecodeRequestJson(body);
    ASSERT_EQ(json.errors.size(), 1u) << json.errors.front().detail;
    EXPECT_EQ(json.errors[0].pointer, KeyPathToPointer(c.path)) << json.errors[0].detail;
    EXPECT_EQ(json.errors[0].code, c.code) << json.errors[0].detail;

    Result<Request> shape = ParseShortRequest(c.shape, "--shape");
    ASSERT_FALSE(shape.ok());
    ASSERT_EQ(shape.status().details().size(), 1u) << shape.status().message();
    EXPECT_EQ(shape.status().details()[0].path, c.path) << shape.status().message();
    EXPECT_EQ(shape.status().details()[0].code, c.code) << shape.status().message();
  }
}

TEST(RequestLanguageTest, YamlErrorsKeepFileLineColumnAndScenarioPaths) {
  Result<Request> r =
      LoadRequestString("nodes: 2\nselect:\n  gpu: {count: \">=100\"}\n", "shape.yaml");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            "shape.yaml:3:16: select.gpu.count: \">=100\" is out of range; expected a number or a "
            "comparison like \">=8\", with a value from 0 to 64");
}

Request FullRequest() {
  Request r;
  r.name = "llm-train";
  r.tenant = "nlp-lab";
  r.project = "llm";
  r.gpus = 64;
  r.select.classes = {"h100x8", "a100x8"};
  r.select.gpu_models = {"H100*"};
  r.select.gpu_count = NumericPredicate{NumericPredicate::Op::kGe, 8};
  r.select.memory_gib = NumericPredicate{NumericPredicate::Op::kGt, 1024};
  r.select.cpu_cores = NumericPredicate{NumericPredicate::Op::kEq, 112};
  r.select.storage_gib = NumericPredicate{NumericPredicate::Op::kLe, 30000};
  // In name order: a JSON object's keys have no order of their own.
  r.select.labels = {{"fw", LabelPredicate::Op::kIn, {"2.1"}},
                     {"ib", LabelPredicate::Op::kExists, {}},
                     {"zone", LabelPredicate::Op::kNotIn, {"a", "b"}}};
  r.locality = Locality{Level::kRow, LocalityMode::kPreferred, 2};
  r.spread = Spread{Level::kRow, 3, 0.5, 2};
  r.compliance = {"hipaa"};
  r.exclusive = Level::kLeaf;
  r.roce = true;
  r.max_cost_per_hour = 1600.5;
  r.purpose = Purpose::kSlurm;
  r.priority = -7;
  r.preemption = Preemption{PreemptionScope::kAll, 2};
  return r;
}

TEST(RequestLanguageTest, EveryWriterIsReadBackByItsReader) {
  const Request r = FullRequest();
  ASSERT_TRUE(ValidateRequestFields(r).empty());
  Result<Request> yaml = LoadRequestString(DumpRequest(r), "dump");
  ASSERT_TRUE(yaml.ok()) << yaml.status().message() << "\n" << DumpRequest(r);
  EXPECT_EQ(*yaml, r) << DumpRequest(r);

  const DecodedRequest json = DecodeRequestJson(nlohmann::json::parse(EncodeRequestJson(r).dump()));
  ASSERT_TRUE(json.errors.empty()) << json.errors.front().pointer << json.errors.front().detail;
  EXPECT_EQ(json.request, r) << EncodeRequestJson(r).dump();

  // The short form carries everything but name, tenant, project and the labels that are not plain
  // values.
  Request short_form = r;
  short_form.name.clear();
  short_form.tenant.clear();
  short_form.project.clear();
  short_form.select.labels.resize(1);
  short_form.preemption.reset();
  Result<Request> shape = ParseShortRequest(ShortRequestText(short_form), "--shape");
  ASSERT_TRUE(shape.ok()) << shape.status().message() << "\n" << ShortRequestText(short_form);
  EXPECT_EQ(*shape, short_form) << ShortRequestText(short_form);
}

TEST(RequestLanguageTest, OpenApiRequestSchemaCarriesTheTableBoundsAndLevels) {
  const Json doc = OpenApiDocument(AllRoutes());
  const Json& request = doc["components"]["schemas"]["Request"];
  const Json& props = request["properties"];
  EXPECT_EQ(props["nodes"]["minimum"], 1);
  EXPECT_EQ(props["nodes"]["maximum"], 1000000);
  EXPECT_EQ(props["select"]["properties"]["gpu"]["properties"]["count"]["oneOf"][0]["maximum"], 64);
  const Json& level = props["topology"]["properties"]["locality"]["properties"]["level"];
  std::vector<std::string> levels;
  for (const auto& l : level["enum"]) levels.push_back(l.get<std::string>());
  EXPECT_EQ(levels, (std::vector<std::string>{"nvlink", "leaf", "rack", "row", "pod", "spine",
                                              "site", "powerDomain"}));
  EXPECT_EQ(props["topology"]["properties"]["spread"]["required"], Json::array({"level"}));
  EXPECT_EQ(
      props["topology"]["properties"]["spread"]["properties"]["maxFraction"]["exclusiveMinimum"],
      0);
  // Every top-level key of the table, and no other.
  std::vector<std::string> keys;
  for (const auto& [k, v] : props.items()) keys.push_back(k);
  std::vector<std::string> table;
  for (const RequestField* f : ChildFields("")) table.emplace_back(f->key());
  EXPECT_EQ(keys, table);
}

// Preemption has no short form: its bad values are checked in YAML and JSON.
TEST(RequestLanguageTest, BadPreemptionGetsTheSamePathAndCodeInYamlAndJson) {
  struct Case {
    const char* yaml;
    const char* json;
    const char* path;
    const char* code;
  };
  const Case cases[] = {
      {"nodes: 2\npriority: 5\npreemption: {scope: everyone}\n",
       R"({"nodes": 2, "priority": 5, "preemption": {"scope": "everyone"}})", "preemption.scope",
       "bad_value"},
      {"nodes: 2\npriority: 5\npreemption: {maxEvictions: 0}\n",
       R"({"nodes": 2, "priority": 5, "preemption": {"maxEvictions": 0}})",
       "preemption.maxEvictions", "out_of_range"},
      {"nodes: 2\npriority: 5\npreemption: {policy: newest}\n",
       R"({"nodes": 2, "priority": 5, "preemption": {"policy": "newest"}})", "preemption.policy",
       "bad_value"},
      {"nodes: 2\npriority: 5\npreemption: 5\n", R"({"nodes": 2, "priority": 5, "preemption": 5})",
       "preemption", "wrong_type"},
      {"nodes: 2\npriority: 5\npreemption: {victims: 2}\n",
       R"({"nodes": 2, "priority": 5, "preemption": {"victims": 2}})", "preemption.victims",
       "unknown_field"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.yaml);
    Result<Request> yaml = LoadRequestString(c.yaml, "shape.yaml");
    ASSERT_FALSE(yaml.ok());
    ASSERT_EQ(yaml.status().details().size(), 1u) << yaml.status().message();
    EXPECT_EQ(yaml.status().details()[0].path, c.path) << yaml.status().message();
    EXPECT_EQ(yaml.status().details()[0].code, c.code) << yaml.status().message();
    EXPECT_NE(yaml.status().message().find(std::string("shape.yaml:3:")), std::string::npos)
        << yaml.status().message();
    EXPECT_NE(yaml.status().message().find(c.path), std::string::npos) << yaml.status().message();

    std::vector<BodyError> parse_errors;
    const nlohmann::json body = ParseJsonBody(c.json, parse_errors);
    ASSERT_TRUE(parse_errors.empty());
    const DecodedRequest json = DecodeRequestJson(body);
    ASSERT_EQ(json.errors.size(), 1u) << json.errors.front().detail;
    EXPECT_EQ(json.errors[0].pointer, KeyPathToPointer(c.path)) << json.errors[0].detail;
    EXPECT_EQ(json.errors[0].code, c.code) << json.errors[0].detail;
  }
}

TEST(RequestLanguageTest, PreemptionIsWrittenAndReadBackByYamlAndJson) {
  Request with_defaults;
  with_defaults.name = "urgent";
  with_defaults.tenant = "lab";
  with_defaults.nodes = 4;
  with_defaults.priority = 50;
  with_defaults.preemption = Preemption{};  // every field at its default: still asks to preempt
  Request across = with_defaults;
  across.preemption = Preemption{PreemptionScope::kAll, 3};
  Request without = with_defaults;
  without.preemption.reset();
  for (const Request& r : {with_defaults, across, without}) {
    const std::string dumped = DumpRequest(r);
    SCOPED_TRACE(dumped);
    ASSERT_TRUE(ValidateRequestFields(r).empty());
    Result<Request> yaml = LoadRequestString(dumped, "dump");
    ASSERT_TRUE(yaml.ok()) << yaml.status().message();
    EXPECT_EQ(*yaml, r);
    EXPECT_EQ(dumped.find("preemption") != std::string::npos, r.preemption.has_value());

    const Json encoded = EncodeRequestJson(r);
    EXPECT_EQ(encoded.contains("preemption"), r.preemption.has_value()) << encoded.dump();
    const DecodedRequest json = DecodeRequestJson(nlohmann::json::parse(encoded.dump()));
    ASSERT_TRUE(json.errors.empty()) << json.errors.front().pointer << json.errors.front().detail;
    EXPECT_EQ(json.request, r) << encoded.dump();
  }
  EXPECT_NE(DumpRequest(across).find("preemption: {scope: all, maxEvictions: 3}"),
            std::string::npos)
      << DumpRequest(across);
  EXPECT_EQ(EncodeRequestJson(across)["preemption"], (Json{{"scope", "all"}, {"maxEvictions", 3}}));

  // Every field written out reads the same as the defaults left out.
  Result<Request> explicit_form = LoadRequestString(
      "name: urgent\ntenant: lab\nnodes: 4\npriority: 50\n"
      "preemption: {policy: lowerPriority, scope: tenant}\n",
      "explicit.yaml");
  ASSERT_TRUE(explicit_form.ok()) << explicit_form.status().message();
  EXPECT_EQ(*explicit_form, with_defaults);
}

TEST(RequestLanguageTest, OpenApiCarriesPreemptionAndTheEvictions) {
  const Json doc = OpenApiDocument(AllRoutes());
  const Json& preemption = doc["components"]["schemas"]["Request"]["properties"]["preemption"];
  EXPECT_EQ(preemption["type"], "object");
  EXPECT_EQ(preemption["properties"]["scope"]["enum"], Json::array({"tenant", "all"}));
  EXPECT_EQ(preemption["properties"]["scope"]["default"], "tenant");
  EXPECT_EQ(preemption["properties"]["policy"]["enum"], Json::array({"lowerPriority"}));
  EXPECT_EQ(preemption["properties"]["maxEvictions"]["minimum"], 1);
  EXPECT_EQ(preemption["properties"]["maxEvictions"]["type"], "integer");

  const Json& placement = doc["components"]["schemas"]["Placement"]["properties"];
  EXPECT_EQ(placement["evict"]["type"], "array");
  EXPECT_EQ(placement["evict"]["items"]["type"], "string");
  const Json& eviction = placement["evictions"]["items"];
  std::vector<std::string> fields;
  for (const auto& [k, v] : eviction["properties"].items()) {
    fields.push_back(k);
    EXPECT_TRUE(v.contains("description")) << k;
  }
  EXPECT_EQ(fields, (std::vector<std::string>{"allocation", "tenant", "project", "priority",
                                              "nodes", "used", "domain"}));
  EXPECT_EQ(eviction["properties"]["priority"]["type"], "integer");
}

TEST(RequestLanguageTest, CapacityRejectsAShapeOutOfBoundsLikeTheYamlLoader) {
  const testing::CliRun run = testing::RunTopoplace(
      "capacity scenarios/moc-small.yaml --shape 'nodes=2,gpuCount=>=100' --tenant nlp-lab");
  EXPECT_EQ(run.exit_code, 2) << run.out << run.err;
  EXPECT_NE(run.err.find("gpuCount: \">=100\" is out of range"), std::string::npos) << run.err;
  // A row-level shape is understood.
  const testing::CliRun row = testing::RunTopoplace(
      "capacity scenarios/moc-small.yaml --shape 'nodes=2,class=h100x8,locality=row' --tenant "
      "nlp-lab");
  EXPECT_EQ(row.exit_code, 0) << row.out << row.err;
}

TEST(RequestSchemaTest, KeyPathsAndPointersConvertBothWays) {
  EXPECT_EQ(KeyPathToPointer("select.class[1]"), "/select/class/1");
  EXPECT_EQ(KeyPathToPointer("topology.locality.level"), "/topology/locality/level");
  EXPECT_EQ(KeyPathToPointer("select.labels.a/b"), "/select/labels/a~1b");
  EXPECT_EQ(KeyPathToPointer(""), "");
  EXPECT_EQ(PointerToKeyPath("/select/class/1"), "select.class[1]");
  EXPECT_EQ(PointerToKeyPath("/topology/spread"), "topology.spread");
  EXPECT_EQ(PointerToKeyPath("/compliance/0"), "compliance[0]");
}

}  // namespace
}  // namespace topoplace
