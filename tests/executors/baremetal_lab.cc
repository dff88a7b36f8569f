#include "tests/executors/baremetal_lab.h"

#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include "executors/dnsmasq_driver.h"

namespace topoplace::testing {
namespace fs = std::filesystem;

namespace {

void WriteFile(const fs::path& p, const std::string& text, mode_t mode = 0644) {
  std::ofstream out(p);
  out << text;
  out.close();
  ::chmod(p.c_str(), mode);
}

}  // namespace

BaremetalLab::BaremetalLab(const LabOptions& options) : options_(options) {
  constexpr int kQuarantine = 4000;
  Result<std::unique_ptr<FabricPeer>> fabric = FabricPeer::Start(options.nodes, kQuarantine);
  if (!fabric.ok()) throw std::runtime_error("fabric: " + fabric.status().message());
  fabric_ = std::move(fabric).value();
  // Files dnsmasq (running as nobody) must read live under the fabric's 0755 directory.
  const fs::path dir = fs::path(fabric_->dir()) / "lab";
  fs::create_directories(dir);
  ::chmod(dir.c_str(), 0755);
  state_dir_ = (dir / "l3").string();
  // The machine's "OS": a DHCP client whose script puts the offered address on eth0.
  WriteFile(dir / "dhcp-script.sh",
            "#!/bin/sh\n"
            "case \"$1\" in\n"
            "  bound|renew) ip addr flush dev \"$interface\"; "
            "ip addr add \"$ip/${mask:-24}\" dev \"$interface\";;\n"
            "  deconfig) ip addr flush dev \"$interface\";;\n"
            "esac\nexit 0\n",
            0755);
  if (options.slurm) {
    // The controller's own address sits outside the tenant pool; machines reach it through their
    // subnet's service address, where the slurm driver plugs the controller in.
    SlurmPeerOptions so;
    so.bridge_cidr = "";
    so.loopback_address = "10.254.0.1";
    Result<std::unique_ptr<SlurmPeer>> slurm = SlurmPeer::Start(so);
    if (!slurm.ok()) throw std::runtime_error("slurm: " + slurm.status().message());
    slurm_ = std::move(slurm).value();
  }
  PeerMachineOptions machines;
  for (int i = 0; i < options.nodes; ++i) {
    const std::string ns = fabric_->node(i).netns;
    std::string on = "ip netns exec " + ns + " busybox udhcpc -i eth0 -q -n -t " +
                     std::to_string(static_cast<int>(options.boot_timeout_seconds)) + " -T 1 -s " +
                     (dir / "dhcp-script.sh").string();
    std::string off = "ip netns exec " + ns + " ip addr flush dev eth0";
    if (slurm_) {
      // The booted OS hands the machine to SLURM once it has its address; power off stops it.
      on += " && " +
            slurm_->SlurmdBootCommand(ns, Name(i), kNodeCores, kNodeMemoryGiB * 1024L, "service");
      off = slurm_->SlurmdStopCommand(Name(i)) + "; " + off;
    }
    machines.on_power_on.push_back(on);
    machines.on_power_off.push_back(off);
  }
  bmcs_ = std::make_unique<IpmiSimPeer>(options.nodes, machines);
  // The same machines behind the Redfish test emulator too (system i+1 is machine i); a machine's
  // inventory entry names one of the two BMCs, and only that one ever powers it.
  if (!options.redfish.empty()) redfish_ = std::make_unique<RedfishEmulatorPeer>(options.nodes, machines);

  std::ostringstream y;
  y << "apiVersion: topoplace/v1\n"
       "inventory:\n"
       "  sites: [{name: lab, region: us-east, jurisdiction: US}]\n"
       "  powerDomains: [{name: pdu-a, site: lab}, {name: pdu-b, site: lab}]\n"
       "  switches:\n"
       "    - {name: spine-1, role: spine, vendor: ovs, site: lab, pod: pod-1}\n"
       "    - {name: leaf-1, role: leaf, vendor: ovs, site: lab, pod: pod-1, uplinks: [spine-1],\n"
       "       management: {driver: ovs, bridge: "
    << fabric_->bridge()
    << "}}\n"
       "  racks: [{name: r1, site: lab, row: row-1, pod: pod-1, powerDomains: [pdu-a, pdu-b]}]\n"
       "  nodeClasses:\n"
       "    - {name: cpu, cpu: {cores: "
    << kNodeCores << ", model: lab}, memoryGiB: " << kNodeMemoryGiB
    << ", storageGiB: 100, costPerHour: 1}\n"
       "  nodes:\n";
  for (int i = 0; i < options.nodes; ++i) {
    auto pool = options.pool.find(i);
    auto port = options.port_override.find(i);
    y << "    - {name: " << Name(i) << ", class: cpu, rack: r1, powerDomain: "
      << (i % 2 ? "pdu-b" : "pdu-a") << ", leaf: leaf-1,\n"
      << "       labels: {pool: " << (pool == options.pool.end() ? "any" : pool->second) << "},\n"
      << "       bmc: "
      << (options.redfish.count(i)
              ? "{protocol: redfish, address: \"" + redfish_->Address() +
                    "\", credentials: redfish, system: \"" + std::to_string(i + 1) + "\"}"
              : "{protocol: ipmi, address: \"" + bmcs_->Address(i) + "\", credentials: bmc-" +
                    std::to_string(i + 1) + "}")
      << ",\n"
      << "       ports: [{name: eth0, mac: \"" << fabric_->node(i).mac
      << "\", switch: leaf-1, port: "
      << (port == options.port_override.end() ? fabric_->node(i).port : port->second) << "}]}\n";
  }
  y << "networks:\n"
       "  quarantineVlan: "
    << kQuarantine
    << "\n"
       "  tenantVlans: {from: 100, to: 199}\n"
       "  tenantSubnets: {pool: 10.128.0.0/16, prefixLength: 24}\n"
       "tenants:\n";
  // Either tenant may hold every machine of the lab (the benchmark's one cluster of all of them).
  const int quota = std::max(100, options.nodes);
  y << "  - {name: " << options.tenant << ", quota: {nodes: " << quota << "}"
    << (options.project.empty() ? "" : ", projects: [{name: " + options.project + "}]")
    << "}\n"
    << "  - {name: globex, quota: {nodes: " << quota << "}}\n"
    << options.extra_yaml;
  scenario_path_ = (dir / "lab.yaml").string();
  WriteFile(scenario_path_, y.str());
  Result<Scenario> scenario = LoadScenarioFile(scenario_path_);
  if (!scenario.ok()) throw std::runtime_error("lab scenario: " + scenario.status().message());
  scenario_ = *scenario;

  std::ostringstream e;
  e << "apiVersion: topoplace/v1\ncredentials:\n";
  for (int i = 0; i < options.nodes; ++i) {
    const fs::path pw = dir / ("bmc-" + std::to_string(i + 1) + ".pw");
    WriteFile(pw, bmcs_->bmc(i).password + "\n", 0600);
    e << "  bmc-" << i + 1 << ": {username: " << bmcs_->bmc(i).user
      << ", passwordFile: " << pw.string() << "}\n";
  }
  if (redfish_) {
    const fs::path pw = dir / "redfish.pw";
    WriteFile(pw, redfish_->password() + "\n", 0600);
    e << "  redfish: {username: " << redfish_->user() << ", passwordFile: " << pw.string() << "}\n";
  }
  e << "drivers:\n"
       "  bmc: {ipmi: {timeoutSeconds: 3}, redfish: {timeoutSeconds: 5}}\n"
       "  l2: {ovs: {ovsdb: \""
    << fabric_->ovsdb()
    << "\"}}\n"
       "  l3: {dnsmasq: {stateDir: "
    << state_dir_ << ", switchNamespace: " << fabric_->switch_netns()
    << ", bridge: " << fabric_->bridge() << ", ovsdb: \"" << fabric_->ovsdb()
    << "\", leaseSeconds: 600}}\n";
  if (slurm_) {
    e << "  slurm: {conf: " << slurm_->conf()
      << ", controllerNamespace: " << slurm_->controller_netns()
      << ", bridge: " << fabric_->bridge() << ", switchNamespace: " << fabric_->switch_netns()
      << ", ovsdb: \"" << fabric_->ovsdb() << "\", timeoutSeconds: 20, drainTimeoutSeconds: 30}\n";
  }
  if (options.openshift) {
    hub_dir_ = (dir / "hub").string();
    e << "  cluster: {hcp-manifests: {applyDir: " << hub_dir_
      << ", releaseImage: \"registry.lab.invalid/release:lab\", baseDomain: lab.example}}\n";
  }
  e << "runner: {attempts: " << options.attempts << ", backoffSeconds: " << options.backoff_seconds
    << ", bootTimeoutSeconds: " << options.boot_timeout_seconds
    << ", parallelism: " << options.parallelism << "}\n";
  settings_path_ = (dir / "executors.yaml").string();
  WriteFile(settings_path_, e.str());
  db_ = (dir / "lab.db").string();
  if (!options.start_server) return;
  StartServer();
  admin_ = CreateToken(db_, "provider-admin");
}

BaremetalLab::~BaremetalLab() {
  if (server_) server_->Stop(SIGTERM);
  server_.reset();
  // Every tenant network's DHCP server is a daemon of ours under the state directory, in a
  // namespace named after its network (a network a failed test left behind is cleaned here).
  for (int pid : FabricPeer::ProcessesWithArgument(state_dir_)) ::kill(pid, SIGKILL);
  std::error_code ignored;
  for (const auto& entry : fs::directory_iterator(state_dir_, ignored)) {
    const std::string netns = DnsmasqNamesFor(entry.path().filename().string()).netns;
    if (FabricPeer::NetnsExists(netns)) (void)RunProcess({"ip", "netns", "del", netns});
  }
}

void BaremetalLab::StartServer() {
  if (server_) server_->Stop(SIGTERM);
  server_ = std::make_unique<ServerProcess>(
      db_, std::vector<std::string>{"--scenario", scenario_path_, "--executors", settings_path_});
}

json BaremetalLab::Call(const std::string& method, const std::string& path, const json& body,
                        int expect) {
  Response r = server_->Call(method, path, admin_, body.is_null() ? "" : body.dump());
  if (expect != 0 && r.status != expect) {
    ADD_FAILURE() << method << " " << path << ": " << r.status << " " << r.body;
  }
  return r.Json();
}

json BaremetalLab::WaitForCluster(const std::string& id, const std::string& status,
                                  double seconds) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  json k;
  while (std::chrono::steady_clock::now() < deadline) {
    k = Call("GET", "/v1/clusters/" + id, nullptr, 200);
    if (k.value("status", "") == status) return k;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  return k;
}

bool BaremetalLab::PoweredOn(int i) const {
  if (options_.redfish.count(i)) return redfish_->State(std::to_string(i + 1), "power") == "On";
  return bmcs_->State(i, "power") == "1";
}

std::string BaremetalLab::LastBoot(int i) const {
  std::string boot = options_.redfish.count(i) ? redfish_->State(std::to_string(i + 1), "last-boot")
                                               : bmcs_->State(i, "last-boot");
  for (char& c : boot) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return boot;
}

int BaremetalLab::PowerOnCalls(int i) const {
  std::istringstream in(bmcs_->State(i, "log"));
  std::string line;
  int n = 0;
  while (std::getline(in, line)) n += line.rfind("set power 1", 0) == 0;
  return n;
}

int BaremetalLab::PortTag(int i) const {
  Result<std::string> tag = fabric_->Vsctl({"get", "port", fabric_->node(i).port, "tag"});
  if (!tag.ok() || tag->empty() || *tag == "[]") return 0;
  return std::stoi(*tag);
}

std::vector<int> BaremetalLab::DhcpServers(const std::string& network_id) const {
  // A server's command line names its files under the state directory's folder of its network.
  const std::string needle = state_dir_ + "/" + network_id;
  std::vector<int> pids;
  std::error_code ec;
  for (fs::directory_iterator it("/proc", ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream in(it->path() / "cmdline", std::ios::binary);
    std::string cmd((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::ifstream stat(it->path() / "stat");
    std::string pid, comm, state;
    stat >> pid >> comm >> state;
    if (state == "Z") continue;  // exited, not yet reaped
    if (cmd.rfind("dnsmasq", 0) == 0 || cmd.find("/dnsmasq") != std::string::npos) {
      if (cmd.find(needle) != std::string::npos) pids.push_back(std::stoi(name));
    }
  }
  return pids;
}

std::string BaremetalLab::Address(int i) const {
  Result<ProcessResult> r = RunProcess(
      {"ip", "-n", fabric_->node(i).netns, "-4", "-o", "addr", "show", "dev", "eth0"});
  if (!r.ok()) return "";
  const size_t at = r->out.find("inet ");
  if (at == std::string::npos) return "";
  const size_t start = at + 5;
  return r->out.substr(start, r->out.find('/', start) - start);
}

}  // namespace topoplace::testing
