// Clusters handed over to SLURM end to end (DESIGN.md section 6a): `topoplace serve --executors`
// carries a committed placement out on real peers (ipmi_sim BMCs, Open vSwitch, dnsmasq) and hands
// the machines to a real slurmctld (Slurm 22.05): each machine's slurmd is started by its BMC's
// power-on hook once it has its lease, the slurm driver puts it in the tenant project's partition,
// waits until SLURM reports it idle and runs a job on it. Every assertion reads SLURM's own state
// (scontrol, sinfo, srun) beside the API's answer.
#include <gtest/gtest.h>

#include <algorithm>
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

}  // namespace
}  // namespace topoplace::testing
