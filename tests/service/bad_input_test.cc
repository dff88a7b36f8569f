// Bad input: a table of malformed requests, each with the status, stable code and JSON pointer it
// must get back as application/problem+json, and the proof that none of them wrote anything.
#include <gtest/gtest.h>

#include "tests/service/service_harness.h"

namespace topoplace::testing {
namespace {

struct BadCase {
  const char* name;
  const char* method;
  const char* path;
  std::string body;
  int status;
  const char* code;
  const char* pointer;  // nullptr: no pointer expected
  const char* content_type = "application/json";
};

std::vector<BadCase> Cases() {
  const std::string ok = R"("tenant": "nlp-lab", "nodes": 2)";
  return {
      {"empty body", "POST", "/v1/placements:solve", "", 400, "empty_body", ""},
      {"not json", "POST", "/v1/placements:solve", "{nodes: 2}", 400, "malformed_json", ""},
      {"truncated json", "POST", "/v1/reservations", R"({"tenant": "nlp-lab", "nodes": )", 400,
       "malformed_json", ""},
      {"trailing garbage", "POST", "/v1/placements:solve", "{" + ok + "} x", 400, "malformed_json",
       ""},
      {"array body", "POST", "/v1/placements:solve", "[1, 2]", 400, "wrong_type", ""},
      {"string body", "POST", "/v1/reservations", R"("nodes")", 400, "wrong_type", ""},
      {"duplicate key", "POST", "/v1/placements:solve",
       R"({"tenant": "nlp-lab", "nodes": 2, "nodes": 3})", 400, "duplicate_key", "/nodes"},
      {"too deep", "POST", "/v1/placements:solve", std::string(40, '[') + std::string(40, ']'), 400,
       "too_deep", ""},
      {"unknown top-level field", "POST", "/v1/placements:solve",
       "{" + ok + R"(, "colour": "red"})", 400, "unknown_field", "/colour"},
      {"unknown nested field", "POST", "/v1/reservations",
       "{" + ok + R"(, "topology": {"locality": {"level": "leaf", "strict": true}}})", 400,
       "unknown_field", "/topology/locality/strict"},
      {"unknown select key", "POST", "/v1/placements:solve",
       "{" + ok + R"(, "select": {"gpus": 8}})", 400, "unknown_field", "/select/gpus"},
      {"nodes as string", "POST", "/v1/placements:solve", R"({"tenant": "nlp-lab", "nodes": "2"})",
       400, "wrong_type", "/nodes"},
      {"nodes as fraction", "POST", "/v1/reservations", R"({"tenant": "nlp-lab", "nodes": 2.5})",
       400, "wrong_type", "/nodes"},
      {"nodes zero", "POST", "/v1/placements:solve", R"({"tenant": "nlp-lab", "nodes": 0})", 400,
       "out_of_range", "/nodes"},
      {"nodes negative", "POST", "/v1/reservations", R"({"tenant": "nlp-lab", "nodes": -4})", 400,
       "out_of_range", "/nodes"},
      {"nodes absurd", "POST", "/v1/placements:solve",
       R"({"tenant": "nlp-lab", "nodes": 99999999999})", 400, "out_of_range", "/nodes"},
      {"gpus absurd", "POST", "/v1/placements:solve", R"({"tenant": "nlp-lab", "gpus": 1e300})",
       400, "wrong_type", "/gpus"},
      {"neither nodes nor gpus", "POST", "/v1/placements:solve", R"({"tenant": "nlp-lab"})", 400,
       "missing_field", "/nodes"},
      {"both nodes and gpus", "POST", "/v1/reservations",
       R"({"tenant": "nlp-lab", "nodes": 2, "gpus": 8})", 400, "conflicting_fields", "/gpus"},
      {"tenant as number", "POST", "/v1/placements:solve", R"({"tenant": 7, "nodes": 2})", 400,
       "wrong_type", "/tenant"},
      {"empty tenant", "POST", "/v1/placements:solve", R"({"tenant": "", "nodes": 2})", 400,
       "out_of_range", "/tenant"},
      {"missing tenant for provider", "POST", "/v1/placements:solve", R"({"nodes": 2})", 400,
       "missing_field", "/tenant"},
      {"unknown tenant", "POST", "/v1/reservations", R"({"tenant": "ghost-lab", "nodes": 2})", 404,
       "tenant_not_found", "/tenant"},
      {"bad level", "POST", "/v1/placements:solve",
       "{" + ok + R"(, "topology": {"locality": {"level": "leafs"}}})", 400, "bad_value",
       "/topology/locality/level"},
      {"missing level", "POST", "/v1/reservations",
       "{" + ok + R"(, "topology": {"spread": {"maxPerDomain": 1}}})", 400, "missing_field",
       "/topology/spread/level"},
      {"spread without limit", "POST", "/v1/placements:solve",
       "{" + ok + R"(, "topology": {"spread": {"level": "rack"}}})", 400, "missing_field",
       "/topology/spread"},
      {"max fraction above one", "POST", "/v1/placements:solve",
       "{" + ok + R"(, "topology": {"spread": {"level": "rack", "maxFraction": 1.5}}})", 400,
       "out_of_range", "/topology/spread/maxFraction"},
      {"max domains zero", "POST", "/v1/reservations",
       "{" + ok + R"(, "topology": {"locality": {"level": "rack", "maxDomains": 0}}})", 400,
       "out_of_range", "/topology/locality/maxDomains"},
      {"bad mode", "POST", "/v1/placements:solve",
       "{" + ok + R"(, "topology": {"locality": {"level": "rack", "mode": "sometimes"}}})", 400,
       "bad_value", "/topology/locality/mode"},
      {"class list item wrong type", "POST", "/v1/placements:solve",
       "{" + ok + R"(, "select": {"class": ["h100x8", 3]}})", 400, "wrong_type", "/select/class/1"},
      {"unknown class", "POST", "/v1/reservations",
       "{" + ok + R"(, "select": {"class": ["h100x8", "h999"]}})", 400, "unknown_class",
       "/select/class/1"},
      {"bad gpu count comparison", "POST", "/v1/placements:solve",
       "{" + ok + R"(, "select": {"gpu": {"count": ">>8"}}})", 400, "bad_value",
       "/select/gpu/count"},
      {"memory out of range", "POST", "/v1/placements:solve",
       "{" + ok + R"(, "select": {"memoryGiB": ">=1e12"}})", 400, "out_of_range",
       "/select/memoryGiB"},
      {"label operator twice", "POST", "/v1/placements:solve",
       "{" + ok + R"(, "select": {"labels": {"fw": {"in": ["2.1"], "notIn": ["1.0"]}}}})", 400,
       "bad_value", "/select/labels/fw"},
      {"roce not boolean", "POST", "/v1/reservations",
       "{" + ok + R"(, "network": {"roce": "yes"}})", 400, "wrong_type", "/network/roce"},
      {"budget zero", "POST", "/v1/placements:solve",
       "{" + ok + R"(, "budget": {"maxCostPerHour": 0}})", 400, "out_of_range",
       "/budget/maxCostPerHour"},
      {"bad purpose", "POST", "/v1/clusters", "{" + ok + R"(, "purpose": "mainframe"})", 400,
       "bad_value", "/purpose"},
      {"bad exclusive", "POST", "/v1/reservations", "{" + ok + R"(, "exclusive": "pod"})", 400,
       "bad_value", "/exclusive"},
      {"priority absurd", "POST", "/v1/placements:solve", "{" + ok + R"(, "priority": 1e9})", 400,
       "wrong_type", "/priority"},
      {"compliance not allowed", "POST", "/v1/reservations",
       "{" + ok + R"(, "compliance": ["hipaa"]})", 400, "compliance_not_allowed", "/compliance/0"},
      {"long name", "POST", "/v1/placements:solve",
       "{" + ok + R"(, "name": ")" + std::string(300, 'n') + "\"}", 400, "out_of_range", "/name"},
      {"form body", "POST", "/v1/placements:solve", "nodes=2", 415, "unsupported_media_type",
       nullptr, "application/x-www-form-urlencoded"},
      {"bad ttl", "POST", "/v1/reservations?ttlSeconds=-5", "{" + ok + "}", 400, "bad_parameter",
       nullptr},
      {"ttl not a number", "POST", "/v1/reservations?ttlSeconds=soon", "{" + ok + "}", 400,
       "bad_parameter", nullptr},
      {"bad backend", "POST", "/v1/placements:solve?backend=magic", "{" + ok + "}", 400,
       "bad_parameter", nullptr},
      {"unknown query parameter", "POST", "/v1/placements:solve?dryRun=false", "{" + ok + "}", 400,
       "bad_parameter", nullptr},
      {"bad audit limit", "GET", "/v1/audit?limit=100000", "", 400, "bad_parameter", nullptr},
      {"bad all flag", "GET", "/v1/allocations?all=maybe", "", 400, "bad_parameter", nullptr},
      {"unknown reservation", "POST", "/v1/reservations/rsv-0000:commit", "{}", 404,
       "reservation_not_found", nullptr},
      {"unknown allocation", "DELETE", "/v1/allocations/alc-0000", "", 404, "allocation_not_found",
       nullptr},
      {"no such route", "GET", "/v1/placements", "", 404, "route_not_found", nullptr},
      {"wrong method", "PUT", "/v1/allocations", "{}", 405, "method_not_allowed", nullptr},
      {"body too large", "POST", "/v1/placements:solve",
       "{" + ok + R"(, "name": ")" + std::string(80'000, 'x') + "\"}", 413, "body_too_large",
       nullptr},
  };
}

TEST(BadInputTest, EachMalformedRequestGetsItsStatusCodeAndPointerAndWritesNothing) {
  const std::string db = NewStoreUrl("sqlite");
  const std::string admin = CreateToken(db, "provider-admin");
  ServerProcess server(db, {"--max-body", "65536"});
  const std::string audit_before = RunSql(db, "SELECT COUNT(*) FROM audit_log");
  const std::string nodes_before = RunSql(db, "SELECT SUM(generation) FROM nodes");
  const auto cases = Cases();
  EXPECT_GE(cases.size(), 30u);
  for (const BadCase& c : cases) {
    SCOPED_TRACE(c.name);
    Response r = server.Call(c.method, c.path, admin, c.body, c.content_type);
    EXPECT_EQ(r.status, c.status) << r.body;
    EXPECT_EQ(r.content_type, "application/problem+json");
    const json j = r.Json();
    ASSERT_TRUE(j.is_object()) << r.body;
    EXPECT_EQ(j["code"], c.code) << r.body;
    EXPECT_EQ(j["status"], c.status);
    EXPECT_FALSE(j["detail"].get<std::string>().empty());
    if (c.pointer) {
      ASSERT_TRUE(j.contains("pointer")) << r.body;
      EXPECT_EQ(j["pointer"], c.pointer) << r.body;
    }
  }
  // Nothing was half-written: no audit entry, no node generation moved, no reservation.
  EXPECT_EQ(RunSql(db, "SELECT COUNT(*) FROM audit_log"), audit_before);
  EXPECT_EQ(RunSql(db, "SELECT SUM(generation) FROM nodes"), nodes_before);
  EXPECT_EQ(RunSql(db, "SELECT COUNT(*) FROM reservations"), "0");
  // And the server is still fine.
  EXPECT_EQ(server.Call("GET", "/healthz").status, 200);
}

TEST(BadInputTest, EveryErrorOfABodyIsListed) {
  const std::string db = NewStoreUrl("sqlite");
  const std::string admin = CreateToken(db, "provider-admin");
  ServerProcess server(db);
  Response r =
      server.Call("POST", "/v1/placements:solve", admin,
                  R"({"tenant": "nlp-lab", "nodes": "x", "select": {"class": 5}, "extra": 1})");
  ASSERT_EQ(r.status, 400);
  const json j = r.Json();
  ASSERT_EQ(j["errors"].size(), 3u) << r.body;
  std::set<std::string> pointers;
  for (const auto& e : j["errors"]) pointers.insert(e["pointer"].get<std::string>());
  EXPECT_EQ(pointers, (std::set<std::string>{"/nodes", "/select/class", "/extra"}));
}

}  // namespace
}  // namespace topoplace::testing
