// The SQL connections under the store, private to inventory/.
//
// The store's logic (store.cc) is written once against this small interface; sqlite_store.cc and
// pg_store.cc implement it for the embedded file and for the server. Parameters are written `$1`,
// `$2`, ... in both dialects and passed as text (nullopt is SQL NULL); rows come back as text.
// Driver exceptions are turned into SqlError here, with `kind` telling a lost race (the caller may
// retry or answer 409) from an unreachable database and from a bug.
//
// Thread safety: a SqlConn belongs to one thread at a time; SqlPool hands them out.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "model/status.h"

namespace topoplace::sql {

using Param = std::optional<std::string>;
using Params = std::vector<Param>;
using Row = std::vector<std::optional<std::string>>;
using Rows = std::vector<Row>;

enum class Dialect { kSqlite, kPostgres };

class SqlError : public std::runtime_error {
 public:
  enum class Kind { kConflict, kUnavailable, kConstraint, kOther };
  SqlError(Kind kind, const std::string& what) : std::runtime_error(what), kind_(kind) {}
  Kind kind() const { return kind_; }

 private:
  Kind kind_;
};

class SqlConn {
 public:
  virtual ~SqlConn() = default;
  // A write transaction takes the database's write lock up front where the dialect needs it
  // (the embedded file: BEGIN IMMEDIATE), so two writers never deadlock on a lock upgrade.
  virtual void Begin(bool write) = 0;
  virtual void Commit() = 0;
  virtual void Rollback() noexcept = 0;
  virtual Rows Query(std::string_view sql, const Params& params = {}) = 0;
  // Returns the number of rows changed.
  virtual int64_t Exec(std::string_view sql, const Params& params = {}) = 0;
  // Runs a script of several statements without parameters (migrations).
  virtual void ExecScript(std::string_view sql) = 0;
  virtual bool healthy() const = 0;
  // Whether an idle connection is still usable, checked before the pool hands it out again
  // without a round trip (a server that restarted has closed it, or said so, meanwhile).
  virtual bool usable_when_idle() const { return healthy(); }
};

// Opens connections on demand up to `max_size`, and keeps them for reuse.
class SqlPool {
 public:
  using Factory = std::function<std::unique_ptr<SqlConn>()>;
  SqlPool(Dialect dialect, Factory factory, int max_size)
      : dialect_(dialect), factory_(std::move(factory)), max_size_(max_size) {}

  class Lease {
   public:
    Lease(SqlPool* pool, std::unique_ptr<SqlConn> conn) : pool_(pool), conn_(std::move(conn)) {}
    Lease(Lease&&) = default;
    ~Lease() {
      if (conn_) pool_->Return(std::move(conn_));
    }
    SqlConn& operator*() { return *conn_; }
    SqlConn* operator->() { return conn_.get(); }

   private:
    SqlPool* pool_;
    std::unique_ptr<SqlConn> conn_;
  };

  // Throws SqlError(kUnavailable) when a new connection cannot be opened.
  Lease Acquire() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return !idle_.empty() || open_ < max_size_; });
    while (!idle_.empty()) {
      auto conn = std::move(idle_.back());
      idle_.pop_back();
      if (conn->usable_when_idle()) return Lease(this, std::move(conn));
      --open_;  // closed by the server while idle: dropped, and the next one tried
    }
    ++open_;
    lock.unlock();
    try {
      return Lease(this, factory_());
    } catch (...) {
      std::lock_guard relock(mu_);
      --open_;
      cv_.notify_one();
      throw;
    }
  }

  Dialect dialect() const { return dialect_; }

  // Closes every idle connection: after one was found broken (a database restart) the others,
  // opened before the same restart, are broken too. Leased connections are dropped on return
  // when unhealthy.
  void DropIdle() {
    std::vector<std::unique_ptr<SqlConn>> dropped;
    {
      std::lock_guard lock(mu_);
      dropped.swap(idle_);
      open_ -= static_cast<int>(dropped.size());
      cv_.notify_all();
    }
  }

 private:
  void Return(std::unique_ptr<SqlConn> conn) {
    std::lock_guard lock(mu_);
    if (conn->healthy()) {
      idle_.push_back(std::move(conn));
    } else {
      --open_;  // dropped; a new one is opened on demand
    }
    cv_.notify_one();
  }

  Dialect dialect_;
  Factory factory_;
  int max_size_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<SqlConn>> idle_;
  int open_ = 0;
};

// Opens the embedded store file with WAL journaling and a busy timeout; `create` makes the file
// when missing (else a missing file is kUnavailable).
Result<std::unique_ptr<SqlPool>> OpenSqlite(const std::string& path, int pool_size,
                                            bool create = true);
// Opens a pool of connections to the database server at `url` (postgresql://...).
Result<std::unique_ptr<SqlPool>> OpenPostgres(const std::string& url, int pool_size);

}  // namespace topoplace::sql
