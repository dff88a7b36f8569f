#include "inventory/store.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <thread>

#include "inventory/migrations.h"
#include "inventory/scenario_codec.h"
#include "inventory/sql_backend.h"
#include "model/ipv4.h"
#include "model/text.h"

namespace topoplace {

using sql::Dialect;
using sql::Param;
using sql::Params;
using sql::Row;
using sql::Rows;
using sql::SqlConn;
using sql::SqlError;

namespace {

constexpr std::string_view kRoles[] = {"provider-admin", "tenant-admin", "tenant-member",
                                       "auditor"};

// Thrown inside a transaction to roll it back with a status for the caller.
struct Abort {
  Status status;
};

// Rolls the transaction back with `code`, the stable `reason` and a message for the caller.
[[noreturn]] void Fail(StatusCode code, std::string_view reason, const std::string& detail) {
  throw Abort{WithReason(code, std::string(reason), detail)};
}

std::string Num(int64_t v) { return std::to_string(v); }
std::string Num(double v) {
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  return ec == std::errc() ? std::string(buf, end) : "0";
}
int64_t I64(const std::optional<std::string>& s) {
  if (!s || s->empty()) return 0;
  int64_t v = 0;
  const char* b = s->data();
  std::from_chars(b, b + s->size(), v);
  return v;
}
double F64(const std::optional<std::string>& s) {
  if (!s || s->empty()) return 0;
  try {
    return std::stod(*s);
  } catch (...) {
    return 0;
  }
}
std::string Str(const std::optional<std::string>& s) { return s.value_or(""); }
Param OptNum(const std::optional<int64_t>& v) { return v ? Param(Num(*v)) : std::nullopt; }
Param OptNum(const std::optional<double>& v) { return v ? Param(Num(*v)) : std::nullopt; }

std::string ForUpdate(Dialect d) { return d == Dialect::kPostgres ? " FOR UPDATE" : ""; }

std::string NewId(std::string_view prefix) { return std::string(prefix) + RandomHex(8); }

std::string JoinList(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& s : items) {
    if (!out.empty()) out += ',';
    out += s;
  }
  return out;
}
std::vector<std::string> SplitList(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start < s.size()) {
    size_t comma = s.find(',', start);
    if (comma == std::string::npos) comma = s.size();
    if (comma > start) out.push_back(s.substr(start, comma - start));
    start = comma + 1;
  }
  return out;
}

// A database error as a status. Lost races and constraint clashes are client-visible (409) and
// say nothing of the driver; unavailable and internal errors keep the driver's words for the log
// (the HTTP layer does not show them).
Status FromSqlError(const SqlError& e) {
  switch (e.kind()) {
    case SqlError::Kind::kConflict:
      return WithReason(StatusCode::kAborted, "generation_conflict",
                        "a concurrent change won the race; solve again");
    case SqlError::Kind::kUnavailable:
      return WithReason(StatusCode::kUnavailable, "store_unavailable",
                        std::string("the store is unavailable: ") + e.what());
    case SqlError::Kind::kConstraint:
      return WithReason(StatusCode::kAborted, "conflict",
                        "a concurrent change conflicted with this one; retry");
    default: return WithReason(StatusCode::kInternal, "store_error", e.what());
  }
}

constexpr int kRaceAttempts = 5;

// A small random pause before trying a lost race again: 2-10 ms, more on later attempts.
void RaceBackoff(int attempt) {
  thread_local std::minstd_rand rng(std::random_device{}());
  std::uniform_int_distribution<int> ms(1, 5);
  std::this_thread::sleep_for(std::chrono::milliseconds(ms(rng) * std::min(attempt, 3) + 1));
}

// Runs `f(conn)` in one transaction. Business failures (Abort) and database errors roll back.
// A deadlock or serialization failure the database reports is retried (the transaction did not
// commit, and `f` only talks to the database), so clients never see the database's own races.
// A connection found broken before the commit was sent (a database restart: every pooled
// connection is stale) drops the pool's idle connections and runs once more on a fresh one; a
// break while committing is not retried, since the commit may have happened.
template <typename F>
auto InTxn(sql::SqlPool& pool, bool write, F&& f) -> Result<decltype(f(std::declval<SqlConn&>()))> {
  bool reconnected = false;
  for (int attempt = 1;; ++attempt) {
    bool committing = false;
    bool broken = false;
    try {
      auto conn = pool.Acquire();
      try {
        conn->Begin(write);
        auto value = f(*conn);
        committing = true;
        conn->Commit();
        return value;
      } catch (...) {
        conn->Rollback();
        broken = !conn->healthy();
        throw;
      }
    } catch (const Abort& a) {
      return a.status;
    } catch (const SqlError& e) {
      if (e.kind() == SqlError::Kind::kConflict && attempt < kRaceAttempts) {
        RaceBackoff(attempt);
        continue;
      }
      if (e.kind() == SqlError::Kind::kUnavailable && broken && !committing && !reconnected) {
        reconnected = true;
        pool.DropIdle();
        continue;
      }
      return FromSqlError(e);
    } catch (const std::exception& e) {
      return WithReason(StatusCode::kInternal, "store_error", e.what());
    }
  }
}

// One statement needs no transaction of its own: saves the database server two round trips.
// Retried like InTxn: `f` must be a read, or a write that is harmless twice.
template <typename F>
auto NoTxn(sql::SqlPool& pool, F&& f) -> Result<decltype(f(std::declval<SqlConn&>()))> {
  bool reconnected = false;
  for (int attempt = 1;; ++attempt) {
    bool broken = false;
    try {
      auto conn = pool.Acquire();
      try {
        return f(*conn);
      } catch (...) {
        broken = !conn->healthy();
        throw;
      }
    } catch (const Abort& a) {
      return a.status;
    } catch (const SqlError& e) {
      if (e.kind() == SqlError::Kind::kConflict && attempt < kRaceAttempts) {
        RaceBackoff(attempt);
        continue;
      }
      if (e.kind() == SqlError::Kind::kUnavailable && broken && !reconnected) {
        reconnected = true;
        pool.DropIdle();
        continue;
      }
      Status st = FromSqlError(e);
      if (st.code() == StatusCode::kAborted) {
        st = WithReason(StatusCode::kInternal, "store_error", e.what());
      }
      return st;
    } catch (const std::exception& e) {
      return WithReason(StatusCode::kInternal, "store_error", e.what());
    }
  }
}

// Appends one audit entry, chained to the head. Every writing transaction ends here, so the head
// row also serialises commits for the chain (and its seq is the store's state version).
void AppendAudit(SqlConn& c, Dialect d, const AuditKeyState& signer, const Actor& actor,
                 std::string action, std::string tenant, std::string subject,
                 const nlohmann::json& detail, int64_t now_ms,
                 const std::vector<HeldNode>& touched = {}) {
  const std::string_view key = signer.usable();
  if (signer.keyed && key.empty()) {
    Fail(StatusCode::kFailedPrecondition, "audit_key_missing",
         "this store's audit log is keyed and no usable audit key was given (--audit-key FILE)");
  }
  Rows head = c.Query("SELECT seq, hash FROM audit_head WHERE id = 1" + ForUpdate(d));
  if (head.empty()) Fail(StatusCode::kInternal, "store_error", "audit head missing");
  AuditEntry e;
  e.seq = I64(head[0][0]) + 1;
  e.prev_hash = Str(head[0][1]);
  e.at_ms = now_ms;
  e.actor = actor.Describe();
  e.action = std::move(action);
  e.tenant = std::move(tenant);
  e.subject = std::move(subject);
  e.detail = detail.dump();
  e.keyed = !key.empty();
  e.hash = AuditEntryHash(e, key);
  c.Exec(
      "INSERT INTO audit_log (seq, at_ms, actor, action, tenant, subject, detail, prev_hash, hash, "
      "keyed) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
      {Num(e.seq), Num(e.at_ms), e.actor, e.action, e.tenant, e.subject, e.detail, e.prev_hash,
       e.hash, e.keyed ? "1" : "0"});
  std::string seal;
  if (e.keyed) {
    seal = AuditHeadSeal(key, AuditHead{e.seq, e.hash, "", signer.keyed_from, ""});
  }
  c.Exec("UPDATE audit_head SET seq = $1, hash = $2, seal = $3 WHERE id = 1",
         {Num(e.seq), e.hash, seal});
  // Which nodes this change touched, so views refresh only those (Store::ChangesSince).
  for (const HeldNode& n : touched) {
    c.Exec("INSERT INTO node_changes (seq, node) VALUES ($1, $2)", {Num(e.seq), n.node});
  }
}

struct TenantLimits {
  Quota quota;
  std::optional<double> budget;
};

// A node's live state as the service's view reads it (LoadState, ChangesSince).
constexpr std::string_view kNodeRecordCols =
    "n.name, n.state, n.tenant, n.holder, n.generation, n.exclusive";

NodeRecord NodeRecordFromRow(const Row& r) {
  NodeRecord n;
  n.name = Str(r[0]);
  n.state = ParseNodeState(Str(r[1])).value_or(NodeState::kFailed);
  n.tenant = Str(r[2]);
  n.holding = Str(r[3]);
  n.generation = I64(r[4]);
  n.exclusive = Str(r[5]);
  return n;
}

constexpr std::string_view kTenantCols =
    "name, quota_nodes, quota_gpus, quota_cpu_cores, quota_memory_gib, quota_storage_gib, "
    "compliance, budget_per_hour, alert_at, projects";

// A quota as JSON (the keys of the scenario language); unset limits are left out.
nlohmann::json QuotaJson(const Quota& q) {
  nlohmann::json j = nlohmann::json::object();
  if (q.nodes) j["nodes"] = *q.nodes;
  if (q.gpus) j["gpus"] = *q.gpus;
  if (q.cpu_cores) j["cpuCores"] = *q.cpu_cores;
  if (q.memory_gib) j["memoryGiB"] = *q.memory_gib;
  if (q.storage_gib) j["storageGiB"] = *q.storage_gib;
  return j;
}
Quota QuotaFromJson(const nlohmann::json& j) {
  Quota q;
  if (!j.is_object()) return q;
  if (j.contains("nodes") && j["nodes"].is_number()) q.nodes = j["nodes"].get<int64_t>();
  if (j.contains("gpus") && j["gpus"].is_number()) q.gpus = j["gpus"].get<int64_t>();
  if (j.contains("cpuCores") && j["cpuCores"].is_number())
    q.cpu_cores = j["cpuCores"].get<int64_t>();
  if (j.contains("memoryGiB") && j["memoryGiB"].is_number())
    q.memory_gib = j["memoryGiB"].get<double>();
  if (j.contains("storageGiB") && j["storageGiB"].is_number())
    q.storage_gib = j["storageGiB"].get<double>();
  return q;
}

// A tenant's projects as the tenants table keeps them: JSON text.
std::string ProjectsJson(const std::vector<Project>& projects) {
  nlohmann::json list = nlohmann::json::array();
  for (const Project& p : projects) {
    list.push_back({{"name", p.name}, {"quota", QuotaJson(p.quota)}, {"alertAt", p.alert_at}});
  }
  return list.dump();
}
std::vector<Project> ProjectsFromJson(const std::string& text) {
  std::vector<Project> out;
  const nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_array()) return out;
  for (const auto& p : j) {
    if (!p.is_object() || !p.contains("name") || !p["name"].is_string()) continue;
    Project project;
    project.name = p["name"].get<std::string>();
    if (p.contains("quota")) project.quota = QuotaFromJson(p["quota"]);
    if (p.contains("alertAt") && p["alertAt"].is_array()) {
      for (const auto& a : p["alertAt"]) {
        if (a.is_number()) project.alert_at.push_back(a.get<double>());
      }
    }
    out.push_back(std::move(project));
  }
  return out;
}

Tenant TenantFromRow(const Row& r) {
  Tenant t;
  t.name = Str(r[0]);
  if (r[1]) t.quota.nodes = I64(r[1]);
  if (r[2]) t.quota.gpus = I64(r[2]);
  if (r[3]) t.quota.cpu_cores = I64(r[3]);
  if (r[4]) t.quota.memory_gib = F64(r[4]);
  if (r[5]) t.quota.storage_gib = F64(r[5]);
  t.compliance = SplitList(Str(r[6]));
  if (r[7]) t.budget_per_hour = F64(r[7]);
  for (const auto& a : SplitList(Str(r[8]))) t.alert_at.push_back(F64(a));
  t.projects = ProjectsFromJson(Str(r[9]));
  return t;
}

Tenant LockTenant(SqlConn& c, Dialect d, const std::string& tenant) {
  Rows rows =
      c.Query("SELECT " + std::string(kTenantCols) + " FROM tenants WHERE name = $1" + ForUpdate(d),
              {tenant});
  if (rows.empty()) Fail(StatusCode::kNotFound, "tenant_not_found", "no tenant \"" + tenant + "\"");
  return TenantFromRow(rows[0]);
}

// What the tenant holds, or with `project` what that project of it holds.
TenantUsage SumHeld(SqlConn& c, const std::string& tenant,
                    const std::optional<std::string>& project = std::nullopt) {
  Rows r = c.Query(
      "SELECT COUNT(*), COALESCE(SUM(gpus), 0), COALESCE(SUM(cpu_cores), 0), "
      "COALESCE(SUM(memory_gib), 0), COALESCE(SUM(storage_gib), 0), COALESCE(SUM(cost_per_hour), "
      "0) "
      "FROM nodes WHERE tenant = $1 AND ($2 = '0' OR project = $3)",
      {tenant, project ? "1" : "0", project.value_or("")});
  TenantUsage u;
  u.nodes = I64(r[0][0]);
  u.gpus = I64(r[0][1]);
  u.cpu_cores = I64(r[0][2]);
  u.memory_gib = F64(r[0][3]);
  u.storage_gib = F64(r[0][4]);
  u.cost_per_hour = F64(r[0][5]);
  return u;
}

// Fails with quota_exceeded when `u` breaks `q`, the quota of `who` ("tenant \"T\"", ...).
void CheckQuota(const std::string& who, const Quota& q, const TenantUsage& u) {
  auto over = [&](std::string_view what, double used, double limit) {
    Fail(StatusCode::kFailedPrecondition, "quota_exceeded",
         who + " would hold " + Num(used) + " " + std::string(what) + ", over its quota of " +
             Num(limit));
  };
  if (q.nodes && u.nodes > *q.nodes)
    over("nodes", static_cast<double>(u.nodes), static_cast<double>(*q.nodes));
  if (q.gpus && u.gpus > *q.gpus)
    over("GPUs", static_cast<double>(u.gpus), static_cast<double>(*q.gpus));
  if (q.cpu_cores && u.cpu_cores > *q.cpu_cores)
    over("CPU cores", static_cast<double>(u.cpu_cores), static_cast<double>(*q.cpu_cores));
  if (q.memory_gib && u.memory_gib > *q.memory_gib + 1e-9)
    over("GiB of memory", u.memory_gib, *q.memory_gib);
  if (q.storage_gib && u.storage_gib > *q.storage_gib + 1e-9)
    over("GiB of storage", u.storage_gib, *q.storage_gib);
}

// Fails with quota_exceeded / budget_exceeded when `u` breaks the tenant's limits.
void CheckLimits(const Tenant& t, const TenantUsage& u) {
  CheckQuota("tenant \"" + t.name + "\"", t.quota, u);
  if (t.budget_per_hour && u.cost_per_hour > *t.budget_per_hour + 1e-6) {
    Fail(StatusCode::kFailedPrecondition, "budget_exceeded",
         "tenant \"" + t.name + "\" would spend " + Num(u.cost_per_hour) +
             " per hour, over its budget of " + Num(*t.budget_per_hour));
  }
}

// Fails with unknown_reference when `tenant` has no project `project`, and with quota_exceeded
// when the project would break its own quota holding `adding` more than it holds now (the
// tenant's limits are CheckLimits's; the default project has none of its own).
void CheckProjectLimits(SqlConn& c, const Tenant& tenant, const std::string& project,
                        const TenantUsage& adding) {
  if (Status known = CheckProjectOf(tenant, project); !known.ok()) throw Abort{known};
  const Project* declared = FindProject(tenant, project);
  if (declared == nullptr) return;
  TenantUsage after = SumHeld(c, tenant.name, project);
  after.nodes += adding.nodes;
  after.gpus += adding.gpus;
  after.cpu_cores += adding.cpu_cores;
  after.memory_gib += adding.memory_gib;
  after.storage_gib += adding.storage_gib;
  after.cost_per_hour += adding.cost_per_hour;
  CheckQuota("project " + QuotedText(declared->name) + " of tenant " + QuotedText(tenant.name),
             declared->quota, after);
}

struct LockedNode {
  std::string name;
  std::string state;
  std::string tenant;
  std::string holder;
  int64_t generation = 0;
  std::string exclusive;
  TenantUsage resources;  // this node's resources, nodes = 1
};

constexpr std::string_view kNodeLockCols =
    "name, state, tenant, holder, generation, gpus, cpu_cores, memory_gib, storage_gib, "
    "cost_per_hour, exclusive";

LockedNode LockedNodeFromRow(const Row& r) {
  LockedNode n;
  n.name = Str(r[0]);
  n.state = Str(r[1]);
  n.tenant = Str(r[2]);
  n.holder = Str(r[3]);
  n.generation = I64(r[4]);
  n.resources.nodes = 1;
  n.resources.gpus = I64(r[5]);
  n.resources.cpu_cores = I64(r[6]);
  n.resources.memory_gib = F64(r[7]);
  n.resources.storage_gib = F64(r[8]);
  n.resources.cost_per_hour = F64(r[9]);
  n.exclusive = Str(r[10]);
  return n;
}

std::optional<LockedNode> LockNode(SqlConn& c, Dialect d, const std::string& name) {
  Rows rows =
      c.Query("SELECT " + std::string(kNodeLockCols) + " FROM nodes WHERE name = $1" + ForUpdate(d),
              {name});
  if (rows.empty()) return std::nullopt;
  return LockedNodeFromRow(rows[0]);
}

// Reads the named nodes, and with `lock` locks them in name order in one statement (racing
// transactions take their locks in the same order, so they queue instead of deadlocking).
std::map<std::string, LockedNode> ReadNodes(SqlConn& c, Dialect d,
                                            const std::vector<std::string>& sorted_names,
                                            bool lock) {
  std::map<std::string, LockedNode> out;
  constexpr size_t kChunk = 500;
  for (size_t start = 0; start < sorted_names.size(); start += kChunk) {
    const size_t end = std::min(sorted_names.size(), start + kChunk);
    std::string sql = "SELECT " + std::string(kNodeLockCols) + " FROM nodes WHERE name IN (";
    Params params;
    for (size_t i = start; i < end; ++i) {
      sql += (i == start ? "$" : ", $") + std::to_string(i - start + 1);
      params.push_back(sorted_names[i]);
    }
    sql += ") ORDER BY name" + (lock ? ForUpdate(d) : std::string());
    for (const Row& r : c.Query(sql, params)) {
      LockedNode n = LockedNodeFromRow(r);
      std::string name = n.name;
      out.emplace(std::move(name), std::move(n));
    }
  }
  return out;
}

void Add(TenantUsage& a, const TenantUsage& b) {
  a.nodes += b.nodes;
  a.gpus += b.gpus;
  a.cpu_cores += b.cpu_cores;
  a.memory_gib += b.memory_gib;
  a.storage_gib += b.storage_gib;
  a.cost_per_hour += b.cost_per_hour;
}

nlohmann::json NodesDetail(const std::vector<HeldNode>& nodes) {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& n : nodes) {
    list.push_back({{"node", n.node}, {"generation", n.generation}, {"rule", n.rule}});
  }
  return list;
}

// Fails with exclusive_conflict when holding a node beside `near` (in its rack and/or leaf) for
// `tenant`, exclusively at `exclusive` or not, would share a domain that one of the two tenants
// keeps to itself.
void RefuseExclusiveClash(const LockedNode& near, const NeighbourNode& where,
                          const std::string& tenant, const std::string& exclusive) {
  if (near.tenant.empty() || near.tenant == tenant) return;
  const auto shares = [&](const std::string& level) {
    return (level == "rack" && where.same_rack) || (level == "leaf" && where.same_leaf);
  };
  // The caller may not learn who holds what: the answer names neither the tenant nor its node.
  if (shares(near.exclusive)) {
    Fail(StatusCode::kAborted, "exclusive_conflict",
         "a node of this placement sits in a " + near.exclusive +
             " another tenant holds exclusively; solve again");
  }
  if (shares(exclusive)) {
    Fail(StatusCode::kAborted, "exclusive_conflict",
         "the " + exclusive +
             " this placement would keep to itself is no longer free of other tenants; solve "
             "again");
  }
}

// Locks the claimed nodes in name order, checks each is free at the generation the caller solved
// against and that no domain kept exclusively is shared, checks the tenant's and the project's
// limits with them, and holds them for `holder` (of `project`) in `state`. Returns the held nodes
// in claim order.
//
// Exclusivity under races: an exclusive hold locks its neighbours too (with its claims, in one
// name-ordered statement); any other hold only reads them once its claims are locked. A racing
// pair in one rack always meets on a locked row: the exclusive hold's lock covers every node the
// other could claim there, so whichever commits second sees the first.
std::vector<HeldNode> HoldNodes(SqlConn& c, Dialect d, const Tenant& tenant,
                                const std::string& project, const std::vector<NodeClaim>& claims,
                                const std::vector<NeighbourNode>& neighbours,
                                const std::string& holder, std::string_view state,
                                const std::string& exclusive) {
  if (claims.empty()) Fail(StatusCode::kInvalidArgument, "no_nodes", "nothing to hold");
  if (Status known = CheckProjectOf(tenant, project); !known.ok()) throw Abort{known};
  std::vector<std::string> names;
  names.reserve(claims.size() + neighbours.size());
  for (const NodeClaim& claim : claims) names.push_back(claim.node);
  std::sort(names.begin(), names.end());
  if (auto dup = std::adjacent_find(names.begin(), names.end()); dup != names.end()) {
    Fail(StatusCode::kInvalidArgument, "duplicate_node", "node \"" + *dup + "\" twice");
  }
  std::vector<const NeighbourNode*> near;
  for (const NeighbourNode& n : neighbours) {
    if (!std::binary_search(names.begin(), names.end(), n.node)) near.push_back(&n);
  }
  std::vector<std::string> near_names;
  for (const NeighbourNode* n : near) near_names.push_back(n->node);
  std::sort(near_names.begin(), near_names.end());
  near_names.erase(std::unique(near_names.begin(), near_names.end()), near_names.end());
  std::map<std::string, LockedNode> locked;
  if (exclusive.empty()) {
    locked = ReadNodes(c, d, names, /*lock=*/true);
    locked.merge(ReadNodes(c, d, near_names, /*lock=*/false));
  } else {
    const size_t claimed = names.size();
    names.insert(names.end(), near_names.begin(), near_names.end());
    std::inplace_merge(names.begin(), names.begin() + static_cast<std::ptrdiff_t>(claimed),
                       names.end());
    locked = ReadNodes(c, d, names, /*lock=*/true);
  }

  TenantUsage adding;
  for (const NodeClaim& claim : claims) {
    auto it = locked.find(claim.node);
    if (it == locked.end()) {
      Fail(StatusCode::kNotFound, "node_not_found", "no node \"" + claim.node + "\"");
    }
    const LockedNode& n = it->second;
    if (n.generation != claim.expected_generation) {
      Fail(StatusCode::kAborted, "generation_conflict",
           "node \"" + n.name + "\" changed since it was solved (generation " +
               Num(claim.expected_generation) + " -> " + Num(n.generation) + ")");
    }
    if (n.state != "available" || !n.holder.empty() || !n.tenant.empty()) {
      Fail(StatusCode::kAborted, "generation_conflict",
           "node \"" + n.name + "\" is " + n.state + ", not free");
    }
    Add(adding, n.resources);
  }
  for (const NeighbourNode* where : near) {
    auto it = locked.find(where->node);
    if (it == locked.end()) continue;  // gone from the inventory: nothing to share
    RefuseExclusiveClash(it->second, *where, tenant.name, exclusive);
  }
  TenantUsage after = SumHeld(c, tenant.name);
  Add(after, adding);
  CheckLimits(tenant, after);
  CheckProjectLimits(c, tenant, project, adding);
  std::vector<HeldNode> held;
  for (const NodeClaim& claim : claims) {
    const int64_t changed = c.Exec(
        "UPDATE nodes SET state = $1, tenant = $2, holder = $3, exclusive = $4, project = $7, "
        "generation = generation + 1 WHERE name = $5 AND generation = $6",
        {std::string(state), tenant.name, holder, exclusive, claim.node,
         Num(claim.expected_generation), project});
    if (changed != 1) {
      Fail(StatusCode::kAborted, "generation_conflict", "node \"" + claim.node + "\" moved");
    }
    held.push_back({claim.node, claim.expected_generation + 1, claim.rule});
  }
  return held;
}

constexpr std::string_view kReservationCols =
    "id, tenant, name, request, status, created_ms, expires_ms, updated_ms, allocation_id, "
    "cost_per_hour, created_by, project, priority";

constexpr std::string_view kReservationStatusNames[] = {"held", "committed", "cancelled",
                                                        "expired"};
constexpr std::string_view kAllocationStatusNames[] = {"active", "released"};

// The enumerator of `E` whose name in `names` (indexed by the enumerator) is `s`.
template <typename E, size_t N>
std::optional<E> EnumByName(const std::string_view (&names)[N], std::string_view s) {
  for (size_t i = 0; i < N; ++i) {
    if (names[i] == s) return static_cast<E>(i);
  }
  return std::nullopt;
}

}  // namespace

std::string_view ReservationStatusName(ReservationStatus s) {
  return kReservationStatusNames[static_cast<int>(s)];
}
std::optional<ReservationStatus> ParseReservationStatus(std::string_view s) {
  return EnumByName<ReservationStatus>(kReservationStatusNames, s);
}
std::string_view AllocationStatusName(AllocationStatus s) {
  return kAllocationStatusNames[static_cast<int>(s)];
}
std::optional<AllocationStatus> ParseAllocationStatus(std::string_view s) {
  return EnumByName<AllocationStatus>(kAllocationStatusNames, s);
}

namespace {

ReservationRecord ReservationFromRow(const Row& r) {
  ReservationRecord x;
  x.id = Str(r[0]);
  x.tenant = Str(r[1]);
  x.name = Str(r[2]);
  x.request = Str(r[3]);
  // A status the store did not write reads as the end of the road, never as held or active.
  x.status = ParseReservationStatus(Str(r[4])).value_or(ReservationStatus::kExpired);
  x.created_ms = I64(r[5]);
  x.expires_ms = I64(r[6]);
  x.updated_ms = I64(r[7]);
  x.allocation_id = Str(r[8]);
  x.cost_per_hour = F64(r[9]);
  x.created_by = Str(r[10]);
  x.project = Str(r[11]);
  x.priority = static_cast<int>(I64(r[12]));
  return x;
}

std::vector<HeldNode> ReservationNodes(SqlConn& c, const std::string& id) {
  std::vector<HeldNode> out;
  for (const Row& r :
       c.Query("SELECT node, generation, rule FROM reservation_nodes WHERE reservation_id = $1 "
               "ORDER BY node",
               {id})) {
    out.push_back({Str(r[0]), I64(r[1]), Str(r[2])});
  }
  return out;
}

constexpr std::string_view kAllocationCols =
    "id, tenant, name, request, status, created_ms, released_ms, reservation_id, cost_per_hour, "
    "created_by, project, priority, evicted_by, evicted_by_tenant";

AllocationRecord AllocationFromRow(const Row& r) {
  AllocationRecord x;
  x.id = Str(r[0]);
  x.tenant = Str(r[1]);
  x.name = Str(r[2]);
  x.request = Str(r[3]);
  x.status = ParseAllocationStatus(Str(r[4])).value_or(AllocationStatus::kReleased);
  x.created_ms = I64(r[5]);
  x.released_ms = I64(r[6]);
  x.reservation_id = Str(r[7]);
  x.cost_per_hour = F64(r[8]);
  x.created_by = Str(r[9]);
  x.project = Str(r[10]);
  x.priority = static_cast<int>(I64(r[11]));
  x.evicted_by = Str(r[12]);
  x.evicted_by_tenant = Str(r[13]);
  return x;
}

std::vector<HeldNode> AllocationNodes(SqlConn& c, const std::string& id) {
  std::vector<HeldNode> out;
  for (const Row& r :
       c.Query("SELECT a.node, n.generation, a.rule FROM allocation_nodes a LEFT JOIN nodes n ON "
               "n.name = a.node WHERE a.allocation_id = $1 ORDER BY a.node",
               {id})) {
    out.push_back({Str(r[0]), I64(r[1]), Str(r[2])});
  }
  return out;
}

constexpr std::string_view kClusterCols =
    "id, tenant, name, purpose, allocation_id, status, steps, created_ms, updated_ms, project";

ClusterRecord ClusterFromRow(const Row& r) {
  ClusterRecord x;
  x.id = Str(r[0]);
  x.tenant = Str(r[1]);
  x.name = Str(r[2]);
  x.purpose = Str(r[3]);
  x.allocation_id = Str(r[4]);
  x.status = Str(r[5]);
  x.steps = Str(r[6]);
  x.created_ms = I64(r[7]);
  x.updated_ms = I64(r[8]);
  x.project = Str(r[9]);
  return x;
}

// The SQL condition of `scope` on a table with tenant and project columns, its parameters
// appended to `params` (numbered after those already there).
std::string ScopeWhere(const Scope& scope, Params& params) {
  const std::string t = "$" + std::to_string(params.size() + 1);
  const std::string p = "$" + std::to_string(params.size() + 2);
  const std::string v = "$" + std::to_string(params.size() + 3);
  params.push_back(scope.tenant);
  params.push_back(scope.project ? "1" : "0");
  params.push_back(scope.project.value_or(""));
  return "(" + t + " = '' OR tenant = " + t + ") AND (" + p + " = '0' OR project = " + v + ")";
}

// Locks the nodes the holders hold, in name order (the order every path locks node rows in, so a
// release never deadlocks with a hold).
void LockHeldNodes(SqlConn& c, Dialect d, const std::vector<std::string>& holders) {
  if (d != Dialect::kPostgres || holders.empty()) return;  // the embedded file locks it whole
  constexpr size_t kChunk = 500;
  for (size_t start = 0; start < holders.size(); start += kChunk) {
    const size_t end = std::min(holders.size(), start + kChunk);
    std::string sql = "SELECT name FROM nodes WHERE holder IN (";
    Params params;
    for (size_t i = start; i < end; ++i) {
      sql += (i == start ? "$" : ", $") + std::to_string(i - start + 1);
      params.push_back(holders[i]);
    }
    c.Query(sql + ") ORDER BY name FOR UPDATE", params);
  }
}

// Frees every node `holder` holds. Nodes in maintenance or failed keep that state.
int64_t FreeNodes(SqlConn& c, Dialect d, const std::string& holder) {
  LockHeldNodes(c, d, {holder});
  return c.Exec(
      "UPDATE nodes SET state = CASE WHEN state IN ('reserved', 'allocated') THEN 'available' "
      "ELSE state END, tenant = '', project = '', holder = '', exclusive = '', "
      "generation = generation + 1 WHERE holder = $1",
      {holder});
}

ReservationRecord InsertReservation(SqlConn& c, Dialect d, const HoldRequest& hold,
                                    const Actor& actor, ReservationStatus status,
                                    const std::string& id = "") {
  const Tenant tenant = LockTenant(c, d, hold.tenant);
  ReservationRecord r;
  r.id = id.empty() ? NewId("rsv-") : id;
  r.tenant = hold.tenant;
  r.project = StoredProjectName(hold.project);
  r.name = hold.name;
  r.request = hold.request;
  r.status = status;
  r.created_ms = r.updated_ms = hold.now_ms;
  r.expires_ms = hold.now_ms + hold.ttl_ms;
  r.cost_per_hour = hold.cost_per_hour;
  r.created_by = actor.Describe();
  r.priority = hold.priority;
  r.nodes = HoldNodes(c, d, tenant, r.project, hold.nodes, hold.neighbours, r.id, "reserved",
                      hold.exclusive);
  c.Exec("INSERT INTO reservations (" + std::string(kReservationCols) +
             ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
         {r.id, r.tenant, r.name, r.request, std::string(ReservationStatusName(r.status)),
          Num(r.created_ms), Num(r.expires_ms), Num(r.updated_ms), r.allocation_id,
          Num(r.cost_per_hour), r.created_by, r.project, Num(int64_t{r.priority})});
  for (const HeldNode& n : r.nodes) {
    c.Exec(
        "INSERT INTO reservation_nodes (reservation_id, node, generation, rule) VALUES ($1, $2, "
        "$3, "
        "$4)",
        {r.id, n.node, Num(n.generation), n.rule});
  }
  return r;
}

// The commit of a locked, held reservation: its nodes become an allocation.
AllocationRecord CommitLocked(SqlConn& c, Dialect d, ReservationRecord& r, const Actor& actor,
                              int64_t now_ms) {
  const Tenant tenant = LockTenant(c, d, r.tenant);
  AllocationRecord a;
  a.id = NewId("alc-");
  std::vector<HeldNode> nodes = ReservationNodes(c, r.id);
  for (const HeldNode& n : nodes) {
    std::optional<LockedNode> locked = LockNode(c, d, n.node);
    if (!locked || locked->holder != r.id || locked->generation != n.generation) {
      Fail(StatusCode::kAborted, "generation_conflict",
           "node \"" + n.node + "\" of reservation " + r.id + " moved (generation " +
               Num(n.generation) + " -> " + Num(locked ? locked->generation : 0) + ")");
    }
  }
  // The reservation's nodes already count in the tenant's and its project's holdings: check what
  // they hold now, against limits that may have changed since the reservation.
  CheckLimits(tenant, SumHeld(c, r.tenant));
  CheckProjectLimits(c, tenant, r.project, TenantUsage{});
  for (HeldNode& n : nodes) {
    const int64_t changed = c.Exec(
        "UPDATE nodes SET state = 'allocated', holder = $1, generation = generation + 1 "
        "WHERE name = $2 AND holder = $3 AND generation = $4",
        {a.id, n.node, r.id, Num(n.generation)});
    if (changed != 1)
      Fail(StatusCode::kAborted, "generation_conflict", "node \"" + n.node + "\" moved");
    ++n.generation;
  }
  a.tenant = r.tenant;
  a.project = r.project;
  a.name = r.name;
  a.request = r.request;
  a.status = AllocationStatus::kActive;
  a.created_ms = now_ms;
  a.reservation_id = r.id;
  a.cost_per_hour = r.cost_per_hour;
  a.created_by = actor.Describe();
  a.nodes = nodes;
  a.priority = r.priority;
  c.Exec("INSERT INTO allocations (" + std::string(kAllocationCols) +
             ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
         {a.id, a.tenant, a.name, a.request, std::string(AllocationStatusName(a.status)),
          Num(a.created_ms), Num(a.released_ms), a.reservation_id, Num(a.cost_per_hour),
          a.created_by, a.project, Num(int64_t{a.priority}), a.evicted_by, a.evicted_by_tenant});
  for (const HeldNode& n : nodes) {
    c.Exec("INSERT INTO allocation_nodes (allocation_id, node, rule) VALUES ($1, $2, $3)",
           {a.id, n.node, n.rule});
  }
  c.Exec(
      "UPDATE reservations SET status = 'committed', allocation_id = $1, updated_ms = $2 WHERE id "
      "= $3",
      {a.id, Num(now_ms), r.id});
  r.status = ReservationStatus::kCommitted;
  r.allocation_id = a.id;
  return a;
}

std::optional<ReservationRecord> LockReservation(SqlConn& c, Dialect d, const std::string& id,
                                                 const Scope& scope) {
  Rows rows = c.Query(
      "SELECT " + std::string(kReservationCols) + " FROM reservations WHERE id = $1" + ForUpdate(d),
      {id});
  if (rows.empty()) return std::nullopt;
  ReservationRecord r = ReservationFromRow(rows[0]);
  if (!scope.Admits(r.tenant, r.project)) return std::nullopt;
  return r;
}

[[noreturn]] void NoReservation(const std::string& id) {
  Fail(StatusCode::kNotFound, "reservation_not_found", "no reservation \"" + id + "\"");
}

// Releases a locked, active allocation: its nodes back to the pool, its clusters released. The
// one release of every path (a client's, the runner's after a teardown, an eviction).
void ReleaseLocked(SqlConn& c, Dialect d, AllocationRecord& a, int64_t now_ms) {
  a.nodes = AllocationNodes(c, a.id);
  FreeNodes(c, d, a.id);
  c.Exec("UPDATE allocations SET status = 'released', released_ms = $1 WHERE id = $2",
         {Num(now_ms), a.id});
  c.Exec("UPDATE clusters SET status = 'released', updated_ms = $1 WHERE allocation_id = $2",
         {Num(now_ms), a.id});
  a.status = AllocationStatus::kReleased;
  a.released_ms = now_ms;
}

// The victims of a preempting hold (HoldRequest::evictions), released before its nodes are held,
// with `reservation` (the hold's id) recorded as their evicter. Locks the victims' rows in id
// order, then the holder's tenant, then every node the hold touches (the victims', the claimed ones
// and, for an exclusive hold, their neighbours) in one name-ordered statement; refuses a victim the
// hold may not evict (kPermissionDenied "preemption_not_allowed") and one that moved since it was
// solved (kAborted "generation_conflict"). Returns the released victims; `claims` come back
// expecting the generations the release left on the freed nodes.
std::vector<AllocationRecord> EvictLocked(SqlConn& c, Dialect d, const HoldRequest& hold,
                                          const std::string& reservation,
                                          std::vector<NodeClaim>& claims) {
  std::vector<AllocationRecord> out;
  if (hold.evictions.empty()) return out;
  std::vector<const EvictionClaim*> victims;
  for (const EvictionClaim& e : hold.evictions) victims.push_back(&e);
  std::sort(victims.begin(), victims.end(), [](const EvictionClaim* a, const EvictionClaim* b) {
    return a->allocation < b->allocation;
  });
  std::map<std::string, int64_t> seen;  // victim node -> generation the caller solved against
  for (size_t i = 0; i < victims.size(); ++i) {
    const EvictionClaim& e = *victims[i];
    if (i > 0 && victims[i - 1]->allocation == e.allocation) {
      Fail(StatusCode::kInvalidArgument, "duplicate_eviction",
           "allocation \"" + e.allocation + "\" evicted twice");
    }
    Rows rows = c.Query(
        "SELECT " + std::string(kAllocationCols) + " FROM allocations WHERE id = $1" + ForUpdate(d),
        {e.allocation});
    // Rights first, so a caller learns nothing of an allocation it may not evict.
    if (rows.empty() || !hold.eviction_rights.scope.Admits(Str(rows[0][1]), Str(rows[0][10])) ||
        I64(rows[0][11]) >= hold.eviction_rights.below_priority) {
      Fail(StatusCode::kPermissionDenied, "preemption_not_allowed",
           "allocation \"" + e.allocation +
               "\" is not one this request may evict (its own scope, of lower priority)");
    }
    AllocationRecord a = AllocationFromRow(rows[0]);
    if (a.status != AllocationStatus::kActive) {
      Fail(StatusCode::kAborted, "generation_conflict",
           "allocation \"" + a.id + "\" was released since it was solved; solve again");
    }
    std::vector<std::string> held;
    for (const HeldNode& n : AllocationNodes(c, a.id)) held.push_back(n.node);
    std::vector<std::string> claimed;
    for (const NodeClaim& n : e.nodes) {
      claimed.push_back(n.node);
      seen[n.node] = n.expected_generation;
    }
    std::sort(claimed.begin(), claimed.end());
    if (held != claimed) {
      Fail(StatusCode::kAborted, "generation_conflict",
           "allocation \"" + a.id + "\" holds other nodes than when it was solved; solve again");
    }
    out.push_back(std::move(a));
  }
  // The holder's tenant before any node (the order every hold locks in), then every node the hold
  // touches, in name order in one statement.
  LockTenant(c, d, hold.tenant);
  std::vector<std::string> names;
  for (const auto& [node, generation] : seen) names.push_back(node);
  for (const NodeClaim& n : claims) names.push_back(n.node);
  if (!hold.exclusive.empty()) {
    for (const NeighbourNode& n : hold.neighbours) names.push_back(n.node);
  }
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  const std::map<std::string, LockedNode> locked = ReadNodes(c, d, names, /*lock=*/true);
  for (const EvictionClaim* e : victims) {
    for (const NodeClaim& n : e->nodes) {
      auto it = locked.find(n.node);
      if (it == locked.end() || it->second.holder != e->allocation ||
          it->second.generation != n.expected_generation) {
        Fail(StatusCode::kAborted, "generation_conflict",
             "node \"" + n.node + "\" of allocation \"" + e->allocation +
                 "\" changed since it was solved; solve again");
      }
    }
  }
  for (AllocationRecord& a : out) {
    ReleaseLocked(c, d, a, hold.now_ms);
    c.Exec("UPDATE allocations SET evicted_by = $1, evicted_by_tenant = $2 WHERE id = $3",
           {reservation, hold.tenant, a.id});
    a.evicted_by = reservation;
    a.evicted_by_tenant = hold.tenant;
  }
  // The freed nodes are free now at the generation the release left: claims of them expect it.
  for (NodeClaim& claim : claims) {
    auto it = seen.find(claim.node);
    if (it == seen.end()) continue;
    if (claim.expected_generation != it->second) {
      Fail(StatusCode::kAborted, "generation_conflict",
           "node \"" + claim.node + "\" was solved at two generations; solve again");
    }
    claim.expected_generation = it->second + 1;
  }
  return out;
}

// The audit entry of one eviction: the victim under its own tenant, naming the hold and the
// request that took its nodes.
void AuditEviction(SqlConn& c, Dialect d, const AuditKeyState& audit, const Actor& actor,
                   const AllocationRecord& victim, const HoldRequest& hold,
                   const std::string& reservation) {
  AppendAudit(c, d, audit, actor, "allocation.evict", victim.tenant, victim.id,
              {{"name", victim.name},
               {"project", std::string(ProjectName(victim.project))},
               {"priority", victim.priority},
               {"nodes", NodesDetail(victim.nodes)},
               {"cause",
                {{"reservation", reservation},
                 {"tenant", hold.tenant},
                 {"project", std::string(ProjectName(hold.project))},
                 {"request", hold.name},
                 {"priority", hold.priority},
                 {"scope", hold.eviction_rights.scope.tenant.empty() ? "all" : "tenant"}}}},
              hold.now_ms, victim.nodes);
}

}  // namespace

std::string Actor::Describe() const {
  std::string s = id.empty() ? "anonymous" : id;
  if (!role.empty()) {
    s += " (" + role;
    if (!tenant.empty()) s += " of " + tenant;
    s += ")";
  }
  return s;
}

Status CheckProjectOf(const Tenant& tenant, std::string_view project) {
  if (HasProject(tenant, project)) return Status::Ok();
  std::string known;
  for (const Project& p : tenant.projects)
    known += (known.empty() ? "" : ", ") + QuotedText(p.name);
  return WithReason(
      StatusCode::kInvalidArgument, "unknown_reference",
      "tenant " + QuotedText(tenant.name) + " has no project " + QuotedText(project) + "; " +
          (known.empty() ? std::string("it has only its default project (\"default\")")
                         : "expected one of " + known + " (or \"default\")"));
}

Status AddAllocationRecords(Scenario& s, const std::vector<AllocationRecord>& allocations) {
  std::set<std::string> names;
  for (const AllocationRecord& a : allocations) {
    Allocation out;
    out.name = names.insert(a.name).second ? a.name : a.id;
    names.insert(out.name);
    out.tenant = a.tenant;
    out.project = a.project;
    for (const HeldNode& n : a.nodes) out.nodes.push_back(n.node);
    // The recorded request (scenario YAML from an import, or the JSON a service client sent, which
    // the same reader takes), so repairs of the exported scenario keep its constraints.
    if (!a.request.empty()) {
      if (Result<Request> r = LoadRequestString(a.request, "allocation " + a.id); r.ok()) {
        r->name = out.name;
        r->tenant = out.tenant;
        r->project = out.project;
        out.request = std::move(*r);
      }
    }
    // Its priority, written out only where its request does not already say it.
    if (a.priority != AllocationPriority(out)) out.priority = a.priority;
    s.allocations.push_back(std::move(out));
  }
  s.ApplyAllocations();
  return s.inventory.BuildIndex();
}

int64_t NowMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Store::Store(std::unique_ptr<sql::SqlPool> pool, std::string kind, int schema_version)
    : pool_(std::move(pool)), kind_(std::move(kind)), schema_version_(schema_version) {}
Store::~Store() = default;

namespace {

bool IsServerUrl(const std::string& url) {
  return url.rfind("postgresql://", 0) == 0 || url.rfind("postgres://", 0) == 0;
}

std::string EmbeddedPath(const std::string& url) {
  std::string path = url.empty() ? "./topoplace.db" : url;
  if (path.rfind("sqlite:", 0) == 0) path = path.substr(7);
  return path;
}

}  // namespace

std::string Store::DefaultAuditKeyFile(const std::string& url) {
  if (!IsServerUrl(url)) return EmbeddedPath(url) + ".audit-key";
  if (const char* f = std::getenv("TOPOPLACE_AUDIT_KEY"); f && *f) return f;
  if (const char* x = std::getenv("XDG_CONFIG_HOME"); x && *x) {
    return std::string(x) + "/topoplace/audit-key";
  }
  const char* home = std::getenv("HOME");
  return std::string(home && *home ? home : ".") + "/.config/topoplace/audit-key";
}

Result<std::unique_ptr<Store>> Store::Open(const std::string& url, int pool_size) {
  StoreOptions options;
  options.pool_size = pool_size;
  return Open(url, options);
}

Result<std::unique_ptr<Store>> Store::Open(const std::string& url, const StoreOptions& options) {
  Result<std::unique_ptr<sql::SqlPool>> pool = Status(StatusCode::kInternal, "unset");
  std::string kind;
  const bool create = options.mode == OpenMode::kCreate;
  if (IsServerUrl(url)) {
    pool = sql::OpenPostgres(url, options.pool_size);
    kind = "postgresql";
  } else {
    const std::string path = EmbeddedPath(url);
    std::error_code ec;
    if (!create && !std::filesystem::exists(path, ec)) {
      return WithReason(StatusCode::kUnavailable, "no_store", "no store at " + path);
    }
    pool = sql::OpenSqlite(path, options.pool_size, create);
    kind = "sqlite";
  }
  if (!pool.ok()) return pool.status();
  if (!create) {
    // An existing file or database that holds no store is not made into one either.
    Result<bool> has = NoTxn(**pool, [&](SqlConn& c) {
      return !c.Query(kind == "postgresql"
                          ? "SELECT 1 FROM pg_tables WHERE tablename = 'schema_migrations' AND "
                            "schemaname = current_schema()"
                          : "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = "
                            "'schema_migrations'")
                  .empty();
    });
    if (!has.ok()) return has.status();
    if (!*has) {
      return WithReason(StatusCode::kUnavailable, "no_store",
                        "no store at " + (kind == "postgresql" ? std::string("that database")
                                                               : EmbeddedPath(url)));
    }
  }
  Result<int> version = ApplyMigrations(**pool);
  if (!version.ok()) return version.status();
  std::unique_ptr<Store> store(new Store(std::move(pool).value(), kind, *version));
  if (!options.no_audit_key) {
    Status st = store->LoadAuditState(options, url);
    if (!st.ok()) return st;
  }
  return store;
}

// Reads the audit key and the store's keying; in kCreate mode makes the key when missing and keys
// an unkeyed log from its next entry on (sealing the head as it is).
Status Store::LoadAuditState(const StoreOptions& options, const std::string& url) {
  const bool create = options.mode == OpenMode::kCreate;
  const std::string file =
      options.audit_key_file.empty() ? DefaultAuditKeyFile(url) : options.audit_key_file;
  auto read_head = [&](SqlConn& c) {
    Rows rows = c.Query("SELECT seq, hash, keyed_from, key_id FROM audit_head WHERE id = 1");
    if (rows.empty()) Fail(StatusCode::kInternal, "store_error", "audit head missing");
    return AuditHead{I64(rows[0][0]), Str(rows[0][1]), "", I64(rows[0][2]), Str(rows[0][3])};
  };
  auto head = InTxn(*pool_, false, read_head);
  if (!head.ok()) return head.status();
  std::error_code ec;
  if (create && !head->key_id.empty() && !std::filesystem::exists(file, ec)) {
    // A new key would not match the old entries: refuse rather than fork the log.
    return WithReason(StatusCode::kFailedPrecondition, "audit_key_missing",
                      "this store's audit log is keyed, and its audit key " + file +
                          " does not exist; give the store's key (--audit-key FILE)");
  }
  Result<std::string> key = LoadAuditKey(file, create);
  if (!key.ok()) return key.status();
  audit_.key = std::move(key).value();
  if (!audit_.key.empty()) audit_key_file_ = file;
  if (create && !audit_.key.empty() && head->key_id.empty()) {
    // Key the log from its next entry on; two processes opening at once key it once.
    const Dialect d = pool_->dialect();
    head = InTxn(*pool_, true, [&](SqlConn& c) {
      c.Query("SELECT seq FROM audit_head WHERE id = 1" + ForUpdate(d));
      AuditHead h = read_head(c);
      if (!h.key_id.empty()) return h;
      h.keyed_from = h.seq + 1;
      h.key_id = AuditKeyId(audit_.key);
      c.Exec("UPDATE audit_head SET keyed_from = $1, key_id = $2, seal = $3 WHERE id = 1",
             {Num(h.keyed_from), h.key_id, AuditHeadSeal(audit_.key, h)});
      return h;
    });
    if (!head.ok()) return head.status();
  }
  audit_.keyed = !head->key_id.empty();
  audit_.keyed_from = head->keyed_from;
  audit_.wrong = !audit_.key.empty() && audit_.keyed && AuditKeyId(audit_.key) != head->key_id;
  if (create && audit_.wrong) {
    return WithReason(StatusCode::kFailedPrecondition, "audit_key_mismatch",
                      "the audit key " + file +
                          " is not the key this store's audit log is keyed with; give the "
                          "store's own key (--audit-key FILE)");
  }
  return Status::Ok();
}

Status Store::Ping() {
  auto r = InTxn(*pool_, false, [&](SqlConn& c) { return c.Query("SELECT 1").size(); });
  return r.ok() ? Status::Ok() : r.status();
}

Result<bool> Store::HasInventory() {
  return InTxn(*pool_, false,
               [&](SqlConn& c) { return !c.Query("SELECT id FROM inventory_doc").empty(); });
}

namespace {

// Inserts rows into `table` many per statement (a statement per row costs a round of parsing and
// binding each, which dominates an import of 100,000 nodes). Add() takes one row's values, in
// the order of `columns`; Flush() writes what is left.
class RowInserter {
 public:
  RowInserter(sql::SqlConn& c, std::string table, std::string columns, int column_count)
      : c_(c),
        head_("INSERT INTO " + std::move(table) + " (" + std::move(columns) + ") VALUES "),
        column_count_(column_count) {}
  ~RowInserter() = default;

  void Add(std::initializer_list<Param> row) {
    params_.insert(params_.end(), row.begin(), row.end());
    if (++rows_ == kRowsPerStatement) Flush();
  }
  void Flush() {
    if (rows_ == 0) return;
    std::string sql = head_;
    for (int r = 0; r < rows_; ++r) {
      sql += r == 0 ? "(" : ", (";
      for (int k = 1; k <= column_count_; ++k)
        sql += (k > 1 ? ", $" : "$") + std::to_string(r * column_count_ + k);
      sql += ")";
    }
    c_.Exec(sql, params_);
    params_.clear();
    rows_ = 0;
  }

 private:
  static constexpr int kRowsPerStatement = 200;
  sql::SqlConn& c_;
  std::string head_;
  int column_count_;
  int rows_ = 0;
  Params params_;
};

}  // namespace

Status Store::Import(const Scenario& scenario, const Actor& actor, int64_t now_ms, bool force) {
  if (!scenario.inventory.indexed())
    return WithReason(StatusCode::kInvalidArgument, "bad_inventory",
                      "import: inventory is not indexed");
  // The inventory as stored: every entity, node states only where they are not derived from
  // holdings (maintenance, failed).
  Scenario doc;
  doc.inventory = scenario.inventory;
  doc.cluster_templates = scenario.cluster_templates;  // they name the inventory's classes
  for (Node& n : doc.inventory.nodes) {
    n.holder.clear();
    if (n.state == NodeState::kAllocated || n.state == NodeState::kReserved) {
      n.state = NodeState::kAvailable;
    }
  }
  const std::string yaml = DumpScenario(doc);
  const Dialect d = pool_->dialect();
  auto r = InTxn(*pool_, true, [&](SqlConn& c) {
    if (d == Dialect::kPostgres) c.Query("SELECT pg_advisory_xact_lock(7310542)");
    if (!force) {
      Rows held = c.Query(
          "SELECT (SELECT COUNT(*) FROM reservations WHERE status = 'held') + (SELECT COUNT(*) "
          "FROM allocations WHERE status = 'active' AND created_by <> 'import')");
      if (I64(held[0][0]) > 0) {
        Fail(StatusCode::kFailedPrecondition, "store_in_use",
             "the store holds " + Str(held[0][0]) +
                 " reservations or allocations made through the service; import --force replaces "
                 "them");
      }
    }
    Rows old = c.Query("SELECT version FROM inventory_doc WHERE id = 1");
    const int64_t version = old.empty() ? 1 : I64(old[0][0]) + 1;
    for (std::string_view table :
         {"nodes", "tenants", "reservations", "reservation_nodes", "allocations",
          "allocation_nodes", "clusters", "plans", "plan_steps", "tenant_networks",
          "network_addresses", "inventory_doc"}) {
      c.Exec("DELETE FROM " + std::string(table));
    }
    c.Exec("INSERT INTO inventory_doc (id, yaml, version) VALUES (1, $1, $2)",
           {yaml, Num(version)});
    c.Exec("DELETE FROM node_changes");

    // Allocations of the scenario, with ids of the store.
    std::unordered_map<std::string, std::string> holder_of;     // node -> allocation id
    std::unordered_map<std::string, std::string> exclusive_of;  // node -> level kept to itself
    std::unordered_map<std::string, std::string> project_of;    // node -> its holder's project
    RowInserter allocations(c, "allocations", std::string(kAllocationCols), 14);
    RowInserter allocation_nodes(c, "allocation_nodes", "allocation_id, node, rule", 3);
    for (const Allocation& a : scenario.allocations) {
      const std::string id = NewId("alc-");
      double cost = 0;
      for (const auto& n : a.nodes) {
        holder_of[n] = id;
        project_of[n] = StoredProjectName(a.project);
        if (a.request && a.request->exclusive) {
          exclusive_of[n] = std::string(LevelName(*a.request->exclusive));
        }
        const int i = scenario.inventory.NodeIndex(n);
        if (i >= 0) cost += scenario.inventory.ClassOf(i).cost_per_hour;
      }
      // The request the nodes were placed for, when the scenario records one (scenario YAML;
      // export reads it back); empty when it does not.
      const std::string request = a.request ? DumpRequest(*a.request) : std::string();
      allocations.Add({id, a.tenant, a.name, request, "active", Num(now_ms), "0", "", Num(cost),
                       "import", StoredProjectName(a.project), Num(int64_t{AllocationPriority(a)}),
                       "", ""});
      for (const auto& n : a.nodes) allocation_nodes.Add({id, n, "imported from the scenario"});
    }
    allocations.Flush();
    allocation_nodes.Flush();

    // Nodes.
    const auto& nodes = scenario.inventory.nodes;
    RowInserter node_rows(c, "nodes",
                          "name, ord, node_class, state, tenant, holder, generation, gpus, "
                          "cpu_cores, memory_gib, storage_gib, cost_per_hour, exclusive, project",
                          14);
    for (size_t i = 0; i < nodes.size(); ++i) {
      const Node& n = nodes[i];
      const NodeClass& cls = scenario.inventory.ClassOf(static_cast<int>(i));
      auto it = holder_of.find(n.name);
      const bool held = it != holder_of.end();
      std::string state(NodeStateName(n.state));
      if (n.state == NodeState::kAllocated || n.state == NodeState::kReserved) {
        state = held ? "allocated" : "available";
      }
      auto excl = held ? exclusive_of.find(n.name) : exclusive_of.end();
      node_rows.Add({n.name, Num(static_cast<int64_t>(i)), n.node_class, state,
                     held ? n.holder : std::string(), held ? it->second : "", "1",
                     Num(static_cast<int64_t>(cls.gpu.count)),
                     Num(static_cast<int64_t>(cls.cpu.cores)), Num(cls.memory_gib),
                     Num(cls.storage_gib), Num(cls.cost_per_hour),
                     excl != exclusive_of.end() ? excl->second : std::string(),
                     held ? project_of[n.name] : std::string()});
    }
    node_rows.Flush();
    for (size_t i = 0; i < scenario.tenants.size(); ++i) {
      const Tenant& t = scenario.tenants[i];
      std::vector<std::string> alerts;
      for (double a : t.alert_at) alerts.push_back(Num(a));
      c.Exec("INSERT INTO tenants (" + std::string(kTenantCols) +
                 ", ord) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
             {t.name, OptNum(t.quota.nodes), OptNum(t.quota.gpus), OptNum(t.quota.cpu_cores),
              OptNum(t.quota.memory_gib), OptNum(t.quota.storage_gib), JoinList(t.compliance),
              OptNum(t.budget_per_hour), JoinList(alerts), ProjectsJson(t.projects),
              Num(static_cast<int64_t>(i))});
    }
    AppendAudit(c, d, audit_, actor, "store.import", "", "inventory",
                {{"inventoryVersion", version},
                 {"nodes", nodes.size()},
                 {"tenants", scenario.tenants.size()},
                 {"allocations", scenario.allocations.size()}},
                now_ms);
    return 0;
  });
  return r.ok() ? Status::Ok() : r.status();
}

Result<std::string> Store::InventoryYaml(int64_t& version) {
  auto r = InTxn(*pool_, false, [&](SqlConn& c) {
    Rows rows = c.Query("SELECT yaml, version FROM inventory_doc WHERE id = 1");
    if (rows.empty()) {
      Fail(StatusCode::kFailedPrecondition, "no_inventory",
           "the store holds no inventory yet; import a scenario first");
    }
    return std::make_pair(Str(rows[0][0]), I64(rows[0][1]));
  });
  if (!r.ok()) return r.status();
  version = r->second;
  return r->first;
}

Result<int64_t> Store::StateVersion() {
  return NoTxn(*pool_, [&](SqlConn& c) {
    Rows rows = c.Query(
        "SELECT h.seq, COALESCE((SELECT version FROM inventory_doc WHERE id = 1), 0) FROM "
        "audit_head h WHERE h.id = 1");
    // Both move on changes; fold them into one number that moves whenever either does.
    return I64(rows[0][0]) * 1000003 + I64(rows[0][1]);
  });
}

Result<StoreState> Store::LoadState() {
  return InTxn(*pool_, false, [&](SqlConn& c) {
    StoreState s;
    Rows head = c.Query(
        "SELECT h.seq, COALESCE((SELECT version FROM inventory_doc WHERE id = 1), 0) FROM "
        "audit_head h WHERE h.id = 1");
    s.state_version = I64(head[0][0]) * 1000003 + I64(head[0][1]);
    s.inventory_version = I64(head[0][1]);
    s.audit_seq = I64(head[0][0]);
    Rows rows = c.Query("SELECT " + std::string(kNodeRecordCols) + " FROM nodes n ORDER BY n.ord");
    s.nodes.reserve(rows.size());
    for (const Row& r : rows) s.nodes.push_back(NodeRecordFromRow(r));
    for (const Row& r :
         c.Query("SELECT " + std::string(kTenantCols) + " FROM tenants ORDER BY ord")) {
      s.tenants.push_back(TenantFromRow(r));
    }
    return s;
  });
}

Result<Store::Changes> Store::ChangesSince(int64_t after_seq, int64_t inventory_version) {
  return InTxn(*pool_, false, [&](SqlConn& c) {
    Changes ch;
    StoreState& s = ch.state;
    Rows head = c.Query(
        "SELECT h.seq, COALESCE((SELECT version FROM inventory_doc WHERE id = 1), 0), "
        "(SELECT value FROM store_meta WHERE key = 'node_changes_from') FROM audit_head h WHERE "
        "h.id = 1");
    s.audit_seq = I64(head[0][0]);
    s.inventory_version = I64(head[0][1]);
    s.state_version = s.audit_seq * 1000003 + s.inventory_version;
    const int64_t log_from = I64(head[0][2]);
    ch.full = s.inventory_version != inventory_version || after_seq < log_from;
    const std::string cols(kNodeRecordCols);
    Rows rows = ch.full ? c.Query("SELECT " + cols + " FROM nodes n ORDER BY n.ord")
                        : c.Query("SELECT " + cols +
                                      " FROM nodes n WHERE n.name IN (SELECT node FROM "
                                      "node_changes WHERE seq > $1)",
                                  {Num(after_seq)});
    s.nodes.reserve(rows.size());
    for (const Row& row : rows) s.nodes.push_back(NodeRecordFromRow(row));
    for (const Row& row :
         c.Query("SELECT " + std::string(kTenantCols) + " FROM tenants ORDER BY ord")) {
      s.tenants.push_back(TenantFromRow(row));
    }
    return ch;
  });
}

Result<Scenario> Store::Export() {
  int64_t version = 0;
  Result<std::string> yaml = InventoryYaml(version);
  if (!yaml.ok()) return yaml.status();
  Result<Scenario> doc = LoadStoredScenario(*yaml);
  if (!doc.ok()) return doc.status();
  Result<StoreState> state = LoadState();
  if (!state.ok()) return state.status();
  Result<std::vector<AllocationRecord>> allocations = ListAllocations("", false);
  if (!allocations.ok()) return allocations.status();
  Scenario s;
  s.inventory = std::move(doc->inventory);
  s.cluster_templates = std::move(doc->cluster_templates);
  std::unordered_map<std::string, const NodeRecord*> by_name;
  for (const NodeRecord& n : state->nodes) by_name[n.name] = &n;
  for (Node& n : s.inventory.nodes) {
    auto it = by_name.find(n.name);
    if (it == by_name.end()) continue;
    const NodeState st = it->second->state;
    // Holds come back through the allocations; reservations are transient and not exported.
    n.state =
        st == NodeState::kMaintenance || st == NodeState::kFailed ? st : NodeState::kAvailable;
    n.holder.clear();
  }
  s.tenants = std::move(state->tenants);
  Status added = AddAllocationRecords(s, *allocations);
  if (!added.ok()) return added;
  return s;
}

Result<ReservationRecord> Store::Reserve(const HoldRequest& hold, const Actor& actor) {
  const Dialect d = pool_->dialect();
  return InTxn(*pool_, true, [&](SqlConn& c) {
    if (hold.evictions.empty()) {
      ReservationRecord r = InsertReservation(c, d, hold, actor, ReservationStatus::kHeld);
      AppendAudit(c, d, audit_, actor, "reservation.create", r.tenant, r.id,
                  {{"name", r.name},
                   {"nodes", NodesDetail(r.nodes)},
                   {"costPerHour", r.cost_per_hour},
                   {"expiresMs", r.expires_ms}},
                  hold.now_ms, r.nodes);
      return r;
    }
    // Preempting: the victims go first (their nodes freed, their quota returned), then the hold
    // takes the nodes, all in this one transaction.
    const std::string id = NewId("rsv-");
    HoldRequest h = hold;
    std::vector<AllocationRecord> evicted = EvictLocked(c, d, hold, id, h.nodes);
    ReservationRecord r = InsertReservation(c, d, h, actor, ReservationStatus::kHeld, id);
    nlohmann::json evicted_ids = nlohmann::json::array();
    for (const AllocationRecord& a : evicted) {
      AuditEviction(c, d, audit_, actor, a, h, id);
      evicted_ids.push_back(a.id);
    }
    AppendAudit(c, d, audit_, actor, "reservation.create", r.tenant, r.id,
                {{"name", r.name},
                 {"nodes", NodesDetail(r.nodes)},
                 {"costPerHour", r.cost_per_hour},
                 {"expiresMs", r.expires_ms},
                 {"priority", r.priority},
                 {"evicted", evicted_ids}},
                hold.now_ms, r.nodes);
    r.evicted = std::move(evicted);
    return r;
  });
}

Result<AllocationRecord> Store::Commit(const std::string& id, const Scope& scope,
                                       const Actor& actor, int64_t now_ms) {
  const Dialect d = pool_->dialect();
  return InTxn(*pool_, true, [&](SqlConn& c) {
    std::optional<ReservationRecord> r = LockReservation(c, d, id, scope);
    if (!r) NoReservation(id);
    if (r->status == ReservationStatus::kExpired) {
      Fail(StatusCode::kAborted, "reservation_expired",
           "reservation " + id + " expired and its nodes were released; solve and reserve again");
    }
    if (r->status != ReservationStatus::kHeld) {
      Fail(StatusCode::kFailedPrecondition, "reservation_not_held",
           "reservation " + id + " is " + std::string(ReservationStatusName(r->status)) +
               ", not held");
    }
    if (r->expires_ms <= now_ms) {
      Fail(StatusCode::kAborted, "reservation_expired",
           "reservation " + id + " expired; its nodes may be taken; solve and reserve again");
    }
    AllocationRecord a = CommitLocked(c, d, *r, actor, now_ms);
    AppendAudit(c, d, audit_, actor, "reservation.commit", a.tenant, a.id,
                {{"reservation", r->id},
                 {"name", a.name},
                 {"nodes", NodesDetail(a.nodes)},
                 {"costPerHour", a.cost_per_hour}},
                now_ms, a.nodes);
    return a;
  });
}

Result<ReservationRecord> Store::Cancel(const std::string& id, const Scope& scope,
                                        const Actor& actor, int64_t now_ms) {
  const Dialect d = pool_->dialect();
  return InTxn(*pool_, true, [&](SqlConn& c) {
    std::optional<ReservationRecord> r = LockReservation(c, d, id, scope);
    if (!r) NoReservation(id);
    if (r->status != ReservationStatus::kHeld) {
      Fail(StatusCode::kFailedPrecondition, "reservation_not_held",
           "reservation " + id + " is " + std::string(ReservationStatusName(r->status)) +
               ", not held");
    }
    r->nodes = ReservationNodes(c, id);
    FreeNodes(c, d, id);
    c.Exec("UPDATE reservations SET status = 'cancelled', updated_ms = $1 WHERE id = $2",
           {Num(now_ms), id});
    r->status = ReservationStatus::kCancelled;
    r->updated_ms = now_ms;
    AppendAudit(c, d, audit_, actor, "reservation.cancel", r->tenant, id,
                {{"nodes", NodesDetail(r->nodes)}}, now_ms, r->nodes);
    return *r;
  });
}

Result<AllocationRecord> Store::Release(const std::string& id, const Scope& scope,
                                        const Actor& actor, int64_t now_ms) {
  const Dialect d = pool_->dialect();
  return InTxn(*pool_, true, [&](SqlConn& c) {
    Rows rows = c.Query(
        "SELECT " + std::string(kAllocationCols) + " FROM allocations WHERE id = $1" + ForUpdate(d),
        {id});
    if (rows.empty() || !scope.Admits(Str(rows[0][1]), Str(rows[0][10]))) {
      Fail(StatusCode::kNotFound, "allocation_not_found", "no allocation \"" + id + "\"");
    }
    AllocationRecord a = AllocationFromRow(rows[0]);
    if (a.status != AllocationStatus::kActive) {
      Fail(StatusCode::kFailedPrecondition, "allocation_not_active",
           "allocation " + id + " is " + std::string(AllocationStatusName(a.status)));
    }
    ReleaseLocked(c, d, a, now_ms);
    AppendAudit(c, d, audit_, actor, "allocation.release", a.tenant, id,
                {{"nodes", NodesDetail(a.nodes)}}, now_ms, a.nodes);
    return a;
  });
}

Result<AllocationRecord> Store::ReplaceAllocationNode(const std::string& allocation_id,
                                                      const std::string& old_node,
                                                      const NodeClaim& replacement,
                                                      const std::vector<NeighbourNode>& neighbours,
                                                      const std::string& why, const Actor& actor,
                                                      int64_t now_ms) {
  const Dialect d = pool_->dialect();
  return InTxn(*pool_, true, [&](SqlConn& c) {
    Rows rows = c.Query(
        "SELECT " + std::string(kAllocationCols) + " FROM allocations WHERE id = $1" + ForUpdate(d),
        {allocation_id});
    if (rows.empty()) {
      Fail(StatusCode::kNotFound, "allocation_not_found",
           "no allocation \"" + allocation_id + "\"");
    }
    AllocationRecord a = AllocationFromRow(rows[0]);
    if (a.status != AllocationStatus::kActive) {
      Fail(StatusCode::kFailedPrecondition, "allocation_not_active",
           "allocation " + allocation_id + " is " + std::string(AllocationStatusName(a.status)));
    }
    const Tenant tenant = LockTenant(c, d, a.tenant);
    std::optional<LockedNode> old = LockNode(c, d, old_node);
    if (!old || old->holder != allocation_id) {
      Fail(StatusCode::kFailedPrecondition, "node_not_held",
           "node \"" + old_node + "\" is not held by allocation " + allocation_id);
    }
    // The failed node leaves the pool until a provider repairs it (and stops counting against
    // the tenant); the replacement is held as any hold is: free at the generation it was chosen
    // at, no exclusive domain shared, within quota and budget.
    c.Exec(
        "UPDATE nodes SET state = 'failed', tenant = '', project = '', holder = '', "
        "exclusive = '', generation = generation + 1 WHERE name = $1",
        {old_node});
    std::vector<HeldNode> held = HoldNodes(c, d, tenant, a.project, {replacement}, neighbours,
                                           allocation_id, "allocated", old->exclusive);
    c.Exec("DELETE FROM allocation_nodes WHERE allocation_id = $1 AND node = $2",
           {allocation_id, old_node});
    c.Exec("INSERT INTO allocation_nodes (allocation_id, node, rule) VALUES ($1, $2, $3)",
           {allocation_id, replacement.node, "replaces " + old_node + ": " + why});
    a.nodes = AllocationNodes(c, allocation_id);
    std::vector<HeldNode> touched{{old_node, old->generation + 1, "failed"}, held.front()};
    AppendAudit(c, d, audit_, actor, "allocation.replace-node", a.tenant, allocation_id,
                {{"failed", old_node}, {"replacement", replacement.node}, {"why", why}}, now_ms,
                touched);
    return a;
  });
}

namespace {
Plan InsertPlan(SqlConn& c, Dialect d, const AuditKeyState& audit, const Plan& plan,
                const Actor& actor, int64_t now);
}  // namespace

Result<ClusterRecord> Store::CreateCluster(const HoldRequest& hold, const std::string& purpose,
                                           const std::string& steps, const Actor& actor,
                                           const Plan* plan) {
  const Dialect d = pool_->dialect();
  return InTxn(*pool_, true, [&](SqlConn& c) {
    HoldRequest h = hold;
    h.ttl_ms = std::max<int64_t>(h.ttl_ms, 60'000);
    ReservationRecord r = InsertReservation(c, d, h, actor, ReservationStatus::kHeld);
    AllocationRecord a = CommitLocked(c, d, r, actor, hold.now_ms);
    ClusterRecord k;
    k.id = NewId("cls-");
    k.tenant = a.tenant;
    k.project = a.project;
    k.name = a.name;
    k.purpose = purpose;
    k.allocation_id = a.id;
    k.status = "allocated";
    k.steps = steps;
    k.created_ms = k.updated_ms = hold.now_ms;
    c.Exec("INSERT INTO clusters (" + std::string(kClusterCols) +
               ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
           {k.id, k.tenant, k.name, k.purpose, k.allocation_id, k.status, k.steps,
            Num(k.created_ms), Num(k.updated_ms), k.project});
    AppendAudit(c, d, audit_, actor, "cluster.create", k.tenant, k.id,
                {{"allocation", a.id},
                 {"purpose", purpose},
                 {"nodes", NodesDetail(a.nodes)},
                 {"costPerHour", a.cost_per_hour}},
                hold.now_ms, a.nodes);
    if (plan != nullptr) {
      // In the same transaction: a cluster is never left without the plan that carries it out.
      Plan p = *plan;
      p.allocation = a.id;
      p.tenant = a.tenant;
      p.project = a.project;
      k.plan_id = InsertPlan(c, d, audit_, p, actor, hold.now_ms).id;
    }
    return k;
  });
}

Result<int> Store::ExpireReservations(int64_t now_ms) {
  const Dialect d = pool_->dialect();
  return InTxn(*pool_, true, [&](SqlConn& c) {
    // Another replica may be expiring (or a client committing) the same rows: skip those.
    Rows rows = c.Query("SELECT " + std::string(kReservationCols) +
                            " FROM reservations WHERE status = 'held' AND expires_ms <= $1 "
                            "ORDER BY expires_ms LIMIT 500" +
                            (d == Dialect::kPostgres ? " FOR UPDATE SKIP LOCKED" : ""),
                        {Num(now_ms)});
    const Actor system{"system", "", ""};
    std::vector<std::string> ids;
    for (const Row& row : rows) ids.push_back(Str(row[0]));
    LockHeldNodes(c, d, ids);  // all at once: name order across the reservations too
    for (const Row& row : rows) {
      ReservationRecord r = ReservationFromRow(row);
      r.nodes = ReservationNodes(c, r.id);
      FreeNodes(c, d, r.id);
      c.Exec("UPDATE reservations SET status = 'expired', updated_ms = $1 WHERE id = $2",
             {Num(now_ms), r.id});
      AppendAudit(c, d, audit_, system, "reservation.expire", r.tenant, r.id,
                  {{"nodes", NodesDetail(r.nodes)}, {"expiresMs", r.expires_ms}}, now_ms, r.nodes);
    }
    // Keep the node change log short: views older than its start reload in full.
    Rows head = c.Query("SELECT seq FROM audit_head WHERE id = 1");
    const int64_t keep_from = I64(head[0][0]) - 20000;
    if (keep_from > 0 && keep_from % 1000 < 50) {
      c.Exec("UPDATE store_meta SET value = $1 WHERE key = 'node_changes_from'", {Num(keep_from)});
      c.Exec("DELETE FROM node_changes WHERE seq < $1", {Num(keep_from)});
    }
    return static_cast<int>(rows.size());
  });
}

Result<ReservationRecord> Store::GetReservation(const std::string& id, const Scope& scope) {
  return InTxn(*pool_, false, [&](SqlConn& c) {
    Rows rows = c.Query(
        "SELECT " + std::string(kReservationCols) + " FROM reservations WHERE id = $1", {id});
    if (rows.empty()) NoReservation(id);
    ReservationRecord r = ReservationFromRow(rows[0]);
    if (!scope.Admits(r.tenant, r.project)) NoReservation(id);
    r.nodes = ReservationNodes(c, id);
    return r;
  });
}

Result<std::vector<ReservationRecord>> Store::ListReservations(const Scope& scope, bool all) {
  return InTxn(*pool_, false, [&](SqlConn& c) {
    Params params;
    std::string sql = "SELECT " + std::string(kReservationCols) + " FROM reservations WHERE " +
                      ScopeWhere(scope, params);
    if (!all) sql += " AND status = 'held'";
    sql += " ORDER BY created_ms, id";
    std::vector<ReservationRecord> out;
    for (const Row& r : c.Query(sql, params)) out.push_back(ReservationFromRow(r));
    for (auto& r : out) r.nodes = ReservationNodes(c, r.id);
    return out;
  });
}

Result<AllocationRecord> Store::GetAllocation(const std::string& id, const Scope& scope) {
  return InTxn(*pool_, false, [&](SqlConn& c) {
    Rows rows =
        c.Query("SELECT " + std::string(kAllocationCols) + " FROM allocations WHERE id = $1", {id});
    if (rows.empty() || !scope.Admits(Str(rows[0][1]), Str(rows[0][10]))) {
      Fail(StatusCode::kNotFound, "allocation_not_found", "no allocation \"" + id + "\"");
    }
    AllocationRecord a = AllocationFromRow(rows[0]);
    a.nodes = AllocationNodes(c, id);
    return a;
  });
}

Result<std::vector<AllocationRecord>> Store::ListAllocations(const Scope& scope, bool all) {
  return InTxn(*pool_, false, [&](SqlConn& c) {
    Params params;
    const std::string where = ScopeWhere(scope, params);
    std::string sql = "SELECT " + std::string(kAllocationCols) + " FROM allocations WHERE " + where;
    if (!all) sql += " AND status = 'active'";
    sql += " ORDER BY created_ms, id";
    std::vector<AllocationRecord> out;
    for (const Row& r : c.Query(sql, params)) out.push_back(AllocationFromRow(r));
    // One query for all nodes instead of one per allocation.
    std::unordered_map<std::string, AllocationRecord*> by_id;
    for (auto& a : out) by_id[a.id] = &a;
    if (!out.empty()) {
      std::string nodes_sql =
          "SELECT a.allocation_id, a.node, n.generation, a.rule FROM allocation_nodes a JOIN "
          "allocations x ON x.id = a.allocation_id LEFT JOIN nodes n ON n.name = a.node WHERE "
          "x.id IN (SELECT id FROM allocations WHERE " +
          where + ")";
      if (!all) nodes_sql += " AND x.status = 'active'";
      nodes_sql += " ORDER BY a.node";
      for (const Row& r : c.Query(nodes_sql, params)) {
        auto it = by_id.find(Str(r[0]));
        if (it != by_id.end()) it->second->nodes.push_back({Str(r[1]), I64(r[2]), Str(r[3])});
      }
    }
    return out;
  });
}

Result<ClusterRecord> Store::GetCluster(const std::string& id, const Scope& scope) {
  return InTxn(*pool_, false, [&](SqlConn& c) {
    Rows rows =
        c.Query("SELECT " + std::string(kClusterCols) + " FROM clusters WHERE id = $1", {id});
    if (rows.empty() || !scope.Admits(Str(rows[0][1]), Str(rows[0][9]))) {
      Fail(StatusCode::kNotFound, "cluster_not_found", "no cluster \"" + id + "\"");
    }
    return ClusterFromRow(rows[0]);
  });
}

Result<std::vector<ClusterRecord>> Store::ListClusters(const Scope& scope) {
  return InTxn(*pool_, false, [&](SqlConn& c) {
    std::vector<ClusterRecord> out;
    Params params;
    const std::string where = ScopeWhere(scope, params);
    for (const Row& r : c.Query("SELECT " + std::string(kClusterCols) + " FROM clusters WHERE " +
                                    where + " ORDER BY created_ms, id",
                                params)) {
      out.push_back(ClusterFromRow(r));
    }
    return out;
  });
}

namespace {
std::map<std::string, TenantUsage> SumHeldByProject(SqlConn& c, const std::string& tenant) {
  std::map<std::string, TenantUsage> out;
  for (const Row& r :
       c.Query("SELECT project, COUNT(*), COALESCE(SUM(gpus), 0), COALESCE(SUM(cpu_cores), 0), "
               "COALESCE(SUM(memory_gib), 0), COALESCE(SUM(storage_gib), 0), "
               "COALESCE(SUM(cost_per_hour), 0) FROM nodes WHERE tenant = $1 GROUP BY project",
               {tenant})) {
    TenantUsage& x = out[Str(r[0])];
    x.nodes = I64(r[1]);
    x.gpus = I64(r[2]);
    x.cpu_cores = I64(r[3]);
    x.memory_gib = F64(r[4]);
    x.storage_gib = F64(r[5]);
    x.cost_per_hour = F64(r[6]);
  }
  return out;
}
}  // namespace

Result<std::map<std::string, TenantUsage>> Store::HeldByProject(const std::string& tenant) {
  return NoTxn(*pool_, [&](SqlConn& c) { return SumHeldByProject(c, tenant); });
}

Result<std::vector<HoldingRecord>> Store::Holdings(const Scope& scope, int below_priority) {
  return NoTxn(*pool_, [&](SqlConn& c) {
    Params params{Num(int64_t{below_priority})};
    const std::string where = ScopeWhere(scope, params);
    std::vector<HoldingRecord> out;
    for (const Row& r :
         c.Query("SELECT a.id, a.tenant, a.project, a.priority, n.node FROM allocations a JOIN "
                 "allocation_nodes n ON n.allocation_id = a.id WHERE a.status = 'active' AND "
                 "a.priority < $1 AND " +
                     where + " ORDER BY a.id, n.node",
                 params)) {
      if (out.empty() || out.back().id != Str(r[0])) {
        HoldingRecord h;
        h.id = Str(r[0]);
        h.tenant = Str(r[1]);
        h.project = Str(r[2]);
        h.priority = static_cast<int>(I64(r[3]));
        out.push_back(std::move(h));
      }
      out.back().nodes.push_back(Str(r[4]));
    }
    return out;
  });
}

Result<StoredUsage> Store::UsageOf(const std::string& tenant) {
  return InTxn(*pool_, false, [&](SqlConn& c) {
    if (c.Query("SELECT name FROM tenants WHERE name = $1", {tenant}).empty()) {
      Fail(StatusCode::kNotFound, "tenant_not_found", "no tenant \"" + tenant + "\"");
    }
    StoredUsage u;
    for (const Row& r :
         c.Query("SELECT state, COUNT(*), COALESCE(SUM(gpus), 0), COALESCE(SUM(cpu_cores), 0), "
                 "COALESCE(SUM(memory_gib), 0), COALESCE(SUM(storage_gib), 0), "
                 "COALESCE(SUM(cost_per_hour), 0) FROM nodes WHERE tenant = $1 GROUP BY state",
                 {tenant})) {
      TenantUsage x;
      x.nodes = I64(r[1]);
      x.gpus = I64(r[2]);
      x.cpu_cores = I64(r[3]);
      x.memory_gib = F64(r[4]);
      x.storage_gib = F64(r[5]);
      x.cost_per_hour = F64(r[6]);
      Add(u.held, x);
      if (Str(r[0]) == "reserved") Add(u.reserved, x);
    }
    u.held_by_project = SumHeldByProject(c, tenant);
    u.reservations = I64(c.Query(
        "SELECT COUNT(*) FROM reservations WHERE tenant = $1 AND status = 'held'", {tenant})[0][0]);
    u.allocations =
        I64(c.Query("SELECT COUNT(*) FROM allocations WHERE tenant = $1 AND status = 'active'",
                    {tenant})[0][0]);
    return u;
  });
}

Result<std::string> Store::CreateToken(const std::string& tenant, const std::string& role,
                                       const Actor& actor, int64_t now_ms, int64_t expires_ms,
                                       const std::optional<std::string>& project) {
  if (std::find(std::begin(kRoles), std::end(kRoles), role) == std::end(kRoles)) {
    return WithReason(StatusCode::kInvalidArgument, "bad_role",
                      "unknown role \"" + role +
                          "\"; expected one of provider-admin, tenant-admin, tenant-member, "
                          "auditor");
  }
  const bool tenant_role = role == "tenant-admin" || role == "tenant-member";
  if (tenant_role && tenant.empty()) {
    return WithReason(StatusCode::kInvalidArgument, "bad_role", "role " + role + " needs --tenant");
  }
  if (!tenant_role && !tenant.empty()) {
    return WithReason(StatusCode::kInvalidArgument, "bad_role",
                      "role " + role + " is not bound to a tenant; drop --tenant");
  }
  if (!tenant_role && project) {
    return WithReason(StatusCode::kInvalidArgument, "bad_role",
                      "role " + role + " is not bound to a project; drop --project");
  }
  if (expires_ms != 0 && expires_ms <= now_ms) {
    return WithReason(StatusCode::kInvalidArgument, "bad_expiry",
                      "the token would expire before it is made");
  }
  const std::string secret = "tpk_" + RandomHex(24);
  const std::string hash = Sha256Hex(secret);
  const std::string id = hash.substr(0, 12);
  const Dialect d = pool_->dialect();
  auto r = InTxn(*pool_, true, [&](SqlConn& c) {
    if (tenant_role) {
      Rows rows =
          c.Query("SELECT " + std::string(kTenantCols) + " FROM tenants WHERE name = $1", {tenant});
      if (rows.empty()) {
        Fail(StatusCode::kNotFound, "tenant_not_found", "no tenant \"" + tenant + "\"");
      }
      if (project) {
        Status known = CheckProjectOf(TenantFromRow(rows[0]), *project);
        if (!known.ok()) throw Abort{known};
      }
    }
    c.Exec(
        "INSERT INTO api_tokens (hash, id, tenant, role, created_ms, created_by, expires_ms, "
        "project) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        {hash, id, tenant, role, Num(now_ms), actor.Describe(), Num(expires_ms),
         project ? Param(StoredProjectName(*project)) : std::nullopt});
    nlohmann::json detail{{"role", role}};
    if (project) detail["project"] = *project;
    if (expires_ms != 0) detail["expiresMs"] = expires_ms;
    AppendAudit(c, d, audit_, actor, "token.create", tenant, "token:" + id, detail, now_ms);
    return 0;
  });
  if (!r.ok()) return r.status();
  return secret;
}

namespace {
constexpr std::string_view kTokenCols =
    "id, tenant, role, created_ms, expires_ms, revoked_ms, last_used_ms, created_by, project";
TokenRecord TokenFromRow(const Row& r) {
  TokenRecord t;
  t.id = Str(r[0]);
  t.tenant = Str(r[1]);
  t.role = Str(r[2]);
  t.project = r[8];  // NULL: the whole tenant
  t.created_ms = I64(r[3]);
  t.expires_ms = I64(r[4]);
  t.revoked_ms = I64(r[5]);
  t.last_used_ms = I64(r[6]);
  t.created_by = Str(r[7]);
  return t;
}
constexpr int64_t kLastUsedResolutionMs = 60'000;
}  // namespace

Result<TokenRecord> Store::LookupToken(const std::string& secret, int64_t now_ms) {
  const std::string hash = Sha256Hex(secret);
  if (now_ms == 0) now_ms = NowMillis();
  auto rec = NoTxn(*pool_, [&](SqlConn& c) {
    Rows rows =
        c.Query("SELECT " + std::string(kTokenCols) + " FROM api_tokens WHERE hash = $1", {hash});
    if (rows.empty()) Fail(StatusCode::kNotFound, "token_unknown", "no such token");
    TokenRecord t = TokenFromRow(rows[0]);
    if (t.revoked_ms != 0) Fail(StatusCode::kNotFound, "token_revoked", "the token was revoked");
    if (t.expires_ms != 0 && t.expires_ms <= now_ms) {
      Fail(StatusCode::kNotFound, "token_expired", "the token has expired");
    }
    return t;
  });
  if (rec.ok() && rec->last_used_ms + kLastUsedResolutionMs <= now_ms) {
    // Best effort and coarse (a minute), so authentication stays one read most of the time.
    (void)NoTxn(*pool_, [&](SqlConn& c) {
      return c.Exec("UPDATE api_tokens SET last_used_ms = $1 WHERE hash = $2 AND last_used_ms < $3",
                    {Num(now_ms), hash, Num(now_ms - kLastUsedResolutionMs + 1)});
    });
    rec->last_used_ms = now_ms;
  }
  return rec;
}

Result<int64_t> Store::TokenCount() {
  return InTxn(*pool_, false,
               [&](SqlConn& c) { return I64(c.Query("SELECT COUNT(*) FROM api_tokens")[0][0]); });
}

Result<std::vector<TokenRecord>> Store::ListTokens() {
  return InTxn(*pool_, false, [&](SqlConn& c) {
    std::vector<TokenRecord> out;
    for (const Row& r : c.Query("SELECT " + std::string(kTokenCols) +
                                " FROM api_tokens ORDER BY created_ms, id")) {
      out.push_back(TokenFromRow(r));
    }
    return out;
  });
}

Result<TokenRecord> Store::RevokeToken(const std::string& id, const Actor& actor, int64_t now_ms) {
  const Dialect d = pool_->dialect();
  return InTxn(*pool_, true, [&](SqlConn& c) {
    Rows rows = c.Query(
        "SELECT " + std::string(kTokenCols) + " FROM api_tokens WHERE id = $1" + ForUpdate(d),
        {id});
    if (rows.empty()) Fail(StatusCode::kNotFound, "token_not_found", "no token " + id);
    TokenRecord t = TokenFromRow(rows[0]);
    if (t.revoked_ms != 0) {
      Fail(StatusCode::kFailedPrecondition, "token_revoked", "token " + id + " is revoked already");
    }
    c.Exec("UPDATE api_tokens SET revoked_ms = $1 WHERE id = $2", {Num(now_ms), id});
    t.revoked_ms = now_ms;
    AppendAudit(c, d, audit_, actor, "token.revoke", t.tenant, "token:" + id, {{"role", t.role}},
                now_ms);
    return t;
  });
}

namespace {
constexpr std::string_view kAuditCols =
    "seq, at_ms, actor, action, tenant, subject, detail, prev_hash, hash, keyed";
AuditEntry AuditFromRow(const Row& r) {
  AuditEntry e;
  e.seq = I64(r[0]);
  e.at_ms = I64(r[1]);
  e.actor = Str(r[2]);
  e.action = Str(r[3]);
  e.tenant = Str(r[4]);
  e.subject = Str(r[5]);
  e.detail = Str(r[6]);
  e.prev_hash = Str(r[7]);
  e.hash = Str(r[8]);
  e.keyed = I64(r[9]) != 0;
  return e;
}
}  // namespace

Result<std::vector<AuditEntry>> Store::ListAudit(const AuditQuery& q) {
  return InTxn(*pool_, false, [&](SqlConn& c) {
    std::vector<AuditEntry> out;
    for (const Row& r :
         c.Query("SELECT " + std::string(kAuditCols) +
                     " FROM audit_log WHERE seq > $1 AND ($2 = '' OR tenant = $2) ORDER BY seq "
                     "LIMIT $3",
                 {Num(q.after_seq), q.tenant, Num(static_cast<int64_t>(q.limit))})) {
      out.push_back(AuditFromRow(r));
    }
    return out;
  });
}

Result<int64_t> Store::CountAudit(const std::string& tenant) {
  return NoTxn(*pool_, [&](SqlConn& c) {
    return I64(
        c.Query("SELECT COUNT(*) FROM audit_log WHERE ($1 = '' OR tenant = $1)", {tenant})[0][0]);
  });
}

Result<AuditVerifyReport> Store::VerifyAudit() {
  return InTxn(*pool_, false, [&](SqlConn& c) {
    Rows head = c.Query("SELECT seq, hash, seal, keyed_from, key_id FROM audit_head WHERE id = 1");
    AuditHead h;
    if (!head.empty()) {
      h = AuditHead{I64(head[0][0]), Str(head[0][1]), Str(head[0][2]), I64(head[0][3]),
                    Str(head[0][4])};
    }
    std::vector<AuditEntry> entries;
    for (const Row& r :
         c.Query("SELECT " + std::string(kAuditCols) + " FROM audit_log ORDER BY seq")) {
      entries.push_back(AuditFromRow(r));
    }
    return VerifyAuditChain(entries, h, audit_.key);
  });
}

// --- pages ---------------------------------------------------------------------------------------

namespace {

constexpr char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

std::string Base64Url(std::string_view in) {
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (unsigned char ch : in) {
    acc = (acc << 8) | ch;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out += kB64[(acc >> bits) & 63];
    }
  }
  if (bits > 0) out += kB64[(acc << (6 - bits)) & 63];
  return out;
}

std::optional<std::string> FromBase64Url(std::string_view in) {
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (char ch : in) {
    const char* p = std::strchr(kB64, ch);
    if (ch == '\0' || p == nullptr) return std::nullopt;
    acc = (acc << 6) | static_cast<uint32_t>(p - kB64);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  return out;
}

[[noreturn]] void BadPageToken() {
  Fail(StatusCode::kInvalidArgument, "bad_page_token",
       "pageToken is not a token this list gave out; start again without it");
}

// A keyset position in creation order: "created_ms/id".
std::pair<int64_t, std::string> CreatedKey(std::string_view list, const PageRequest& page) {
  if (page.page_token.empty()) return {-1, ""};
  Result<std::string> key = DecodePageToken(list, page.page_token);
  if (!key.ok()) BadPageToken();
  const size_t slash = key->find('/');
  if (slash == std::string::npos || slash == 0 || slash + 1 >= key->size()) BadPageToken();
  int64_t ms = 0;
  const char* b = key->data();
  auto [end, ec] = std::from_chars(b, b + slash, ms);
  if (ec != std::errc() || end != b + slash || ms < 0) BadPageToken();
  return {ms, key->substr(slash + 1)};
}

int Limit(const PageRequest& page) {
  if (page.limit < 1 || page.limit > kMaxPageLimit) {
    Fail(StatusCode::kInvalidArgument, "bad_parameter",
         "limit: expected 1 to " + std::to_string(kMaxPageLimit));
  }
  return page.limit;
}

// Reads one page of `table` (columns `cols`) in (created_ms, id) order: at most limit + 1 rows,
// the extra one only telling whether another page follows.
template <typename T, typename FromRow>
Page<T> CreatedOrderPage(SqlConn& c, std::string_view list, std::string_view table,
                         std::string_view cols, const std::string& where, Params params,
                         const PageRequest& page, FromRow from_row) {
  const int limit = Limit(page);
  const auto [after_ms, after_id] = CreatedKey(list, page);
  Page<T> out;
  out.total =
      I64(c.Query("SELECT COUNT(*) FROM " + std::string(table) + " WHERE " + where, params)[0][0]);
  const std::string n = std::to_string(params.size());
  const std::string a = "$" + std::to_string(params.size() + 1);
  const std::string b = "$" + std::to_string(params.size() + 2);
  const std::string l = "$" + std::to_string(params.size() + 3);
  params.push_back(Num(after_ms));
  params.push_back(after_id);
  params.push_back(Num(static_cast<int64_t>(limit + 1)));
  // CAST: the parameters travel as text; both dialects compare the numbers as numbers.
  Rows rows = c.Query("SELECT " + std::string(cols) + " FROM " + std::string(table) + " WHERE " +
                          where + " AND (created_ms > CAST(" + a +
                          " AS BIGINT) OR (created_ms = "
                          "CAST(" +
                          a + " AS BIGINT) AND id > " + b +
                          ")) ORDER BY created_ms, "
                          "id LIMIT CAST(" +
                          l + " AS BIGINT)",
                      params);
  (void)n;
  for (size_t i = 0; i < rows.size() && i < static_cast<size_t>(limit); ++i) {
    out.items.push_back(from_row(rows[i]));
  }
  if (rows.size() > static_cast<size_t>(limit)) {
    const T& last = out.items.back();
    out.next_page_token = EncodePageToken(list, Num(last.created_ms) + "/" + last.id);
  }
  return out;
}

}  // namespace

std::string EncodePageToken(std::string_view list, std::string_view key) {
  std::string text = "tp1:";
  text += list;
  text += ':';
  text += key;
  return Base64Url(text);
}

Result<std::string> DecodePageToken(std::string_view list, std::string_view token) {
  const auto bad = [] {
    return WithReason(StatusCode::kInvalidArgument, "bad_page_token",
                      "pageToken is not a token this list gave out; start again without it");
  };
  if (token.empty() || token.size() > 512) return bad();
  std::optional<std::string> text = FromBase64Url(token);
  const std::string prefix = "tp1:" + std::string(list) + ":";
  if (!text || text->rfind(prefix, 0) != 0 || text->size() == prefix.size()) return bad();
  for (char ch : *text) {
    if (static_cast<unsigned char>(ch) < 0x20 || static_cast<unsigned char>(ch) >= 0x7f) {
      return bad();
    }
  }
  return text->substr(prefix.size());
}

Result<Page<ReservationRecord>> Store::ListReservationsPage(const Scope& scope, bool all,
                                                            const PageRequest& page) {
  return InTxn(*pool_, false, [&](SqlConn& c) {
    Params params;
    std::string where = ScopeWhere(scope, params);
    if (!all) where += " AND status = 'held'";
    Page<ReservationRecord> out =
        CreatedOrderPage<ReservationRecord>(c, "reservations", "reservations", kReservationCols,
                                            where, params, page, ReservationFromRow);
    for (auto& r : out.items) r.nodes = ReservationNodes(c, r.id);
    return out;
  });
}

Result<Page<AllocationRecord>> Store::ListAllocationsPage(const Scope& scope, bool all,
                                                          const PageRequest& page) {
  return InTxn(*pool_, false, [&](SqlConn& c) {
    Params params;
    std::string where = ScopeWhere(scope, params);
    if (!all) where += " AND status = 'active'";
    Page<AllocationRecord> out = CreatedOrderPage<AllocationRecord>(
        c, "allocations", "allocations", kAllocationCols, where, params, page, AllocationFromRow);
    for (auto& a : out.items) a.nodes = AllocationNodes(c, a.id);
    return out;
  });
}

Result<Page<ClusterRecord>> Store::ListClustersPage(const Scope& scope, const PageRequest& page) {
  return InTxn(*pool_, false, [&](SqlConn& c) {
    Params params;
    const std::string where = ScopeWhere(scope, params);
    return CreatedOrderPage<ClusterRecord>(c, "clusters", "clusters", kClusterCols, where, params,
                                           page, ClusterFromRow);
  });
}

// ---------------------------------------------------------------------------------------------
// Plans and tenant networks

namespace {

constexpr std::string_view kPlanCols =
    "id, allocation_id, tenant, purpose, status, network_id, error, milestones, created_ms, "
    "updated_ms, project, access";
constexpr std::string_view kStepCols =
    "step_id, layer, driver, action, node, phase, after_ids, state, attempts, log_line, "
    "started_ms, updated_ms";
constexpr std::string_view kNetworkCols =
    "id, tenant, net_key, vlan, subnet, gateway, state, created_ms, updated_ms";

[[noreturn]] void NoPlan(const std::string& id) {
  Fail(StatusCode::kNotFound, "plan_not_found", "no plan \"" + id + "\"");
}
[[noreturn]] void NoNetwork(const std::string& id) {
  Fail(StatusCode::kNotFound, "network_not_found", "no network \"" + id + "\"");
}

std::string MilestonesJson(const std::vector<Milestone>& milestones) {
  nlohmann::json j = nlohmann::json::array();
  for (const Milestone& m : milestones) j.push_back({{"name", m.name}, {"atMs", m.at_ms}});
  return j.dump();
}
std::vector<Milestone> MilestonesFromJson(const std::string& text) {
  std::vector<Milestone> out;
  const nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_array()) return out;
  for (const auto& m : j) {
    if (!m.is_object()) continue;
    out.push_back({m.value("name", std::string()), m.value("atMs", int64_t{0})});
  }
  return out;
}
std::string AccessJson(const std::map<std::string, std::string>& access) {
  return nlohmann::json(access).dump();
}
std::map<std::string, std::string> AccessFromJson(const std::string& text) {
  std::map<std::string, std::string> out;
  const nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return out;
  for (const auto& [k, v] : j.items()) {
    if (v.is_string()) out[k] = v.get<std::string>();
  }
  return out;
}
std::string IdsJson(const std::vector<std::string>& ids) { return nlohmann::json(ids).dump(); }
std::vector<std::string> IdsFromJson(const std::string& text) {
  std::vector<std::string> out;
  const nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_array()) return out;
  for (const auto& id : j) {
    if (id.is_string()) out.push_back(id.get<std::string>());
  }
  return out;
}

Plan PlanFromRow(const Row& r) {
  Plan p;
  p.id = Str(r[0]);
  p.allocation = Str(r[1]);
  p.tenant = Str(r[2]);
  p.purpose = Str(r[3]);
  p.status = ParsePlanStatus(Str(r[4])).value_or(PlanStatus::kFailed);
  p.network = Str(r[5]);
  p.error = Str(r[6]);
  p.milestones = MilestonesFromJson(Str(r[7]));
  p.created_ms = I64(r[8]);
  p.updated_ms = I64(r[9]);
  p.project = Str(r[10]);
  p.access = AccessFromJson(Str(r[11]));
  return p;
}

PlanStep StepFromRow(const Row& r, size_t first = 0) {
  PlanStep s;
  s.id = Str(r[first + 0]);
  s.layer = Str(r[first + 1]);
  s.driver = Str(r[first + 2]);
  s.action = Str(r[first + 3]);
  s.node = Str(r[first + 4]);
  s.phase = ParseStepPhase(Str(r[first + 5])).value_or(StepPhase::kDeploy);
  s.after = IdsFromJson(Str(r[first + 6]));
  s.state = ParseStepState(Str(r[first + 7])).value_or(StepState::kFailed);
  s.attempts = static_cast<int>(I64(r[first + 8]));
  s.log = Str(r[first + 9]);
  s.started_ms = I64(r[first + 10]);
  s.updated_ms = I64(r[first + 11]);
  return s;
}

Params StepParams(const std::string& plan_id, const PlanStep& s, int64_t ord) {
  return {plan_id,
          s.id,
          Num(ord),
          s.layer,
          s.driver,
          s.action,
          s.node,
          std::string(StepPhaseName(s.phase)),
          IdsJson(s.after),
          std::string(StepStateName(s.state)),
          Num(static_cast<int64_t>(s.attempts)),
          s.log,
          Num(s.started_ms),
          Num(s.updated_ms)};
}

void InsertStep(SqlConn& c, const std::string& plan_id, const PlanStep& s, int64_t ord) {
  c.Exec(
      "INSERT INTO plan_steps (plan_id, step_id, ord, layer, driver, action, node, phase, "
      "after_ids, state, attempts, log_line, started_ms, updated_ms) VALUES ($1, $2, $3, $4, $5, "
      "$6, $7, $8, $9, $10, $11, $12, $13, $14)",
      StepParams(plan_id, s, ord));
}

// The plans of the rows, each with its steps in order (one query for all steps).
std::vector<Plan> PlansWithSteps(SqlConn& c, const Rows& rows) {
  std::vector<Plan> plans;
  plans.reserve(rows.size());
  std::unordered_map<std::string, size_t> by_id;
  for (const Row& r : rows) {
    plans.push_back(PlanFromRow(r));
    by_id[plans.back().id] = plans.size() - 1;
  }
  constexpr size_t kChunk = 500;
  for (size_t start = 0; start < plans.size(); start += kChunk) {
    const size_t end = std::min(plans.size(), start + kChunk);
    std::string sql =
        "SELECT plan_id, " + std::string(kStepCols) + " FROM plan_steps WHERE plan_id IN (";
    Params params;
    for (size_t i = start; i < end; ++i) {
      sql += (i == start ? "$" : ", $") + std::to_string(i - start + 1);
      params.push_back(plans[i].id);
    }
    sql += ") ORDER BY plan_id, ord";
    for (const Row& r : c.Query(sql, params)) {
      auto it = by_id.find(Str(r[0]));
      if (it != by_id.end()) plans[it->second].steps.push_back(StepFromRow(r, 1));
    }
  }
  return plans;
}

// Records a new plan and its steps inside the caller's transaction (CreatePlan, CreateCluster).
Plan InsertPlan(SqlConn& c, Dialect d, const AuditKeyState& audit, const Plan& plan,
                const Actor& actor, int64_t now) {
  Plan p = plan;
  p.project = StoredProjectName(p.project);
  if (p.id.empty()) p.id = NewId("pln-");
  if (p.created_ms == 0) p.created_ms = now;
  if (p.updated_ms == 0) p.updated_ms = p.created_ms;
  if (!c.Query("SELECT id FROM plans WHERE id = $1", {p.id}).empty()) {
    Fail(StatusCode::kAlreadyExists, "plan_exists", "plan \"" + p.id + "\" exists already");
  }
  std::set<std::string> ids;
  for (const PlanStep& s : p.steps) {
    if (!ids.insert(s.id).second) {
      Fail(StatusCode::kInvalidArgument, "bad_plan",
           "plan \"" + p.id + "\" has two steps with id \"" + s.id + "\"");
    }
  }
  c.Exec("INSERT INTO plans (" + std::string(kPlanCols) +
             ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
         {p.id, p.allocation, p.tenant, p.purpose, std::string(PlanStatusName(p.status)), p.network,
          p.error, MilestonesJson(p.milestones), Num(p.created_ms), Num(p.updated_ms), p.project,
          AccessJson(p.access)});
  for (size_t i = 0; i < p.steps.size(); ++i) {
    InsertStep(c, p.id, p.steps[i], static_cast<int64_t>(i));
  }
  AppendAudit(c, d, audit, actor, "plan.create", p.tenant, p.id,
              {{"allocation", p.allocation},
               {"project", p.project},
               {"purpose", p.purpose},
               {"status", PlanStatusName(p.status)},
               {"steps", p.steps.size()}},
              now);
  return p;
}

Plan LockPlan(SqlConn& c, Dialect d, const std::string& id) {
  Rows rows = c.Query(
      "SELECT " + std::string(kPlanCols) + " FROM plans WHERE id = $1" + ForUpdate(d), {id});
  if (rows.empty()) NoPlan(id);
  return PlanFromRow(rows[0]);
}

bool AuditedStepState(StepState s) {
  return s == StepState::kDone || s == StepState::kFailed || s == StepState::kCompensated;
}

// Network rows keep their state apart from the model value, which has none.
struct NetworkRow {
  TenantNetwork net;
  bool active = false;
};

NetworkRow NetworkFromRow(const Row& r) {
  NetworkRow n;
  n.net.id = Str(r[0]);
  n.net.tenant = Str(r[1]);
  n.net.key = Str(r[2]);
  n.net.vlan = static_cast<int>(I64(r[3]));
  n.net.subnet = Str(r[4]);
  n.net.gateway = Str(r[5]);
  n.active = Str(r[6]) == "active";
  return n;
}

std::vector<NodeAddress> NetworkAddresses(SqlConn& c, const std::string& network_id) {
  std::vector<NodeAddress> out;
  for (const Row& r : c.Query("SELECT node, port, mac, address FROM network_addresses WHERE "
                              "network_id = $1 ORDER BY node, port",
                              {network_id})) {
    out.push_back({Str(r[0]), Str(r[1]), Str(r[2]), Str(r[3])});
  }
  return out;
}

// Serialises every change of tenant networks: on the server a transaction-scoped lock; the
// embedded file's write transactions are serialised already.
void LockNetworks(SqlConn& c, Dialect d) {
  if (d == Dialect::kPostgres) c.Query("SELECT pg_advisory_xact_lock(7310543)");
}

std::optional<NetworkRow> ReadNetwork(SqlConn& c, Dialect d, const std::string& id, bool lock) {
  Rows rows =
      c.Query("SELECT " + std::string(kNetworkCols) + " FROM tenant_networks WHERE id = $1" +
                  (lock ? ForUpdate(d) : std::string()),
              {id});
  if (rows.empty()) return std::nullopt;
  return NetworkFromRow(rows[0]);
}

// A policy the store can cut networks from, or kInvalidArgument "bad_network_policy".
Ipv4Subnet CheckedPool(const NetworkPolicy& p) {
  auto bad = [](const std::string& what) {
    Fail(StatusCode::kInvalidArgument, "bad_network_policy", "network policy: " + what);
  };
  if (p.tenant_vlan_from < 1 || p.tenant_vlan_to > 4094 || p.tenant_vlan_from > p.tenant_vlan_to)
    bad("tenant VLANs " + Num(static_cast<int64_t>(p.tenant_vlan_from)) + ".." +
        Num(static_cast<int64_t>(p.tenant_vlan_to)) + " are not a range within 1..4094");
  std::optional<Ipv4Subnet> pool = ParseCidr(p.tenant_subnet_pool);
  if (!pool) bad("pool \"" + p.tenant_subnet_pool + "\" is not an IPv4 CIDR");
  if (p.tenant_prefix_length <= pool->prefix_length || p.tenant_prefix_length > 30)
    bad("tenant subnets of /" + Num(static_cast<int64_t>(p.tenant_prefix_length)) +
        " do not fit the pool " + p.tenant_subnet_pool);
  return *pool;
}

}  // namespace

Result<Plan> Store::CreatePlan(const Plan& plan, const Actor& actor) {
  const Dialect d = pool_->dialect();
  return InTxn(*pool_, true,
               [&](SqlConn& c) { return InsertPlan(c, d, audit_, plan, actor, NowMillis()); });
}

Status Store::SaveStep(const std::string& plan_id, const PlanStep& step, const Actor& actor) {
  const Dialect d = pool_->dialect();
  auto r = InTxn(*pool_, true, [&](SqlConn& c) {
    const Plan plan = LockPlan(c, d, plan_id);
    Rows old = c.Query("SELECT state FROM plan_steps WHERE plan_id = $1 AND step_id = $2",
                       {plan_id, step.id});
    const std::optional<StepState> before =
        old.empty() ? std::nullopt : ParseStepState(Str(old[0][0]));
    if (old.empty()) {
      Rows last =
          c.Query("SELECT COALESCE(MAX(ord), -1) FROM plan_steps WHERE plan_id = $1", {plan_id});
      InsertStep(c, plan_id, step, I64(last[0][0]) + 1);
    } else {
      Params params = StepParams(plan_id, step, 0);
      params.erase(params.begin() + 2);  // ord stays
      c.Exec(
          "UPDATE plan_steps SET layer = $3, driver = $4, action = $5, node = $6, phase = $7, "
          "after_ids = $8, state = $9, attempts = $10, log_line = $11, started_ms = $12, "
          "updated_ms = $13 WHERE plan_id = $1 AND step_id = $2",
          params);
    }
    if (step.updated_ms > plan.updated_ms) {
      c.Exec("UPDATE plans SET updated_ms = $1 WHERE id = $2", {Num(step.updated_ms), plan_id});
    }
    if (AuditedStepState(step.state) && before != step.state) {
      AppendAudit(c, d, audit_, actor, "plan.step", plan.tenant, plan_id,
                  {{"step", step.id},
                   {"node", step.node},
                   {"state", StepStateName(step.state)},
                   {"attempts", step.attempts},
                   {"log", step.log}},
                  step.updated_ms != 0 ? step.updated_ms : NowMillis());
    }
    return 0;
  });
  return r.ok() ? Status::Ok() : r.status();
}

Status Store::SavePlanHeader(const Plan& plan, const Actor& actor) {
  const Dialect d = pool_->dialect();
  auto r = InTxn(*pool_, true, [&](SqlConn& c) {
    const Plan old = LockPlan(c, d, plan.id);
    const int64_t updated_ms = plan.updated_ms != 0 ? plan.updated_ms : NowMillis();
    c.Exec(
        "UPDATE plans SET status = $1, network_id = $2, error = $3, milestones = $4, updated_ms = "
        "$5, access = $7 WHERE id = $6",
        {std::string(PlanStatusName(plan.status)), plan.network, plan.error,
         MilestonesJson(plan.milestones), Num(updated_ms), plan.id, AccessJson(plan.access)});
    if (old.status != plan.status) {
      nlohmann::json detail = {{"from", PlanStatusName(old.status)},
                               {"to", PlanStatusName(plan.status)}};
      if (!plan.error.empty()) detail["error"] = plan.error;
      AppendAudit(c, d, audit_, actor, "plan.status", old.tenant, plan.id, detail, updated_ms);
    }
    return 0;
  });
  return r.ok() ? Status::Ok() : r.status();
}

Result<Plan> Store::GetPlan(const std::string& id, const Scope& scope) {
  return InTxn(*pool_, false, [&](SqlConn& c) {
    Rows rows = c.Query("SELECT " + std::string(kPlanCols) + " FROM plans WHERE id = $1", {id});
    if (rows.empty() || !scope.Admits(Str(rows[0][2]), Str(rows[0][10]))) NoPlan(id);
    return std::move(PlansWithSteps(c, rows).front());
  });
}

Result<std::vector<Plan>> Store::ListPlans(const Scope& scope, bool unfinished_only) {
  return InTxn(*pool_, false, [&](SqlConn& c) {
    Params params;
    std::string sql =
        "SELECT " + std::string(kPlanCols) + " FROM plans WHERE " + ScopeWhere(scope, params);
    if (unfinished_only) {
      sql += " AND status IN ('" + std::string(PlanStatusName(PlanStatus::kProgressing)) + "', '" +
             std::string(PlanStatusName(PlanStatus::kDeleting)) + "')";
    }
    sql += " ORDER BY created_ms, id";
    return PlansWithSteps(c, c.Query(sql, params));
  });
}

Result<Plan> Store::PlanOfAllocation(const std::string& allocation_id) {
  return InTxn(*pool_, false, [&](SqlConn& c) {
    Rows rows = c.Query("SELECT " + std::string(kPlanCols) +
                            " FROM plans WHERE allocation_id = $1 ORDER BY created_ms DESC, id "
                            "DESC LIMIT 1",
                        {allocation_id});
    if (rows.empty()) {
      Fail(StatusCode::kNotFound, "plan_not_found",
           "no plan carries out allocation \"" + allocation_id + "\"");
    }
    return std::move(PlansWithSteps(c, rows).front());
  });
}

Result<std::vector<std::string>> Store::EvictedWithLivePlans() {
  return NoTxn(*pool_, [&](SqlConn& c) {
    std::vector<std::string> out;
    for (const Row& r :
         c.Query("SELECT DISTINCT a.id FROM allocations a JOIN plans p ON p.allocation_id = a.id "
                 "WHERE a.status = 'released' AND a.evicted_by <> '' AND p.status NOT IN "
                 "('DELETING', 'DELETED') ORDER BY a.id")) {
      out.push_back(Str(r[0]));
    }
    return out;
  });
}

Result<TenantNetwork> Store::AcquireNetwork(const std::string& tenant, const std::string& key,
                                            const NetworkPolicy& policy,
                                            const std::vector<NodeAddress>& wanted,
                                            const Actor& actor) {
  const Dialect d = pool_->dialect();
  return InTxn(*pool_, true, [&](SqlConn& c) {
    LockNetworks(c, d);
    const int64_t now = NowMillis();
    nlohmann::json detail;
    Rows found = c.Query("SELECT " + std::string(kNetworkCols) +
                             " FROM tenant_networks WHERE tenant = $1 AND net_key = $2 AND state "
                             "= 'active'",
                         {tenant, key});
    TenantNetwork net;
    if (!found.empty()) {
      net = NetworkFromRow(found[0]).net;
    } else {
      const Ipv4Subnet pool = CheckedPool(policy);
      std::set<int> used_vlans;
      std::vector<Ipv4Subnet> used_subnets;
      for (const Row& r :
           c.Query("SELECT vlan, subnet FROM tenant_networks WHERE state = 'active'")) {
        used_vlans.insert(static_cast<int>(I64(r[0])));
        if (auto s = ParseCidr(Str(r[1]))) used_subnets.push_back(*s);
      }
      int vlan = 0;
      for (int v = policy.tenant_vlan_from; v <= policy.tenant_vlan_to && vlan == 0; ++v) {
        if (v != policy.quarantine_vlan && !used_vlans.count(v)) vlan = v;
      }
      if (vlan == 0) {
        Fail(StatusCode::kResourceExhausted, "no_free_vlan",
             "no tenant VLAN is free: all of " +
                 Num(static_cast<int64_t>(policy.tenant_vlan_from)) + ".." +
                 Num(static_cast<int64_t>(policy.tenant_vlan_to)) +
                 " are in use by other tenant networks");
      }
      std::optional<Ipv4Subnet> subnet;
      const uint64_t count = SubnetCount(pool, policy.tenant_prefix_length);
      for (uint64_t i = 0; i < count && !subnet; ++i) {
        const Ipv4Subnet candidate = *NthSubnet(pool, policy.tenant_prefix_length, i);
        if (std::none_of(used_subnets.begin(), used_subnets.end(),
                         [&](const Ipv4Subnet& u) { return Overlaps(u, candidate); })) {
          subnet = candidate;
        }
      }
      if (!subnet) {
        Fail(StatusCode::kResourceExhausted, "no_free_subnet",
             "no /" + Num(static_cast<int64_t>(policy.tenant_prefix_length)) + " subnet of " +
                 policy.tenant_subnet_pool + " is free: all " + Num(static_cast<int64_t>(count)) +
                 " are in use by other tenant networks");
      }
      net.id = NewId("net-");
      net.tenant = tenant;
      net.key = key;
      net.vlan = vlan;
      net.subnet = FormatCidr(*subnet);
      net.gateway = FormatIpv4(*NthHost(*subnet, 0));
      c.Exec("INSERT INTO tenant_networks (" + std::string(kNetworkCols) +
                 ") VALUES ($1, $2, $3, $4, $5, $6, 'active', $7, $7)",
             {net.id, net.tenant, net.key, Num(static_cast<int64_t>(net.vlan)), net.subnet,
              net.gateway, Num(now)});
      detail["created"] = true;
      detail["vlan"] = net.vlan;
      detail["subnet"] = net.subnet;
      detail["gateway"] = net.gateway;
    }
    const Ipv4Subnet subnet = *ParseCidr(net.subnet);
    std::vector<NodeAddress> have = NetworkAddresses(c, net.id);
    std::set<uint64_t> used_hosts = {0};                                  // the gateway
    if (HostCount(subnet) > 2) used_hosts.insert(HostCount(subnet) - 1);  // ServiceAddress
    std::map<std::pair<std::string, std::string>, std::string> holding;   // (node, port) -> MAC
    for (const NodeAddress& a : have) {
      holding[{a.node, a.port}] = a.mac;
      if (auto ip = ParseIpv4(a.address)) {
        if (auto h = HostIndex(subnet, *ip)) used_hosts.insert(*h);
      }
    }
    nlohmann::json added = nlohmann::json::array();
    uint64_t next = 0;
    for (const NodeAddress& w : wanted) {
      auto [held, fresh] = holding.emplace(std::make_pair(w.node, w.port), w.mac);
      if (!fresh) {  // has one already (or asked twice): it keeps it, with the MAC it has now
        if (!w.mac.empty() && held->second != w.mac) {
          c.Exec(
              "UPDATE network_addresses SET mac = $1 WHERE network_id = $2 AND node = $3 AND "
              "port = $4",
              {w.mac, net.id, w.node, w.port});
          added.push_back({{"node", w.node}, {"port", w.port}, {"mac", w.mac}});
          held->second = w.mac;
        }
        continue;
      }
      while (used_hosts.count(next)) ++next;
      std::optional<Ipv4Address> ip = NthHost(subnet, next);
      if (!ip) {
        Fail(StatusCode::kResourceExhausted, "no_free_address",
             "network " + net.id + " (" + net.subnet + ") has no free address left for node \"" +
                 w.node + "\"");
      }
      used_hosts.insert(next);
      const std::string address = FormatIpv4(*ip);
      c.Exec(
          "INSERT INTO network_addresses (network_id, node, port, mac, address) VALUES ($1, $2, "
          "$3, $4, $5)",
          {net.id, w.node, w.port, w.mac, address});
      added.push_back({{"node", w.node}, {"port", w.port}, {"address", address}});
    }
    if (!added.empty()) detail["addresses"] = added;
    if (!detail.is_null()) {
      c.Exec("UPDATE tenant_networks SET updated_ms = $1 WHERE id = $2", {Num(now), net.id});
      detail["key"] = key;
      AppendAudit(c, d, audit_, actor, "network.acquire", tenant, net.id, detail, now);
    }
    net.addresses = NetworkAddresses(c, net.id);
    return net;
  });
}

Status Store::ReleaseAddresses(const std::string& network_id, const std::vector<std::string>& nodes,
                               const Actor& actor) {
  const Dialect d = pool_->dialect();
  auto r = InTxn(*pool_, true, [&](SqlConn& c) {
    LockNetworks(c, d);
    std::optional<NetworkRow> net = ReadNetwork(c, d, network_id, true);
    if (!net) NoNetwork(network_id);
    nlohmann::json released = nlohmann::json::array();
    for (const std::string& node : nodes) {
      Rows rows = c.Query(
          "SELECT port, address FROM network_addresses WHERE network_id = $1 AND node = $2 ORDER "
          "BY port",
          {network_id, node});
      if (rows.empty()) continue;
      c.Exec("DELETE FROM network_addresses WHERE network_id = $1 AND node = $2",
             {network_id, node});
      for (const Row& row : rows) {
        released.push_back({{"node", node}, {"port", Str(row[0])}, {"address", Str(row[1])}});
      }
    }
    if (!released.empty()) {
      const int64_t now = NowMillis();
      c.Exec("UPDATE tenant_networks SET updated_ms = $1 WHERE id = $2", {Num(now), network_id});
      AppendAudit(c, d, audit_, actor, "network.release", net->net.tenant, network_id,
                  {{"addresses", released}}, now);
    }
    return 0;
  });
  return r.ok() ? Status::Ok() : r.status();
}

Result<bool> Store::FreeNetworkIfEmpty(const std::string& network_id, const Actor& actor) {
  const Dialect d = pool_->dialect();
  return InTxn(*pool_, true, [&](SqlConn& c) {
    LockNetworks(c, d);
    std::optional<NetworkRow> net = ReadNetwork(c, d, network_id, true);
    if (!net) NoNetwork(network_id);
    if (!net->active) return false;
    Rows left =
        c.Query("SELECT COUNT(*) FROM network_addresses WHERE network_id = $1", {network_id});
    if (I64(left[0][0]) > 0) return false;
    const int64_t now = NowMillis();
    c.Exec("UPDATE tenant_networks SET state = 'freed', updated_ms = $1 WHERE id = $2",
           {Num(now), network_id});
    AppendAudit(c, d, audit_, actor, "network.free", net->net.tenant, network_id,
                {{"key", net->net.key}, {"vlan", net->net.vlan}, {"subnet", net->net.subnet}}, now);
    return true;
  });
}

Result<TenantNetwork> Store::GetNetwork(const std::string& id) {
  const Dialect d = pool_->dialect();
  return InTxn(*pool_, false, [&](SqlConn& c) {
    std::optional<NetworkRow> net = ReadNetwork(c, d, id, false);
    if (!net) NoNetwork(id);
    net->net.addresses = NetworkAddresses(c, id);
    return net->net;
  });
}

Result<std::vector<TenantNetwork>> Store::ListNetworks(const std::string& scope) {
  return InTxn(*pool_, false, [&](SqlConn& c) {
    std::vector<TenantNetwork> out;
    for (const Row& r : c.Query("SELECT " + std::string(kNetworkCols) +
                                    " FROM tenant_networks WHERE state = 'active' AND ($1 = '' OR "
                                    "tenant = $1) ORDER BY created_ms, id",
                                {scope})) {
      out.push_back(NetworkFromRow(r).net);
    }
    for (TenantNetwork& n : out) n.addresses = NetworkAddresses(c, n.id);
    return out;
  });
}

}  // namespace topoplace
