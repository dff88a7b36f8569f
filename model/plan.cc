#include "model/plan.h"

#include "model/entities.h"
#include "model/ipv4.h"

#include <array>
#include <utility>

namespace topoplace {
namespace {

template <typename E, size_t N>
std::optional<E> ParseByName(const std::array<std::pair<E, std::string_view>, N>& table,
                             std::string_view s) {
  for (const auto& [e, name] : table) {
    if (name == s) return e;
  }
  return std::nullopt;
}

template <typename E, size_t N>
std::string_view NameOf(const std::array<std::pair<E, std::string_view>, N>& table, E e) {
  for (const auto& [x, name] : table) {
    if (x == e) return name;
  }
  return table[0].second;
}

constexpr std::array<std::pair<StepState, std::string_view>, 5> kStepStates{{
    {StepState::kPending, "pending"},
    {StepState::kRunning, "running"},
    {StepState::kDone, "done"},
    {StepState::kFailed, "failed"},
    {StepState::kCompensated, "compensated"},
}};
constexpr std::array<std::pair<PlanStatus, std::string_view>, 5> kPlanStatuses{{
    {PlanStatus::kProgressing, "PROGRESSING"},
    {PlanStatus::kReady, "READY"},
    {PlanStatus::kFailed, "FAILED"},
    {PlanStatus::kDeleting, "DELETING"},
    {PlanStatus::kDeleted, "DELETED"},
}};
constexpr std::array<std::pair<StepPhase, std::string_view>, 2> kStepPhases{{
    {StepPhase::kDeploy, "deploy"},
    {StepPhase::kTeardown, "teardown"},
}};

}  // namespace

std::string_view StepStateName(StepState s) { return NameOf(kStepStates, s); }
std::optional<StepState> ParseStepState(std::string_view s) { return ParseByName(kStepStates, s); }
std::string_view PlanStatusName(PlanStatus s) { return NameOf(kPlanStatuses, s); }
std::optional<PlanStatus> ParsePlanStatus(std::string_view s) {
  return ParseByName(kPlanStatuses, s);
}
bool IsFinal(PlanStatus s) {
  return s == PlanStatus::kReady || s == PlanStatus::kFailed || s == PlanStatus::kDeleted;
}
std::string_view StepPhaseName(StepPhase p) { return NameOf(kStepPhases, p); }
std::optional<StepPhase> ParseStepPhase(std::string_view s) { return ParseByName(kStepPhases, s); }

std::string NetworkKey(const Plan& plan) {
  return plan.tenant + "/" + std::string(ProjectName(plan.project));
}

std::string ServiceAddress(const TenantNetwork& network) {
  std::optional<Ipv4Subnet> subnet = ParseCidr(network.subnet);
  if (!subnet || HostCount(*subnet) <= 2) return "";
  return FormatIpv4(*NthHost(*subnet, HostCount(*subnet) - 1));
}

}  // namespace topoplace
