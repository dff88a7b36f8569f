// The embedded store file: SqlConn over the SQLite C API.
#include <sqlite3.h>

#include <string>
#include <unordered_map>

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
    for (auto& [sql, stmt] : cache_) sqlite3_finalize(stmt);
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
    sqlite3_stmt* stmt = nullptr;
    if (it == cache_.end()) {
      const int rc = sqlite3_prepare_v3(db_, key.data(), static_cast<int>(key.size()),
                                        SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
      if (rc != SQLITE_OK) Fail(rc, sql);
      cache_.emplace(std::move(key), stmt);
    } else {
      stmt = it->second;
    }
    sqlite3_reset(stmt);
    sqlite3_clear_bindings(stmt);
    for (size_t i = 0; i < params.size(); ++i) {
      std::string name = "$";  // appended, not "$" + ...: GCC 12 warns falsely (-Wrestrict)
      name += std::to_string(i + 1);
      const int index = sqlite3_bind_parameter_index(stmt, name.c_str());
      if (index == 0) continue;  // not used by this statement
      const int rc = params[i]
                         ? sqlite3_bind_text(stmt, index, params[i]->data(),
                                             static_cast<int>(params[i]->size()), SQLITE_TRANSIENT)
                         : sqlite3_bind_null(stmt, index);
      if (rc != SQLITE_OK) Fail(rc, sql);
    }
    return stmt;
  }

  sqlite3* db_ = nullptr;
  std::unordered_map<std::string, sqlite3_stmt*> cache_;
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
