// The bare-metal execution benchmark: one cluster carried out on a lab of real peers (ipmi_sim
// BMCs, an Open vSwitch leaf, dnsmasq per tenant network, machines as network namespaces that boot
// when their BMC powers them on) by a real `topoplace serve --executors`
// (tests/executors/baremetal_lab.h builds the lab).
//
// For one cluster of `--cluster-nodes` machines (default: all of them) it measures the time from
// POST to READY and from DELETE to DELETED as a client sees it, the steps done per second, the
// runner's own time as a share of the drivers' time (/metrics topoplace_runner_seconds_total),
// and per driver the steps and their mean seconds (/metrics topoplace_plan_step*). A second table
// says where the time went: per action, when its first step started and its last one ended
// (relative to the cluster's request or deletion) and how long its steps took, from the plan's
// own step times.
//
// Before printing anything it checks on the peers themselves that the cluster really was READY
// (every machine on per its BMC, booted from the network, its port on the tenant VLAN, holding
// the address the API shows) and really was torn down (every machine off, on the quarantine VLAN,
// no address). A run that fails a check exits 1 with what was wrong and prints no numbers.
//
// Needs root and the peer programs of scripts/install-deps.sh, like the end-to-end tests.
//
//   executors_bench [--nodes 100] [--cluster-nodes N] [--parallelism 16] [--timeout 1800]
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "tests/executors/baremetal_lab.h"

namespace topoplace::testing {
namespace {

using Clock = std::chrono::steady_clock;

constexpr int kQuarantineVlan = 4000;  // the lab's quarantine VLAN

struct Options {
  int nodes = 100;
  int cluster_nodes = 0;  // 0: all machines
  int parallelism = 16;   // the executor settings' default
  double timeout_seconds = 1800;
};

// A run that must not be reported.
struct BrokenRun : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// ---- the machine -------------------------------------------------------------------------------

std::string FirstValue(const std::string& file, const std::string& key) {
  std::ifstream in(file);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(key, 0) != 0) continue;
    const size_t sep = line.find_first_of(":=");
    if (sep == std::string::npos) continue;
    std::string v = line.substr(line.find_first_not_of(" \t", sep + 1));
    if (!v.empty() && v.front() == '"') v = v.substr(1, v.size() - 2);
    return v;
  }
  return "unknown";
}

std::string LoadAverage() {
  std::ifstream in("/proc/loadavg");
  double one = 0;
  in >> one;
  char buf[16];
  std::snprintf(buf, sizeof buf, "%.2f", one);
  return buf;
}

// ---- /metrics ----------------------------------------------------------------------------------

struct DriverCounts {
  double steps = 0;
  double seconds = 0;
};

struct RunnerMetrics {
  std::map<std::pair<std::string, std::string>, DriverCounts> by_driver;  // (driver, outcome)
  double runner_seconds = 0;
  double driver_seconds = 0;

  RunnerMetrics operator-(const RunnerMetrics& before) const {
    RunnerMetrics d = *this;
    for (const auto& [key, v] : before.by_driver) {
      d.by_driver[key].steps -= v.steps;
      d.by_driver[key].seconds -= v.seconds;
    }
    d.runner_seconds -= before.runner_seconds;
    d.driver_seconds -= before.driver_seconds;
    return d;
  }
  double Steps(const std::string& outcome) const {
    double n = 0;
    for (const auto& [key, v] : by_driver) n += key.second == outcome ? v.steps : 0;
    return n;
  }
};

RunnerMetrics ReadMetrics(BaremetalLab& lab) {
  Response r = lab.server().Call("GET", "/metrics", lab.admin());
  if (r.status != 200) throw BrokenRun("GET /metrics: " + std::to_string(r.status) + " " + r.body);
  static const std::regex kLine(R"(^(\w+)\{([^}]*)\} (\S+)$)");
  static const std::regex kLabel(R"re((\w+)="([^"]*)")re");
  RunnerMetrics m;
  std::istringstream in(r.body);
  std::string line;
  bool runner_seen = false;
  while (std::getline(in, line)) {
    std::smatch sm;
    if (!std::regex_match(line, sm, kLine)) continue;
    const std::string name = sm[1], labels_text = sm[2];
    const double value = std::stod(sm[3]);
    std::map<std::string, std::string> labels;
    for (std::sregex_iterator it(labels_text.begin(), labels_text.end(), kLabel), end; it != end;
         ++it) {
      labels[(*it)[1]] = (*it)[2];
    }
    if (name == "topoplace_plan_steps_total") {
      m.by_driver[{labels["driver"], labels["outcome"]}].steps = value;
    } else if (name == "topoplace_plan_step_seconds_total") {
      m.by_driver[{labels["driver"], labels["outcome"]}].seconds = value;
    } else if (name == "topoplace_runner_seconds_total") {
      runner_seen = true;
      (labels["part"] == "runner" ? m.runner_seconds : m.driver_seconds) = value;
    }
  }
  if (!runner_seen) throw BrokenRun("/metrics has no topoplace_runner_seconds_total");
  return m;
}

// ---- the cluster -------------------------------------------------------------------------------

json Call(BaremetalLab& lab, const std::string& method, const std::string& path, const json& body,
          int expect) {
  Response r = lab.server().Call(method, path, lab.admin(), body.is_null() ? "" : body.dump());
  if (r.status != expect) {
    throw BrokenRun(method + " " + path + ": " + std::to_string(r.status) + " " + r.body);
  }
  return r.Json();
}

// What went wrong in a plan, for the message of a broken run.
std::string StepsNotDone(const json& k) {
  std::string out;
  int shown = 0;
  for (const auto& s : k.value("steps", json::array())) {
    const std::string state = s.value("state", "");
    if (state == "done" || ++shown > 20) continue;
    out += "\n  " + s.value("id", "") + " " + state + " x" +
           std::to_string(s.value("attempts", 0)) + ": " + s.value("log", "");
  }
  if (k.contains("error")) out = "\n  error: " + k["error"].get<std::string>() + out;
  return out;
}

// Polls the cluster until it is `status`; a final status that is not it, or the time running out,
// is a broken run. Returns the cluster and the seconds since `start` when it was first seen.
std::pair<json, double> WaitFor(BaremetalLab& lab, const std::string& id, const std::string& status,
                                Clock::time_point start, double timeout_seconds) {
  const auto deadline = start + std::chrono::duration<double>(timeout_seconds);
  json k;
  while (Clock::now() < deadline) {
    k = Call(lab, "GET", "/v1/clusters/" + id, nullptr, 200);
    const std::string now = k.value("status", "");
    if (now == status) {
      return {k, std::chrono::duration<double>(Clock::now() - start).count()};
    }
    if (now == "FAILED" || (now == "DELETED" && status != "DELETED")) {
      throw BrokenRun("cluster " + id + " is " + now + ", not " + status + StepsNotDone(k));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  throw BrokenRun("cluster " + id + " not " + status + " after " +
                  std::to_string(static_cast<int>(timeout_seconds)) + " s (it is " +
                  k.value("status", "?") + ")" + StepsNotDone(k));
}

std::vector<std::string> ClusterNodes(const json& k) {
  std::vector<std::string> out;
  for (const auto& n : k["nodes"]) out.push_back(n.value("name", ""));
  return out;
}

// The cluster is READY on the peers: each machine on (its BMC says so), booted from the network,
// its switch port on the tenant VLAN, holding the address the API shows, from the tenant subnet;
// every other machine of the lab still off and in quarantine.
void CheckReady(BaremetalLab& lab, const json& k, int cluster_nodes) {
  std::vector<std::string> wrong;
  const std::vector<std::string> nodes = ClusterNodes(k);
  if (static_cast<int>(nodes.size()) != cluster_nodes) {
    wrong.push_back("the cluster has " + std::to_string(nodes.size()) + " machines, not " +
                    std::to_string(cluster_nodes));
  }
  const int vlan = k["network"]["vlan"];
  const std::string subnet = k["network"]["subnet"];
  const std::string prefix = subnet.substr(0, subnet.rfind('.') + 1);
  std::map<std::string, std::string> shown;
  for (const auto& a : k["network"]["addresses"]) shown[a["node"]] = a["address"];
  std::set<int> in_cluster;
  for (const std::string& node : nodes) {
    const int i = BaremetalLab::Index(node);
    in_cluster.insert(i);
    if (!lab.PoweredOn(i)) wrong.push_back(node + ": its BMC says power off");
    if (lab.LastBoot(i) != "pxe") wrong.push_back(node + ": last boot " + lab.LastBoot(i));
    if (lab.PortTag(i) != vlan) {
      wrong.push_back(node + ": port on VLAN " + std::to_string(lab.PortTag(i)) + ", not " +
                      std::to_string(vlan));
    }
    const std::string address = lab.Address(i);
    if (shown[node].rfind(prefix, 0) != 0 || address != shown[node]) {
      wrong.push_back(node + ": holds \"" + address + "\", the API shows \"" + shown[node] +
                      "\" in " + subnet);
    }
  }
  for (int i = 0; i < static_cast<int>(lab.scenario().inventory.nodes.size()); ++i) {
    if (in_cluster.count(i)) continue;
    if (lab.PoweredOn(i) || lab.PortTag(i) != kQuarantineVlan) {
      wrong.push_back(BaremetalLab::Name(i) + " is not in the cluster but on or out of quarantine");
    }
  }
  if (!wrong.empty()) {
    std::string text = "the cluster is READY per the API but not on the peers:";
    for (size_t i = 0; i < wrong.size() && i < 20; ++i) text += "\n  " + wrong[i];
    if (wrong.size() > 20) text += "\n  ... " + std::to_string(wrong.size() - 20) + " more";
    throw BrokenRun(text);
  }
}

// The cluster is gone from the peers: each machine off, its port back on the quarantine VLAN,
// no address (the lab's machine drops it in a background hook when its power goes off, so that
// alone is given a few seconds), the allocation released.
void CheckTornDown(BaremetalLab& lab, const json& k, const std::vector<std::string>& nodes) {
  std::vector<std::string> wrong;
  for (const std::string& node : nodes) {
    const int i = BaremetalLab::Index(node);
    if (lab.PoweredOn(i)) wrong.push_back(node + ": its BMC says power on");
    if (lab.PortTag(i) != kQuarantineVlan) {
      wrong.push_back(node + ": port on VLAN " + std::to_string(lab.PortTag(i)));
    }
    std::string address = lab.Address(i);
    for (int tries = 0; !address.empty() && tries < 50; ++tries) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      address = lab.Address(i);
    }
    if (!address.empty()) wrong.push_back(node + ": still holds " + address);
  }
  json alloc =
      Call(lab, "GET", "/v1/allocations/" + k["allocation"].get<std::string>(), nullptr, 200);
  if (alloc.value("status", "") != "released") {
    wrong.push_back("allocation " + k["allocation"].get<std::string>() + " is " +
                    alloc.value("status", "?"));
  }
  if (!wrong.empty()) {
    std::string text = "the cluster is DELETED per the API but not on the peers:";
    for (size_t i = 0; i < wrong.size() && i < 20; ++i) text += "\n  " + wrong[i];
    if (wrong.size() > 20) text += "\n  ... " + std::to_string(wrong.size() - 20) + " more";
    throw BrokenRun(text);
  }
}

// ---- where the time went, from the plan's own step times ---------------------------------------

// "2026-11-27T16:58:37.123Z" -> milliseconds since the epoch.
int64_t IsoMs(const std::string& t) {
  std::tm tm{};
  int ms = 0;
  if (std::sscanf(t.c_str(), "%d-%d-%dT%d:%d:%d.%dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                  &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &ms) < 6) {
    throw BrokenRun("unexpected time " + t);
  }
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return static_cast<int64_t>(::timegm(&tm)) * 1000 + ms;
}

int64_t MilestoneMs(const json& k, const std::string& name) {
  for (const auto& m : k["milestones"]) {
    if (m["name"] == name) return IsoMs(m["at"]);
  }
  throw BrokenRun("the cluster has no milestone " + name);
}

struct ActionTimes {
  std::string driver;
  int steps = 0;
  double first_start = 1e18, last_end = 0, sum = 0, max = 0;  // seconds from the phase's start
};

// Per action of `phase`: when its first step started, its last ended, and the steps' spans (first
// start to last update, so retries and a wait-lease's polls are inside).
std::vector<std::pair<std::string, ActionTimes>> ActionSpans(const json& k,
                                                             const std::string& phase,
                                                             int64_t origin_ms) {
  std::vector<std::pair<std::string, ActionTimes>> out;
  for (const auto& s : k["steps"]) {
    if (s["phase"] != phase || !s.contains("startedAt") || !s.contains("updatedAt")) continue;
    const std::string action = s["action"];
    auto it =
        std::find_if(out.begin(), out.end(), [&](const auto& p) { return p.first == action; });
    if (it == out.end()) it = out.insert(out.end(), {action, ActionTimes{}});
    ActionTimes& a = it->second;
    a.driver = s["driver"].get<std::string>().empty() ? s["layer"].get<std::string>()
                                                      : s["driver"].get<std::string>();
    const double start = (IsoMs(s["startedAt"]) - origin_ms) / 1000.0;
    const double end = (IsoMs(s["updatedAt"]) - origin_ms) / 1000.0;
    ++a.steps;
    a.first_start = std::min(a.first_start, start);
    a.last_end = std::max(a.last_end, end);
    a.sum += end - start;
    a.max = std::max(a.max, end - start);
  }
  return out;
}

// ---- the run -----------------------------------------------------------------------------------

struct Phase {
  double client_seconds = 0;  // POST (DELETE) sent to READY (DELETED) first seen
  double server_seconds = 0;  // the plan's milestones: requested (deleting) to ready (deleted)
  RunnerMetrics metrics;
  json cluster;
};

double Share(double part, double whole) { return whole > 0 ? 100.0 * part / whole : 0; }

void PrintTables(const Options& o, double lab_seconds, const Phase& deploy, const Phase& teardown) {
  std::printf(
      "\n| nodes | phase | client s | server s | steps done | steps/s | retried | "
      "failed | runner s | drivers s | runner/drivers |\n");
  std::printf("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
  auto row = [&](const char* name, const Phase& p) {
    const RunnerMetrics& m = p.metrics;
    std::printf("| %d | %s | %.2f | %.2f | %.0f | %.1f | %.0f | %.0f | %.2f | %.2f | %.2f%% |\n",
                o.cluster_nodes, name, p.client_seconds, p.server_seconds, m.Steps("done"),
                m.Steps("done") / p.client_seconds, m.Steps("retried"), m.Steps("failed"),
                m.runner_seconds, m.driver_seconds, Share(m.runner_seconds, m.driver_seconds));
  };
  row("POST to READY", deploy);
  row("DELETE to DELETED", teardown);
  const double runner = deploy.metrics.runner_seconds + teardown.metrics.runner_seconds;
  const double drivers = deploy.metrics.driver_seconds + teardown.metrics.driver_seconds;
  std::printf(
      "\nrunner overhead over both phases: %.2f s of runner time for %.2f s of driver "
      "time (%.2f%%)\n",
      runner, drivers, Share(runner, drivers));

  std::printf(
      "\n| driver | outcome | deploy steps | deploy mean s | teardown steps | "
      "teardown mean s |\n");
  std::printf("|---|---|---:|---:|---:|---:|\n");
  std::set<std::pair<std::string, std::string>> keys;
  for (const Phase* p : {&deploy, &teardown}) {
    for (const auto& [key, v] : p->metrics.by_driver) {
      if (v.steps > 0) keys.insert(key);
    }
  }
  auto cell = [](const RunnerMetrics& m, const std::pair<std::string, std::string>& key) {
    auto it = m.by_driver.find(key);
    char buf[64];
    if (it == m.by_driver.end() || it->second.steps <= 0) return std::string("| 0 | - ");
    std::snprintf(buf, sizeof buf, "| %.0f | %.3f ", it->second.steps,
                  it->second.seconds / it->second.steps);
    return std::string(buf);
  };
  for (const auto& key : keys) {
    std::printf("| %s | %s %s%s|\n", key.first.c_str(), key.second.c_str(),
                cell(deploy.metrics, key).c_str(), cell(teardown.metrics, key).c_str());
  }

  std::printf(
      "\nwhere the time went (seconds from the request / the deletion; a step's span is "
      "its first start to its last update, retries and polls included)\n");
  std::printf(
      "\n| phase | action | driver | steps | first start | last end | mean span | "
      "max span |\n");
  std::printf("|---|---|---|---:|---:|---:|---:|---:|\n");
  auto spans = [&](const char* name, const Phase& p, const std::string& phase,
                   const std::string& origin) {
    for (const auto& [action, a] : ActionSpans(p.cluster, phase, MilestoneMs(p.cluster, origin))) {
      std::printf("| %s | %s | %s | %d | %.2f | %.2f | %.2f | %.2f |\n", name, action.c_str(),
                  a.driver.c_str(), a.steps, a.first_start, a.last_end, a.sum / a.steps, a.max);
    }
  };
  spans("deploy", deploy, "deploy", "requested");
  spans("teardown", teardown, "teardown", "deleting");
  std::printf("\nlab: %d machines (BMCs, namespaces, the server) up in %.1f s\n", o.nodes,
              lab_seconds);
}

int Run(const Options& o) {
  std::printf("topoplace bare-metal execution benchmark\n");
  std::printf(
      "machine: %s, %u hardware threads, %s, load %s before the lab; peers and server on "
      "the same machine\n",
      FirstValue("/proc/cpuinfo", "model name").c_str(), std::thread::hardware_concurrency(),
      FirstValue("/etc/os-release", "PRETTY_NAME").c_str(), LoadAverage().c_str());
  std::printf(
      "lab: %d machines (ipmi_sim BMCs, namespaces on one Open vSwitch leaf, dnsmasq), "
      "one cluster of %d; runner parallelism %d, attempts 3, backoff 1 s\n",
      o.nodes, o.cluster_nodes, o.parallelism);
  std::fflush(stdout);

  const auto lab_start = Clock::now();
  LabOptions lo;
  lo.nodes = o.nodes;
  lo.attempts = 3;  // the executor settings' defaults, not the tests' quicker ones
  lo.backoff_seconds = 1;
  lo.boot_timeout_seconds = 120;
  lo.parallelism = o.parallelism;
  BaremetalLab lab(lo);
  const double lab_seconds = std::chrono::duration<double>(Clock::now() - lab_start).count();
  std::printf("lab up in %.1f s; load %s\n", lab_seconds, LoadAverage().c_str());
  std::fflush(stdout);

  Phase deploy, teardown;
  const RunnerMetrics before = ReadMetrics(lab);
  const auto post = Clock::now();
  json k = Call(
      lab, "POST", "/v1/clusters",
      {{"tenant", "acme"}, {"name", "bench"}, {"nodes", o.cluster_nodes}, {"purpose", "baremetal"}},
      201);
  const std::string id = k["id"];
  std::tie(deploy.cluster, deploy.client_seconds) =
      WaitFor(lab, id, "READY", post, o.timeout_seconds);
  const RunnerMetrics ready = ReadMetrics(lab);
  deploy.metrics = ready - before;
  deploy.server_seconds =
      (MilestoneMs(deploy.cluster, "ready") - MilestoneMs(deploy.cluster, "requested")) / 1000.0;
  CheckReady(lab, deploy.cluster, o.cluster_nodes);
  const std::vector<std::string> nodes = ClusterNodes(deploy.cluster);

  const auto del = Clock::now();
  Call(lab, "DELETE", "/v1/clusters/" + id, nullptr, 202);
  std::tie(teardown.cluster, teardown.client_seconds) =
      WaitFor(lab, id, "DELETED", del, o.timeout_seconds);
  teardown.metrics = ReadMetrics(lab) - ready;
  teardown.server_seconds =
      (MilestoneMs(teardown.cluster, "deleted") - MilestoneMs(teardown.cluster, "deleting")) /
      1000.0;
  CheckTornDown(lab, teardown.cluster, nodes);

  if (deploy.metrics.Steps("failed") > 0 || teardown.metrics.Steps("failed") > 0) {
    throw BrokenRun("steps failed on the way (a machine was replaced?):" +
                    StepsNotDone(deploy.cluster));
  }
  PrintTables(o, lab_seconds, deploy, teardown);
  return 0;
}

int Usage() {
  std::fprintf(stderr,
               "usage: executors_bench [--nodes N] [--cluster-nodes N] [--parallelism N] "
               "[--timeout SECONDS]\n");
  return 2;
}

}  // namespace
}  // namespace topoplace::testing

int main(int argc, char** argv) {
  using namespace topoplace::testing;
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (i + 1 >= argc) return Usage();
    const std::string v = argv[++i];
    try {
      if (a == "--nodes") {
        o.nodes = std::stoi(v);
      } else if (a == "--cluster-nodes") {
        o.cluster_nodes = std::stoi(v);
      } else if (a == "--parallelism") {
        o.parallelism = std::stoi(v);
      } else if (a == "--timeout") {
        o.timeout_seconds = std::stod(v);
      } else {
        return Usage();
      }
    } catch (const std::exception&) {
      return Usage();
    }
  }
  if (o.cluster_nodes == 0) o.cluster_nodes = o.nodes;
  // The lab's machines share one /24 tenant subnet and one byte of MAC address.
  if (o.nodes < 1 || o.nodes > 250 || o.cluster_nodes < 1 || o.cluster_nodes > o.nodes ||
      o.parallelism < 1 || o.timeout_seconds <= 0) {
    std::fprintf(stderr,
                 "executors_bench: need 1 <= --cluster-nodes <= --nodes <= 250, "
                 "--parallelism >= 1, --timeout > 0\n");
    return 2;
  }
  try {
    return Run(o);
  } catch (const std::exception& e) {
    std::fflush(stdout);
    std::fprintf(stderr, "executors_bench: BROKEN RUN, no numbers reported:\n%s\n", e.what());
    return 1;
  }
}
