// The store suite, run against both backends: migrations, import/export, holding nodes with
// generations, quotas, expiry, scoping, tokens and the audit chain.
#include "inventory/store.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "inventory/migrations.h"
#include "inventory/scenario_codec.h"
#include "inventory/sql_backend.h"
#include "tests/service/databases.h"

namespace topoplace {
namespace {

using testing::NewStoreUrl;
using testing::PgTestScript;
using testing::RunSql;
using testing::Shell;
using testing::SourceDirectory;

const Actor kAdmin{"test", "provider-admin", ""};

Scenario MocSmall() {
  auto s = LoadScenarioFile(SourceDirectory() + "/scenarios/moc-small.yaml");
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  return *s;
}

class StoreTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    url_ = NewStoreUrl(GetParam());
    auto store = Store::Open(url_);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(store).value();
    ASSERT_TRUE(store_->Import(MocSmall(), kAdmin, NowMillis(), false).ok());
  }

  const NodeRecord& Node(const StoreState& s, const std::string& name) {
    for (const auto& n : s.nodes) {
      if (n.name == name) return n;
    }
    throw std::runtime_error("no node " + name);
  }

  HoldRequest Hold(const std::string& tenant, std::vector<std::string> nodes,
                   int64_t ttl_ms = 60000) {
    auto state = store_->LoadState();
    HoldRequest h;
    h.tenant = tenant;
    h.name = "job";
    h.request = "{}";
    h.now_ms = NowMillis();
    h.ttl_ms = ttl_ms;
    for (const auto& n : nodes) h.nodes.push_back({n, Node(*state, n).generation, "test rule"});
    return h;
  }

  std::string url_;
  std::unique_ptr<Store> store_;
};

TEST_P(StoreTest, MigratesOnceToTheLatestVersion) {
  EXPECT_EQ(store_->schema_version(), LatestSchemaVersion());
  EXPECT_EQ(store_->kind(), GetParam());
  store_.reset();
  auto again = Store::Open(url_);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ((*again)->schema_version(), LatestSchemaVersion());
  EXPECT_EQ(RunSql(url_, "SELECT COUNT(*) FROM schema_migrations"),
            std::to_string(SchemaMigrations().size()));
}

TEST_P(StoreTest, RefusesASchemaNewerThanTheBinary) {
  RunSql(url_, "INSERT INTO schema_migrations (version, name, applied_ms) VALUES (999, 'x', 0)");
  auto again = Store::Open(url_);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(again.status().message().find("newer"), std::string::npos);
}

TEST_P(StoreTest, ImportThenExportGivesTheSameScenario) {
  const Scenario original = MocSmall();
  auto exported = store_->Export();
  ASSERT_TRUE(exported.ok()) << exported.status().ToString();
  EXPECT_EQ(exported->inventory.nodes.size(), original.inventory.nodes.size());
  EXPECT_EQ(exported->tenants, original.tenants);
  ASSERT_EQ(exported->allocations.size(), original.allocations.size());
  for (size_t i = 0; i < original.inventory.nodes.size(); ++i) {
    EXPECT_EQ(exported->inventory.nodes[i], original.inventory.nodes[i]) << i;
  }
  // And the YAML it dumps loads back.
  auto reloaded = LoadScenarioString(DumpScenario(*exported), "export");
  ASSERT_TRUE(reloaded.ok()) << reloaded.status().ToString();
  EXPECT_EQ(reloaded->inventory, exported->inventory);
}

TEST_P(StoreTest, RecordedRequestsOfAllocationsSurviveImportAndExport) {
  // whatif-moc.yaml records the request each allocation was placed for; repairs of an exported
  // store keep those constraints only if the store keeps them.
  auto original = LoadScenarioFile(SourceDirectory() + "/scenarios/whatif-moc.yaml");
  ASSERT_TRUE(original.ok()) << original.status().ToString();
  size_t recorded = 0;
  for (const Allocation& a : original->allocations) recorded += a.request.has_value();
  ASSERT_GT(recorded, 0u);
  ASSERT_TRUE(store_->Import(*original, kAdmin, NowMillis(), true).ok());
  auto exported = store_->Export();
  ASSERT_TRUE(exported.ok()) << exported.status().ToString();
  const auto by_name = [](std::vector<Allocation> v) {
    std::sort(v.begin(), v.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
    for (Allocation& a : v) std::sort(a.nodes.begin(), a.nodes.end());
    return v;
  };
  const std::vector<Allocation> want = by_name(original->allocations);
  const std::vector<Allocation> got = by_name(exported->allocations);
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(got[i].name, want[i].name);
    EXPECT_EQ(got[i].nodes, want[i].nodes) << want[i].name;
    EXPECT_EQ(got[i].request, want[i].request) << want[i].name;
  }
  // Nodes a recorded request keeps to itself carry it in the store.
  auto state = store_->LoadState();
  for (const Allocation& a : original->allocations) {
    if (!a.request || !a.request->exclusive) continue;
    for (const auto& n : a.nodes)
      EXPECT_EQ(Node(*state, n).exclusive, LevelName(*a.request->exclusive)) << n;
  }
}

TEST_P(StoreTest, ReserveCommitReleaseMoveGenerations) {
  auto before = store_->LoadState();
  const int64_t g0 = Node(*before, "r03-n01").generation;
  auto r = store_->Reserve(Hold("nlp-lab", {"r03-n01", "r03-n02"}), kAdmin);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, ReservationStatus::kHeld);
  auto mid = store_->LoadState();
  EXPECT_EQ(Node(*mid, "r03-n01").state, NodeState::kReserved);
  EXPECT_EQ(Node(*mid, "r03-n01").generation, g0 + 1);
  EXPECT_EQ(Node(*mid, "r03-n01").holding, r->id);
  EXPECT_GT(mid->state_version, before->state_version);

  auto a = store_->Commit(r->id, "nlp-lab", kAdmin, NowMillis());
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(a->nodes.size(), 2u);
  EXPECT_EQ(a->nodes[0].rule, "test rule");
  auto after = store_->LoadState();
  EXPECT_EQ(Node(*after, "r03-n01").state, NodeState::kAllocated);
  EXPECT_EQ(Node(*after, "r03-n01").holding, a->id);
  EXPECT_EQ(Node(*after, "r03-n01").generation, g0 + 2);

  // Committing twice is refused and changes nothing.
  auto again = store_->Commit(r->id, "", kAdmin, NowMillis());
  EXPECT_EQ(again.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(again.status().reason(), "reservation_not_held");

  auto rel = store_->Release(a->id, "nlp-lab", kAdmin, NowMillis());
  ASSERT_TRUE(rel.ok()) << rel.status().ToString();
  auto freed = store_->LoadState();
  EXPECT_EQ(Node(*freed, "r03-n01").state, NodeState::kAvailable);
  EXPECT_EQ(Node(*freed, "r03-n01").holding, "");
  EXPECT_EQ(store_->Release(a->id, "", kAdmin, NowMillis()).status().code(),
            StatusCode::kFailedPrecondition);
}

TEST_P(StoreTest, AMovedGenerationIsAConflictAndWritesNothing) {
  HoldRequest stale = Hold("nlp-lab", {"r03-n03", "r03-n04"});
  ASSERT_TRUE(store_->Reserve(Hold("hpc-physics", {"r03-n04"}), kAdmin).ok());
  const std::string audit_before = RunSql(url_, "SELECT COUNT(*) FROM audit_log");
  auto r = store_->Reserve(stale, kAdmin);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kAborted);
  EXPECT_EQ(r.status().reason(), "generation_conflict");
  // The message is for people: the code travels as the reason, not inside the text.
  EXPECT_EQ(r.status().message().rfind("generation_conflict", 0), std::string::npos)
      << r.status().message();
  auto state = store_->LoadState();
  EXPECT_EQ(Node(*state, "r03-n03").state, NodeState::kAvailable);  // not half-held
  EXPECT_EQ(RunSql(url_, "SELECT COUNT(*) FROM audit_log"), audit_before);
}

TEST_P(StoreTest, ExclusiveRacksHoldAgainstRacingHolds) {
  // Every hold below was solved on the same view, in which r04 (one leaf) was free. The store
  // sees each clash under lock, whatever the view said.
  const auto in_r04 = [&](HoldRequest h) {
    for (int i = 1; i <= 8; ++i) h.neighbours.push_back({"r04-n0" + std::to_string(i), true, true});
    return h;
  };
  HoldRequest mine = in_r04(Hold("nlp-lab", {"r04-n01", "r04-n02"}));
  mine.exclusive = "rack";
  const HoldRequest other = in_r04(Hold("hpc-physics", {"r04-n05"}));
  HoldRequest other_exclusive = in_r04(Hold("med-imaging", {"r04-n08"}));
  other_exclusive.exclusive = "leaf";
  const HoldRequest own_more = in_r04(Hold("nlp-lab", {"r04-n06"}));

  ASSERT_TRUE(store_->Reserve(mine, kAdmin).ok());
  auto state = store_->LoadState();
  EXPECT_EQ(Node(*state, "r04-n01").exclusive, "rack");
  // Another tenant may not enter the rack nlp-lab keeps to itself...
  auto r = store_->Reserve(other, kAdmin);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kAborted);
  EXPECT_EQ(r.status().reason(), "exclusive_conflict");
  // The answer goes to hpc-physics: it names neither nlp-lab nor nlp-lab's nodes.
  for (const char* hidden : {"nlp-lab", "r04-n01", "r04-n02"}) {
    EXPECT_EQ(r.status().message().find(hidden), std::string::npos) << r.status().message();
  }
  // ...nor keep a leaf to itself that nlp-lab already holds nodes under.
  r = store_->Reserve(other_exclusive, kAdmin);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().reason(), "exclusive_conflict");
  for (const char* hidden : {"nlp-lab", "r04-n01", "r04-n02"}) {
    EXPECT_EQ(r.status().message().find(hidden), std::string::npos) << r.status().message();
  }
  state = store_->LoadState();
  EXPECT_EQ(Node(*state, "r04-n05").state, NodeState::kAvailable);
  EXPECT_EQ(Node(*state, "r04-n08").state, NodeState::kAvailable);
  // nlp-lab itself may add to its rack.
  EXPECT_TRUE(store_->Reserve(own_more, kAdmin).ok());
}

TEST_P(StoreTest, QuotaAndBudgetAreCheckedInTheTransaction) {
  // hpc-physics: 24 nodes of quota, 5 held, budget 300/h; four H100 nodes cost ~393/h.
  auto r =
      store_->Reserve(Hold("hpc-physics", {"r03-n01", "r03-n02", "r03-n03", "r03-n04"}), kAdmin);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition);
  const std::string code = r.status().reason();
  EXPECT_TRUE(code == "quota_exceeded" || code == "budget_exceeded") << code;
  auto state = store_->LoadState();
  EXPECT_EQ(Node(*state, "r03-n01").state, NodeState::kAvailable);
  // Quota lowered under a held reservation: the commit re-checks and refuses.
  auto ok = store_->Reserve(Hold("med-imaging", {"r03-n05"}), kAdmin);
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  RunSql(url_, "UPDATE tenants SET quota_nodes = 1 WHERE name = 'med-imaging'");
  auto c = store_->Commit(ok->id, "", kAdmin, NowMillis());
  EXPECT_EQ(c.status().reason(), "quota_exceeded");
}

TEST_P(StoreTest, ExpiredReservationsReleaseTheirNodes) {
  auto r = store_->Reserve(Hold("nlp-lab", {"r04-n01"}, /*ttl_ms=*/1), kAdmin);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  auto c = store_->Commit(r->id, "", kAdmin, NowMillis() + 5);
  EXPECT_EQ(c.status().reason(), "reservation_expired");
  // Expiry also works from a fresh process on the same database.
  store_.reset();
  auto reopened = Store::Open(url_);
  ASSERT_TRUE(reopened.ok());
  auto n = (*reopened)->ExpireReservations(NowMillis() + 5);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 1);
  auto state = (*reopened)->LoadState();
  EXPECT_EQ(Node(*state, "r04-n01").state, NodeState::kAvailable);
  auto got = (*reopened)->GetReservation(r->id, "");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->status, ReservationStatus::kExpired);
  EXPECT_EQ((*reopened)->Commit(r->id, "", kAdmin, NowMillis()).status().reason(),
            "reservation_expired");
}

TEST_P(StoreTest, OtherTenantsThingsAreNotFound) {
  auto r = store_->Reserve(Hold("nlp-lab", {"r04-n02"}), kAdmin);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(store_->GetReservation(r->id, "med-imaging").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(store_->Commit(r->id, "med-imaging", kAdmin, NowMillis()).status().code(),
            StatusCode::kNotFound);
  EXPECT_EQ(store_->Cancel(r->id, "med-imaging", kAdmin, NowMillis()).status().code(),
            StatusCode::kNotFound);
  auto mine = store_->ListReservations("med-imaging", true);
  ASSERT_TRUE(mine.ok());
  EXPECT_TRUE(mine->empty());
  EXPECT_TRUE(store_->Cancel(r->id, "nlp-lab", kAdmin, NowMillis()).ok());
}

TEST_P(StoreTest, TokensAreStoredAsHashesOnly) {
  auto secret = store_->CreateToken("nlp-lab", "tenant-admin", kAdmin, NowMillis());
  ASSERT_TRUE(secret.ok()) << secret.status().ToString();
  auto rec = store_->LookupToken(*secret);
  ASSERT_TRUE(rec.ok());
  EXPECT_EQ(rec->tenant, "nlp-lab");
  EXPECT_EQ(rec->role, "tenant-admin");
  EXPECT_EQ(store_->LookupToken(*secret + "x").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(RunSql(url_, "SELECT COUNT(*) FROM api_tokens WHERE hash = '" + *secret + "'"), "0");
  EXPECT_EQ(RunSql(url_, "SELECT hash FROM api_tokens"), Sha256Hex(*secret));
  EXPECT_EQ(store_->CreateToken("", "tenant-admin", kAdmin, 0).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->CreateToken("nope", "tenant-member", kAdmin, 0).status().code(),
            StatusCode::kNotFound);
  EXPECT_EQ(store_->CreateToken("", "root", kAdmin, 0).status().code(),
            StatusCode::kInvalidArgument);
}

TEST_P(StoreTest, TheAuditChainDetectsEditsAndDeletions) {
  auto r = store_->Reserve(Hold("nlp-lab", {"r05-n01"}), kAdmin);
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE(store_->Commit(r->id, "", kAdmin, NowMillis()).ok());
  auto ok = store_->VerifyAudit();
  ASSERT_TRUE(ok.ok());
  EXPECT_TRUE(ok->ok()) << ok->problems.front();
  EXPECT_EQ(ok->entries, 3);  // import, reserve, commit
  auto entries = store_->ListAudit({});
  ASSERT_TRUE(entries.ok());
  EXPECT_EQ((*entries)[1].action, "reservation.create");
  EXPECT_NE((*entries)[1].detail.find("test rule"), std::string::npos);

  RunSql(url_, "UPDATE audit_log SET actor = 'someone else' WHERE seq = 2");
  auto edited = store_->VerifyAudit();
  ASSERT_TRUE(edited.ok());
  EXPECT_FALSE(edited->ok());
  RunSql(url_, "UPDATE audit_log SET actor = '" + (*entries)[1].actor + "' WHERE seq = 2");
  EXPECT_TRUE(store_->VerifyAudit()->ok());

  RunSql(url_, "DELETE FROM audit_log WHERE seq = 2");
  EXPECT_FALSE(store_->VerifyAudit()->ok());
}

TEST_P(StoreTest, TheLastEntryCannotBeCutOff) {
  RunSql(url_, "DELETE FROM audit_log WHERE seq = 1");
  auto report = store_->VerifyAudit();
  ASSERT_TRUE(report.ok());
  EXPECT_FALSE(report->ok());
}

TEST_P(StoreTest, RacingHoldersNeverShareANode) {
  const HoldRequest hold = Hold("nlp-lab", {"r06-n01", "r06-n02"});
  std::atomic<int> won{0}, conflicts{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] {
      auto r = store_->Reserve(hold, kAdmin);
      if (r.ok()) {
        ++won;
      } else if (r.status().code() == StatusCode::kAborted) {
        ++conflicts;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(won.load(), 1);
  EXPECT_EQ(conflicts.load(), 7);
  EXPECT_EQ(RunSql(url_, "SELECT COUNT(*) FROM reservation_nodes WHERE node = 'r06-n01'"), "1");
}

TEST_P(StoreTest, ImportRefusesToDropServiceHoldingsWithoutForce) {
  ASSERT_TRUE(store_->Reserve(Hold("nlp-lab", {"r05-n03"}), kAdmin).ok());
  Status st = store_->Import(MocSmall(), kAdmin, NowMillis(), false);
  EXPECT_EQ(st.code(), StatusCode::kFailedPrecondition);
  EXPECT_TRUE(store_->Import(MocSmall(), kAdmin, NowMillis(), true).ok());
  auto held = store_->ListReservations("", false);
  ASSERT_TRUE(held.ok());
  EXPECT_TRUE(held->empty());
}

TEST_P(StoreTest, ListsComeInBoundedPagesThatCoverEverythingOnce) {
  std::set<std::string> made;
  for (const char* node : {"r05-n01", "r05-n03", "r05-n04", "r05-n05", "r05-n06"}) {
    auto r = store_->Reserve(Hold("nlp-lab", {node}), kAdmin);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    made.insert(r->id);
  }
  std::set<std::string> seen;
  PageRequest page;
  page.limit = 2;
  int pages = 0;
  for (;;) {
    auto p = store_->ListReservationsPage("", false, page);
    ASSERT_TRUE(p.ok()) << p.status().ToString();
    EXPECT_EQ(p->total, 5);
    EXPECT_LE(p->items.size(), 2u);
    for (const auto& r : p->items) EXPECT_TRUE(seen.insert(r.id).second) << r.id << " twice";
    ++pages;
    if (p->next_page_token.empty()) break;
    ASSERT_LT(pages, 10);
    page.page_token = p->next_page_token;
  }
  EXPECT_EQ(pages, 3);
  EXPECT_EQ(seen, made);
  // Scoped: another tenant's page is empty and counts nothing.
  auto other = store_->ListReservationsPage("med-imaging", false, {});
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(other->total, 0);
  EXPECT_TRUE(other->items.empty());
  // Garbled, forged and other lists' tokens are the caller's mistake, never a store error.
  for (const std::string& bad :
       {std::string("!!"), std::string("dHAxOnJlc2VydmF0aW9uczo"),
        EncodePageToken("clusters", "1/x"), EncodePageToken("reservations", "x/y"),
        EncodePageToken("reservations", "-5/rsv")}) {
    PageRequest forged;
    forged.page_token = bad;
    auto p = store_->ListReservationsPage("", false, forged);
    ASSERT_FALSE(p.ok()) << bad;
    EXPECT_EQ(p.status().code(), StatusCode::kInvalidArgument) << bad;
    EXPECT_EQ(p.status().reason(), "bad_page_token") << bad;
  }
  // Allocations page the same way (the scenario's own allocations included).
  auto allocs = store_->ListAllocationsPage("", false, {1, ""});
  ASSERT_TRUE(allocs.ok());
  EXPECT_EQ(allocs->items.size(), 1u);
  EXPECT_EQ(allocs->total, static_cast<int64_t>(MocSmall().allocations.size()));
  EXPECT_FALSE(allocs->next_page_token.empty());
}

TEST_P(StoreTest, OpeningAnExistingStoreNeverCreatesOne) {
  StoreOptions existing;
  existing.mode = OpenMode::kExisting;
  if (GetParam() == "sqlite") {
    const std::string missing = url_ + ".typo.db";
    auto s = Store::Open(missing, existing);
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.status().code(), StatusCode::kUnavailable);
    EXPECT_EQ(s.status().reason(), "no_store");
    EXPECT_NE(s.status().message().find("no store at " + missing), std::string::npos);
    EXPECT_FALSE(std::filesystem::exists(missing));
    EXPECT_FALSE(std::filesystem::exists(missing + ".audit-key"));
  }
  // A database (or file) that exists but holds no store is not turned into one.
  const std::string empty = NewStoreUrl(GetParam());
  if (GetParam() == "sqlite") RunSql(empty, "CREATE TABLE unrelated (x INTEGER)");
  auto s = Store::Open(empty, existing);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().reason(), "no_store");
  EXPECT_EQ(RunSql(empty, GetParam() == "sqlite"
                              ? "SELECT COUNT(*) FROM sqlite_master WHERE name = 'audit_log'"
                              : "SELECT COUNT(*) FROM pg_tables WHERE tablename = 'audit_log'"),
            "0");
  // The store itself opens.
  EXPECT_TRUE(Store::Open(url_, existing).ok());
}

TEST_P(StoreTest, TokensExpireAndAreRevokedAtOnce) {
  const int64_t now = NowMillis();
  auto short_lived = store_->CreateToken("", "auditor", kAdmin, now, now + 1000);
  ASSERT_TRUE(short_lived.ok()) << short_lived.status().ToString();
  EXPECT_TRUE(store_->LookupToken(*short_lived, now + 999).ok());
  auto expired = store_->LookupToken(*short_lived, now + 1000);
  EXPECT_EQ(expired.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(expired.status().reason(), "token_expired");

  auto secret = store_->CreateToken("nlp-lab", "tenant-member", kAdmin, now + 1);
  ASSERT_TRUE(secret.ok());
  auto rec = store_->LookupToken(*secret);
  ASSERT_TRUE(rec.ok());
  EXPECT_GT(rec->last_used_ms, 0);
  auto listed = store_->ListTokens();
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 2u);
  EXPECT_EQ((*listed)[1].id, rec->id);
  EXPECT_EQ((*listed)[1].tenant, "nlp-lab");
  EXPECT_EQ((*listed)[0].expires_ms, now + 1000);
  auto revoked = store_->RevokeToken(rec->id, kAdmin, NowMillis());
  ASSERT_TRUE(revoked.ok()) << revoked.status().ToString();
  EXPECT_EQ(store_->LookupToken(*secret).status().reason(), "token_revoked");
  EXPECT_EQ(store_->RevokeToken(rec->id, kAdmin, NowMillis()).status().reason(), "token_revoked");
  EXPECT_EQ(store_->RevokeToken("nosuchtoken", kAdmin, NowMillis()).status().code(),
            StatusCode::kNotFound);
  EXPECT_EQ(store_->CreateToken("", "auditor", kAdmin, now, now - 1).status().reason(),
            "bad_expiry");
  auto audit = store_->ListAudit({});
  ASSERT_TRUE(audit.ok());
  EXPECT_EQ(audit->back().action, "token.revoke");
  EXPECT_TRUE(store_->VerifyAudit()->ok());
}

// Rewrites the chain from entry `from` on as plain SHA-256 (what someone with write access to the
// database but not the key can do), then points the head at the new last hash.
void RehashPlain(const std::string& url, Store& store, int64_t from) {
  auto entries = store.ListAudit({0, 100000, ""});
  ASSERT_TRUE(entries.ok());
  std::string prev = from > 1 ? (*entries)[from - 2].hash : "";
  for (AuditEntry e : *entries) {
    if (e.seq < from) continue;
    e.prev_hash = prev;
    e.keyed = false;
    e.hash = AuditEntryHash(e);
    RunSql(url, "UPDATE audit_log SET actor = '" + e.actor + "', prev_hash = '" + e.prev_hash +
                    "', hash = '" + e.hash + "' WHERE seq = " + std::to_string(e.seq));
    prev = e.hash;
  }
  RunSql(url, "UPDATE audit_head SET hash = '" + prev + "'");
}

TEST_P(StoreTest, AKeyedChainShowsARewindAndARehash) {
  auto r = store_->Reserve(Hold("nlp-lab", {"r05-n01"}), kAdmin);
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE(store_->Commit(r->id, "", kAdmin, NowMillis()).ok());
  auto ok = store_->VerifyAudit();
  ASSERT_TRUE(ok.ok());
  ASSERT_TRUE(ok->ok()) << ok->problems.front();
  EXPECT_EQ(ok->keyed, 3);
  EXPECT_EQ(ok->unkeyed, 0);

  // 1. Delete the last entry and rewind the head to the entry before: a consistent plain chain.
  RunSql(url_, "DELETE FROM audit_log WHERE seq = 3");
  RunSql(url_, "UPDATE audit_head SET seq = 2, hash = (SELECT hash FROM audit_log WHERE seq = 2)");
  auto rewound = store_->VerifyAudit();
  ASSERT_TRUE(rewound.ok());
  EXPECT_FALSE(rewound->ok());

  // 2. On a fresh store: edit an entry and recompute the plain SHA-256 chain after it.
  url_ = NewStoreUrl(GetParam());
  store_ = std::move(Store::Open(url_)).value();
  ASSERT_TRUE(store_->Import(MocSmall(), kAdmin, NowMillis(), false).ok());
  ASSERT_TRUE(store_->Reserve(Hold("nlp-lab", {"r05-n03"}), kAdmin).ok());
  RunSql(url_, "UPDATE audit_log SET actor = 'someone else' WHERE seq = 1");
  RehashPlain(url_, *store_, 1);
  auto rehashed = store_->VerifyAudit();
  ASSERT_TRUE(rehashed.ok());
  EXPECT_FALSE(rehashed->ok());
  // Marking the entries unkeyed does not help either: the store is keyed from entry 1 on.
  RunSql(url_, "UPDATE audit_log SET keyed = 0");
  EXPECT_FALSE(store_->VerifyAudit()->ok());
}

TEST_P(StoreTest, StoresFromBeforeTheKeyStayReadable) {
  // A store written without a key (as every store was before the key existed).
  const std::string url = NewStoreUrl(GetParam());
  StoreOptions unkeyed;
  unkeyed.no_audit_key = true;
  {
    auto old = Store::Open(url, unkeyed);
    ASSERT_TRUE(old.ok()) << old.status().ToString();
    ASSERT_TRUE((*old)->Import(MocSmall(), kAdmin, NowMillis(), false).ok());
  }
  StoreOptions keyed;
  keyed.audit_key_file = url_ + ".legacy-key";
  if (GetParam() == "postgresql") keyed.audit_key_file = "/tmp/topoplace-test-key-" + RandomHex(6);
  auto now_keyed = Store::Open(url, keyed);
  ASSERT_TRUE(now_keyed.ok()) << now_keyed.status().ToString();
  ASSERT_TRUE((*now_keyed)->CreateToken("", "auditor", kAdmin, NowMillis()).ok());
  auto report = (*now_keyed)->VerifyAudit();
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->ok()) << report->problems.front();
  EXPECT_EQ(report->unkeyed, 1);  // the import, written before the key
  EXPECT_EQ(report->keyed, 1);    // the token
  // Verifying without the key reports what it cannot check.
  StoreOptions no_key;
  no_key.mode = OpenMode::kExisting;
  no_key.audit_key_file = keyed.audit_key_file + ".absent";
  auto blind = Store::Open(url, no_key);
  ASSERT_TRUE(blind.ok());
  auto blind_report = (*blind)->VerifyAudit();
  ASSERT_TRUE(blind_report.ok());
  EXPECT_FALSE(blind_report->ok());
  // ...and refuses to write unkeyed entries into a keyed log.
  EXPECT_EQ((*blind)->CreateToken("", "auditor", kAdmin, NowMillis()).status().reason(),
            "audit_key_missing");
  std::filesystem::remove(keyed.audit_key_file);
}

// Releases (which free nodes by holder) racing exclusive holds (which lock whole racks by name) on
// the same racks: the database may find deadlocks, the store retries them; a client sees only the
// generation conflicts of holds that lost to another hold.
TEST_P(StoreTest, ReleasesRacingExclusiveHoldsNeverFailSpuriously) {
  std::vector<std::string> rack;
  for (int i = 1; i <= 8; ++i) rack.push_back("r04-n0" + std::to_string(i));
  std::atomic<int> spurious{0}, released{0}, holds{0};
  std::atomic<bool> stop{false};
  std::mutex mu;
  std::vector<std::string> failures;
  const auto note = [&](const std::string& what) {
    ++spurious;
    std::lock_guard lock(mu);
    failures.push_back(what);
  };
  // Exclusive holds on the rack, all the time.
  std::vector<std::thread> holders;
  for (int h = 0; h < 3; ++h) {
    holders.emplace_back([&, h] {
      for (int k = 0; !stop; ++k) {
        HoldRequest hold;
        try {
          hold = Hold("hpc-physics", {rack[(h + k) % rack.size()]});
        } catch (const std::exception&) {
          continue;
        }
        hold.exclusive = "rack";
        for (const auto& n : rack) hold.neighbours.push_back({n, true, true});
        auto r = store_->Reserve(hold, kAdmin);
        ++holds;
        if (r.ok()) {
          if (!store_->Cancel(r->id, "", kAdmin, NowMillis()).ok()) note("cancel failed");
          continue;
        }
        const std::string why = r.status().reason();
        // A hold may lose to a hold, find the rack shared or its node moved, or (racing its
        // own tenant's holds) reach the budget: all legitimate answers.
        if (why == "generation_conflict" || why == "exclusive_conflict" ||
            why == "budget_exceeded" || why == "quota_exceeded") {
          continue;
        }
        note("hold: " + r.status().ToString());
      }
    });
  }
  for (int round = 0; round < 30; ++round) {
    // Two allocations interleaved over the rack, claimed (and so written) in reverse name order:
    // the rows' physical order then differs from their name order, as in a store that has run a
    // while. Then both are released at once, while the holds go on.
    std::vector<std::string> allocations;
    for (int part = 0; part < 2; ++part) {
      std::vector<std::string> nodes;
      for (size_t i = part; i < rack.size(); i += 2) nodes.insert(nodes.begin(), rack[i]);
      for (int attempt = 0; attempt < 200 && allocations.size() <= static_cast<size_t>(part);
           ++attempt) {
        auto r = store_->Reserve(Hold("nlp-lab", nodes), kAdmin);
        if (!r.ok()) continue;  // an exclusive hold got there first: try again
        auto a = store_->Commit(r->id, "", kAdmin, NowMillis());
        ASSERT_TRUE(a.ok()) << a.status().ToString();
        allocations.push_back(a->id);
      }
      ASSERT_EQ(allocations.size(), static_cast<size_t>(part + 1));
    }
    std::vector<std::thread> releases;
    for (const auto& id : allocations) {
      releases.emplace_back([&, id] {
        auto rel = store_->Release(id, "", kAdmin, NowMillis());
        if (rel.ok()) {
          ++released;
        } else {
          note("release: " + rel.status().ToString());
        }
      });
    }
    for (auto& t : releases) t.join();
  }
  stop = true;
  for (auto& t : holders) t.join();
  EXPECT_EQ(spurious.load(), 0) << (failures.empty() ? "" : failures.front());
  EXPECT_EQ(released.load(), 30 * 2);
  EXPECT_GT(holds.load(), 0);
}

// --- projects (DESIGN.md section 6a)
// --------------------------------------------------------------

// moc-small with med-imaging (2 nodes held in its default project) limited to 5 nodes, split into
// projects "scan" (at most 2 nodes, alerts at half) and "trial" (no limits of its own).
Scenario WithMedProjects() {
  Scenario s = MocSmall();
  for (Tenant& t : s.tenants) {
    if (t.name != "med-imaging") continue;
    t.quota.nodes = 5;
    Project scan;
    scan.name = "scan";
    scan.quota.nodes = 2;
    scan.quota.gpus = 16;
    scan.alert_at = {0.5};
    Project trial;
    trial.name = "trial";
    t.projects = {scan, trial};
  }
  return s;
}

const Tenant& TenantNamed(const std::vector<Tenant>& tenants, const std::string& name) {
  for (const Tenant& t : tenants) {
    if (t.name == name) return t;
  }
  throw std::runtime_error("no tenant " + name);
}

TEST_P(StoreTest, ProjectsOfTenantsSurviveAReopenAndAnExport) {
  const Scenario original = WithMedProjects();
  ASSERT_TRUE(store_->Import(original, kAdmin, NowMillis(), true).ok());
  store_.reset();
  auto reopened = Store::Open(url_);
  ASSERT_TRUE(reopened.ok()) << reopened.status().ToString();
  auto state = (*reopened)->LoadState();
  ASSERT_TRUE(state.ok());
  EXPECT_EQ(TenantNamed(state->tenants, "med-imaging").projects,
            TenantNamed(original.tenants, "med-imaging").projects);
  auto exported = (*reopened)->Export();
  ASSERT_TRUE(exported.ok()) << exported.status().ToString();
  EXPECT_EQ(exported->tenants, original.tenants);
}

TEST_P(StoreTest, AHoldAndItsAllocationBelongToTheirProject) {
  ASSERT_TRUE(store_->Import(WithMedProjects(), kAdmin, NowMillis(), true).ok());
  HoldRequest h = Hold("med-imaging", {"r03-n01"});
  h.project = "scan";
  auto r = store_->Reserve(h, kAdmin);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->project, "scan");
  EXPECT_EQ(store_->GetReservation(r->id, "")->project, "scan");
  auto a = store_->Commit(r->id, Scope::OfProject("med-imaging", "scan"), kAdmin, NowMillis());
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(a->project, "scan");
  EXPECT_EQ(store_->GetAllocation(a->id, "med-imaging")->project, "scan");

  // Another project of the tenant sees none of it; the project itself and the tenant do.
  const Scope trial = Scope::OfProject("med-imaging", "trial");
  EXPECT_EQ(store_->GetAllocation(a->id, trial).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(store_->GetReservation(r->id, trial).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(store_->Release(a->id, trial, kAdmin, NowMillis()).status().code(),
            StatusCode::kNotFound);
  auto trial_list = store_->ListAllocationsPage(trial, true, PageRequest{});
  ASSERT_TRUE(trial_list.ok());
  EXPECT_EQ(trial_list->total, 0);
  auto scan_list = store_->ListAllocations(Scope::OfProject("med-imaging", "scan"), false);
  ASSERT_TRUE(scan_list.ok());
  ASSERT_EQ(scan_list->size(), 1u);
  EXPECT_EQ(scan_list->front().id, a->id);
  ASSERT_EQ(scan_list->front().nodes.size(), 1u);
  // The default project holds the scenario's med-pilot, not this one.
  auto default_list = store_->ListAllocations(Scope::OfProject("med-imaging", ""), false);
  ASSERT_TRUE(default_list.ok());
  ASSERT_EQ(default_list->size(), 1u);
  EXPECT_EQ(default_list->front().name, "med-pilot");

  auto usage = store_->UsageOf("med-imaging");
  ASSERT_TRUE(usage.ok());
  EXPECT_EQ(usage->held.nodes, 3);
  EXPECT_EQ(usage->held_by_project["scan"].nodes, 1);
  EXPECT_EQ(usage->held_by_project[""].nodes, 2);

  // An export keeps the allocation's project; importing it back keeps it too.
  auto exported = store_->Export();
  ASSERT_TRUE(exported.ok()) << exported.status().ToString();
  bool found = false;
  for (const Allocation& x : exported->allocations) {
    if (x.name != "job") continue;
    found = true;
    EXPECT_EQ(x.project, "scan");
  }
  EXPECT_TRUE(found);
  ASSERT_TRUE(store_->Import(*exported, kAdmin, NowMillis(), true).ok());
  auto again = store_->UsageOf("med-imaging");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->held_by_project["scan"].nodes, 1);

  // Released, the node leaves the project's use.
  auto job = store_->ListAllocations(Scope::OfProject("med-imaging", "scan"), false);
  ASSERT_TRUE(job.ok());
  ASSERT_EQ(job->size(), 1u);
  ASSERT_TRUE(store_->Release(job->front().id, "med-imaging", kAdmin, NowMillis()).ok());
  EXPECT_EQ(store_->UsageOf("med-imaging")->held_by_project.count("scan"), 0u);
}

TEST_P(StoreTest, AProjectStaysWithinItsQuotaAndProjectsTogetherWithinTheTenants) {
  ASSERT_TRUE(store_->Import(WithMedProjects(), kAdmin, NowMillis(), true).ok());
  auto hold = [&](const std::string& project, std::vector<std::string> nodes) {
    HoldRequest h = Hold("med-imaging", std::move(nodes));
    h.project = project;
    return store_->Reserve(h, kAdmin);
  };
  ASSERT_TRUE(hold("scan", {"r03-n01", "r03-n02"}).ok());
  // A third node is over the project's 2, though the tenant (4 of 5) has room.
  auto over_project = hold("scan", {"r03-n03"});
  ASSERT_FALSE(over_project.ok());
  EXPECT_EQ(over_project.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(over_project.status().reason(), "quota_exceeded");
  EXPECT_NE(over_project.status().message().find("project \"scan\""), std::string::npos)
      << over_project.status().message();
  // "trial" has no limits of its own: the tenant's bind (2 default + 2 scan + 1 trial = 5).
  ASSERT_TRUE(hold("trial", {"r03-n03"}).ok());
  auto over_tenant = hold("trial", {"r03-n04"});
  ASSERT_FALSE(over_tenant.ok());
  EXPECT_EQ(over_tenant.status().reason(), "quota_exceeded");
  EXPECT_NE(over_tenant.status().message().find("tenant \"med-imaging\""), std::string::npos)
      << over_tenant.status().message();
  auto state = store_->LoadState();
  EXPECT_EQ(Node(*state, "r03-n04").state, NodeState::kAvailable);
  // A project the tenant does not have holds nothing.
  auto unknown = hold("nope", {"r03-n05"});
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.status().reason(), "unknown_reference");
  EXPECT_NE(unknown.status().message().find("\"nope\""), std::string::npos);
  EXPECT_NE(unknown.status().message().find("\"scan\", \"trial\""), std::string::npos)
      << unknown.status().message();
}

TEST_P(StoreTest, TheCommitChecksTheProjectsQuotaAgain) {
  ASSERT_TRUE(store_->Import(WithMedProjects(), kAdmin, NowMillis(), true).ok());
  HoldRequest h = Hold("med-imaging", {"r03-n01", "r03-n02"});
  h.project = "scan";
  auto r = store_->Reserve(h, kAdmin);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  // The project's share lowered under the held reservation: the commit refuses.
  // (RunSql passes the statement in double quotes to a shell: the JSON's quotes are escaped.)
  RunSql(
      url_,
      "UPDATE tenants SET projects = '[{\\\"name\\\":\\\"scan\\\",\\\"quota\\\":{\\\"nodes\\\":1}},"
      "{\\\"name\\\":\\\"trial\\\"}]' WHERE name = 'med-imaging'");
  auto c = store_->Commit(r->id, "", kAdmin, NowMillis());
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().reason(), "quota_exceeded");
  EXPECT_NE(c.status().message().find("project \"scan\""), std::string::npos);
  EXPECT_EQ(store_->GetReservation(r->id, "")->status, ReservationStatus::kHeld);
}

TEST_P(StoreTest, RacingProjectsOfOneTenantNeverTogetherPassItsQuota) {
  ASSERT_TRUE(store_->Import(WithMedProjects(), kAdmin, NowMillis(), true).ok());
  // med-imaging may hold 3 more nodes; six holders of both unlimited-by-themselves projects race
  // for one node each.
  auto state = store_->LoadState();
  std::vector<std::thread> threads;
  std::atomic<int> held{0};
  for (int i = 0; i < 6; ++i) {
    const std::string node = "r04-n0" + std::to_string(i + 1);
    HoldRequest h;
    h.tenant = "med-imaging";
    h.project = i % 2 == 0 ? "trial" : "";
    h.name = "race";
    h.request = "{}";
    h.now_ms = NowMillis();
    h.ttl_ms = 60000;
    h.nodes.push_back({node, Node(*state, node).generation, "test rule"});
    threads.emplace_back([this, h, &held] {
      auto r = store_->Reserve(h, kAdmin);
      if (r.ok()) {
        ++held;
      } else {
        EXPECT_EQ(r.status().reason(), "quota_exceeded") << r.status().ToString();
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(held.load(), 3);
  EXPECT_EQ(store_->UsageOf("med-imaging")->held.nodes, 5);
}

TEST_P(StoreTest, APlanKeepsItsProjectAndAccess) {
  Plan p;
  p.allocation = "alc-x";
  p.tenant = "med-imaging";
  p.project = "scan";
  p.purpose = "slurm";
  p.access = {{"partition", "med-imaging-scan"}, {"controller", "127.0.0.1:6817"}};
  auto created = store_->CreatePlan(p, kAdmin);
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  auto got = store_->GetPlan(created->id, "");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->project, "scan");
  EXPECT_EQ(got->access, p.access);
  Plan changed = *got;
  changed.access["partition"] = "renamed";
  changed.status = PlanStatus::kReady;
  ASSERT_TRUE(store_->SavePlanHeader(changed, kAdmin).ok());
  store_.reset();
  auto reopened = Store::Open(url_);
  ASSERT_TRUE(reopened.ok());
  auto after = (*reopened)->GetPlan(created->id, Scope::OfProject("med-imaging", "scan"));
  ASSERT_TRUE(after.ok()) << after.status().ToString();
  EXPECT_EQ(after->access.at("partition"), "renamed");
  EXPECT_EQ(after->project, "scan");
  EXPECT_EQ(
      (*reopened)->GetPlan(created->id, Scope::OfProject("med-imaging", "trial")).status().code(),
      StatusCode::kNotFound);
  auto listed = (*reopened)->ListPlans(Scope::OfProject("med-imaging", "scan"), false);
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ(listed->front().access, after->access);
  EXPECT_TRUE((*reopened)->ListPlans(Scope::OfProject("med-imaging", "trial"), false)->empty());
}

TEST_P(StoreTest, ATokenMayBeBoundToAProjectOfItsTenant) {
  ASSERT_TRUE(store_->Import(WithMedProjects(), kAdmin, NowMillis(), true).ok());
  auto secret = store_->CreateToken("med-imaging", "tenant-admin", kAdmin, NowMillis(), 0, "scan");
  ASSERT_TRUE(secret.ok()) << secret.status().ToString();
  auto rec = store_->LookupToken(*secret);
  ASSERT_TRUE(rec.ok());
  EXPECT_EQ(rec->project, std::optional<std::string>("scan"));
  auto wide = store_->CreateToken("med-imaging", "tenant-admin", kAdmin, NowMillis());
  ASSERT_TRUE(wide.ok());
  EXPECT_EQ(store_->LookupToken(*wide)->project, std::nullopt);
  auto unknown = store_->CreateToken("med-imaging", "tenant-admin", kAdmin, NowMillis(), 0, "x");
  EXPECT_EQ(unknown.status().reason(), "unknown_reference");
  EXPECT_EQ(
      store_->CreateToken("", "provider-admin", kAdmin, NowMillis(), 0, "scan").status().reason(),
      "bad_role");
}

// A store made by a binary of schema v6 (before projects) opens with its rows intact, each in its
// tenant's default project.
TEST_P(StoreTest, AStoreFromBeforeProjectsKeepsItsRows) {
  const std::string url = NewStoreUrl(GetParam());
  {
    auto pool = GetParam() == "postgresql" ? sql::OpenPostgres(url, 1) : sql::OpenSqlite(url, 1);
    ASSERT_TRUE(pool.ok()) << pool.status().ToString();
    auto conn = (*pool)->Acquire();
    conn->Begin(true);
    conn->ExecScript(
        "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, "
        "applied_ms BIGINT NOT NULL)");
    for (const Migration& m : SchemaMigrations()) {
      if (m.version > 6) continue;
      conn->ExecScript(m.sql);
      conn->Exec("INSERT INTO schema_migrations (version, name, applied_ms) VALUES ($1, $2, 0)",
                 {std::to_string(m.version), std::string(m.name)});
    }
    conn->ExecScript(
        "INSERT INTO tenants (name, ord, compliance, alert_at) VALUES ('lab', 0, '', '');"
        "INSERT INTO nodes (name, ord, node_class, state, tenant, holder, generation, gpus, "
        "cpu_cores, memory_gib, storage_gib, cost_per_hour) VALUES ('n1', 0, 'c', 'allocated', "
        "'lab', 'alc-old', 3, 8, 64, 512, 100, 10);"
        "INSERT INTO allocations (id, tenant, name, request, status, created_ms, cost_per_hour, "
        "created_by) VALUES ('alc-old', 'lab', 'old', '', 'active', 1, 10, 'test');"
        "INSERT INTO allocation_nodes (allocation_id, node, rule) VALUES ('alc-old', 'n1', 'r');"
        "INSERT INTO reservations (id, tenant, name, request, status, created_ms, expires_ms, "
        "updated_ms, cost_per_hour, created_by) VALUES ('rsv-old', 'lab', 'old', '{}', "
        "'committed', 1, 2, 2, 10, 'test');"
        "INSERT INTO plans (id, allocation_id, tenant, purpose, status, created_ms, updated_ms) "
        "VALUES ('pln-old', 'alc-old', 'lab', 'slurm', 'READY', 1, 1);"
        "INSERT INTO api_tokens (hash, id, tenant, role, created_ms, created_by) VALUES "
        "('h', 'tok-old', 'lab', 'tenant-admin', 1, 'test')");
    conn->Commit();
  }
  auto opened = Store::Open(url);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  Store& store = **opened;
  EXPECT_EQ(store.schema_version(), LatestSchemaVersion());
  auto a = store.GetAllocation("alc-old", Scope::OfProject("lab", ""));
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(a->project, "");
  EXPECT_EQ(a->name, "old");
  ASSERT_EQ(a->nodes.size(), 1u);
  auto r = store.GetReservation("rsv-old", "lab");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->project, "");
  auto plan = store.GetPlan("pln-old", "lab");
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  EXPECT_EQ(plan->project, "");
  EXPECT_TRUE(plan->access.empty());
  auto state = store.LoadState();
  ASSERT_TRUE(state.ok());
  ASSERT_EQ(state->tenants.size(), 1u);
  EXPECT_TRUE(state->tenants[0].projects.empty());
  auto tokens = store.ListTokens();
  ASSERT_TRUE(tokens.ok());
  ASSERT_EQ(tokens->size(), 1u);
  EXPECT_EQ(tokens->front().project, std::nullopt) << "a token from before binds the whole tenant";
  EXPECT_EQ(store.UsageOf("lab")->held_by_project[""].nodes, 1);
}

// Preemption (DESIGN.md section 8): the id of the active allocation of `tenant` named `name`.
std::string AllocationId(Store& store, const std::string& tenant, const std::string& name) {
  auto list = store.ListAllocations(tenant, false);
  EXPECT_TRUE(list.ok()) << list.status().ToString();
  for (const AllocationRecord& a : *list) {
    if (a.name == name) return a.id;
  }
  ADD_FAILURE() << "no active allocation " << name << " of " << tenant;
  return "";
}

// A claim to evict allocation `id`: every node it holds at the generation the store shows now.
EvictionClaim EvictAsSeen(Store& store, const std::string& id) {
  auto a = store.GetAllocation(id, "");
  EXPECT_TRUE(a.ok()) << a.status().ToString();
  EvictionClaim claim{id, {}};
  for (const HeldNode& n : a->nodes) claim.nodes.push_back({n.node, n.generation, "evicted"});
  return claim;
}

TEST_P(StoreTest, HoldingsAreTheActiveAllocationsBelowAPriorityInScope) {
  // moc-small: nlp-lab holds three allocations, hpc-physics and med-imaging one each; all
  // priority 0 (their scenario requests name none).
  auto mine = store_->Holdings("nlp-lab", 1);
  ASSERT_TRUE(mine.ok()) << mine.status().ToString();
  ASSERT_EQ(mine->size(), 3u);
  for (const HoldingRecord& h : *mine) {
    EXPECT_EQ(h.tenant, "nlp-lab");
    EXPECT_EQ(h.priority, 0);
    EXPECT_FALSE(h.nodes.empty());
    EXPECT_TRUE(std::is_sorted(h.nodes.begin(), h.nodes.end()));
  }
  const std::string pretrain = AllocationId(*store_, "nlp-lab", "nlp-pretrain");
  auto it = std::find_if(mine->begin(), mine->end(),
                         [&](const HoldingRecord& h) { return h.id == pretrain; });
  ASSERT_NE(it, mine->end());
  EXPECT_EQ(it->nodes.size(), 8u);
  auto all = store_->Holdings(Scope(), 1);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 5u);
  // Equal priority is never a victim; nor is a released allocation.
  EXPECT_TRUE(store_->Holdings(Scope(), 0)->empty());
  ASSERT_TRUE(store_->Release(pretrain, "", kAdmin, NowMillis()).ok());
  EXPECT_EQ(store_->Holdings("nlp-lab", 1)->size(), 2u);
  // One project of a tenant: the default project holds them all, another none.
  EXPECT_EQ(store_->Holdings(Scope::OfProject("nlp-lab", "default"), 1)->size(), 2u);
}

TEST_P(StoreTest, APreemptingHoldEvictsInItsOwnTransaction) {
  const std::string victim = AllocationId(*store_, "nlp-lab", "nlp-eval");  // r02-n01..03
  HoldRequest h = Hold("nlp-lab", {"r02-n01", "r02-n02", "r02-n04"});
  h.priority = 5;
  h.evictions = {EvictAsSeen(*store_, victim)};
  h.eviction_rights = {5, Scope("nlp-lab")};
  auto r = store_->Reserve(h, kAdmin);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->evicted.size(), 1u);
  EXPECT_EQ(r->evicted[0].id, victim);
  EXPECT_EQ(r->evicted[0].status, AllocationStatus::kReleased);
  EXPECT_EQ(r->priority, 5);

  // The victim is released and says who took its nodes; its node the hold did not need is free.
  auto gone = store_->GetAllocation(victim, "nlp-lab");
  ASSERT_TRUE(gone.ok());
  EXPECT_EQ(gone->status, AllocationStatus::kReleased);
  EXPECT_EQ(gone->evicted_by, r->id);
  EXPECT_EQ(gone->evicted_by_tenant, "nlp-lab");
  auto state = store_->LoadState();
  EXPECT_EQ(Node(*state, "r02-n01").holding, r->id);
  EXPECT_EQ(Node(*state, "r02-n01").state, NodeState::kReserved);
  EXPECT_EQ(Node(*state, "r02-n03").state, NodeState::kAvailable);
  EXPECT_EQ(Node(*state, "r02-n03").holding, "");

  // Audited: the eviction names the reservation and the request that caused it.
  auto audit = store_->ListAudit({0, 1000, ""});
  ASSERT_TRUE(audit.ok());
  int evictions = 0;
  for (const AuditEntry& e : *audit) {
    if (e.action != "allocation.evict") continue;
    ++evictions;
    EXPECT_EQ(e.subject, victim);
    EXPECT_EQ(e.tenant, "nlp-lab");
    const auto detail = nlohmann::json::parse(e.detail);
    EXPECT_EQ(detail["cause"]["reservation"], r->id);
    EXPECT_EQ(detail["cause"]["request"], "job");
    EXPECT_EQ(detail["cause"]["priority"], 5);
    EXPECT_EQ(detail["nodes"].size(), 3u);
  }
  EXPECT_EQ(evictions, 1);
  ASSERT_TRUE(store_->VerifyAudit()->ok());

  // The allocation made from it keeps the request's priority.
  auto a = store_->Commit(r->id, "nlp-lab", kAdmin, NowMillis());
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(a->priority, 5);
  EXPECT_EQ(store_->GetAllocation(a->id, "")->priority, 5);
}

TEST_P(StoreTest, AnEvictionThatMovedOrIsNotAllowedChangesNothing) {
  const std::string victim = AllocationId(*store_, "nlp-lab", "nlp-eval");
  const std::string other = AllocationId(*store_, "hpc-physics", "physics-mc");
  const std::string audit_before = RunSql(url_, "SELECT COUNT(*) FROM audit_log");
  auto untouched = [&] {
    EXPECT_EQ(store_->GetAllocation(victim, "")->status, AllocationStatus::kActive);
    EXPECT_EQ(store_->GetAllocation(other, "")->status, AllocationStatus::kActive);
    auto state = store_->LoadState();
    EXPECT_EQ(Node(*state, "r02-n01").holding, victim);
    EXPECT_EQ(Node(*state, "r02-n04").state, NodeState::kAvailable);
    EXPECT_EQ(RunSql(url_, "SELECT COUNT(*) FROM audit_log"), audit_before);
  };
  HoldRequest base = Hold("nlp-lab", {"r02-n01", "r02-n04"});
  base.priority = 5;
  base.eviction_rights = {5, Scope("nlp-lab")};

  // A victim node that moved since the solve: the usual conflict.
  HoldRequest stale = base;
  stale.evictions = {EvictAsSeen(*store_, victim)};
  --stale.evictions[0].nodes[1].expected_generation;
  auto r = store_->Reserve(stale, kAdmin);
  EXPECT_EQ(r.status().code(), StatusCode::kAborted);
  EXPECT_EQ(r.status().reason(), "generation_conflict");
  untouched();

  // Another tenant's allocation under a tenant-scoped right, or one of equal priority.
  HoldRequest foreign = base;
  foreign.evictions = {EvictAsSeen(*store_, victim), EvictAsSeen(*store_, other)};
  r = store_->Reserve(foreign, kAdmin);
  EXPECT_EQ(r.status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(r.status().reason(), "preemption_not_allowed");
  untouched();
  HoldRequest equal = base;
  equal.evictions = {EvictAsSeen(*store_, victim)};
  equal.eviction_rights.below_priority = 0;
  r = store_->Reserve(equal, kAdmin);
  EXPECT_EQ(r.status().reason(), "preemption_not_allowed");
  untouched();

  // A victim released since the solve.
  HoldRequest late = base;
  late.evictions = {EvictAsSeen(*store_, victim)};
  ASSERT_TRUE(store_->Release(victim, "", kAdmin, NowMillis()).ok());
  r = store_->Reserve(late, kAdmin);
  EXPECT_EQ(r.status().reason(), "generation_conflict");
}

TEST_P(StoreTest, AllocationPrioritiesSurviveExportAndImport) {
  Scenario s = MocSmall();
  for (Allocation& a : s.allocations) {
    if (a.name == "nlp-eval") a.priority = 3;
  }
  ASSERT_TRUE(store_->Import(s, kAdmin, NowMillis(), true).ok());
  const std::string id = AllocationId(*store_, "nlp-lab", "nlp-eval");
  EXPECT_EQ(store_->GetAllocation(id, "")->priority, 3);
  auto exported = store_->Export();
  ASSERT_TRUE(exported.ok());
  for (const Allocation& a : exported->allocations) {
    EXPECT_EQ(AllocationPriority(a), a.name == "nlp-eval" ? 3 : 0) << a.name;
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, StoreTest, ::testing::Values("sqlite", "postgresql"),
                         [](const auto& p) { return p.param; });

// A database restart breaks every pooled connection; the store replaces them without failing
// the requests that find them broken. The test restarts a server of its own: the shared one serves
// the tests running beside it.
TEST(StoreRestartTest, ADatabaseRestartFailsNoRequest) {
  const std::string dir = "/tmp/topoplace-pg-restart-" + std::to_string(::getpid());
  Shell("'" + PgTestScript() + "' start '" + dir + "' >/dev/null");
  struct StopServer {
    std::string dir;
    ~StopServer() { std::system(("'" + PgTestScript() + "' stop '" + dir + "'").c_str()); }
  } stop{dir};
  const std::string url = Shell("'" + PgTestScript() + "' createdb '" + dir + "'");
  auto opened = Store::Open(url);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  std::unique_ptr<Store> store = std::move(opened).value();
  ASSERT_TRUE(store->Import(MocSmall(), kAdmin, NowMillis(), false).ok());
  // Fill the pool with connections opened before the restart.
  std::vector<std::thread> warm;
  for (int i = 0; i < 8; ++i) warm.emplace_back([&] { (void)store->LoadState(); });
  for (auto& t : warm) t.join();
  Shell("'" + PgTestScript() + "' restart '" + dir + "'");
  for (int i = 0; i < 20; ++i) {
    auto state = store->LoadState();
    EXPECT_TRUE(state.ok()) << i << ": " << state.status().ToString();
    ASSERT_TRUE(state.ok());
    const std::string node = "r06-n0" + std::to_string(1 + i % 4);
    HoldRequest hold;
    hold.tenant = "nlp-lab";
    hold.name = "job";
    hold.request = "{}";
    hold.now_ms = NowMillis();
    hold.ttl_ms = 60000;
    for (const auto& n : state->nodes) {
      if (n.name == node) hold.nodes.push_back({n.name, n.generation, "test rule"});
    }
    ASSERT_EQ(hold.nodes.size(), 1u);
    auto r = store->Reserve(hold, kAdmin);
    ASSERT_TRUE(r.ok()) << i << ": " << r.status().ToString();
    ASSERT_TRUE(store->Cancel(r->id, "", kAdmin, NowMillis()).ok()) << i;
  }
}

}  // namespace
}  // namespace topoplace
