// The executor settings file: every key lands in its field, and bad input is reported with its
// position (FILE:LINE:COL: key.path: what; expected ...), secrets in the file above all.
#include "inventory/executors_codec.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace topoplace {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

Result<ExecutorSettings> Load(std::string_view yaml) {
  return LoadExecutorSettingsString(yaml, "executors.yaml");
}

std::vector<std::string> Errors(std::string_view yaml) {
  Result<ExecutorSettings> r = Load(yaml);
  EXPECT_FALSE(r.ok()) << "loaded although invalid:\n" << yaml;
  if (r.ok()) return {};
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  return r.status().messages();
}

// The design document's example, with every runner key and the remaining driver options.
constexpr std::string_view kSettings = R"(apiVersion: topoplace/v1
credentials:
  lab-bmc: {username: admin, passwordFile: /etc/topoplace/lab-bmc.pw}
  rf-bmc: {username: root, passwordEnv: RF_PASSWORD}
drivers:
  bmc:  {ipmi: {cipherSuite: 3, timeoutSeconds: 10, ipmitool: /usr/bin/ipmitool, interface: lanplus},
         redfish: {verifyTls: true, timeoutSeconds: 2.5, caFile: /etc/ssl/lab.pem}}
  l2:   {ovs: {ovsdb: "unix:/run/openvswitch/db.sock", vsctl: ovs-vsctl, timeoutSeconds: 5}}
  l3:   {dnsmasq: {stateDir: /var/lib/topoplace/l3, switchNamespace: "", bridge: br0,
                   ovsdb: "unix:/tmp/db.sock", bootFile: pxelinux.0, tftpRoot: /srv/tftp,
                   leaseSeconds: 3600, dnsmasq: /usr/sbin/dnsmasq}}
  slurm: {conf: /etc/slurm/slurm.conf, controllerNamespace: ""}
runner: {attempts: 4, backoffSeconds: 0.5, stepTimeoutSeconds: 300, bootTimeoutSeconds: 90,
         parallelism: 8, replaceFailedNodes: false}
)";

TEST(ExecutorsCodecTest, EveryKeyLandsInItsField) {
  Result<ExecutorSettings> r = Load(kSettings);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->credentials.at("lab-bmc"),
            (CredentialRef{"admin", "/etc/topoplace/lab-bmc.pw", ""}));
  EXPECT_EQ(r->credentials.at("rf-bmc"), (CredentialRef{"root", "", "RF_PASSWORD"}));
  EXPECT_EQ(r->drivers.at("bmc").at("ipmi"), (DriverOptions{{"cipherSuite", "3"},
                                                            {"timeoutSeconds", "10"},
                                                            {"ipmitool", "/usr/bin/ipmitool"},
                                                            {"interface", "lanplus"}}));
  EXPECT_EQ(r->drivers.at("bmc").at("redfish"),
            (DriverOptions{
                {"verifyTls", "true"}, {"timeoutSeconds", "2.5"}, {"caFile", "/etc/ssl/lab.pem"}}));
  EXPECT_EQ(r->drivers.at("l2").at("ovs").at("ovsdb"), "unix:/run/openvswitch/db.sock");
  const DriverOptions& l3 = r->drivers.at("l3").at("dnsmasq");
  EXPECT_EQ(l3.at("switchNamespace"), "") << "an empty namespace is a value: the host's";
  EXPECT_EQ(l3.at("leaseSeconds"), "3600");
  EXPECT_EQ(l3.size(), 8u);
  EXPECT_EQ(r->drivers.at("slurm").at("slurm"),
            (DriverOptions{{"conf", "/etc/slurm/slurm.conf"}, {"controllerNamespace", ""}}));
  EXPECT_EQ(r->runner, (RunnerSettings{4, 0.5, 300, 90, 8, false}));
}

TEST(ExecutorsCodecTest, DefaultsWhenSectionsAreLeftOut) {
  Result<ExecutorSettings> r = Load("apiVersion: topoplace/v1\n");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(*r, ExecutorSettings{});
  Result<ExecutorSettings> bare = Load("apiVersion: topoplace/v1\ndrivers: {bmc: {ipmi: }}\n");
  ASSERT_TRUE(bare.ok()) << bare.status().message();
  EXPECT_TRUE(bare->drivers.at("bmc").at("ipmi").empty()) << "a driver with its defaults";
}

TEST(ExecutorsCodecTest, AFakeDriverTakesAnyOptionsInAnyLayer) {
  Result<ExecutorSettings> r = Load(R"(apiVersion: topoplace/v1
drivers:
  bmc: {fake: {failPowerOn: r1-n2, delayMs: 5}}
  l2: {fake: }
  l3: {fake: {anything: true}}
  slurm: {fake: {partition: lab}}
)");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->drivers.at("bmc").at("fake"),
            (DriverOptions{{"failPowerOn", "r1-n2"}, {"delayMs", "5"}}));
  EXPECT_TRUE(r->drivers.at("l2").at("fake").empty());
  EXPECT_EQ(r->drivers.at("l3").at("fake").at("anything"), "true");
  EXPECT_EQ(r->drivers.at("slurm").at("fake").at("partition"), "lab");
  EXPECT_EQ(r->drivers.at("slurm").count("slurm"), 0u);
}

TEST(ExecutorsCodecTest, APasswordInTheFileIsRefused) {
  EXPECT_THAT(
      Errors(R"(apiVersion: topoplace/v1
credentials:
  lab-bmc: {username: admin, password: hunter2}
)"),
      ElementsAre("executors.yaml:3:30: credentials.lab-bmc.password: a password written in "
                  "the settings file; expected passwordFile or passwordEnv (secrets come "
                  "from a file or an environment variable, never from this file)"));
}

TEST(ExecutorsCodecTest, ACredentialSetNeedsAUserAndExactlyOnePasswordSource) {
  EXPECT_THAT(
      Errors(R"(apiVersion: topoplace/v1
credentials:
  a: {username: admin}
  b: {passwordFile: /x, passwordEnv: X}
)"),
      ElementsAre("executors.yaml:3:6: credentials.a: no password source; expected "
                  "passwordFile or passwordEnv",
                  "executors.yaml:4:6: credentials.b.username: missing; expected a user name",
                  "executors.yaml:4:25: credentials.b.passwordEnv: both passwordFile and "
                  "passwordEnv are given; expected exactly one password source"));
}

TEST(ExecutorsCodecTest, UnknownLayersDriversAndOptionsAreErrors) {
  EXPECT_THAT(
      Errors(R"(apiVersion: topoplace/v1
drivers:
  bmc: {ipmitool: {}, redfish: {verifyTLS: true}}
  l4: {}
  slurm: {config: /etc/slurm.conf}
runner: {attempt: 3}
)"),
      ElementsAre(
          "executors.yaml:3:9: drivers.bmc.ipmitool: unknown bmc driver; expected one of ipmi, "
          "redfish, fake",
          "executors.yaml:3:33: drivers.bmc.redfish.verifyTLS: unknown key (did you mean "
          "\"verifyTls\"?); expected one of verifyTls, timeoutSeconds, caFile",
          "executors.yaml:4:3: drivers.l4: unknown key (did you mean \"l2\"?); expected one of "
          "bmc, l2, l3, slurm, cluster",
          "executors.yaml:5:11: drivers.slurm.config: unknown key (did you mean \"conf\"?); "
          "expected one of conf, controllerNamespace, bin, timeoutSeconds, drainTimeoutSeconds, "
          "bridge, ovsdb, switchNamespace, fake",
          "executors.yaml:6:10: runner.attempt: unknown key (did you mean \"attempts\"?); "
          "expected one of attempts, backoffSeconds, stepTimeoutSeconds, bootTimeoutSeconds, "
          "parallelism, replaceFailedNodes"));
}

TEST(ExecutorsCodecTest, KnownOptionsAndRunnerLimitsAreChecked) {
  const std::vector<std::string> errors = Errors(R"(apiVersion: topoplace/v1
drivers:
  bmc: {ipmi: {cipherSuite: 99, timeoutSeconds: soon}, redfish: {verifyTls: "yes"}}
  l2: {ovs: {ovsdb: [a, b]}}
runner: {attempts: 0, parallelism: 2.5, replaceFailedNodes: maybe, stepTimeoutSeconds: -1}
)");
  ASSERT_EQ(errors.size(), 8u) << ::testing::PrintToString(errors);
  EXPECT_THAT(errors[0], HasSubstr("3:29: drivers.bmc.ipmi.cipherSuite:"));
  EXPECT_THAT(errors[1], HasSubstr("3:49: drivers.bmc.ipmi.timeoutSeconds:"));
  EXPECT_THAT(errors[2], HasSubstr("3:77: drivers.bmc.redfish.verifyTls: got the string \"yes\""));
  EXPECT_THAT(errors[3], HasSubstr("4:21: drivers.l2.ovs.ovsdb: got a list"));
  EXPECT_THAT(errors[4], HasSubstr("5:20: runner.attempts:"));
  EXPECT_THAT(errors[5], HasSubstr("5:36: runner.parallelism:"));
  EXPECT_THAT(errors[6], HasSubstr("5:61: runner.replaceFailedNodes:"));
  EXPECT_THAT(errors[7], HasSubstr("5:88: runner.stepTimeoutSeconds:"));
}

TEST(ExecutorsCodecTest, TheDocumentMustSayItsVersionAndBeAMap) {
  EXPECT_THAT(Errors("credentials: {}\n"),
              ElementsAre("executors.yaml:1:1: apiVersion: missing; expected topoplace/v1"));
  EXPECT_THAT(Errors("apiVersion: topoplace/v2\n"),
              ElementsAre("executors.yaml:1:13: apiVersion: unsupported apiVersion "
                          "\"topoplace/v2\"; expected topoplace/v1"));
  EXPECT_THAT(Errors("- a\n"), ::testing::SizeIs(1));
  EXPECT_THAT(Errors("apiVersion: topoplace/v1\n---\nrunner: {attempts: 1}\n"),
              ElementsAre("executors.yaml:3:1: a second YAML document; expected one settings "
                          "document per file"));
  EXPECT_THAT(Errors("apiVersion: [\n"), ::testing::SizeIs(1));
}

TEST(ExecutorsCodecTest, EveryCredentialSetABmcNamesMustBeDefined) {
  Result<ExecutorSettings> settings = Load(kSettings);
  ASSERT_TRUE(settings.ok()) << settings.status().message();
  Inventory inv;
  Node a;
  a.name = "a";
  a.bmc = BmcSpec{"ipmi", "127.0.0.1:9001", "lab-bmc", ""};
  Node b = a;
  b.name = "b";
  b.bmc->credentials = "other";
  Node c = a;
  c.name = "c";
  c.bmc->credentials.clear();  // no credentials: nothing to look up
  Node d;
  d.name = "d";  // no BMC
  inv.nodes = {a, b, c, d};
  const Status st = CheckCredentialRefs(inv, *settings);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(st.reason(), "unknown_credentials");
  EXPECT_THAT(st.messages(),
              ElementsAre("node \"b\": its BMC names credential set \"other\", which the executor "
                          "settings do not define; expected one of their credentials"));
  inv.nodes = {a, c, d};
  EXPECT_TRUE(CheckCredentialRefs(inv, *settings).ok());
}

TEST(ExecutorsCodecTest, FilesAreReadAndNamedInMessages) {
  const auto dir =
      std::filesystem::temp_directory_path() /
      ("topoplace-executors-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()));
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "executors.yaml").string();
  {
    std::ofstream out(path);
    out << kSettings;
  }
  Result<ExecutorSettings> r = LoadExecutorSettings(path);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->runner.attempts, 4);
  {
    std::ofstream out(path);
    out << "apiVersion: topoplace/v1\nrunner: {attempts: many}\n";
  }
  Result<ExecutorSettings> bad = LoadExecutorSettings(path);
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), HasSubstr(path + ":2:20: runner.attempts:"));
  Result<ExecutorSettings> missing = LoadExecutorSettings((dir / "nope.yaml").string());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace topoplace
