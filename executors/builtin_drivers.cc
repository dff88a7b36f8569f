// The drivers that ship, registered by name per layer.
#include "executors/drivers.h"
#include "executors/ipmi_driver.h"
#include "executors/redfish_driver.h"

namespace topoplace {

DriverRegistry BuiltinDrivers() {
  DriverRegistry r;
  r.AddBmc("ipmi", MakeIpmiDriver);
  r.AddBmc("redfish", MakeRedfishDriver);
  return r;
}

}  // namespace topoplace
