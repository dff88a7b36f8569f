// The service benchmark: real `topoplace serve` processes on loopback, driven by 1, 4 and 16
// concurrent clients, on the embedded store and on a throwaway database server, at 1,000 and
// 10,000 nodes. Prints a plain table: dry-run solves per second and commits per second (a
// reservation and its commit), each with p50/p99 latency, and the check that no allocation was
// lost or doubled. Request loops are bounded in count and time; traffic stays on 127.0.0.1.
//
//   service_bench [--quick]      (--quick: 1,000 nodes only, fewer requests)
#include <fcntl.h>
#include <httplib.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
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
};

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
    y << "  - {name: bench-" << t << ", quota: {nodes: 100000}, budgetPerHour: 100000000}\n";
  }
  const std::string path = dir + "/scenario-" + std::to_string(nodes) + ".yaml";
  std::ofstream(path) << y.str();
  return path;
}

const char* kSolveBody = R"({"nodes": 4, "select": {"class": "h100x8"},
  "topology": {"locality": {"level": "rack", "mode": "preferred"}}, "tenant": "bench-)";

}  // namespace

int main(int argc, char** argv) {
  const bool quick = argc > 1 && std::string(argv[1]) == "--quick";
  const std::string dir =
      (std::filesystem::temp_directory_path() / ("topoplace-bench-" + std::to_string(::getpid())))
          .string();
  std::filesystem::create_directories(dir);
  const std::string pg_dir = dir + "-pg";
  const std::string script = kSource + "/scripts/pg-test.sh";
  Shell("'" + script + "' start '" + pg_dir + "' >/dev/null");

  std::printf("%-10s %6s %7s | %12s %8s %8s | %10s %8s %8s | %s\n", "store", "nodes", "clients",
              "dry-run/s", "p50 ms", "p99 ms", "commits/s", "p50 ms", "p99 ms", "lost/doubled");
  std::printf("%s\n", std::string(112, '-').c_str());
  int exit_code = 0;
  for (const std::string store : {"sqlite", "postgresql"}) {
    for (int nodes : quick ? std::vector<int>{1000} : std::vector<int>{1000, 10000}) {
      const std::string scenario = Scenario(nodes, dir);
      for (int clients : {1, 4, 16}) {
        const std::string db =
            store == "sqlite"
                ? dir + "/bench-" + std::to_string(nodes) + "-" + std::to_string(clients) + ".db"
                : Shell("'" + script + "' createdb '" + pg_dir + "'");
        const std::string token = Shell("'" + kBin + "' token create --role provider-admin --db '" +
                                        db + "' 2>/dev/null");
        const std::string run_dir = dir + "/" + store + "-" + std::to_string(nodes) + "-" + std::to_string(clients);
        std::filesystem::create_directories(run_dir);
        Server server(db, scenario, run_dir);
        const httplib::Headers auth = {{"Authorization", "Bearer " + token}};
        // Warm up (first solve builds the snapshot).
        httplib::Client warm("127.0.0.1", server.port);
        warm.Post("/v1/placements:solve", auth, std::string(kSolveBody) + "0\"}",
                  "application/json");

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
          httplib::Result r = cl.Post("/v1/reservations?backend=heuristic", auth, body, "application/json");
          for (int attempt = 0; r && r->status == 409 && attempt < 5; ++attempt) {
            ++retried;
            r = cl.Post("/v1/reservations?backend=heuristic", auth, body, "application/json");
          }
          if (!r || r->status != 201) {
            std::lock_guard lock(mu);
            if (failure.empty()) failure = r ? std::to_string(r->status) + " " + r->body.substr(0, 200) : "no answer";
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
        // Every acknowledged commit is in the store, and no node is in two of them.
        httplib::Client check("127.0.0.1", server.port);
        check.set_read_timeout(120, 0);
        // Lists come in pages: follow nextPageToken to the end.
        std::set<std::string> listed;
        std::string page_token;
        do {
          auto all = check.Get("/v1/allocations?limit=1000" +
                                   (page_token.empty() ? "" : "&pageToken=" + page_token),
                               auth);
          if (!all || all->status != 200) {
            std::fprintf(stderr, "listing allocations failed: %d\n", all ? all->status : -1);
            break;
          }
          const json list = json::parse(all->body);
          for (const auto& a : list["items"]) listed.insert(a["id"].get<std::string>());
          page_token = list.value("nextPageToken", "");
        } while (!page_token.empty());
        int lost = 0;
        for (const auto& id : allocations) lost += listed.count(id) == 0;
        const std::set<std::string> distinct(placed.begin(), placed.end());
        const int doubled = static_cast<int>(placed.size() - distinct.size());
        if (lost || doubled || dry.failed || cm.failed) exit_code = 1;
        std::printf("%-10s %6d %7d | %12.0f %8.2f %8.2f | %10.0f %8.2f %8.2f | %d/%d%s\n",
                    store.c_str(), nodes, clients, dry.per_second, dry.p50_ms, dry.p99_ms,
                    cm.per_second, cm.p50_ms, cm.p99_ms, lost, doubled,
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
  Shell("'" + script + "' stop '" + pg_dir + "'");
  std::filesystem::remove_all(dir);
  return exit_code;
}
