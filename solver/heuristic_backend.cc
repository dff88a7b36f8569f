#include "solver/backends.h"

namespace topoplace {

// Placeholder until the heuristic backend lands.
std::unique_ptr<Backend> MakeHeuristicBackend() { return nullptr; }

}  // namespace topoplace
