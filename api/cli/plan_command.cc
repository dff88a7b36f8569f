// `topoplace plan show` and `topoplace plan list`: the plans that carry out bare-metal clusters,
// read from the store. Their JSON is the HTTP API's (json_codec.h); the text is for a person at a
// terminal: every name, log line and error that came from the store passes through TerminalText.
#include <algorithm>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "api/cli/commands.h"
#include "api/cli/service_cli.h"
#include "api/exit_codes.h"
#include "api/json_codec.h"
#include "executors/plan_builder.h"  // PlanNodes
#include "model/text.h"

namespace topoplace {
namespace {

// Widest a step id or a node name is shown in a table, and a step's log line.
constexpr size_t kMaxNameChars = 48;
constexpr size_t kMaxLogChars = 60;

// Characters in valid UTF-8 text (TerminalText's output): what a column's width counts.
size_t CharCount(std::string_view s) {
  return static_cast<size_t>(
      std::count_if(s.begin(), s.end(), [](char c) { return (c & 0xc0) != 0x80; }));
}

// `s` made safe for a terminal and cut after `max_chars` characters, "..." marking the cut.
std::string Cell(std::string_view s, size_t max_chars = kMaxNameChars) {
  std::string text = TerminalText(s);
  if (CharCount(text) <= max_chars) return text;
  size_t chars = 0, i = 0;
  const size_t keep = max_chars > 3 ? max_chars - 3 : 0;
  while (i < text.size() && chars < keep) {
    i += std::max<size_t>(Utf8SequenceLength(text, i), 1);
    ++chars;
  }
  return text.substr(0, i) + "...";
}

// Rows of cells (already Cell()ed), each column padded to its widest cell; the last one is not.
void PrintTable(std::ostream& out, const std::vector<std::vector<std::string>>& rows,
                std::string_view indent) {
  std::vector<size_t> widths;
  for (const auto& row : rows) {
    widths.resize(std::max(widths.size(), row.size()), 0);
    for (size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], CharCount(row[i]));
  }
  for (const auto& row : rows) {
    std::string line(indent);
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(widths[i] - CharCount(row[i]) + 2, ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out << line << "\n";
  }
}

std::string TimeText(int64_t ms) { return ms > 0 ? IsoTime(ms, false) : "-"; }

bool IsNotFound(const Status& st) { return st.code() == StatusCode::kNotFound; }

// The plan `id` names: a plan itself, else the plan carrying out an allocation ("alc-...") or a
// cluster ("cls-...", through its allocation). kNotFound messages name the id the user gave.
Result<Plan> FindPlan(Store& store, const std::string& id) {
  const std::string quoted = QuotedText(id);
  if (id.starts_with("alc-") || id.starts_with("cls-")) {
    std::string allocation = id;
    std::string what = "allocation " + quoted;
    if (id.starts_with("cls-")) {
      Result<ClusterRecord> cluster = store.GetCluster(id, "");
      if (!cluster.ok() && IsNotFound(cluster.status())) {
        return WithReason(StatusCode::kNotFound, "cluster_not_found", "no cluster " + quoted);
      }
      if (!cluster.ok()) return cluster.status();
      allocation = cluster->allocation_id;
      what = "cluster " + quoted + " (allocation " + QuotedText(allocation) + ")";
    } else {
      Result<AllocationRecord> alloc = store.GetAllocation(id, "");
      if (!alloc.ok() && IsNotFound(alloc.status())) {
        return WithReason(StatusCode::kNotFound, "allocation_not_found", "no allocation " + quoted);
      }
      if (!alloc.ok()) return alloc.status();
    }
    Result<Plan> plan = store.PlanOfAllocation(allocation);
    if (!plan.ok() && IsNotFound(plan.status())) {
      return WithReason(StatusCode::kNotFound, "plan_not_found",
                        "no plan carries out " + what +
                            ": plans are made for bare-metal clusters by a server run with "
                            "--executors");
    }
    return plan;
  }
  Result<Plan> plan = store.GetPlan(id, "");
  if (!plan.ok() && IsNotFound(plan.status())) {
    std::string message = "no plan " + quoted;
    if (!id.starts_with("pln-")) {
      message += " (expected a plan id pln-..., an allocation id alc-... or a cluster id cls-...)";
    }
    return WithReason(StatusCode::kNotFound, "plan_not_found", message);
  }
  return plan;
}

void PrintPlan(std::ostream& out, const Plan& plan, const std::optional<TenantNetwork>& net) {
  std::vector<std::vector<std::string>> header = {
      {"allocation", Cell(plan.allocation)},
      {"tenant", Cell(plan.tenant)},
      {"purpose", Cell(plan.purpose)},
      {"status", std::string(PlanStatusName(plan.status))}};
  if (!plan.error.empty()) header.push_back({"error", TerminalText(plan.error)});
  if (net) {
    header.push_back({"network", "vlan " + std::to_string(net->vlan) + ", subnet " +
                                     Cell(net->subnet) + ", gateway " + Cell(net->gateway) + " (" +
                                     Cell(net->id) + ")"});
  } else if (!plan.network.empty()) {
    header.push_back({"network", Cell(plan.network) + " (not in the store)"});
  } else {
    header.push_back({"network", "none yet"});
  }
  header.push_back({"created", TimeText(plan.created_ms)});
  header.push_back({"updated", TimeText(plan.updated_ms)});
  out << "plan " << Cell(plan.id) << "\n";
  PrintTable(out, header, "  ");

  out << "milestones\n";
  if (plan.milestones.empty()) out << "  none yet\n";
  std::vector<std::vector<std::string>> milestones;
  for (const Milestone& m : plan.milestones)
    milestones.push_back({Cell(m.name), TimeText(m.at_ms)});
  PrintTable(out, milestones, "  ");

  const Json summary = PlanSummaryJson(plan);
  out << "steps: " << summary["stepsDone"].get<size_t>() << " of "
      << summary["stepsTotal"].get<size_t>() << " done\n";
  if (!plan.steps.empty()) {
    std::vector<std::vector<std::string>> steps = {
        {"ID", "LAYER", "DRIVER", "PHASE", "STATE", "ATTEMPTS", "LOG"}};
    for (const PlanStep& s : plan.steps) {
      steps.push_back({Cell(s.id), Cell(s.layer), Cell(s.driver),
                       std::string(StepPhaseName(s.phase)), std::string(StepStateName(s.state)),
                       std::to_string(s.attempts), Cell(s.log, kMaxLogChars)});
    }
    PrintTable(out, steps, "  ");
  }

  // The addresses of this plan's nodes (its network may carry other plans of the tenant too):
  // the same selection as the JSON's.
  out << "addresses\n";
  const Json shown = net ? NetworkJson(*net, PlanNodes(plan)) : Json{{"addresses", Json::array()}};
  if (shown["addresses"].empty()) {
    out << "  none yet\n";
    return;
  }
  std::vector<std::vector<std::string>> addresses = {{"NODE", "PORT", "MAC", "ADDRESS"}};
  for (const Json& a : shown["addresses"]) {
    addresses.push_back({Cell(a["node"].get<std::string>()), Cell(a["port"].get<std::string>()),
                         Cell(a["mac"].get<std::string>()), Cell(a["address"].get<std::string>())});
  }
  PrintTable(out, addresses, "  ");
}

}  // namespace

int RunPlanShow(const ServiceCommands& c, std::ostream& out, std::ostream& err) {
  const std::string prefix = "topoplace plan show: ";
  auto store = OpenCommandStore(c, OpenMode::kExisting);
  if (!store.ok()) return ReportFailure(store.status(), c.json, out, err, prefix);
  Result<Plan> plan = FindPlan(**store, c.plan_id);
  if (!plan.ok()) return ReportFailure(plan.status(), c.json, out, err, prefix);
  std::optional<TenantNetwork> net;
  if (!plan->network.empty()) {
    Result<TenantNetwork> got = (*store)->GetNetwork(plan->network);
    if (got.ok()) {
      net = *std::move(got);
    } else if (!IsNotFound(got.status())) {
      return ReportFailure(got.status(), c.json, out, err, prefix);
    }
  }
  if (c.json) {
    out << JsonText(PlanToJson(*plan, net ? &*net : nullptr)) << "\n";
  } else {
    PrintPlan(out, *plan, net);
  }
  return kExitOk;
}

int RunPlanList(const ServiceCommands& c, std::ostream& out, std::ostream& err) {
  const std::string prefix = "topoplace plan list: ";
  auto store = OpenCommandStore(c, OpenMode::kExisting);
  if (!store.ok()) return ReportFailure(store.status(), c.json, out, err, prefix);
  Result<std::vector<Plan>> plans = (*store)->ListPlans("", c.plan_unfinished);
  if (!plans.ok()) return ReportFailure(plans.status(), c.json, out, err, prefix);
  if (c.json) {
    Json list = Json::array();
    for (const Plan& p : *plans) list.push_back(PlanSummaryJson(p));
    out << JsonText(Json{{"plans", list}}) << "\n";
    return kExitOk;
  }
  if (plans->empty()) {
    out << (c.plan_unfinished ? "no unfinished plans\n" : "no plans\n");
    return kExitOk;
  }
  std::vector<std::vector<std::string>> rows = {
      {"ID", "ALLOCATION", "TENANT", "PURPOSE", "STATUS", "STEPS", "UPDATED"}};
  for (const Plan& p : *plans) {
    const Json summary = PlanSummaryJson(p);
    rows.push_back({Cell(p.id), Cell(p.allocation), Cell(p.tenant), Cell(p.purpose),
                    std::string(PlanStatusName(p.status)),
                    std::to_string(summary["stepsDone"].get<size_t>()) + "/" +
                        std::to_string(summary["stepsTotal"].get<size_t>()),
                    TimeText(p.updated_ms)});
  }
  PrintTable(out, rows, "");
  return kExitOk;
}

}  // namespace topoplace
