// The service benchmark: real `topoplace serve` processes on loopback, driven by 1, 4 and 16
// concurrent clients, on the embedded store and on a throwaway database server, at 1,000, 10,000
// and 100,000 nodes (the same generated shape at each size, so the rows form a scale curve).
// Prints a plain table: dry-run solves per second and commits per second (a reservation and its
// commit), each with p50/p99 latency; the first dry run after the server started; the server's
// resident memory per node after the run; and the check that no allocation was lost or doubled.
// A last table commits gangs (4 nodes, one rack required) on 5,000 nodes in 50 racks with 16
// clients, releasing as it goes. Request loops are bounded in count and time; traffic stays on
// 127.0.0.1.
//
//   service_bench [--quick] [--sizes 1000,10000,100000] [--stores sqlite,postgresql]
//                 [--clients 1,4,16] [--no-gangs]
//   (--quick: 1,000 nodes only, fewer requests)
#include <fcntl.h>
#include <httplib.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

const std::string kSource = TOPOPLACE_SOURCE_DIR;
const std::string kBin = TOPOPLACE_BIN;

std::string Shell(const std::string& cmd) {
  FILE* p = ::popen(cmd.c_str(), "r");
  std::string out;
  char buf[4096];
  size_t n;
  while (p && (n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  if (!p || ::pclose(p) != 0) throw std::runtime_error("failed: " + cmd + "\n" + out);
  while (!out.empty() && (out.back() == '\n')) out.pop_back();
  return out;
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

struct Server {
  pid_t pid = -1;
  int port = 0;
  Server(const std::string& db, const std::string& scenario, const std::string& dir) {
    pid = ::fork();
    if (pid == 0) {
      const int out = ::open((dir + "/out").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      const int err = ::open((dir + "/err").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      ::dup2(out, 1);
      ::dup2(err, 2);
      ::execl(kBin.c_str(), kBin.c_str(), "serve", "--db", db.c_str(), "--scenario",
              scenario.c_str(), "--listen", "127.0.0.1:0", "--solver", "heuristic", "--threads",
              "64", "--db-connections", "32", static_cast<char*>(nullptr));
      ::_exit(127);
    }
    static const std::regex kListening("listening on http://127\\.0\\.0\\.1:([0-9]+)");
    for (int i = 0; i < 1200; ++i) {
      std::smatch m;
      const std::string out = ReadAll(dir + "/out");
      if (std::regex_search(out, m, kListening)) {
        port = std::stoi(m[1]);
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    throw std::runtime_error("server did not start: " + ReadAll(dir + "/err"));
  }
  ~Server() {
    ::kill(pid, SIGTERM);
    ::waitpid(pid, nullptr, 0);
  }
  // Resident memory of the server process, in bytes (0 when unknown).
  int64_t RssBytes() const {
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    for (std::string line; std::getline(in, line);) {
      if (line.rfind("VmRSS:", 0) == 0) return std::stoll(line.substr(6)) * 1024;
    }
    return 0;
  }
};

std::vector<int> IntList(const std::string& s) {
  std::vector<int> out;
  std::stringstream in(s);
  for (std::string item; std::getline(in, item, ',');) out.push_back(std::stoi(item));
  return out;
}

std::vector<std::string> WordList(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream in(s);
  for (std::string item; std::getline(in, item, ',');) out.push_back(item);
  return out;
}

struct Stats {
  double per_second = 0;
  double p50_ms = 0;
  double p99_ms = 0;
  int ok = 0;
  int failed = 0;
};

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())))];
}

// Runs `per_client` iterations of `step` on each of `clients` threads, each with its own
// keep-alive connection; step returns false on a failed request.
template <typename Step>
Stats Drive(int port, int clients, int per_client, Step step) {
  std::mutex mu;
  std::vector<double> latencies;
  std::atomic<int> ok{0}, failed{0};
  const auto start = Clock::now();
  const auto deadline = start + std::chrono::seconds(60);
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&, c] {
      httplib::Client client("127.0.0.1", port);
      client.set_keep_alive(true);
      client.set_tcp_nodelay(true);
      client.set_read_timeout(60, 0);
      std::vector<double> mine;
      client.Get("/healthz");  // connect before the clock matters
      for (int i = 0; i < per_client && Clock::now() < deadline; ++i) {
        const auto t0 = Clock::now();
        const bool good = step(client, c, i);
        mine.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
        (good ? ok : failed)++;
      }
      std::lock_guard lock(mu);
      latencies.insert(latencies.end(), mine.begin(), mine.end());
    });
  }
  for (auto& t : threads) t.join();
  const double secs = std::chrono::duration<double>(Clock::now() - start).count();
  Stats s;
  s.ok = ok;
  s.failed = failed;
  s.per_second = ok / secs;
  s.p50_ms = Percentile(latencies, 0.5);
  s.p99_ms = Percentile(latencies, 0.99);
  return s;
}

std::string Scenario(int nodes, const std::string& dir) {
  // 8 nodes per rack; pods of 25 racks.
  const int racks = nodes / 8;
  const int pods = std::max(1, racks / 25);
  std::ostringstream y;
  y << "apiVersion: topoplace/v1\ninventory:\n  generate:\n"
    << "    - {name: dc, site: s1, pods: " << pods << ", racksPerPod: " << racks / pods
    << ", nodesPerRack: 8, racksPerRow: 25, classes: {h100x8: 5, a100x8: 3, l40sx4: 2}, "
       "hipaaRacks: 0.1,"
    << " allocated: 0.3, seed: 5}\ntenants:\n";
  for (int t = 0; t < 16; ++t) {
    y << "  - {name: bench-" << t << ", quota: {nodes: 1000000}, budgetPerHour: 1000000000}\n";
  }
  const std::string path = dir + "/scenario-" + std::to_string(nodes) + ".yaml";
  std::ofstream(path) << y.str();
  return path;
}

// 5,000 nodes in 50 racks of 100, all free: the gang benchmark's data centre.
std::string GangScenario(const std::string& dir) {
  std::ostringstream y;
  y << "apiVersion: topoplace/v1\ninventory:\n  generate:\n"
    << "    - {name: g, site: s1, pods: 2, racksPerPod: 25, nodesPerRack: 100, racksPerRow: 25, "
       "class: h100x8, seed: 7}\ntenants:\n";
  for (int t = 0; t < 16; ++t) {
    y << "  - {name: bench-" << t << ", quota: {nodes: 1000000}, budgetPerHour: 1000000000}\n";
  }
  const std::string path = dir + "/scenario-gangs.yaml";
  std::ofstream(path) << y.str();
  return path;
}

const char* kSolveBody = R"({"nodes": 4, "select": {"class": "h100x8"},
  "topology": {"locality": {"level": "rack", "mode": "preferred"}}, "tenant": "bench-)";

// Every allocation id in the service, following pages to the end.
std::set<std::string> ListAllocations(int port, const httplib::Headers& auth) {
  httplib::Client check("127.0.0.1", port);
  check.set_read_timeout(120, 0);
  std::set<std::string> listed;
  std::string page_token;
  do {
    auto all = check.Get(
        "/v1/allocations?limit=1000" + (page_token.empty() ? "" : "&pageToken=" + page_token),
        auth);
    if (!all || all->status != 200) {
      std::fprintf(stderr, "listing allocations failed: %d\n", all ? all->status : -1);
      break;
    }
    const json list = json::parse(all->body);
    for (const auto& a : list["items"]) listed.insert(a["id"].get<std::string>());
    page_token = list.value("nextPageToken", "");
  } while (!page_token.empty());
  return listed;
}

struct Store {
  std::string kind;
  std::string script;
  std::string pg_dir;
  std::string dir;
  // A fresh, empty database of this kind.
  std::string NewDatabase(const std::string& name) const {
    return kind == "sqlite" ? dir + "/" + name + ".db"
                            : Shell("'" + script + "' createdb '" + pg_dir + "'");
  }
};

std::string Token(const std::string& db) {
  return Shell("'" + kBin + "' token create --role provider-admin --db '" + db + "' 2>/dev/null");
}

}  // namespace

int main(int argc, char** argv) {
  bool quick = false, gangs = true;
  std::vector<int> sizes = {1000, 10000, 100000};
  std::vector<int> client_counts = {1, 4, 16};
  std::vector<std::string> stores = {"sqlite", "postgresql"};
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const bool has_value = i + 1 < argc;
    if (a == "--quick") {
      quick = true;
      sizes = {1000};
    } else if (a == "--sizes" && has_value) {
      sizes = IntList(argv[++i]);
    } else if (a == "--clients" && has_value) {
      client_counts = IntList(argv[++i]);
    } else if (a == "--stores" && has_value) {
      stores = WordList(argv[++i]);
    } else if (a == "--no-gangs") {
      gangs = false;
    } else {
      std::fprintf(stderr,
                   "usage: service_bench [--quick] [--sizes N,...] [--clients N,...] "
                   "[--stores sqlite,postgresql] [--no-gangs]\n");
      return 2;
    }
  }
  const std::string dir =
      (std::filesystem::temp_directory_path() / ("topoplace-bench-" + std::to_string(::getpid())))
          .string();
  std::filesystem::create_directories(dir);
  const std::string pg_dir = dir + "-pg";
  const std::string script = kSource + "/scripts/pg-test.sh";
  Shell("'" + script + "' start '" + pg_dir + "' >/dev/null");

  std::printf("%-10s %6s %7s | %9s %7s %7s | %9s %7s %7s | %8s %8s | %s\n", "store", "nodes",
              "clients", "dry-run/s", "p50 ms", "p99 ms", "commits/s", "p50 ms", "p99 ms",
              "first ms", "RSS B/n", "lost/doubled");
  std::printf("%s\n", std::string(118, '-').c_str());
  int exit_code = 0;
  for (const std::string& kind : stores) {
    const Store store{kind, script, pg_dir, dir};
    for (int nodes : sizes) {
      const std::string scenario = Scenario(nodes, dir);
      for (int clients : client_counts) {
        const std::string db =
            store.NewDatabase("bench-" + std::to_string(nodes) + "-" + std::to_string(clients));
        const std::string token = Token(db);
        const std::string run_dir =
            dir + "/" + kind + "-" + std::to_string(nodes) + "-" + std::to_string(clients);
        std::filesystem::create_directories(run_dir);
        Server server(db, scenario, run_dir);
        const httplib::Headers auth = {{"Authorization", "Bearer " + token}};
        // The first dry run after the start, as a user would see it.
        httplib::Client warm("127.0.0.1", server.port);
        warm.set_read_timeout(120, 0);
        const auto first_start = Clock::now();
        warm.Post("/v1/placements:solve", auth, std::string(kSolveBody) + "0\"}",
                  "application/json");
        const double first_ms =
            std::chrono::duration<double, std::milli>(Clock::now() - first_start).count();

        const int solves = (quick ? 400 : (nodes >= 10000 ? 400 : 2000)) / clients;
        Stats dry = Drive(server.port, clients, solves, [&](httplib::Client& cl, int c, int) {
          auto r = cl.Post("/v1/placements:solve", auth,
                           std::string(kSolveBody) + std::to_string(c) + "\"}", "application/json");
          return r && r->status == 200;
        });

        // Commits: reserve one node and commit it, on free nodes; bounded by the free capacity.
        const int commits = std::min(nodes / 4, quick ? 320 : 1200) / clients;
        std::mutex mu;
        std::vector<std::string> allocations;
        std::vector<std::string> placed;
        std::atomic<int> retried{0};
        std::string failure;
        Stats cm = Drive(server.port, clients, commits, [&](httplib::Client& cl, int c, int) {
          const std::string body = R"({"nodes": 1, "tenant": "bench-)" + std::to_string(c) + "\"}";
          // As a client would: on 409 (another client won the same nodes twice over) try again.
          httplib::Result r =
              cl.Post("/v1/reservations?backend=heuristic", auth, body, "application/json");
          for (int attempt = 0; r && r->status == 409 && attempt < 5; ++attempt) {
            ++retried;
            r = cl.Post("/v1/reservations?backend=heuristic", auth, body, "application/json");
          }
          if (!r || r->status != 201) {
            std::lock_guard lock(mu);
            if (failure.empty())
              failure = r ? std::to_string(r->status) + " " + r->body.substr(0, 200) : "no answer";
            return false;
          }
          const json rj = json::parse(r->body);
          auto a = cl.Post("/v1/reservations/" + rj["id"].get<std::string>() + ":commit", auth,
                           "{}", "application/json");
          if (!a || a->status != 200) return false;
          const json aj = json::parse(a->body);
          std::lock_guard lock(mu);
          allocations.push_back(aj["id"]);
          for (const auto& n : aj["nodes"]) placed.push_back(n["name"]);
          return true;
        });
        const int64_t rss = server.RssBytes();
        // Every acknowledged commit is in the store, and no node is in two of them.
        const std::set<std::string> listed = ListAllocations(server.port, auth);
        int lost = 0;
        for (const auto& id : allocations) lost += listed.count(id) == 0;
        const std::set<std::string> distinct(placed.begin(), placed.end());
        const int doubled = static_cast<int>(placed.size() - distinct.size());
        if (lost || doubled || dry.failed || cm.failed) exit_code = 1;
        std::printf("%-10s %6d %7d | %9.0f %7.2f %7.2f | %9.0f %7.2f %7.2f | %8.1f %8lld | %d/%d%s\n",
                    kind.c_str(), nodes, clients, dry.per_second, dry.p50_ms, dry.p99_ms,
                    cm.per_second, cm.p50_ms, cm.p99_ms, first_ms,
                    static_cast<long long>(rss / std::max(1, nodes)), lost, doubled,
                    dry.failed || cm.failed
                        ? (" (failed: " + std::to_string(dry.failed) + " solves, " +
                           std::to_string(cm.failed) + " commits)")
                              .c_str()
                        : "");
        if (!failure.empty()) std::fprintf(stderr, "  first failure: %s\n", failure.c_str());
        if (retried) std::fprintf(stderr, "  %d reservations retried after 409\n", retried.load());
        std::fflush(stdout);
      }
    }
  }

  if (gangs) {
    // Gangs: 4 nodes in one rack (required), committed, each client releasing its oldest
    // allocation once it holds two, so the data centre never fills.
    std::printf("\n%-10s %6s %6s %7s | %9s %7s %7s | %8s | %s\n", "store", "nodes", "racks",
                "clients", "gangs/s", "p50 ms", "p99 ms", "released", "lost/doubled/split");
    std::printf("%s\n", std::string(92, '-').c_str());
    const std::string scenario = GangScenario(dir);
    for (const std::string& kind : stores) {
      const Store store{kind, script, pg_dir, dir};
      const int clients = 16;
      const std::string db = store.NewDatabase("gangs");
      const std::string token = Token(db);
      const std::string run_dir = dir + "/" + kind + "-gangs";
      std::filesystem::create_directories(run_dir);
      Server server(db, scenario, run_dir);
      const httplib::Headers auth = {{"Authorization", "Bearer " + token}};
      std::mutex mu;
      std::vector<std::string> committed;
      int split = 0, doubled = 0;
      std::atomic<int> released{0};
      std::set<std::string> held_now;  // nodes currently held by the benchmark's allocations
      std::vector<std::deque<std::pair<std::string, std::vector<std::string>>>> mine(clients);
      const char* gang =
          R"({"nodes": 4, "topology": {"locality": {"level": "rack", "mode": "required"}}, "tenant": "bench-)";
      Stats g = Drive(server.port, clients, quick ? 40 : 150, [&](httplib::Client& cl, int c, int) {
        const std::string body = std::string(gang) + std::to_string(c) + "\"}";
        httplib::Result r =
            cl.Post("/v1/reservations?backend=heuristic", auth, body, "application/json");
        for (int attempt = 0; r && r->status == 409 && attempt < 5; ++attempt)
          r = cl.Post("/v1/reservations?backend=heuristic", auth, body, "application/json");
        if (!r || r->status != 201) return false;
        const json rj = json::parse(r->body);
        auto a = cl.Post("/v1/reservations/" + rj["id"].get<std::string>() + ":commit", auth,
                         "{}", "application/json");
        if (!a || a->status != 200) return false;
        const json aj = json::parse(a->body);
        std::vector<std::string> nodes;
        std::set<std::string> racks;
        for (const auto& n : aj["nodes"]) {
          nodes.push_back(n["name"]);
          // The admission rule names the rack the locality held in: "...; locality rack R; ...".
          const std::string rule = n.value("rule", "");
          const size_t at = rule.find("locality rack ");
          racks.insert(at == std::string::npos
                           ? rule
                           : rule.substr(at + 14, rule.find(';', at) - (at + 14)));
        }
        {
          std::lock_guard lock(mu);
          committed.push_back(aj["id"]);
          if (racks.size() != 1) ++split;
          for (const auto& n : nodes) doubled += !held_now.insert(n).second;
        }
        mine[c].emplace_back(aj["id"], nodes);
        if (mine[c].size() >= 2) {
          auto [id, old_nodes] = mine[c].front();
          mine[c].pop_front();
          {
            // Forget the nodes before the release is sent: once it is, another client may be
            // given them.
            std::lock_guard lock(mu);
            for (const auto& n : old_nodes) held_now.erase(n);
          }
          auto d = cl.Delete("/v1/allocations/" + id, auth);
          if (!d || d->status >= 300) return false;
          ++released;
        }
        return true;
      });
      // Every allocation still held is listed (released ones leave the active list).
      const std::set<std::string> listed = ListAllocations(server.port, auth);
      int lost = 0;
      for (const auto& q : mine)
        for (const auto& [id, nodes] : q) lost += listed.count(id) == 0;
      if (lost || doubled || split || g.failed) exit_code = 1;
      std::printf("%-10s %6d %6d %7d | %9.0f %7.2f %7.2f | %8d | %d/%d/%d%s\n", kind.c_str(), 5000,
                  50, clients, g.per_second, g.p50_ms, g.p99_ms, released.load(), lost, doubled,
                  split, g.failed ? (" (failed: " + std::to_string(g.failed) + ")").c_str() : "");
      std::fflush(stdout);
    }
  }
  Shell("'" + script + "' stop '" + pg_dir + "'");
  std::filesystem::remove_all(dir);
  return exit_code;
}
