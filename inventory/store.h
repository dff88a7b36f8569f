// The store: the service's source of truth, in an embedded file or on a database server.
//
// One interface over two backends: `Store::Open("")` or a path opens (and creates) the embedded
// file, `Store::Open("postgresql://...")` a database server several service replicas can share.
// Opening applies the versioned schema migrations (inventory/migrations.h), the same for both.
//
// What it keeps: the inventory (its scenario YAML, parsed by the service into a snapshot), one row
// per node with its state, holder and generation, tenants with quotas and budgets, reservations
// (nodes held for a tenant until a deadline), allocations, clusters, plans with one row per step
// (model/plan.h), tenant networks with their addresses, API tokens (SHA-256 hashes only) and the
// hash-chained audit log (inventory/audit.h).
//
// Every change is one database transaction that also appends its audit entry: it happens whole or
// not at all. Holding nodes is optimistic, as in the design's section 5: the caller solves against
// a snapshot and passes each node's generation as it saw it; the transaction fails with kAborted
// (code "generation_conflict") when any generation moved or the node is no longer free, and no
// node is ever held by two holders however many processes race. Quotas and budgets are checked
// again inside the holding transaction under a per-tenant lock, so two racing requests of one
// tenant cannot together exceed them. Expired reservations are released by ExpireReservations(),
// which the service runs at start and then every second, so holds expire across restarts too.
//
// Preemption (DESIGN.md section 8): allocations and reservations carry their request's priority.
// Holdings() reads the active allocations a preempting request may evict, and a hold that names
// victims (HoldRequest::evictions) releases them in its own transaction before taking their
// nodes, each victim's nodes checked at the generations the caller solved against, its rights
// (scope, lower priority) checked again under lock, each eviction audited ("allocation.evict")
// with the hold and request that caused it.
//
// Projects (DESIGN.md section 6a): every reservation, allocation, cluster and plan belongs to one
// project of its tenant ("" = the tenant's default project); a hold names it (HoldRequest::project)
// and its nodes count against the project's quota as well as the tenant's, checked in the same
// transaction under the same tenant lock. A Scope may narrow a caller to one project.
//
// Errors: kNotFound for ids that do not exist or lie outside the caller's scope (callers pass a
// Scope; other tenants' and projects' things are indistinguishable from missing ones), kAborted for
// lost races and moved generations, kFailedPrecondition for a quota, budget or state that forbids
// the change, kUnavailable when the database cannot be reached. Every failure carries a stable
// Status::reason() ("generation_conflict", "exclusive_conflict", "store_unavailable", ...) that
// the HTTP layer exposes as `code`. Messages of client-caused failures name only what the caller
// may see (never another tenant or its nodes); messages of kUnavailable/kInternal may carry the
// driver's words and are for logs, not for clients.
//
// Races the database settles (a deadlock, a serialization failure) are retried inside the store
// a few times with a small jittered backoff; a connection found broken (a database restart) is
// replaced and the transaction run again once, when it cannot have committed. Every path that
// locks node rows locks them in name order.
//
// Thread safety: a Store is safe to use from many threads; it keeps a pool of connections.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "inventory/audit.h"
#include "model/entities.h"
#include "model/plan.h"
#include "model/scenario.h"
#include "model/status.h"

namespace topoplace {

namespace sql {
class SqlPool;
}

// Who is acting, for the audit log and for scoping.
struct Actor {
  std::string id;      // "token:1a2b3c4d", "cli", "system"
  std::string role;    // provider-admin, tenant-admin, tenant-member, auditor, system
  std::string tenant;  // the tenant a tenant role is bound to, else empty
  std::string Describe() const;
};

// The name the store keeps a project under: "" for the tenant's default project (which callers
// may name "" or "default"), any other name as it is. Records carry this name.
inline std::string StoredProjectName(std::string_view project) {
  return project == kDefaultProject ? std::string() : std::string(project);
}

// Whose records a call may see and touch: every tenant's (empty tenant: providers), one tenant's,
// or one project of one tenant's (a token bound to a project). A tenant name converts to its
// tenant-wide scope.
struct Scope {
  Scope() = default;
  Scope(std::string tenant_name) : tenant(std::move(tenant_name)) {}  // NOLINT: tenant-wide
  Scope(const char* tenant_name) : tenant(tenant_name) {}             // NOLINT: tenant-wide
  static Scope OfProject(std::string tenant_name, std::string project_name) {
    Scope s(std::move(tenant_name));
    s.project = StoredProjectName(project_name);
    return s;
  }
  std::string tenant;                  // empty = every tenant
  std::optional<std::string> project;  // set = only this project of `tenant` (StoredProjectName)
  bool Admits(const std::string& record_tenant, const std::string& record_project) const {
    return (tenant.empty() || record_tenant == tenant) && (!project || record_project == *project);
  }
};

// OK when `project` names a project of `tenant` (its default project "" or "default", or one it
// declares); else kInvalidArgument "unknown_reference", naming it and listing the tenant's
// projects.
Status CheckProjectOf(const Tenant& tenant, std::string_view project);

struct NodeRecord {
  std::string name;
  NodeState state = NodeState::kAvailable;
  std::string tenant;   // the node's holder: the tenant holding it, else empty
  std::string holding;  // the reservation or allocation holding it (its id), else empty
  int64_t generation = 0;
  std::string exclusive;  // the level its holder keeps to itself ("rack", "leaf"), else empty
};

// The mutable state a snapshot is built from.
struct StoreState {
  int64_t state_version = 0;      // moves on every committed change of nodes or tenants
  int64_t inventory_version = 0;  // moves when a new inventory is imported
  int64_t audit_seq = 0;          // the audit head this state is as of
  std::vector<NodeRecord> nodes;  // in inventory order
  std::vector<Tenant> tenants;
};

// A node held by a reservation or allocation, and the rule that admitted it (for the audit log).
struct HeldNode {
  std::string node;
  int64_t generation = 0;  // the node's generation after the hold
  std::string rule;
};

// What became of a reservation; the store keeps the names below.
enum class ReservationStatus { kHeld, kCommitted, kCancelled, kExpired };
std::string_view ReservationStatusName(ReservationStatus s);  // "held", "committed", ...
std::optional<ReservationStatus> ParseReservationStatus(std::string_view s);

// An allocation holds its nodes until it is released.
enum class AllocationStatus { kActive, kReleased };
std::string_view AllocationStatusName(AllocationStatus s);  // "active", "released"
std::optional<AllocationStatus> ParseAllocationStatus(std::string_view s);

struct AllocationRecord;

// A node the caller wants to hold, with the generation it saw when it solved.
struct NodeClaim {
  std::string node;
  int64_t expected_generation = 0;
  std::string rule;
};

struct ReservationRecord {
  std::string id;
  std::string tenant;
  std::string project;  // StoredProjectName: "" = the tenant's default project
  std::string name;
  std::string request;  // the request as the service received it (JSON text), for re-solves
  ReservationStatus status = ReservationStatus::kHeld;
  int64_t created_ms = 0;
  int64_t expires_ms = 0;
  int64_t updated_ms = 0;
  std::string allocation_id;  // once committed
  double cost_per_hour = 0;
  std::string created_by;
  std::vector<HeldNode> nodes;
  int priority = 0;  // its request's; the allocation it becomes keeps it
  // The allocations its hold evicted (only in the answer of the call that made it).
  std::vector<AllocationRecord> evicted;
};

struct AllocationRecord {
  std::string id;
  std::string tenant;
  std::string project;  // "" = the tenant's default project
  std::string name;
  std::string request;
  AllocationStatus status = AllocationStatus::kActive;
  int64_t created_ms = 0;
  int64_t released_ms = 0;
  std::string reservation_id;
  double cost_per_hour = 0;
  std::string created_by;
  std::vector<HeldNode> nodes;
  // What a preempting request weighs it by (DESIGN.md section 8): its request's priority, or the
  // scenario allocation's when imported; 0 when neither says.
  int priority = 0;
  // Set when a preempting request evicted it: the reservation that took its nodes, and that
  // reservation's tenant (an answer to another tenant names neither).
  std::string evicted_by;
  std::string evicted_by_tenant;
};

// An active allocation as a preempting request's solve sees it: who holds which nodes, at what
// priority (Store::Holdings).
struct HoldingRecord {
  std::string id;
  std::string tenant;
  std::string project;  // StoredProjectName
  int priority = 0;
  std::vector<std::string> nodes;  // node names, sorted
};

// An allocation a hold evicts to take its nodes: every node it holds, each at the generation the
// caller solved against. The hold's transaction refuses (kAborted "generation_conflict") when the
// allocation is no longer active, holds other nodes, or any of them moved.
struct EvictionClaim {
  std::string allocation;
  std::vector<NodeClaim> nodes;
};

// Whose allocations a hold may evict, checked again inside its transaction: of priority strictly
// below `below_priority`, within `scope` (a tenant, one project of it, or every tenant).
struct EvictionRights {
  int below_priority = 0;
  Scope scope;
};

struct ClusterRecord {
  std::string id;
  std::string tenant;
  std::string project;  // its allocation's
  std::string name;
  std::string purpose;
  std::string allocation_id;
  std::string status;   // allocated | released | ...
  std::string steps;    // JSON text: the plan's steps and their states
  std::string plan_id;  // the plan carrying it out, when one was made with it (not stored here)
  int64_t created_ms = 0;
  int64_t updated_ms = 0;
};

// A node in the rack or leaf of a claimed node. A hold locks these too and refuses (kAborted
// "exclusive_conflict") to enter a domain another tenant keeps to itself, or, for an exclusive
// hold, a domain another tenant holds nodes in: a check the solver made on a view that a racing
// hold may have changed since.
struct NeighbourNode {
  std::string node;
  bool same_rack = false;
  bool same_leaf = false;
};

struct HoldRequest {
  std::string tenant;
  std::string project;  // the request's project of `tenant`; "" = the default project
  std::string name;
  std::string request;  // JSON text
  std::vector<NodeClaim> nodes;
  std::string exclusive;  // the request's exclusive level ("rack", ...), else empty
  std::vector<NeighbourNode> neighbours;
  double cost_per_hour = 0;
  int64_t now_ms = 0;
  int64_t ttl_ms = 0;  // reservations only
  int priority = 0;    // the request's: the allocation made from the hold keeps it
  // A preempting request's victims (DESIGN.md section 8): released in the hold's transaction,
  // before its nodes are held, each audited ("allocation.evict") naming the hold and its request.
  // Each must be allowed by `eviction_rights`, else kPermissionDenied "preemption_not_allowed".
  std::vector<EvictionClaim> evictions;
  EvictionRights eviction_rights;
};

struct TokenRecord {
  std::string id;  // public short id (not secret), shown in the audit log
  std::string tenant;
  std::string role;
  std::optional<std::string> project;  // set: bound to this project of `tenant`
  int64_t created_ms = 0;
  int64_t expires_ms = 0;    // 0 = never
  int64_t revoked_ms = 0;    // 0 = not revoked
  int64_t last_used_ms = 0;  // 0 = never; kept to the minute
  std::string created_by;
};

// One page of a list. `next_page_token` is empty on the last page; `total` counts every item the
// list holds for the caller (all pages).
template <typename T>
struct Page {
  std::vector<T> items;
  std::string next_page_token;
  int64_t total = 0;
};

// Which page: at most `limit` items after the position `page_token` (from the page before; empty
// = the first page) encodes. Tokens are opaque to clients; a token this store did not make, or
// one made for another list, is kInvalidArgument (reason "bad_page_token").
struct PageRequest {
  int limit = 100;
  std::string page_token;
};
inline constexpr int kMaxPageLimit = 1000;

// Opaque page tokens: `list` names the list a token belongs to, `key` the last item's sort key.
std::string EncodePageToken(std::string_view list, std::string_view key);
Result<std::string> DecodePageToken(std::string_view list, std::string_view token);

struct AuditQuery {
  int64_t after_seq = 0;
  int limit = 100;
  std::string tenant;  // empty = all
};

// The usage a tenant holds in the store (reserved + allocated nodes).
struct StoredUsage {
  TenantUsage held;
  TenantUsage reserved;  // the part of `held` that is only reserved
  int64_t reservations = 0;
  int64_t allocations = 0;
  // `held` by project ("" = the default project): only projects that hold something.
  std::map<std::string, TenantUsage> held_by_project;
};

// kCreate makes the store (an embedded file, the schema) when it is missing; kExisting opens only
// a store that exists (an embedded file that is there; a server database always exists) and fails
// with kUnavailable (reason "no_store") otherwise, creating nothing: for commands that only read.
enum class OpenMode { kCreate, kExisting };

struct StoreOptions {
  int pool_size = 8;
  OpenMode mode = OpenMode::kCreate;
  // The audit key file (audit.h); empty = DefaultAuditKeyFile(url). In kCreate mode a missing key
  // is made and the store's log keyed with it from then on; in kExisting mode a missing key is
  // not made (verification then reports keyed entries it cannot check, and writes to a keyed
  // store fail with reason "audit_key_missing").
  std::string audit_key_file;
  bool no_audit_key = false;  // use no key at all (older stores' behaviour; tools and tests)
};

// The audit key as a store holds it (internal to the store).
struct AuditKeyState {
  std::string key;         // raw bytes; empty = none given
  bool keyed = false;      // the store's log is keyed: later entries must be keyed too
  bool wrong = false;      // a key was given, but the log is keyed with another
  int64_t keyed_from = 0;  // the first keyed entry
  // The key writers sign with: only once the log is keyed, and only with its own key.
  std::string_view usable() const { return keyed && !wrong ? std::string_view(key) : ""; }
};

class Store {
 public:
  // `url`: empty -> "./topoplace.db"; "postgresql://..." or "postgres://..." -> the server;
  // "sqlite:PATH" or any other text -> the embedded file at that path.
  static Result<std::unique_ptr<Store>> Open(const std::string& url, int pool_size = 8);
  static Result<std::unique_ptr<Store>> Open(const std::string& url, const StoreOptions& options);
  // Where the audit key of the store at `url` is kept by default: beside an embedded file
  // ("<file>.audit-key"); for a database server $TOPOPLACE_AUDIT_KEY, else
  // $XDG_CONFIG_HOME/topoplace/audit-key, else ~/.config/topoplace/audit-key (every replica of a
  // service needs the same key: give each the same file).
  static std::string DefaultAuditKeyFile(const std::string& url);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  const std::string& kind() const { return kind_; }  // "sqlite" | "postgresql"
  int schema_version() const { return schema_version_; }

  // --- inventory -----------------------------------------------------------------------------
  Result<bool> HasInventory();
  // Replaces the inventory, tenants and allocations with the scenario's; reservations, other
  // allocations, clusters, plans and tenant networks are dropped. Refuses (kFailedPrecondition)
  // while anything is held through the service unless `force`. Tokens and the audit log stay.
  Status Import(const Scenario& scenario, const Actor& actor, int64_t now_ms, bool force);
  // The inventory with current node states, tenants and active allocations.
  Result<Scenario> Export();
  Result<std::string> InventoryYaml(int64_t& version);
  Result<int64_t> StateVersion();
  Result<StoreState> LoadState();
  // The nodes changed after audit entry `after_seq` (in `nodes`, any order) and all tenants, as of
  // one consistent moment. `full` is set (and nodes holds every node) when the change log no longer
  // reaches back that far or the inventory was replaced.
  struct Changes {
    StoreState state;
    bool full = false;
  };
  Result<Changes> ChangesSince(int64_t after_seq, int64_t inventory_version);

  // --- holding nodes -------------------------------------------------------------------------
  // With `hold.evictions`, the victims are released in the same transaction (ReservationRecord's
  // `evicted` lists them as released).
  Result<ReservationRecord> Reserve(const HoldRequest& hold, const Actor& actor);
  // Turns a held reservation into an allocation. kAborted "reservation_expired" past its deadline,
  // "generation_conflict" when its nodes moved, kFailedPrecondition "reservation_not_held" when it
  // was committed, cancelled or expired already.
  Result<AllocationRecord> Commit(const std::string& reservation_id, const Scope& scope,
                                  const Actor& actor, int64_t now_ms);
  Result<ReservationRecord> Cancel(const std::string& reservation_id, const Scope& scope,
                                   const Actor& actor, int64_t now_ms);
  Result<AllocationRecord> Release(const std::string& allocation_id, const Scope& scope,
                                   const Actor& actor, int64_t now_ms);
  // Holds and commits at once and records a cluster for the allocation.
  // With `plan`, also records the plan that carries the cluster out (its allocation and tenant set
  // to the new allocation's), in the same transaction.
  Result<ClusterRecord> CreateCluster(const HoldRequest& hold, const std::string& purpose,
                                      const std::string& steps, const Actor& actor,
                                      const Plan* plan = nullptr);
  // Swaps a node of an active allocation that failed for good (its BMC does not answer, it never
  // booted) for `replacement`, held as any hold is: free at the generation the caller solved
  // against (else kAborted "generation_conflict"), no domain another tenant keeps exclusive shared
  // with `neighbours` (its rack and leaf; kAborted "exclusive_conflict"), within the tenant's quota
  // and budget. The failed node becomes `failed` and leaves the pool. Audited as
  // "allocation.replace-node" with the reason. kNotFound for an unknown allocation,
  // kFailedPrecondition when it is not active or does not hold `old_node`.
  Result<AllocationRecord> ReplaceAllocationNode(const std::string& allocation_id,
                                                 const std::string& old_node,
                                                 const NodeClaim& replacement,
                                                 const std::vector<NeighbourNode>& neighbours,
                                                 const std::string& why, const Actor& actor,
                                                 int64_t now_ms);
  // Releases every reservation past its deadline; returns how many.
  Result<int> ExpireReservations(int64_t now_ms);

  // `scope` limits the answer to a tenant, or one project of it; empty sees all.
  Result<ReservationRecord> GetReservation(const std::string& id, const Scope& scope);
  Result<std::vector<ReservationRecord>> ListReservations(const Scope& scope, bool all);
  // Pages in creation order, the SQL bounded by the page size.
  Result<Page<ReservationRecord>> ListReservationsPage(const Scope& scope, bool all,
                                                       const PageRequest& page);
  Result<AllocationRecord> GetAllocation(const std::string& id, const Scope& scope);
  Result<std::vector<AllocationRecord>> ListAllocations(const Scope& scope, bool all);
  Result<Page<AllocationRecord>> ListAllocationsPage(const Scope& scope, bool all,
                                                     const PageRequest& page);
  Result<ClusterRecord> GetCluster(const std::string& id, const Scope& scope);
  Result<std::vector<ClusterRecord>> ListClusters(const Scope& scope);
  Result<Page<ClusterRecord>> ListClustersPage(const Scope& scope, const PageRequest& page);
  Result<StoredUsage> UsageOf(const std::string& tenant);
  // What each project of `tenant` holds (reserved or allocated), by StoredProjectName; projects
  // that hold nothing are absent. One query: for the solver's per-project headroom.
  Result<std::map<std::string, TenantUsage>> HeldByProject(const std::string& tenant);
  // The active allocations within `scope` of priority strictly below `below_priority`, each with
  // its nodes: the holdings a preempting request may evict. One query; callers without
  // `preemption:` never make it.
  Result<std::vector<HoldingRecord>> Holdings(const Scope& scope, int below_priority);

  // --- plans (DESIGN.md section 6) ---------------------------------------------------------
  // The runner persists every step transition here, so a restarted runner resumes where the last
  // one stopped. Each call is one transaction. Plans are scoped like allocations: `scope` is a
  // tenant or one project of it (whose view holds only its own plans; others' are kNotFound
  // "plan_not_found") or "" for providers. A plan keeps its project and its access (how the
  // tenant reaches the cluster) with it.
  //
  // Records a new plan with its steps (in order) and milestones. An empty id is made by the store
  // ("pln-..."); an id that exists is kAlreadyExists "plan_exists". Zero times become now.
  Result<Plan> CreatePlan(const Plan& plan, const Actor& actor);
  // Writes one step: an update of the step with that id, or a new step appended after the plan's
  // others (replacements, teardown). Audited ("plan.step": the plan, step, state and log line)
  // when the step becomes done, failed or compensated.
  Status SaveStep(const std::string& plan_id, const PlanStep& step, const Actor& actor);
  // Writes the plan's status, network, error, milestones, access and updated_ms (0 = now; not its
  // steps or its project).
  // Audited ("plan.status") when the status changes.
  Status SavePlanHeader(const Plan& plan, const Actor& actor);
  Result<Plan> GetPlan(const std::string& id, const Scope& scope);
  // In creation order; `unfinished_only`: only PROGRESSING and DELETING plans (what a runner
  // picks up at start).
  Result<std::vector<Plan>> ListPlans(const Scope& scope, bool unfinished_only);
  // The latest plan carrying out the allocation; kNotFound "plan_not_found" when none.
  Result<Plan> PlanOfAllocation(const std::string& allocation_id);
  // The allocations a preempting hold evicted whose latest plan is not DELETED: their teardown
  // was not started (the process stopped right after the eviction). The service starts it.
  Result<std::vector<std::string>> EvictedWithLivePlans();

  // --- tenant networks (IPAM) ----------------------------------------------------------------
  // VLANs, subnets and addresses are handed out inside one transaction under a store-wide lock,
  // so two plans, on any replica, never get the same VLAN, subnet or address.
  //
  // The active network of `tenant` named `key`, made if there is none: the lowest VLAN of the
  // policy's tenant range and the first subnet of its pool (of the policy's prefix length) that
  // no active network uses, its gateway the subnet's first host. Each wanted (node, port, mac)
  // gets an address: the one it has already (repeating a call changes nothing; a new MAC for the
  // port is recorded), else the lowest free host after the gateway. Returns the network with all
  // its addresses. kResourceExhausted
  // ("no_free_vlan", "no_free_subnet", "no_free_address") when the policy's ranges are used up,
  // kInvalidArgument ("bad_network_policy") for a policy that cannot be used. Audited
  // ("network.acquire") when it made the network or gave out an address.
  Result<TenantNetwork> AcquireNetwork(const std::string& tenant, const std::string& key,
                                       const NetworkPolicy& policy,
                                       const std::vector<NodeAddress>& wanted, const Actor& actor);
  // Gives back every address the named nodes hold on the network (any port). Nodes without one
  // are ignored; an unknown network is kNotFound "network_not_found".
  Status ReleaseAddresses(const std::string& network_id, const std::vector<std::string>& nodes,
                          const Actor& actor);
  // Frees the network's VLAN and subnet when no address is left on it; returns whether it freed
  // them now (false: addresses remain, or it was freed before).
  Result<bool> FreeNetworkIfEmpty(const std::string& network_id, const Actor& actor);
  // A network, active or freed (a freed one has no addresses).
  Result<TenantNetwork> GetNetwork(const std::string& id);
  // The active networks, of one tenant or ("" scope) all, in creation order.
  Result<std::vector<TenantNetwork>> ListNetworks(const std::string& scope);

  // --- tokens --------------------------------------------------------------------------------
  // Creates a token and returns its secret, which is never stored and cannot be shown again.
  // `expires_ms` 0 = never expires. With `project`, a tenant role's token is bound to that project
  // of its tenant (kInvalidArgument "unknown_reference" when the tenant has no such project).
  Result<std::string> CreateToken(const std::string& tenant, const std::string& role,
                                  const Actor& actor, int64_t now_ms, int64_t expires_ms = 0,
                                  const std::optional<std::string>& project = std::nullopt);
  // kNotFound (reason "token_unknown", "token_expired" or "token_revoked") unless the token is
  // live at `now_ms` (0 = the clock now). Notes the use, at most once a minute per token.
  Result<TokenRecord> LookupToken(const std::string& secret, int64_t now_ms = 0);
  // Every token, in creation order: ids, roles, tenants, times; never secrets or hashes.
  Result<std::vector<TokenRecord>> ListTokens();
  // Revokes a token by its public id at once (kNotFound "token_not_found"; revoking twice is
  // kFailedPrecondition "token_revoked"). Servers that cached it stop taking it within seconds.
  Result<TokenRecord> RevokeToken(const std::string& id, const Actor& actor, int64_t now_ms);
  Result<int64_t> TokenCount();

  // --- audit ---------------------------------------------------------------------------------
  Result<std::vector<AuditEntry>> ListAudit(const AuditQuery& query);
  Result<int64_t> CountAudit(const std::string& tenant);
  Result<AuditVerifyReport> VerifyAudit();
  // The audit key file in use ("" when none) and whether the log is keyed.
  const std::string& audit_key_file() const { return audit_key_file_; }

  // Round trip to the database: for health checks.
  Status Ping();

 private:
  Store(std::unique_ptr<sql::SqlPool> pool, std::string kind, int schema_version);
  Status LoadAuditState(const StoreOptions& options, const std::string& url);
  std::unique_ptr<sql::SqlPool> pool_;
  std::string kind_;
  int schema_version_ = 0;
  std::string audit_key_file_;
  AuditKeyState audit_;
};

// Appends the store's allocation records to `s` as scenario allocations (each with its recorded
// request, names made unique), applies them to the node states and indexes the inventory: what
// `Export` and a what-if over the service's state both need.
Status AddAllocationRecords(Scenario& s, const std::vector<AllocationRecord>& allocations);

int64_t NowMillis();

}  // namespace topoplace
