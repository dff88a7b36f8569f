// Loading the executor settings file: every section read strictly through yaml_reader, errors
// collected with their positions and reported together in file order.
#include "inventory/executors_codec.h"

#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/yaml.h>

#include <array>
#include <vector>

#include "inventory/yaml_reader.h"

namespace topoplace {
namespace {

using yaml_reader::Diagnostics;
using yaml_reader::Field;
using yaml_reader::MapFields;
using yaml_reader::NumberRange;

constexpr std::string_view kApiVersion = "topoplace/v1";
constexpr std::string_view kRootKeys[] = {"apiVersion", "credentials", "drivers", "runner"};
constexpr std::string_view kCredentialKeys[] = {"username", "passwordFile", "passwordEnv",
                                                "password"};
constexpr std::string_view kRunnerKeys[] = {"attempts",           "backoffSeconds",
                                            "stepTimeoutSeconds", "bootTimeoutSeconds",
                                            "parallelism",        "replaceFailedNodes"};
constexpr std::string_view kLayers[] = {"bmc", "l2", "l3", "slurm", "cluster"};
constexpr std::string_view kFakeDriver = "fake";

// What a known option holds. The driver parses the text again; the kind only catches typos early.
enum class OptionKind { kText, kBool, kSeconds, kInteger };
struct OptionSpec {
  std::string_view key;
  OptionKind kind;
  NumberRange range{0, 0};  // kInteger only
};
struct DriverSpec {
  std::string_view layer;
  std::string_view driver;
  std::vector<OptionSpec> options;
};

const NumberRange kSeconds{0, 7 * 86400, /*min_exclusive=*/true};
const NumberRange kAttempts{1, 100};
const NumberRange kBackoff{0, 3600};
const NumberRange kParallelism{1, 4096};

const std::vector<DriverSpec>& Drivers() {
  static const std::vector<DriverSpec> kDrivers = {
      {"bmc",
       "ipmi",
       {{"cipherSuite", OptionKind::kInteger, {0, 17}},
        {"timeoutSeconds", OptionKind::kSeconds},
        {"ipmitool", OptionKind::kText},
        {"interface", OptionKind::kText}}},
      {"bmc",
       "redfish",
       {{"verifyTls", OptionKind::kBool},
        {"timeoutSeconds", OptionKind::kSeconds},
        {"caFile", OptionKind::kText}}},
      {"l2",
       "ovs",
       {{"ovsdb", OptionKind::kText},
        {"vsctl", OptionKind::kText},
        {"timeoutSeconds", OptionKind::kSeconds}}},
      {"l3",
       "dnsmasq",
       {{"stateDir", OptionKind::kText},
        {"switchNamespace", OptionKind::kText},
        {"bridge", OptionKind::kText},
        {"ovsdb", OptionKind::kText},
        {"bootFile", OptionKind::kText},
        {"tftpRoot", OptionKind::kText},
        {"leaseSeconds", OptionKind::kInteger, {60, 365 * 86400}},
        {"dnsmasq", OptionKind::kText}}},
      {"slurm",
       "slurm",
       {{"conf", OptionKind::kText},
        {"controllerNamespace", OptionKind::kText},
        {"bin", OptionKind::kText},
        {"timeoutSeconds", OptionKind::kSeconds},
        {"drainTimeoutSeconds", OptionKind::kSeconds},
        {"bridge", OptionKind::kText},
        {"ovsdb", OptionKind::kText},
        {"switchNamespace", OptionKind::kText}}},
      // `cluster:` names cluster drivers other than slurm (whose options sit under `slurm:`).
      {"cluster",
       "hcp-manifests",
       {{"applyDir", OptionKind::kText},
        {"releaseImage", OptionKind::kText},
        {"baseDomain", OptionKind::kText},
        {"namespace", OptionKind::kText},
        {"agentNamespace", OptionKind::kText},
        {"pullSecret", OptionKind::kText},
        {"sshKeySecret", OptionKind::kText},
        {"sshAuthorizedKey", OptionKind::kText},
        {"servicePublishing", OptionKind::kText},
        {"nodePortAddress", OptionKind::kText},
        {"clusterNetwork", OptionKind::kText},
        {"hostPrefix", OptionKind::kInteger, {1, 32}},
        {"serviceNetwork", OptionKind::kText},
        {"networkType", OptionKind::kText},
        {"nodeUpgradeType", OptionKind::kText}}},
  };
  return kDrivers;
}

const DriverSpec* FindDriver(std::string_view layer, std::string_view driver) {
  for (const DriverSpec& d : Drivers()) {
    if (d.layer == layer && d.driver == driver) return &d;
  }
  return nullptr;
}

std::vector<std::string_view> DriverNames(std::string_view layer) {
  std::vector<std::string_view> names;
  for (const DriverSpec& d : Drivers()) {
    if (d.layer == layer) names.push_back(d.driver);
  }
  names.push_back(kFakeDriver);
  return names;
}

class SettingsLoader {
 public:
  explicit SettingsLoader(std::string source) : diag_(std::move(source)) {}

  Result<ExecutorSettings> Load(std::string_view yaml) {
    try {
      const std::string text(yaml);
      if (!yaml_reader::CheckYamlText(diag_, text)) return Failed();
      if (std::optional<yaml_reader::SourcePos> second = yaml_reader::SecondDocumentStart(text)) {
        diag_.Error(*second, "", "a second YAML document", "one settings document per file");
      }
      ParseRoot(YAML::Load(text));
    } catch (const YAML::DeepRecursion& e) {
      diag_.Raw({e.mark.line + 1, e.mark.column + 1},
                "YAML syntax error: nested deeper than " + std::to_string(e.depth()) + " levels");
    } catch (const YAML::Exception& e) {
      const yaml_reader::SourcePos at =
          e.mark.is_null() ? yaml_reader::SourcePos{}
                           : yaml_reader::SourcePos{e.mark.line + 1, e.mark.column + 1};
      diag_.Raw(at, "YAML syntax error: " + yaml_reader::Printable(e.msg));
    }
    if (!diag_.empty()) return Failed();
    return std::move(settings_);
  }

 private:
  Status Failed() const {
    Status st(StatusCode::kInvalidArgument, diag_.Sorted());
    for (ErrorDetail& d : diag_.SortedDetails()) st.AddDetail(std::move(d));
    return st;
  }

  void ParseRoot(const YAML::Node& root) {
    if (!root.IsMap()) {
      diag_.Error(
          yaml_reader::PosOf(root), "",
          root.IsNull() ? "empty document" : "the document is " + yaml_reader::Describe(root),
          "a map starting with apiVersion: topoplace/v1");
      return;
    }
    MapFields m(diag_, Field{root, {1, 1}, ""}, kRootKeys,
                "a map of apiVersion, credentials, drivers, runner");
    if (const Field* f = m.Require("apiVersion", std::string(kApiVersion))) {
      if (!f->value.IsScalar() || f->value.Scalar() != kApiVersion) {
        diag_.Error(f->pos(), f->path, "unsupported apiVersion " + yaml_reader::Describe(f->value),
                    std::string(kApiVersion));
      }
    }
    if (const Field* f = m.Get("credentials")) ParseCredentials(*f);
    if (const Field* f = m.Get("drivers")) ParseDrivers(*f);
    if (const Field* f = m.Get("runner")) ParseRunner(*f);
  }

  void ParseCredentials(const Field& f) {
    MapFields m(diag_, f, {}, "a map of credential set names to {username, passwordFile}");
    for (const auto& [name, field] : m.entries()) {
      MapFields cm(diag_, field, kCredentialKeys,
                   "a credential set: a map with username and passwordFile or passwordEnv");
      if (!cm.is_map()) continue;
      CredentialRef ref;
      if (const Field* u = cm.Require("username", "a user name")) {
        if (auto v = yaml_reader::ReadString(diag_, *u, "a user name")) ref.username = *v;
      }
      if (const Field* p = cm.Get("password")) {
        diag_.Error(p->key_pos, p->path, "a password written in the settings file",
                    "passwordFile or passwordEnv (secrets come from a file or an environment "
                    "variable, never from this file)",
                    "secret_in_file");
      }
      const Field* file = cm.Get("passwordFile");
      const Field* env = cm.Get("passwordEnv");
      if (file) {
        if (auto v = yaml_reader::ReadString(diag_, *file, "a file path")) ref.password_file = *v;
      }
      if (env) {
        if (auto v = yaml_reader::ReadString(diag_, *env, "an environment variable name")) {
          ref.password_env = *v;
        }
      }
      if (file && env) {
        diag_.Error(env->key_pos, env->path, "both passwordFile and passwordEnv are given",
                    "exactly one password source");
      } else if (!file && !env && !cm.Get("password")) {
        diag_.Error(cm.pos(), field.path, "no password source", "passwordFile or passwordEnv",
                    "missing_field", yaml_reader::JoinPath(field.path, "passwordFile"));
      }
      settings_.credentials[name] = std::move(ref);
    }
  }

  void ParseDrivers(const Field& f) {
    MapFields m(diag_, f, kLayers, "a map of layers (bmc, l2, l3, slurm, cluster) to their drivers");
    for (const auto& [layer, field] : m.entries()) {
      if (layer == "slurm") {
        ParseSlurm(field);
        continue;
      }
      MapFields lm(diag_, field, {}, "a map of driver names to their options");
      if (!lm.is_map()) continue;
      for (const auto& [driver, options] : lm.entries()) {
        const DriverSpec* spec = FindDriver(layer, driver);
        if (spec == nullptr && driver != kFakeDriver) {
          const std::vector<std::string_view> names = DriverNames(layer);
          std::string what = "unknown " + layer + " driver";
          const std::string close = yaml_reader::ClosestName(driver, names);
          if (!close.empty()) what += " (did you mean \"" + close + "\"?)";
          diag_.Error(options.key_pos, options.path, what,
                      "one of " + yaml_reader::JoinNames(names));
          continue;
        }
        settings_.drivers[layer][driver] = ParseOptions(options, spec);
      }
    }
  }

  // `slurm:` holds the slurm driver's options, and optionally a fake driver.
  void ParseSlurm(const Field& f) {
    const DriverSpec* spec = FindDriver("slurm", "slurm");
    std::vector<std::string_view> keys;
    for (const OptionSpec& o : spec->options) keys.push_back(o.key);
    keys.push_back(kFakeDriver);
    MapFields m(diag_, f, keys, "a map of the slurm driver's options");
    if (!m.is_map()) return;
    DriverOptions options;
    for (const auto& [key, field] : m.entries()) {
      if (key == kFakeDriver) {
        settings_.drivers["slurm"]["fake"] = ParseOptions(field, nullptr);
        continue;
      }
      for (const OptionSpec& o : spec->options) {
        if (o.key == key) {
          if (auto v = ReadOption(field, o)) options[key] = *v;
        }
      }
    }
    if (!options.empty() || m.entries().empty()) settings_.drivers["slurm"]["slurm"] = options;
  }

  // A driver's options; `spec` null = the fake driver, whose options are free-form scalars.
  DriverOptions ParseOptions(const Field& f, const DriverSpec* spec) {
    std::vector<std::string_view> keys;
    if (spec) {
      for (const OptionSpec& o : spec->options) keys.push_back(o.key);
    }
    DriverOptions out;
    if (f.value.IsNull()) return out;  // `ipmi:` alone: the driver with its defaults
    MapFields m(diag_, f, keys, "a map of the driver's options");
    for (const auto& [key, field] : m.entries()) {
      if (spec == nullptr) {
        if (auto v = ReadText(field)) out[key] = *v;
        continue;
      }
      for (const OptionSpec& o : spec->options) {
        if (o.key == key) {
          if (auto v = ReadOption(field, o)) out[key] = *v;
        }
      }
    }
    return out;
  }

  std::optional<std::string> ReadText(const Field& f) {
    if (!f.value.IsScalar()) {
      diag_.Error(f.pos(), f.path, "got " + yaml_reader::Describe(f.value),
                  "a scalar (text, a number or a boolean)");
      return std::nullopt;
    }
    return f.value.Scalar();
  }

  std::optional<std::string> ReadOption(const Field& f, const OptionSpec& o) {
    switch (o.kind) {
      case OptionKind::kText: return ReadText(f);
      case OptionKind::kBool:
        if (auto b = yaml_reader::ReadBool(diag_, f)) return std::string(*b ? "true" : "false");
        return std::nullopt;
      case OptionKind::kSeconds:
        if (yaml_reader::ReadNumber(diag_, f, kSeconds)) return f.value.Scalar();
        return std::nullopt;
      case OptionKind::kInteger:
        if (auto v = yaml_reader::ReadInt(diag_, f, o.range)) return std::to_string(*v);
        return std::nullopt;
    }
    return std::nullopt;
  }

  void ParseRunner(const Field& f) {
    MapFields m(diag_, f, kRunnerKeys, "a map of the runner's limits");
    if (!m.is_map()) return;
    RunnerSettings& r = settings_.runner;
    if (const Field* v = m.Get("attempts")) {
      if (auto n = yaml_reader::ReadInt(diag_, *v, kAttempts)) r.attempts = static_cast<int>(*n);
    }
    if (const Field* v = m.Get("backoffSeconds")) {
      if (auto n = yaml_reader::ReadNumber(diag_, *v, kBackoff)) r.backoff_seconds = *n;
    }
    if (const Field* v = m.Get("stepTimeoutSeconds")) {
      if (auto n = yaml_reader::ReadNumber(diag_, *v, kSeconds)) r.step_timeout_seconds = *n;
    }
    if (const Field* v = m.Get("bootTimeoutSeconds")) {
      if (auto n = yaml_reader::ReadNumber(diag_, *v, kSeconds)) r.boot_timeout_seconds = *n;
    }
    if (const Field* v = m.Get("parallelism")) {
      if (auto n = yaml_reader::ReadInt(diag_, *v, kParallelism)) {
        r.parallelism = static_cast<int>(*n);
      }
    }
    if (const Field* v = m.Get("replaceFailedNodes")) {
      if (auto b = yaml_reader::ReadBool(diag_, *v)) r.replace_failed_nodes = *b;
    }
  }

  Diagnostics diag_;
  ExecutorSettings settings_;
};

}  // namespace

Result<ExecutorSettings> LoadExecutorSettingsString(std::string_view yaml,
                                                    std::string_view source_name) {
  try {
    SettingsLoader loader{std::string(source_name)};
    return loader.Load(yaml);
  } catch (const std::bad_alloc&) {
    return WithReason(StatusCode::kInternal, "out_of_memory",
                      std::string(source_name) + ": out of memory while loading");
  } catch (const std::exception& e) {
    return InternalError(std::string(source_name) +
                         ": unexpected error while loading: " + e.what());
  }
}

Status CheckCredentialRefs(const Inventory& inventory, const ExecutorSettings& settings) {
  std::vector<std::string> messages;
  for (const Node& node : inventory.nodes) {
    if (!node.bmc || node.bmc->credentials.empty()) continue;
    if (settings.credentials.count(node.bmc->credentials)) continue;
    messages.push_back("node \"" + yaml_reader::Printable(node.name) +
                       "\": its BMC names credential set \"" +
                       yaml_reader::Printable(node.bmc->credentials) +
                       "\", which the executor settings do not define; expected one of their "
                       "credentials");
  }
  if (messages.empty()) return Status::Ok();
  Status st(StatusCode::kInvalidArgument, std::move(messages));
  st.SetReason("unknown_credentials");
  return st;
}

Result<ExecutorSettings> LoadExecutorSettings(const std::string& path) {
  Result<std::string> text = yaml_reader::ReadBoundedFile(path, "executor settings");
  if (!text.ok()) return text.status();
  return LoadExecutorSettingsString(*text, path);
}

}  // namespace topoplace
