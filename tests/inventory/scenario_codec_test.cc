// The scenario language: every key lands in the right model field, and bad input of every kind is
// reported with its position instead of crashing. Whole-file error cases live in
// tests/golden/invalid/ (golden_invalid_test.cc); the cases here need code to set up or inspect.
#include "inventory/scenario_codec.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <random>

#include "inventory/generator.h"
#include "tests/inventory/test_files.h"

namespace topoplace {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::SizeIs;

// A complete, valid inventory the cases below add tenants and requests to.
constexpr std::string_view kInventory = R"(apiVersion: topoplace/v1
inventory:
  sites:
    - {name: mghpcc, region: us-east, jurisdiction: US, tags: [green, tier3]}
  powerDomains: [{name: pd-a, site: mghpcc}, {name: pd-b, site: mghpcc}]
  switches:
    - {name: spine-1, role: spine, vendor: arista, site: mghpcc, pod: pod-1}
    - {name: leaf-1, role: leaf, vendor: arista, site: mghpcc, pod: pod-1, uplinks: [spine-1]}
  racks:
    - {name: r1, site: mghpcc, row: row-1, pod: pod-1, powerDomains: [pd-a, pd-b], tags: [hipaa]}
  nodeClasses:
    - name: h100x8
      cpu: {cores: 112, model: xeon-8480}
      memoryGiB: 2048
      storageGiB: 30000
      gpu: {model: H100-SXM5-80GB, count: 8, memoryGiB: 80, nvlinkDomainSize: 8}
      costPerHour: 98.32
  nodes:
    - {name: n1, class: h100x8, rack: r1, powerDomain: pd-a, leaf: leaf-1,
       labels: {fw: "2.1", gen: 5, ib: true}, bmc: {protocol: ipmi, address: "10.0.0.1:623"},
       mac: "02:00:00:00:01:01"}
    - {name: n2, class: h100x8, rack: r1, powerDomain: pd-b, leaf: leaf-1, state: maintenance}
    - {name: n3, class: h100x8, rack: r1, powerDomain: pd-a, leaf: leaf-1, state: failed,
       bmc: {protocol: redfish, address: "bmc-n3.example:443"}}
    - {name: n4, class: h100x8, rack: r1, powerDomain: pd-b, leaf: leaf-1}
tenants:
  - name: lab
    quota: {nodes: 64, gpus: 512, cpuCores: 8000, memoryGiB: 150000.5, storageGiB: 2000000}
    compliance: [hipaa, gdpr]
    budgetPerHour: 5000
    alertAt: [0.95, 0.8]
  - name: startup
)";

Result<Scenario> Load(std::string_view yaml) { return LoadScenarioString(yaml, "test.yaml"); }

std::string WithRequests(std::string_view requests) {
  return std::string(kInventory) + "requests:\n" + std::string(requests);
}

// The messages of a load that must fail; empty (and a test failure) if it loaded.
std::vector<std::string> Errors(std::string_view yaml) {
  Result<Scenario> r = Load(yaml);
  EXPECT_FALSE(r.ok()) << "loaded although invalid:\n" << yaml;
  if (r.ok()) return {};
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  return r.status().messages();
}

TEST(ScenarioCodecTest, InventoryKeysLandInTheirFields) {
  Result<Scenario> r = Load(kInventory);
  ASSERT_TRUE(r.ok()) << r.status().message();
  const Inventory& inv = r->inventory;
  EXPECT_EQ(r->api_version, "topoplace/v1");
  ASSERT_THAT(inv.sites, SizeIs(1));
  EXPECT_EQ(inv.sites[0], (Site{"mghpcc", "us-east", "US", {"green", "tier3"}}));
  EXPECT_EQ(inv.power_domains[1], (PowerDomain{"pd-b", "mghpcc"}));
  EXPECT_EQ(inv.switches[0],
            (Switch{"spine-1", SwitchRole::kSpine, "arista", "mghpcc", "pod-1", {}, std::nullopt}));
  EXPECT_EQ(
      inv.switches[1],
      (Switch{
          "leaf-1", SwitchRole::kLeaf, "arista", "mghpcc", "pod-1", {"spine-1"}, std::nullopt}));
  EXPECT_EQ(inv.racks[0], (Rack{"r1", "mghpcc", "row-1", "pod-1", {"pd-a", "pd-b"}, {"hipaa"}}));
  const NodeClass& c = inv.node_classes[0];
  EXPECT_EQ(c.cpu, (CpuSpec{112, "xeon-8480"}));
  EXPECT_EQ(c.memory_gib, 2048);
  EXPECT_EQ(c.storage_gib, 30000);
  EXPECT_EQ(c.gpu, (GpuSpec{"H100-SXM5-80GB", 8, 80, 8}));
  EXPECT_EQ(c.cost_per_hour, 98.32);
  const Node& n1 = inv.nodes[0];
  EXPECT_EQ(n1.node_class, "h100x8");
  EXPECT_EQ(n1.rack, "r1");
  EXPECT_EQ(n1.power_domain, "pd-a");
  EXPECT_EQ(n1.leaf, "leaf-1");
  // Label values are strings whatever YAML type they were written as.
  EXPECT_EQ(n1.labels,
            (std::map<std::string, std::string>{{"fw", "2.1"}, {"gen", "5"}, {"ib", "true"}}));
  ASSERT_TRUE(n1.bmc.has_value());
  EXPECT_EQ(*n1.bmc, (BmcSpec{"ipmi", "10.0.0.1:623", "", ""}));
  EXPECT_EQ(n1.mac, "02:00:00:00:01:01");
  EXPECT_EQ(n1.state, NodeState::kAvailable);
  EXPECT_EQ(inv.nodes[1].state, NodeState::kMaintenance);
  EXPECT_EQ(inv.nodes[2].state, NodeState::kFailed);
  EXPECT_EQ(inv.nodes[2].bmc->protocol, "redfish");
  EXPECT_TRUE(inv.indexed()) << "the loader hands back an indexed inventory";
}

// The executors' keys (DESIGN.md section 6): BMC credentials and system, ports, switch management
// and the network policy.
constexpr std::string_view kExecutorInventory = R"(apiVersion: topoplace/v1
inventory:
  sites: [{name: lab, region: us-east, jurisdiction: US}]
  powerDomains: [{name: pd-a, site: lab}]
  switches:
    - {name: leaf-1, role: leaf, vendor: ovs, site: lab, management: {driver: ovs, bridge: br0}}
    - {name: leaf-2, role: leaf, vendor: ovs, site: lab, management: {driver: fake}}
  racks: [{name: r1, site: lab, powerDomains: [pd-a]}, {name: r2, site: lab, powerDomains: [pd-a]}]
  nodeClasses: [{name: cpu, cpu: {cores: 8}}]
  nodes:
    - {name: n1, class: cpu, rack: r1, powerDomain: pd-a, leaf: leaf-1, mac: "02:00:00:00:01:01",
       bmc: {protocol: ipmi, address: "127.0.0.1:9001", credentials: lab-bmc},
       ports: [{name: eth0, mac: "02:00:00:00:01:01", switch: leaf-1, port: p1},
               {name: eth1, mac: "02:00:00:00:01:02", switch: leaf-1, port: p2}]}
    - {name: n2, class: cpu, rack: r2, powerDomain: pd-a, leaf: leaf-2,
       bmc: {protocol: redfish, address: "https://127.0.0.1:8443/redfish", system: "1"},
       ports: [{name: eth0, mac: "02:00:00:00:02:01", switch: leaf-2, port: p1}]}
networks:
  quarantineVlan: 4000
  tenantVlans: {from: 100, to: 199}
  tenantSubnets: {pool: 10.128.0.0/16}
)";

TEST(ScenarioCodecTest, ExecutorKeysLandInTheirFields) {
  Result<Scenario> r = Load(kExecutorInventory);
  ASSERT_TRUE(r.ok()) << r.status().message();
  const Inventory& inv = r->inventory;
  EXPECT_EQ(inv.switches[0].management, (SwitchManagement{"ovs", "br0"}));
  EXPECT_EQ(inv.switches[1].management, (SwitchManagement{"fake", ""}));
  EXPECT_EQ(inv.nodes[0].bmc, (BmcSpec{"ipmi", "127.0.0.1:9001", "lab-bmc", ""}));
  // A Redfish BMC may be given as a base URL.
  EXPECT_EQ(inv.nodes[1].bmc, (BmcSpec{"redfish", "https://127.0.0.1:8443/redfish", "", "1"}));
  // A node's own `mac` may be one of its ports' (its first NIC).
  EXPECT_EQ(inv.nodes[0].ports,
            (std::vector<NodePort>{{"eth0", "02:00:00:00:01:01", "leaf-1", "p1"},
                                   {"eth1", "02:00:00:00:01:02", "leaf-1", "p2"}}));
  // The same port name on another switch is another port.
  EXPECT_EQ(inv.nodes[1].ports,
            (std::vector<NodePort>{{"eth0", "02:00:00:00:02:01", "leaf-2", "p1"}}));
  ASSERT_TRUE(inv.networks.has_value());
  EXPECT_EQ(*inv.networks, (NetworkPolicy{4000, 100, 199, "10.128.0.0/16", 24}))
      << "prefixLength defaults to 24";
}

TEST(ScenarioCodecTest, AScenarioWithoutNetworksHasNoPolicy) {
  Result<Scenario> r = Load(kInventory);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_FALSE(r->inventory.networks.has_value());
  EXPECT_EQ(DumpScenario(*r).find("networks:"), std::string::npos);
}

TEST(ScenarioCodecTest, ExecutorKeysRoundTrip) {
  Result<Scenario> r = Load(kExecutorInventory);
  ASSERT_TRUE(r.ok()) << r.status().message();
  const std::string yaml = DumpScenario(*r);
  EXPECT_THAT(yaml, HasSubstr("networks:\n  quarantineVlan: 4000\n  tenantVlans: {from: 100, to: "
                              "199}\n  tenantSubnets: {pool: 10.128.0.0/16, prefixLength: 24}\n"));
  EXPECT_THAT(yaml, HasSubstr("management: {driver: ovs, bridge: br0}"));
  EXPECT_THAT(yaml, HasSubstr("ports: [{name: eth0, mac: \"02:00:00:00:01:01\", switch: leaf-1, "
                              "port: p1}, {name: eth1"));
  Result<Scenario> again = LoadScenarioString(yaml, "dumped.yaml");
  ASSERT_TRUE(again.ok()) << again.status().message() << "\n" << yaml;
  EXPECT_TRUE(*again == *r);
  EXPECT_EQ(DumpScenario(*again), yaml);
}

TEST(ScenarioCodecTest, TenantKeysLandInTheirFieldsAndAlertsAreSorted) {
  Result<Scenario> r = Load(kInventory);
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_THAT(r->tenants, SizeIs(2));
  const Tenant& t = r->tenants[0];
  EXPECT_EQ(t.quota, (Quota{64, 512, 8000, 150000.5, 2000000}));
  EXPECT_THAT(t.compliance, ElementsAre("hipaa", "gdpr"));
  EXPECT_EQ(t.budget_per_hour, 5000);
  EXPECT_THAT(t.alert_at, ElementsAre(0.8, 0.95));
  const Tenant& bare = r->tenants[1];
  EXPECT_EQ(bare.quota, Quota{});
  EXPECT_FALSE(bare.budget_per_hour.has_value());
}

TEST(ScenarioCodecTest, EveryRequestKeyLandsInItsField) {
  Result<Scenario> r = Load(WithRequests(R"(
  - name: llm-train
    tenant: lab
    nodes: 16
    select:
      class: [h100x8]
      gpu: {model: ["H100*", "A100*"], count: ">=8"}
      memoryGiB: ">=1024"
      cpuCores: 112
      storageGiB: "<50000"
      labels: {fw: "2.1", zone: [a, b], os: {in: [rhel]}, bad: {notIn: [x, y]}, ib: {exists: true}, gone: {exists: false}}
    topology:
      locality: {level: leaf, mode: preferred, maxDomains: 2}
      spread: {level: powerDomain, maxPerDomain: 9, maxFraction: 0.5, minDomains: 2}
    compliance: [hipaa]
    exclusive: rack
    network: {roce: true}
    budget: {maxCostPerHour: 1600}
    purpose: openshift
    priority: 100
)"));
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_THAT(r->requests, SizeIs(1));
  const Request& q = r->requests[0];
  EXPECT_EQ(q.name, "llm-train");
  EXPECT_EQ(q.tenant, "lab");
  EXPECT_EQ(q.nodes, 16);
  EXPECT_FALSE(q.gpus.has_value());
  EXPECT_THAT(q.select.classes, ElementsAre("h100x8"));
  EXPECT_THAT(q.select.gpu_models, ElementsAre("H100*", "A100*"));
  EXPECT_EQ(q.select.gpu_count, (NumericPredicate{NumericPredicate::Op::kGe, 8}));
  EXPECT_EQ(q.select.memory_gib, (NumericPredicate{NumericPredicate::Op::kGe, 1024}));
  EXPECT_EQ(q.select.cpu_cores, (NumericPredicate{NumericPredicate::Op::kEq, 112}));
  EXPECT_EQ(q.select.storage_gib, (NumericPredicate{NumericPredicate::Op::kLt, 50000}));
  using Op = LabelPredicate::Op;
  EXPECT_THAT(q.select.labels, ElementsAre(LabelPredicate{"fw", Op::kIn, {"2.1"}},
                                           LabelPredicate{"zone", Op::kIn, {"a", "b"}},
                                           LabelPredicate{"os", Op::kIn, {"rhel"}},
                                           LabelPredicate{"bad", Op::kNotIn, {"x", "y"}},
                                           LabelPredicate{"ib", Op::kExists, {}},
                                           LabelPredicate{"gone", Op::kDoesNotExist, {}}));
  EXPECT_EQ(q.locality, (Locality{Level::kLeaf, LocalityMode::kPreferred, 2}));
  ASSERT_TRUE(q.spread.has_value());
  EXPECT_EQ(q.spread->level, Level::kPowerDomain);
  EXPECT_EQ(q.spread->max_per_domain, 9);
  EXPECT_EQ(q.spread->max_fraction, 0.5);
  EXPECT_EQ(q.spread->min_domains, 2);
  EXPECT_THAT(q.compliance, ElementsAre("hipaa"));
  EXPECT_EQ(q.exclusive, Level::kRack);
  EXPECT_TRUE(q.roce);
  EXPECT_EQ(q.max_cost_per_hour, 1600);
  EXPECT_EQ(q.purpose, Purpose::kOpenshift);
  EXPECT_EQ(q.priority, 100);
}

TEST(ScenarioCodecTest, ShortFormsMeanTheSameAsLongOnes) {
  Result<Scenario> r = Load(WithRequests(R"(
  - {name: a, tenant: lab, gpus: 64, select: {class: h100x8, gpu: {model: "H100*", count: 8}}}
  - {name: b, tenant: lab, nodes: 2, topology: {locality: {level: rack}}, exclusive: leaf, purpose: slurm}
)"));
  ASSERT_TRUE(r.ok()) << r.status().message();
  const Request& a = r->requests[0];
  EXPECT_EQ(a.gpus, 64);
  EXPECT_FALSE(a.nodes.has_value());
  EXPECT_THAT(a.select.classes, ElementsAre("h100x8"));
  EXPECT_THAT(a.select.gpu_models, ElementsAre("H100*"));
  EXPECT_EQ(a.select.gpu_count, (NumericPredicate{NumericPredicate::Op::kEq, 8}));
  EXPECT_EQ(a.purpose, Purpose::kBaremetal) << "baremetal is the default purpose";
  const Request& b = r->requests[1];
  // A locality without mode or maxDomains is required and confined to one domain.
  EXPECT_EQ(b.locality, (Locality{Level::kRack, LocalityMode::kRequired, 1}));
  EXPECT_EQ(b.exclusive, Level::kLeaf);
  EXPECT_EQ(b.purpose, Purpose::kSlurm);
}

TEST(ScenarioCodecTest, AllocationsMarkTheirNodesAllocatedToTheTenant) {
  Result<Scenario> r = Load(std::string(kInventory) + R"(allocations:
  - {name: job, tenant: lab, nodes: [n1, n2]}
  - {name: other, tenant: startup, nodes: [n4]}
)");
  ASSERT_TRUE(r.ok()) << r.status().message();
  const Inventory& inv = r->inventory;
  EXPECT_EQ(r->allocations[0],
            (Allocation{"job", "lab", "", {"n1", "n2"}, std::nullopt, std::nullopt}));
  EXPECT_EQ(inv.nodes[0].state, NodeState::kAllocated);
  EXPECT_EQ(inv.nodes[0].holder, "lab");
  // A node in maintenance stays in maintenance but still records who holds it.
  EXPECT_EQ(inv.nodes[1].state, NodeState::kMaintenance);
  EXPECT_EQ(inv.nodes[1].holder, "lab");
  EXPECT_EQ(inv.nodes[2].state, NodeState::kFailed);
  EXPECT_EQ(inv.nodes[2].holder, "");
  EXPECT_EQ(inv.nodes[3].holder, "startup");
}

TEST(ScenarioCodecTest, PriorityPolicyAndPreemptionLandInTheirFields) {
  Result<Scenario> r = Load(std::string(kInventory) + R"(policy: {preemptAcrossTenants: true}
allocations:
  - {name: low, tenant: lab, nodes: [n1], priority: -5}
  - {name: plain, tenant: startup, nodes: [n4]}
  - name: recorded
    tenant: lab
    nodes: [n2]
    request: {nodes: 1, priority: 30}
requests:
  - {name: all, tenant: lab, nodes: 1, priority: 10, preemption: {policy: lowerPriority, scope: all, maxEvictions: 2}}
  - {name: defaults, tenant: lab, nodes: 1, priority: 10, preemption: {}}
  - {name: none, tenant: lab, nodes: 1, priority: 10}
)");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_TRUE(r->policy.preempt_across_tenants);
  ASSERT_THAT(r->allocations, SizeIs(3));
  EXPECT_EQ(r->allocations[0].priority, -5);
  EXPECT_EQ(AllocationPriority(r->allocations[0]), -5);
  EXPECT_FALSE(r->allocations[1].priority.has_value());
  EXPECT_EQ(AllocationPriority(r->allocations[1]), 0) << "an allocation's priority defaults to 0";
  EXPECT_EQ(AllocationPriority(r->allocations[2]), 30) << "else its recorded request's";
  ASSERT_THAT(r->requests, SizeIs(3));
  EXPECT_EQ(r->requests[0].preemption, (Preemption{PreemptionScope::kAll, 2}));
  EXPECT_EQ(r->requests[1].preemption, Preemption{}) << "scope tenant, no limit";
  EXPECT_FALSE(r->requests[2].preemption.has_value());

  Result<Scenario> plain = Load(kInventory);
  ASSERT_TRUE(plain.ok()) << plain.status().message();
  EXPECT_FALSE(plain->policy.preempt_across_tenants) << "no preemption across tenants by default";
}

TEST(ScenarioCodecTest, BadPriorityPolicyAndPreemptionNameTheirPathAndCode) {
  auto s = Load(std::string(kInventory) + R"(policy: {preemptAcrossTenants: "yes", evict: all}
allocations:
  - {name: a, tenant: lab, nodes: [n1], priority: high}
  - {name: b, tenant: lab, nodes: [n4], priority: 1000001}
requests:
  - {name: r1, tenant: lab, nodes: 1, preemption: {policy: newest, scope: everyone, maxEvictions: 0}}
  - {name: r2, tenant: lab, nodes: 1, preemption: 5}
)");
  ASSERT_FALSE(s.ok());
  std::vector<std::string> details;
  for (const ErrorDetail& d : s.status().details()) details.push_back(d.path + " " + d.code);
  EXPECT_THAT(
      details,
      ElementsAre(
          "policy.preemptAcrossTenants wrong_type", "policy.evict unknown_field",
          "allocations[0].priority wrong_type", "allocations[1].priority out_of_range",
          "requests[0].preemption.policy bad_value", "requests[0].preemption.scope bad_value",
          "requests[0].preemption.maxEvictions out_of_range", "requests[1].preemption wrong_type"));
  EXPECT_EQ(s.status().details().size(), s.status().messages().size());
  const std::vector<std::string>& messages = s.status().messages();
  ASSERT_THAT(messages, SizeIs(8));
  EXPECT_THAT(messages[5], HasSubstr("requests[0].preemption.scope: unknown preemption scope "
                                     "\"everyone\"; expected one of tenant, all"));
  EXPECT_THAT(messages[6], HasSubstr("requests[0].preemption.maxEvictions: 0 is out of range"));
  EXPECT_THAT(messages[7], HasSubstr("requests[1].preemption: got \"5\"; expected a map with "
                                     "policy, scope, maxEvictions"));
  for (const std::string& m : messages) EXPECT_THAT(m, ::testing::StartsWith("test.yaml:"));
}

TEST(ScenarioCodecTest, TheDesignDocumentExampleLoads) {
  // The example of DESIGN.md section 3, as a newcomer would copy it.
  Result<Scenario> r = Load(R"(apiVersion: topoplace/v1
inventory:
  sites:        [{name: mghpcc, region: us-east, jurisdiction: US}]
  powerDomains: [{name: pdu-r1-a, site: mghpcc}, {name: pdu-r1-b, site: mghpcc}]
  switches:
    - {name: spine-1, role: spine, vendor: arista, site: mghpcc}
    - {name: leaf-r1, role: leaf, vendor: arista, uplinks: [spine-1], pod: pod-1}
  racks:
    - {name: r1, site: mghpcc, row: row-1, pod: pod-1, powerDomains: [pdu-r1-a, pdu-r1-b], tags: [hipaa]}
  nodeClasses:
    - name: h100x8
      cpu: {cores: 112, model: xeon-8480}
      memoryGiB: 2048
      storageGiB: 30000
      gpu: {model: H100-SXM5-80GB, count: 8, memoryGiB: 80, nvlinkDomainSize: 8}
      costPerHour: 98.32
  nodes:
    - {name: r1-n01, class: h100x8, rack: r1, powerDomain: pdu-r1-a, leaf: leaf-r1,
       labels: {fw: "2.1"}, bmc: {protocol: ipmi, address: "127.0.0.1:9001"}, mac: "02:00:00:00:01:01"}
    - {name: r1-n02, class: h100x8, rack: r1, powerDomain: pdu-r1-b, leaf: leaf-r1,
       state: maintenance}        # available (default) | maintenance | failed
  generate:                        # synthetic data centres for what-if and benchmarks
    - {name: dc2, site: mghpcc, pods: 4, racksPerPod: 16, nodesPerRack: 8, class: h100x8,
       powerDomainsPerRow: 2, hipaaRacks: 0.1, seed: 7}
tenants:
  - name: nlp-lab
    quota: {nodes: 64, gpus: 512, cpuCores: 8000, memoryGiB: 150000, storageGiB: 2000000}
    compliance: [hipaa]           # what this tenant may ask for
    budgetPerHour: 5000
    alertAt: [0.8, 0.95]          # quota-use fractions that raise alerts
allocations:                      # current state: who holds what
  - {name: old-job, tenant: nlp-lab, nodes: [r1-n01, r1-n02]}
requests:
  - name: llm-train
    tenant: nlp-lab
    nodes: 16                     # or  gpus: 128  (whole nodes; the solver picks how many)
    select:                       # hard per-node predicates
      class: [h100x8]             # or gpu: {model: [H100*], count: ">=8"}, memoryGiB: ">=1024", labels: {...}
    topology:
      locality: {level: leaf, mode: required, maxDomains: 2}   # mode: required | preferred
      spread:   {level: powerDomain, maxFraction: 0.5}         # or maxPerDomain: N, minDomains: N
    compliance: [hipaa]           # racks/sites must carry it; gdpr = EU jurisdiction
    exclusive: rack               # optional: no other tenant may share these racks
    network: {roce: true}         # all leaves of one vendor (RoCE does not cross vendors)
    budget: {maxCostPerHour: 1600}
    purpose: openshift            # openshift | slurm | baremetal: which executors run
    priority: 100
)");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->inventory.nodes.size(), 2u + 4 * 16 * 8);
  EXPECT_EQ(r->inventory.nodes[1].state, NodeState::kMaintenance);
  EXPECT_EQ(r->inventory.nodes[1].holder, "nlp-lab");
}

TEST(ScenarioCodecTest, GenerateKeysMeanTheSameAsTheGeneratorSpec) {
  Result<Scenario> loaded = Load(R"(apiVersion: topoplace/v1
inventory:
  generate:
    - {name: hall, site: bos, region: us-east-2, jurisdiction: US, pods: 2, racksPerPod: 5,
       nodesPerRack: 4, racksPerRow: 3, powerDomainsPerRow: 3, classes: {h100x8: 2, cpu: 1},
       hipaaRacks: 0.2, allocated: 0.5, maintenance: 0.05, failed: 0.025,
       vendors: [arista, nvidia], seed: 42, ports: true, l2Driver: ovs}
)");
  ASSERT_TRUE(loaded.ok()) << loaded.status().message();
  GenerateSpec spec;
  spec.name = "hall";
  spec.site = "bos";
  spec.region = "us-east-2";
  spec.jurisdiction = "US";
  spec.pods = 2;
  spec.racks_per_pod = 5;
  spec.nodes_per_rack = 4;
  spec.racks_per_row = 3;
  spec.power_domains_per_row = 3;
  spec.class_mix = {{"h100x8", 2}, {"cpu", 1}};
  spec.hipaa_racks = 0.2;
  spec.allocated = 0.5;
  spec.maintenance = 0.05;
  spec.failed = 0.025;
  spec.leaf_vendors = {"arista", "nvidia"};
  spec.seed = 42;
  spec.ports = true;
  spec.l2_driver = "ovs";
  Scenario direct;
  ASSERT_TRUE(Generate(spec, direct).ok());
  EXPECT_EQ(*loaded, direct);
  EXPECT_EQ(loaded->inventory.sites[0], (Site{"bos", "us-east-2", "US", {}}));
}

TEST(ScenarioCodecTest, GenerateUsesADeclaredSiteAndClassInsteadOfBuiltins) {
  Result<Scenario> r = Load(R"(apiVersion: topoplace/v1
inventory:
  sites: [{name: bos, region: here, jurisdiction: DE}]
  nodeClasses:
    - {name: h100x8, cpu: {cores: 96}, memoryGiB: 1024, gpu: {model: H100-PCIe, count: 8}, costPerHour: 50}
  generate:
    - {name: hall, site: bos, region: ignored, pods: 1, racksPerPod: 2, nodesPerRack: 2, class: h100x8}
)");
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_THAT(r->inventory.sites, SizeIs(1));
  EXPECT_EQ(r->inventory.sites[0].region, "here");
  ASSERT_THAT(r->inventory.node_classes, SizeIs(1));
  EXPECT_EQ(r->inventory.node_classes[0].gpu.model, "H100-PCIe");
}

TEST(ScenarioCodecTest, RequestsMayNameGeneratedTenantsAndClasses) {
  Result<Scenario> r = Load(R"(apiVersion: topoplace/v1
inventory:
  generate: [{name: dc, pods: 1, racksPerPod: 4, nodesPerRack: 8, class: a100x8, allocated: 0.5, hipaaRacks: 0.5}]
requests:
  - {name: more, tenant: dc-tenant-1, nodes: 2, select: {class: a100x8}, compliance: [hipaa]}
)");
  ASSERT_TRUE(r.ok()) << r.status().message();
}

TEST(ScenarioCodecTest, AnUnreadableGenerateEntryDoesNotCascadeIntoDanglingReferences) {
  EXPECT_THAT(
      Errors(R"(apiVersion: topoplace/v1
inventory:
  generate: [{name: dc, pods: -1, class: a100x8, allocated: 0.5}]
requests:
  - {name: more, tenant: dc-tenant-1, nodes: 2}
)"),
      ElementsAre("test.yaml:3:31: inventory.generate[0].pods: -1 is out of range; expected an "
                  "integer from 1 to 1000"));
}

TEST(ScenarioCodecTest, EveryErrorIsReportedInFileOrder) {
  // Reference errors are found after parsing but are still sorted among the parse errors.
  std::vector<std::string> errors = Errors(WithRequests(R"(
  - {name: a, tenant: nobody, nodes: 1}
  - {name: b, tenant: lab, nodes: 0}
  - {name: c, tenant: lab, nodes: 1, select: {class: nope}}
  - {name: d, tenant: lab, nodes: 1, purpose: k8s}
)"));
  ASSERT_THAT(errors, SizeIs(4));
  EXPECT_THAT(errors[0], HasSubstr("requests[0].tenant: tenant \"nobody\" does not exist"));
  EXPECT_THAT(errors[1], HasSubstr("requests[1].nodes: 0 is out of range"));
  EXPECT_THAT(errors[2], HasSubstr("requests[2].select.class: node class \"nope\" does not exist"));
  EXPECT_THAT(errors[3], HasSubstr("requests[3].purpose: unknown purpose \"k8s\""));
}

TEST(ScenarioCodecTest, MessagesPointAtTheOffendingValue) {
  std::vector<std::string> errors = Errors(WithRequests(R"(
  - name: a
    tenant: lab
    nodes: 1
    topology:
      locality: {level: leafs}
)"));
  // Line 39 of the document is the locality line; "leafs" starts at column 25.
  EXPECT_THAT(errors,
              ElementsAre("test.yaml:39:25: requests[0].topology.locality.level: unknown level "
                          "\"leafs\"; expected one of nvlink, leaf, rack, row, pod, spine, "
                          "site, powerDomain"));
}

TEST(ScenarioCodecTest, RowIsALevelForLocalityAndSpread) {
  auto s = Load(WithRequests(R"(
  - name: a
    tenant: lab
    nodes: 2
    topology:
      locality: {level: row, mode: preferred}
      spread: {level: row, maxPerDomain: 1}
)"));
  ASSERT_TRUE(s.ok()) << s.status().message();
  const Request& r = s->requests[0];
  EXPECT_EQ(r.locality, (Locality{Level::kRow, LocalityMode::kPreferred, 1}));
  ASSERT_TRUE(r.spread.has_value());
  EXPECT_EQ(r.spread->level, Level::kRow);
  EXPECT_EQ(r.spread->max_per_domain, 1);
  // And it is written back as it was read.
  auto again = LoadScenarioString(DumpScenario(*s), "dump.yaml");
  ASSERT_TRUE(again.ok()) << again.status().message();
  EXPECT_EQ(again->requests, s->requests);
}

TEST(ScenarioCodecTest, ErrorsCarryTheirKeyPathAndCode) {
  auto s = Load(WithRequests(R"(
  - {name: a, tenant: lab, nodes: 0, select: {gpu: {count: ">=100"}}}
  - {name: b, tenant: lab, nodes: 1, gpus: 8, topology: {locality: {level: rows}}}
  - {name: c, tenant: lab, select: {class: nope}, colour: red}
)"));
  ASSERT_FALSE(s.ok());
  std::vector<std::string> details;
  for (const ErrorDetail& d : s.status().details()) details.push_back(d.path + " " + d.code);
  EXPECT_THAT(
      details,
      ElementsAre("requests[0].nodes out_of_range", "requests[0].select.gpu.count out_of_range",
                  "requests[1].gpus conflicting_fields",
                  "requests[1].topology.locality.level bad_value",
                  "requests[2].nodes missing_field", "requests[2].select.class unknown_reference",
                  "requests[2].colour unknown_field"));
  EXPECT_EQ(s.status().details().size(), s.status().messages().size());
}

TEST(ScenarioCodecTest, DidYouMeanSuggestsTheClosestKey) {
  std::vector<std::string> errors =
      Errors(WithRequests("  - {name: a, tenant: lab, nodes: 1, priorty: 3}\n"));
  ASSERT_THAT(errors, SizeIs(1));
  EXPECT_THAT(errors[0],
              HasSubstr("requests[0].priorty: unknown key (did you mean \"priority\"?)"));
}

TEST(ScenarioCodecTest, ALongListOfCandidatesIsNotPrintedButTheClosestIsSuggested) {
  std::string yaml = "apiVersion: topoplace/v1\ninventory:\n  sites: [{name: s}]\n  racks:\n";
  for (int i = 10; i < 30; ++i) yaml += "    - {name: rack-" + std::to_string(i) + ", site: s}\n";
  yaml +=
      "  switches: [{name: l, role: leaf}]\n  nodeClasses: [{name: c}]\n  powerDomains: [{name: p, "
      "site: s}]\n";
  yaml += "  nodes: [{name: n, class: c, rack: rack-17x, powerDomain: p, leaf: l}]\n";
  std::vector<std::string> errors = Errors(yaml);
  ASSERT_THAT(errors, SizeIs(1));
  EXPECT_THAT(errors[0], HasSubstr("rack \"rack-17x\" does not exist (did you mean \"rack-17\"?); "
                                   "expected a rack declared in inventory.racks"));
}

TEST(ScenarioCodecTest, NumbersOutsideTheirRangeAreRejected) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"gpus: 0", "requests[0].gpus: 0 is out of range; expected an integer from 1 to 64000000"},
      {"nodes: 2.5", "requests[0].nodes: got \"2.5\"; expected an integer from 1 to 1000000"},
      {"nodes: 99999999999999999999", "requests[0].nodes: 99999999999999999999 is out of range"},
      {"nodes: 1e400", "requests[0].nodes: 1e400 is out of range"},
      {"nodes: .inf", "requests[0].nodes: got \".inf\""},
      {"nodes: 1, priority: 2000000", "requests[0].priority: 2000000 is out of range"},
      {"nodes: 1, budget: {maxCostPerHour: 0}",
       "requests[0].budget.maxCostPerHour: 0 is out of range; expected a number greater than 0"},
      {"nodes: 1, topology: {locality: {level: leaf, maxDomains: 0}}",
       "requests[0].topology.locality.maxDomains: 0 is out of range"},
      {"nodes: 1, topology: {spread: {level: rack, minDomains: -1}}",
       "requests[0].topology.spread.minDomains: -1 is out of range"},
      {"nodes: 1, select: {memoryGiB: \">=2e6\"}",
       "requests[0].select.memoryGiB: \">=2e6\" is out of range"},
  };
  for (const auto& [fields, expected] : cases) {
    std::vector<std::string> errors =
        Errors(WithRequests("  - {name: a, tenant: lab, " + fields + "}\n"));
    ASSERT_THAT(errors, SizeIs(1)) << fields;
    EXPECT_THAT(errors[0], HasSubstr(expected)) << fields;
  }
}

TEST(ScenarioCodecTest, WrongTypesSayWhatWasFoundAndWhatWasExpected) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"nodes: [1]", "requests[0].nodes: got a list; expected an integer"},
      {"nodes: {n: 1}", "requests[0].nodes: got a map; expected an integer"},
      {"nodes: \"4\"", "requests[0].nodes: got the string \"4\"; expected an integer"},
      {"nodes: 1, network: {roce: yes}",
       "requests[0].network.roce: got \"yes\"; expected true or false"},
      {"nodes: 1, network: [roce]", "requests[0].network: got a list; expected a map with roce"},
      {"nodes: 1, select: {class: {h100x8: 1}}",
       "requests[0].select.class: got a map; expected a node class name or a list of them"},
      {"nodes: 1, compliance: {hipaa: true}", "requests[0].compliance: got a map"},
      {"nodes: 1, name: [a]", "requests[0].name: got a list; expected a request name"},
  };
  for (const auto& [fields, expected] : cases) {
    std::string yaml = WithRequests("  - {name: a, tenant: lab, " + fields + "}\n");
    if (fields.rfind("nodes: 1, name", 0) == 0)
      yaml = WithRequests("  - {tenant: lab, " + fields + "}\n");
    std::vector<std::string> errors = Errors(yaml);
    ASSERT_FALSE(errors.empty()) << fields;
    EXPECT_THAT(errors[0], HasSubstr(expected)) << fields;
  }
}

TEST(ScenarioCodecTest, ASecondDocumentInOneFileIsAnError) {
  EXPECT_THAT(Errors("apiVersion: topoplace/v1\n---\napiVersion: topoplace/v1\n"),
              ElementsAre("test.yaml:3:1: a second YAML document; expected one scenario per file"));
}

TEST(ScenarioCodecTest, ATrailingDocumentMarkerIsHarmless) {
  EXPECT_TRUE(Load("---\napiVersion: topoplace/v1\n---\n").ok());
  EXPECT_TRUE(Load("apiVersion: topoplace/v1\n...\n").ok());
}

TEST(ScenarioCodecTest, AStrayTopLevelCommaIsAnErrorNotAHang) {
  // The YAML library's multi-document loader never returns on this input; the loader must.
  EXPECT_FALSE(Load(",").ok());
  EXPECT_FALSE(Load(",\napiVersion: topoplace/v1\n---\n,\n").ok());
}

TEST(ScenarioCodecTest, AnEmptyStringIsAnEmptyDocument) {
  EXPECT_THAT(Errors(""), ElementsAre("test.yaml:1:1: empty document; expected a map starting with "
                                      "apiVersion: topoplace/v1"));
}

TEST(ScenarioCodecTest, DeepNestingIsASyntaxErrorNotACrash) {
  std::vector<std::string> errors =
      Errors("apiVersion: topoplace/v1\nrequests: " + std::string(100000, '['));
  ASSERT_THAT(errors, SizeIs(1));
  EXPECT_THAT(errors[0], HasSubstr("YAML syntax error: nested deeper than"));
  errors = Errors("apiVersion: topoplace/v1\nrequests:\n" + [] {
    std::string s;
    for (int i = 0; i < 3000; ++i) s += std::string(2 * i + 2, ' ') + "- x:\n";
    return s;
  }());
  ASSERT_FALSE(errors.empty());
}

TEST(ScenarioCodecTest, CyclicAliasesAreReportedNotFollowed) {
  std::vector<std::string> errors = Errors("apiVersion: topoplace/v1\ntenants: &t [*t]\n");
  EXPECT_THAT(errors, ElementsAre(HasSubstr("tenants[0]: got a list; expected a tenant")));
}

TEST(ScenarioCodecTest, BrokenUtf8AndControlCharactersAreEscapedInMessages) {
  // Broken UTF-8 is rejected where it is, before parsing; control characters are escaped.
  EXPECT_THAT(Errors("apiVersion: topoplace/v1\nrequests: [{name: a, tenant: \"\xff\x01\"}]\n"),
              ::testing::ElementsAre(HasSubstr(":2:31: invalid UTF-8 (byte 0xff)")));
  std::vector<std::string> errors =
      Errors("apiVersion: topoplace/v1\nrequests: [{name: a, tenant: \"\\e\x01\"}]\n");
  EXPECT_THAT(errors, ::testing::Contains(HasSubstr("tenant \"\\x1b\\x01\" does not exist")));
}

TEST(ScenarioCodecTest, RandomBytesNeverCrashTheLoader) {
  std::mt19937_64 rng(2024);
  for (int i = 0; i < 300; ++i) {
    std::string junk(rng() % 400, '\0');
    for (char& c : junk) c = static_cast<char>(rng() % 256);
    Result<Scenario> r = Load(junk);
    EXPECT_FALSE(r.ok());
  }
}

TEST(ScenarioCodecTest, MutatedScenariosNeverCrashTheLoader) {
  // Byte flips, deletions and duplications of a real scenario reach deep into the parser with
  // almost-valid YAML; every outcome must be a value or a Status.
  const std::string base =
      testing_files::ReadFile(testing_files::SourceDir() + "/scenarios/hipaa.yaml");
  ASSERT_FALSE(base.empty());
  std::mt19937_64 rng(7);
  const std::string alphabet = "{}[],:-#&*!|>'\"%@` \n\tax0.9";
  int failures = 0;
  for (int i = 0; i < 300; ++i) {
    std::string text = base;
    for (int edits = 1 + static_cast<int>(rng() % 4); edits > 0; --edits) {
      const size_t at = rng() % text.size();
      switch (rng() % 3) {
        case 0: text[at] = alphabet[rng() % alphabet.size()]; break;
        case 1: text.erase(at, 1 + rng() % 20); break;
        default: text.insert(at, text.substr(rng() % text.size(), 1 + rng() % 40)); break;
      }
    }
    Result<Scenario> r = Load(text);
    if (!r.ok()) {
      ++failures;
      for (const std::string& m : r.status().messages()) EXPECT_THAT(m, HasSubstr("test.yaml:"));
    }
  }
  EXPECT_GT(failures, 0);
}

TEST(ScenarioCodecTest, AMissingFileIsNotFoundAndNamesThePath) {
  Result<Scenario> r = LoadScenarioFile("/no/such/dir/scenario.yaml");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  EXPECT_THAT(r.status().message(), HasSubstr("/no/such/dir/scenario.yaml"));
}

TEST(ScenarioCodecTest, ADirectoryIsNotAScenarioFile) {
  Result<Scenario> r = LoadScenarioFile(testing_files::SourceDir() + "/scenarios");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
}

TEST(ScenarioCodecTest, FileMessagesNameThePathAsGiven) {
  const std::string path = testing_files::SourceDir() + "/tests/golden/invalid/bad_level.yaml";
  Result<Scenario> r = LoadScenarioFile(path);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().messages().front().rfind(path + ":", 0), 0u) << r.status().message();
}

}  // namespace
}  // namespace topoplace
