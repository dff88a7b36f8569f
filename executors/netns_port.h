// A network namespace's port on a tenant VLAN: a veth pair whose inner end sits in the namespace
// with one address, and whose outer end is an access port of the VLAN on an Open vSwitch bridge.
//
// Drivers that put a service of theirs on a tenant network use it: the dnsmasq L3 driver (a DHCP
// server per network) and the slurm cluster driver (its controller on every tenant network it
// serves). Plug makes the pair, its address, the OVS port and its tag what the spec says, repairing
// half a pair or a wrong tag; Unplug removes the OVS record and the pair. Both are idempotent and
// find everything from the names (nothing is remembered between calls).
//
// Errors: kFailedPrecondition for a missing bridge or namespace, kUnavailable when ovsdb or a
// command does not answer in time, kInternal when ip or ethtool report an error (with their
// words). Thread safety: calls for different ports run in parallel; one port's calls must be
// serialised by the caller.
#pragma once

#include <string>
#include <vector>

#include "executors/ovs_driver.h"
#include "executors/process.h"
#include "model/status.h"

namespace topoplace {

struct NetnsPortSpec {
  std::string netns;        // where the inner end lives ("" = our own namespace)
  std::string inner_port;   // its name there
  std::string switch_port;  // the outer end: its name in the switch namespace and on the bridge
  int vlan = 0;             // the access VLAN of the outer end
  std::string address;      // the inner end's only IPv4 address, "A.B.C.D/len"
};

class NetnsPort {
 public:
  // `bridge` is the OVS bridge, `switch_ns` the namespace where its ports live ("" = ours).
  NetnsPort(std::string bridge, std::string switch_ns, OvsVsctl vsctl, double timeout_seconds)
      : bridge_(std::move(bridge)),
        switch_ns_(std::move(switch_ns)),
        vsctl_(std::move(vsctl)),
        timeout_seconds_(timeout_seconds) {}

  // The namespace `spec.netns` must exist (the caller makes or owns it).
  Status Plug(const NetnsPortSpec& spec) const;
  // Absent pieces are fine.
  Status Unplug(const NetnsPortSpec& spec) const;

  static bool NetnsExists(const std::string& netns);
  const std::string& bridge() const { return bridge_; }
  const OvsVsctl& vsctl() const { return vsctl_; }

 private:
  Result<ProcessResult> Run(const std::vector<std::string>& argv) const;
  Status Must(const std::vector<std::string>& argv) const;
  Result<bool> LinkExists(const std::string& ns, const std::string& dev) const;
  Status EnsureAddress(const NetnsPortSpec& spec) const;

  std::string bridge_;
  std::string switch_ns_;
  OvsVsctl vsctl_;
  double timeout_seconds_;
};

}  // namespace topoplace
