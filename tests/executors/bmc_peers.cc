#include "tests/executors/bmc_peers.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace topoplace::testing {
namespace fs = std::filesystem;

std::string SourceDir() {
  const char* s = std::getenv("TOPOPLACE_SOURCE_DIR");
  return s ? s : TOPOPLACE_SOURCE_DIR_DEFAULT;
}

ProcessOptions WithTimeout(double seconds, std::map<std::string, std::string> env) {
  ProcessOptions o;
  o.timeout_seconds = seconds;
  o.env = std::move(env);
  return o;
}

std::string ReadTrimmed(const fs::path& p) {
  std::ifstream in(p);
  if (!in) return "";
  std::stringstream s;
  s << in.rdbuf();
  std::string v = s.str();
  while (!v.empty() && (v.back() == '\n' || v.back() == '\r' || v.back() == ' ')) v.pop_back();
  return v;
}

namespace {

void WriteFile(const fs::path& p, const std::string& text, fs::perms perms = fs::perms(0644)) {
  std::ofstream out(p, std::ios::trunc);
  out << text;
  out.close();
  if (!out) throw std::runtime_error("cannot write " + p.string());
  fs::permissions(p, perms);
}

std::string RandomHex(int n) {
  static std::mt19937_64 rng(std::random_device{}());
  static const char* kHex = "0123456789abcdef";
  std::string s;
  for (int i = 0; i < n; ++i) s += kHex[rng() % 16];
  return s;
}

// A loopback port that was free a moment ago (the peer that takes it confirms by coming up).
int FreePort(int type) {
  int fd = socket(AF_INET, type, 0);
  if (fd < 0) throw std::runtime_error("socket failed");
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  socklen_t len = sizeof a;
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    close(fd);
    throw std::runtime_error("cannot find a free loopback port");
  }
  close(fd);
  return ntohs(a.sin_port);
}

void RequireProgram(const std::string& program) {
  auto r = RunProcess({"sh", "-c", "command -v \"$0\"", program}, WithTimeout(5));
  if (!r.ok() || r->exit_code != 0) {
    throw std::runtime_error("test peer program " + program +
                             " is not installed (scripts/install-deps.sh installs it)");
  }
}

// Stops a child of ours: SIGTERM, then SIGKILL after a grace period; reaps it.
void StopChild(pid_t& pid) {
  if (pid <= 0) return;
  kill(pid, SIGTERM);
  int st = 0;
  for (int i = 0; i < 100; ++i) {
    if (waitpid(pid, &st, WNOHANG) == pid) {
      pid = -1;
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  kill(pid, SIGKILL);
  waitpid(pid, &st, 0);
  pid = -1;
}

bool Alive(pid_t pid) {
  int st = 0;
  return pid > 0 && waitpid(pid, &st, WNOHANG) == 0;
}

std::string HookScript(const std::string& command) { return "#!/bin/sh\n" + command + "\n"; }

}  // namespace

TempDir::TempDir(const std::string& prefix) {
  path_ =
      fs::temp_directory_path() / (prefix + "-" + std::to_string(getpid()) + "-" + RandomHex(8));
  fs::remove_all(path_);
  fs::create_directories(path_);
}

TempDir::~TempDir() {
  std::error_code ignored;
  fs::remove_all(path_, ignored);
}

// ---- ipmi_sim ----------------------------------------------------------------------------------

IpmiSimPeer::IpmiSimPeer(int count, const PeerMachineOptions& options)
    : dir_("topoplace-ipmi-sim") {
  RequireProgram("ipmi_sim");
  RequireProgram("ipmitool");
  const std::string hook = SourceDir() + "/tests/peers/ipmi_sim_chassis_hook.sh";
  if (!fs::exists(hook)) throw std::runtime_error("missing " + hook);
  for (int i = 0; i < count; ++i) {
    Bmc b;
    b.name = "bmc" + std::to_string(i + 1);
    b.user = "admin";
    b.password = "pw-" + RandomHex(8);
    b.dir = dir_.path() / b.name;
    fs::create_directories(b.dir / "hw");
    fs::create_directories(b.dir / "sim-state");
    bool up = false;
    for (int attempt = 0; attempt < 5 && !up; ++attempt) up = StartOne(b, options, i);
    if (!up) {
      std::string out = ReadTrimmed(b.dir / "sim.out");
      for (auto& started : bmcs_) StopChild(started.pid);
      throw std::runtime_error("ipmi_sim " + b.name + " did not come up: " + out);
    }
    bmcs_.push_back(b);
  }
}

bool IpmiSimPeer::StartOne(Bmc& b, const PeerMachineOptions& options, size_t index) {
  const std::string hook = SourceDir() + "/tests/peers/ipmi_sim_chassis_hook.sh";
  b.port = FreePort(SOCK_DGRAM);
  std::ostringstream guid;
  guid << "a123456789abcdef" << RandomHex(16);
  WriteFile(b.dir / "lan.conf", "name \"" + b.name +
                                    "\"\n"
                                    "set_working_mc 0x20\n"
                                    "  startlan 1\n"
                                    "    addr 127.0.0.1 " +
                                    std::to_string(b.port) +
                                    "\n"
                                    "    priv_limit admin\n"
                                    "    allowed_auths_callback none md2 md5 straight\n"
                                    "    allowed_auths_user none md2 md5 straight\n"
                                    "    allowed_auths_operator none md2 md5 straight\n"
                                    "    allowed_auths_admin none md2 md5 straight\n"
                                    "    guid " +
                                    guid.str() +
                                    "\n"
                                    "  endlan\n"
                                    "  chassis_control \"" +
                                    hook + " " + (b.dir / "hw").string() +
                                    "\"\n"
                                    "  user 2 true \"" +
                                    b.user + "\" \"" + b.password +
                                    "\" admin 10 none md2 md5 straight\n");
  WriteFile(b.dir / "sim.emu",
            "mc_setbmc 0x20\n"
            "mc_add 0x20 0 no-device-sdrs 0x23 9 8 0x9f 0x1291 0xf02 persist_sdr\n"
            "mc_enable 0x20\n");
  if (index < options.on_power_on.size() && !options.on_power_on[index].empty()) {
    WriteFile(b.dir / "hw" / "on-power-on", HookScript(options.on_power_on[index]),
              fs::perms(0755));
  }
  if (index < options.on_power_off.size() && !options.on_power_off[index].empty()) {
    WriteFile(b.dir / "hw" / "on-power-off", HookScript(options.on_power_off[index]),
              fs::perms(0755));
  }
  auto pid = SpawnDaemon({"ipmi_sim", "-n", "-c", (b.dir / "lan.conf").string(), "-f",
                          (b.dir / "sim.emu").string(), "-s", (b.dir / "sim-state").string()},
                         (b.dir / "sim.out").string());
  if (!pid.ok()) throw std::runtime_error(pid.status().ToString());
  b.pid = *pid;
  // Up when it answers; a port another process took meanwhile makes it exit: try another.
  for (int i = 0; i < 50; ++i) {
    if (!Alive(b.pid)) {
      b.pid = -1;
      return false;
    }
    ProcessOptions po = WithTimeout(5, {{"IPMI_PASSWORD", b.password}});
    auto r =
        RunProcess({"ipmitool", "-I", "lanplus", "-C", "3", "-N", "1", "-R", "1", "-H", "127.0.0.1",
                    "-p", std::to_string(b.port), "-U", b.user, "-E", "chassis", "power", "status"},
                   po);
    if (r.ok() && r->exit_code == 0) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  StopChild(b.pid);
  return false;
}

IpmiSimPeer::~IpmiSimPeer() {
  for (auto& b : bmcs_) StopChild(b.pid);
}

std::string IpmiSimPeer::State(int i, const std::string& file) const {
  return ReadTrimmed(bmc(i).dir / "hw" / file);
}

ProcessResult IpmiSimPeer::Ipmitool(int i, const std::vector<std::string>& args,
                                    double timeout_seconds) const {
  const Bmc& b = bmc(i);
  std::vector<std::string> argv = {
      "ipmitool", "-I",   "lanplus", "-C", "3", "-H", "127.0.0.1", "-p", std::to_string(b.port),
      "-U",       b.user, "-E"};
  argv.insert(argv.end(), args.begin(), args.end());
  ProcessOptions po = WithTimeout(timeout_seconds, {{"IPMI_PASSWORD", b.password}});
  auto r = RunProcess(argv, po);
  if (!r.ok()) return ProcessResult{-1, "", r.status().ToString()};
  return *r;
}

void IpmiSimPeer::Kill(int i) {
  Bmc& b = bmcs_.at(static_cast<size_t>(i));
  if (b.pid <= 0) return;
  kill(b.pid, SIGKILL);
  int st = 0;
  waitpid(b.pid, &st, 0);
  b.pid = -1;
}

// ---- the Redfish emulator ----------------------------------------------------------------------

RedfishEmulatorPeer::RedfishEmulatorPeer(int systems, const PeerMachineOptions& options,
                                         const std::string& tls_cert, const std::string& tls_key)
    : dir_("topoplace-redfish") {
  RequireProgram("/usr/bin/python3");
  const std::string script = SourceDir() + "/tests/peers/redfish_test_emulator.py";
  if (!fs::exists(script)) throw std::runtime_error("missing " + script);
  password_ = "rf-" + RandomHex(12);
  WriteFile(dir_.path() / "password", password_ + "\n", fs::perms(0600));
  // One dispatcher for the emulator's hooks (it passes the system id); one script per system.
  const fs::path hooks = dir_.path() / "hooks";
  fs::create_directories(hooks);
  WriteFile(hooks / "dispatch",
            "#!/bin/sh\nf=\"" + hooks.string() + "/$2-$1\"\n[ -x \"$f\" ] && exec \"$f\"\nexit 0\n",
            fs::perms(0755));
  for (int i = 0; i < systems; ++i) {
    const std::string id = std::to_string(i + 1);
    const auto idx = static_cast<size_t>(i);
    if (idx < options.on_power_on.size() && !options.on_power_on[idx].empty()) {
      WriteFile(hooks / (id + "-on-power-on"), HookScript(options.on_power_on[idx]),
                fs::perms(0755));
    }
    if (idx < options.on_power_off.size() && !options.on_power_off[idx].empty()) {
      WriteFile(hooks / (id + "-on-power-off"), HookScript(options.on_power_off[idx]),
                fs::perms(0755));
    }
  }
  std::vector<std::string> argv = {
      "/usr/bin/python3", script,
      "--port",           "0",
      "--systems",        std::to_string(systems),
      "--user",           user_,
      "--password-file",  (dir_.path() / "password").string(),
      "--state-dir",      (dir_.path() / "state").string(),
      "--on-power-on",    (hooks / "dispatch").string() + " on-power-on",
      "--on-power-off",   (hooks / "dispatch").string() + " on-power-off"};
  if (!tls_cert.empty()) argv.insert(argv.end(), {"--tls-cert", tls_cert, "--tls-key", tls_key});
  auto pid = SpawnDaemon(argv, (dir_.path() / "emulator.log").string());
  if (!pid.ok()) throw std::runtime_error(pid.status().ToString());
  pid_ = *pid;
  const std::string marker = "listening on 127.0.0.1:";
  for (int i = 0; i < 200; ++i) {  // up to 10 s
    const std::string log = Log();
    if (size_t at = log.find(marker); at != std::string::npos) {
      port_ = std::atoi(log.c_str() + at + marker.size());
      if (port_ > 0) return;
    }
    if (!Alive(pid_)) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  StopChild(pid_);
  throw std::runtime_error("the Redfish emulator did not start: " + Log());
}

RedfishEmulatorPeer::~RedfishEmulatorPeer() { StopChild(pid_); }

std::string RedfishEmulatorPeer::State(const std::string& id, const std::string& file) const {
  return ReadTrimmed(dir_.path() / "state" / id / file);
}

std::string RedfishEmulatorPeer::Log() const { return ReadTrimmed(dir_.path() / "emulator.log"); }

ProcessResult RedfishEmulatorPeer::Redfishtool(const std::vector<std::string>& args) const {
  std::vector<std::string> argv = {"redfishtool", "-r",      Address(), "-u",   user_,
                                   "-p",          password_, "-S",      "Never"};
  argv.insert(argv.end(), args.begin(), args.end());
  auto r = RunProcess(argv, WithTimeout(30));
  if (!r.ok()) return ProcessResult{-1, "", r.status().ToString()};
  return *r;
}

void RedfishEmulatorPeer::Kill() {
  if (pid_ <= 0) return;
  kill(pid_, SIGKILL);
  int st = 0;
  waitpid(pid_, &st, 0);
  pid_ = -1;
}

}  // namespace topoplace::testing
