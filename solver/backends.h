// Private to solver/: factories of the built-in backends, called by RegisterBuiltinBackends().
#pragma once

#include <memory>

#include "solver/backend.h"

namespace topoplace {

std::unique_ptr<Backend> MakeHeuristicBackend();
std::unique_ptr<Backend> MakeIlpBackend();

}  // namespace topoplace
