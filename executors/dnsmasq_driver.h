// The `dnsmasq` L3 driver: DHCP with per-node reservations and a PXE boot file, one dnsmasq per
// tenant network.
//
// Each tenant network gets its own network namespace ("tpdhcp-" + 8 hex digits of a stable hash of
// the network id) with a veth whose inner end ("eth0") carries the network's gateway address and
// whose outer end ("tpd" + the same 8 hex digits) sits in `switchNamespace` as an access port of
// the network's VLAN on `bridge`. dnsmasq runs in that namespace as a daemon without DNS
// (--port=0), serving only reserved addresses (--dhcp-range=NET,static,MASK,LEASE). Its state is
// on disk under `stateDir`/<network id>/: hosts/ (one reservation file per node port, re-read by
// dnsmasq as it changes), leases, dnsmasq.pid, dnsmasq.log. Nothing else is remembered: a new
// process of ours (after a crash) finds everything from the names and that directory, so every
// call is idempotent across restarts. A dnsmasq is ours when its /proc command line carries our
// pid file; one that died is started again by the next EnsureNetwork.
//
// Release removes the reservation file and the node's lease and makes dnsmasq forget both (dnsmasq
// only forgets a deleted reservation on SIGHUP, and never forgets a lease it holds, so a lease
// that existed costs a restart of that network's dnsmasq: a few tens of milliseconds without DHCP
// on one tenant network, which clients ride out by retrying).
//
// Options (DriverOptions): stateDir (required), bridge (required: the OVS bridge the servers are
// attached to), switchNamespace (the netns where that bridge's ports live; "" = ours), ovsdb,
// vsctl, bootFile (default "pxelinux.0"), tftpRoot (optional; enables TFTP from that directory),
// leaseSeconds (default 3600, at least 120), dnsmasq (program, default "dnsmasq"), timeoutSeconds
// (per peer command, default 10). Unknown options are kInvalidArgument naming them.
//
// Errors: kInvalidArgument for a network or address the driver cannot use (bad id, VLAN, subnet,
// MAC, an address outside the subnet), kFailedPrecondition for a missing bridge or switch
// namespace, a network that was not set up, an address reserved for another MAC, or a stateDir
// that dnsmasq (which drops root for nobody) cannot reach; kUnavailable when ovsdb does not answer;
// kInternal when ip, ethtool or dnsmasq report an error (with their words).
//
// Thread safety: calls for different networks run in parallel; calls for one network are
// serialised inside this driver (another process driving the same stateDir is not supported).
#pragma once

#include <memory>
#include <string>

#include "executors/drivers.h"
#include "model/executor_settings.h"
#include "model/status.h"

namespace topoplace {

Result<std::unique_ptr<L3Driver>> MakeDnsmasqDriver(const DriverOptions& options);

// The names the dnsmasq driver gives a tenant network's pieces (tests look for them).
struct DnsmasqNetworkNames {
  std::string netns;        // the DHCP server's namespace
  std::string switch_port;  // the veth end on the bridge (also the OVS port name)
  std::string inner_port;   // the veth end in the server's namespace
};
DnsmasqNetworkNames DnsmasqNamesFor(const std::string& network_id);

}  // namespace topoplace
