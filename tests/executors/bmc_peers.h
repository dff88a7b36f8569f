// Real BMC peers for the executor tests: simulated machines whose state a test can read back.
//
// IpmiSimPeer starts N `ipmi_sim` BMCs on free loopback UDP ports, each in its own
// directory under a temporary folder, with tests/peers/ipmi_sim_chassis_hook.sh as its chassis: the
// machine's power and boot override are files there. RedfishEmulatorPeer starts
// tests/peers/redfish_test_emulator.py (a TEST PEER of our own) with N systems, state in files too.
// Both can run a command when a machine's power goes on or off (in the background, never blocking
// the BMC): that is how an end-to-end test "boots" a node.
//
// A peer binary that is missing is a failure (the constructor throws), never a skip: CI installs
// them (scripts/install-deps.sh). Peers are stopped by PID in the destructor.
// Thread safety: none; one test owns one peer.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "executors/process.h"

namespace topoplace::testing {

// The source tree (tests/peers/ lives there): TOPOPLACE_SOURCE_DIR, else the path compiled in.
std::string SourceDir();

// Options for RunProcess: a deadline and, optionally, environment variables to add.
ProcessOptions WithTimeout(double seconds, std::map<std::string, std::string> env = {});

// Reads a small file, trailing whitespace trimmed; "" when it does not exist.
std::string ReadTrimmed(const std::filesystem::path& p);

// A scratch folder removed (with everything in it) when it goes out of scope.
class TempDir {
 public:
  explicit TempDir(const std::string& prefix);
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

struct PeerMachineOptions {
  // Shell command lines run (by /bin/sh, in the background) when that machine's power goes on /
  // off; index = machine; missing or empty = none.
  std::vector<std::string> on_power_on;
  std::vector<std::string> on_power_off;
};

class IpmiSimPeer {
 public:
  struct Bmc {
    std::string name;  // bmc1, bmc2, ...
    int port = 0;
    std::string user;
    std::string password;
    std::filesystem::path dir;  // the BMC's own folder; hw/ holds the machine's state files
    pid_t pid = -1;
  };

  IpmiSimPeer(int count, const PeerMachineOptions& options = {});
  ~IpmiSimPeer();
  IpmiSimPeer(const IpmiSimPeer&) = delete;
  IpmiSimPeer& operator=(const IpmiSimPeer&) = delete;

  const Bmc& bmc(int i) const { return bmcs_.at(static_cast<size_t>(i)); }
  std::string Address(int i) const { return "127.0.0.1:" + std::to_string(bmc(i).port); }
  // A file of machine i's state (power, boot, last-boot, log).
  std::string State(int i, const std::string& file) const;
  // Runs the real ipmitool against BMC i (its own user and password unless given).
  ProcessResult Ipmitool(int i, const std::vector<std::string>& args,
                         double timeout_seconds = 10) const;
  void Kill(int i);  // SIGKILL: the BMC stops answering

 private:
  bool StartOne(Bmc& b, const PeerMachineOptions& options, size_t index);
  TempDir dir_;
  std::vector<Bmc> bmcs_;
};

class RedfishEmulatorPeer {
 public:
  // With a certificate and its key (PEM files) it serves HTTPS instead of HTTP.
  RedfishEmulatorPeer(int systems, const PeerMachineOptions& options = {},
                      const std::string& tls_cert = "", const std::string& tls_key = "");
  ~RedfishEmulatorPeer();
  RedfishEmulatorPeer(const RedfishEmulatorPeer&) = delete;
  RedfishEmulatorPeer& operator=(const RedfishEmulatorPeer&) = delete;

  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  std::string Address() const { return "127.0.0.1:" + std::to_string(port_); }
  const std::string& user() const { return user_; }
  const std::string& password() const { return password_; }
  // A file of system `id`'s state (power, boot-target, boot-enabled, last-boot, log).
  std::string State(const std::string& id, const std::string& file) const;
  // Runs the real redfishtool against the emulator, basic auth, plain HTTP.
  ProcessResult Redfishtool(const std::vector<std::string>& args) const;
  std::string Log() const;  // the emulator's own output
  void Kill();

 private:
  TempDir dir_;
  std::string user_ = "admin";
  std::string password_;
  int port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace topoplace::testing
