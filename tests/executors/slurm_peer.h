// A real SLURM controller for the slurm cluster driver's tests and the bare-metal lab: munge with a
// private key and socket, and slurmctld (configless, dynamic nodes allowed, cons_tres, resources
// as configured) in a network namespace of its own, everything under a temporary directory.
//
// The controller's namespace either holds a plain Linux bridge with the controller's address, into
// which AddBridgedNode plugs node namespaces (one subnet, as recipe 4), or only a controller
// address on its loopback, for a driver that plugs the namespace into tenant VLANs itself (the
// lab); nodes then route that address through their subnet's service address
// (tests/peers/slurmd_boot.sh). A node's slurmd runs configless (`slurmd -Z --conf-server`) in the
// node's namespace with its own hostname, as a booted machine would start it.
//
// Names (namespaces) start with a prefix made from our PID, so test binaries running at the same
// time do not meet. Everything is stopped by PID and the namespaces deleted in the destructor.
// Start fails, never skips, when a program it needs is missing or we are not root.
// Thread safety: one test thread.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "executors/process.h"
#include "model/status.h"

namespace topoplace::testing {

struct SlurmPeerOptions {
  // A Linux bridge in the controller's namespace carrying the controller's address ("" = none).
  std::string bridge_cidr = "10.252.0.1/24";
  // The controller's address when there is no bridge: put on the namespace's loopback.
  std::string loopback_address;
};

class SlurmPeer {
 public:
  static Result<std::unique_ptr<SlurmPeer>> Start(const SlurmPeerOptions& options = {});
  ~SlurmPeer();
  SlurmPeer(const SlurmPeer&) = delete;
  SlurmPeer& operator=(const SlurmPeer&) = delete;

  const std::string& dir() const { return dir_; }
  const std::string& conf() const { return conf_; }  // slurm.conf
  const std::string& controller_netns() const { return ctl_netns_; }
  const std::string& controller_address() const { return ctl_address_; }  // SlurmctldHost's
  const std::string& prefix() const { return prefix_; }

  // A node namespace plugged into the controller's bridge with `cidr` on its eth0; its name.
  Result<std::string> AddBridgedNode(const std::string& node, const std::string& cidr);

  // The shell command line that starts node's slurmd in `netns` with `cpus` and `mib` (what a
  // machine's power-on hook runs after its lease). `conf_server` "service" = the service address
  // of the subnet the node's eth0 is on, with a route to the controller's address through it.
  std::string SlurmdBootCommand(const std::string& netns, const std::string& node, int cpus,
                                long mib, const std::string& conf_server) const;
  // The shell command line that stops node's slurmd by its PID.
  std::string SlurmdStopCommand(const std::string& node) const;
  // Runs the boot command and waits for slurmd's PID file (not for its registration).
  Status StartSlurmd(const std::string& netns, const std::string& node, int cpus, long mib,
                     const std::string& conf_server = "");
  int SlurmdPid(const std::string& node) const;  // 0 when it does not run
  void StopSlurmd(const std::string& node);
  void StopController();  // slurmctld stops answering

  // A Slurm client program in the controller's namespace with our SLURM_CONF.
  Result<ProcessResult> Client(const std::string& program, const std::vector<std::string>& args,
                               double timeout_seconds = 30) const;

  // Slurm's state, read back with scontrol.
  bool PartitionExists(const std::string& partition) const;
  std::vector<std::string> PartitionNodes(const std::string& partition) const;  // expanded
  // A node's fields (State, NodeAddr, CPUTot, RealMemory, Partitions, ...); empty when unknown.
  std::map<std::string, std::string> Node(const std::string& node) const;
  bool NodeKnown(const std::string& node) const { return !Node(node).empty(); }

 private:
  SlurmPeer() = default;
  Status Setup(const SlurmPeerOptions& options);
  std::string PidFile(const std::string& node) const;

  std::string dir_, conf_, prefix_, ctl_netns_, ctl_address_;
  int slurmctld_pid_ = 0;
  std::vector<std::string> netns_;
};

}  // namespace topoplace::testing
