// Turns a committed allocation into a plan (DESIGN.md section 6): per node, its switch ports onto
// the tenant VLAN, a DHCP reservation, a one-time PXE boot, power on and a wait for the node's lease
// on the tenant network; before them, the tenant network itself (VLAN and subnet from IPAM, its
// DHCP server). Teardown steps undo each effect: power off, DHCP entry released, ports back to the
// quarantine VLAN, the network freed when its last node has left.
//
// Step ids are "<node>/<action>" and "network/<action>"; a teardown step's id carries a "~" before
// its action ("r1-n01/~power-off") so deploy and teardown of one node never share an id. Building
// checks that the inventory can carry the plan out: every node has a BMC and at least one port on
// a switch with management, and the inventory has a network policy; otherwise kFailedPrecondition
// naming every node and what it lacks. Thread safety: pure functions.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "model/entities.h"
#include "model/plan.h"
#include "model/status.h"

namespace topoplace {

// The actions, in the order a node goes through them.
inline constexpr std::string_view kActNetworkAllocate = "network-allocate";
inline constexpr std::string_view kActDhcpServe = "dhcp-serve";
inline constexpr std::string_view kActPortTenantVlan = "port-tenant-vlan";
inline constexpr std::string_view kActDhcpReserve = "dhcp-reserve";
inline constexpr std::string_view kActBootPxe = "boot-pxe";
inline constexpr std::string_view kActPowerOn = "power-on";
inline constexpr std::string_view kActWaitLease = "wait-lease";
inline constexpr std::string_view kActPowerOff = "power-off";
inline constexpr std::string_view kActDhcpRelease = "dhcp-release";
inline constexpr std::string_view kActPortQuarantine = "port-quarantine";
inline constexpr std::string_view kActNetworkFree = "network-free";
// The hand-over to a cluster (layer "cluster", purpose slurm or openshift): the cluster once per
// plan, then per node after its lease: join, wait until the cluster reports it ready, prove it
// takes work. Teardown takes each node out of the cluster before its power goes off, and the
// cluster away after its last node.
inline constexpr std::string_view kActClusterCreate = "cluster-create";
inline constexpr std::string_view kActClusterJoin = "cluster-join";
inline constexpr std::string_view kActClusterWaitReady = "cluster-wait-ready";
inline constexpr std::string_view kActClusterVerify = "cluster-verify";
inline constexpr std::string_view kActClusterLeave = "cluster-leave";
inline constexpr std::string_view kActClusterRemove = "cluster-remove";

// Which driver of a layer carries the steps out.
struct DriverChoice {
  std::string l3 = "dnsmasq";  // the deployment's L3 driver
  // purpose ("slurm", "openshift") -> the cluster driver that hands a plan of it over; a purpose
  // without one has no hand-over steps (and building a plan for it fails).
  std::map<std::string, std::string> cluster = {{"slurm", "slurm"},
                                                {"openshift", "hcp-manifests"}};
};

// Checks the inventory can carry `nodes` out; kFailedPrecondition listing each node's lack.
Status CheckExecutable(const Inventory& inventory, const std::vector<std::string>& nodes);

// The cluster driver that hands a plan of `purpose` over; "" for baremetal. kFailedPrecondition
// when the purpose needs one the deployment does not configure.
Result<std::string> ClusterDriverFor(const DriverChoice& drivers, const std::string& purpose);

// A new deploy plan for an allocation (no id yet; the store gives one). For purpose slurm or
// openshift the hand-over follows each node's lease (cluster-create once, then per node join,
// wait-ready, verify).
Result<Plan> BuildDeployPlan(const Inventory& inventory, const std::string& allocation,
                             const std::string& tenant, const std::string& purpose,
                             const std::vector<std::string>& nodes, const DriverChoice& drivers);

// The deploy steps of one node (used again when a node is replaced). Needs the network steps;
// with a cluster driver, also the hand-over steps (which need the plan's cluster-create).
std::vector<PlanStep> NodeDeploySteps(const Inventory& inventory, const std::string& node,
                                      const DriverChoice& drivers,
                                      const std::string& cluster_driver);

// The teardown steps of the given nodes (each taken out of its cluster first when the plan has a
// cluster driver) plus, after them all, the cluster's and the network's release.
std::vector<PlanStep> TeardownSteps(const Inventory& inventory,
                                    const std::vector<std::string>& nodes,
                                    const DriverChoice& drivers,
                                    const std::string& cluster_driver, bool free_network);

// The cluster driver a plan's hand-over steps use; "" when it has none.
std::string PlanClusterDriver(const Plan& plan);

// The nodes a plan is (or was) carrying out, in the order their first step appears.
std::vector<std::string> PlanNodes(const Plan& plan);

}  // namespace topoplace
