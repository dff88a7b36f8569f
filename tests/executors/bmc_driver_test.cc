// One suite, every BMC driver, each against its real peer: `ipmi` against ipmi_sim (read back with
// ipmitool), `redfish` against the Redfish test emulator (read back with redfishtool). Each test
// checks what a person would: the machine's own state files and the peer's own client agree with
// what the driver says it did.
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>

#include "executors/ipmi_driver.h"
#include "executors/redfish_driver.h"
#include "tests/executors/bmc_peers.h"

namespace topoplace::testing {
namespace {

namespace fs = std::filesystem;

// What a test needs from a peer with two machines, whatever its protocol.
class PeerUnderTest {
 public:
  virtual ~PeerUnderTest() = default;
  virtual Result<std::unique_ptr<BmcDriver>> Driver(DriverOptions options) = 0;
  virtual BmcTarget Target(int machine) const = 0;
  virtual std::string StateFilePower(int machine) const = 0;  // "on" | "off"
  virtual std::string StateFileBoot(int machine) const = 0;   // pending override: "pxe" | "none"
  virtual std::string LastBoot(int machine) const = 0;        // device of the last power-on
  virtual std::string MachineLog(int machine) const = 0;
  virtual std::string ClientPower(int machine) const = 0;  // the peer's own client: "on"/"off"
  virtual bool ClientSaysPxeOnce(int machine) const = 0;
  virtual void Kill() = 0;
  virtual void Signal(int sig) = 0;  // to every BMC process of the peer
};

class IpmiPeerUnderTest final : public PeerUnderTest {
 public:
  explicit IpmiPeerUnderTest(const PeerMachineOptions& o) : peer_(2, o) {}
  Result<std::unique_ptr<BmcDriver>> Driver(DriverOptions options) override {
    return MakeIpmiDriver(options);
  }
  BmcTarget Target(int m) const override {
    const auto& b = peer_.bmc(m);
    return {"node-" + std::to_string(m + 1),
            {"ipmi", peer_.Address(m), "lab-bmc", ""},
            {b.user, b.password}};
  }
  std::string StateFilePower(int m) const override {
    const std::string p = peer_.State(m, "power");
    return p == "1" ? "on" : p == "0" || p.empty() ? "off" : p;
  }
  std::string StateFileBoot(int m) const override {
    const std::string b = peer_.State(m, "boot");
    return b.empty() ? "none" : b;
  }
  std::string LastBoot(int m) const override { return peer_.State(m, "last-boot"); }
  std::string MachineLog(int m) const override { return peer_.State(m, "log"); }
  std::string ClientPower(int m) const override {
    ProcessResult r = peer_.Ipmitool(m, {"chassis", "power", "status"});
    if (r.out.find("Chassis Power is on") != std::string::npos) return "on";
    if (r.out.find("Chassis Power is off") != std::string::npos) return "off";
    return "ipmitool said: " + r.out + r.err;
  }
  bool ClientSaysPxeOnce(int m) const override {
    ProcessResult r = peer_.Ipmitool(m, {"chassis", "bootparam", "get", "5"});
    return r.out.find("Boot Device Selector : Force PXE") != std::string::npos &&
           r.out.find("Options apply to only next boot") != std::string::npos;
  }
  void Kill() override {
    peer_.Kill(0);
    peer_.Kill(1);
  }
  void Signal(int sig) override {
    ::kill(peer_.bmc(0).pid, sig);
    ::kill(peer_.bmc(1).pid, sig);
  }

 private:
  IpmiSimPeer peer_;
};

class RedfishPeerUnderTest final : public PeerUnderTest {
 public:
  explicit RedfishPeerUnderTest(const PeerMachineOptions& o) : peer_(2, o) {}
  Result<std::unique_ptr<BmcDriver>> Driver(DriverOptions options) override {
    return MakeRedfishDriver(options);
  }
  BmcTarget Target(int m) const override {
    return {"node-" + std::to_string(m + 1),
            {"redfish", peer_.Address(), "lab-bmc", std::to_string(m + 1)},
            {peer_.user(), peer_.password()}};
  }
  std::string StateFilePower(int m) const override {
    const std::string p = peer_.State(Id(m), "power");
    return p == "On" ? "on" : p == "Off" ? "off" : p;
  }
  std::string StateFileBoot(int m) const override {
    if (peer_.State(Id(m), "boot-enabled") == "Disabled") return "none";
    std::string t = peer_.State(Id(m), "boot-target");
    for (char& c : t) c = static_cast<char>(std::tolower(c));
    return t;
  }
  std::string LastBoot(int m) const override { return peer_.State(Id(m), "last-boot"); }
  std::string MachineLog(int m) const override { return peer_.State(Id(m), "log"); }
  std::string ClientPower(int m) const override {
    ProcessResult r = peer_.Redfishtool({"-P", "PowerState", "Systems", "-I", Id(m)});
    if (r.out.find("\"PowerState\": \"On\"") != std::string::npos) return "on";
    if (r.out.find("\"PowerState\": \"Off\"") != std::string::npos) return "off";
    return "redfishtool said: " + r.out + r.err;
  }
  bool ClientSaysPxeOnce(int m) const override {
    ProcessResult r = peer_.Redfishtool({"-P", "Boot", "Systems", "-I", Id(m)});
    return r.out.find("\"BootSourceOverrideTarget\": \"Pxe\"") != std::string::npos &&
           r.out.find("\"BootSourceOverrideEnabled\": \"Once\"") != std::string::npos;
  }
  void Kill() override { peer_.Kill(); }
  void Signal(int sig) override { ::kill(peer_.pid(), sig); }

 private:
  static std::string Id(int m) { return std::to_string(m + 1); }
  RedfishEmulatorPeer peer_;
};

std::unique_ptr<PeerUnderTest> MakePeer(const std::string& protocol,
                                        const PeerMachineOptions& o = {}) {
  if (protocol == "ipmi") return std::make_unique<IpmiPeerUnderTest>(o);
  return std::make_unique<RedfishPeerUnderTest>(o);
}

// Counts lines of a file a hook command appends to; waits a little, since hooks run detached.
int LinesEventually(const fs::path& p, int expected) {
  int n = 0;
  for (int i = 0; i < 100; ++i) {
    n = 0;
    std::string text = ReadTrimmed(p);
    if (!text.empty()) n = 1 + static_cast<int>(std::count(text.begin(), text.end(), '\n'));
    if (n >= expected) return n;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return n;
}

class BmcDriverConformance : public ::testing::TestWithParam<std::string> {
 protected:
  std::unique_ptr<BmcDriver> DriverOrDie(std::unique_ptr<PeerUnderTest>& peer,
                                         DriverOptions options = {}) {
    auto d = peer->Driver(std::move(options));
    EXPECT_TRUE(d.ok()) << d.status().ToString();
    return d.ok() ? std::move(*d) : nullptr;
  }
};

TEST_P(BmcDriverConformance, PowerOnIsWhatTheMachineAndThePeersOwnClientSee) {
  auto peer = MakePeer(GetParam());
  auto driver = DriverOrDie(peer);
  ASSERT_NE(driver, nullptr);
  auto before = driver->IsPoweredOn(peer->Target(0));
  ASSERT_TRUE(before.ok()) << before.status().ToString();
  EXPECT_FALSE(*before);
  EXPECT_EQ(peer->StateFilePower(0), "off");

  Status s = driver->PowerOn(peer->Target(0));
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(peer->StateFilePower(0), "on");
  EXPECT_EQ(peer->ClientPower(0), "on");
  auto after = driver->IsPoweredOn(peer->Target(0));
  ASSERT_TRUE(after.ok()) << after.status().ToString();
  EXPECT_TRUE(*after);
  // The other machine behind the same kind of peer is untouched.
  EXPECT_EQ(peer->StateFilePower(1), "off");
  EXPECT_EQ(peer->ClientPower(1), "off");
}

TEST_P(BmcDriverConformance, PowerOffTurnsTheMachineOff) {
  auto peer = MakePeer(GetParam());
  auto driver = DriverOrDie(peer);
  ASSERT_NE(driver, nullptr);
  ASSERT_TRUE(driver->PowerOn(peer->Target(1)).ok());
  ASSERT_EQ(peer->StateFilePower(1), "on");
  Status s = driver->PowerOff(peer->Target(1));
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(peer->StateFilePower(1), "off");
  EXPECT_EQ(peer->ClientPower(1), "off");
  auto now = driver->IsPoweredOn(peer->Target(1));
  ASSERT_TRUE(now.ok()) << now.status().ToString();
  EXPECT_FALSE(*now);
}

// The runner calls one driver from several threads at once, for different nodes.
TEST_P(BmcDriverConformance, CallsForDifferentNodesRunAtOnce) {
  auto peer = MakePeer(GetParam());
  auto driver = DriverOrDie(peer);
  ASSERT_NE(driver, nullptr);
  Status results[2];
  std::thread a([&] { results[0] = driver->PowerOn(peer->Target(0)); });
  std::thread b([&] { results[1] = driver->SetOneTimePxeBoot(peer->Target(1)); });
  a.join();
  b.join();
  EXPECT_TRUE(results[0].ok()) << results[0].ToString();
  EXPECT_TRUE(results[1].ok()) << results[1].ToString();
  EXPECT_EQ(peer->StateFilePower(0), "on");
  EXPECT_EQ(peer->StateFileBoot(0), "none");
  EXPECT_EQ(peer->StateFilePower(1), "off");
  EXPECT_EQ(peer->StateFileBoot(1), "pxe");
}

// Twice on boots the machine once; twice off stops it once: a repeated step has no second effect.
TEST_P(BmcDriverConformance, RepeatedPowerCallsActOnce) {
  TempDir scratch("topoplace-bmc-hooks");
  const fs::path ons = scratch.path() / "power-ons", offs = scratch.path() / "power-offs";
  PeerMachineOptions o;
  o.on_power_on = {"echo on >> '" + ons.string() + "'"};
  o.on_power_off = {"echo off >> '" + offs.string() + "'"};
  auto peer = MakePeer(GetParam(), o);
  auto driver = DriverOrDie(peer);
  ASSERT_NE(driver, nullptr);
  for (int i = 0; i < 2; ++i) {
    Status s = driver->PowerOn(peer->Target(0));
    ASSERT_TRUE(s.ok()) << "call " << i + 1 << ": " << s.ToString();
    EXPECT_EQ(peer->StateFilePower(0), "on");
  }
  EXPECT_EQ(LinesEventually(ons, 1), 1) << "power-on commands: " << ReadTrimmed(ons);
  for (int i = 0; i < 2; ++i) {
    Status s = driver->PowerOff(peer->Target(0));
    ASSERT_TRUE(s.ok()) << "call " << i + 1 << ": " << s.ToString();
    EXPECT_EQ(peer->StateFilePower(0), "off");
  }
  EXPECT_EQ(LinesEventually(offs, 1), 1) << "power-off commands: " << ReadTrimmed(offs);
  // A moment later still once each (a late duplicate would show here).
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(LinesEventually(ons, 1), 1);
  EXPECT_EQ(LinesEventually(offs, 1), 1);
}

// The next boot goes to the network, and only the next one.
TEST_P(BmcDriverConformance, OneTimePxeBootIsUsedByTheNextPowerOnOnly) {
  auto peer = MakePeer(GetParam());
  auto driver = DriverOrDie(peer);
  ASSERT_NE(driver, nullptr);
  Status s = driver->SetOneTimePxeBoot(peer->Target(0));
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(peer->StateFileBoot(0), "pxe");
  EXPECT_TRUE(peer->ClientSaysPxeOnce(0));
  auto dev = driver->BootDevice(peer->Target(0));
  ASSERT_TRUE(dev.ok()) << dev.status().ToString();
  EXPECT_EQ(*dev, "pxe");
  // Setting it again is the same override, not a second one.
  ASSERT_TRUE(driver->SetOneTimePxeBoot(peer->Target(0)).ok());
  EXPECT_EQ(peer->StateFileBoot(0), "pxe");
  EXPECT_EQ(peer->StateFileBoot(1), "none");

  ASSERT_TRUE(driver->PowerOn(peer->Target(0)).ok());
  EXPECT_EQ(peer->LastBoot(0), "pxe") << peer->MachineLog(0);
  auto next = driver->BootDevice(peer->Target(0));
  ASSERT_TRUE(next.ok()) << next.status().ToString();
  EXPECT_EQ(*next, "none");
  EXPECT_FALSE(peer->ClientSaysPxeOnce(0));
}

// A power-on command that runs for a long time (a node booting) never holds up the driver.
TEST_P(BmcDriverConformance, PowerOnDoesNotWaitForTheMachineToBoot) {
  TempDir scratch("topoplace-bmc-boot");
  const fs::path pid = scratch.path() / "boot.pid";
  PeerMachineOptions o;
  o.on_power_on = {"echo $$ > '" + pid.string() + "'; exec sleep 60"};
  auto peer = MakePeer(GetParam(), o);
  auto driver = DriverOrDie(peer, {{"timeoutSeconds", "5"}});
  ASSERT_NE(driver, nullptr);
  Status s = driver->PowerOn(peer->Target(0));
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(peer->ClientPower(0), "on");
  ASSERT_EQ(LinesEventually(pid, 1), 1) << "the power-on command did not run";
  const int boot_pid = std::stoi(ReadTrimmed(pid));
  EXPECT_EQ(::kill(boot_pid, 0), 0) << "the booting machine is still running";
  ::kill(boot_pid, SIGKILL);
}

TEST_P(BmcDriverConformance, WrongPasswordFailsClearlyWithoutTheSecret) {
  auto peer = MakePeer(GetParam());
  auto driver = DriverOrDie(peer);
  ASSERT_NE(driver, nullptr);
  BmcTarget t = peer->Target(0);
  const std::string wrong = "Wr0ng-s3cret-x";
  t.credentials.password = wrong;
  for (const Status& s :
       {driver->PowerOn(t), driver->IsPoweredOn(t).status(), driver->SetOneTimePxeBoot(t)}) {
    EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition) << s.ToString();
    EXPECT_NE(s.message().find("node-1"), std::string::npos) << s.message();
    EXPECT_NE(s.message().find(t.bmc.address), std::string::npos) << s.message();
    EXPECT_NE(s.message().find("password"), std::string::npos) << s.message();
    EXPECT_EQ(s.message().find(wrong), std::string::npos) << s.message();
    EXPECT_EQ(s.message().find(peer->Target(0).credentials.password), std::string::npos);
  }
  EXPECT_EQ(peer->StateFilePower(0), "off");
  EXPECT_EQ(peer->StateFileBoot(0), "none");
}

TEST_P(BmcDriverConformance, UnknownUserFailsClearly) {
  auto peer = MakePeer(GetParam());
  auto driver = DriverOrDie(peer);
  ASSERT_NE(driver, nullptr);
  BmcTarget t = peer->Target(1);
  t.credentials.username = "nobody";
  Status s = driver->PowerOn(t);
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition) << s.ToString();
  EXPECT_NE(s.message().find("\"nobody\""), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("node-2"), std::string::npos) << s.message();
  EXPECT_EQ(s.message().find(t.credentials.password), std::string::npos) << s.message();
  EXPECT_EQ(peer->StateFilePower(1), "off");
}

TEST_P(BmcDriverConformance, DeadPeerIsUnavailableWithinTheTimeout) {
  auto peer = MakePeer(GetParam());
  auto driver = DriverOrDie(peer, {{"timeoutSeconds", "2"}});
  ASSERT_NE(driver, nullptr);
  ASSERT_TRUE(driver->IsPoweredOn(peer->Target(0)).ok());
  peer->Kill();
  const auto start = std::chrono::steady_clock::now();
  Status s = driver->PowerOn(peer->Target(0));
  const double took =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(s.code(), StatusCode::kUnavailable) << s.ToString();
  EXPECT_NE(s.message().find("node-1"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find(peer->Target(0).bmc.address), std::string::npos) << s.message();
  EXPECT_LT(took, 2 + 1.5) << "the 2 s timeout was not kept";
}

// A BMC that hangs (accepts, never answers) costs the caller the timeout, not more.
TEST_P(BmcDriverConformance, FrozenPeerIsUnavailableWithinTheTimeout) {
  auto peer = MakePeer(GetParam());
  auto driver = DriverOrDie(peer, {{"timeoutSeconds", "2"}});
  ASSERT_NE(driver, nullptr);
  peer->Signal(SIGSTOP);
  const auto start = std::chrono::steady_clock::now();
  auto on = driver->IsPoweredOn(peer->Target(1));
  const double took =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  peer->Signal(SIGCONT);
  EXPECT_EQ(on.status().code(), StatusCode::kUnavailable) << on.status().ToString();
  EXPECT_NE(on.status().message().find("node-2"), std::string::npos) << on.status().message();
  EXPECT_LT(took, 2 + 1.5) << "the 2 s timeout was not kept";
}

TEST_P(BmcDriverConformance, UnknownOptionIsRejectedByName) {
  auto peer = MakePeer(GetParam());
  auto d = peer->Driver({{"timeoutSeconds", "3"}, {"colour", "blue"}});
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(d.status().message().find("colour"), std::string::npos) << d.status().message();
  auto bad = peer->Driver({{"timeoutSeconds", "soon"}});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("timeoutSeconds"), std::string::npos);
}

TEST_P(BmcDriverConformance, AddressItCannotReachIsInvalidArgument) {
  auto peer = MakePeer(GetParam());
  auto driver = DriverOrDie(peer);
  ASSERT_NE(driver, nullptr);
  BmcTarget t = peer->Target(0);
  t.bmc.address = "127.0.0.1:notaport";
  Status s = driver->PowerOn(t);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.ToString();
  EXPECT_NE(s.message().find("node-1"), std::string::npos) << s.message();
}

INSTANTIATE_TEST_SUITE_P(Drivers, BmcDriverConformance, ::testing::Values("ipmi", "redfish"),
                         [](const ::testing::TestParamInfo<std::string>& p) { return p.param; });

// ---- what only one protocol has -----------------------------------------------------------------

TEST(IpmiDriver, OptionsAreChecked) {
  EXPECT_TRUE(MakeIpmiDriver({}).ok());
  EXPECT_TRUE(MakeIpmiDriver({{"cipherSuite", "17"}, {"interface", "lan"}}).ok());
  auto cs = MakeIpmiDriver({{"cipherSuite", "99"}});
  ASSERT_FALSE(cs.ok());
  EXPECT_NE(cs.status().message().find("cipherSuite"), std::string::npos);
  auto itf = MakeIpmiDriver({{"interface", "serial"}});
  ASSERT_FALSE(itf.ok());
  EXPECT_NE(itf.status().message().find("interface"), std::string::npos);
}

TEST(IpmiDriver, MissingIpmitoolIsUnavailableAndNamesIt) {
  IpmiSimPeer peer(1);
  auto d = MakeIpmiDriver({{"ipmitool", "/nonexistent/ipmitool"}});
  ASSERT_TRUE(d.ok());
  const auto& b = peer.bmc(0);
  BmcTarget t{"node-1", {"ipmi", peer.Address(0), "lab-bmc", ""}, {b.user, b.password}};
  Status s = (*d)->PowerOn(t);
  EXPECT_EQ(s.code(), StatusCode::kUnavailable) << s.ToString();
  EXPECT_NE(s.message().find("/nonexistent/ipmitool"), std::string::npos) << s.message();
}

// The password reaches ipmitool through its environment, never its command line (which `ps` shows
// to every local user): a stand-in ipmitool records both.
TEST(IpmiDriver, PasswordIsNotOnTheCommandLine) {
  TempDir scratch("topoplace-ipmitool-spy");
  const fs::path spy = scratch.path() / "ipmitool";
  {
    std::ofstream out(spy);
    out << "#!/bin/sh\necho \"$@\" > '" << (scratch.path() / "argv").string() << "'\n"
        << "printf %s \"$IPMI_PASSWORD\" > '" << (scratch.path() / "env").string() << "'\n"
        << "echo 'Chassis Power is on'\n";
  }
  fs::permissions(spy, fs::perms(0755));
  auto d = MakeIpmiDriver({{"ipmitool", spy.string()}});
  ASSERT_TRUE(d.ok());
  BmcTarget t{"node-1", {"ipmi", "127.0.0.1:623", "lab-bmc", ""}, {"admin", "Sup3r-s3cret"}};
  auto on = (*d)->IsPoweredOn(t);
  ASSERT_TRUE(on.ok()) << on.status().ToString();
  EXPECT_TRUE(*on);
  const std::string argv = ReadTrimmed(scratch.path() / "argv");
  EXPECT_EQ(argv.find("Sup3r-s3cret"), std::string::npos) << argv;
  EXPECT_NE(argv.find("-C 3"), std::string::npos) << argv;
  EXPECT_NE(argv.find("-E"), std::string::npos) << argv;
  EXPECT_EQ(ReadTrimmed(scratch.path() / "env"), "Sup3r-s3cret");
}

TEST(RedfishDriver, OptionsAreChecked) {
  EXPECT_TRUE(MakeRedfishDriver({}).ok());
  EXPECT_TRUE(MakeRedfishDriver({{"verifyTls", "false"}, {"caFile", "/etc/ssl/ca.pem"}}).ok());
  auto v = MakeRedfishDriver({{"verifyTls", "maybe"}});
  ASSERT_FALSE(v.ok());
  EXPECT_NE(v.status().message().find("verifyTls"), std::string::npos);
}

TEST(RedfishDriver, TheOnlySystemNeedsNoName) {
  RedfishEmulatorPeer peer(1);
  auto d = MakeRedfishDriver({});
  ASSERT_TRUE(d.ok());
  BmcTarget t{"node-1",
              {"redfish", "http://" + peer.Address() + "/", "lab-bmc", ""},
              {peer.user(), peer.password()}};
  ASSERT_TRUE((*d)->PowerOn(t).ok());
  EXPECT_EQ(peer.State("1", "power"), "On");
}

TEST(RedfishDriver, SeveralSystemsNeedANameAndAnUnknownOneIsInvalid) {
  RedfishEmulatorPeer peer(2);
  auto d = MakeRedfishDriver({});
  ASSERT_TRUE(d.ok());
  BmcTarget t{"node-1", {"redfish", peer.Address(), "lab-bmc", ""}, {peer.user(), peer.password()}};
  Status none = (*d)->PowerOn(t);
  EXPECT_EQ(none.code(), StatusCode::kInvalidArgument) << none.ToString();
  EXPECT_NE(none.message().find("exactly one system"), std::string::npos) << none.message();
  t.bmc.system = "7";
  Status unknown = (*d)->PowerOn(t);
  EXPECT_EQ(unknown.code(), StatusCode::kInvalidArgument) << unknown.ToString();
  EXPECT_NE(unknown.message().find("/redfish/v1/Systems/7"), std::string::npos)
      << unknown.message();
  EXPECT_EQ(peer.State("1", "power"), "Off");
  EXPECT_EQ(peer.State("2", "power"), "Off");
}

// HTTPS: a certificate the driver cannot verify is refused (and nothing happens to the machine);
// trusting its CA (caFile) or turning verification off lets the call through.
TEST(RedfishDriver, HttpsVerifiesTheBmcsCertificate) {
  TempDir tls("topoplace-redfish-tls");
  const std::string cert = (tls.path() / "cert.pem").string(),
                    key = (tls.path() / "key.pem").string();
  auto made = RunProcess(
      {"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
       "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", key, "-out", cert},
      WithTimeout(60));
  ASSERT_TRUE(made.ok() && made->exit_code == 0)
      << (made.ok() ? made->err : made.status().ToString());
  RedfishEmulatorPeer peer(1, {}, cert, key);
  BmcTarget t{"node-1",
              {"redfish", "https://" + peer.Address(), "lab-bmc", ""},
              {peer.user(), peer.password()}};

  auto strict = MakeRedfishDriver({{"timeoutSeconds", "5"}});
  ASSERT_TRUE(strict.ok());
  Status refused = (*strict)->PowerOn(t);
  EXPECT_EQ(refused.code(), StatusCode::kFailedPrecondition) << refused.ToString();
  EXPECT_NE(refused.message().find("node-1"), std::string::npos) << refused.message();
  EXPECT_EQ(peer.State("1", "power"), "Off");

  auto trusting = MakeRedfishDriver({{"caFile", cert}, {"timeoutSeconds", "5"}});
  ASSERT_TRUE(trusting.ok());
  Status on = (*trusting)->PowerOn(t);
  ASSERT_TRUE(on.ok()) << on.ToString();
  EXPECT_EQ(peer.State("1", "power"), "On");

  auto unverified = MakeRedfishDriver({{"verifyTls", "false"}, {"timeoutSeconds", "5"}});
  ASSERT_TRUE(unverified.ok());
  Status off = (*unverified)->PowerOff(t);
  ASSERT_TRUE(off.ok()) << off.ToString();
  EXPECT_EQ(peer.State("1", "power"), "Off");
}

// A scripted Redfish BMC: an HTTP server whose handlers a test writes, served while in scope.
class ScriptedBmc {
 public:
  explicit ScriptedBmc(httplib::Server& server) : server_(server) {
    port_ = server_.bind_to_any_port("127.0.0.1");
    if (port_ > 0) serving_ = std::thread([this] { server_.listen_after_bind(); });
  }
  ~ScriptedBmc() {
    server_.stop();
    if (serving_.joinable()) serving_.join();
  }
  int port() const { return port_; }
  BmcTarget Target(const std::string& system) const {
    return {"node-1",
            {"redfish", "127.0.0.1:" + std::to_string(port_), "lab-bmc", system},
            {"admin", "pw"}};
  }

 private:
  httplib::Server& server_;
  int port_ = -1;
  std::thread serving_;
};

// A BMC that answers with an error or with far too much: kInternal, its own words, bounded.
TEST(RedfishDriver, PeerErrorsAndOversizedAnswersAreInternal) {
  httplib::Server bmc;
  bmc.Get("/redfish/v1/Systems/1", [](const httplib::Request&, httplib::Response& res) {
    res.status = 500;
    res.set_content(
        R"({"error": {"code": "Base.1.8.InternalError", "message": "general",)"
        R"( "@Message.ExtendedInfo": [{"Message": "The fan controller is on fire."}]}})",
        "application/json");
  });
  bmc.Get("/redfish/v1/Systems/2", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("{\"Name\": \"" + std::string(3 << 20, 'x') + "\"}", "application/json");
  });
  bmc.Get("/redfish/v1/Systems/3", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("<html>not json</html>", "text/html");
  });
  bmc.Get("/redfish/v1/Systems/4", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(R"({"PowerState": "Off", "Actions": {"#ComputerSystem.Reset": )"
                    R"({"target": "http://elsewhere.example/reset"}}})",
                    "application/json");
  });
  bmc.Get("/redfish/v1/Systems/5", [](const httplib::Request&, httplib::Response& res) {
    res.status = 503;
    res.set_content(R"({"error": {"message": "user admin with password hunter2-secret is busy"}})",
                    "application/json");
  });
  ScriptedBmc running(bmc);
  ASSERT_GT(running.port(), 0);
  auto d = MakeRedfishDriver({{"timeoutSeconds", "5"}});
  ASSERT_TRUE(d.ok());
  BmcTarget t = running.Target("1");
  Status fire = (*d)->PowerOn(t);
  EXPECT_EQ(fire.code(), StatusCode::kInternal) << fire.ToString();
  EXPECT_NE(fire.message().find("The fan controller is on fire."), std::string::npos)
      << fire.message();
  EXPECT_NE(fire.message().find("HTTP 500"), std::string::npos) << fire.message();
  t.bmc.system = "2";
  Status big = (*d)->PowerOn(t);
  EXPECT_EQ(big.code(), StatusCode::kInternal) << big.ToString();
  EXPECT_NE(big.message().find("larger than 1 MiB"), std::string::npos) << big.message();
  EXPECT_LT(big.message().size(), 400u);
  t.bmc.system = "3";
  Status html = (*d)->PowerOn(t);
  EXPECT_EQ(html.code(), StatusCode::kInternal) << html.ToString();
  t.bmc.system = "4";  // an action target off the service: never followed
  Status away = (*d)->PowerOn(t);
  EXPECT_EQ(away.code(), StatusCode::kInternal) << away.ToString();
  EXPECT_NE(away.message().find("not a Redfish path"), std::string::npos) << away.message();
  t.bmc.system = "5";  // a peer that echoes the secret: the message does not
  t.credentials.password = "hunter2-secret";
  Status echo = (*d)->PowerOn(t);
  EXPECT_EQ(echo.code(), StatusCode::kInternal) << echo.ToString();
  EXPECT_NE(echo.message().find("is busy"), std::string::npos) << echo.message();
  EXPECT_EQ(echo.message().find("hunter2-secret"), std::string::npos) << echo.message();
}

// The system changes between the driver's read and its PATCH (its ETag moves on): the driver reads
// it again and the override lands; a BMC that never matches is an error, not a loop.
TEST(RedfishDriver, BootOverrideRereadsAChangedSystemOnce) {
  std::atomic<int> version{0}, patches{0};
  std::atomic<bool> always_stale{false};
  httplib::Server bmc;
  bmc.Get("/redfish/v1/Systems/1", [&](const httplib::Request&, httplib::Response& res) {
    res.set_header("ETag", "\"v" + std::to_string(version.load()) + "\"");
    res.set_content(R"({"PowerState": "Off", "Boot": {"BootSourceOverrideTarget": "None"}})",
                    "application/json");
    version++;  // somebody else changes it right after every read
  });
  bmc.Patch("/redfish/v1/Systems/1", [&](const httplib::Request& req, httplib::Response& res) {
    patches++;
    const std::string current = "\"v" + std::to_string(version.load() - 1) + "\"";
    const bool stale = always_stale || patches == 1 || req.get_header_value("If-Match") != current;
    res.status = stale ? 412 : 204;
  });
  ScriptedBmc running(bmc);
  ASSERT_GT(running.port(), 0);
  auto d = MakeRedfishDriver({{"timeoutSeconds", "5"}});
  ASSERT_TRUE(d.ok());
  BmcTarget t = running.Target("1");
  Status s = (*d)->SetOneTimePxeBoot(t);
  EXPECT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(patches.load(), 2);
  always_stale = true;
  patches = 0;
  Status never = (*d)->SetOneTimePxeBoot(t);
  EXPECT_EQ(never.code(), StatusCode::kInternal) << never.ToString();
  EXPECT_NE(never.message().find("412"), std::string::npos) << never.message();
  EXPECT_EQ(patches.load(), 2);
}

TEST(RedfishDriver, TlsToAPlainHttpPeerIsUnavailableNotAHang) {
  RedfishEmulatorPeer peer(1);
  auto d = MakeRedfishDriver({{"timeoutSeconds", "2"}});
  ASSERT_TRUE(d.ok());
  BmcTarget t{"node-1",
              {"redfish", "https://" + peer.Address(), "lab-bmc", ""},
              {peer.user(), peer.password()}};
  Status s = (*d)->PowerOn(t);
  EXPECT_FALSE(s.ok());
  EXPECT_TRUE(s.code() == StatusCode::kUnavailable || s.code() == StatusCode::kFailedPrecondition)
      << s.ToString();
  EXPECT_EQ(peer.State("1", "power"), "Off");
}

}  // namespace
}  // namespace topoplace::testing
