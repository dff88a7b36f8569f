// The backend registry: explicit registration by name, no static-initialisation tricks.
#include <utility>

#include "solver/backend.h"
#include "solver/backends.h"

namespace topoplace {

void BackendRegistry::Register(std::unique_ptr<Backend> backend) {
  if (backend == nullptr) return;
  // A later registration under the same name replaces the earlier one.
  for (auto& existing : backends_) {
    if (existing->name() == backend->name()) {
      existing = std::move(backend);
      return;
    }
  }
  backends_.push_back(std::move(backend));
}

const Backend* BackendRegistry::Find(std::string_view name) const {
  for (const auto& backend : backends_) {
    if (backend->name() == name) return backend.get();
  }
  return nullptr;
}

std::vector<std::string> BackendRegistry::Names() const {
  std::vector<std::string> names;
  names.reserve(backends_.size());
  for (const auto& backend : backends_) names.emplace_back(backend->name());
  return names;
}

std::vector<std::string> BackendRegistry::Choices() const {
  std::vector<std::string> choices = Names();
  choices.emplace_back(kAutoBackend);
  return choices;
}

std::vector<const Backend*> BackendRegistry::All() const {
  std::vector<const Backend*> all;
  all.reserve(backends_.size());
  for (const auto& backend : backends_) all.push_back(backend.get());
  return all;
}

void RegisterBuiltinBackends(BackendRegistry& registry) {
  // A factory returns null while its backend is not built in; Register() skips it.
  registry.Register(MakeHeuristicBackend());
  registry.Register(MakeIlpBackend());
}

const BackendRegistry& BuiltinBackends() {
  // Function-local static: built on first use, thread-safe, and never destroyed so backends stay
  // valid during static destruction of callers.
  static const BackendRegistry* const registry = [] {
    auto* r = new BackendRegistry();
    RegisterBuiltinBackends(*r);
    return r;
  }();
  return *registry;
}

}  // namespace topoplace
