// The HTTP/1.1 transport (see http_server.h). The only translation unit that includes Beast and
// Asio: they are slow to compile.
#include "api/http/http_server.h"

#include <openssl/ssl.h>

#include <array>
#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <list>
#include <map>
#include <random>

#include "api/exit_codes.h"
#include "model/text.h"

namespace topoplace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {

constexpr size_t kMaxLingerBytes = 1 << 20;  // discarded after an early answer before closing
constexpr auto kLingerTime = std::chrono::seconds(2);
constexpr auto kDrainTime = std::chrono::seconds(10);  // answers in flight at Stop

std::chrono::milliseconds Millis(double seconds) {
  return std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000));
}

char Lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool EqualsNoCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (Lower(a[i]) != Lower(b[i])) return false;
  }
  return true;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

int Hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Percent-decodes a path; false on a broken escape or a NUL byte.
bool DecodePath(std::string_view in, std::string& out) {
  out.clear();
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out += in[i];
      continue;
    }
    if (i + 2 >= in.size() || Hex(in[i + 1]) < 0 || Hex(in[i + 2]) < 0) return false;
    const char c = static_cast<char>(Hex(in[i + 1]) * 16 + Hex(in[i + 2]));
    if (c == '\0') return false;
    out += c;
    i += 2;
  }
  return true;
}

bool SaneRequestId(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

std::string NewRequestId() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(rng()));
  return buf;
}

bool Implemented(http::verb v) {
  switch (v) {
    case http::verb::get:
    case http::verb::head:
    case http::verb::post:
    case http::verb::put:
    case http::verb::delete_:
    case http::verb::patch:
    case http::verb::options: return true;
    default: return false;
  }
}

// The whole answer as bytes, for the few answers written without a session (connection caps).
std::string RawAnswer(const HttpAnswer& a, const std::string& request_id) {
  std::string out = "HTTP/1.1 " + std::to_string(a.status) + " " +
                    std::string(HttpReasonPhrase(a.status)) + "\r\n";
  if (!a.content_type.empty()) out += "Content-Type: " + a.content_type + "\r\n";
  for (const auto& [k, v] : a.headers) out += k + ": " + v + "\r\n";
  out += "X-Request-Id: " + request_id + "\r\n";
  out += "Content-Length: " + std::to_string(a.body.size()) + "\r\nConnection: close\r\n\r\n";
  out += a.body;
  return out;
}

}  // namespace

std::string HttpHead::Field(std::string_view name) const {
  for (const auto& [k, v] : fields) {
    if (EqualsNoCase(k, name)) return v;
  }
  return "";
}

class SessionBase;

struct HttpServer::Impl {
  Impl(HttpServerOptions o, HttpApplication& a) : opt(std::move(o)), app(a) {}

  HttpServerOptions opt;
  HttpApplication& app;
  asio::io_context ioc{1};
  tcp::acceptor acceptor{ioc};
  std::optional<asio::ssl::context> ssl;
  std::optional<asio::thread_pool> workers;
  asio::steady_timer drain_timer{ioc};
  asio::steady_timer accept_retry{ioc};
  // Event-loop state: touched only on the event-loop thread.
  int connections = 0;
  std::map<std::string, int> per_client;
  std::list<std::weak_ptr<SessionBase>> sessions;
  bool stopping = false;
  std::atomic<int> port{0};

  void Accept();
  void OnAccept(beast::error_code ec, tcp::socket socket);
  void Refuse(tcp::socket& socket, int status, std::string_view code, const std::string& detail);
  void Released(const std::string& peer, std::list<std::weak_ptr<SessionBase>>::iterator it);
  void BeginStop();
};

// One connection; lives as long as an operation or a worker holds it.
class SessionBase : public std::enable_shared_from_this<SessionBase> {
 public:
  virtual ~SessionBase() = default;
  virtual void Start() = 0;
  // At Stop: closes the connection unless an answer is being made or written.
  virtual void CloseIfIdle() = 0;
  std::list<std::weak_ptr<SessionBase>>::iterator registry;
};

namespace {

template <class Stream>
class Session : public SessionBase {
 public:
  Session(HttpServer::Impl& server, Stream stream, std::string peer)
      : s_(server), stream_(std::move(stream)), peer_(std::move(peer)) {}

  void Start() override {
    if constexpr (kTls) {
      Lowest().expires_after(Millis(s_.opt.header_timeout_seconds));
      phase_ = Phase::kHandshake;
      stream_.async_handshake(asio::ssl::stream_base::server,
                              [self = Self()](beast::error_code ec) {
                                if (ec) return self->Close();
                                self->ReadRequest(true);
                              });
    } else {
      ReadRequest(true);
    }
  }

  void CloseIfIdle() override {
    if (phase_ == Phase::kHandshake || phase_ == Phase::kIdle || phase_ == Phase::kHeader ||
        phase_ == Phase::kBody) {
      Close();
    }
  }

 private:
  static constexpr bool kTls = !std::is_same_v<Stream, beast::tcp_stream>;
  enum class Phase { kHandshake, kIdle, kHeader, kAdmit, kBody, kHandle, kWrite, kLinger, kClosed };

  std::shared_ptr<Session> Self() {
    return std::static_pointer_cast<Session>(this->shared_from_this());
  }
  beast::tcp_stream& Lowest() { return beast::get_lowest_layer(stream_); }

  void ReadRequest(bool fresh) {
    parser_.emplace();
    parser_->header_limit(static_cast<uint32_t>(s_.opt.max_header_bytes));
    // No body limit while the header is read: the announced size is judged after authentication.
    parser_->body_limit(std::numeric_limits<uint64_t>::max());
    head_ = HttpHead();
    head_ok_ = false;
    body_unread_ = false;
    if (fresh || buffer_.size() > 0) return ReadHeader();
    // A kept-alive connection: wait (idle) for the next request's first byte, then the header
    // deadline starts.
    phase_ = Phase::kIdle;
    Lowest().expires_after(Millis(s_.opt.idle_timeout_seconds));
    stream_.async_read_some(buffer_.prepare(4096), [self = Self()](beast::error_code ec, size_t n) {
      if (ec) return self->Close();
      self->buffer_.commit(n);
      self->ReadHeader();
    });
  }

  void ReadHeader() {
    if (s_.stopping) return Close();
    phase_ = Phase::kHeader;
    started_ = Clock::now();
    Lowest().expires_after(Millis(s_.opt.header_timeout_seconds));
    http::async_read_header(stream_, buffer_, *parser_,
                            [self = Self()](beast::error_code ec, size_t) { self->OnHeader(ec); });
  }

  void Fail(int status, std::string_view code, const std::string& detail) {
    HttpAnswer a = s_.app.Problem(status, code, detail);
    a.close = true;
    Write(std::move(a));
  }

  void OnHeader(beast::error_code ec) {
    Lowest().expires_never();
    if (ec) {
      body_unread_ = true;  // whatever follows is not read
      if (ec == http::error::header_limit || ec == http::error::buffer_overflow) {
        return Fail(
            kHttpHeaderFieldsTooLarge, "header_too_large",
            "the request header exceeds " + std::to_string(s_.opt.max_header_bytes) + " bytes");
      }
      if (ec == http::error::bad_content_length) {
        return Fail(kHttpBadRequest, "bad_content_length",
                    "Content-Length must be one non-negative decimal integer (repeated only with "
                    "the same value) and may not come with Transfer-Encoding");
      }
      if (ec == http::error::bad_transfer_encoding) {
        return Fail(kHttpBadRequest, "bad_transfer_encoding",
                    "Transfer-Encoding may appear once and not together with Content-Length");
      }
      if (ec == http::error::bad_method || ec == http::error::bad_target ||
          ec == http::error::bad_version || ec == http::error::bad_field ||
          ec == http::error::bad_value || ec == http::error::bad_line_ending ||
          ec == http::error::bad_obs_fold) {
        return Fail(kHttpBadRequest, "bad_http_request",
                    "the HTTP request could not be read: " + ec.message());
      }
      // End of stream, timeout, reset, or a partial header: nobody to answer.
      return Close();
    }
    const auto& req = parser_->get();
    head_.started = started_;
    head_.peer = peer_;
    head_.tls = kTls;
    head_.method = std::string(req.method_string());
    head_.target = std::string(req.target());
    for (const auto& f : req) {
      head_.fields.emplace_back(std::string(f.name_string()), std::string(f.value()));
    }
    const std::string rid = head_.Field("X-Request-Id");
    head_.request_id = SaneRequestId(rid) ? rid : NewRequestId();
    head_.content_length = parser_->content_length()
                               ? std::optional<uint64_t>(*parser_->content_length())
                               : std::nullopt;
    head_.has_body = parser_->chunked() || head_.content_length.value_or(0) > 0;
    head_ok_ = true;
    keep_alive_ = req.keep_alive();
    body_unread_ = head_.has_body;

    if (head_.fields.size() > s_.opt.max_header_fields) {
      return Fail(kHttpHeaderFieldsTooLarge, "too_many_header_fields",
                  "the request has " + std::to_string(head_.fields.size()) +
                      " header fields; at most " + std::to_string(s_.opt.max_header_fields));
    }
    if (!Implemented(req.method())) {
      return Fail(kHttpNotImplemented, "method_not_implemented",
                  "method " + QuotedText(head_.method, 32) + " is not implemented");
    }
    if (head_.target.size() > s_.opt.max_target_bytes) {
      return Fail(
          kHttpUriTooLong, "target_too_long",
          "the request target exceeds " + std::to_string(s_.opt.max_target_bytes) + " bytes");
    }
    const size_t q = head_.target.find('?');
    const std::string_view raw_path = std::string_view(head_.target).substr(0, q);
    if (q != std::string::npos) head_.query = head_.target.substr(q + 1);
    if (raw_path.empty() || raw_path.front() != '/' || !DecodePath(raw_path, head_.path)) {
      return Fail(kHttpBadRequest, "bad_request_target",
                  "the request target " + QuotedText(head_.target) +
                      " is not an absolute path with valid percent-escapes");
    }
    const std::string te = head_.Field("Transfer-Encoding");
    if (!te.empty() || req.count(http::field::transfer_encoding) > 0) {
      if (!parser_->chunked()) {
        return Fail(kHttpBadRequest, "bad_transfer_encoding",
                    "a request's Transfer-Encoding must end in chunked");
      }
      if (!EqualsNoCase(Trim(te), "chunked")) {
        return Fail(kHttpNotImplemented, "unsupported_transfer_encoding",
                    "only Transfer-Encoding: chunked is supported, not " + QuotedText(te));
      }
    }

    if (std::optional<HttpAnswer> now = s_.app.AnswerOnEventLoop(head_)) {
      return Write(std::move(*now));
    }
    phase_ = Phase::kAdmit;
    asio::post(*s_.workers, [self = Self()]() mutable {
      HttpApplication::Admission admission;
      try {
        admission = self->s_.app.Admit(self->head_);
      } catch (...) {  // the application promised not to throw; the server must not die of it
        admission.answer = self->s_.app.Problem(kHttpInternalError, "internal", "internal error");
      }
      auto& ioc = self->s_.ioc;
      asio::post(ioc, [self = std::move(self), admission = std::move(admission)]() mutable {
        self->OnAdmission(std::move(admission));
      });
    });
  }

  void OnAdmission(HttpApplication::Admission admission) {
    if (admission.answer) return Write(std::move(*admission.answer));
    handle_ = std::move(admission.handle);
    if (!head_.has_body) return Handle("");
    const uint64_t limit = static_cast<uint64_t>(s_.opt.max_body_bytes);
    if (head_.content_length && *head_.content_length > limit) {
      return Fail(kHttpContentTooLarge, "body_too_large",
                  "the body (" + std::to_string(*head_.content_length) + " bytes) exceeds " +
                      std::to_string(limit) + " bytes");
    }
    parser_->body_limit(limit);
    if (EqualsNoCase(Trim(head_.Field("Expect")), "100-continue")) {
      static const std::string kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
      phase_ = Phase::kBody;
      Lowest().expires_after(Millis(s_.opt.write_timeout_seconds));
      return asio::async_write(stream_, asio::buffer(kContinue),
                               [self = Self()](beast::error_code ec, size_t) {
                                 if (ec) return self->Close();
                                 self->ReadBody();
                               });
    }
    ReadBody();
  }

  void ReadBody() {
    phase_ = Phase::kBody;
    Lowest().expires_after(Millis(s_.opt.body_timeout_seconds));
    http::async_read(stream_, buffer_, *parser_,
                     [self = Self()](beast::error_code ec, size_t) { self->OnBody(ec); });
  }

  void OnBody(beast::error_code ec) {
    Lowest().expires_never();
    if (ec == http::error::body_limit) {
      return Fail(kHttpContentTooLarge, "body_too_large",
                  "the body exceeds " + std::to_string(s_.opt.max_body_bytes) + " bytes");
    }
    if (ec == http::error::bad_chunk || ec == http::error::bad_chunk_extension) {
      return Fail(kHttpBadRequest, "bad_http_request",
                  "the chunked body could not be read: " + ec.message());
    }
    if (ec) return Close();  // timeout, end of stream or reset in the middle of the body
    body_unread_ = false;
    Handle(std::move(parser_->get().body()));
  }

  void Handle(std::string body) {
    phase_ = Phase::kHandle;
    asio::post(*s_.workers, [self = Self(), body = std::move(body)]() mutable {
      HttpAnswer answer;
      try {
        answer = self->handle_(std::move(body));
      } catch (...) {
        answer = self->s_.app.Problem(kHttpInternalError, "internal", "internal error");
      }
      auto& ioc = self->s_.ioc;
      asio::post(ioc, [self = std::move(self), answer = std::move(answer)]() mutable {
        self->handle_ = nullptr;
        self->Write(std::move(answer));
      });
    });
  }

  void Write(HttpAnswer answer) {
    if (phase_ == Phase::kClosed) return;
    phase_ = Phase::kWrite;
    if (!head_ok_ && head_.request_id.empty()) head_.request_id = NewRequestId();
    close_after_ = answer.close || !keep_alive_ || !head_ok_ || body_unread_ || s_.stopping;
    res_.emplace(static_cast<http::status>(answer.status), 11);
    if (!answer.content_type.empty()) res_->set(http::field::content_type, answer.content_type);
    for (const auto& [k, v] : answer.headers) res_->set(k, v);
    res_->set("X-Request-Id", head_.request_id);
    res_->keep_alive(!close_after_);
    const bool head_only = head_ok_ && head_.method == "HEAD";
    const size_t size = answer.body.size();
    if (!head_only) res_->body() = std::move(answer.body);
    res_->set(http::field::content_length, std::to_string(size));
    answer.body.clear();
    answer_ = std::move(answer);
    Lowest().expires_after(Millis(s_.opt.write_timeout_seconds));
    http::async_write(stream_, *res_,
                      [self = Self()](beast::error_code ec, size_t) { self->OnWritten(ec); });
  }

  void OnWritten(beast::error_code ec) {
    Lowest().expires_never();
    const double secs =
        std::chrono::duration<double>(Clock::now() - (head_ok_ ? head_.started : started_)).count();
    s_.app.Log(head_ok_ ? &head_ : nullptr, answer_, secs);
    res_.reset();
    if (ec) return Close();
    if (close_after_) return Linger();
    ReadRequest(false);
  }

  // Closing with unread bytes in the socket would reset the connection and could destroy the
  // answer before the client reads it: stop sending, discard what comes (bounded), then close.
  void Linger() {
    phase_ = Phase::kLinger;
    beast::error_code ignored;
    Lowest().socket().shutdown(tcp::socket::shutdown_send, ignored);
    Lowest().expires_after(kLingerTime);
    DiscardSome();
  }

  void DiscardSome() {
    Lowest().async_read_some(asio::buffer(discard_),
                             [self = Self()](beast::error_code ec, size_t n) {
                               self->discarded_ += n;
                               if (ec || self->discarded_ > kMaxLingerBytes || self->s_.stopping)
                                 return self->Close();
                               self->DiscardSome();
                             });
  }

 public:
  void Close() {
    if (phase_ == Phase::kClosed) return;
    phase_ = Phase::kClosed;
    beast::error_code ignored;
    Lowest().socket().shutdown(tcp::socket::shutdown_both, ignored);
    Lowest().close();
    s_.Released(peer_, registry);
  }

 private:
  HttpServer::Impl& s_;
  Stream stream_;
  std::string peer_;
  beast::flat_buffer buffer_{64 * 1024};
  std::optional<http::request_parser<http::string_body>> parser_;
  std::optional<http::response<http::string_body>> res_;
  HttpHead head_;
  HttpAnswer answer_;
  bool head_ok_ = false;
  bool keep_alive_ = true;
  bool body_unread_ = false;
  bool close_after_ = false;
  Clock::time_point started_ = Clock::now();
  std::function<HttpAnswer(std::string)> handle_;
  std::array<char, 8192> discard_{};
  size_t discarded_ = 0;
  Phase phase_ = Phase::kHeader;
};

}  // namespace

void HttpServer::Impl::Accept() {
  acceptor.async_accept(
      [this](beast::error_code ec, tcp::socket socket) { OnAccept(ec, std::move(socket)); });
}

void HttpServer::Impl::Refuse(tcp::socket& socket, int status, std::string_view code,
                              const std::string& detail) {
  HttpAnswer a = app.Problem(status, code, detail);
  a.headers.emplace_back("Retry-After", "1");
  if (!ssl) {
    // One non-blocking write: the answer is small, and a refused client gets no more of our time.
    const std::string bytes = RawAnswer(a, NewRequestId());
    beast::error_code ec;
    socket.non_blocking(true, ec);
    socket.write_some(asio::buffer(bytes), ec);
  }
  beast::error_code ignored;
  socket.shutdown(tcp::socket::shutdown_send, ignored);
  socket.close(ignored);
  app.Log(nullptr, a, 0);
}

void HttpServer::Impl::OnAccept(beast::error_code ec, tcp::socket socket) {
  if (stopping) return;
  if (ec) {
    if (ec == asio::error::operation_aborted) return;
    // Out of descriptors and the like: try again shortly instead of spinning.
    accept_retry.expires_after(std::chrono::milliseconds(100));
    accept_retry.async_wait([this](beast::error_code e) {
      if (!e && !stopping) Accept();
    });
    return;
  }
  beast::error_code peer_ec;
  const std::string peer = socket.remote_endpoint(peer_ec).address().to_string();
  if (peer_ec) {
    Accept();
    return;
  }
  if (connections >= opt.max_connections) {
    Refuse(socket, kHttpServiceUnavailable, "too_busy",
           "the server has " + std::to_string(connections) + " connections open; try again");
  } else if (per_client[peer] >= opt.max_connections_per_client) {
    Refuse(socket, kHttpTooManyRequests, "too_many_connections",
           "this client has " + std::to_string(per_client[peer]) + " connections open; at most " +
               std::to_string(opt.max_connections_per_client));
  } else {
    ++connections;
    ++per_client[peer];
    socket.set_option(tcp::no_delay(true), peer_ec);  // small JSON answers: no delayed acks
    std::shared_ptr<SessionBase> session;
    if (ssl) {
      session = std::make_shared<Session<beast::ssl_stream<beast::tcp_stream>>>(
          *this, beast::ssl_stream<beast::tcp_stream>(beast::tcp_stream(std::move(socket)), *ssl),
          peer);
    } else {
      session = std::make_shared<Session<beast::tcp_stream>>(
          *this, beast::tcp_stream(std::move(socket)), peer);
    }
    session->registry = sessions.insert(sessions.end(), session);
    session->Start();
  }
  if (per_client[peer] == 0) per_client.erase(peer);
  Accept();
}

void HttpServer::Impl::Released(const std::string& peer,
                                std::list<std::weak_ptr<SessionBase>>::iterator it) {
  sessions.erase(it);
  --connections;
  if (--per_client[peer] <= 0) per_client.erase(peer);
  if (stopping && connections == 0) drain_timer.cancel();
}

void HttpServer::Impl::BeginStop() {
  if (stopping) return;
  stopping = true;
  beast::error_code ignored;
  acceptor.close(ignored);
  accept_retry.cancel();
  std::vector<std::shared_ptr<SessionBase>> open;
  for (auto& weak : sessions) {
    if (auto s = weak.lock()) open.push_back(std::move(s));
  }
  for (auto& s : open) s->CloseIfIdle();
  if (connections == 0) return;
  drain_timer.expires_after(kDrainTime);
  drain_timer.async_wait([this](beast::error_code ec) {
    if (!ec) ioc.stop();  // answers that take longer than that are given up
  });
}

HttpServer::HttpServer(HttpServerOptions options, HttpApplication& app)
    : impl_(std::make_unique<Impl>(std::move(options), app)) {}

HttpServer::~HttpServer() = default;

Status HttpServer::Listen() {
  Impl& s = *impl_;
  if (s.opt.tls_cert_file.empty() != s.opt.tls_key_file.empty()) {
    return InvalidArgumentError("--tls-cert and --tls-key go together");
  }
  if (!s.opt.tls_cert_file.empty()) {
    s.ssl.emplace(asio::ssl::context::tls_server);
    s.ssl->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                       asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                       asio::ssl::context::no_tlsv1_1 | asio::ssl::context::single_dh_use);
    beast::error_code ec;
    s.ssl->use_certificate_chain_file(s.opt.tls_cert_file, ec);
    if (ec) {
      return InvalidArgumentError("--tls-cert " + QuotedText(s.opt.tls_cert_file) +
                                  ": cannot load a PEM certificate chain: " + ec.message());
    }
    s.ssl->use_private_key_file(s.opt.tls_key_file, asio::ssl::context::pem, ec);
    if (ec) {
      return InvalidArgumentError("--tls-key " + QuotedText(s.opt.tls_key_file) +
                                  ": cannot load a PEM private key: " + ec.message());
    }
    if (SSL_CTX_check_private_key(s.ssl->native_handle()) != 1) {
      return InvalidArgumentError("--tls-key does not belong to the --tls-cert certificate");
    }
  }
  beast::error_code ec;
  const auto address = asio::ip::make_address(s.opt.host, ec);
  if (ec) {
    return InvalidArgumentError("--listen: " + QuotedText(s.opt.host) +
                                " is not an IP address (use 127.0.0.1, 0.0.0.0 or ::)");
  }
  const tcp::endpoint endpoint(address, static_cast<unsigned short>(s.opt.port));
  s.acceptor.open(endpoint.protocol(), ec);
  if (!ec) s.acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) s.acceptor.bind(endpoint, ec);
  if (!ec) s.acceptor.listen(1024, ec);
  if (ec) {
    return UnavailableError("cannot listen on " + s.opt.host + ":" + std::to_string(s.opt.port) +
                            ": " + ec.message());
  }
  s.port = s.acceptor.local_endpoint().port();
  return Status::Ok();
}

int HttpServer::port() const { return impl_->port; }
bool HttpServer::tls() const { return impl_->ssl.has_value(); }

void HttpServer::Run() {
  Impl& s = *impl_;
  s.workers.emplace(static_cast<size_t>(std::max(1, s.opt.worker_threads)));
  s.Accept();
  s.ioc.run();
  // Workers may still be finishing an answer no one will write; let them, then drop the rest.
  s.workers->stop();
  s.workers->join();
}

void HttpServer::Stop() {
  asio::post(impl_->ioc, [impl = impl_.get()] { impl->BeginStop(); });
}

}  // namespace topoplace
