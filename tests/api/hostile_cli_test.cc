// The CLI under hostile input, run as a process: bytes that are not UTF-8, names that would drive a
// terminal, endless or huge files, too many nodes, floods of errors, unwritable output paths,
// mistyped commands and flags. Each case checks what a user sees: the exit code, the message and
// where it points, JSON that parses, a terminal that receives no control sequence.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "inventory/scenario_codec.h"
#include "solver/verifier.h"
#include "tests/api/cli_runner.h"

namespace topoplace {
namespace {

namespace fs = std::filesystem;
using testing::RunTopoplace;
using Json = nlohmann::json;

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// A fresh directory per test, removed at the end.
class HostileCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() /
           ("topoplace-hostile-" + std::to_string(::getpid()) + "-" + info->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string Write(const std::string& name, const std::string& content) {
    const fs::path p = dir_ / name;
    std::ofstream(p, std::ios::binary) << content;
    return p.string();
  }
  // Shell-quoted path of a file in the test directory.
  std::string Arg(const std::string& path) const { return "'" + path + "'"; }

  fs::path dir_;
};

// Bytes a terminal acts on: ESC, NUL, other C0 controls but newline and tab, and the bidi
// override U+202E, in UTF-8.
bool HasTerminalControls(const std::string& text) {
  for (unsigned char c : text) {
    if (c < 0x20 && c != '\n' && c != '\t') return true;
    if (c == 0x7f) return true;
  }
  return Contains(text, "\xe2\x80\xae");
}

bool IsValidUtf8Text(const std::string& s) {
  try {
    (void)Json(s).dump();  // throws on bytes that are not UTF-8
    return true;
  } catch (const Json::exception&) {
    return false;
  }
}

// ---------------------------------------------------------------------------------------------
// 1. Bytes that are not UTF-8; names that would drive a terminal.

TEST_F(HostileCliTest, ANonUtf8ByteIsBadInputWithItsPositionInEveryJsonCommand) {
  const std::string file = Write("k.yaml", "apiVersion: topoplace/v1\n\xff: 1\n");
  const std::string trace = Write("t.csv", "time,name,tenant,nodes,duration\n");
  for (const std::string& command :
       {"validate --json " + Arg(file), "show --json " + Arg(file), "place --json " + Arg(file),
        "whatif --json " + Arg(file) + " --fail node:x", "capacity --json " + Arg(file),
        "replay --json " + Arg(file) + " --trace " + Arg(trace)}) {
    const auto run = RunTopoplace(command);
    EXPECT_EQ(run.exit_code, 2) << command << "\n" << run.out << run.err;
    ASSERT_TRUE(IsValidUtf8Text(run.out)) << command;
    const Json j = Json::parse(run.out);  // throws (fails the test) on anything but valid JSON
    EXPECT_EQ(j["error"]["code"], "invalid_argument") << command << "\n" << run.out;
    const std::string message = j["error"]["message"];
    EXPECT_TRUE(Contains(message, file + ":2:1: invalid UTF-8 (byte 0xff)")) << message;
  }
  // On the terminal: the same location, and not the raw byte.
  const auto run = RunTopoplace("validate " + Arg(file));
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_TRUE(Contains(run.err, file + ":2:1: invalid UTF-8 (byte 0xff)")) << run.err;
  EXPECT_FALSE(Contains(run.err, "\xff"));
}

TEST_F(HostileCliTest, ANonUtf8ByteInATraceIsBadInputWithItsPosition) {
  const std::string trace =
      Write("t.csv", "time,name,tenant,nodes,duration\n0,job-\xfe,nlp-lab,1,1\n");
  const auto run = RunTopoplace("replay scenarios/moc-small.yaml --json --trace " + Arg(trace));
  EXPECT_EQ(run.exit_code, 2) << run.out << run.err;
  const Json j = Json::parse(run.out);
  EXPECT_TRUE(Contains(j["error"]["message"], trace + ":2:7: invalid UTF-8 (byte 0xfe)"))
      << run.out;
}

// A small valid scenario whose names hold what a terminal would act on: an escape sequence that
// clears the screen, a newline that fakes a line, NUL, and a bidi override that reverses text.
std::string EvilScenario() {
  return R"(apiVersion: topoplace/v1
inventory:
  sites: [{name: s1, region: us-east, jurisdiction: US}]
  powerDomains: [{name: "pd\e[2J", site: s1}]
  switches:
    - {name: spine-1, role: spine, vendor: arista, site: s1}
    - {name: "leaf\u202Eevil", role: leaf, vendor: arista, site: s1, uplinks: [spine-1]}
  racks:
    - {name: "rack\nFAKE LINE", site: s1, pod: pod-1, powerDomains: ["pd\e[2J"]}
  nodeClasses:
    - {name: h100x8, cpu: {cores: 112}, memoryGiB: 2048, gpu: {model: H100, count: 8}, costPerHour: 98}
  nodes:
    - {name: "n1\0x", class: h100x8, rack: "rack\nFAKE LINE", powerDomain: "pd\e[2J", leaf: "leaf\u202Eevil"}
    - {name: "n2\e]0;title\a", class: h100x8, rack: "rack\nFAKE LINE", powerDomain: "pd\e[2J", leaf: "leaf\u202Eevil"}
tenants:
  - {name: "lab\e[31m"}
requests:
  - {name: "job\rX", tenant: "lab\e[31m", nodes: 2, select: {class: h100x8}}
  - {name: "too-big\u202E", tenant: "lab\e[31m", nodes: 3, select: {class: h100x8}}
)";
}

TEST_F(HostileCliTest, NamesWithControlCharactersArePrintedEscaped) {
  const std::string file = Write("evil.yaml", EvilScenario());
  // The loader accepts such names (they are valid UTF-8 text), so every printer must escape them.
  Result<Scenario> loaded = LoadScenarioFile(file);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();

  for (const std::string& command : {"validate " + Arg(file), "show " + Arg(file),
                                     "show --all-nodes " + Arg(file), "place " + Arg(file)}) {
    const auto run = RunTopoplace(command);
    EXPECT_FALSE(HasTerminalControls(run.out)) << command << "\n" << run.out;
    EXPECT_FALSE(HasTerminalControls(run.err)) << command << "\n" << run.err;
    EXPECT_FALSE(Contains(run.out, "\nFAKE LINE")) << command << "\n" << run.out;
  }
  const auto show = RunTopoplace("show " + Arg(file));
  EXPECT_EQ(show.exit_code, 0) << show.err;
  EXPECT_TRUE(Contains(show.out, "rack\\nFAKE LINE")) << show.out;
  EXPECT_TRUE(Contains(show.out, "leaf\\u202eevil")) << show.out;
  EXPECT_TRUE(Contains(show.out, "pd\\x1b[2J")) << show.out;
  EXPECT_TRUE(Contains(show.out, "lab\\x1b[31m")) << show.out;
  const auto nodes = RunTopoplace("show --all-nodes " + Arg(file));
  EXPECT_TRUE(Contains(nodes.out, "n1\\x00x")) << nodes.out;
  EXPECT_TRUE(Contains(nodes.out, "n2\\x1b]0;title\\x07")) << nodes.out;

  // place: one request fits, one cannot (3 nodes of 2); the answer passes the verifier.
  const auto place = RunTopoplace("place " + Arg(file));
  EXPECT_EQ(place.exit_code, 3) << place.out << place.err;
  EXPECT_TRUE(Contains(place.out, "request job\\rX (tenant lab\\x1b[31m): optimal")) << place.out;
  EXPECT_TRUE(Contains(place.out, "request too-big\\u202e")) << place.out;
  const auto json = RunTopoplace("place --json " + Arg(file));
  const Json j = Json::parse(json.out);
  auto snap = MakeSnapshot(loaded->inventory);
  ASSERT_TRUE(snap.ok());
  const PlacementProblem problem{*snap, loaded->tenants};
  ASSERT_EQ(j["results"].size(), 2u);
  const Json& placed = j["results"][0];
  ASSERT_EQ(placed["request"], "job\rX");  // JSON carries the name itself, escaped by JSON
  ASSERT_EQ(placed["status"], "optimal");
  std::vector<int> chosen;
  for (const auto& n : placed["nodes"])
    chosen.push_back((*snap)->inventory.NodeIndex(n.get<std::string>()));
  ASSERT_EQ(chosen.size(), 2u);
  const auto violations = VerifyPlacement(problem, loaded->requests[0], chosen);
  EXPECT_TRUE(violations.empty()) << violations.front().detail;
  EXPECT_EQ(j["results"][1]["status"], "infeasible");
}

TEST_F(HostileCliTest, WhatIfAndCapacityPrintNamesEscaped) {
  const std::string file = Write("evil.yaml", EvilScenario());
  // The rack is named in the flag too: a newline in argv, as a shell passes it.
  const auto whatif =
      RunTopoplace("whatif " + Arg(file) + " --fail \"$(printf 'rack:rack\\nFAKE LINE')\"");
  EXPECT_EQ(whatif.exit_code, 0) << whatif.out << whatif.err;
  EXPECT_TRUE(Contains(whatif.out,
                       "--fail rack:rack\\nFAKE LINE: failed 2 nodes of rack "
                       "rack\\nFAKE LINE\n"))
      << whatif.out;
  EXPECT_TRUE(Contains(whatif.out, "  job\\rX: placed -> not placed")) << whatif.out;
  const auto capacity = RunTopoplace("capacity " + Arg(file) + " --shape nodes=1,class=h100x8");
  EXPECT_EQ(capacity.exit_code, 0) << capacity.out << capacity.err;
  EXPECT_TRUE(Contains(capacity.out, "shape: nodes=1,class=h100x8 (tenant lab\\x1b[31m)"))
      << capacity.out;
  EXPECT_TRUE(Contains(capacity.out, "free nodes by rack: rack\\nFAKE LINE 2/2")) << capacity.out;
  EXPECT_TRUE(Contains(capacity.out, "free nodes by leaf: leaf\\u202eevil 2/2")) << capacity.out;
  for (const auto* run : {&whatif, &capacity}) {
    EXPECT_FALSE(HasTerminalControls(run->out)) << run->out;
    EXPECT_FALSE(HasTerminalControls(run->err)) << run->err;
    EXPECT_FALSE(Contains(run->out, "\nFAKE LINE")) << run->out;
  }
}

// An allocation on hostile nodes: the what-if report names its tenant, its lost node and the
// replacement with its leaf; the capacity report the tenant's headroom, racks and leaves. The
// printers escape each name themselves (a newline is not something the output filter may touch).
TEST_F(HostileCliTest, WhatIfAndCapacityReportsEscapeTenantRackAndNodeNames) {
  const std::string file = Write("held.yaml", R"(apiVersion: topoplace/v1
inventory:
  sites: [{name: s1, region: us-east, jurisdiction: US}]
  powerDomains: [{name: pd1, site: s1}]
  switches:
    - {name: spine-1, role: spine, vendor: arista, site: s1}
    - {name: "leaf\u202Eone", role: leaf, vendor: arista, site: s1, uplinks: [spine-1]}
  racks:
    - {name: "rack\e[2J", site: s1, pod: pod-1, powerDomains: [pd1]}
  nodeClasses:
    - {name: h100x8, cpu: {cores: 112}, memoryGiB: 2048, gpu: {model: H100, count: 8}, costPerHour: 98}
  nodes:
    - {name: "node\nFAKE LINE", class: h100x8, rack: "rack\e[2J", powerDomain: pd1, leaf: "leaf\u202Eone"}
    - {name: "node\e[2J", class: h100x8, rack: "rack\e[2J", powerDomain: pd1, leaf: "leaf\u202Eone"}
tenants:
  - {name: "team\nFAKE TENANT", quota: {nodes: 2}}
allocations:
  - {name: "job\e[2J", tenant: "team\nFAKE TENANT", nodes: ["node\nFAKE LINE"]}
)");
  const auto whatif =
      RunTopoplace("whatif " + Arg(file) + " --fail \"$(printf 'node:node\\nFAKE LINE')\"");
  EXPECT_EQ(whatif.exit_code, 0) << whatif.out << whatif.err;
  EXPECT_TRUE(Contains(whatif.out,
                       "  job\\x1b[2J (tenant team\\nFAKE TENANT): lost 1 of 1 nodes: "
                       "node\\nFAKE LINE\n"))
      << whatif.out;
  EXPECT_TRUE(Contains(whatif.out, "    replacements: node\\x1b[2J (leaf\\u202eone)\n"))
      << whatif.out;

  const auto capacity = RunTopoplace("capacity " + Arg(file));
  EXPECT_EQ(capacity.exit_code, 0) << capacity.out << capacity.err;
  EXPECT_TRUE(Contains(capacity.out, "\n  team\\nFAKE TENANT: nodes 1, ")) << capacity.out;
  EXPECT_TRUE(Contains(capacity.out, "free nodes by rack: rack\\x1b[2J 1/2\n")) << capacity.out;
  EXPECT_TRUE(Contains(capacity.out, "free nodes by leaf: leaf\\u202eone 1/2\n")) << capacity.out;
  for (const auto* run : {&whatif, &capacity}) {
    EXPECT_FALSE(HasTerminalControls(run->out)) << run->out;
    EXPECT_FALSE(HasTerminalControls(run->err)) << run->err;
    EXPECT_FALSE(Contains(run->out, "\nFAKE")) << run->out;
  }
}

TEST_F(HostileCliTest, WhatIfAndCapacityJsonCarriesBrokenBytesFromArgvAsValidUtf8) {
  // A tag and a file name from argv that are not UTF-8 end up in the reports' JSON.
  const auto whatif = RunTopoplace(
      "whatif --json scenarios/moc-small.yaml --add "
      "\"$(printf 'racks=1,class=h100x8,pod=pod-2,tags=a\\377')\"");
  EXPECT_EQ(whatif.exit_code, 0) << whatif.out << whatif.err;
  ASSERT_TRUE(IsValidUtf8Text(whatif.out)) << whatif.out;
  const Json w = Json::parse(whatif.out);
  EXPECT_EQ(w["changes"][0]["change"], "racks=1,class=h100x8,pod=pod-2,tags=a\ufffd") << w;
  EXPECT_EQ(w["capacity"]["after"]["freeNodes"].get<int>(),
            w["capacity"]["before"]["freeNodes"].get<int>() + 8);

  const std::string file =
      Write("moc-\xff.yaml", testing::ReadFile(testing::SourceDir() + "/scenarios/moc-small.yaml"));
  const auto capacity =
      RunTopoplace("capacity --json " + Arg(file) + " --shape nodes=2,class=h100x8");
  EXPECT_EQ(capacity.exit_code, 0) << capacity.out << capacity.err;
  ASSERT_TRUE(IsValidUtf8Text(capacity.out)) << capacity.out;
  const Json c = Json::parse(capacity.out);
  EXPECT_EQ(c["file"], (dir_ / "moc-\ufffd.yaml").string());
  EXPECT_GT(c["count"]["copies"].get<int>(), 0);
}

// ---------------------------------------------------------------------------------------------
// 2. Input size limits and memory.

TEST_F(HostileCliTest, EndlessInputStopsAtTheLimitWithAClearMessage) {
  for (const std::string& command :
       {std::string("validate /dev/zero"), std::string("validate /dev/stdin < /dev/zero"),
        std::string("show --json /dev/zero")}) {
    const auto run = RunTopoplace(command);
    EXPECT_EQ(run.exit_code, 2) << command << "\n" << run.out << run.err;
    const std::string text = run.out + run.err;
    EXPECT_TRUE(Contains(text, "larger than 64 MiB, the limit for a scenario file")) << text;
    EXPECT_TRUE(Contains(text, "/dev/")) << text;  // names the file
  }
  const auto json = RunTopoplace("show --json /dev/zero");
  EXPECT_EQ(Json::parse(json.out)["error"]["code"], "input_too_large");

  const auto replay = RunTopoplace("replay scenarios/moc-small.yaml --trace /dev/zero");
  EXPECT_EQ(replay.exit_code, 2) << replay.out << replay.err;
  EXPECT_TRUE(Contains(replay.err, "/dev/zero: larger than 64 MiB, the limit for a trace file"))
      << replay.err;
}

TEST_F(HostileCliTest, AnEndlessOrBrokenShapeFileIsBadInput) {
  const auto run = RunTopoplace("capacity scenarios/moc-small.yaml --shape-file /dev/zero");
  EXPECT_EQ(run.exit_code, 2) << run.out << run.err;
  EXPECT_TRUE(Contains(run.err, "/dev/zero: larger than 64 MiB, the limit for a request file"))
      << run.err;
  const auto json = RunTopoplace("capacity --json scenarios/moc-small.yaml --shape-file /dev/zero");
  EXPECT_EQ(json.exit_code, 2) << json.out << json.err;
  EXPECT_EQ(Json::parse(json.out)["error"]["code"], "input_too_large") << json.out;

  const std::string shape = Write("shape.yaml", "nodes: 2\nselect: {class: \"h100\xfex8\"}\n");
  const auto broken =
      RunTopoplace("capacity --json scenarios/moc-small.yaml --shape-file " + Arg(shape));
  EXPECT_EQ(broken.exit_code, 2) << broken.out << broken.err;
  const Json j = Json::parse(broken.out);
  EXPECT_TRUE(Contains(j["error"]["message"], shape + ":2:22: invalid UTF-8 (byte 0xfe)"))
      << broken.out;
}

TEST_F(HostileCliTest, TooManyNodesInAllIsBadInputAtTheEntryThatPassesTheLimit) {
  const std::string file = Write("gen.yaml", R"(apiVersion: topoplace/v1
inventory:
  generate:
    - {name: a, site: s1, pods: 1, racksPerPod: 2, nodesPerRack: 2, class: h100x8}
    - {name: b, site: s1, pods: 1000, racksPerPod: 2000, nodesPerRack: 1, class: h100x8}
)");
  const auto run = RunTopoplace("validate " + Arg(file));
  EXPECT_EQ(run.exit_code, 2) << run.out << run.err;
  EXPECT_TRUE(Contains(run.err, file + ":5:14: inventory.generate[1].name: 2000000 more nodes "
                                       "would make 2000004 in the scenario"))
      << run.err;
  EXPECT_TRUE(Contains(run.err, "expected at most 2000000 nodes in one scenario")) << run.err;
}

TEST_F(HostileCliTest, WhatIfAddsPastTheNodeLimitAreBadInputBeforeAnythingIsBuilt) {
  std::string flags;
  for (int i = 0; i < 8; ++i) flags += " --add racks=1000,class=h100x8,pod=pod-1,nodes=256";
  const auto run = RunTopoplace("whatif scenarios/moc-small.yaml" + flags);
  EXPECT_EQ(run.exit_code, 2) << run.out << run.err;
  EXPECT_TRUE(Contains(run.err,
                       "--add \"racks=1000,class=h100x8,pod=pod-1,nodes=256\": the "
                       "scenario would hold 2048"))
      << run.err;
  EXPECT_TRUE(Contains(run.err, "expected at most 2000000 nodes in one scenario")) << run.err;
}

// The binary a memory limit can be put on: this build's own, unless it runs under
// AddressSanitizer, which reserves terabytes of address space and ends the process on a failed
// allocation instead of throwing; then the one $TOPOPLACE_UNSANITIZED_BIN names (scripts/test.sh
// builds the release preset's and names it). Empty when there is none.
std::string UnsanitizedBinary() {
#if defined(__SANITIZE_ADDRESS__)
  const std::string bin = testing::EnvOr("TOPOPLACE_UNSANITIZED_BIN", "");
  return !bin.empty() && ::access(bin.c_str(), X_OK) == 0 ? bin : std::string();
#else
  return testing::EnvOr("TOPOPLACE_BIN", TOPOPLACE_BIN_DEFAULT);
#endif
}

TEST_F(HostileCliTest, OutOfMemoryIsAnInternalErrorNotUnsatisfiable) {
  const std::string bin = UnsanitizedBinary();
  if (bin.empty()) {
    GTEST_SKIP() << "no topoplace binary without AddressSanitizer to limit memory on: set "
                    "TOPOPLACE_UNSANITIZED_BIN (scripts/test.sh builds the release preset's)";
  }
  // 2,000,000 generated nodes (within every limit) need far more than 1 GiB of address space.
  const std::string file = Write("huge.yaml", R"(apiVersion: topoplace/v1
inventory:
  generate:
    - {name: dc, site: s1, pods: 1000, racksPerPod: 200, nodesPerRack: 10, class: h100x8}
)");
  for (const char* command : {"validate", "show", "place --json"}) {
    // ulimit applies to the shell RunTopoplace starts, so only to this run of the binary.
    const auto run = RunTopoplace("--version >/dev/null; ulimit -v 1048576; '" + bin + "' " +
                                  command + " " + Arg(file));
    EXPECT_EQ(run.exit_code, 1) << command << "\n" << run.out << run.err;
    EXPECT_TRUE(Contains(run.out + run.err, "out of memory")) << command << "\n" << run.err;
  }
}

// ---------------------------------------------------------------------------------------------
// 4. Floods of errors, collapsed rows, unwritable outputs.

TEST_F(HostileCliTest, ErrorsAreCappedWithACountOfTheRest) {
  std::string yaml = "apiVersion: topoplace/v1\ntenants: [";
  for (int i = 0; i < 1000; ++i)
    yaml += (i ? ", " : "") + std::string("{name: t") + std::to_string(i) + ", bogus: 1}";
  yaml += "]\n";
  const std::string file = Write("flood.yaml", yaml);
  const auto run = RunTopoplace("validate " + Arg(file));
  EXPECT_EQ(run.exit_code, 2);
  std::istringstream in(run.err);
  int lines = 0;
  for (std::string line; std::getline(in, line);) ++lines;
  EXPECT_EQ(lines, 102) << run.err.substr(0, 2000);  // 100 errors, "... and 900 more", the count
  EXPECT_TRUE(Contains(run.err, "... and 900 more errors")) << run.err.substr(run.err.size() - 300);
  EXPECT_TRUE(Contains(run.err, file + ": 1000 error(s)"));

  const auto json = RunTopoplace("validate --json " + Arg(file));
  const Json j = Json::parse(json.out);
  EXPECT_EQ(j["files"][0]["errorCount"], 1000);
  ASSERT_EQ(j["files"][0]["errors"].size(), 101u);
  EXPECT_EQ(j["files"][0]["errors"][100], "... and 900 more errors");
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

TEST_F(HostileCliTest, AFloodOfErrorsIsCountedWhole) {
  // 200,000 tenants that are not maps, after a request whose tenant does not exist: that error is
  // found last (references are checked after parsing) but comes first in the file.
  std::string yaml =
      "apiVersion: topoplace/v1\nrequests: [{name: r, tenant: nobody, nodes: 1}]\ntenants: [1";
  for (int i = 1; i < 200000; ++i) yaml += ", 1";
  yaml += "]\n";
  const std::string file = Write("flood.yaml", yaml);
  const auto run = RunTopoplace("validate " + Arg(file));
  EXPECT_EQ(run.exit_code, 2);
  const std::vector<std::string> lines = Lines(run.err);
  ASSERT_EQ(lines.size(), 102u) << run.err.substr(0, 2000);
  EXPECT_EQ(lines[0].rfind(file + ":2:30: requests[0].tenant: tenant \"nobody\" does not exist", 0),
            0u)
      << lines[0];
  EXPECT_EQ(lines[1].rfind(file + ":3:11: tenants[0]: got \"1\"", 0), 0u) << lines[1];
  EXPECT_EQ(lines[99].rfind(file + ":3:305: tenants[98]: got \"1\"", 0), 0u) << lines[99];
  EXPECT_EQ(lines[100], "... and 199901 more errors");
  EXPECT_EQ(lines[101], file + ": 200001 error(s)");

  // The same count wherever the file is loaded, as JSON too.
  const auto json = RunTopoplace("whatif --json " + Arg(file) + " --fail node:x");
  EXPECT_EQ(json.exit_code, 2) << json.err;
  const Json j = Json::parse(json.out);
  EXPECT_EQ(j["errorCount"], 200001);
  ASSERT_EQ(j["errors"].size(), 101u);
  EXPECT_EQ(j["errors"][100], "... and 199901 more errors");
  EXPECT_TRUE(Contains(j["error"]["message"], "tenant \"nobody\" does not exist")) << json.out;
}

// The rack table of `show`, as (label, nodes) rows.
std::vector<std::pair<std::string, int>> RackRows(const std::string& out) {
  std::vector<std::pair<std::string, int>> rows;
  std::istringstream in(out);
  bool in_table = false;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("rack ", 0) == 0 && Contains(line, "nodes")) {
      in_table = true;
      continue;
    }
    if (!in_table) continue;
    if (line.empty()) break;
    // label, then nodes, gpus and the five states as numbers.
    std::istringstream cells(line);
    std::vector<std::string> words;
    for (std::string w; cells >> w;) words.push_back(w);
    if (words.size() < 8) break;
    std::string label;
    for (size_t i = 0; i + 7 < words.size(); ++i) label += (i ? " " : "") + words[i];
    rows.push_back({label, std::stoi(words[words.size() - 7])});
  }
  return rows;
}

TEST_F(HostileCliTest, ShowsCollapsedRowsCarryTheCountsOfWhatTheyHide) {
  const auto run = RunTopoplace("show scenarios/moc-small.yaml --max-children 3");
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const auto json = RunTopoplace("show --json scenarios/moc-small.yaml");
  const int total = Json::parse(json.out)["nodes"]["nodes"];
  const auto rows = RackRows(run.out);
  ASSERT_EQ(rows.size(), 4u) << run.out;
  EXPECT_EQ(rows.back().first, "(9 more racks)") << run.out;
  EXPECT_GT(rows.back().second, 0) << run.out;
  int sum = 0;
  for (const auto& [label, nodes] : rows) sum += nodes;
  EXPECT_EQ(sum, total) << run.out;
}

TEST_F(HostileCliTest, AnUnwritableOutputPathIsBadInputAndLeavesNothingBehind) {
  const std::string args =
      "replay scenarios/moc-small.yaml --trace scenarios/traces/story.csv "
      "--policy first-fit --no-timing ";
  // A directory where the file should go, a directory that does not exist.
  const auto into_dir = RunTopoplace(args + "--plot " + Arg(dir_.string()));
  EXPECT_EQ(into_dir.exit_code, 2) << into_dir.out << into_dir.err;
  EXPECT_TRUE(Contains(into_dir.err, "--plot: cannot write " + dir_.string() + ": is a directory"))
      << into_dir.err;
  const std::string missing = (dir_ / "no-such-dir" / "plot.svg").string();
  const auto no_dir = RunTopoplace(args + "--table " + Arg(missing));
  EXPECT_EQ(no_dir.exit_code, 2) << no_dir.err;
  EXPECT_TRUE(Contains(no_dir.err, "--table: cannot write " + missing)) << no_dir.err;
  const auto json = RunTopoplace(args + "--json --table " + Arg(missing));
  EXPECT_EQ(json.exit_code, 2);
  EXPECT_EQ(Json::parse(json.out)["error"]["code"], "cannot_write");

  // Written whole: complete files and no temporary file beside them.
  const std::string plot = (dir_ / "plot.svg").string(), table = (dir_ / "series.csv").string();
  const auto ok = RunTopoplace(args + "--plot " + Arg(plot) + " --table " + Arg(table));
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  const std::string svg = testing::ReadFile(plot);
  EXPECT_EQ(svg.rfind("</svg>\n"), svg.size() - 7);
  EXPECT_EQ(testing::ReadFile(table).rfind("policy,time,", 0), 0u);
  int files = 0;
  for (const auto& e : fs::directory_iterator(dir_)) {
    ++files;
    EXPECT_FALSE(Contains(e.path().filename().string(), ".tmp-")) << e.path();
  }
  EXPECT_EQ(files, 2);
}

// ---------------------------------------------------------------------------------------------
// 5. Mistyped commands and flags; argument errors as JSON; defaults in --help.

TEST_F(HostileCliTest, AMistypedCommandOrFlagGetsADidYouMean) {
  const auto command = RunTopoplace("plce scenarios/moc-small.yaml");
  EXPECT_EQ(command.exit_code, 2);
  EXPECT_TRUE(Contains(command.err, "unknown command \"plce\"")) << command.err;
  EXPECT_TRUE(Contains(command.err, "did you mean place?")) << command.err;
  const auto far = RunTopoplace("frobnicate");
  EXPECT_EQ(far.exit_code, 2);
  EXPECT_FALSE(Contains(far.err, "did you mean")) << far.err;
  const auto flag = RunTopoplace("validate --jsn scenarios/moc-small.yaml");
  EXPECT_EQ(flag.exit_code, 2);
  EXPECT_TRUE(Contains(flag.err, "did you mean --json?")) << flag.err;
}

TEST_F(HostileCliTest, ArgumentErrorsComeBackAsJsonWhenAsked) {
  struct Case {
    std::string args;
    std::string code;
  };
  const std::vector<Case> cases = {
      {"validate --json --bogus scenarios/moc-small.yaml", "unknown_argument"},
      {"show --json", "missing_argument"},
      {"place --json scenarios/moc-small.yaml --solver simplex", "bad_value"},
      {"place --json scenarios/moc-small.yaml --time-limit abc", "bad_value"},
      {"place --json /nonexistent/x.yaml", "not_found"},
      {"place --json scenarios/moc-small.yaml --request no-such", "unknown_request"},
      {"whatif --json /nonexistent/x.yaml --fail node:x", "not_found"},
      {"capacity --json /nonexistent/x.yaml", "not_found"},
      {"replay --json scenarios/moc-small.yaml", "missing_argument"},
      {"replay --json scenarios/moc-small.yaml --trace /nonexistent.csv", "not_found"},
      {"replay --json scenarios/moc-small.yaml --trace scenarios/traces/story.csv --policy x",
       "bad_value"},
  };
  for (const Case& c : cases) {
    const auto run = RunTopoplace(c.args);
    EXPECT_EQ(run.exit_code, 2) << c.args << "\n" << run.out << run.err;
    Json j;
    ASSERT_NO_THROW(j = Json::parse(run.out)) << c.args << "\n" << run.out;
    EXPECT_EQ(j["error"]["code"], c.code) << c.args << "\n" << run.out;
    EXPECT_FALSE(j["error"]["message"].get<std::string>().empty()) << c.args;
  }
}

TEST_F(HostileCliTest, WhatIfAndCapacityErrorsComeBackAsJsonWhenAsked) {
  const std::string bad_shape =
      Write("bad.yaml", "nodes: 2\ntopology:\n  locality: {level: racks}\n");
  const std::string bad_trace =
      Write("bad.csv", "time,name,tenant,nodes,duration\n1,a,nlp-lab,two,1\n");
  struct Case {
    std::string args;
    std::string code;
    std::string message;  // part of error.message
  };
  const std::vector<Case> cases = {
      {"whatif --json scenarios/moc-small.yaml --fail rackx:r01 --add racks=two", "bad_value",
       "--fail \"rackx:r01\": unknown kind \"rackx\""},
      {"whatif --json scenarios/moc-small.yaml", "missing_argument", "no change given"},
      {"whatif --json scenarios/moc-small.yaml --fail rack:r99", "change_not_applicable",
       "no rack named \"r99\""},
      {"whatif --json scenarios/moc-small.yaml --fail rack:r01 --shape nodes=x", "bad_value",
       "--shape \"nodes=x\": column 1: nodes:"},
      {"capacity --json scenarios/moc-small.yaml --shape nodes=2,locality=leaf:sometimes",
       "bad_value", "column 9: locality: unknown mode \"sometimes\""},
      {"capacity --json scenarios/moc-small.yaml --shape nodes=2 --shape-file " + Arg(bad_shape),
       "bad_arguments", "give --shape or --shape-file, not both"},
      {"capacity --json scenarios/moc-small.yaml --shape-file " + Arg(bad_shape),
       "invalid_argument", bad_shape + ":3:21: topology.locality.level: unknown level"},
      {"capacity --json scenarios/moc-small.yaml --shape nodes=2,class=h200x8", "invalid_shape",
       "unknown node class \"h200x8\""},
      {"capacity --json scenarios/moc-small.yaml --tenant nobody", "unknown_tenant",
       "--tenant: no tenant named \"nobody\""},
      {"capacity --json scenarios/moc-small.yaml --history " + Arg(bad_trace), "invalid_argument",
       bad_trace + ":2:13: nodes: \"two\" is not a whole number"},
  };
  for (const Case& c : cases) {
    const auto run = RunTopoplace(c.args);
    EXPECT_EQ(run.exit_code, 2) << c.args << "\n" << run.out << run.err;
    EXPECT_EQ(run.err, "") << c.args;  // the one document on stdout says it all
    Json j;
    ASSERT_NO_THROW(j = Json::parse(run.out)) << c.args << "\n" << run.out << run.err;
    EXPECT_EQ(j["error"]["code"], c.code) << c.args << "\n" << run.out;
    EXPECT_TRUE(Contains(j["error"]["message"], c.message)) << c.args << "\n" << run.out;
  }
}

TEST_F(HostileCliTest, WhatIfFlagErrorsAreCappedWithACountOfTheRest) {
  std::string flags;
  for (int i = 0; i < 150; ++i) flags += " --fail bogus:" + std::to_string(i);
  const auto run = RunTopoplace("whatif scenarios/moc-small.yaml" + flags);
  EXPECT_EQ(run.exit_code, 2);
  const std::vector<std::string> lines = Lines(run.err);
  ASSERT_EQ(lines.size(), 101u) << run.err.substr(0, 2000);
  EXPECT_TRUE(Contains(lines[99], "--fail \"bogus:99\": unknown kind \"bogus\"")) << lines[99];
  EXPECT_EQ(lines[100], "topoplace whatif: ... and 50 more errors");
  const auto json = RunTopoplace("whatif --json scenarios/moc-small.yaml" + flags);
  EXPECT_EQ(json.exit_code, 2);
  const Json j = Json::parse(json.out);
  EXPECT_EQ(j["errorCount"], 150);
  ASSERT_EQ(j["errors"].size(), 101u);
  EXPECT_EQ(j["errors"][100], "... and 50 more errors");
}

TEST_F(HostileCliTest, HelpShowsTheDefaults) {
  const auto place = RunTopoplace("place --help");
  EXPECT_EQ(place.exit_code, 0);
  EXPECT_TRUE(Contains(place.out, "=auto")) << place.out;  // --solver
  EXPECT_TRUE(Contains(place.out, "=10")) << place.out;    // --time-limit
  const auto show = RunTopoplace("show --help");
  EXPECT_TRUE(Contains(show.out, "=12")) << show.out;  // --max-children
  const auto replay = RunTopoplace("replay --help");
  EXPECT_TRUE(Contains(replay.out, "=0.2")) << replay.out;  // --time-limit
  EXPECT_TRUE(Contains(replay.out, "=1")) << replay.out;    // --seed
}

}  // namespace
}  // namespace topoplace
