#include "solver/backends.h"

namespace topoplace {

// Placeholder until the GLPK backend lands.
std::unique_ptr<Backend> MakeIlpBackend() { return nullptr; }

}  // namespace topoplace
