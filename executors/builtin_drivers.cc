// The drivers that ship, registered by name per layer.
#include "executors/dnsmasq_driver.h"
#include "executors/drivers.h"
#include "executors/hcp_manifests_driver.h"
#include "executors/ipmi_driver.h"
#include "executors/ovs_driver.h"
#include "executors/redfish_driver.h"
#include "executors/slurm_driver.h"

namespace topoplace {

DriverRegistry BuiltinDrivers() {
  DriverRegistry r;
  r.AddBmc("ipmi", MakeIpmiDriver);
  r.AddBmc("redfish", MakeRedfishDriver);
  r.AddL2("ovs", MakeOvsDriver);
  r.AddL3("dnsmasq", MakeDnsmasqDriver);
  r.AddCluster("hcp-manifests", MakeHcpManifestsDriver);
  r.AddCluster("slurm", MakeSlurmDriver);
  return r;
}

}  // namespace topoplace
