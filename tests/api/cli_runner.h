// Runs the real topoplace executable as a process, as a user would, and captures what it prints.
#pragma once

#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <unistd.h>

namespace topoplace::testing {

struct CliRun {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// $NAME when set, else the value compiled in by tests/CMakeLists.txt.
inline std::string EnvOr(const char* name, const char* fallback) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? value : fallback;
}

inline std::string SourceDir() { return EnvOr("TOPOPLACE_SOURCE_DIR", TOPOPLACE_SOURCE_DIR_DEFAULT); }

inline std::string ReadFile(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// `args` is appended to the binary path verbatim (shell syntax, quoted by the caller).
inline CliRun RunTopoplace(const std::string& args) {
  const std::string bin = EnvOr("TOPOPLACE_BIN", TOPOPLACE_BIN_DEFAULT);
  const auto dir = std::filesystem::temp_directory_path() /
                   ("topoplace-cli-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto out = dir / "out", err = dir / "err";
  const std::string cmd = std::string("cd '") + SourceDir() + "' && '" + bin +
                          "' " + args + " >'" + out.string() + "' 2>'" + err.string() + "'";
  const int raw = std::system(cmd.c_str());
  CliRun run;
  run.exit_code = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
  run.out = ReadFile(out);
  run.err = ReadFile(err);
  return run;
}

}  // namespace topoplace::testing
