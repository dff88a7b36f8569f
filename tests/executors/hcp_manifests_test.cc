// The hcp-manifests cluster driver with its hub stand-in: the manifests it applies pass the
// field-by-field check against the condensed CRD schemas (tests/fixtures/crds/), the check
// catches broken manifests, and what the stand-in's directory holds follows the calls.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <thread>

#include "executors/drivers.h"
#include "executors/hcp_manifests_driver.h"
#include "executors/runner.h"
#include "inventory/executors_codec.h"
#include "tests/executors/crd_schema.h"

namespace topoplace {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using testing::CheckManifest;
using testing::CrdSchema;
using testing::Describe;
using testing::LoadCrdSchema;
using testing::ParseManifest;

const char* kReleaseImage = "registry.test/release@sha256:0123456789abcdef";

std::string FixtureDir() {
  return std::string(TOPOPLACE_SOURCE_DIR_DEFAULT) + "/tests/fixtures/crds/";
}

std::string ReadText(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

void WriteText(const fs::path& p, const std::string& text) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << text;
}

// Every file under `dir` (relative path -> content): what the hub stand-in holds.
std::map<std::string, std::string> Snapshot(const fs::path& dir) {
  std::map<std::string, std::string> files;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (e.is_regular_file()) files[fs::relative(e.path(), dir).string()] = ReadText(e.path());
  }
  return files;
}

ClusterSpec Cluster(const std::string& id, const std::string& name, const std::string& subnet,
                    int machines) {
  ClusterSpec c;
  c.id = id;
  c.name = name;
  c.tenant = "acme";
  c.project = "ml";
  c.purpose = "openshift";
  c.network.id = "net-" + id;
  c.network.tenant = "acme";
  c.network.key = "acme/ml";
  c.network.vlan = 101;
  c.network.subnet = subnet;
  const std::string prefix = subnet.substr(0, subnet.rfind('.') + 1);
  c.network.gateway = prefix + "1";
  for (int i = 0; i < machines; ++i) {
    NodeAddress a;
    a.node = id + "-n0" + std::to_string(i + 1);
    a.port = "eth0";
    char mac[32];
    std::snprintf(mac, sizeof mac, "02:00:00:%02x:00:%02x", static_cast<unsigned>(id.size()),
                  i + 1);
    a.mac = mac;
    a.address = prefix + std::to_string(10 + i);
    c.network.addresses.push_back(a);
  }
  return c;
}

ClusterMember Member(const NodeAddress& a) {
  ClusterMember m;
  m.node = a.node;
  m.address = a.address;
  m.mac = a.mac;
  m.node_class = "gpu-a";
  m.cpus = 64;
  m.memory_gib = 512;
  m.gpus = 8;
  return m;
}

class HcpManifestsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/hcp-manifests-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    for (const char* kind : {"HostedCluster", "NodePool", "InfraEnv", "Agent"}) {
      std::string file = kind;
      for (char& ch : file) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      Result<CrdSchema> s = LoadCrdSchema(FixtureDir() + file + ".schema.yaml");
      ASSERT_TRUE(s.ok()) << s.status().ToString();
      ASSERT_EQ(s->kind, kind);
      schemas_[kind] = *s;
    }
  }
  void TearDown() override { fs::remove_all(dir_); }

  DriverOptions Options() const {
    return {{"applyDir", dir_.string()},
            {"releaseImage", kReleaseImage},
            {"baseDomain", "lab.topoplace.test"},
            {"sshKeySecret", "lab-ssh-key"}};
  }

  std::unique_ptr<ClusterDriver> Driver(DriverOptions options = {}) const {
    if (options.empty()) options = Options();
    Result<std::unique_ptr<ClusterDriver>> d =
        BuiltinDrivers().MakeCluster("hcp-manifests", options);
    EXPECT_TRUE(d.ok()) << d.status().ToString();
    return d.ok() ? std::move(*d) : nullptr;
  }

  // Creates the cluster and hands every machine over.
  void Deploy(ClusterDriver& d, const ClusterSpec& c) const {
    ASSERT_TRUE(d.EnsureCluster(c).ok());
    for (const NodeAddress& a : c.network.addresses) {
      Status s = d.AddNode(c, Member(a));
      ASSERT_TRUE(s.ok()) << s.ToString();
    }
  }

  // Every object the stand-in holds, by kind.
  std::map<std::string, std::vector<json>> Objects() const {
    std::map<std::string, std::vector<json>> out;
    for (const auto& [path, text] : Snapshot(dir_)) {
      Result<json> j = ParseManifest(text);
      EXPECT_TRUE(j.ok()) << path;
      if (j.ok()) out[(*j)["kind"].get<std::string>()].push_back(*j);
    }
    return out;
  }

  json Object(const std::string& kind, const std::string& name) const {
    const auto objects = Objects();  // kept: a range-for does not extend a temporary's member
    auto it = objects.find(kind);
    if (it == objects.end()) return nullptr;
    for (const json& o : it->second) {
      if (o["metadata"]["name"] == name) return o;
    }
    return nullptr;
  }

  json AgentOf(const std::string& node) const {
    const auto objects = Objects();
    auto it = objects.find("Agent");
    if (it == objects.end()) return nullptr;
    for (const json& o : it->second) {
      if (o["metadata"]["annotations"]["topoplace.io/node"] == node) return o;
    }
    return nullptr;
  }

  fs::path FileOf(const json& o) const {
    return dir_ / o["metadata"]["namespace"].get<std::string>() / o["kind"].get<std::string>() /
           (o["metadata"]["name"].get<std::string>() + ".json");
  }

  fs::path dir_;
  std::map<std::string, CrdSchema> schemas_;
};

// Whether `selector` (matchLabels only, as ours are) selects an object labelled `labels`.
bool MatchLabels(const json& selector, const json& labels) {
  for (const auto& [k, v] : selector["matchLabels"].items()) {
    if (!labels.contains(k) || labels[k] != v) return false;
  }
  return !selector["matchLabels"].empty();
}

// ---- the manifests against the upstream fields -------------------------------------------------

TEST_F(HcpManifestsTest, ManifestsOfASeveralMachineClusterPassTheSchemaCheck) {
  auto d = Driver();
  ASSERT_NE(d, nullptr);
  const ClusterSpec c = Cluster("plan-7", "train", "10.128.3.0/24", 3);
  Deploy(*d, c);

  auto objects = Objects();
  ASSERT_EQ(objects["HostedCluster"].size(), 1u);
  ASSERT_EQ(objects["NodePool"].size(), 1u);
  ASSERT_EQ(objects["InfraEnv"].size(), 1u);
  ASSERT_EQ(objects["Agent"].size(), 3u);
  for (const auto& [kind, list] : objects) {
    ASSERT_TRUE(schemas_.count(kind)) << kind;
    for (const json& o : list) {
      std::vector<ErrorDetail> errors = CheckManifest(schemas_.at(kind), o);
      EXPECT_TRUE(errors.empty()) << kind << " " << o["metadata"]["name"] << ":\n"
                                  << Describe(errors);
    }
  }

  const json& hc = objects["HostedCluster"][0];
  const json& pool = objects["NodePool"][0];
  const std::string name = HcpClusterName(c, "clusters");
  EXPECT_EQ(hc["metadata"]["name"], name);
  EXPECT_EQ(hc["metadata"]["namespace"], "clusters");
  EXPECT_EQ(hc["spec"]["platform"]["type"], "Agent");
  EXPECT_EQ(hc["spec"]["release"]["image"], kReleaseImage);
  EXPECT_EQ(hc["spec"]["dns"]["baseDomain"], "lab.topoplace.test");
  EXPECT_EQ(hc["spec"]["pullSecret"]["name"], "pull-secret");
  EXPECT_EQ(hc["spec"]["sshKey"]["name"], "lab-ssh-key");
  EXPECT_EQ(hc["spec"]["networking"]["machineNetwork"][0]["cidr"], "10.128.3.0/24");
  EXPECT_EQ(pool["spec"]["clusterName"], name);
  EXPECT_EQ(pool["spec"]["replicas"], 3);
  EXPECT_EQ(pool["spec"]["platform"]["agent"]["agentLabelSelector"]["matchLabels"],
            json({{kHcpClusterLabel, "plan-7"}}));
  EXPECT_EQ(objects["InfraEnv"][0]["spec"]["agentLabels"], json({{kHcpClusterLabel, "plan-7"}}));
  for (const NodeAddress& a : c.network.addresses) {
    const json agent = AgentOf(a.node);
    ASSERT_FALSE(agent.is_null()) << a.node;
    EXPECT_EQ(agent["spec"]["approved"], true);
    EXPECT_EQ(agent["spec"]["hostname"], a.node);
    EXPECT_EQ(agent["spec"]["role"], "worker");
    EXPECT_EQ(agent["metadata"]["annotations"]["topoplace.io/mac"], a.mac);
    EXPECT_EQ(agent["metadata"]["annotations"]["topoplace.io/address"], a.address);
    EXPECT_TRUE(MatchLabels(pool["spec"]["platform"]["agent"]["agentLabelSelector"],
                            agent["metadata"]["labels"]));
  }
}

TEST_F(HcpManifestsTest, EveryPublishingStrategyPassesTheSchemaCheck) {
  for (const char* strategy : {"LoadBalancer", "Route", "NodePort"}) {
    DriverOptions o = Options();
    o["servicePublishing"] = strategy;
    o["nodePortAddress"] = "10.0.0.5";
    auto d = Driver(o);
    ASSERT_NE(d, nullptr);
    const ClusterSpec c = Cluster(std::string("p-") + strategy, "svc", "10.128.9.0/24", 1);
    Deploy(*d, c);
    const json hc = Object("HostedCluster", HcpClusterName(c, "clusters"));
    ASSERT_FALSE(hc.is_null());
    std::vector<ErrorDetail> errors = CheckManifest(schemas_.at("HostedCluster"), hc);
    EXPECT_TRUE(errors.empty()) << strategy << ":\n" << Describe(errors);
    EXPECT_EQ(hc["spec"]["services"][0]["servicePublishingStrategy"]["type"],
              std::string(strategy) == "LoadBalancer" ? "LoadBalancer" : strategy);
  }
}

// ---- the check can fail -------------------------------------------------------------------------

// The single error of `errors`, which must be of `code` at `path`.
void ExpectOneError(const std::vector<ErrorDetail>& errors, const std::string& path,
                    const std::string& code) {
  ASSERT_EQ(errors.size(), 1u) << Describe(errors);
  EXPECT_EQ(errors[0].path, path) << Describe(errors);
  EXPECT_EQ(errors[0].code, code) << Describe(errors);
}

TEST_F(HcpManifestsTest, BrokenManifestsAreCaughtWithTheirPath) {
  auto d = Driver();
  ASSERT_NE(d, nullptr);
  const ClusterSpec c = Cluster("plan-8", "broken", "10.128.4.0/24", 2);
  Deploy(*d, c);
  const std::string name = HcpClusterName(c, "clusters");
  const json hc = Object("HostedCluster", name);
  const json pool = Object("NodePool", name);
  const json agent = AgentOf(c.network.addresses[0].node);
  ASSERT_FALSE(hc.is_null());
  ASSERT_FALSE(pool.is_null());
  ASSERT_FALSE(agent.is_null());
  const CrdSchema& hcs = schemas_.at("HostedCluster");

  json unknown = hc;
  unknown["spec"]["platform"]["agent"]["agentNamspace"] = "typo";
  ExpectOneError(CheckManifest(hcs, unknown), "spec.platform.agent.agentNamspace", "unknown_field");

  json missing = hc;
  missing["spec"]["release"].erase("image");
  ExpectOneError(CheckManifest(hcs, missing), "spec.release.image", "missing_field");

  json missing_in_item = hc;
  missing_in_item["spec"]["services"][2].erase("servicePublishingStrategy");
  ExpectOneError(CheckManifest(hcs, missing_in_item), "spec.services[2].servicePublishingStrategy",
                 "missing_field");

  json wrong_enum = hc;
  wrong_enum["spec"]["services"][1]["servicePublishingStrategy"]["type"] = "Ingress";
  ExpectOneError(CheckManifest(hcs, wrong_enum), "spec.services[1].servicePublishingStrategy.type",
                 "unknown_value");

  json wrong_type = pool;
  wrong_type["spec"]["replicas"] = "2";
  ExpectOneError(CheckManifest(schemas_.at("NodePool"), wrong_type), "spec.replicas", "wrong_type");

  json wrong_pattern = hc;
  wrong_pattern["spec"]["release"]["image"] = "an image with spaces";
  ExpectOneError(CheckManifest(hcs, wrong_pattern), "spec.release.image", "pattern_mismatch");

  json too_few = hc;
  too_few["spec"]["services"].erase(3);
  ExpectOneError(CheckManifest(hcs, too_few), "spec.services", "out_of_range");

  json bad_label = agent;
  bad_label["metadata"]["labels"]["topoplace.io/cluster"] = "-not a label value";
  ExpectOneError(CheckManifest(schemas_.at("Agent"), bad_label),
                 "metadata.labels[\"topoplace.io/cluster\"]", "pattern_mismatch");

  json wrong_kind = agent;
  wrong_kind["apiVersion"] = "agent-install.openshift.io/v1alpha1";
  ExpectOneError(CheckManifest(schemas_.at("Agent"), wrong_kind), "apiVersion", "wrong_kind");
  // An Agent is not an InfraEnv (and its spec's fields are unknown there).
  const std::vector<ErrorDetail> not_infraenv = CheckManifest(schemas_.at("InfraEnv"), agent);
  ASSERT_FALSE(not_infraenv.empty());
  EXPECT_EQ(not_infraenv[0].path, "kind");
  EXPECT_EQ(not_infraenv[0].code, "wrong_kind");
}

TEST_F(HcpManifestsTest, YamlManifestsAreCheckedWithYamlTypes) {
  const CrdSchema& s = schemas_.at("Agent");
  const std::string good = R"(
apiVersion: agent-install.openshift.io/v1beta1
kind: Agent
metadata: {name: a1, namespace: clusters, labels: {topoplace.io/cluster: plan-1}}
spec: {approved: true, hostname: r1-n01, role: worker}
)";
  Result<json> ok = ParseManifest(good);
  ASSERT_TRUE(ok.ok());
  EXPECT_TRUE(CheckManifest(s, *ok).empty()) << Describe(CheckManifest(s, *ok));

  // A quoted "true" is a string, not the boolean the schema wants; a missing role is caught too.
  Result<json> bad = ParseManifest(R"(
apiVersion: agent-install.openshift.io/v1beta1
kind: Agent
metadata: {name: a1, namespace: clusters}
spec: {approved: "true", hostname: r1-n01}
)");
  ASSERT_TRUE(bad.ok());
  std::vector<ErrorDetail> errors = CheckManifest(s, *bad);
  ASSERT_EQ(errors.size(), 2u) << Describe(errors);
  EXPECT_EQ(errors[0].path, "spec.approved");
  EXPECT_EQ(errors[0].code, "wrong_type");
  EXPECT_EQ(errors[1].path, "spec.role");
  EXPECT_EQ(errors[1].code, "missing_field");
}

TEST_F(HcpManifestsTest, AMalformedSchemaFixtureIsRefused) {
  const fs::path f = dir_ / "bad.schema.yaml";
  WriteText(f, "apiVersion: x/v1\nkind: X\nfields:\n  spec.a: {type: string}\n");
  Result<CrdSchema> s = LoadCrdSchema(f.string());
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("spec.a"), std::string::npos) << s.status().message();
  WriteText(f, "apiVersion: x/v1\nkind: X\nfields:\n  spec: {type: object, requird: true}\n");
  s = LoadCrdSchema(f.string());
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("requird"), std::string::npos) << s.status().message();
}

// ---- the hub stand-in's directory ---------------------------------------------------------------

TEST_F(HcpManifestsTest, ApplyingTwiceLeavesIdenticalFiles) {
  const ClusterSpec c = Cluster("plan-9", "same", "10.128.5.0/24", 3);
  {
    auto d = Driver();
    ASSERT_NE(d, nullptr);
    Deploy(*d, c);
  }
  const auto first = Snapshot(dir_);
  ASSERT_EQ(first.size(), 6u);
  {
    auto d = Driver();  // a new process of ours, after a crash: same names, same text
    ASSERT_NE(d, nullptr);
    Deploy(*d, c);
    Deploy(*d, c);
  }
  EXPECT_EQ(Snapshot(dir_), first);
  for (const auto& [path, text] : first) {
    EXPECT_EQ(path.find(".tmp"), std::string::npos) << "a temporary file was left: " << path;
  }
}

TEST_F(HcpManifestsTest, ReadinessVerificationAndRemovalAreReadBackFromTheDirectory) {
  auto d = Driver();
  ASSERT_NE(d, nullptr);
  const ClusterSpec c = Cluster("plan-10", "life", "10.128.6.0/24", 2);
  const ClusterMember m1 = Member(c.network.addresses[0]);
  const ClusterMember m2 = Member(c.network.addresses[1]);
  const std::string name = HcpClusterName(c, "clusters");

  // Nothing applied: a machine cannot join, readiness is not known.
  EXPECT_EQ(d->AddNode(c, m1).code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(d->NodeReady(c, m1).status().code(), StatusCode::kFailedPrecondition);

  ASSERT_TRUE(d->EnsureCluster(c).ok());
  EXPECT_EQ(Object("NodePool", name)["spec"]["replicas"], 2);
  Result<bool> ready = d->NodeReady(c, m1);
  ASSERT_TRUE(ready.ok());
  EXPECT_FALSE(*ready);
  EXPECT_EQ(d->VerifyNode(c, m1).code(), StatusCode::kFailedPrecondition);

  ASSERT_TRUE(d->AddNode(c, m1).ok());
  ASSERT_TRUE(d->AddNode(c, m2).ok());
  ready = d->NodeReady(c, m1);
  ASSERT_TRUE(ready.ok());
  EXPECT_TRUE(*ready);
  Status verified = d->VerifyNode(c, m1);
  EXPECT_TRUE(verified.ok()) << verified.ToString();

  // An Agent that loses its approval or the NodePool's label is neither ready nor verified.
  const json agent1 = AgentOf(m1.node);
  const fs::path agent1_file = FileOf(agent1);
  ASSERT_TRUE(fs::exists(agent1_file));
  json unapproved = agent1;
  unapproved["spec"]["approved"] = false;
  WriteText(agent1_file, unapproved.dump(2));
  EXPECT_FALSE(*d->NodeReady(c, m1));
  EXPECT_EQ(d->VerifyNode(c, m1).code(), StatusCode::kFailedPrecondition);
  json unlabelled = agent1;
  unlabelled["metadata"]["labels"].erase(kHcpClusterLabel);
  WriteText(agent1_file, unlabelled.dump(2));
  EXPECT_FALSE(*d->NodeReady(c, m1));
  verified = d->VerifyNode(c, m1);
  EXPECT_EQ(verified.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(verified.message().find("selector"), std::string::npos) << verified.ToString();
  ASSERT_TRUE(d->AddNode(c, m1).ok());  // applying again repairs it
  EXPECT_TRUE(d->VerifyNode(c, m1).ok());

  // Leaving: the Agent's file goes, replicas follow, a second removal is success.
  ASSERT_TRUE(d->RemoveNode(c, m1.node).ok());
  EXPECT_FALSE(fs::exists(agent1_file));
  EXPECT_EQ(Object("NodePool", name)["spec"]["replicas"], 1);
  EXPECT_TRUE(d->RemoveNode(c, m1.node).ok());
  EXPECT_FALSE(*d->NodeReady(c, m1));

  // The cluster stays while a machine is in it.
  Status removed = d->RemoveCluster(c);
  EXPECT_EQ(removed.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(removed.message().find(AgentOf(m2.node)["metadata"]["name"].get<std::string>()),
            std::string::npos)
      << removed.ToString();
  EXPECT_FALSE(Object("HostedCluster", name).is_null());

  ASSERT_TRUE(d->RemoveNode(c, m2.node).ok());
  EXPECT_EQ(Object("NodePool", name)["spec"]["replicas"], 0);
  ASSERT_TRUE(d->RemoveCluster(c).ok());
  EXPECT_TRUE(Snapshot(dir_).empty());
  EXPECT_TRUE(d->RemoveCluster(c).ok());
}

TEST_F(HcpManifestsTest, EachNodePoolSelectsOnlyItsOwnClustersAgents) {
  auto d = Driver();
  ASSERT_NE(d, nullptr);
  const ClusterSpec a = Cluster("plan-a", "train", "10.128.7.0/24", 2);
  ClusterSpec b = Cluster("plan-b", "train", "10.128.8.0/24", 2);  // same tenant, project, name
  Deploy(*d, a);
  Deploy(*d, b);
  const std::string name_a = HcpClusterName(a, "clusters");
  const std::string name_b = HcpClusterName(b, "clusters");
  ASSERT_NE(name_a, name_b);

  auto objects = Objects();
  ASSERT_EQ(objects["NodePool"].size(), 2u);
  ASSERT_EQ(objects["Agent"].size(), 4u);
  for (const json& pool : objects["NodePool"]) {
    const json& selector = pool["spec"]["platform"]["agent"]["agentLabelSelector"];
    const std::string cluster = pool["spec"]["clusterName"];
    const ClusterSpec& own = cluster == name_a ? a : b;
    int selected = 0;
    for (const json& agent : objects["Agent"]) {
      const bool mine =
          agent["metadata"]["annotations"]["topoplace.io/node"].get<std::string>().rfind(
              own.id + "-", 0) == 0;
      EXPECT_EQ(MatchLabels(selector, agent["metadata"]["labels"]), mine)
          << cluster << " / " << agent["metadata"]["name"];
      selected += mine;
    }
    EXPECT_EQ(selected, 2);
  }
  EXPECT_NE(AgentOf(a.network.addresses[0].node)["metadata"]["labels"][kHcpClusterLabel],
            AgentOf(b.network.addresses[0].node)["metadata"]["labels"][kHcpClusterLabel]);
  EXPECT_TRUE(d->VerifyNode(b, Member(b.network.addresses[0])).ok());

  // Another NodePool of a HostedCluster that takes its Agents from the same namespace, whose
  // selector would also claim b's Agents, makes b's verification fail; one whose HostedCluster
  // takes Agents from elsewhere does not.
  json greedy = Object("NodePool", name_a);
  greedy["metadata"]["name"] = "greedy";
  greedy["spec"]["platform"]["agent"]["agentLabelSelector"] = {
      {"matchExpressions", json::array({{{"key", kHcpClusterLabel}, {"operator", "Exists"}}})}};
  const fs::path greedy_file = dir_ / "clusters" / "NodePool" / "greedy.json";
  WriteText(greedy_file, greedy.dump(2));
  Status verified = d->VerifyNode(b, Member(b.network.addresses[0]));
  EXPECT_EQ(verified.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(verified.message().find("greedy"), std::string::npos) << verified.ToString();
  fs::remove(greedy_file);
  json elsewhere = Object("HostedCluster", name_a);
  elsewhere["metadata"]["namespace"] = "other";
  elsewhere["spec"]["platform"]["agent"]["agentNamespace"] = "other-agents";
  greedy["metadata"]["namespace"] = "other";
  fs::create_directories(dir_ / "other" / "NodePool");
  fs::create_directories(dir_ / "other" / "HostedCluster");
  WriteText(dir_ / "other" / "NodePool" / "greedy.json", greedy.dump(2));
  WriteText(dir_ / "other" / "HostedCluster" / (name_a + ".json"), elsewhere.dump(2));
  verified = d->VerifyNode(b, Member(b.network.addresses[0]));
  EXPECT_TRUE(verified.ok()) << verified.ToString();
  fs::remove_all(dir_ / "other");

  // Removing a's machines and a leaves b whole.
  for (const NodeAddress& n : a.network.addresses) ASSERT_TRUE(d->RemoveNode(a, n.node).ok());
  ASSERT_TRUE(d->RemoveCluster(a).ok());
  objects = Objects();
  EXPECT_EQ(objects["HostedCluster"].size(), 1u);
  EXPECT_EQ(objects["Agent"].size(), 2u);
  EXPECT_EQ(Object("NodePool", name_b)["spec"]["replicas"], 2);
  EXPECT_TRUE(d->VerifyNode(b, Member(b.network.addresses[1])).ok());
}

// ---- names, access, options ---------------------------------------------------------------------

TEST_F(HcpManifestsTest, NamesAreBoundedDeterministicDnsLabels) {
  const std::regex label("[a-z]([-a-z0-9]*[a-z0-9])?");
  ClusterSpec c = Cluster("plan-11", "Big_Training Run #4", "10.128.10.0/24", 1);
  c.tenant = "ACME Research & Development Laboratories International";
  c.project = "Project-With-A-Very-Long-Name-Indeed";
  const std::string n = HcpClusterName(c, "clusters");
  EXPECT_TRUE(std::regex_match(n, label)) << n;
  EXPECT_LE(n.size(), 40u);
  EXPECT_EQ(n.rfind("acme-research", 0), 0u) << n;
  EXPECT_EQ(HcpClusterName(c, "clusters"), n);
  ClusterSpec other = c;
  other.id = "plan-12";
  EXPECT_NE(HcpClusterName(other, "clusters"), n);
  // `<namespace>-<name>` (where the hosted control plane runs) stays a DNS-1123 label.
  const std::string ns(50, 'n');
  EXPECT_LE(ns.size() + 1 + HcpClusterName(c, ns).size(), 63u);

  auto d = Driver();
  ASSERT_NE(d, nullptr);
  Deploy(*d, c);
  // An id that is no label value still gives the Agents a label only they carry.
  ClusterSpec odd = Cluster("plan 18/odd:id", "Odd", "10.128.16.0/24", 2);
  for (NodeAddress& a : odd.network.addresses)
    a.node = "R1_N" + a.address.substr(a.address.rfind('.'));
  Deploy(*d, odd);
  const json odd_agent = AgentOf(odd.network.addresses[0].node);
  ASSERT_FALSE(odd_agent.is_null());
  EXPECT_EQ(odd_agent["spec"]["hostname"], "r1-n-10");
  const json odd_pool = Object("NodePool", HcpClusterName(odd, "clusters"));
  ASSERT_FALSE(odd_pool.is_null());
  EXPECT_TRUE(MatchLabels(odd_pool["spec"]["platform"]["agent"]["agentLabelSelector"],
                          odd_agent["metadata"]["labels"]));
  EXPECT_FALSE(MatchLabels(odd_pool["spec"]["platform"]["agent"]["agentLabelSelector"],
                           AgentOf(c.network.addresses[0].node)["metadata"]["labels"]));
  EXPECT_TRUE(d->VerifyNode(odd, Member(odd.network.addresses[1])).ok());
  ASSERT_EQ(Objects()["Agent"].size(), 3u);
  for (const auto& [kind, list] : Objects()) {
    for (const json& o : list) {
      EXPECT_TRUE(CheckManifest(schemas_.at(kind), o).empty())
          << Describe(CheckManifest(schemas_.at(kind), o));
    }
  }
}

TEST_F(HcpManifestsTest, AccessNamesTheApiTheConsoleAndTheKubeconfigSecret) {
  auto d = Driver();
  ASSERT_NE(d, nullptr);
  const ClusterSpec c = Cluster("plan-12", "web", "10.128.11.0/24", 1);
  const std::string name = HcpClusterName(c, "clusters");
  const ClusterAccess access = d->Access(c);
  EXPECT_EQ(access.at("apiUrl"), "https://api." + name + ".lab.topoplace.test:6443");
  EXPECT_EQ(access.at("consoleUrl"),
            "https://console-openshift-console.apps." + name + ".lab.topoplace.test");
  EXPECT_EQ(access.at("kubeconfig"), "clusters/" + name + "-admin-kubeconfig");
  EXPECT_EQ(access.size(), 3u);
}

TEST_F(HcpManifestsTest, BadOptionsAndClustersAreRefused) {
  auto refused = [&](DriverOptions o, const std::string& word) {
    Result<std::unique_ptr<ClusterDriver>> d = BuiltinDrivers().MakeCluster("hcp-manifests", o);
    ASSERT_FALSE(d.ok()) << word;
    EXPECT_EQ(d.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(d.status().message().find(word), std::string::npos) << d.status().message();
  };
  DriverOptions o = Options();
  o["applyDri"] = "/tmp/x";
  refused(o, "applyDri");
  o = Options();
  o.erase("applyDir");
  refused(o, "applyDir");
  o = Options();
  o.erase("releaseImage");
  refused(o, "releaseImage");
  o = Options();
  o["baseDomain"] = "not a domain";
  refused(o, "baseDomain");
  o = Options();
  o["servicePublishing"] = "NodePort";
  refused(o, "nodePortAddress");
  o = Options();
  o["namespace"] = "Clusters";
  refused(o, "namespace");
  o = Options();
  o["serviceNetwork"] = "10.132.0.0/16";  // inside the default cluster network
  refused(o, "serviceNetwork");

  auto d = Driver();
  ASSERT_NE(d, nullptr);
  ClusterSpec slurm = Cluster("plan-13", "hpc", "10.128.12.0/24", 1);
  slurm.purpose = "slurm";
  EXPECT_EQ(d->EnsureCluster(slurm).code(), StatusCode::kInvalidArgument);
  const ClusterSpec overlapping = Cluster("plan-14", "x", "10.133.0.0/24", 1);
  Status s = d->EnsureCluster(overlapping);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("clusterNetwork"), std::string::npos) << s.ToString();
  const ClusterSpec c = Cluster("plan-15", "ok", "10.128.13.0/24", 1);
  ASSERT_TRUE(d->EnsureCluster(c).ok());
  ClusterMember bad_mac = Member(c.network.addresses[0]);
  bad_mac.mac = "02:00:00:zz:00:01";
  EXPECT_EQ(d->AddNode(c, bad_mac).code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(Snapshot(dir_).size() == 3u) << "a refused call wrote something";
}

TEST_F(HcpManifestsTest, MachinesJoiningAtOnceAreAllCounted) {
  auto d = Driver();
  ASSERT_NE(d, nullptr);
  const ClusterSpec c = Cluster("plan-16", "wide", "10.128.14.0/24", 8);
  ASSERT_TRUE(d->EnsureCluster(c).ok());
  std::vector<Status> results(c.network.addresses.size());
  std::vector<std::thread> threads;
  for (size_t i = 0; i < c.network.addresses.size(); ++i) {
    threads.emplace_back([&, i] { results[i] = d->AddNode(c, Member(c.network.addresses[i])); });
  }
  for (std::thread& t : threads) t.join();
  for (const Status& s : results) EXPECT_TRUE(s.ok()) << s.ToString();
  auto objects = Objects();
  EXPECT_EQ(objects["Agent"].size(), 8u);
  EXPECT_EQ(Object("NodePool", HcpClusterName(c, "clusters"))["spec"]["replicas"], 8);
  for (const NodeAddress& a : c.network.addresses) {
    Result<bool> ready = d->NodeReady(c, Member(a));
    ASSERT_TRUE(ready.ok());
    EXPECT_TRUE(*ready) << a.node;
  }
}

// The settings file names the driver under `cluster:` with its options, read strictly.
TEST_F(HcpManifestsTest, TheSettingsFileConfiguresTheDriverStrictly) {
  const std::string head = "apiVersion: topoplace/v1\ndrivers:\n  cluster:\n    hcp-manifests:\n";
  const std::string good = head + "      applyDir: " + dir_.string() +
                           "\n      releaseImage: registry.test/release:1\n"
                           "      baseDomain: lab.topoplace.test\n      hostPrefix: 24\n"
                           "      servicePublishing: Route\n";
  Result<ExecutorSettings> settings = LoadExecutorSettingsString(good, "settings.yaml");
  ASSERT_TRUE(settings.ok()) << settings.status().ToString();
  Result<RunnerDrivers> drivers = MakeRunnerDrivers(BuiltinDrivers(), *settings);
  ASSERT_TRUE(drivers.ok()) << drivers.status().ToString();
  ASSERT_TRUE(drivers->cluster.count("hcp-manifests"));
  const ClusterSpec c = Cluster("plan-17", "conf", "10.128.15.0/24", 1);
  ASSERT_TRUE(drivers->cluster.at("hcp-manifests")->EnsureCluster(c).ok());
  const json hc = Object("HostedCluster", HcpClusterName(c, "clusters"));
  ASSERT_FALSE(hc.is_null());
  EXPECT_EQ(hc["spec"]["networking"]["clusterNetwork"][0]["hostPrefix"], 24);
  EXPECT_EQ(hc["spec"]["services"][0]["servicePublishingStrategy"]["type"], "Route");

  Result<ExecutorSettings> typo =
      LoadExecutorSettingsString(head + "      applyDir: /x\n      relaseImage: r:1\n", "s.yaml");
  ASSERT_FALSE(typo.ok());
  EXPECT_NE(typo.status().message().find("relaseImage"), std::string::npos)
      << typo.status().message();
  Result<ExecutorSettings> range =
      LoadExecutorSettingsString(head + "      applyDir: /x\n      hostPrefix: 40\n", "s.yaml");
  ASSERT_FALSE(range.ok());
  EXPECT_NE(range.status().message().find("hostPrefix"), std::string::npos)
      << range.status().message();
  // Read, but refused by the driver: the release image is the deployment's to name.
  Result<ExecutorSettings> no_release =
      LoadExecutorSettingsString(head + "      applyDir: /x\n", "s.yaml");
  ASSERT_TRUE(no_release.ok()) << no_release.status().ToString();
  Result<RunnerDrivers> refused = MakeRunnerDrivers(BuiltinDrivers(), *no_release);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("releaseImage"), std::string::npos);
}

}  // namespace
}  // namespace topoplace
