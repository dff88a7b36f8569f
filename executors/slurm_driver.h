// The `slurm` cluster driver: hands bare-metal machines to a SLURM controller (DESIGN.md 6a).
//
// A cluster's home is its tenant project's partition, "<tenant>-<project>" ("default" for the
// tenant's default project), made UP and empty by EnsureCluster and deleted by RemoveCluster once
// no node is left in it (another cluster of the project may share it). A machine joins as a dynamic
// node (`scontrol create NodeName=.. NodeAddr=<tenant address> CPUs=.. RealMemory=.. State=FUTURE`,
// or already registered by its own `slurmd -Z`) and is put into the partition; it is ready when
// sinfo shows it idle there and verified when a one-node job on it prints its name. RemoveNode
// drains it, waits (at most drainTimeoutSeconds) until it runs no job, and deletes it; its slurmd
// may still run (the machine's power goes off afterwards): Slurm accepts the delete of a drained
// idle node and the running slurmd does not bring it back.
//
// Every Slurm command runs with SLURM_CONF=`conf`, inside `controllerNamespace` when one is given
// (nsenter --net), bounded by timeoutSeconds. With `bridge` set, the controller is also plugged
// into each tenant network it serves (executors/netns_port.h): a veth in `controllerNamespace`
// with the network's ServiceAddress, whose other end is an access port of the network's VLAN on
// that OVS bridge (in `switchNamespace`, through `ovsdb`), so machines reach it at that address.
//
// Options (DriverOptions): conf, controllerNamespace, bin (the directory of scontrol, sinfo, srun,
// squeue; default: found on PATH), timeoutSeconds (per command, default 30), drainTimeoutSeconds
// (default 60), bridge, ovsdb, switchNamespace. Unknown options are kInvalidArgument naming them.
//
// Errors: kInvalidArgument for a partition or node name Slurm cannot take, or a member without
// address, CPUs or memory; kFailedPrecondition for a node joining a partition that does not exist;
// kUnavailable when slurmctld does not answer (or a node keeps running jobs past the drain bound);
// kInternal when Slurm answers with an error (its words, with the node and partition).
// Thread safety: safe from several threads; updates of one partition are serialised here.
#pragma once

#include <memory>
#include <string>

#include "executors/drivers.h"
#include "model/executor_settings.h"
#include "model/status.h"

namespace topoplace {

Result<std::unique_ptr<ClusterDriver>> MakeSlurmDriver(const DriverOptions& options);

// The partition of a tenant project: "<tenant>-<project>", project "" -> "default".
std::string SlurmPartitionName(const std::string& tenant, const std::string& project);

// The names of the controller's port on a tenant network (tests look for them).
struct SlurmControllerPortNames {
  std::string switch_port;  // the veth end on the bridge (also the OVS port name)
  std::string inner_port;   // the end in the controller's namespace
};
SlurmControllerPortNames SlurmControllerPortFor(const std::string& network_id);

}  // namespace topoplace
