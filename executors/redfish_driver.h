// The `redfish` BMC driver: the common Redfish profile of a ComputerSystem over HTTP(S) (DESIGN.md
// section 6).
//
// The system is /redfish/v1/Systems/{BmcSpec::system}, or the only member of /redfish/v1/Systems
// when the spec names none. IsPoweredOn reads its PowerState; PowerOn and PowerOff read it first
// and POST the system's #ComputerSystem.Reset action ("On", "ForceOff") only on a change, so a
// repeated call neither power-cycles a node nor re-runs what a power-on starts. SetOneTimePxeBoot
// PATCHes Boot {BootSourceOverrideTarget: Pxe, BootSourceOverrideEnabled: Once} with the ETag just
// read as If-Match; BootDevice reads the override back ("none" when it is Disabled). HTTP basic
// auth.
//
// The address is host:port (plain HTTP, as on a lab network) or a base URL http://host:port or
// https://host:port (TLS, verified against the system's CA store or caFile unless verifyTls is
// false).
//
// Options (DriverOptions, all optional): verifyTls (true | false, default true), timeoutSeconds
// (default 10: connect, read and write of each request), caFile (PEM file of CAs to trust). Any
// other key is kInvalidArgument naming it.
//
// Errors: no connection or no answer within the timeout is kUnavailable naming the node and the
// address; 401/403 (or a certificate that does not verify) is kFailedPrecondition; a system that
// does not exist is kInvalidArgument; any other error answer, an answer over 1 MiB or one that is
// not the JSON asked for is kInternal with the peer's own message (printable, bounded).
// Thread safety: one HTTP client per call; calls for different nodes may run at once.
#pragma once

#include <memory>

#include "executors/drivers.h"

namespace topoplace {

Result<std::unique_ptr<BmcDriver>> MakeRedfishDriver(const DriverOptions& options);

}  // namespace topoplace
