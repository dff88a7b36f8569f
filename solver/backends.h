// Private to solver/: factories of the built-in backends, called by RegisterBuiltinBackends().
#pragma once

#include <cstddef>
#include <memory>

#include "solver/backend.h"

namespace topoplace {

std::unique_ptr<Backend> MakeHeuristicBackend();
// When the "ilp" backend solves a `nodes` request domain set by domain set (ilp_backend.cc): over
// more than `split_groups` groups of interchangeable candidates, starting with the
// `first_domains` most promising first-level domains. Tests set split_groups to 0 (always) and
// to SIZE_MAX (never) to hold both paths to the same answers.
struct IlpTuning {
  size_t split_groups = 16;
  size_t first_domains = 32;
};
std::unique_ptr<Backend> MakeIlpBackend(const IlpTuning& tuning = {});

}  // namespace topoplace
