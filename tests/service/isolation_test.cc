// Tenancy and authentication: for every endpoint, a tenant's token aimed at another tenant's
// resources gets 404 (not 403: others' things are indistinguishable from missing ones), a role that
// may not act gets 403, and a missing or bad token 401. Nothing changes on the way.
#include <gtest/gtest.h>

#include "tests/service/service_harness.h"

namespace topoplace::testing {
namespace {

class IsolationTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    db_ = new std::string(NewStoreUrl("sqlite"));
    admin_ = new std::string(CreateToken(*db_, "provider-admin"));
    server_ = new ServerProcess(*db_);
    nlp_admin_ = new std::string(CreateToken(*db_, "tenant-admin", "nlp-lab"));
    nlp_member_ = new std::string(CreateToken(*db_, "tenant-member", "nlp-lab"));
    med_admin_ = new std::string(CreateToken(*db_, "tenant-admin", "med-imaging"));
    auditor_ = new std::string(CreateToken(*db_, "auditor"));
    const std::string body = json{{"nodes", 1}, {"select", {{"class", "cpu"}}}}.dump();
    Response r = server_->Call("POST", "/v1/reservations", *med_admin_, body);
    ASSERT_EQ(r.status, 201) << r.body;
    med_reservation_ = new std::string(r.Json()["id"]);
    Response r2 = server_->Call("POST", "/v1/reservations", *med_admin_, body);
    ASSERT_EQ(r2.status, 201) << r2.body;
    Response a =
        server_->Call("POST", "/v1/reservations/" + r2.Json()["id"].get<std::string>() + ":commit",
                      *med_admin_, "{}");
    ASSERT_EQ(a.status, 200) << a.body;
    med_allocation_ = new std::string(a.Json()["id"]);
    Response k = server_->Call("POST", "/v1/clusters", *med_admin_, body);
    ASSERT_EQ(k.status, 201) << k.body;
    med_cluster_ = new std::string(k.Json()["id"]);
    Response own = server_->Call("POST", "/v1/reservations", *nlp_admin_, body);
    ASSERT_EQ(own.status, 201) << own.body;
    Response own_alloc =
        server_->Call("POST", "/v1/reservations/" + own.Json()["id"].get<std::string>() + ":commit",
                      *nlp_admin_, "{}");
    ASSERT_EQ(own_alloc.status, 200);
    nlp_allocation_ = new std::string(own_alloc.Json()["id"]);
  }
  static void TearDownTestSuite() { delete server_; }

  static void Expect(const std::string& method, const std::string& path, const std::string& token,
                     int status, const std::string& code, const std::string& body = "") {
    Response r = server_->Call(method, path, token, body);
    EXPECT_EQ(r.status, status) << method << " " << path << ": " << r.body;
    if (!code.empty()) {
      EXPECT_EQ(r.content_type, "application/problem+json") << method << " " << path;
      EXPECT_EQ(r.Json()["code"], code) << method << " " << path << ": " << r.body;
    }
  }

  static inline std::string *db_, *admin_, *nlp_admin_, *nlp_member_, *med_admin_, *auditor_;
  static inline std::string *med_reservation_, *med_allocation_, *med_cluster_, *nlp_allocation_;
  static inline ServerProcess* server_;
};

TEST_F(IsolationTest, AnotherTenantsResourcesAreNotFound) {
  const std::string& t = *nlp_admin_;
  Expect("GET", "/v1/reservations/" + *med_reservation_, t, 404, "reservation_not_found");
  Expect("POST", "/v1/reservations/" + *med_reservation_ + ":commit", t, 404,
         "reservation_not_found", "{}");
  Expect("DELETE", "/v1/reservations/" + *med_reservation_, t, 404, "reservation_not_found");
  Expect("GET", "/v1/allocations/" + *med_allocation_, t, 404, "allocation_not_found");
  Expect("DELETE", "/v1/allocations/" + *med_allocation_, t, 404, "allocation_not_found");
  Expect("GET", "/v1/clusters/" + *med_cluster_, t, 404, "cluster_not_found");
  Expect("GET", "/v1/tenants/med-imaging/usage", t, 404, "tenant_not_found");
  const std::string for_med = json{{"tenant", "med-imaging"}, {"nodes", 1}}.dump();
  Expect("POST", "/v1/placements:solve", t, 404, "tenant_not_found", for_med);
  Expect("POST", "/v1/reservations", t, 404, "tenant_not_found", for_med);
  Expect("POST", "/v1/clusters", t, 404, "tenant_not_found", for_med);
  // The same for a read-only member of the tenant.
  Expect("GET", "/v1/reservations/" + *med_reservation_, *nlp_member_, 404,
         "reservation_not_found");
  Expect("GET", "/v1/allocations/" + *med_allocation_, *nlp_member_, 404, "allocation_not_found");
  Expect("GET", "/v1/clusters/" + *med_cluster_, *nlp_member_, 404, "cluster_not_found");
  Expect("GET", "/v1/tenants/med-imaging/usage", *nlp_member_, 404, "tenant_not_found");
}

TEST_F(IsolationTest, ListingsShowOnlyTheTenantsOwn) {
  const std::string& t = *nlp_admin_;
  for (const char* path :
       {"/v1/reservations?all=true", "/v1/allocations?all=true", "/v1/clusters"}) {
    Response r = server_->Call("GET", path, t);
    ASSERT_EQ(r.status, 200) << path;
    const json j = r.Json();
    ASSERT_TRUE(j["items"].is_array()) << path;
    for (const auto& [key, list] : j.items()) {
      if (!list.is_array()) continue;  // total, nextPageToken
      for (const auto& item : list) EXPECT_EQ(item["tenant"], "nlp-lab") << path;
    }
    // The count covers the tenant's own things only: it tells nothing of other tenants.
    EXPECT_EQ(j["total"], j["items"].size()) << path;
  }
  Response tenants = server_->Call("GET", "/v1/tenants", t);
  const json tj = tenants.Json();
  ASSERT_EQ(tj["tenants"].size(), 1u);
  EXPECT_EQ(tj["tenants"][0]["name"], "nlp-lab");
  // Nodes: the tenant's own, and anonymous free capacity; no one else's holdings.
  Response nodes = server_->Call("GET", "/v1/nodes", t);
  const json nj = nodes.Json();
  EXPECT_FALSE(nj["nodes"].empty());
  for (const auto& n : nj["nodes"]) {
    EXPECT_FALSE(n.contains("tenant"));
    EXPECT_NE(n["state"], "available");  // only held ones are listed by name
  }
  EXPECT_FALSE(nj["freeCapacity"].empty());
  EXPECT_EQ(nj["total"], nj["nodes"].size());
  EXPECT_EQ(nodes.body.find("med-imaging"), std::string::npos);
  EXPECT_EQ(nodes.body.find(*med_allocation_), std::string::npos);
}

TEST_F(IsolationTest, RolesThatMayNotActGet403) {
  const std::string body = json{{"nodes", 1}}.dump();
  Expect("POST", "/v1/reservations", *nlp_member_, 403, "forbidden", body);
  Expect("POST", "/v1/clusters", *nlp_member_, 403, "forbidden", body);
  Expect("DELETE", "/v1/allocations/" + *nlp_allocation_, *nlp_member_, 403, "forbidden");
  Expect("POST", "/v1/reservations/" + *med_reservation_ + ":commit", *nlp_member_, 403,
         "forbidden", "{}");
  Expect("GET", "/v1/audit", *nlp_admin_, 403, "forbidden");
  Expect("GET", "/metrics", *nlp_admin_, 403, "forbidden");
  Expect("GET", "/v1/audit", *nlp_member_, 403, "forbidden");
  Expect("POST", "/v1/placements:solve", *auditor_, 403, "forbidden", body);
  Expect("POST", "/v1/reservations", *auditor_, 403, "forbidden", body);
  Expect("DELETE", "/v1/allocations/" + *med_allocation_, *auditor_, 403, "forbidden");
  // What each may do.
  Expect("POST", "/v1/placements:solve", *nlp_member_, 200, "", body);
  Expect("GET", "/v1/audit", *auditor_, 200, "");
  Expect("GET", "/metrics", *auditor_, 200, "");
  Expect("GET", "/v1/reservations/" + *med_reservation_, *auditor_, 200, "");
  Expect("GET", "/v1/allocations/" + *nlp_allocation_, *nlp_member_, 200, "");
}

TEST_F(IsolationTest, MissingOrBadTokensGet401) {
  const std::vector<std::pair<std::string, std::string>> routes = {
      {"POST", "/v1/placements:solve"},
      {"POST", "/v1/reservations"},
      {"GET", "/v1/reservations"},
      {"GET", "/v1/reservations/" + *med_reservation_},
      {"POST", "/v1/reservations/" + *med_reservation_ + ":commit"},
      {"DELETE", "/v1/reservations/" + *med_reservation_},
      {"GET", "/v1/allocations"},
      {"GET", "/v1/allocations/" + *med_allocation_},
      {"DELETE", "/v1/allocations/" + *med_allocation_},
      {"GET", "/v1/nodes"},
      {"GET", "/v1/topology"},
      {"GET", "/v1/tenants"},
      {"GET", "/v1/tenants/med-imaging/usage"},
      {"POST", "/v1/clusters"},
      {"GET", "/v1/clusters"},
      {"GET", "/v1/clusters/" + *med_cluster_},
      {"GET", "/v1/audit"},
      {"GET", "/metrics"}};
  for (const auto& [method, path] : routes) {
    Expect(method, path, "", 401, "unauthenticated", method == "POST" ? "{}" : "");
    Expect(method, path, "tpk_not-a-real-token", 401, "unauthenticated",
           method == "POST" ? "{}" : "");
  }
  // Open endpoints.
  Expect("GET", "/healthz", "", 200, "");
  Expect("GET", "/v1/openapi.json", "", 200, "");
}

TEST_F(IsolationTest, NothingChangedOnTheWay) {
  Response r = server_->Call("GET", "/v1/reservations/" + *med_reservation_, *med_admin_);
  EXPECT_EQ(r.Json()["status"], "held");
  Response a = server_->Call("GET", "/v1/allocations/" + *med_allocation_, *med_admin_);
  EXPECT_EQ(a.Json()["status"], "active");
  CliResult verify = RunCli({"audit", "verify", "--db", *db_});
  EXPECT_EQ(verify.exit_code, 0) << verify.err;
}

}  // namespace
}  // namespace topoplace::testing
