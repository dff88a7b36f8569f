// topoplace_lab: the end-to-end tests' bare-metal lab (BaremetalLab: simulated BMCs, an Open
// vSwitch leaf, machines as network namespaces and, with --slurm, munge, slurmctld and a slurmd
// per booted machine) kept up until SIGTERM or SIGINT, for scripts/demo.sh.
//
// It writes the lab's scenario and executor settings and an environment file (--env) naming
// them, the store to serve from and the SLURM controller's namespace and configuration:
//   LAB_SCENARIO LAB_EXECUTORS LAB_DB SLURM_CONF SLURM_NETNS
// It does not start the server: the caller runs `topoplace serve` with those files. On the
// signal every peer the lab started is stopped by PID and its namespaces are deleted.
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>

#include "tests/executors/baremetal_lab.h"

namespace {

volatile std::sig_atomic_t g_stop = 0;
void OnSignal(int) { g_stop = 1; }

int Usage() {
  std::cerr << "usage: topoplace_lab --env FILE [--nodes N] [--slurm] [--tenant T] "
               "[--project P]\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  using topoplace::testing::BaremetalLab;
  using topoplace::testing::LabOptions;
  LabOptions options;
  options.start_server = false;
  options.boot_timeout_seconds = 90;
  std::string env, tenant = "acme", project;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    if (a == "--env") {
      env = value();
    } else if (a == "--nodes") {
      const std::string v = value();
      char* end = nullptr;
      const long n = std::strtol(v.c_str(), &end, 10);
      if (v.empty() || *end != '\0' || n < 1 || n > 200) {
        std::cerr << "topoplace_lab: --nodes: expected a whole number from 1 to 200\n";
        return 2;
      }
      options.nodes = static_cast<int>(n);
    } else if (a == "--slurm") {
      options.slurm = true;
    } else if (a == "--tenant") {
      tenant = value();
    } else if (a == "--project") {
      project = value();
    } else {
      return Usage();
    }
  }
  if (env.empty() || tenant.empty()) return Usage();
  options.tenant = tenant;
  options.project = project;

  std::signal(SIGTERM, OnSignal);
  std::signal(SIGINT, OnSignal);
  try {
    BaremetalLab lab(options);
    const std::string tmp = env + ".tmp";
    {
      std::ofstream out(tmp);
      out << "LAB_SCENARIO=" << lab.scenario_path() << "\n"
          << "LAB_EXECUTORS=" << lab.settings_path() << "\n"
          << "LAB_DB=" << lab.db() << "\n";
      if (options.slurm) {
        out << "SLURM_CONF=" << lab.slurm().conf() << "\n"
            << "SLURM_NETNS=" << lab.slurm().controller_netns() << "\n";
      }
      if (!out) {
        std::cerr << "topoplace_lab: cannot write " << tmp << "\n";
        return 1;
      }
    }
    std::filesystem::rename(tmp, env);
    std::cout << "topoplace_lab: up with " << options.nodes << " machines; environment in "
              << env << std::endl;
    while (!g_stop) ::usleep(100 * 1000);
    std::cout << "topoplace_lab: stopping" << std::endl;
  } catch (const std::exception& e) {
    std::cerr << "topoplace_lab: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
