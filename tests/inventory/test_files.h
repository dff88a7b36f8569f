// Paths, file reading and loaded example scenarios shared by the inventory tests.
#pragma once

#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include "inventory/scenario_codec.h"

namespace topoplace::testing_files {

// The source tree: $TOPOPLACE_SOURCE_DIR when set (ctest), else the one this binary was built from.
inline std::string SourceDir() {
  const char* env = std::getenv("TOPOPLACE_SOURCE_DIR");
  return env != nullptr && *env != '\0' ? std::string(env)
                                        : std::string(TOPOPLACE_SOURCE_DIR_DEFAULT);
}

inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// scenarios/FILE loaded once per test binary: the 100,000-node one takes seconds in a debug build.
inline const Result<Scenario>& ExampleScenario(const std::string& file) {
  static std::map<std::string, Result<Scenario>> loaded;
  auto it = loaded.find(file);
  if (it == loaded.end()) {
    it = loaded.emplace(file, LoadScenarioFile(SourceDir() + "/scenarios/" + file)).first;
  }
  return it->second;
}

}  // namespace topoplace::testing_files
