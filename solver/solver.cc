#include "solver/solver.h"

namespace topoplace {

std::string_view SolveStatusName(SolveStatus s) {
  switch (s) {
    case SolveStatus::kOptimal: return "optimal";
    case SolveStatus::kFeasible: return "feasible";
    case SolveStatus::kInfeasible: return "infeasible";
    case SolveStatus::kTimeout: return "timeout";
  }
  return "infeasible";
}

}  // namespace topoplace
