// The store suite, run against both backends: migrations, import/export, holding nodes with
// generations, quotas, expiry, scoping, tokens and the audit chain.
#include "inventory/store.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <thread>

#include "inventory/migrations.h"
#include "inventory/scenario_codec.h"
#include "tests/service/databases.h"

namespace topoplace {
namespace {

using testing::NewStoreUrl;
using testing::RunSql;
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
  EXPECT_EQ(r->status, "held");
  auto mid = store_->LoadState();
  EXPECT_EQ(Node(*mid, "r03-n01").state, NodeState::kReserved);
  EXPECT_EQ(Node(*mid, "r03-n01").generation, g0 + 1);
  EXPECT_EQ(Node(*mid, "r03-n01").holder, r->id);
  EXPECT_GT(mid->state_version, before->state_version);

  auto a = store_->Commit(r->id, "nlp-lab", kAdmin, NowMillis());
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(a->nodes.size(), 2u);
  EXPECT_EQ(a->nodes[0].rule, "test rule");
  auto after = store_->LoadState();
  EXPECT_EQ(Node(*after, "r03-n01").state, NodeState::kAllocated);
  EXPECT_EQ(Node(*after, "r03-n01").holder, a->id);
  EXPECT_EQ(Node(*after, "r03-n01").generation, g0 + 2);

  // Committing twice is refused and changes nothing.
  auto again = store_->Commit(r->id, "", kAdmin, NowMillis());
  EXPECT_EQ(again.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(StoreErrorCode(again.status()), "reservation_not_held");

  auto rel = store_->Release(a->id, "nlp-lab", kAdmin, NowMillis());
  ASSERT_TRUE(rel.ok()) << rel.status().ToString();
  auto freed = store_->LoadState();
  EXPECT_EQ(Node(*freed, "r03-n01").state, NodeState::kAvailable);
  EXPECT_EQ(Node(*freed, "r03-n01").holder, "");
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
  EXPECT_EQ(StoreErrorCode(r.status()), "generation_conflict");
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
  EXPECT_EQ(StoreErrorCode(r.status()), "exclusive_conflict");
  EXPECT_NE(r.status().message().find("nlp-lab"), std::string::npos) << r.status().message();
  // ...nor keep a leaf to itself that nlp-lab already holds nodes under.
  r = store_->Reserve(other_exclusive, kAdmin);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(StoreErrorCode(r.status()), "exclusive_conflict");
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
  const std::string code = StoreErrorCode(r.status());
  EXPECT_TRUE(code == "quota_exceeded" || code == "budget_exceeded") << code;
  auto state = store_->LoadState();
  EXPECT_EQ(Node(*state, "r03-n01").state, NodeState::kAvailable);
  // Quota lowered under a held reservation: the commit re-checks and refuses.
  auto ok = store_->Reserve(Hold("med-imaging", {"r03-n05"}), kAdmin);
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  RunSql(url_, "UPDATE tenants SET quota_nodes = 1 WHERE name = 'med-imaging'");
  auto c = store_->Commit(ok->id, "", kAdmin, NowMillis());
  EXPECT_EQ(StoreErrorCode(c.status()), "quota_exceeded");
}

TEST_P(StoreTest, ExpiredReservationsReleaseTheirNodes) {
  auto r = store_->Reserve(Hold("nlp-lab", {"r04-n01"}, /*ttl_ms=*/1), kAdmin);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  auto c = store_->Commit(r->id, "", kAdmin, NowMillis() + 5);
  EXPECT_EQ(StoreErrorCode(c.status()), "reservation_expired");
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
  EXPECT_EQ(got->status, "expired");
  EXPECT_EQ(StoreErrorCode((*reopened)->Commit(r->id, "", kAdmin, NowMillis()).status()),
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

INSTANTIATE_TEST_SUITE_P(Backends, StoreTest, ::testing::Values("sqlite", "postgresql"),
                         [](const auto& p) { return p.param; });

}  // namespace
}  // namespace topoplace
