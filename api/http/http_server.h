// The HTTP/1.1 transport of `topoplace serve`, private to api/http.
//
// HttpServer listens on one address (plain TCP or TLS), reads requests on one event-loop thread
// and runs the application on a bounded pool of worker threads, so idle and slow connections hold
// no worker. It enforces the limits no client may pass: a deadline for a request's whole header
// and one for its body, a size limit for the header (431), a count limit for its fields (431), a
// body limit that applies to Content-Length and chunked bodies alike (413 as soon as it is passed,
// the rest never buffered), a cap on connections in total and per client address, and it answers
// malformed HTTP (conflicting Content-Length, Content-Length with Transfer-Encoding, unknown
// methods) with a problem of its own. Pipelined requests are answered one after the other, in
// order.
//
// The application decides on a request's head before a byte of its body is read (authentication,
// route and role checks, media type, announced size): HttpApplication::Admit either answers at once
// (the body is then never read) or returns the handler that runs with the body. No Boost type
// appears here: the transport is compiled in http_server.cc alone.
//
// Thread safety: Run blocks the calling thread until Stop (callable from any thread) has drained
// the connections. Admit and the handlers run on worker threads; AnswerOnEventLoop and Log on the
// event-loop thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "model/status.h"

namespace topoplace {

struct HttpServerOptions {
  std::string host = "127.0.0.1";
  int port = 8080;            // 0 picks a free port
  std::string tls_cert_file;  // PEM; TLS when both are set
  std::string tls_key_file;   // PEM
  int64_t max_body_bytes = 1 << 20;
  size_t max_header_bytes = 16 * 1024;  // the request line and all fields together
  size_t max_header_fields = 100;
  size_t max_target_bytes = 8 * 1024;  // the request target (path and query)
  double header_timeout_seconds = 10;  // from the connection (or the request's first byte) to its
                                       // header's last byte
  double body_timeout_seconds = 30;    // for the whole body
  double idle_timeout_seconds = 30;    // a kept-alive connection waiting for its next request
  double write_timeout_seconds = 30;   // for a whole answer
  int max_connections = 1024;
  int max_connections_per_client = 32;
  int worker_threads = 64;
};

// What the transport read of a request before any byte of its body.
struct HttpHead {
  std::string method;  // as sent (a token; case-sensitive)
  std::string target;  // as sent
  std::string path;    // percent-decoded (may hold any bytes)
  std::string query;   // the raw query string after '?'
  std::vector<std::pair<std::string, std::string>> fields;
  bool has_body = false;  // Content-Length > 0 or chunked
  std::optional<uint64_t> content_length;
  std::string peer;  // the client's address
  bool tls = false;
  std::string request_id;  // the client's X-Request-Id when sane, else generated
  std::chrono::steady_clock::time_point started;
  // The first field of that name (case-insensitive), or "".
  std::string Field(std::string_view name) const;
};

// An answer. The transport adds Content-Length, Date, X-Request-Id and Connection.
struct HttpAnswer {
  int status = 200;
  std::string content_type;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  bool close = false;  // close the connection after this answer
  // For the access log and the metrics.
  std::string route = "unmatched";
  std::string token_id;
};

class HttpApplication {
 public:
  virtual ~HttpApplication() = default;

  struct Admission {
    std::optional<HttpAnswer> answer;                    // answer now; the body is never read
    std::function<HttpAnswer(std::string body)> handle;  // else: read the body, then this
  };
  // Decides on a request's head (worker thread). Must not throw.
  virtual Admission Admit(const HttpHead& head) = 0;
  // A cheap answer given on the event loop itself, before any worker is involved (a liveness
  // probe must answer while every worker is busy), or nullopt. Must not block or throw.
  virtual std::optional<HttpAnswer> AnswerOnEventLoop(const HttpHead& head) = 0;
  // An error answer the transport itself needs (400 malformed, 413, 431, 429, 501, ...): a
  // problem with a stable code. `detail` may quote client bytes. Must not throw.
  virtual HttpAnswer Problem(int status, std::string_view code, std::string_view detail) = 0;
  // Called once per answer written (or given up on): access log and metrics. `head` is null when
  // the request's head could not be read. Must not throw.
  virtual void Log(const HttpHead* head, const HttpAnswer& answer, double seconds) = 0;
};

class HttpServer {
 public:
  HttpServer(HttpServerOptions options, HttpApplication& app);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Loads the TLS certificate and key (if any) and binds the listening socket (SO_REUSEADDR, never
  // SO_REUSEPORT: a port in use is an error). kUnavailable when the address cannot be bound,
  // kInvalidArgument for a bad address or unreadable TLS files.
  Status Listen();
  int port() const;  // the bound port, after Listen
  bool tls() const;
  // Serves until Stop; then lets answers in flight finish (bounded) and returns.
  void Run();
  // Stops accepting and closes idle connections; thread-safe, idempotent.
  void Stop();

  struct Impl;  // the event loop, the listening socket and the connections (http_server.cc)

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace topoplace
