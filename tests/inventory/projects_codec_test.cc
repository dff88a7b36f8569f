// Tenant projects and cluster templates in the scenario language: every key lands in its field,
// every mistake is reported at its file position with its key path, and a scenario with them
// dumps and loads back the same.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "inventory/scenario_codec.h"
#include "inventory/short_request.h"

namespace topoplace {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::SizeIs;

// Lines 1-22: an inventory of two classes; tenants, allocations, requests and templates follow.
constexpr std::string_view kInventory = R"(apiVersion: topoplace/v1
inventory:
  sites: [{name: s1}]
  powerDomains: [{name: pd-a, site: s1}, {name: pd-b, site: s1}]
  switches:
    - {name: spine, role: spine, site: s1}
    - {name: leaf-1, role: leaf, vendor: arista, uplinks: [spine]}
  racks:
    - {name: r1, site: s1, powerDomains: [pd-a, pd-b]}
  nodeClasses:
    - name: h100x8
      cpu: {cores: 112}
      memoryGiB: 2048
      gpu: {model: H100, count: 8}
    - name: cpu64
      cpu: {cores: 64}
      memoryGiB: 512
  nodes:
    - {name: n1, class: h100x8, rack: r1, powerDomain: pd-a, leaf: leaf-1}
    - {name: n2, class: h100x8, rack: r1, powerDomain: pd-b, leaf: leaf-1}
    - {name: n3, class: cpu64, rack: r1, powerDomain: pd-a, leaf: leaf-1}
    - {name: n4, class: cpu64, rack: r1, powerDomain: pd-b, leaf: leaf-1}
)";

// Line 23 on: a tenant with two projects and one without.
constexpr std::string_view kTenants = R"(tenants:
  - name: nlp-lab
    quota: {nodes: 16, gpus: 128}
    projects:
      - {name: llm, quota: {nodes: 8, gpus: 64}, alertAt: [0.9, 0.5]}
      - {name: vision, quota: {gpus: 32}}
  - name: solo
)";

Result<Scenario> Load(std::string_view rest) {
  return LoadScenarioString(std::string(kInventory) + std::string(rest), "p.yaml");
}

std::vector<std::string> Errors(std::string_view rest) {
  Result<Scenario> r = Load(rest);
  EXPECT_FALSE(r.ok()) << "loaded although invalid:\n" << rest;
  if (r.ok()) return {};
  return r.status().messages();
}

constexpr std::string_view kTemplates = R"(clusterTemplates:
  - name: slurm-medium
    description: workers and a login node
    purpose: slurm
    topology: {locality: {level: rack}, spread: {level: powerDomain, maxFraction: 0.5}}
    compliance: [hipaa]
    exclusive: rack
    network: {roce: true}
    nodeSets:
      - {name: workers, class: h100x8, size: 2, topology: {locality: {level: leaf}}}
      - {name: login, class: cpu64, size: 1}
)";

TEST(ProjectsCodecTest, ProjectsLandInTheirTenant) {
  Result<Scenario> s = Load(std::string(kTenants) + R"(allocations:
  - {name: a1, tenant: nlp-lab, project: llm, nodes: [n1]}
  - {name: a2, tenant: solo, nodes: [n3], request: {nodes: 1}}
requests:
  - {name: r1, tenant: nlp-lab, project: vision, nodes: 1}
  - {name: r2, tenant: solo, project: default, nodes: 1}
)");
  ASSERT_TRUE(s.ok()) << s.status().message();
  ASSERT_THAT(s->tenants[0].projects, SizeIs(2));
  const Project& llm = s->tenants[0].projects[0];
  EXPECT_EQ(llm.name, "llm");
  EXPECT_EQ(llm.quota.nodes, 8);
  EXPECT_EQ(llm.quota.gpus, 64);
  EXPECT_FALSE(llm.quota.cpu_cores.has_value());
  EXPECT_THAT(llm.alert_at, ElementsAre(0.5, 0.9));
  EXPECT_EQ(s->tenants[0].projects[1].quota.gpus, 32);
  EXPECT_THAT(s->tenants[1].projects, SizeIs(0));
  EXPECT_EQ(s->allocations[0].project, "llm");
  EXPECT_EQ(s->allocations[1].project, "");  // absent: the default project
  ASSERT_TRUE(s->allocations[1].request.has_value());
  EXPECT_EQ(s->allocations[1].request->project, "");
  EXPECT_EQ(s->requests[0].project, "vision");
  EXPECT_EQ(s->requests[1].project, "default");
}

TEST(ProjectsCodecTest, TemplatesLandInTheirFields) {
  Result<Scenario> s = Load(kTemplates);
  ASSERT_TRUE(s.ok()) << s.status().message();
  ASSERT_THAT(s->cluster_templates, SizeIs(1));
  const ClusterTemplate& t = s->cluster_templates[0];
  EXPECT_EQ(t.name, "slurm-medium");
  EXPECT_EQ(t.description, "workers and a login node");
  EXPECT_EQ(t.purpose, Purpose::kSlurm);
  EXPECT_EQ(t.locality, (Locality{Level::kRack, LocalityMode::kRequired, 1}));
  ASSERT_TRUE(t.spread.has_value());
  EXPECT_EQ(t.spread->level, Level::kPowerDomain);
  EXPECT_EQ(t.spread->max_fraction, 0.5);
  EXPECT_THAT(t.compliance, ElementsAre("hipaa"));
  EXPECT_EQ(t.exclusive, Level::kRack);
  EXPECT_TRUE(t.roce);
  ASSERT_THAT(t.node_sets, SizeIs(2));
  EXPECT_EQ(t.node_sets[0].name, "workers");
  EXPECT_EQ(t.node_sets[0].node_class, "h100x8");
  EXPECT_EQ(t.node_sets[0].size, 2);
  EXPECT_EQ(t.node_sets[0].locality, (Locality{Level::kLeaf, LocalityMode::kRequired, 1}));
  EXPECT_FALSE(t.node_sets[1].locality.has_value());

  // Expanded, each set is a request of its own class and size; a set without its own topology
  // takes the template's.
  const std::vector<Request> rs = ExpandTemplate(t, "c1", "nlp-lab", "llm");
  ASSERT_THAT(rs, SizeIs(2));
  EXPECT_EQ(rs[0].name, "c1/workers");
  EXPECT_EQ(rs[0].project, "llm");
  EXPECT_EQ(rs[0].nodes, 2);
  EXPECT_THAT(rs[0].select.classes, ElementsAre("h100x8"));
  EXPECT_EQ(rs[0].locality->level, Level::kLeaf);
  EXPECT_EQ(rs[1].locality->level, Level::kRack);
  EXPECT_EQ(rs[1].purpose, Purpose::kSlurm);
}

TEST(ProjectsCodecTest, ProjectMistakesAreReportedAtTheirPosition) {
  std::vector<std::string> errors = Errors(R"(tenants:
  - name: nlp-lab
    quota: {nodes: 16, gpus: 128}
    projects:
      - {name: llm, quota: {nodes: 20}, colour: red}
      - {name: llm}
)");
  ASSERT_THAT(errors, SizeIs(3));
  // Line 27 is the first project; its nodes limit is at column 36, the unknown key at column 41.
  EXPECT_EQ(errors[0],
            "p.yaml:27:36: tenants[0].projects[0].quota.nodes: project \"llm\" has quota nodes "
            "20, above tenant \"nlp-lab\"'s quota nodes 16; expected at most 16 (a project's "
            "quota is a share of its tenant's)");
  EXPECT_THAT(errors[1], HasSubstr("p.yaml:27:41: tenants[0].projects[0].colour: unknown key"));
  EXPECT_THAT(errors[2], HasSubstr("p.yaml:28:16: tenants[0].projects[1].name: duplicate project "
                                   "name \"llm\" (first at 27:16)"));
}

TEST(ProjectsCodecTest, AProjectMustBeOneOfTheTenantsProjects) {
  std::vector<std::string> errors = Errors(std::string(kTenants) + R"(allocations:
  - {name: a1, tenant: solo, project: llm, nodes: [n1]}
requests:
  - {name: r1, tenant: nlp-lab, project: speech, nodes: 1}
)");
  ASSERT_THAT(errors, SizeIs(2));
  // Lines 31 and 33.
  EXPECT_EQ(errors[0],
            "p.yaml:31:39: allocations[0].project: project \"llm\" is not a project of tenant "
            "\"solo\"; expected \"default\" or no project (tenant \"solo\" declares no projects)");
  EXPECT_EQ(errors[1],
            "p.yaml:33:42: requests[0].project: project \"speech\" is not a project of tenant "
            "\"nlp-lab\"; expected one of llm, vision, or no project (\"default\")");
}

TEST(ProjectsCodecTest, AnAllocationsRequestTakesItsProjectFromTheAllocation) {
  std::vector<std::string> errors = Errors(std::string(kTenants) + R"(allocations:
  - {name: a1, tenant: nlp-lab, nodes: [n1], request: {nodes: 1, project: llm}}
)");
  ASSERT_THAT(errors, SizeIs(1));
  EXPECT_THAT(errors[0], HasSubstr("allocations[0].request.project: unknown key"));
}

TEST(ProjectsCodecTest, TemplateMistakesAreReportedAtTheirPosition) {
  std::vector<std::string> errors = Errors(R"(clusterTemplates:
  - name: t1
    nodeSets:
      - {name: a, class: h100x4, size: 0}
      - {name: a, class: cpu64, size: 1, topology: {locality: {level: leafs}}}
  - name: t1
    purpose: k8s
    nodeSets: []
    spare: 1
)");
  ASSERT_THAT(errors, SizeIs(8));
  // Line 26 is the first node set.
  EXPECT_EQ(errors[0],
            "p.yaml:26:26: clusterTemplates[0].nodeSets[0].class: unknown node class \"h100x4\" "
            "(did you mean \"h100x8\"?); expected one of cpu64, h100x8");
  EXPECT_THAT(errors[1], HasSubstr("p.yaml:26:40: clusterTemplates[0].nodeSets[0].size: 0 is out "
                                   "of range; expected an integer from 1 to 1000000"));
  EXPECT_THAT(errors[2], HasSubstr("p.yaml:27:16: clusterTemplates[0].nodeSets[1].name: duplicate "
                                   "node set name \"a\" (first at 26:16)"));
  EXPECT_THAT(errors[3],
              HasSubstr("p.yaml:27:71: clusterTemplates[0].nodeSets[1].topology.locality.level: "
                        "unknown level \"leafs\"; expected one of nvlink, leaf, rack"));
  EXPECT_THAT(errors[4], HasSubstr("p.yaml:28:11: clusterTemplates[1].name: duplicate cluster "
                                   "template name \"t1\" (first at 24:11)"));
  EXPECT_THAT(errors[5], HasSubstr("p.yaml:29:14: clusterTemplates[1].purpose: unknown purpose "
                                   "\"k8s\"; expected one of openshift, slurm, baremetal"));
  EXPECT_THAT(errors[6], HasSubstr("p.yaml:30:15: clusterTemplates[1].nodeSets: no node sets"));
  EXPECT_THAT(errors[7], HasSubstr("p.yaml:31:5: clusterTemplates[1].spare: unknown key"));
}

TEST(ProjectsCodecTest, ProjectsAndTemplatesRoundTrip) {
  Result<Scenario> s = Load(std::string(kTenants) + R"(allocations:
  - {name: a1, tenant: nlp-lab, project: llm, nodes: [n1]}
  - {name: a2, tenant: nlp-lab, project: vision, nodes: [n2], request: {nodes: 1, priority: 3}}
requests:
  - {name: r1, tenant: nlp-lab, project: vision, nodes: 1}
)" + std::string(kTemplates));
  ASSERT_TRUE(s.ok()) << s.status().message();
  const std::string yaml = DumpScenario(*s);
  Result<Scenario> again = LoadScenarioString(yaml, "dumped.yaml");
  ASSERT_TRUE(again.ok()) << again.status().message() << "\n" << yaml;
  EXPECT_TRUE(*again == *s) << yaml;
  EXPECT_EQ(again->allocations[1].request->project, "vision");
  EXPECT_EQ(DumpScenario(*again), yaml);
}

TEST(ProjectsCodecTest, AScenarioWithoutProjectsDumpsNoProjectKeys) {
  Result<Scenario> s = Load(R"(tenants: [{name: solo}]
requests: [{name: r1, tenant: solo, nodes: 1}]
)");
  ASSERT_TRUE(s.ok()) << s.status().message();
  const std::string yaml = DumpScenario(*s);
  EXPECT_THAT(yaml, ::testing::Not(HasSubstr("project")));
  EXPECT_THAT(yaml, ::testing::Not(HasSubstr("clusterTemplates")));
}

TEST(ProjectsCodecTest, ShortFormsAndRequestFilesCarryTheProject) {
  Result<Request> r = ParseShortRequest("nodes=2,tenant=nlp-lab,project=llm", "--shape");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->tenant, "nlp-lab");
  EXPECT_EQ(r->project, "llm");

  Result<Request> file = LoadRequestString("name: r1\ntenant: nlp-lab\nproject: llm\nnodes: 2\n", "r.yaml");
  ASSERT_TRUE(file.ok()) << file.status().message();
  EXPECT_EQ(file->project, "llm");
  Result<Request> again = LoadRequestString(DumpRequest(*file), "dumped.yaml");
  ASSERT_TRUE(again.ok()) << again.status().message();
  EXPECT_EQ(*again, *file);
}

}  // namespace
}  // namespace topoplace
