// The database server store: SqlConn over libpqxx. Statements are prepared once per connection.
#include <poll.h>

#include <pqxx/pqxx>
#include <string>
#include <unordered_map>

#include "inventory/sql_backend.h"

namespace topoplace::sql {
namespace {

class PgConn : public SqlConn {
 public:
  explicit PgConn(const std::string& url) {
    try {
      conn_ = std::make_unique<pqxx::connection>(url);
    } catch (const std::exception& e) {
      throw SqlError(SqlError::Kind::kUnavailable, std::string("cannot connect: ") + e.what());
    }
  }

  void Begin(bool write) override {
    Guard([&] {
      // Reads see one consistent snapshot; writes rely on row locks under read committed.
      if (write) {
        txn_ = std::make_unique<pqxx::work>(*conn_);
      } else {
        txn_ = std::make_unique<pqxx::transaction<pqxx::repeatable_read, pqxx::read_only>>(*conn_);
      }
    });
  }
  void Commit() override {
    Guard([&] {
      txn_->commit();
      txn_.reset();
    });
  }
  void Rollback() noexcept override {
    try {
      if (txn_) txn_->abort();
    } catch (...) {
    }
    txn_.reset();
  }

  Rows Query(std::string_view sql, const Params& params) override {
    Rows rows;
    Guard([&] {
      pqxx::result r = Run(sql, params);
      rows.reserve(r.size());
      for (const auto& row : r) {
        Row out(row.size());
        for (pqxx::row::size_type c = 0; c < row.size(); ++c) {
          if (!row[c].is_null()) out[c] = std::string(row[c].c_str(), row[c].size());
        }
        rows.push_back(std::move(out));
      }
    });
    return rows;
  }

  int64_t Exec(std::string_view sql, const Params& params) override {
    int64_t n = 0;
    Guard([&] { n = static_cast<int64_t>(Run(sql, params).affected_rows()); });
    return n;
  }

  void ExecScript(std::string_view sql) override {
    Guard([&] {
      if (txn_) {
        txn_->exec(std::string(sql));
      } else {
        pqxx::nontransaction nt(*conn_);
        nt.exec(std::string(sql));
      }
    });
  }

  bool healthy() const override { return !broken_ && conn_ && conn_->is_open(); }

  // An idle connection receives nothing (the store does not LISTEN): anything to read, or a hang
  // up, is the server closing it (a restart sends "terminating connection" and closes).
  bool usable_when_idle() const override {
    if (!healthy()) return false;
    pollfd p{conn_->sock(), POLLIN, 0};
    if (p.fd < 0) return false;
    return ::poll(&p, 1, 0) == 0;
  }

 private:
  pqxx::result Run(std::string_view sql, const Params& params) {
    std::string key(sql);
    auto it = prepared_.find(key);
    if (it == prepared_.end()) {
      std::string name = "s";  // appended: GCC 12 warns falsely on "s" + std::string (-Wrestrict)
      name += std::to_string(prepared_.size());
      conn_->prepare(name, key);
      it = prepared_.emplace(std::move(key), std::move(name)).first;
    }
    std::vector<const char*> values;
    values.reserve(params.size());
    for (const auto& p : params) values.push_back(p ? p->c_str() : nullptr);
    if (txn_) return txn_->exec_prepared(it->second, pqxx::prepare::make_dynamic_params(values));
    pqxx::nontransaction nt(*conn_);
    return nt.exec_prepared(it->second, pqxx::prepare::make_dynamic_params(values));
  }

  template <typename F>
  void Guard(F&& f) {
    try {
      f();
    } catch (const pqxx::broken_connection& e) {
      broken_ = true;
      txn_.reset();
      throw SqlError(SqlError::Kind::kUnavailable, e.what());
    } catch (const pqxx::in_doubt_error& e) {
      broken_ = true;
      txn_.reset();
      throw SqlError(SqlError::Kind::kUnavailable, e.what());
    } catch (const pqxx::deadlock_detected& e) {
      txn_.reset();
      throw SqlError(SqlError::Kind::kConflict, e.what());
    } catch (const pqxx::serialization_failure& e) {
      txn_.reset();
      throw SqlError(SqlError::Kind::kConflict, e.what());
    } catch (const pqxx::integrity_constraint_violation& e) {
      txn_.reset();
      throw SqlError(SqlError::Kind::kConstraint, e.what());
    } catch (const pqxx::sql_error& e) {
      txn_.reset();
      // 40001 serialization, 40P01 deadlock, 55P03 lock not available: a lost race.
      const std::string state = e.sqlstate();
      const bool race = state == "40001" || state == "40P01" || state == "55P03";
      // 08xxx connection exceptions, 57P01-57P03 the server shutting down or restarting: this
      // connection is gone even when the library has not noticed yet.
      if (state.rfind("08", 0) == 0 || state.rfind("57P0", 0) == 0 || !conn_->is_open()) {
        broken_ = true;
        throw SqlError(SqlError::Kind::kUnavailable, e.what());
      }
      throw SqlError(race ? SqlError::Kind::kConflict : SqlError::Kind::kOther, e.what());
    } catch (const SqlError&) {
      throw;
    } catch (const std::exception& e) {
      txn_.reset();
      if (!conn_ || !conn_->is_open()) broken_ = true;
      throw SqlError(broken_ ? SqlError::Kind::kUnavailable : SqlError::Kind::kOther, e.what());
    }
  }

  std::unique_ptr<pqxx::connection> conn_;
  std::unique_ptr<pqxx::dbtransaction> txn_;
  std::unordered_map<std::string, std::string> prepared_;
  bool broken_ = false;
};

}  // namespace

Result<std::unique_ptr<SqlPool>> OpenPostgres(const std::string& url, int pool_size) {
  try {
    PgConn probe(url);  // fails early with a clear message
  } catch (const SqlError& e) {
    return WithReason(StatusCode::kUnavailable, "store_unavailable",
                      std::string("store: ") + e.what());
  }
  return std::make_unique<SqlPool>(
      Dialect::kPostgres, [url] { return std::make_unique<PgConn>(url); }, pool_size);
}

}  // namespace topoplace::sql
