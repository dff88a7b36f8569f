#include "inventory/migrations.h"

#include <chrono>
#include <string>

namespace topoplace {
namespace {

// v1: the whole state. Times are milliseconds since the epoch from the server's clock; ids are
// made by the store. A node's `holder` is the reservation or allocation holding it, `tenant` the
// tenant, `generation` moves on every change of the row.
constexpr std::string_view kV1 = R"sql(
CREATE TABLE store_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE inventory_doc (id INTEGER PRIMARY KEY, yaml TEXT NOT NULL, version BIGINT NOT NULL);
CREATE TABLE nodes (
  name TEXT PRIMARY KEY,
  ord INTEGER NOT NULL,
  node_class TEXT NOT NULL,
  state TEXT NOT NULL,
  tenant TEXT NOT NULL DEFAULT '',
  holder TEXT NOT NULL DEFAULT '',
  generation BIGINT NOT NULL,
  gpus BIGINT NOT NULL,
  cpu_cores BIGINT NOT NULL,
  memory_gib DOUBLE PRECISION NOT NULL,
  storage_gib DOUBLE PRECISION NOT NULL,
  cost_per_hour DOUBLE PRECISION NOT NULL
);
CREATE INDEX nodes_by_tenant ON nodes (tenant);
CREATE INDEX nodes_by_holder ON nodes (holder);
CREATE TABLE tenants (
  name TEXT PRIMARY KEY,
  ord INTEGER NOT NULL,
  quota_nodes BIGINT,
  quota_gpus BIGINT,
  quota_cpu_cores BIGINT,
  quota_memory_gib DOUBLE PRECISION,
  quota_storage_gib DOUBLE PRECISION,
  compliance TEXT NOT NULL,
  budget_per_hour DOUBLE PRECISION,
  alert_at TEXT NOT NULL
);
CREATE TABLE reservations (
  id TEXT PRIMARY KEY,
  tenant TEXT NOT NULL,
  name TEXT NOT NULL,
  request TEXT NOT NULL,
  status TEXT NOT NULL,
  created_ms BIGINT NOT NULL,
  expires_ms BIGINT NOT NULL,
  updated_ms BIGINT NOT NULL,
  allocation_id TEXT NOT NULL DEFAULT '',
  cost_per_hour DOUBLE PRECISION NOT NULL,
  created_by TEXT NOT NULL
);
CREATE INDEX reservations_by_expiry ON reservations (status, expires_ms);
CREATE INDEX reservations_by_tenant ON reservations (tenant);
CREATE TABLE reservation_nodes (
  reservation_id TEXT NOT NULL,
  node TEXT NOT NULL,
  generation BIGINT NOT NULL,
  rule TEXT NOT NULL,
  PRIMARY KEY (reservation_id, node)
);
CREATE TABLE allocations (
  id TEXT PRIMARY KEY,
  tenant TEXT NOT NULL,
  name TEXT NOT NULL,
  request TEXT NOT NULL,
  status TEXT NOT NULL,
  created_ms BIGINT NOT NULL,
  released_ms BIGINT NOT NULL DEFAULT 0,
  reservation_id TEXT NOT NULL DEFAULT '',
  cost_per_hour DOUBLE PRECISION NOT NULL,
  created_by TEXT NOT NULL
);
CREATE INDEX allocations_by_tenant ON allocations (tenant);
CREATE TABLE allocation_nodes (
  allocation_id TEXT NOT NULL,
  node TEXT NOT NULL,
  rule TEXT NOT NULL,
  PRIMARY KEY (allocation_id, node)
);
CREATE TABLE clusters (
  id TEXT PRIMARY KEY,
  tenant TEXT NOT NULL,
  name TEXT NOT NULL,
  purpose TEXT NOT NULL,
  allocation_id TEXT NOT NULL,
  status TEXT NOT NULL,
  steps TEXT NOT NULL,
  created_ms BIGINT NOT NULL,
  updated_ms BIGINT NOT NULL
);
CREATE INDEX clusters_by_tenant ON clusters (tenant);
CREATE TABLE api_tokens (
  hash TEXT PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  tenant TEXT NOT NULL,
  role TEXT NOT NULL,
  created_ms BIGINT NOT NULL,
  created_by TEXT NOT NULL
);
CREATE TABLE audit_log (
  seq BIGINT PRIMARY KEY,
  at_ms BIGINT NOT NULL,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  tenant TEXT NOT NULL,
  subject TEXT NOT NULL,
  detail TEXT NOT NULL,
  prev_hash TEXT NOT NULL,
  hash TEXT NOT NULL
);
CREATE TABLE audit_head (id INTEGER PRIMARY KEY, seq BIGINT NOT NULL, hash TEXT NOT NULL);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '');
INSERT INTO store_meta (key, value) VALUES ('state_version', '0');
)sql";

// v2: audit queries by tenant and time window.
constexpr std::string_view kV2 = R"sql(
CREATE INDEX audit_by_tenant ON audit_log (tenant, seq);
CREATE INDEX audit_by_time ON audit_log (at_ms);
)sql";

// v3: which nodes each change touched, so a service's view refreshes only those.
constexpr std::string_view kV3 = R"sql(
CREATE TABLE node_changes (seq BIGINT NOT NULL, node TEXT NOT NULL);
CREATE INDEX node_changes_by_seq ON node_changes (seq);
INSERT INTO store_meta (key, value) VALUES ('node_changes_from', '0');
)sql";

// v4: the level a node's holder keeps to itself ("rack", "leaf", ...; a request's `exclusive`), so
// every service keeps other tenants out of those domains.
constexpr std::string_view kV4 = R"sql(
ALTER TABLE nodes ADD COLUMN exclusive TEXT NOT NULL DEFAULT '';
)sql";

// v5: the audit chain keyed outside the database (audit.h): which entries carry an HMAC, the
// head's seal and the key's public id; token expiry, revocation and last use; indexes for the
// list pages (keyset pagination in creation order).
constexpr std::string_view kV5 = R"sql(
ALTER TABLE audit_log ADD COLUMN keyed INTEGER NOT NULL DEFAULT 0;
ALTER TABLE audit_head ADD COLUMN seal TEXT NOT NULL DEFAULT '';
ALTER TABLE audit_head ADD COLUMN keyed_from BIGINT NOT NULL DEFAULT 0;
ALTER TABLE audit_head ADD COLUMN key_id TEXT NOT NULL DEFAULT '';
ALTER TABLE api_tokens ADD COLUMN expires_ms BIGINT NOT NULL DEFAULT 0;
ALTER TABLE api_tokens ADD COLUMN revoked_ms BIGINT NOT NULL DEFAULT 0;
ALTER TABLE api_tokens ADD COLUMN last_used_ms BIGINT NOT NULL DEFAULT 0;
CREATE INDEX reservations_by_created ON reservations (created_ms, id);
CREATE INDEX allocations_by_created ON allocations (created_ms, id);
CREATE INDEX clusters_by_created ON clusters (created_ms, id);
)sql";

// v6: plans and the tenant networks they build (DESIGN.md section 6). A plan's steps are one row
// each, so the runner persists a transition by writing one row; a network's VLAN and subnet are
// unique among active networks (partial indexes: a freed network gives both back), and so is an
// address within its network.
constexpr std::string_view kV6 = R"sql(
CREATE TABLE plans (
  id TEXT PRIMARY KEY,
  allocation_id TEXT NOT NULL,
  tenant TEXT NOT NULL,
  purpose TEXT NOT NULL,
  status TEXT NOT NULL,
  network_id TEXT NOT NULL DEFAULT '',
  error TEXT NOT NULL DEFAULT '',
  milestones TEXT NOT NULL DEFAULT '[]',
  created_ms BIGINT NOT NULL,
  updated_ms BIGINT NOT NULL
);
CREATE INDEX plans_by_tenant ON plans (tenant, created_ms, id);
CREATE INDEX plans_by_status ON plans (status);
CREATE INDEX plans_by_allocation ON plans (allocation_id, created_ms);
CREATE TABLE plan_steps (
  plan_id TEXT NOT NULL,
  step_id TEXT NOT NULL,
  ord INTEGER NOT NULL,
  layer TEXT NOT NULL,
  driver TEXT NOT NULL,
  action TEXT NOT NULL,
  node TEXT NOT NULL,
  phase TEXT NOT NULL,
  after_ids TEXT NOT NULL,
  state TEXT NOT NULL,
  attempts INTEGER NOT NULL,
  log_line TEXT NOT NULL,
  started_ms BIGINT NOT NULL,
  updated_ms BIGINT NOT NULL,
  PRIMARY KEY (plan_id, step_id)
);
CREATE TABLE tenant_networks (
  id TEXT PRIMARY KEY,
  tenant TEXT NOT NULL,
  net_key TEXT NOT NULL,
  vlan INTEGER NOT NULL,
  subnet TEXT NOT NULL,
  gateway TEXT NOT NULL,
  state TEXT NOT NULL,
  created_ms BIGINT NOT NULL,
  updated_ms BIGINT NOT NULL
);
CREATE UNIQUE INDEX tenant_networks_active_key ON tenant_networks (tenant, net_key)
  WHERE state = 'active';
CREATE UNIQUE INDEX tenant_networks_active_vlan ON tenant_networks (vlan) WHERE state = 'active';
CREATE UNIQUE INDEX tenant_networks_active_subnet ON tenant_networks (subnet)
  WHERE state = 'active';
CREATE TABLE network_addresses (
  network_id TEXT NOT NULL,
  node TEXT NOT NULL,
  port TEXT NOT NULL,
  mac TEXT NOT NULL,
  address TEXT NOT NULL,
  PRIMARY KEY (network_id, node, port)
);
CREATE UNIQUE INDEX network_addresses_unique ON network_addresses (network_id, address);
)sql";

// v7: tenant projects (DESIGN.md section 6a). A tenant's projects with their quotas live with
// the tenant (JSON text); reservations, allocations, clusters and plans name the project they
// belong to, and a held node its holder's, so a project's use is summed as a tenant's is ('' =
// the tenant's default project: every row from before v7). A token may be bound to one project
// (NULL = the whole tenant). A plan keeps how the tenant reaches its cluster (access, JSON text).
constexpr std::string_view kV7 = R"sql(
ALTER TABLE tenants ADD COLUMN projects TEXT NOT NULL DEFAULT '[]';
ALTER TABLE nodes ADD COLUMN project TEXT NOT NULL DEFAULT '';
ALTER TABLE reservations ADD COLUMN project TEXT NOT NULL DEFAULT '';
ALTER TABLE allocations ADD COLUMN project TEXT NOT NULL DEFAULT '';
ALTER TABLE clusters ADD COLUMN project TEXT NOT NULL DEFAULT '';
ALTER TABLE plans ADD COLUMN project TEXT NOT NULL DEFAULT '';
ALTER TABLE plans ADD COLUMN access TEXT NOT NULL DEFAULT '{}';
ALTER TABLE api_tokens ADD COLUMN project TEXT;
CREATE INDEX nodes_by_tenant_project ON nodes (tenant, project);
)sql";

// v8: preemption (DESIGN.md section 8). Allocations and reservations carry the priority of their
// request (0 for rows from before v8, as for a request that names none); an evicted allocation
// keeps the reservation that took its nodes and that reservation's tenant. A preempting request's
// solve reads the active allocations below its priority: an index for that.
constexpr std::string_view kV8 = R"sql(
ALTER TABLE allocations ADD COLUMN priority INTEGER NOT NULL DEFAULT 0;
ALTER TABLE allocations ADD COLUMN evicted_by TEXT NOT NULL DEFAULT '';
ALTER TABLE allocations ADD COLUMN evicted_by_tenant TEXT NOT NULL DEFAULT '';
ALTER TABLE reservations ADD COLUMN priority INTEGER NOT NULL DEFAULT 0;
CREATE INDEX allocations_by_status_priority ON allocations (status, priority);
)sql";

constexpr Migration kMigrations[] = {
    {1, "state, tenants, reservations, allocations, clusters, tokens, audit", kV1},
    {2, "audit indexes", kV2},
    {3, "node change log", kV3},
    {4, "exclusive holds", kV4},
    {5, "keyed audit chain, token expiry and revocation, list pages", kV5},
    {6, "plans, plan steps, tenant networks and their addresses", kV6},
    {7,
     "tenant projects: quotas, the project of holds, allocations, clusters, plans and tokens; "
     "plan access",
     kV7},
    {8, "preemption: the priority of allocations and reservations, who evicted an allocation", kV8},
};

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

std::span<const Migration> SchemaMigrations() { return kMigrations; }
int LatestSchemaVersion() { return kMigrations[std::size(kMigrations) - 1].version; }

Result<int> ApplyMigrations(sql::SqlPool& pool) {
  try {
    auto conn = pool.Acquire();
    conn->Begin(/*write=*/true);
    try {
      if (pool.dialect() == sql::Dialect::kPostgres) {
        // Two servers starting on one database: the second waits here, then finds nothing to do.
        conn->Query("SELECT pg_advisory_xact_lock(7310541)");
      }
      conn->ExecScript(
          "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, "
          "name TEXT NOT NULL, applied_ms BIGINT NOT NULL)");
      int current = 0;
      for (const auto& row : conn->Query("SELECT version FROM schema_migrations")) {
        current = std::max(current, std::stoi(row[0].value_or("0")));
      }
      if (current > LatestSchemaVersion()) {
        conn->Rollback();
        return FailedPreconditionError("store: the database schema is at version " +
                                       std::to_string(current) + ", newer than this binary's " +
                                       std::to_string(LatestSchemaVersion()) +
                                       "; run a newer topoplace");
      }
      for (const Migration& m : kMigrations) {
        if (m.version <= current) continue;
        conn->ExecScript(m.sql);
        conn->Exec("INSERT INTO schema_migrations (version, name, applied_ms) VALUES ($1, $2, $3)",
                   {std::to_string(m.version), std::string(m.name), std::to_string(NowMs())});
        current = m.version;
      }
      conn->Commit();
      return current;
    } catch (...) {
      conn->Rollback();
      throw;
    }
  } catch (const sql::SqlError& e) {
    return Status(e.kind() == sql::SqlError::Kind::kUnavailable ? StatusCode::kUnavailable
                                                                : StatusCode::kInternal,
                  std::string("store: migrating the schema failed: ") + e.what());
  }
}

}  // namespace topoplace
