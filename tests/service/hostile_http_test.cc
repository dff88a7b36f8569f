// The HTTP edge against hostile and broken clients: exact bytes on raw sockets (invalid UTF-8,
// conflicting lengths, unknown methods, oversized headers and bodies, pipelining, slow drips), the
// connection and solve caps, per-role solve limits, and operations (liveness and readiness, the
// access log, request ids, TLS, the config file, a port already in use). After every attack the
// server must still answer.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <atomic>
#include <map>
#include <thread>

#include "model/text.h"
#include "tests/service/service_harness.h"

namespace topoplace::testing {
namespace {

using Clock = std::chrono::steady_clock;

// A client connection that writes exact bytes.
class Raw {
 public:
  explicit Raw(int port, const char* source = "127.0.0.1") {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in src{};
    src.sin_family = AF_INET;
    ::inet_pton(AF_INET, source, &src.sin_addr);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&src), sizeof src);
    sockaddr_in dst{};
    dst.sin_family = AF_INET;
    dst.sin_port = htons(static_cast<uint16_t>(port));
    ::inet_pton(AF_INET, "127.0.0.1", &dst.sin_addr);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&dst), sizeof dst) == 0;
  }
  ~Raw() { ::close(fd_); }
  Raw(const Raw&) = delete;
  Raw& operator=(const Raw&) = delete;

  bool connected() const { return connected_; }
  // False once the peer stopped taking bytes.
  bool Send(std::string_view bytes) {
    while (!bytes.empty()) {
      const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      bytes.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }
  // Whether bytes (or the end) can be read within `ms`.
  bool Readable(int ms) {
    pollfd p{fd_, POLLIN, 0};
    return ::poll(&p, 1, ms) == 1;
  }
  // Reads more into the buffer; false at the end of the stream or after `ms` without a byte.
  bool Fill(int ms) {
    if (!Readable(ms)) return false;
    char buf[65536];
    const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n <= 0) return false;
    in_.append(buf, static_cast<size_t>(n));
    return true;
  }
  // Whether the server closed the connection within `ms` (reading and dropping what comes).
  bool ClosedWithin(int ms) {
    const auto until = Clock::now() + std::chrono::milliseconds(ms);
    while (Clock::now() < until) {
      if (!Readable(50)) continue;
      char buf[4096];
      if (::recv(fd_, buf, sizeof buf, 0) <= 0) return true;
    }
    return false;
  }

  struct Answer {
    int status = 0;                              // 0: none arrived
    std::map<std::string, std::string> headers;  // names in lower case
    std::string body;
    std::string Header(const std::string& name) const {
      auto it = headers.find(name);
      return it == headers.end() ? "" : it->second;
    }
    json Json() const { return json::parse(body, nullptr, false); }
  };
  // Reads one answer (Content-Length framed; no body when `head`), waiting up to `ms`.
  Answer Read(int ms = 10000, bool head = false) {
    Answer a;
    const auto until = Clock::now() + std::chrono::milliseconds(ms);
    size_t end;
    while ((end = in_.find("\r\n\r\n")) == std::string::npos) {
      const int left = static_cast<int>(
          std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now()).count());
      if (left <= 0 || !Fill(left)) return a;
    }
    std::istringstream lines(in_.substr(0, end));
    std::string line;
    std::getline(lines, line);
    if (line.rfind("HTTP/1.1 ", 0) != 0) return a;
    const int status = std::stoi(line.substr(9, 3));
    while (std::getline(lines, line)) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      const size_t colon = line.find(':');
      if (colon == std::string::npos) continue;
      std::string name = line.substr(0, colon);
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      std::string value = line.substr(colon + 1);
      while (!value.empty() && value.front() == ' ') value.erase(0, 1);
      a.headers[name] = value;
    }
    const size_t length =
        head ? 0
             : std::stoul(a.Header("content-length").empty() ? "0" : a.Header("content-length"));
    while (in_.size() < end + 4 + length) {
      const int left = static_cast<int>(
          std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now()).count());
      if (left <= 0 || !Fill(left)) return a;
    }
    a.status = status;
    a.body = in_.substr(end + 4, length);
    in_.erase(0, end + 4 + length);
    return a;
  }

 private:
  int fd_ = -1;
  bool connected_ = false;
  std::string in_;
};

// One exchange on a fresh connection.
Raw::Answer Exchange(int port, const std::string& bytes, int ms = 10000) {
  Raw c(port);
  EXPECT_TRUE(c.connected());
  c.Send(bytes);
  return c.Read(ms);
}

// A problem answer: the status, application/problem+json, valid UTF-8 JSON with that code.
void ExpectProblem(const Raw::Answer& a, int status, const std::string& code) {
  EXPECT_EQ(a.status, status) << a.body;
  EXPECT_EQ(a.Header("content-type"), "application/problem+json") << a.body;
  EXPECT_TRUE(IsValidUtf8(a.body)) << a.body;
  const json j = a.Json();
  ASSERT_TRUE(j.is_object()) << a.body;
  EXPECT_EQ(j.value("code", ""), code) << a.body;
  EXPECT_EQ(j.value("status", 0), status) << a.body;
  EXPECT_FALSE(a.Header("x-request-id").empty());
}

void ExpectAlive(const ServerProcess& server) {
  Response h = server.Call("GET", "/healthz");
  EXPECT_EQ(h.status, 200) << "the server no longer answers: " << server.log();
}

int64_t RssKb(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoll(line.substr(6));
  }
  return -1;
}

class HostileHttpTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = NewStoreUrl("sqlite");
    admin_ = CreateToken(db_, "provider-admin");
  }
  // Starts a server on the test's store; the store is seeded by then, so tenant tokens can exist.
  std::unique_ptr<ServerProcess> Start(std::vector<std::string> extra = {}) {
    auto server = std::make_unique<ServerProcess>(db_, std::move(extra));
    if (member_.empty()) member_ = CreateToken(db_, "tenant-member", "nlp-lab");
    return server;
  }
  std::string db_, admin_, member_;
};

const std::string kSolveBody = R"({"tenant": "nlp-lab", "nodes": 2})";

// --- 1. invalid UTF-8 ----------------------------------------------------------------------------

TEST_F(HostileHttpTest, InvalidUtf8InPathQueryHeadersAndMediaTypeGetsEscapedProblems) {
  auto server = Start();
  const int port = server->port();
  Raw::Answer a = Exchange(port, "GET /%ff%fe HTTP/1.1\r\nHost: x\r\n\r\n");
  ExpectProblem(a, 404, "route_not_found");
  EXPECT_NE(a.Json().value("detail", "").find("\\xff"), std::string::npos) << a.body;

  a = Exchange(port, "GET /healthz?%ff=1 HTTP/1.1\r\nHost: x\r\n\r\n");
  ExpectProblem(a, 400, "bad_parameter");
  a = Exchange(port, "GET /v1/nodes?state=%c3%28 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
                         admin_ + "\r\n\r\n");
  ExpectProblem(a, 400, "bad_parameter");

  // A raw byte that is not UTF-8 in a header value nobody reads: ignored.
  a = Exchange(port, "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Note: \xff\xfe\r\n\r\n");
  EXPECT_EQ(a.status, 200) << a.body;
  // In the media type: 415, the type quoted and escaped.
  a = Exchange(port, "POST /v1/placements:solve HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
                         admin_ + "\r\nContent-Type: application/\xff\xfe\r\nContent-Length: " +
                         std::to_string(kSolveBody.size()) + "\r\n\r\n" + kSolveBody);
  ExpectProblem(a, 415, "unsupported_media_type");
  EXPECT_NE(a.Json().value("detail", "").find("\\xff"), std::string::npos) << a.body;
  // A control character in a header value is not HTTP: 400.
  a = Exchange(port, "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Note: \x1b[2J\r\n\r\n");
  ExpectProblem(a, 400, "bad_http_request");
  EXPECT_EQ(a.body.find('\x1b'), std::string::npos);
  // In the token: 401.
  a = Exchange(port, "GET /v1/nodes HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \xff\xc0\r\n\r\n");
  ExpectProblem(a, 401, "unauthenticated");
  // In an id: no such route, quoted back escaped.
  a = Exchange(port,
               "GET /v1/reservations/%e2%80%ae%ff HTTP/1.1\r\nHost: x\r\nAuthorization: "
               "Bearer " +
                   admin_ + "\r\n\r\n");
  ExpectProblem(a, 404, "route_not_found");
  // Broken percent-escapes in the path: 400.
  a = Exchange(port, "GET /v1/%zz HTTP/1.1\r\nHost: x\r\n\r\n");
  ExpectProblem(a, 400, "bad_request_target");
  ExpectAlive(*server);
}

// --- 2. body limit, authentication before the body -----------------------------------------------

TEST_F(HostileHttpTest, BodyLimitAppliesToContentLengthAndChunkedAlike) {
  auto server = Start({"--max-body-bytes", "65536"});
  const int port = server->port();
  const std::string auth = "Authorization: Bearer " + admin_ + "\r\n";
  // Announced too large: 413 on the header alone.
  Raw big(port);
  big.Send("POST /v1/placements:solve HTTP/1.1\r\nHost: x\r\n" + auth +
           "Content-Type: application/json\r\nContent-Length: 2000000\r\n\r\n{");
  ExpectProblem(big.Read(5000), 413, "body_too_large");

  // Chunked: 413 once the limit is passed, while the client is still sending.
  Raw chunked(port);
  chunked.Send("POST /v1/placements:solve HTTP/1.1\r\nHost: x\r\n" + auth +
               "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n");
  const std::string chunk = "4000\r\n" + std::string(0x4000, ' ') + "\r\n";  // 16 KiB
  int sent = 0;
  while (sent < 256 && !chunked.Readable(0) && chunked.Send(chunk)) ++sent;  // up to 4 MiB
  EXPECT_LT(sent, 256) << "the server read 4 MiB of a chunked body with a 64 KiB limit";
  ExpectProblem(chunked.Read(5000), 413, "body_too_large");

  // Under the limit, chunked works.
  Raw small(port);
  small.Send("POST /v1/placements:solve HTTP/1.1\r\nHost: x\r\n" + auth +
             "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n" +
             "5\r\n{\"ten\r\n" + [] {
               const std::string rest = R"(ant": "nlp-lab", "nodes": 2})";
               char size[16];
               std::snprintf(size, sizeof size, "%zx", rest.size());
               return std::string(size) + "\r\n" + rest + "\r\n0\r\n\r\n";
             }());
  EXPECT_EQ(small.Read(20000).status, 200);
  ExpectAlive(*server);
}

TEST_F(HostileHttpTest, AuthenticationAndRolesAreCheckedBeforeAnyBodyByteIsRead) {
  auto server = Start();
  const int port = server->port();
  const std::string huge = "Content-Type: application/json\r\nContent-Length: 536870912\r\n\r\n";
  const std::string filler(1 << 20, 'x');
  struct Case {
    std::string auth;
    std::string path;
    int status;
    const char* code;
  };
  const std::vector<Case> cases = {
      {"", "/v1/placements:solve", 401, "unauthenticated"},
      {"Authorization: Bearer tpk_not_a_token\r\n", "/v1/reservations", 401, "unauthenticated"},
      {"Authorization: Bearer " + member_ + "\r\n", "/v1/reservations", 403, "forbidden"},
  };
  // Resident memory before (the sanitizers' shadow memory makes the baseline large): a body read
  // into memory would add hundreds of MiB to it.
  const int64_t before = RssKb(server->pid());
  ASSERT_GT(before, 0);
  for (const Case& c : cases) {
    SCOPED_TRACE(c.code);
    Raw conn(port);
    conn.Send("POST " + c.path + " HTTP/1.1\r\nHost: x\r\n" + c.auth + huge);
    Raw::Answer a = conn.Read(5000);  // promptly: not after 512 MiB
    ExpectProblem(a, c.status, c.code);
    // The client goes on sending; the server does not keep it.
    for (int i = 0; i < 64 && conn.Send(filler); ++i) {
    }
    const int64_t rss = RssKb(server->pid());
    EXPECT_GT(rss, 0);
    EXPECT_LT(rss - before, 48 * 1024)
        << "the server's resident memory grew from " << before << " KiB to " << rss << " KiB";
  }
  ExpectAlive(*server);
}

// --- 3. slow clients, connection caps, solve slots, role limits ----------------------------------

TEST_F(HostileHttpTest, SixtyFourSlowClientsDoNotStarveOthers) {
  auto server = Start({"--max-connections-per-client", "200", "--header-timeout-seconds", "10"});
  const int port = server->port();
  std::vector<std::unique_ptr<Raw>> slow;
  for (int i = 0; i < 64; ++i) slow.push_back(std::make_unique<Raw>(port));
  const std::string drip = "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: yes\r\n";
  std::atomic<bool> stop{false};
  std::thread dripper([&] {
    for (size_t k = 0; k < drip.size() && !stop; ++k) {
      for (auto& c : slow) c->Send(std::string_view(drip).substr(k, 1));
      for (int t = 0; t < 20 && !stop; ++t)
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  });
  std::this_thread::sleep_for(std::chrono::seconds(3));
  for (int round = 0; round < 2; ++round) {
    httplib::Client client("127.0.0.1", port);
    client.set_connection_timeout(3, 0);
    client.set_read_timeout(3, 0);  // "a couple of seconds": a stalled server fails this
    auto h = client.Get("/healthz");
    ASSERT_TRUE(h) << "no answer to /healthz while 64 slow clients are connected";
    EXPECT_EQ(h->status, 200);
    auto n = client.Get("/v1/nodes", {{"Authorization", "Bearer " + admin_}});
    ASSERT_TRUE(n) << "no answer to /v1/nodes while 64 slow clients are connected";
    EXPECT_EQ(n->status, 200);
    std::this_thread::sleep_for(std::chrono::seconds(2));
  }
  stop = true;
  dripper.join();
}

TEST_F(HostileHttpTest, AHeaderMustBeCompleteWithinItsDeadline) {
  auto server = Start({"--header-timeout-seconds", "2"});
  Raw slow(server->port());
  const std::string drip = "GET /healthz HTTP/1.1\r\nHost: x\r\n";
  bool closed = false;
  for (size_t k = 0; k < drip.size() && !closed; ++k) {  // a byte every 500 ms: never finishes
    slow.Send(drip.substr(k, 1));
    closed = slow.ClosedWithin(500);
  }
  EXPECT_TRUE(closed) << "a header dripping for " << drip.size() / 2 << " s was still being read";
  ExpectAlive(*server);
}

TEST_F(HostileHttpTest, ABodyMustArriveWithinItsDeadline) {
  auto server = Start({"--body-timeout-seconds", "1"});
  Raw slow(server->port());
  slow.Send("POST /v1/placements:solve HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + admin_ +
            "\r\nContent-Type: application/json\r\nContent-Length: 40\r\n\r\n{\"ten");
  EXPECT_TRUE(slow.ClosedWithin(8000)) << "a body 35 bytes short was waited for 8 s";
  ExpectAlive(*server);
}

TEST_F(HostileHttpTest, ConnectionsPerClientAreCapped) {
  auto server = Start({"--max-connections-per-client", "3"});
  const int port = server->port();
  std::vector<std::unique_ptr<Raw>> held;
  for (int i = 0; i < 3; ++i) {
    held.push_back(std::make_unique<Raw>(port));
    held.back()->Send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");  // each one answered: counted
    EXPECT_EQ(held.back()->Read().status, 200);
  }
  Raw fourth(port);
  Raw::Answer a = fourth.Read(5000);
  ExpectProblem(a, 429, "too_many_connections");
  EXPECT_EQ(a.Header("retry-after"), "1");
  // Another client address is not affected.
  Raw other(port, "127.0.0.2");
  other.Send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(other.Read().status, 200);
  // Once this client closes its connections it may connect again.
  held.clear();
  int status = 0;
  for (int i = 0; i < 50 && status != 200; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    status = Exchange(port, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").status;
  }
  EXPECT_EQ(status, 200);
}

TEST_F(HostileHttpTest, ConnectionsInTotalAreCapped) {
  auto server = Start({"--max-connections", "4", "--max-connections-per-client", "100"});
  const int port = server->port();
  std::vector<std::unique_ptr<Raw>> held;
  for (const char* source : {"127.0.0.1", "127.0.0.2", "127.0.0.3", "127.0.0.4"}) {
    held.push_back(std::make_unique<Raw>(port, source));
    held.back()->Send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
    EXPECT_EQ(held.back()->Read().status, 200);
  }
  Raw fifth(port, "127.0.0.5");
  Raw::Answer a = fifth.Read(5000);
  ExpectProblem(a, 503, "too_busy");
  EXPECT_EQ(a.Header("retry-after"), "1");
  held.clear();
  int status = 0;
  for (int i = 0; i < 50 && status != 200; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    status = Exchange(port, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").status;
  }
  EXPECT_EQ(status, 200);
}

TEST_F(HostileHttpTest, SolvesBeyondTheCapAreAnsweredTooBusy) {
  auto server = Start({"--max-concurrent-solves", "1", "--solve-queue", "0", "--solver", "ilp"});
  const int port = server->port();
  std::atomic<int> ok{0}, busy{0}, other{0};
  std::string other_body;
  std::mutex mu;
  for (int round = 0; round < 20 && busy == 0; ++round) {
    std::vector<std::thread> clients;
    for (int c = 0; c < 6; ++c) {
      clients.emplace_back([&] {
        Raw::Answer a =
            Exchange(port,
                     "POST /v1/placements:solve HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
                         admin_ + "\r\nContent-Type: application/json\r\nContent-Length: " +
                         std::to_string(kSolveBody.size()) + "\r\n\r\n" + kSolveBody,
                     60000);
        if (a.status == 200) {
          ++ok;
        } else if (a.status == 503 && a.Json().value("code", "") == "too_busy" &&
                   a.Header("retry-after") == "1") {
          ++busy;
        } else {
          ++other;
          std::lock_guard lock(mu);
          other_body = std::to_string(a.status) + " " + a.body;
        }
      });
    }
    for (auto& t : clients) t.join();
  }
  EXPECT_GT(busy.load(), 0) << "six solves at once never met a cap of one";
  EXPECT_GT(ok.load(), 0);
  EXPECT_EQ(other.load(), 0) << other_body;
  ExpectAlive(*server);
}

TEST_F(HostileHttpTest, ATenantMemberMayNotGiveTheExactSolverALongTimeLimit) {
  auto server = Start({"--member-max-time-limit-seconds", "2"});
  const std::string body = R"({"nodes": 2})";
  Response r =
      server->Call("POST", "/v1/placements:solve?backend=ilp&timeLimitSeconds=30", member_, body);
  EXPECT_EQ(r.status, 403) << r.body;
  EXPECT_EQ(r.Json().value("code", ""), "parameter_not_allowed");
  EXPECT_EQ(r.Json().value("parameter", ""), "timeLimitSeconds");
  r = server->Call("POST", "/v1/placements:solve?backend=auto&timeLimitSeconds=30", member_, body);
  EXPECT_EQ(r.status, 403) << r.body;
  // Within the cap, or with the heuristic, it may; so may the provider.
  EXPECT_EQ(
      server->Call("POST", "/v1/placements:solve?backend=ilp&timeLimitSeconds=1", member_, body)
          .status,
      200);
  EXPECT_EQ(server
                ->Call("POST", "/v1/placements:solve?backend=heuristic&timeLimitSeconds=30",
                       member_, body)
                .status,
            200);
  EXPECT_EQ(
      server
          ->Call("POST", "/v1/placements:solve?backend=ilp&timeLimitSeconds=30", admin_, kSolveBody)
          .status,
      200);
}

// --- 4. no Content-Length: an empty body ---------------------------------------------------------

TEST_F(HostileHttpTest, ARequestWithoutContentLengthHasAnEmptyBody) {
  auto server = Start();
  Response held = server->Call("POST", "/v1/reservations", admin_, kSolveBody);
  ASSERT_EQ(held.status, 201) << held.body;
  const std::string id = held.Json()["id"];
  Raw c(server->port());
  c.Send("POST /v1/reservations/" + id + ":commit HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
         admin_ + "\r\n\r\n");
  Raw::Answer a = c.Read(5000);  // at once, not after a body deadline
  EXPECT_EQ(a.status, 200) << a.body;
  EXPECT_EQ(a.Json().value("status", ""), "active") << a.body;
}

// --- 5. a port in use ----------------------------------------------------------------------------

TEST_F(HostileHttpTest, ASecondServerOnAPortInUseRefusesWithExitFour) {
  auto server = Start();
  const std::string other_db = NewStoreUrl("sqlite");
  const auto dir =
      std::filesystem::temp_directory_path() / ("topoplace-hostile-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string cmd = "timeout 60 '" + TopoplaceBin() + "' serve --db '" + other_db +
                          "' --listen 127.0.0.1:" + std::to_string(server->port()) + " >'" +
                          (dir / "out").string() + "' 2>'" + (dir / "err").string() + "'";
  const int raw = std::system(cmd.c_str());
  ASSERT_TRUE(WIFEXITED(raw));
  EXPECT_EQ(WEXITSTATUS(raw), 4) << ReadAll(dir / "err");
  EXPECT_NE(ReadAll(dir / "err").find("cannot listen"), std::string::npos) << ReadAll(dir / "err");
  ExpectAlive(*server);
}

// --- 6. pipelining -------------------------------------------------------------------------------

TEST_F(HostileHttpTest, PipelinedRequestsAreAnsweredInOrderAtOnce) {
  auto server = Start();
  Raw c(server->port());
  c.Send(
      "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Request-Id: first\r\n\r\n"
      "GET /v1/nowhere HTTP/1.1\r\nHost: x\r\nX-Request-Id: second\r\n\r\n"
      "HEAD /healthz HTTP/1.1\r\nHost: x\r\nX-Request-Id: third\r\n\r\n"
      "GET /v1/nodes HTTP/1.1\r\nHost: x\r\nX-Request-Id: fourth\r\nAuthorization: Bearer " +
      admin_ + "\r\n\r\n");
  Raw::Answer a = c.Read(5000);
  EXPECT_EQ(a.status, 200);
  EXPECT_EQ(a.Header("x-request-id"), "first");
  a = c.Read(5000);
  EXPECT_EQ(a.status, 404);
  EXPECT_EQ(a.Header("x-request-id"), "second");
  a = c.Read(5000, /*head=*/true);
  EXPECT_EQ(a.status, 200);
  EXPECT_EQ(a.Header("x-request-id"), "third");
  EXPECT_NE(a.Header("content-length"), "0");  // the GET's length, without its body
  a = c.Read(5000);
  EXPECT_EQ(a.status, 200);
  EXPECT_EQ(a.Header("x-request-id"), "fourth");
  EXPECT_TRUE(a.Json().contains("nodes")) << a.body.substr(0, 200);
}

// --- 7. HTTP deviations --------------------------------------------------------------------------

TEST_F(HostileHttpTest, MalformedHttpGetsTheRightStatus) {
  auto server = Start();
  const int port = server->port();
  const std::string auth = "Authorization: Bearer " + admin_ + "\r\n";
  const std::string post = "POST /v1/placements:solve HTTP/1.1\r\nHost: x\r\n" + auth +
                           "Content-Type: application/json\r\n";
  struct Case {
    const char* name;
    std::string bytes;
    int status;
    const char* code;
  };
  std::string many_fields = "GET /healthz HTTP/1.1\r\nHost: x\r\n";
  for (int i = 0; i < 120; ++i) many_fields += "X-F" + std::to_string(i) + ": v\r\n";
  const std::vector<Case> cases = {
      {"conflicting Content-Length", post + "Content-Length: 5\r\nContent-Length: 6\r\n\r\n{}   ",
       400, "bad_content_length"},
      {"Content-Length not a number", post + "Content-Length: abc\r\n\r\n", 400,
       "bad_content_length"},
      {"negative Content-Length", post + "Content-Length: -1\r\n\r\n", 400, "bad_content_length"},
      {"Content-Length and Transfer-Encoding",
       post + "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400,
       "bad_transfer_encoding"},
      {"Transfer-Encoding and Content-Length",
       post + "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n", 400,
       "bad_content_length"},
      {"Transfer-Encoding not chunked", post + "Transfer-Encoding: gzip\r\n\r\n", 400,
       "bad_transfer_encoding"},
      {"unknown method", "BREW /healthz HTTP/1.1\r\nHost: x\r\n\r\n", 501,
       "method_not_implemented"},
      {"too many header fields", many_fields + "\r\n", 431, "too_many_header_fields"},
      {"header too large",
       "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(20000, 'b') + "\r\n\r\n", 431,
       "header_too_large"},
      {"target too long", "GET /healthz?" + std::string(9000, 'q') + " HTTP/1.1\r\nHost: x\r\n\r\n",
       414, "target_too_long"},
      {"not HTTP", "HELLO\r\n\r\n", 400, "bad_http_request"},
      {"wrong method on a known path",
       "PUT /v1/nodes HTTP/1.1\r\nHost: x\r\n" + auth + "Content-Length: 0\r\n\r\n", 405,
       "method_not_allowed"},
      {"no token", "GET /v1/nodes HTTP/1.1\r\nHost: x\r\n\r\n", 401, "unauthenticated"},
      {"another scheme",
       "GET /v1/nodes HTTP/1.1\r\nHost: x\r\nAuthorization: Basic " + admin_ + "\r\n\r\n", 401,
       "unauthenticated"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    Raw::Answer a = Exchange(port, c.bytes, 5000);
    ExpectProblem(a, c.status, c.code);
    if (c.status == 405) {
      EXPECT_EQ(a.Header("allow"), "GET");
    }
    if (c.status == 401) {
      EXPECT_EQ(a.Header("www-authenticate"), "Bearer");
    }
  }
  // The scheme is case-insensitive.
  for (const char* scheme : {"bearer", "BEARER", "Bearer", "bEaReR"}) {
    Raw::Answer a = Exchange(port, std::string("GET /v1/nodes HTTP/1.1\r\nHost: x\r\n") +
                                       "Authorization: " + scheme + " " + admin_ + "\r\n\r\n");
    EXPECT_EQ(a.status, 200) << scheme << " " << a.body.substr(0, 200);
  }
  ExpectAlive(*server);
}

// --- 8. operations -------------------------------------------------------------------------------

TEST_F(HostileHttpTest, RequestIdsAreEchoedOrGenerated) {
  auto server = Start();
  const int port = server->port();
  Raw::Answer a =
      Exchange(port, "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Request-Id: abc.DEF_123-x\r\n\r\n");
  EXPECT_EQ(a.Header("x-request-id"), "abc.DEF_123-x");
  for (const std::string& bad :
       {std::string("has space"), std::string(65, 'a'), std::string("<script>")}) {
    a = Exchange(port, "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Request-Id: " + bad + "\r\n\r\n");
    EXPECT_EQ(a.status, 200);
    EXPECT_NE(a.Header("x-request-id"), bad);
    EXPECT_TRUE(std::regex_match(a.Header("x-request-id"), std::regex("[A-Za-z0-9._-]{1,64}")))
        << a.Header("x-request-id");
  }
  // Errors the transport answers by itself carry one too.
  a = Exchange(port, "BREW /healthz HTTP/1.1\r\nHost: x\r\nX-Request-Id: tea\r\n\r\n");
  EXPECT_EQ(a.status, 501);
  EXPECT_EQ(a.Header("x-request-id"), "tea");
}

TEST_F(HostileHttpTest, AccessLogNamesTheRouteAndTokenIdNeverTheSecret) {
  const auto file = std::filesystem::temp_directory_path() /
                    ("topoplace-access-" + std::to_string(::getpid()) + ".log");
  std::filesystem::remove(file);
  auto server = Start({"--access-log", file.string()});
  Raw::Answer a =
      Exchange(server->port(),
               "GET /v1/reservations/rsv-secret-42 HTTP/1.1\r\nHost: x\r\nX-Request-Id: "
               "trace-7\r\nAuthorization: Bearer " +
                   admin_ + "\r\n\r\n");
  EXPECT_EQ(a.status, 404);
  std::string log;
  for (int i = 0; i < 50 && log.find("trace-7") == std::string::npos; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    log = ReadAll(file);
  }
  std::string line;
  std::istringstream lines(log);
  while (std::getline(lines, line) && line.find("trace-7") == std::string::npos) {
  }
  ASSERT_NE(line.find("trace-7"), std::string::npos) << log;
  EXPECT_TRUE(std::regex_search(
      line, std::regex(R"(^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z 127\.0\.0\.1 GET )"
                       R"(/v1/reservations/\{id\} 404 [0-9.]+ms token=\S+ request=trace-7$)")))
      << line;
  EXPECT_EQ(line.find("token=-"), std::string::npos) << line;
  EXPECT_EQ(log.find("rsv-secret-42"), std::string::npos) << log;
  EXPECT_EQ(log.find(admin_), std::string::npos) << "the log holds a token secret";
  std::filesystem::remove(file);
}

TEST_F(HostileHttpTest, HealthzIsAliveReadyzNeedsTheStoreAndNeverNamesIt) {
  const std::string dir = "/tmp/topoplace-pg-ready-" + std::to_string(::getpid());
  Shell("'" + PgTestScript() + "' start '" + dir + "' >/dev/null");
  const std::string url = Shell("'" + PgTestScript() + "' createdb '" + dir + "'");
  auto server = std::make_unique<ServerProcess>(url);
  EXPECT_EQ(server->Call("GET", "/readyz").status, 200);
  Shell("'" + PgTestScript() + "' stop '" + dir + "'");
  Response ready = server->Call("GET", "/readyz");
  EXPECT_EQ(ready.status, 503) << ready.body;
  EXPECT_EQ(ready.content_type, "application/problem+json");
  EXPECT_EQ(ready.Json().value("code", ""), "store_unavailable") << ready.body;
  const std::string port = url.substr(url.rfind(':') + 1, url.rfind('/') - url.rfind(':') - 1);
  for (const std::string& secret :
       {url, std::string("postgres@"), std::string("127.0.0.1"), port}) {
    EXPECT_EQ(ready.body.find(secret), std::string::npos) << ready.body;
  }
  EXPECT_EQ(server->Call("GET", "/healthz").status, 200);  // alive all the same
}

TEST_F(HostileHttpTest, ServesHttpsWithTheGivenCertificate) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("topoplace-tls-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string cert = (dir / "cert.pem").string(), key = (dir / "key.pem").string();
  Shell("openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 -keyout '" + key +
        "' -out '" + cert + "' 2>&1");
  auto server = Start({"--tls-cert", cert, "--tls-key", key});
  httplib::SSLClient client("127.0.0.1", server->port());
  client.enable_server_certificate_verification(false);
  client.set_connection_timeout(5, 0);
  client.set_read_timeout(10, 0);
  auto h = client.Get("/healthz");
  ASSERT_TRUE(h) << httplib::to_string(h.error());
  EXPECT_EQ(h->status, 200);
  auto n = client.Get("/v1/nodes", {{"Authorization", "Bearer " + admin_}});
  ASSERT_TRUE(n);
  EXPECT_EQ(n->status, 200);
  // Plain HTTP to the TLS port gets no answer, and does no harm.
  Raw plain(server->port());
  plain.Send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_NE(plain.Read(3000).status, 200);
  auto again = client.Get("/healthz");
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 200);
  // A key that does not exist: bad input, before anything listens.
  CliResult bad = RunCli({"serve", "--db", db_, "--listen", "127.0.0.1:0", "--tls-cert", cert,
                          "--tls-key", (dir / "missing.pem").string()});
  EXPECT_EQ(bad.exit_code, 2) << bad.err;
}

TEST_F(HostileHttpTest, AConfigFileSetsOptionsAndTheCommandLineWins) {
  const auto file = std::filesystem::temp_directory_path() /
                    ("topoplace-serve-" + std::to_string(::getpid()) + ".toml");
  std::ofstream(file)
      << "# serve options\nmax-body-bytes = 2048\nmax-connections-per-client = 50\n";
  const std::string body =
      R"({"tenant": "nlp-lab", "nodes": 2, "name": ")" + std::string(3000, 'n') + "\"}";
  {
    auto server = Start({"--config", file.string()});
    Response r = server->Call("POST", "/v1/placements:solve", admin_, body);
    EXPECT_EQ(r.status, 413) << r.body;  // the file's limit
  }
  {
    auto server = Start({"--config", file.string(), "--max-body-bytes", "65536"});
    Response r = server->Call("POST", "/v1/placements:solve", admin_, body);
    EXPECT_EQ(r.status, 400) << r.body;  // past the limit: the long name is what is wrong
    EXPECT_EQ(r.Json().value("code", ""), "out_of_range");
  }
  std::ofstream(file) << "max-body-bytez = 2048\n";
  CliResult bad = RunCli({"serve", "--db", db_, "--config", file.string()});
  EXPECT_EQ(bad.exit_code, 2) << bad.err;
  EXPECT_NE(bad.err.find("max-body-bytez"), std::string::npos) << bad.err;
  std::filesystem::remove(file);
}

TEST(ServeHelpTest, DocumentsEveryLimitWithItsDefault) {
  CliResult help = RunCli({"serve", "--help"});
  EXPECT_EQ(help.exit_code, 0);
  for (const char* option :
       {"--max-body-bytes", "--header-timeout-seconds", "--body-timeout-seconds",
        "--idle-timeout-seconds", "--max-connections", "--max-connections-per-client",
        "--max-concurrent-solves", "--solve-queue", "--member-max-time-limit-seconds", "--tls-cert",
        "--tls-key", "--access-log", "--config"}) {
    EXPECT_NE(help.out.find(option), std::string::npos) << option << "\n" << help.out;
  }
  EXPECT_NE(help.out.find("=1048576"), std::string::npos) << help.out;
  EXPECT_NE(help.out.find("=32"), std::string::npos) << help.out;
}

TEST_F(HostileHttpTest, SigtermStopsGracefullyAndTheSweeperRuns) {
  auto server = Start();
  Response held = server->Call("POST", "/v1/reservations?ttlSeconds=1", admin_, kSolveBody);
  ASSERT_EQ(held.status, 201) << held.body;
  const std::string id = held.Json()["id"];
  std::string status;
  for (int i = 0; i < 50 && status != "expired"; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    status = server->Call("GET", "/v1/reservations/" + id, admin_).Json().value("status", "");
  }
  EXPECT_EQ(status, "expired");
  const int st = server->Stop(SIGTERM);
  EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << st;
}

}  // namespace
}  // namespace topoplace::testing
