// The scenario language: load and dump scenario YAML (DESIGN.md section 3).
//
// Loading is strict: an unknown key, a wrong type, a bad enum value, a dangling reference, a
// duplicate name, a negative or absurd number are each reported as
//   FILE:LINE:COLUMN: KEY.PATH: what is wrong; what was expected
// and every error of a file is reported, not only the first (Status::messages(), one per error).
// The executors' keys (DESIGN.md section 6) are as strict: a node's `bmc` and `ports` (each cabled
// to the node's own leaf, one cable per switch port, MACs unique across ports and nodes), a
// switch's `management`, and the top-level `networks` policy (VLANs 1..4094, a quarantine VLAN
// outside the tenant range, a pool that is an IPv4 network, tenant subnets smaller than it).
// `generate:` entries are expanded into explicit sites/racks/switches/nodes at load time, and
// allocations are applied to node states. Dumping writes explicit entities only, so
// load -> dump -> load gives the same scenario.
//
// Thread safety: stateless functions.
#pragma once

#include <string>
#include <string_view>

#include "model/scenario.h"
#include "model/status.h"

namespace topoplace {

// Reads and parses a file; `path` appears in every message.
Result<Scenario> LoadScenarioFile(const std::string& path);
// Parses YAML text; `source_name` plays the role of the file name in messages.
Result<Scenario> LoadScenarioString(std::string_view yaml, std::string_view source_name);
// Parses the inventory document a store wrote (DumpScenario of an imported scenario). It is checked
// as fully as any scenario, but without the pre-pass that bounds the YAML values of a file before
// parsing it: that bound is for input from outside, and a store's own document of a scenario
// within kMaxScenarioNodes nodes may hold more values than a file may (the pre-pass also doubles
// the time a start takes at 100,000 nodes).
Result<Scenario> LoadStoredScenario(std::string_view yaml);

// Reads one request written as a YAML map, as in a scenario's `requests:` list (a shape file);
// name and tenant may be left out. Errors carry FILE:LINE:COLUMN like the scenario loader's;
// references (tenant, classes) are the caller's to check (ValidateRequest).
Result<Request> LoadRequestFile(const std::string& path);
// The same from text; `source_name` plays the role of the file name in messages. Text that is not
// UTF-8 or holds more than yaml_reader's limit of YAML values is refused before it is parsed, with
// the scenario loader's message.
Result<Request> LoadRequestString(std::string_view yaml, std::string_view source_name);

// Serialises a scenario (inventory, tenants, allocations, requests) to scenario YAML.
std::string DumpScenario(const Scenario& scenario);
// One request as a YAML map (name and tenant included), readable by LoadRequestString.
std::string DumpRequest(const Request& request);

}  // namespace topoplace
