#include "executors/drivers.h"

#include <cstdlib>
#include <fstream>

namespace topoplace {
namespace {

template <typename Map, typename Options>
auto Make(const Map& factories, const char* layer, const std::string& name,
          const Options& options) -> decltype(factories.begin()->second(options)) {
  auto it = factories.find(name);
  if (it == factories.end()) {
    std::string known;
    for (const auto& [n, f] : factories) known += (known.empty() ? "" : ", ") + n;
    return InvalidArgumentError(std::string("unknown ") + layer + " driver \"" + name +
                                "\"; expected one of " + (known.empty() ? "(none)" : known));
  }
  return it->second(options);
}

template <typename Map>
void AppendNames(const Map& m, std::vector<std::string>& out) {
  for (const auto& [n, f] : m) out.push_back(n);
}

}  // namespace

Result<std::unique_ptr<BmcDriver>> DriverRegistry::MakeBmc(const std::string& name,
                                                           const DriverOptions& options) const {
  return Make(bmc_, "bmc", name, options);
}
Result<std::unique_ptr<L2Driver>> DriverRegistry::MakeL2(const std::string& name,
                                                         const DriverOptions& options) const {
  return Make(l2_, "l2", name, options);
}
Result<std::unique_ptr<L3Driver>> DriverRegistry::MakeL3(const std::string& name,
                                                         const DriverOptions& options) const {
  return Make(l3_, "l3", name, options);
}

Result<std::unique_ptr<ClusterDriver>> DriverRegistry::MakeCluster(
    const std::string& name, const DriverOptions& options) const {
  return Make(cluster_, "cluster", name, options);
}

std::vector<std::string> DriverRegistry::Names(const std::string& layer) const {
  std::vector<std::string> out;
  if (layer == "bmc") AppendNames(bmc_, out);
  if (layer == "l2") AppendNames(l2_, out);
  if (layer == "l3") AppendNames(l3_, out);
  if (layer == "cluster") AppendNames(cluster_, out);
  return out;
}

Result<Credentials> ResolveCredentials(const ExecutorSettings& settings, const std::string& name) {
  auto it = settings.credentials.find(name);
  if (it == settings.credentials.end()) {
    return NotFoundError("credential set \"" + name + "\" is not in the executor settings");
  }
  const CredentialRef& ref = it->second;
  Credentials c;
  c.username = ref.username;
  if (!ref.password_file.empty()) {
    std::ifstream in(ref.password_file);
    if (!in || !std::getline(in, c.password)) {
      return FailedPreconditionError("credential set \"" + name + "\": cannot read passwordFile " +
                                     ref.password_file);
    }
    if (!c.password.empty() && c.password.back() == '\r') c.password.pop_back();
  } else if (!ref.password_env.empty()) {
    const char* v = std::getenv(ref.password_env.c_str());
    if (v == nullptr) {
      return FailedPreconditionError("credential set \"" + name + "\": environment variable " +
                                     ref.password_env + " is not set");
    }
    c.password = v;
  }
  return c;
}

}  // namespace topoplace
