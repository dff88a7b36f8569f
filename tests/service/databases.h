// Test databases for the store and the service: a fresh embedded file or a fresh database on the
// throwaway server of scripts/pg-test.sh. Under CTest the server is a fixture shared by all cases
// (TOPOPLACE_TEST_PG_DIR); a test binary run by hand starts its own and stops it at exit. A server
// that cannot start fails the test: nothing is skipped for want of it.
#pragma once

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <stdexcept>
#include <string>

namespace topoplace::testing {

inline std::string SourceDirectory() {
  const char* dir = std::getenv("TOPOPLACE_SOURCE_DIR");
  return dir ? dir : TOPOPLACE_SOURCE_DIR_DEFAULT;
}

// Runs a shell command and returns what it printed (trailing newline cut); throws on failure.
inline std::string Shell(const std::string& cmd) {
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) throw std::runtime_error("cannot run: " + cmd);
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  const int rc = ::pclose(p);
  if (rc != 0) throw std::runtime_error("failed (" + std::to_string(rc) + "): " + cmd + "\n" + out);
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out;
}

inline std::string PgTestScript() { return SourceDirectory() + "/scripts/pg-test.sh"; }

// The directory of the running throwaway server, started on first use when none is given.
inline std::string PgServerDir() {
  static std::once_flag once;
  static std::string dir;
  std::call_once(once, [] {
    if (const char* d = std::getenv("TOPOPLACE_TEST_PG_DIR"); d && *d) {
      dir = d;
      Shell("'" + PgTestScript() + "' start '" + dir + "'");  // no-op when running
      return;
    }
    dir = "/tmp/topoplace-pg-" + std::to_string(::getpid());
    Shell("'" + PgTestScript() + "' start '" + dir + "'");
    std::atexit([] { std::system(("'" + PgTestScript() + "' stop '" + dir + "'").c_str()); });
  });
  return dir;
}

inline std::string NewPgDatabase() {
  return Shell("'" + PgTestScript() + "' createdb '" + PgServerDir() + "'");
}

inline std::string NewSqlitePath() {
  static std::atomic<int> counter{0};
  const auto dir =
      std::filesystem::temp_directory_path() / ("topoplace-svc-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  // A process id is reused over time: a name unique in time too, and no stale journal or WAL
  // beside it (an old WAL would be replayed into the new file).
  const auto stamp = std::chrono::steady_clock::now().time_since_epoch().count();
  const auto path =
      dir / ("store-" + std::to_string(counter++) + "-" + std::to_string(stamp) + ".db");
  for (const char* suffix : {"", "-wal", "-shm", "-journal"})
    std::filesystem::remove(path.string() + suffix);
  return path.string();
}

// "sqlite" or "postgresql" -> a fresh, empty store URL.
inline std::string NewStoreUrl(const std::string& kind) {
  return kind == "postgresql" ? NewPgDatabase() : NewSqlitePath();
}

// Runs SQL directly against a store, behind the service's back (for tampering tests).
inline std::string RunSql(const std::string& url, const std::string& sql) {
  if (url.rfind("postgresql://", 0) == 0) return Shell("psql '" + url + "' -qAtc \"" + sql + "\"");
  return Shell("sqlite3 '" + url + "' \"" + sql + "\"");
}

}  // namespace topoplace::testing
