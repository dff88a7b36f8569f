// Clusters handed over to SLURM end to end (DESIGN.md section 6a): `topoplace serve --executors`
// carries a committed placement out on real peers (ipmi_sim BMCs, Open vSwitch, dnsmasq) and hands
// the machines to a real slurmctld (Slurm 22.05): each machine's slurmd is started by its BMC's
// power-on hook once it has its lease, the slurm driver puts it in the tenant project's partition,
// waits until SLURM reports it idle and runs a job on it. Every assertion reads SLURM's own state
// (scontrol, sinfo, srun) beside the API's answer.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>

#include "tests/executors/baremetal_lab.h"

namespace topoplace::testing {
namespace {

std::vector<std::string> ClusterNodes(const json& k) {
  std::vector<std::string> out;
  for (const auto& n : k.value("nodes", json::array())) out.push_back(n.value("name", ""));
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> MilestoneNames(const json& k) {
  std::vector<std::string> out;
  for (const auto& m : k["milestones"]) out.push_back(m["name"]);
  return out;
}

std::string Steps(const json& k) {
  std::string out;
  for (const auto& s : k["steps"]) {
    out += "\n  " + s["id"].get<std::string>() + " " + s["state"].get<std::string>() + ": " +
           s["log"].get<std::string>();
  }
  return out;
}

std::vector<std::string> Sorted(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  return v;
}

// The name a one-node job on `node` in `partition` prints, run by us on the controller.
std::string Hostname(BaremetalLab& lab, const std::string& partition, const std::string& node) {
  Result<ProcessResult> r =
      lab.slurm().Client("srun", {"-N1", "-w", node, "-p", partition, "hostname"}, 60);
  if (!r.ok()) return "error: " + r.status().message();
  std::string out = r->out;
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return r->exit_code == 0 ? out : "exit " + std::to_string(r->exit_code) + ": " + r->err;
}

TEST(HandoverE2E, TenantsGetTheirOwnPartitionsAJobRunsOnEveryNodeAndReleaseLeavesSlurm) {
  LabOptions options;
  options.nodes = 4;
  options.slurm = true;
  options.boot_timeout_seconds = 90;
  BaremetalLab lab(options);

  json a = lab.Call("POST", "/v1/clusters",
                    {{"tenant", "acme"}, {"name", "train"}, {"nodes", 2}, {"purpose", "slurm"}},
                    201);
  json g = lab.Call("POST", "/v1/clusters",
                    {{"tenant", "globex"}, {"name", "sim"}, {"nodes", 1}, {"purpose", "slurm"}},
                    201);
  a = lab.WaitForCluster(a["id"], "READY", 180);
  g = lab.WaitForCluster(g["id"], "READY", 180);
  ASSERT_EQ(a["status"], "READY") << a.dump(1) << Steps(a);
  ASSERT_EQ(g["status"], "READY") << g.dump(1) << Steps(g);

  // The story's milestones, in order, each with a time that does not go back.
  EXPECT_EQ(MilestoneNames(a),
            (std::vector<std::string>{"requested", "assigned-to-tenant", "assigned-to-project",
                                      "connecting-to-slurm", "ready-in-slurm"}));
  for (size_t i = 1; i < a["milestones"].size(); ++i) {
    EXPECT_LE(a["milestones"][i - 1]["at"].get<std::string>(),
              a["milestones"][i]["at"].get<std::string>());
  }

  // Each tenant's partition holds exactly its cluster's machines, as SLURM itself says.
  const std::string pa = a["access"]["partition"], pg = g["access"]["partition"];
  EXPECT_EQ(pa, "acme-default");
  EXPECT_EQ(pg, "globex-default");
  EXPECT_FALSE(a["access"]["controller"].get<std::string>().empty());
  const std::vector<std::string> an = ClusterNodes(a), gn = ClusterNodes(g);
  ASSERT_EQ(an.size(), 2u);
  ASSERT_EQ(gn.size(), 1u);
  EXPECT_EQ(Sorted(lab.slurm().PartitionNodes(pa)), an);
  EXPECT_EQ(Sorted(lab.slurm().PartitionNodes(pg)), gn);

  // A job runs on each machine (ours, beside the one the driver ran before READY); a machine of
  // another tenant's partition cannot be asked for in this one.
  for (const std::string& n : an) EXPECT_EQ(Hostname(lab, pa, n), n);
  EXPECT_EQ(Hostname(lab, pg, gn[0]), gn[0]);
  EXPECT_NE(Hostname(lab, pa, gn[0]), gn[0]);
  for (const std::string& n : an) {
    EXPECT_EQ(lab.slurm().Node(n)["NodeAddr"],
              [&] {
                for (const auto& x : a["network"]["addresses"]) {
                  if (x["node"] == n) return x["address"].get<std::string>();
                }
                return std::string();
              }())
        << n << " is registered at its tenant network address";
  }

  // Release: acme's machines leave SLURM (and are powered off, back in quarantine); globex keeps
  // its partition and machine.
  lab.Call("DELETE", "/v1/clusters/" + a["id"].get<std::string>(), nullptr, 202);
  a = lab.WaitForCluster(a["id"], "DELETED", 120);
  ASSERT_EQ(a["status"], "DELETED") << Steps(a);
  for (const std::string& n : an) {
    EXPECT_FALSE(lab.slurm().NodeKnown(n)) << n << " is still known to SLURM";
    const int i = BaremetalLab::Index(n);
    EXPECT_FALSE(lab.PoweredOn(i)) << n;
    EXPECT_EQ(lab.PortTag(i), 4000) << n;
  }
  EXPECT_FALSE(lab.slurm().PartitionExists(pa));
  EXPECT_TRUE(lab.slurm().PartitionExists(pg));
  EXPECT_EQ(Hostname(lab, pg, gn[0]), gn[0]);
}

// The files the hub stand-in holds for kind `kind` (HostedCluster, NodePool, InfraEnv, Agent).
std::vector<json> HubObjects(const BaremetalLab& lab, const std::string& kind) {
  std::vector<json> out;
  if (!std::filesystem::exists(lab.hub_dir())) return out;
  for (const auto& f : std::filesystem::recursive_directory_iterator(lab.hub_dir())) {
    if (!f.is_regular_file() || f.path().parent_path().filename() != kind) continue;
    std::ifstream in(f.path());
    json j = json::parse(in, nullptr, false);
    if (!j.is_discarded()) out.push_back(j);
  }
  return out;
}

TEST(HandoverE2E, AnOpenshiftClusterFromATemplateIsInstalledWithItsAccessAndTornDown) {
  LabOptions options;
  options.nodes = 4;
  options.openshift = true;
  options.project = "web";
  options.extra_yaml =
      "clusterTemplates:\n"
      "  - name: openshift-small\n"
      "    description: three workers and one infra node\n"
      "    purpose: openshift\n"
      "    nodeSets:\n"
      "      - {name: workers, class: cpu, size: 2}\n"
      "      - {name: infra, class: cpu, size: 1}\n"
      "  - name: openshift-big\n"
      "    purpose: openshift\n"
      "    nodeSets:\n"
      "      - {name: control, class: cpu, size: 1}\n"
      "      - {name: workers, class: cpu, size: 5}\n";
  BaremetalLab lab(options);

  json listed = lab.Call("GET", "/v1/cluster-templates", nullptr, 200);
  ASSERT_EQ(listed["templates"].size(), 2u) << listed.dump(1);
  EXPECT_EQ(listed["templates"][0]["nodes"], 3);
  // More than the lab has: nothing is placed, and the set that cannot fit is named.
  json big = lab.Call("POST", "/v1/clusters", {{"template", "openshift-big"}, {"tenant", "acme"}},
                      422);
  EXPECT_EQ(big["nodeSet"], "workers") << big.dump(1);
  // A template order takes only its own fields.
  json extra = lab.Call("POST", "/v1/clusters",
                        {{"template", "openshift-small"}, {"tenant", "acme"}, {"nodes", 3}}, 400);
  EXPECT_EQ(extra["errors"][0]["pointer"], "/nodes") << extra.dump(1);
  // An unknown template is named, not guessed.
  json missing = lab.Call("POST", "/v1/clusters",
                          {{"template", "openshift-huge"}, {"tenant", "acme"}}, 404);
  EXPECT_EQ(missing["code"], "template_not_found") << missing.dump(1);

  json k = lab.Call("POST", "/v1/clusters",
                    {{"template", "openshift-small"}, {"tenant", "acme"}, {"project", "web"},
                     {"name", "shop"}},
                    201);
  EXPECT_EQ(k["purpose"], "openshift");
  ASSERT_EQ(k["placement"]["nodeSets"].size(), 2u) << k.dump(1);
  EXPECT_EQ(k["placement"]["nodeSets"][0]["nodes"].size(), 2u);
  EXPECT_EQ(k["placement"]["nodeSets"][1]["nodes"].size(), 1u);
  k = lab.WaitForCluster(k["id"], "READY", 120);
  ASSERT_EQ(k["status"], "READY") << k.dump(1) << Steps(k);
  EXPECT_EQ(MilestoneNames(k),
            (std::vector<std::string>{"requested", "assigned-to-tenant", "assigned-to-project",
                                      "installing", "ready"}));
  const std::vector<std::string> nodes = ClusterNodes(k);
  ASSERT_EQ(nodes.size(), 3u);
  // Credentials by reference and a console link.
  EXPECT_EQ(k["access"]["apiUrl"].get<std::string>().rfind("https://api.", 0), 0u) << k.dump(1);
  EXPECT_NE(k["access"]["consoleUrl"].get<std::string>().find("console"), std::string::npos);
  EXPECT_NE(k["access"]["kubeconfig"].get<std::string>().find("admin-kubeconfig"),
            std::string::npos);

  // What the hub was given: one hosted cluster whose pool takes exactly the three machines.
  ASSERT_EQ(HubObjects(lab, "HostedCluster").size(), 1u);
  const std::vector<json> pools = HubObjects(lab, "NodePool");
  ASSERT_EQ(pools.size(), 1u);
  EXPECT_EQ(pools[0]["spec"]["replicas"], 3);
  std::vector<std::string> hosts;
  for (const json& a : HubObjects(lab, "Agent")) {
    EXPECT_EQ(a["spec"]["approved"], true);
    hosts.push_back(a["spec"]["hostname"]);
  }
  EXPECT_EQ(Sorted(hosts), nodes);
  for (const std::string& n : nodes) EXPECT_TRUE(lab.PoweredOn(BaremetalLab::Index(n))) << n;

  lab.Call("DELETE", "/v1/clusters/" + k["id"].get<std::string>(), nullptr, 202);
  k = lab.WaitForCluster(k["id"], "DELETED", 90);
  ASSERT_EQ(k["status"], "DELETED") << Steps(k);
  EXPECT_TRUE(HubObjects(lab, "Agent").empty());
  EXPECT_TRUE(HubObjects(lab, "HostedCluster").empty());
  for (const std::string& n : nodes) {
    EXPECT_FALSE(lab.PoweredOn(BaremetalLab::Index(n))) << n;
    EXPECT_EQ(lab.PortTag(BaremetalLab::Index(n)), 4000) << n;
  }
}

}  // namespace
}  // namespace topoplace::testing
