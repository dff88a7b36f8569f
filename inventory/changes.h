// What-if changes to a scenario: failures, drains, added and removed hardware, quota changes.
//
// Each change is written as on the `topoplace whatif` command line:
//   --fail   node:NAME | rack:NAME | leaf:NAME | pod:NAME | powerDomain:NAME
//   --drain  (same targets)  no new placements there; current holders keep their nodes
//   --remove (same targets)  the nodes leave the inventory (racks left empty go with them)
//   --add    racks=4,class=h100x8,pod=pod-2[,nodes=8][,tags=hipaa+pci]
//            new racks in an existing pod, each with its own leaf (uplinked like the pod's other
//            leaves, same vendor), an A and a B power domain, and `nodes` nodes alternating between
//            them; nodes defaults to the pod's most common rack size
//   --tenant-quota TENANT:gpus=+64[,nodes=-2][,cpuCores=4096]   +N adds, -N removes, N sets,
//            "none" lifts the limit; keys nodes, gpus, cpuCores, memoryGiB, storageGiB,
//            budgetPerHour
// Parsing is strict: every error names the flag, the text, and what was expected. Targets and
// tenants are resolved against the scenario when the changes are applied, with the known names
// listed (or the closest one suggested) when a name does not exist.
//
// ApplyChanges() applies them in a fixed order whatever the command-line order: add, remove, fail,
// drain, tenant quota; it leaves allocations as they are (a repair decides what a lost node means
// for its allocation) and re-indexes the inventory.
//
// Thread safety: stateless.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "model/scenario.h"
#include "model/status.h"

namespace topoplace {

enum class ChangeKind { kFail, kDrain, kAdd, kRemove, kTenantQuota };
std::string_view ChangeFlag(ChangeKind kind);  // "--fail", ...

enum class TargetKind { kNode, kRack, kLeaf, kPod, kPowerDomain };

struct ChangeTarget {
  TargetKind kind = TargetKind::kNode;
  std::string name;
};

struct AddRacks {
  int racks = 0;
  std::string node_class;
  std::string pod;
  std::optional<int> nodes_per_rack;
  std::vector<std::string> tags;
};

struct QuotaEdit {
  std::string key;  // nodes, gpus, cpuCores, memoryGiB, storageGiB, budgetPerHour
  enum class Op { kSet, kAdd, kClear } op = Op::kSet;
  double value = 0;  // for kAdd, signed
};

struct Change {
  ChangeKind kind = ChangeKind::kFail;
  std::string text;              // as written, for reports
  ChangeTarget target;           // fail, drain, remove
  AddRacks add;                  // add
  std::string tenant;            // tenant quota
  std::vector<QuotaEdit> quota;  // tenant quota
};

// Parses one flag value. InvalidArgument: `--add "racks=x,...": racks: "x" is not ...; expected
// ...`.
Result<Change> ParseChange(ChangeKind kind, std::string_view text);

// What ApplyChanges did, one line per change ("failed 16 nodes of powerDomain pdu-r03-a").
struct AppliedChange {
  Change change;
  std::string summary;
  std::vector<std::string> nodes;  // nodes failed, drained, removed or added
};

// Applies `changes` to `scenario` (indexed or not). InvalidArgument naming the flag when a target,
// pod, class or tenant does not exist or an added name would collide.
Result<std::vector<AppliedChange>> ApplyChanges(Scenario& scenario,
                                                const std::vector<Change>& changes);

}  // namespace topoplace
