// The Redfish test emulator is only worth testing the driver against if clients we did not write
// accept it: python3-sushy (the Redfish library of a bare-metal provisioning service) and
// redfishtool (the protocol body's own client) drive it here, and the machine's state files must
// show what they asked for. Then the protocol's error answers, over plain HTTP.
#include <gtest/gtest.h>
#include <httplib.h>

#include <nlohmann/json.hpp>
#include <string>

#include "tests/executors/bmc_peers.h"

namespace topoplace::testing {
namespace {

using json = nlohmann::json;

// Runs a sushy program (under /usr/bin/python3, where the package installs sushy) with the
// emulator's URL, user and password as argv[1..3].
ProcessResult Sushy(const RedfishEmulatorPeer& peer, const std::string& program) {
  const std::string prelude =
      "import sys, sushy\n"
      "url, user, password = sys.argv[1:4]\n"
      "root = sushy.Sushy(url, username=user, password=password)\n";
  auto r = RunProcess({"/usr/bin/python3", "-c", prelude + program,
                       "http://" + peer.Address() + "/redfish/v1", peer.user(), peer.password()},
                      WithTimeout(60));
  if (!r.ok()) return ProcessResult{-1, "", r.status().ToString()};
  if (r->exit_code != 0) r->err += "\nthe emulator's log:\n" + peer.Log();
  return *r;
}

TEST(RedfishTestEmulator, SushyReadsTheServiceAndItsSystems) {
  RedfishEmulatorPeer peer(2);
  ProcessResult r = Sushy(peer,
                          "print(root.redfish_version)\n"
                          "print(root.uuid)\n"
                          "print(sorted(root.get_system_collection().members_identities))\n"
                          "print(root.get_manager_collection().members_identities)\n"
                          "s = root.get_system('/redfish/v1/Systems/2')\n"
                          "print(s.identity, s.power_state.value, s.boot.target.value,\n"
                          "      s.boot.enabled.value)\n"
                          "print(sorted(v.value for v in s.get_allowed_reset_system_values()))\n"
                          "print(sorted(v.value for v in "
                          "s.get_allowed_system_boot_source_values()))\n");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out,
            "1.6.0\n"
            "00000000-0000-4000-8000-00000000feed\n"
            "['/redfish/v1/Systems/1', '/redfish/v1/Systems/2']\n"
            "('/redfish/v1/Managers/BMC',)\n"
            "2 Off None Disabled\n"
            "['ForceOff', 'ForceRestart', 'GracefulShutdown', 'On', 'PowerCycle']\n"
            "['BiosSetup', 'Cd', 'Hdd', 'None', 'Pxe']\n");
}

TEST(RedfishTestEmulator, SushyPowersOnFromAOneTimePxeOverrideAndOff) {
  RedfishEmulatorPeer peer(2);
  ProcessResult r = Sushy(peer,
                          "s = root.get_system('/redfish/v1/Systems/1')\n"
                          "s.set_system_boot_options(sushy.BootSource.PXE,\n"
                          "    enabled=sushy.BootSourceOverrideEnabled.ONCE)\n"
                          "s.refresh()\n"
                          "print(s.boot.target.value, s.boot.enabled.value)\n");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "Pxe Once\n");
  EXPECT_EQ(peer.State("1", "boot-target"), "Pxe");
  EXPECT_EQ(peer.State("1", "boot-enabled"), "Once");

  r = Sushy(peer,
            "s = root.get_system('/redfish/v1/Systems/1')\n"
            "s.reset_system(sushy.ResetType.ON)\n"
            "s.refresh()\n"
            "print(s.power_state.value, s.boot.target.value, s.boot.enabled.value)\n");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // Powered on, booted from the network once, the override gone.
  EXPECT_EQ(r.out, "On None Disabled\n");
  EXPECT_EQ(peer.State("1", "power"), "On");
  EXPECT_EQ(peer.State("1", "last-boot"), "pxe");
  EXPECT_EQ(peer.State("2", "power"), "Off");

  r = Sushy(peer,
            "s = root.get_system('/redfish/v1/Systems/1')\n"
            "s.reset_system(sushy.ResetType.FORCE_OFF)\n"
            "s.refresh()\n"
            "print(s.power_state.value)\n");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "Off\n");
  EXPECT_EQ(peer.State("1", "power"), "Off");
}

TEST(RedfishTestEmulator, SushyIsRefusedWithAWrongPassword) {
  RedfishEmulatorPeer peer(1);
  auto r = RunProcess({"/usr/bin/python3", "-c",
                       "import sys, sushy\n"
                       "root = sushy.Sushy(sys.argv[1],\n"
                       "                   auth=sushy.auth.BasicAuth('admin', 'nope'))\n"
                       "try:\n"
                       "    root.get_system('/redfish/v1/Systems/1')\n"
                       "except sushy.exceptions.AccessError as e:\n"
                       "    print('refused', e.status_code)\n",
                       "http://" + peer.Address() + "/redfish/v1"},
                      WithTimeout(60));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->out, "refused 401\n") << r->err;
}

TEST(RedfishTestEmulator, RedfishtoolDrivesPowerAndBoot) {
  RedfishEmulatorPeer peer(2);
  ProcessResult r = peer.Redfishtool({"Systems", "list"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("/redfish/v1/Systems/2"), std::string::npos) << r.out;

  r = peer.Redfishtool({"Systems", "-I", "2", "setBootOverride", "Once", "Pxe"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(peer.State("2", "boot-target"), "Pxe");
  EXPECT_EQ(peer.State("2", "boot-enabled"), "Once");

  r = peer.Redfishtool({"Systems", "-I", "2", "reset", "On"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(peer.State("2", "power"), "On");
  EXPECT_EQ(peer.State("2", "last-boot"), "pxe");

  r = peer.Redfishtool({"-P", "PowerState", "Systems", "-I", "2"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(json::parse(r.out, nullptr, false).value("PowerState", ""), "On") << r.out;

  // A session instead of basic auth: login, the call, logout.
  r = peer.Redfishtool({"-A", "Session", "Systems", "-I", "2", "reset", "ForceOff"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(peer.State("2", "power"), "Off");
  EXPECT_EQ(peer.State("1", "power"), "Off");

  r = peer.Redfishtool({"Managers", "-I", "BMC"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(json::parse(r.out, nullptr, false).value("ManagerType", ""), "BMC") << r.out;
}

// Plain HTTP: the status codes and Redfish error bodies a client acts on.
TEST(RedfishTestEmulator, AnswersErrorsTheRedfishWay) {
  RedfishEmulatorPeer peer(1);
  httplib::Client c("127.0.0.1", peer.port());
  c.set_read_timeout(10, 0);
  auto message_id = [](const httplib::Result& r) {
    json j = json::parse(r->body, nullptr, false);
    return j.is_object() && j.contains("error") ? j["error"].value("code", "") : "";
  };

  auto root = c.Get("/redfish/v1");  // the service root needs no credentials
  ASSERT_TRUE(root);
  EXPECT_EQ(root->status, 200);
  json rj = json::parse(root->body, nullptr, false);
  EXPECT_EQ(rj.value("@odata.type", ""), "#ServiceRoot.v1_5_0.ServiceRoot");
  EXPECT_EQ(rj["Systems"].value("@odata.id", ""), "/redfish/v1/Systems");
  EXPECT_EQ(rj["SessionService"].value("@odata.id", ""), "/redfish/v1/SessionService");

  auto anon = c.Get("/redfish/v1/Systems/1");
  ASSERT_TRUE(anon);
  EXPECT_EQ(anon->status, 401);
  EXPECT_EQ(message_id(anon), "Base.1.8.NoValidSession");

  c.set_basic_auth(peer.user(), peer.password());
  auto sys = c.Get("/redfish/v1/Systems/1");
  ASSERT_TRUE(sys);
  EXPECT_EQ(sys->status, 200);
  EXPECT_FALSE(sys->get_header_value("ETag").empty());
  json sj = json::parse(sys->body, nullptr, false);
  EXPECT_EQ(sj.value("@odata.id", ""), "/redfish/v1/Systems/1");
  EXPECT_EQ(sj["Actions"]["#ComputerSystem.Reset"].value("target", ""),
            "/redfish/v1/Systems/1/Actions/ComputerSystem.Reset");

  auto missing = c.Get("/redfish/v1/Systems/9");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
  EXPECT_EQ(message_id(missing), "Base.1.8.ResourceMissingAtURI");

  auto not_allowed = c.Post("/redfish/v1/Systems", "{}", "application/json");
  ASSERT_TRUE(not_allowed);
  EXPECT_EQ(not_allowed->status, 405);

  auto bad_reset = c.Post("/redfish/v1/Systems/1/Actions/ComputerSystem.Reset",
                          R"({"ResetType": "Explode"})", "application/json");
  ASSERT_TRUE(bad_reset);
  EXPECT_EQ(bad_reset->status, 400);
  EXPECT_EQ(message_id(bad_reset), "Base.1.8.ActionParameterValueNotInList");

  auto bad_json = c.Patch("/redfish/v1/Systems/1", "{not json", "application/json");
  ASSERT_TRUE(bad_json);
  EXPECT_EQ(bad_json->status, 400);

  httplib::Headers stale = {{"If-Match", "\"0000000000000000\""}};
  auto conflict = c.Patch("/redfish/v1/Systems/1", stale,
                          R"({"Boot": {"BootSourceOverrideTarget": "Pxe"}})", "application/json");
  ASSERT_TRUE(conflict);
  EXPECT_EQ(conflict->status, 412);
  EXPECT_EQ(peer.State("1", "boot-target"), "None");
  EXPECT_EQ(peer.State("1", "power"), "Off");
}

}  // namespace
}  // namespace topoplace::testing
