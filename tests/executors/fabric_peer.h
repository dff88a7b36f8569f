// A real L2/L3 fabric for the network drivers' tests: its own Open vSwitch (ovsdb-server and
// ovs-vswitchd with the userspace datapath, running in a fresh "switch" network namespace, with
// its run, log and database directories in a temporary directory), one bridge, and N nodes. A
// node is a network namespace with a veth "eth0" of a fixed MAC whose other end is a port of the
// bridge, first on the quarantine VLAN.
//
// Names (namespaces, ports) start with a prefix made from our PID, so test binaries running at the
// same time do not meet, and fit the 15-character limit of device names. Everything is stopped by
// PID and deleted in the destructor, including any process still naming the temporary directory
// (a DHCP server a failed test left behind).
//
// Start fails, never skips, when a program it needs is missing or we are not root.
// Thread safety: one test thread.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "model/entities.h"
#include "model/status.h"

namespace topoplace::testing {

struct FabricNode {
  std::string netns;  // the node's namespace
  std::string port;   // the bridge port its eth0 is plugged into
  std::string mac;    // eth0's MAC
};

// What a node's DHCP client got.
struct DhcpLease {
  std::string address;
  std::string boot_file;
  std::string server;  // the next server (siaddr)
};

class FabricPeer {
 public:
  static Result<std::unique_ptr<FabricPeer>> Start(int nodes, int quarantine_vlan);
  ~FabricPeer();
  FabricPeer(const FabricPeer&) = delete;
  FabricPeer& operator=(const FabricPeer&) = delete;

  const std::string& dir() const { return dir_; }        // temporary directory, mode 0755
  const std::string& prefix() const { return prefix_; }  // unique to this process
  const std::string& ovsdb() const { return ovsdb_; }    // "unix:<dir>/run/db.sock"
  const std::string& switch_netns() const { return switch_netns_; }
  const std::string& bridge() const { return bridge_; }
  const FabricNode& node(int i) const { return nodes_.at(i); }
  // The inventory's switch whose ports the nodes are plugged into.
  Switch LeafSwitch() const;

  // ovs-vsctl against this fabric's database; its output trimmed.
  Result<std::string> Vsctl(const std::vector<std::string>& args) const;
  // Gives node i's eth0 a static address ("10.251.0.1/24").
  Status SetAddress(int i, const std::string& cidr) const;
  // True when node i gets an answer from `address` (a few echo requests).
  bool Ping(int i, const std::string& address) const;
  // Runs a DHCP client (busybox udhcpc) on node i for about `tries` seconds; the lease, if any.
  Result<std::optional<DhcpLease>> Lease(int i, int tries = 4) const;

  // PIDs of live processes with `arg` among their arguments.
  static std::vector<int> ProcessesWithArgument(const std::string& arg);
  static bool NetnsExists(const std::string& name);

 private:
  FabricPeer() = default;
  Status Setup(int nodes, int quarantine_vlan);
  Status AddNode(int index, int quarantine_vlan);

  std::string dir_, prefix_, ovsdb_, switch_netns_, bridge_ = "br0";
  std::vector<FabricNode> nodes_;
};

}  // namespace topoplace::testing
