#include "executors/plan.h"

namespace topoplace {

std::string_view StepStateName(StepState s) {
  switch (s) {
    case StepState::kPending: return "pending";
    case StepState::kRunning: return "running";
    case StepState::kDone: return "done";
    case StepState::kFailed: return "failed";
    case StepState::kCompensated: return "compensated";
  }
  return "pending";
}

}  // namespace topoplace
