// Runs the real `topoplace serve` as a process on loopback and talks to it over HTTP, as a client
// would. Every placement the tests receive is checked by the independent verifier against the
// state the server reports (VerifyServed).
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "api/request_json.h"
#include "inventory/scenario_codec.h"
#include "solver/verifier.h"
#include "tests/service/databases.h"

namespace topoplace::testing {

using json = nlohmann::json;

inline std::string TopoplaceBin() {
  const char* bin = std::getenv("TOPOPLACE_BIN");
  return bin ? bin : TOPOPLACE_BIN_DEFAULT;
}

inline std::string ReadAll(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

struct CliResult {
  int exit_code = -1;
  std::string out, err;
};

// Runs `topoplace ARGS...` to completion.
inline CliResult RunCli(const std::vector<std::string>& args) {
  static int counter = 0;
  const auto dir =
      std::filesystem::temp_directory_path() / ("topoplace-svc-cli-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto out = dir / ("out" + std::to_string(counter)),
             err = dir / ("err" + std::to_string(counter));
  ++counter;
  std::string cmd = "'" + TopoplaceBin() + "'";
  for (const auto& a : args) cmd += " '" + a + "'";
  cmd += " >'" + out.string() + "' 2>'" + err.string() + "'";
  const int raw = std::system(cmd.c_str());
  return {WIFEXITED(raw) ? WEXITSTATUS(raw) : -1, ReadAll(out), ReadAll(err)};
}

inline std::string CreateToken(const std::string& db, const std::string& role,
                               const std::string& tenant = "") {
  std::vector<std::string> args = {"token", "create", "--db", db, "--role", role};
  if (!tenant.empty()) args.insert(args.end(), {"--tenant", tenant});
  CliResult r = RunCli(args);
  if (r.exit_code != 0) throw std::runtime_error("token create failed: " + r.err);
  std::string t = r.out;
  while (!t.empty() && std::isspace(static_cast<unsigned char>(t.back()))) t.pop_back();
  return t;
}

struct Response {
  int status = 0;
  std::string body;
  std::string content_type;
  std::string allow;  // the Allow header (405 answers)
  json Json() const {
    auto j = json::parse(body, nullptr, false);
    return j;
  }
};

// One `topoplace serve` process.
class ServerProcess {
 public:
  ServerProcess(std::string db, std::vector<std::string> extra = {}) : db_(std::move(db)) {
    static int counter = 0;
    dir_ = std::filesystem::temp_directory_path() /
           ("topoplace-serve-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    // Process ids come back: a directory left by an earlier test process with this id would hold
    // an old "listening on" line, read before the new server truncates its output, and the test
    // would go on against a server that is not this one (or not up yet). Start from nothing.
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    std::vector<std::string> args = {TopoplaceBin(), "serve",      "--db", db_,
                                     "--listen",     "127.0.0.1:0"};
    args.insert(args.end(), extra.begin(), extra.end());
    Start(args);
  }
  ~ServerProcess() {
    Stop(SIGTERM);
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  const std::string& db() const { return db_; }
  std::string log() const { return ReadAll(dir_ / "err"); }

  // SIGKILL: a crash, no clean-up of any kind.
  void Kill() { Stop(SIGKILL); }
  int Stop(int sig = SIGTERM) {
    if (pid_ <= 0) return status_;
    ::kill(pid_, sig);
    int st = 0;
    for (int i = 0; i < 300; ++i) {  // up to 30 s
      if (::waitpid(pid_, &st, WNOHANG) == pid_) {
        pid_ = -1;
        status_ = st;
        return st;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, &st, 0);
    pid_ = -1;
    status_ = st;
    return st;
  }

  Response Call(const std::string& method, const std::string& path, const std::string& token = "",
                const std::string& body = "",
                const std::string& content_type = "application/json") const {
    httplib::Client client("127.0.0.1", port_);
    client.set_read_timeout(60, 0);
    client.set_connection_timeout(5, 0);
    httplib::Headers headers;
    if (!token.empty()) headers.emplace("Authorization", "Bearer " + token);
    auto send = [&]() -> httplib::Result {
      if (method == "GET") return client.Get(path, headers);
      if (method == "DELETE") return client.Delete(path, headers);
      if (method == "PUT") return client.Put(path, headers, body, content_type);
      return client.Post(path, headers, body, content_type);
    };
    httplib::Result r = send();
    if (!r) return {0, "", "", ""};
    return {r->status, r->body, r->get_header_value("Content-Type"), r->get_header_value("Allow")};
  }

 private:
  void Start(const std::vector<std::string>& args) {
    pid_ = ::fork();
    if (pid_ == 0) {
      const int out = ::open((dir_ / "out").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      const int err = ::open((dir_ / "err").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      ::dup2(out, 1);
      ::dup2(err, 2);
      std::filesystem::current_path(dir_);
      std::vector<char*> argv;
      for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
      argv.push_back(nullptr);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    static const std::regex kListening("listening on https?://127\\.0\\.0\\.1:([0-9]+)");
    for (int i = 0; i < 600; ++i) {  // up to 60 s (seeding a large scenario under sanitizers)
      std::smatch m;
      const std::string out = ReadAll(dir_ / "out");
      if (std::regex_search(out, m, kListening)) {
        port_ = std::stoi(m[1]);
        return;
      }
      int st = 0;
      if (::waitpid(pid_, &st, WNOHANG) == pid_) {
        pid_ = -1;
        throw std::runtime_error("topoplace serve exited: " + ReadAll(dir_ / "err"));
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    throw std::runtime_error("topoplace serve did not start: " + ReadAll(dir_ / "err"));
  }

  std::string db_;
  std::filesystem::path dir_;
  pid_t pid_ = -1;
  int status_ = 0;
  int port_ = 0;
};

inline Scenario LoadMocSmall() {
  auto s = LoadScenarioFile(SourceDirectory() + "/scenarios/moc-small.yaml");
  if (!s.ok()) throw std::runtime_error(s.status().ToString());
  return *s;
}

// Checks `placed` (node names) for `request_body` with the independent verifier, against the
// state the server reports now (GET /v1/nodes as a provider). When `held` the nodes are the
// request's own current holding.
inline void VerifyServed(const ServerProcess& server, const std::string& admin_token,
                         const Scenario& base, const json& request_body,
                         const std::vector<std::string>& placed, bool held) {
  ASSERT_FALSE(placed.empty());
  Response nodes = server.Call("GET", "/v1/nodes", admin_token);
  ASSERT_EQ(nodes.status, 200) << nodes.body;
  Scenario s = base;
  for (Node& n : s.inventory.nodes) {
    n.state = NodeState::kAvailable;
    n.holder.clear();
    n.exclusive.reset();
  }
  const json state = nodes.Json();
  for (const auto& n : state["nodes"]) {
    const int i = s.inventory.NodeIndex(n["name"].get<std::string>());
    ASSERT_GE(i, 0);
    s.inventory.nodes[i].state = *ParseNodeState(n["state"].get<std::string>());
    if (n["tenant"].is_string()) s.inventory.nodes[i].holder = n["tenant"].get<std::string>();
    if (n.contains("exclusive")) {
      s.inventory.nodes[i].exclusive = ParseLevel(n["exclusive"].get<std::string>());
    }
  }
  auto snap = MakeSnapshot(s.inventory);
  ASSERT_TRUE(snap.ok());
  DecodedRequest d = DecodeRequestJson(request_body);
  ASSERT_TRUE(d.errors.empty());
  std::vector<int> idx, current;
  for (const auto& name : placed) idx.push_back((*snap)->inventory.NodeIndex(name));
  if (held) current = idx;
  PlacementProblem problem{*snap, s.tenants};
  auto violations = VerifyPlacement(problem, d.request, idx, current);
  for (const auto& v : violations) ADD_FAILURE() << v.constraint << ": " << v.detail;
}

inline std::vector<std::string> NodeNames(const json& nodes) {
  std::vector<std::string> out;
  for (const auto& n : nodes)
    out.push_back(n.is_string() ? n.get<std::string>() : n["name"].get<std::string>());
  return out;
}

}  // namespace topoplace::testing
