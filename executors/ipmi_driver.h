// The `ipmi` BMC driver: IPMI v2.0 over LAN through ipmitool (DESIGN.md section 6).
//
// Each call runs `ipmitool -I lanplus -C <cipherSuite> -H host -p port -U user -E chassis ...`; the
// password goes to ipmitool in its environment (IPMI_PASSWORD, read with -E), never on the command
// line where any local user could read it. Power on and off read the power state first and act only
// on a change, so a repeated call neither power-cycles a node nor re-runs what a power-on starts.
// The one-time PXE boot is `chassis bootdev pxe` (next boot only); BootDevice reads boot parameter
// 5 back.
//
// Options (DriverOptions, all optional): cipherSuite (0-17, default 3: ipmitool's own default costs
// seconds per call against many BMCs), timeoutSeconds (default 10, bounds each ipmitool run),
// ipmitool (the program, default "ipmitool"), interface (lanplus | lan, default lanplus). Any other
// key is kInvalidArgument naming it.
//
// Errors: a BMC that does not answer within the timeout is kUnavailable naming the node and the
// address; a BMC that refuses the user name or password is kFailedPrecondition (retrying cannot
// cure it); any other answer that is not what was asked is kInternal with ipmitool's own words.
// Thread safety: the driver holds only its options; calls for different nodes may run at once.
#pragma once

#include <memory>

#include "executors/drivers.h"

namespace topoplace {

Result<std::unique_ptr<BmcDriver>> MakeIpmiDriver(const DriverOptions& options);

}  // namespace topoplace
