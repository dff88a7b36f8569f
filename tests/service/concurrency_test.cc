// Races and crashes against real server processes.
//
// Concurrency (database server store): two `topoplace serve` processes on one database, 16 clients
// racing for 12 nodes through both, reserving on one and committing on the other. No node is ever
// held twice, every commit that got a 2xx is present after both servers restart, and every
// placement passes the verifier.
//
// Crash (both stores): kill -9 a server under load, restart it: the invariants hold and the holds
// that expired meanwhile are released.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <random>
#include <set>

#include "tests/service/service_harness.h"

namespace topoplace::testing {
namespace {

// Every allocation the service lists (finished ones too), page by page, by id.
std::map<std::string, json> AllAllocations(const ServerProcess& server, const std::string& token) {
  std::map<std::string, json> by_id;
  std::string page_token;
  for (int pages = 0; pages < 1000; ++pages) {
    std::string path = "/v1/allocations?all=true&limit=1000";
    if (!page_token.empty()) path += "&pageToken=" + page_token;
    Response r = server.Call("GET", path, token);
    EXPECT_EQ(r.status, 200) << r.body;
    const json page = r.Json();
    for (const auto& x : page["items"]) by_id[x["id"]] = x;
    if (r.status != 200 || !page.contains("nextPageToken")) break;
    page_token = page["nextPageToken"];
  }
  return by_id;
}

constexpr const char* kScarceScenario = R"(apiVersion: topoplace/v1
inventory:
  generate:
    - {name: dc, site: s1, pods: 1, racksPerPod: 3, nodesPerRack: 4, class: h100x8, seed: 3}
tenants:
  - {name: t1, quota: {nodes: 6}}
  - {name: t2, quota: {nodes: 6}}
  - {name: t3, quota: {nodes: 6}}
  - {name: t4, quota: {nodes: 6}}
)";

std::string WriteScenario() {
  const auto path = std::filesystem::temp_directory_path() /
                    ("topoplace-scarce-" + std::to_string(::getpid()) + ".yaml");
  std::ofstream(path) << kScarceScenario;
  return path.string();
}

// Every invariant of holdings, checked in the database itself.
void ExpectStoreInvariants(const std::string& db) {
  const std::vector<std::pair<const char*, std::string>> checks = {
      {"a node in two active allocations",
       "SELECT COUNT(*) FROM (SELECT an.node FROM allocation_nodes an JOIN allocations a ON a.id = "
       "an.allocation_id WHERE a.status = 'active' GROUP BY an.node HAVING COUNT(*) > 1) x"},
      {"a node in two held reservations",
       "SELECT COUNT(*) FROM (SELECT rn.node FROM reservation_nodes rn JOIN reservations r ON r.id "
       "= "
       "rn.reservation_id WHERE r.status = 'held' GROUP BY rn.node HAVING COUNT(*) > 1) x"},
      {"a node both allocated and reserved",
       "SELECT COUNT(*) FROM allocation_nodes an JOIN allocations a ON a.id = an.allocation_id AND "
       "a.status = 'active' JOIN reservation_nodes rn ON rn.node = an.node JOIN reservations r ON "
       "r.id = rn.reservation_id AND r.status = 'held'"},
      {"an allocated node without its active allocation",
       "SELECT COUNT(*) FROM nodes n WHERE n.state = 'allocated' AND NOT EXISTS (SELECT 1 FROM "
       "allocations a WHERE a.id = n.holder AND a.status = 'active')"},
      {"a reserved node without its held reservation",
       "SELECT COUNT(*) FROM nodes n WHERE n.state = 'reserved' AND NOT EXISTS (SELECT 1 FROM "
       "reservations r WHERE r.id = n.holder AND r.status = 'held')"},
      {"an active allocation's node held by someone else",
       "SELECT COUNT(*) FROM allocation_nodes an JOIN allocations a ON a.id = an.allocation_id AND "
       "a.status = 'active' JOIN nodes n ON n.name = an.node WHERE n.holder <> a.id"},
      {"a held reservation's node held by someone else",
       "SELECT COUNT(*) FROM reservation_nodes rn JOIN reservations r ON r.id = rn.reservation_id "
       "AND r.status = 'held' JOIN nodes n ON n.name = rn.node WHERE n.holder <> r.id"},
      {"a tenant over its node quota",
       "SELECT COUNT(*) FROM tenants t WHERE t.quota_nodes IS NOT NULL AND (SELECT COUNT(*) FROM "
       "nodes n WHERE n.tenant = t.name) > t.quota_nodes"},
  };
  for (const auto& [what, sql] : checks) EXPECT_EQ(RunSql(db, sql), "0") << what;
  CliResult verify = RunCli({"audit", "verify", "--db", db});
  EXPECT_EQ(verify.exit_code, 0) << verify.err;
}

struct Committed {
  std::string id;
  std::string tenant;
  std::vector<std::string> nodes;
  bool released = false;      // a release was acknowledged
  bool release_sent = false;  // a release was sent (its outcome unknown if the server died)
};

TEST(ConcurrencyTest, TwoServersSixteenClientsNoDoubleAllocation) {
  const std::string db = NewStoreUrl("postgresql");
  const std::string scenario = WriteScenario();
  const std::string admin = CreateToken(db, "provider-admin");
  auto a = std::make_unique<ServerProcess>(
      db, std::vector<std::string>{"--scenario", scenario, "--solver", "heuristic"});
  auto b = std::make_unique<ServerProcess>(db, std::vector<std::string>{"--solver", "heuristic"});
  std::vector<std::string> tokens;
  for (const char* t : {"t1", "t2", "t3", "t4"})
    tokens.push_back(CreateToken(db, "tenant-admin", t));

  std::mutex mu;
  std::vector<Committed> committed;
  std::atomic<int> conflicts{0}, reserved{0}, unplaceable{0}, errors{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < 16; ++c) {
    clients.emplace_back([&, c] {
      std::mt19937 rng(c);
      const std::string& token = tokens[c % 4];
      for (int i = 0; i < 8; ++i) {
        ServerProcess& first = (c + i) % 2 ? *a : *b;
        ServerProcess& second = (c + i) % 2 ? *b : *a;
        const int n = 1 + static_cast<int>(rng() % 2);
        Response r =
            first.Call("POST", "/v1/reservations?ttlSeconds=30", token, json{{"nodes", n}}.dump());
        if (r.status == 409) {
          ++conflicts;
          continue;
        }
        if (r.status == 422) {
          ++unplaceable;
          continue;
        }
        if (r.status != 201) {
          ++errors;
          ADD_FAILURE() << r.status << " " << r.body;
          continue;
        }
        ++reserved;
        const json rj = r.Json();
        Response cm = second.Call(
            "POST", "/v1/reservations/" + rj["id"].get<std::string>() + ":commit", token, "{}");
        if (cm.status != 200) {
          ++errors;
          ADD_FAILURE() << cm.status << " " << cm.body;
          continue;
        }
        const json cj = cm.Json();
        Committed k{cj["id"], cj["tenant"], NodeNames(cj["nodes"])};
        // Churn: release about half, so later rounds race for the freed nodes.
        if (rng() % 2) {
          Response rel = first.Call("DELETE", "/v1/allocations/" + k.id, token);
          EXPECT_EQ(rel.status, 200) << rel.body;
          k.released = rel.status == 200;
        }
        std::lock_guard lock(mu);
        committed.push_back(std::move(k));
      }
    });
  }
  for (auto& t : clients) t.join();
  EXPECT_EQ(errors.load(), 0);
  // Nodes were reused after releases: some node served two committed allocations over the run (one
  // after the other: at most one of them is still active, checked below). The clients make 128
  // attempts for 12 nodes and release about half of what they commit, so this holds however fast
  // or slow the machine is; only how many attempts end in 409 or 422 depends on timing.
  std::map<std::string, std::set<std::string>> allocations_of_node;
  size_t nodes_committed = 0;
  for (const auto& k : committed) {
    nodes_committed += k.nodes.size();
    for (const auto& n : k.nodes) allocations_of_node[n].insert(k.id);
  }
  EXPECT_TRUE(std::any_of(allocations_of_node.begin(), allocations_of_node.end(),
                          [](const auto& x) { return x.second.size() >= 2; }))
      << "no node was committed twice in " << committed.size() << " commits";
  EXPECT_GT(conflicts.load() + unplaceable.load(), 0);  // and the race was real

  // Zero double allocations among the commits the clients saw as active.
  std::set<std::string> active_nodes;
  for (const auto& k : committed) {
    if (k.released) continue;
    for (const auto& n : k.nodes)
      EXPECT_TRUE(active_nodes.insert(n).second) << "node " << n << " held twice";
  }
  ExpectStoreInvariants(db);

  // Both servers restart; every 2xx commit is there, as the clients left it.
  a->Stop();
  b->Stop();
  a = std::make_unique<ServerProcess>(db);
  b = std::make_unique<ServerProcess>(db);
  std::map<std::string, json> by_id = AllAllocations(*b, admin);
  const Scenario base = [&] {
    auto s = LoadScenarioString(kScarceScenario, "scarce");
    return *s;
  }();
  for (const auto& k : committed) {
    ASSERT_TRUE(by_id.count(k.id)) << "commit " << k.id << " lost";
    const json& x = by_id[k.id];
    EXPECT_EQ(x["status"], k.released ? "released" : "active");
    EXPECT_EQ(NodeNames(x["nodes"]), k.nodes);
    if (!k.released) VerifyServed(*a, admin, base, x["request"], k.nodes, true);
  }
  std::cerr << "clients: " << reserved.load() << " reservations, " << committed.size()
            << " commits of " << nodes_committed << " nodes, " << conflicts.load()
            << " conflicts (409), " << unplaceable.load() << " unplaceable (422)\n";
}

class CrashTest : public ::testing::TestWithParam<std::string> {};

TEST_P(CrashTest, KillNineUnderLoadThenRestart) {
  const std::string db = NewStoreUrl(GetParam());
  const std::string scenario = WriteScenario();
  const std::string admin = CreateToken(db, "provider-admin");
  auto server = std::make_unique<ServerProcess>(
      db, std::vector<std::string>{"--scenario", scenario, "--solver", "heuristic"});
  std::vector<std::string> tokens;
  for (const char* t : {"t1", "t2", "t3", "t4"})
    tokens.push_back(CreateToken(db, "tenant-admin", t));

  std::mutex mu;
  std::vector<Committed> committed;
  std::atomic<bool> stop{false};
  std::atomic<int> done{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < 8; ++c) {
    clients.emplace_back([&, c] {
      const std::string& token = tokens[c % 4];
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
      for (int i = 0; !stop && std::chrono::steady_clock::now() < deadline; ++i) {
        // Short holds: many are left uncommitted, to expire while the server is down.
        Response r =
            server->Call("POST", "/v1/reservations?ttlSeconds=2", token, json{{"nodes", 1}}.dump());
        if (r.status != 201) {
          if (r.status != 409 && r.status != 422) return;  // the server is gone
          std::this_thread::sleep_for(
              std::chrono::milliseconds(50));  // nodes free up as holds expire
          continue;
        }
        ++done;
        if (i % 3) continue;
        Response cm = server->Call(
            "POST", "/v1/reservations/" + r.Json()["id"].get<std::string>() + ":commit", token,
            "{}");
        if (cm.status == 200) {
          const json cj = cm.Json();
          std::lock_guard lock(mu);
          committed.push_back({cj["id"], cj["tenant"], NodeNames(cj["nodes"])});
          // Release again now and then, so the load keeps finding nodes.
          if (committed.size() % 2 == 0) {
            committed.back().release_sent = true;
            Response rel = server->Call("DELETE", "/v1/allocations/" + committed.back().id, token);
            committed.back().released = rel.status == 200;
          }
        }
      }
    });
  }
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (done.load() < 20 && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_GE(done.load(), 20);
  server->Kill();  // kill -9, mid-flight
  stop = true;
  for (auto& t : clients) t.join();

  ExpectStoreInvariants(db);
  // Restart after the holds' deadline: they are released at start, with no client involved.
  std::this_thread::sleep_for(std::chrono::milliseconds(2200));
  server = std::make_unique<ServerProcess>(db);
  Response held;
  for (int i = 0; i < 50; ++i) {
    held = server->Call("GET", "/v1/reservations", admin);
    if (held.Json()["reservations"].empty()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_TRUE(held.Json()["reservations"].empty()) << held.body;
  EXPECT_EQ(RunSql(db, "SELECT COUNT(*) FROM nodes WHERE state = 'reserved'"), "0");
  ExpectStoreInvariants(db);
  std::map<std::string, json> by_id = AllAllocations(*server, admin);
  for (const auto& k : committed) {
    ASSERT_TRUE(by_id.count(k.id)) << "commit " << k.id << " lost in the crash";
    const std::string status = by_id[k.id]["status"];
    if (k.released) {
      EXPECT_EQ(status, "released") << k.id;
    } else if (k.release_sent) {
      // The server died during the release: either outcome, but a whole one.
      EXPECT_TRUE(status == "active" || status == "released") << k.id << " " << status;
    } else {
      EXPECT_EQ(status, "active") << k.id;
    }
  }
  // The service works on after the crash.
  Response again = server->Call("POST", "/v1/reservations", tokens[0], json{{"nodes", 1}}.dump());
  EXPECT_TRUE(again.status == 201 || again.status == 422) << again.body;
}

INSTANTIATE_TEST_SUITE_P(Stores, CrashTest, ::testing::Values("sqlite", "postgresql"),
                         [](const auto& p) { return p.param; });

}  // namespace
}  // namespace topoplace::testing
