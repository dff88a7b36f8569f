// The `hcp-manifests` cluster driver: hands machines over to an OpenShift hosted control plane
// (purpose "openshift", DESIGN.md section 6a) as the manifests a hub applies.
//
// For a cluster it generates a HostedCluster and a NodePool (hypershift.openshift.io/v1beta1,
// platform Agent) and an InfraEnv (agent-install.openshift.io/v1beta1); for each machine an Agent
// (agent-install.openshift.io/v1beta1), approved, with the node's name as its hostname (lower
// case, other characters than letters and digits as hyphens when it is no host name), its MAC
// and address as annotations (the Agent's spec has no field for them) and the labels the
// NodePool's agent selector matches: `topoplace.io/cluster: <cluster label>`, which only this
// cluster's Agents carry. The NodePool's replicas follow the machines: the cluster's planned
// machines (the addresses of its network) or the Agents applied, whichever is more, and the
// Agents left once machines leave.
//
// No hub runs here. A hub stand-in (HubStandIn in the .cc) applies the objects: each is a JSON
// file `<applyDir>/<namespace>/<Kind>/<name>.json`, written atomically (temporary file + rename)
// and only when its text changes, so applying twice leaves identical files. Status is read back
// from that directory: NodeReady is true once the machine's Agent is applied, approved and
// labelled for the NodePool's selector; VerifyNode re-reads the files and checks the Agent is
// bound to this cluster's NodePool (selected by it and by no other NodePool whose HostedCluster
// takes Agents from the same namespace, hostname and MAC as given); RemoveNode deletes the Agent's
// file (a missing file is success); RemoveCluster deletes the NodePool, InfraEnv and HostedCluster
// files once no Agent of the cluster is left, and is kFailedPrecondition naming the Agents
// otherwise.
//
// Names are DNS-1123 labels derived from tenant, project and name plus six hex digits of a hash
// of the cluster id (deterministic, distinct per cluster): the HostedCluster, NodePool and
// InfraEnv share `HcpClusterName`; an Agent is named after the cluster and its node. `Access`:
// apiUrl `https://api.<name>.<baseDomain>:6443`, consoleUrl
// `https://console-openshift-console.apps.<name>.<baseDomain>`, kubeconfig the admin kubeconfig
// Secret's reference `<namespace>/<name>-admin-kubeconfig` (never its content).
//
// Options (DriverOptions): applyDir (required: the hub stand-in's directory), releaseImage
// (required: the release the hosted control plane runs; which one is the deployment's choice),
// baseDomain (default "topoplace.local"), namespace (of HostedClusters and NodePools, default
// "clusters"), agentNamespace (of InfraEnvs and Agents, default = namespace), pullSecret (a
// Secret's name, default "pull-secret"), sshKeySecret (a Secret's name; default none),
// sshAuthorizedKey (a public key for the InfraEnv's discovery image; default none),
// servicePublishing ("LoadBalancer": the API server on a load balancer and the other services on
// routes (default); "Route": all on routes; "NodePort": all on node ports of nodePortAddress),
// nodePortAddress, clusterNetwork (default "10.132.0.0/14"), hostPrefix (default 23),
// serviceNetwork (default "172.31.0.0/16"), networkType (default "OVNKubernetes"),
// nodeUpgradeType ("InPlace" (default) or "Replace"). The machine network is the cluster's tenant
// subnet. Unknown options and bad values are kInvalidArgument naming them.
//
// Errors: kInvalidArgument for a cluster of another purpose, a tenant subnet that is not an IPv4
// CIDR or overlaps the cluster or service network, a machine without a node name or with a bad
// MAC; kFailedPrecondition for a machine joining a cluster whose objects are not applied, a
// VerifyNode that finds the Agent missing or not bound, a RemoveCluster with Agents left;
// kInternal for a file that cannot be written, read or parsed (naming it).
//
// Thread safety: calls are serialised inside the driver (they touch the cluster's NodePool); one
// process per applyDir.
#pragma once

#include <memory>
#include <string>

#include "executors/drivers.h"
#include "model/executor_settings.h"
#include "model/status.h"

namespace topoplace {

Result<std::unique_ptr<ClusterDriver>> MakeHcpManifestsDriver(const DriverOptions& options);

// The label the NodePool's agent selector matches and every Agent of the cluster carries.
inline constexpr const char* kHcpClusterLabel = "topoplace.io/cluster";

// The name of a cluster's HostedCluster, NodePool and InfraEnv (a DNS-1123 label short enough
// that `<namespace>-<name>` is one too).
std::string HcpClusterName(const ClusterSpec& cluster, const std::string& namespace_name);

}  // namespace topoplace
