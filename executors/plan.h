// Plans: how a committed placement is carried out, as a DAG of idempotent steps.
//
// This module holds the plan vocabulary that the runner and drivers (BMC, L2, L3, cluster) share.
// Drivers and the runner arrive with the executors issue; the types are here so api/ and stores can
// already name them. Thread safety: plain values.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace topoplace {

enum class StepState { kPending, kRunning, kDone, kFailed, kCompensated };
std::string_view StepStateName(StepState s);

struct PlanStep {
  std::string id;
  std::string driver;  // "bmc", "l2", "l3", "cluster"
  std::string action;  // "power-on", "set-vlan", ...
  std::vector<std::string> after;  // ids of steps that must be done first
  StepState state = StepState::kPending;
  int attempts = 0;
  std::string log;
};

struct Plan {
  std::string allocation;
  std::vector<PlanStep> steps;
};

}  // namespace topoplace
