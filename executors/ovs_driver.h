// The `ovs` L2 driver: a switch port becomes an access port of one VLAN on an Open vSwitch bridge.
//
// A switch's `management: {driver: ovs, bridge: B}` names the bridge its ports are on; the driver
// talks to that switch's ovsdb through ovs-vsctl (one database per driver: option `ovsdb`). An
// access port has `tag=VLAN`, `vlan_mode=access` and no trunks; setting it again changes nothing.
// ovs-vsctl waits until ovs-vswitchd has applied a change, so when SetAccessVlan returns the
// switch forwards by the new tag.
//
// Options (DriverOptions): ovsdb ("unix:/run/openvswitch/db.sock"; passed as --db=; empty = the
// ovs-vsctl default), vsctl (the program, default "ovs-vsctl"), timeoutSeconds (default 10). An
// unknown option is kInvalidArgument naming it.
//
// Errors: kInvalidArgument for a switch without an ovs bridge or a port or VLAN it cannot address,
// kFailedPrecondition when the bridge does not exist or the port is not on it, kUnavailable when
// the database or ovs-vswitchd does not answer in time, kInternal for any other ovs-vsctl error.
// Thread safety: safe from several threads (every call is one or more separate processes).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "executors/drivers.h"
#include "model/executor_settings.h"
#include "model/status.h"

namespace topoplace {

Result<std::unique_ptr<L2Driver>> MakeOvsDriver(const DriverOptions& options);

// One ovsdb reached through ovs-vsctl. Shared by the ovs L2 driver and the dnsmasq L3 driver
// (which puts each tenant network's DHCP server on the bridge as an access port).
class OvsVsctl {
 public:
  OvsVsctl(std::string program, std::string db, double timeout_seconds)
      : program_(std::move(program)), db_(std::move(db)), timeout_seconds_(timeout_seconds) {}

  Result<bool> BridgeExists(const std::string& bridge) const;
  // The bridge `port` is on; nullopt when no such port exists.
  Result<std::optional<std::string>> BridgeOfPort(const std::string& port) const;
  // The port's tag; 0 when it has none.
  Result<int> Tag(const std::string& port) const;
  // Makes an existing port an access port of `vlan` (tag, vlan_mode=access, no trunks).
  Status SetAccessPort(const std::string& port, int vlan) const;
  // Adds `port` (a network device) to `bridge` as an access port of `vlan`; an existing record of
  // the port is replaced, so a device that was re-created is picked up again.
  Status AddAccessPort(const std::string& bridge, const std::string& port, int vlan) const;
  Status DeletePort(const std::string& port) const;  // absent is fine

  // What to name in messages: the database's address.
  std::string Where() const { return db_.empty() ? "the default ovsdb" : "ovsdb " + db_; }

 private:
  Result<std::string> Run(const std::vector<std::string>& args) const;

  std::string program_;
  std::string db_;
  double timeout_seconds_;
};

// True for a name ovs-vsctl and ip take as one port or bridge name: 1..15 characters, no leading
// '-', nothing but letters, digits and ._-: (a network device name's limits).
bool IsDeviceName(const std::string& name);

// Reads a non-negative number option; kInvalidArgument naming it when it is not one.
Result<double> NumberOption(const DriverOptions& options, const std::string& key, double fallback);

}  // namespace topoplace
