// The embedded store file: SqlConn over the SQLite C API.
#include <sqlite3.h>

#include <cstdlib>
#include <string>
#include <unordered_map>
#include <vector>

#include "inventory/sql_backend.h"

namespace topoplace::sql {
namespace {

constexpr int kBusyTimeoutMs = 15000;

class SqliteConn : public SqlConn {
 public:
  SqliteConn(const std::string& path, bool create) {
    const int rc = sqlite3_open_v2(
        path.c_str(), &db_,
        SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0) | SQLITE_OPEN_NOMUTEX, nullptr);
    if (rc != SQLITE_OK) {
      std::string msg = db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
      if (db_) sqlite3_close(db_);
      db_ = nullptr;
      throw SqlError(SqlError::Kind::kUnavailable, "cannot open " + path + ": " + msg);
    }
    sqlite3_busy_timeout(db_, kBusyTimeoutMs);
    ExecScript("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;");
  }
  ~SqliteConn() override {
    for (auto& [sql, prepared] : cache_) sqlite3_finalize(prepared.stmt);
    if (db_) sqlite3_close(db_);
  }

  void Begin(bool write) override { ExecScript(write ? "BEGIN IMMEDIATE" : "BEGIN"); }
  void Commit() override { ExecScript("COMMIT"); }
  void Rollback() noexcept override {
    if (db_ && !sqlite3_get_autocommit(db_))
      sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  }

  Rows Query(std::string_view sql, const Params& params) override {
    sqlite3_stmt* stmt = Prepare(sql, params);
    Rows rows;
    const int cols = sqlite3_column_count(stmt);
    for (;;) {
      const int rc = sqlite3_step(stmt);
      if (rc == SQLITE_DONE) break;
      if (rc != SQLITE_ROW) Fail(rc, sql);
      Row row(cols);
      for (int c = 0; c < cols; ++c) {
        if (sqlite3_column_type(stmt, c) == SQLITE_NULL) continue;
        const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt, c));
        row[c] = std::string(text, sqlite3_column_bytes(stmt, c));
      }
      rows.push_back(std::move(row));
    }
    sqlite3_reset(stmt);
    return rows;
  }

  int64_t Exec(std::string_view sql, const Params& params) override {
    sqlite3_stmt* stmt = Prepare(sql, params);
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
    }
    if (rc != SQLITE_DONE) Fail(rc, sql);
    sqlite3_reset(stmt);
    return sqlite3_changes(db_);
  }

  void ExecScript(std::string_view sql) override {
    char* err = nullptr;
    const int rc = sqlite3_exec(db_, std::string(sql).c_str(), nullptr, nullptr, &err);
    if (rc != SQLITE_OK) {
      std::string msg = err ? err : sqlite3_errstr(rc);
      sqlite3_free(err);
      throw SqlError(KindOf(rc), msg);
    }
  }

  bool healthy() const override { return db_ != nullptr; }

 private:
  static SqlError::Kind KindOf(int rc) {
    switch (rc & 0xff) {
      case SQLITE_BUSY:
      case SQLITE_LOCKED: return SqlError::Kind::kUnavailable;
      case SQLITE_CONSTRAINT: return SqlError::Kind::kConstraint;
      case SQLITE_CANTOPEN:
      case SQLITE_IOERR:
      case SQLITE_FULL: return SqlError::Kind::kUnavailable;
      default: return SqlError::Kind::kOther;
    }
  }

  [[noreturn]] void Fail(int rc, std::string_view sql) {
    std::string msg = std::string(sqlite3_errmsg(db_)) + " in: " + std::string(sql.substr(0, 120));
    throw SqlError(KindOf(rc), msg);
  }

  sqlite3_stmt* Prepare(std::string_view sql, const Params& params) {
    std::string key(sql);
    auto it = cache_.find(key);
    if (it == cache_.end()) {
      Prepared p;
      const int rc = sqlite3_prepare_v3(db_, key.data(), static_cast<int>(key.size()),
                                        SQLITE_PREPARE_PERSISTENT, &p.stmt, nullptr);
      if (rc != SQLITE_OK) Fail(rc, sql);
      // Which $N each of the statement's parameters is, found once per statement: looking names
      // up on every bind costs a scan per name, quadratic in a many-row INSERT.
      const int count = sqlite3_bind_parameter_count(p.stmt);
      p.param_of_index.assign(static_cast<size_t>(count) + 1, 0);
      for (int index = 1; index <= count; ++index) {
        const char* name = sqlite3_bind_parameter_name(p.stmt, index);
        if (name != nullptr && name[0] == '$')
          p.param_of_index[index] = static_cast<size_t>(std::strtoul(name + 1, nullptr, 10));
      }
      it = cache_.emplace(std::move(key), std::move(p)).first;
    }
    sqlite3_stmt* stmt = it->second.stmt;
    sqlite3_reset(stmt);
    sqlite3_clear_bindings(stmt);
    const std::vector<size_t>& param_of_index = it->second.param_of_index;
    for (size_t index = 1; index < param_of_index.size(); ++index) {
      const size_t n = param_of_index[index];
      if (n == 0 || n > params.size()) continue;  // left unbound (NULL)
      const auto& value = params[n - 1];
      const int i = static_cast<int>(index);
      const int rc = value ? sqlite3_bind_text(stmt, i, value->data(),
                                               static_cast<int>(value->size()), SQLITE_TRANSIENT)
                           : sqlite3_bind_null(stmt, i);
      if (rc != SQLITE_OK) Fail(rc, sql);
    }
    return stmt;
  }

  struct Prepared {
    sqlite3_stmt* stmt = nullptr;
    std::vector<size_t> param_of_index;  // [statement index] -> N of its $N (1-based), 0 = none
  };
  sqlite3* db_ = nullptr;
  std::unordered_map<std::string, Prepared> cache_;
};

}  // namespace

Result<std::unique_ptr<SqlPool>> OpenSqlite(const std::string& path, int pool_size, bool create) {
  try {
    SqliteConn probe(path, create);  // fails early with a clear message
  } catch (const SqlError& e) {
    return WithReason(StatusCode::kUnavailable, "store_unavailable",
                      std::string("store: ") + e.what());
  }
  return std::make_unique<SqlPool>(
      Dialect::kSqlite, [path, create] { return std::make_unique<SqliteConn>(path, create); },
      pool_size);
}

}  // namespace topoplace::sql
