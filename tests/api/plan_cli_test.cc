// `topoplace plan show` and `plan list`, run as a process against a store file: a scenario imported
// with `topoplace import`, then a bare-metal cluster with its plan, steps, milestones and tenant
// network written through the store as a server's runner would. Checks what a user sees: the
// header, steps and addresses in text and JSON, by plan, allocation and cluster id, the list with
// steps done, and the exit code and message for an id that names nothing.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "inventory/store.h"
#include "tests/api/cli_runner.h"

namespace topoplace {
namespace {

namespace fs = std::filesystem;
using testing::RunTopoplace;
using Json = nlohmann::json;

const Actor kRunner{"runner", "system", ""};
const NetworkPolicy kPolicy{4000, 100, 199, "10.128.0.0/16", 24};

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// The first line of `text` whose first word is `word`, or "".
std::string LineStarting(const std::string& text, const std::string& word) {
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    std::istringstream words(line);
    std::string first;
    if (words >> first && first == word) return line;
  }
  return "";
}

PlanStep Step(std::string id, std::string layer, std::string driver, std::string action,
              std::string node) {
  PlanStep s;
  s.id = std::move(id);
  s.layer = std::move(layer);
  s.driver = std::move(driver);
  s.action = std::move(action);
  s.node = std::move(node);
  return s;
}

// A store with the bare-metal lab imported and:
//  - cluster `cluster_` of lab-a on ra-n1 and ra-n2, carried out by plan `plan_`: FAILED, its
//    network step done, ra-n1's power-on failed after 3 attempts with a long log line holding a
//    terminal escape, ra-n2's still pending; network `net_` with addresses for both nodes and for
//    ra-n3, which belongs to no step of this plan;
//  - a PROGRESSING plan `other_` of lab-b with one pending step;
//  - cluster `bare_cluster_` of lab-b (rb-n1) without a plan.
class PlanCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("topoplace-plan-cli-" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    db_ = (dir_ / "store.db").string();
    auto imported = RunTopoplace("import scenarios/baremetal-lab.yaml --db '" + db_ + "'");
    ASSERT_EQ(imported.exit_code, 0) << imported.out << imported.err;

    auto opened = Store::Open(db_);
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    Store& store = **opened;

    Plan plan;
    plan.tenant = "lab-a";
    plan.purpose = "baremetal";
    plan.steps = {Step("network/network-allocate", "l3", "dnsmasq", "network-allocate", ""),
                  Step("ra-n1/power-on", "bmc", "ipmi", "power-on", "ra-n1"),
                  Step("ra-n2/power-on", "bmc", "ipmi", "power-on", "ra-n2")};
    plan.milestones = {{"requested", NowMillis()}};
    auto cluster = store.CreateCluster(Hold(store, "lab-a", {"ra-n1", "ra-n2"}), "baremetal", "[]",
                                       kRunner, &plan);
    ASSERT_TRUE(cluster.ok()) << cluster.status().ToString();
    cluster_ = cluster->id;
    allocation_ = cluster->allocation_id;
    auto stored = store.PlanOfAllocation(allocation_);
    ASSERT_TRUE(stored.ok()) << stored.status().ToString();
    plan_ = stored->id;

    auto net = store.AcquireNetwork("lab-a", "lab-a", kPolicy,
                                    {{"ra-n1", "eth0", "02:00:00:0a:01:01", ""},
                                     {"ra-n2", "eth0", "02:00:00:0a:01:02", ""},
                                     {"ra-n3", "eth0", "02:00:00:0a:01:03", ""}},
                                    kRunner);
    ASSERT_TRUE(net.ok()) << net.status().ToString();
    net_ = *net;

    PlanStep network = stored->steps[0];
    network.state = StepState::kDone;
    network.attempts = 1;
    network.log = "vlan " + std::to_string(net_.vlan) + ", subnet " + net_.subnet;
    ASSERT_TRUE(store.SaveStep(plan_, network, kRunner).ok());
    PlanStep power = stored->steps[1];
    power.state = StepState::kFailed;
    power.attempts = 3;
    power.log = "BMC 127.0.0.1:9001 \x1b[2J did not answer: " + std::string(200, 'x') + " TAIL";
    ASSERT_TRUE(store.SaveStep(plan_, power, kRunner).ok());
    long_log_ = power.log;

    Plan header = *stored;
    header.status = PlanStatus::kFailed;
    header.error = "ra-n1/power-on: BMC did not answer";
    header.network = net_.id;
    header.milestones.push_back({"assigned-to-tenant", NowMillis()});
    header.updated_ms = 0;
    ASSERT_TRUE(store.SavePlanHeader(header, kRunner).ok());

    Plan other;
    other.tenant = "lab-b";
    other.allocation = "alc-elsewhere";
    other.purpose = "baremetal";
    other.steps = {Step("rb-n4/power-on", "bmc", "redfish", "power-on", "rb-n4")};
    auto created = store.CreatePlan(other, kRunner);
    ASSERT_TRUE(created.ok()) << created.status().ToString();
    other_ = created->id;

    auto bare = store.CreateCluster(Hold(store, "lab-b", {"rb-n1"}), "baremetal", "[]", kRunner);
    ASSERT_TRUE(bare.ok()) << bare.status().ToString();
    bare_cluster_ = bare->id;
  }
  void TearDown() override { fs::remove_all(dir_); }

  static HoldRequest Hold(Store& store, const std::string& tenant,
                          const std::vector<std::string>& nodes) {
    HoldRequest h;
    h.tenant = tenant;
    h.name = "lab";
    h.request = "{}";
    h.now_ms = NowMillis();
    auto state = store.LoadState();
    EXPECT_TRUE(state.ok()) << state.status().ToString();
    if (!state.ok()) return h;
    for (const std::string& node : nodes) {
      for (const NodeRecord& n : state->nodes) {
        if (n.name == node) h.nodes.push_back({n.name, n.generation, "test"});
      }
    }
    return h;
  }

  testing::CliRun RunPlan(const std::string& args) {
    return RunTopoplace("plan " + args + " --db '" + db_ + "'");
  }

  fs::path dir_;
  std::string db_;
  std::string cluster_, allocation_, plan_, other_, bare_cluster_;
  TenantNetwork net_;
  std::string long_log_;
};

TEST_F(PlanCliTest, ShowPrintsTheHeaderStepsAndThisPlansAddresses) {
  auto run = RunPlan("show " + plan_);
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  const std::string& out = run.out;
  EXPECT_EQ(out.rfind("plan " + plan_ + "\n", 0), 0u) << out;
  EXPECT_TRUE(Contains(LineStarting(out, "allocation"), allocation_)) << out;
  EXPECT_TRUE(Contains(LineStarting(out, "tenant"), "lab-a")) << out;
  EXPECT_TRUE(Contains(LineStarting(out, "purpose"), "baremetal")) << out;
  EXPECT_TRUE(Contains(LineStarting(out, "status"), "FAILED")) << out;
  EXPECT_TRUE(Contains(LineStarting(out, "error"), "ra-n1/power-on: BMC did not answer")) << out;
  const std::string network = LineStarting(out, "network");
  EXPECT_TRUE(Contains(network, "vlan " + std::to_string(net_.vlan))) << out;
  EXPECT_TRUE(Contains(network, "subnet " + net_.subnet)) << out;
  EXPECT_TRUE(Contains(network, "gateway " + net_.gateway)) << out;
  EXPECT_TRUE(Contains(LineStarting(out, "requested"), "Z")) << out;  // a milestone with its time
  EXPECT_TRUE(Contains(LineStarting(out, "assigned-to-tenant"), "Z")) << out;
  EXPECT_TRUE(Contains(out, "steps: 1 of 3 done")) << out;

  const std::string head = LineStarting(out, "ID");
  for (const char* column : {"LAYER", "DRIVER", "PHASE", "STATE", "ATTEMPTS", "LOG"})
    EXPECT_TRUE(Contains(head, column)) << head;
  const std::string failed = LineStarting(out, "ra-n1/power-on");
  for (const char* cell : {" bmc ", " ipmi ", " deploy ", " failed ", " 3 ", "BMC 127.0.0.1:9001"})
    EXPECT_TRUE(Contains(failed, cell)) << cell << " in " << failed;
  // The long log is cut to a width, and its escape sequence shown, not sent to the terminal.
  EXPECT_TRUE(Contains(failed, "...")) << failed;
  EXPECT_FALSE(Contains(failed, "TAIL")) << failed;
  EXPECT_LT(failed.size(), 200u) << failed;
  EXPECT_TRUE(Contains(failed, "\\x1b[2J")) << failed;
  EXPECT_FALSE(Contains(out, "\x1b")) << out;
  EXPECT_TRUE(Contains(LineStarting(out, "network/network-allocate"), " done ")) << out;
  EXPECT_TRUE(Contains(LineStarting(out, "ra-n2/power-on"), " pending ")) << out;

  // Every address of this plan's nodes; ra-n3's, on the same tenant network, is another plan's.
  ASSERT_EQ(net_.addresses.size(), 3u);
  for (const NodeAddress& a : net_.addresses) {
    const std::string line = LineStarting(out, a.node);
    if (a.node == "ra-n3") {
      EXPECT_EQ(line, "") << out;
      continue;
    }
    EXPECT_TRUE(Contains(line, a.address)) << a.node << ": " << out;
    EXPECT_TRUE(Contains(line, a.mac)) << a.node << ": " << out;
    EXPECT_TRUE(Contains(line, "eth0")) << a.node << ": " << out;
  }
}

TEST_F(PlanCliTest, ShowJsonByAllocationUsesTheApiFieldNames) {
  auto run = RunPlan("show " + allocation_ + " --json");
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  const Json j = Json::parse(run.out);
  EXPECT_EQ(j["id"], plan_);
  EXPECT_EQ(j["allocation"], allocation_);
  EXPECT_EQ(j["tenant"], "lab-a");
  EXPECT_EQ(j["purpose"], "baremetal");
  EXPECT_EQ(j["status"], "FAILED");
  EXPECT_EQ(j["error"], "ra-n1/power-on: BMC did not answer");
  ASSERT_EQ(j["milestones"].size(), 2u);
  EXPECT_EQ(j["milestones"][0]["name"], "requested");
  EXPECT_FALSE(j["milestones"][0]["at"].get<std::string>().empty());

  ASSERT_EQ(j["steps"].size(), 3u);
  const Json& power = j["steps"][1];
  EXPECT_EQ(power["id"], "ra-n1/power-on");
  EXPECT_EQ(power["layer"], "bmc");
  EXPECT_EQ(power["driver"], "ipmi");
  EXPECT_EQ(power["action"], "power-on");
  EXPECT_EQ(power["phase"], "deploy");
  EXPECT_EQ(power["state"], "failed");
  EXPECT_EQ(power["attempts"], 3);
  EXPECT_EQ(power["node"], "ra-n1");
  EXPECT_EQ(power["log"], long_log_) << "JSON carries the whole log line";
  EXPECT_EQ(j["steps"][0]["state"], "done");

  const Json& net = j["network"];
  EXPECT_EQ(net["id"], net_.id);
  EXPECT_EQ(net["vlan"], net_.vlan);
  EXPECT_EQ(net["subnet"], net_.subnet);
  EXPECT_EQ(net["gateway"], net_.gateway);
  ASSERT_EQ(net["addresses"].size(), 2u) << "only this plan's nodes";
  for (const Json& a : net["addresses"]) {
    EXPECT_NE(a["node"], "ra-n3");
    for (const char* key : {"node", "port", "mac", "address"}) EXPECT_TRUE(a.contains(key)) << key;
  }
}

TEST_F(PlanCliTest, ShowByClusterFindsThePlanThroughItsAllocation) {
  auto run = RunPlan("show " + cluster_);
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  EXPECT_EQ(run.out.rfind("plan " + plan_ + "\n", 0), 0u) << run.out;
  auto json = RunPlan("show " + cluster_ + " --json");
  ASSERT_EQ(json.exit_code, 0) << json.out << json.err;
  EXPECT_EQ(Json::parse(json.out)["id"], plan_);
}

TEST_F(PlanCliTest, ListShowsOneLinePerPlanWithStepsDone) {
  auto run = RunPlan("list");
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  for (const char* column : {"ALLOCATION", "TENANT", "PURPOSE", "STATUS", "STEPS", "UPDATED"})
    EXPECT_TRUE(Contains(LineStarting(run.out, "ID"), column)) << run.out;
  const std::string failed = LineStarting(run.out, plan_);
  for (const std::string& cell : {allocation_, std::string("lab-a"), std::string("baremetal"),
                                  std::string("FAILED"), std::string(" 1/3 ")})
    EXPECT_TRUE(Contains(failed, cell)) << cell << " in " << run.out;
  const std::string progressing = LineStarting(run.out, other_);
  EXPECT_TRUE(Contains(progressing, "PROGRESSING")) << run.out;
  EXPECT_TRUE(Contains(progressing, " 0/1 ")) << run.out;

  auto unfinished = RunPlan("list --unfinished");
  ASSERT_EQ(unfinished.exit_code, 0) << unfinished.err;
  EXPECT_EQ(LineStarting(unfinished.out, plan_), "") << "a failed plan is finished";
  EXPECT_NE(LineStarting(unfinished.out, other_), "") << unfinished.out;

  auto json = RunPlan("list --json");
  ASSERT_EQ(json.exit_code, 0) << json.err;
  const Json plans = Json::parse(json.out)["plans"];
  ASSERT_EQ(plans.size(), 2u) << json.out;
  const Json& first = plans[0]["id"] == plan_ ? plans[0] : plans[1];
  EXPECT_EQ(first["id"], plan_);
  EXPECT_EQ(first["allocation"], allocation_);
  EXPECT_EQ(first["status"], "FAILED");
  EXPECT_EQ(first["stepsDone"], 1);
  EXPECT_EQ(first["stepsTotal"], 3);
  EXPECT_FALSE(first["updatedAt"].get<std::string>().empty());
}

TEST_F(PlanCliTest, AnIdThatNamesNoPlanIsNotFoundAndNamed) {
  auto plan = RunPlan("show pln-nosuchplan");
  EXPECT_EQ(plan.exit_code, 2) << plan.out << plan.err;
  EXPECT_TRUE(Contains(plan.err, "no plan \"pln-nosuchplan\"")) << plan.err;

  auto alloc = RunPlan("show alc-nosuchalloc --json");
  EXPECT_EQ(alloc.exit_code, 2) << alloc.out << alloc.err;
  const Json j = Json::parse(alloc.out);
  EXPECT_EQ(j["error"]["code"], "allocation_not_found");
  EXPECT_TRUE(Contains(j["error"]["message"].get<std::string>(), "alc-nosuchalloc")) << alloc.out;

  // A cluster that exists but was not carried out by executors: says so, naming the cluster.
  auto bare = RunPlan("show " + bare_cluster_);
  EXPECT_EQ(bare.exit_code, 2) << bare.out << bare.err;
  EXPECT_TRUE(Contains(bare.err, "no plan carries out cluster \"" + bare_cluster_ + "\""))
      << bare.err;

  auto missing = RunTopoplace("plan list --db '" + (dir_ / "missing.db").string() + "'");
  EXPECT_EQ(missing.exit_code, 4) << missing.out << missing.err;
  EXPECT_TRUE(Contains(missing.err, "no store at")) << missing.err;
}

}  // namespace
}  // namespace topoplace
