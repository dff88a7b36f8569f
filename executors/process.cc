#include "executors/process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <string_view>

extern char** environ;

namespace topoplace {
namespace {

constexpr size_t kMaxCaptured = size_t{1} << 20;

struct Pipe {
  int fd[2] = {-1, -1};
  ~Pipe() {
    for (int f : fd) {
      if (f >= 0) close(f);
    }
  }
  void CloseEnd(int i) {
    if (fd[i] >= 0) close(fd[i]);
    fd[i] = -1;
  }
};

// The argument vector and environment as the C arrays a spawn takes, built before it: the new
// process must not allocate between its creation and its exec (another thread of ours may hold
// the allocator's lock at that moment, and the child would wait for it forever).
struct SpawnArrays {
  std::vector<std::string> env_text;
  std::vector<char*> argv, envp;
  SpawnArrays(const std::vector<std::string>& args, const std::map<std::string, std::string>& env) {
    for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
      std::string_view entry(*e);
      std::string_view key = entry.substr(0, entry.find('='));
      if (env.count(std::string(key))) continue;  // replaced below
      env_text.emplace_back(entry);
    }
    for (const auto& [k, v] : env) env_text.push_back(k + "=" + v);
    for (std::string& e : env_text) envp.push_back(e.data());
    envp.push_back(nullptr);
  }
};

// Starts argv[0] (searched on PATH) with stdin, stdout and stderr on the given descriptors, in a
// process group of its own (`new_session`: a session of its own). Returns its PID or the error.
Result<pid_t> Spawn(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env,
                    int in, int out, int err, bool new_session) {
  SpawnArrays arrays(argv, env);
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
  posix_spawn_file_actions_init(&actions);
  posix_spawnattr_init(&attr);
  posix_spawn_file_actions_adddup2(&actions, in, STDIN_FILENO);
  posix_spawn_file_actions_adddup2(&actions, out, STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, err, STDERR_FILENO);
  short flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;
  if (new_session) {
    flags |= POSIX_SPAWN_SETSID;
  } else {
    flags |= POSIX_SPAWN_SETPGROUP;
    posix_spawnattr_setpgroup(&attr, 0);
  }
  posix_spawnattr_setflags(&attr, flags);
  sigset_t none, reset;
  sigemptyset(&none);
  sigemptyset(&reset);
  for (int sig : {SIGPIPE, SIGTERM, SIGINT, SIGHUP, SIGCHLD}) sigaddset(&reset, sig);
  posix_spawnattr_setsigmask(&attr, &none);  // the server blocks SIGTERM in its own threads
  posix_spawnattr_setsigdefault(&attr, &reset);
  pid_t pid = -1;
  const int rc = posix_spawnp(&pid, arrays.argv[0], &actions, &attr, arrays.argv.data(),
                              arrays.envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) {
    return UnavailableError("cannot run " + argv[0] + ": " + std::strerror(rc));
  }
  return pid;
}

}  // namespace

Result<ProcessResult> RunProcess(const std::vector<std::string>& argv,
                                 const ProcessOptions& options) {
  if (argv.empty()) return InvalidArgumentError("no program to run");
  Pipe in, out, err;
  if (pipe2(in.fd, O_CLOEXEC) != 0 || pipe2(out.fd, O_CLOEXEC) != 0 ||
      pipe2(err.fd, O_CLOEXEC) != 0) {
    return InternalError(std::string("pipe: ") + std::strerror(errno));
  }
  Result<pid_t> spawned = Spawn(argv, options.env, in.fd[0], out.fd[1], err.fd[1], false);
  if (!spawned.ok()) return spawned.status();
  const pid_t pid = *spawned;
  in.CloseEnd(0);
  out.CloseEnd(1);
  err.CloseEnd(1);
  // Feed stdin (small texts only), then close it.
  if (!options.stdin_text.empty()) {
    size_t off = 0;
    while (off < options.stdin_text.size()) {
      ssize_t n = write(in.fd[1], options.stdin_text.data() + off, options.stdin_text.size() - off);
      if (n <= 0) break;
      off += static_cast<size_t>(n);
    }
  }
  in.CloseEnd(1);

  ProcessResult result;
  auto deadline = std::chrono::steady_clock::now() +
                  std::chrono::milliseconds(static_cast<int64_t>(options.timeout_seconds * 1000));
  bool out_open = true, err_open = true, timed_out = false;
  char buf[8192];
  while (out_open || err_open) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                    deadline - std::chrono::steady_clock::now())
                    .count();
    if (left <= 0) {
      timed_out = true;
      break;
    }
    pollfd fds[2];
    int n = 0;
    if (out_open) fds[n++] = {out.fd[0], POLLIN, 0};
    if (err_open) fds[n++] = {err.fd[0], POLLIN, 0};
    int r = poll(fds, n, static_cast<int>(left));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) continue;
    for (int i = 0; i < n; ++i) {
      if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      ssize_t k = read(fds[i].fd, buf, sizeof buf);
      bool is_out = fds[i].fd == out.fd[0];
      if (k <= 0) {
        (is_out ? out_open : err_open) = false;
        continue;
      }
      std::string& dst = is_out ? result.out : result.err;
      if (dst.size() < kMaxCaptured) dst.append(buf, std::min(static_cast<size_t>(k), kMaxCaptured - dst.size()));
    }
  }
  int status = 0;
  if (timed_out) {
    kill(-pid, SIGKILL);
    waitpid(pid, &status, 0);
    return DeadlineExceededError(argv[0] + " did not finish within " +
                                    std::to_string(options.timeout_seconds) + " s");
  }
  // Output closed; the process may still be running (it closed its ends): wait within the deadline.
  while (true) {
    pid_t w = waitpid(pid, &status, WNOHANG);
    if (w == pid) break;
    if (std::chrono::steady_clock::now() >= deadline) {
      kill(-pid, SIGKILL);
      waitpid(pid, &status, 0);
      return DeadlineExceededError(argv[0] + " did not exit within " +
                                      std::to_string(options.timeout_seconds) + " s");
    }
    usleep(2000);
  }
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

std::string FirstLine(const ProcessResult& r) {
  const std::string& s = r.err.find_first_not_of(" \t\r\n") != std::string::npos ? r.err : r.out;
  size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "exit code " + std::to_string(r.exit_code);
  size_t e = s.find('\n', b);
  std::string line = s.substr(b, e == std::string::npos ? std::string::npos : e - b);
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
  if (line.size() > 300) line.resize(300);
  return line;
}

Result<int> SpawnDaemon(const std::vector<std::string>& argv, const std::string& log_file) {
  if (argv.empty()) return InvalidArgumentError("no program to run");
  int log = open(log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (log < 0) return InternalError("cannot open " + log_file + ": " + std::strerror(errno));
  int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
  Result<pid_t> pid = Spawn(argv, {}, devnull, log, log, true);
  close(log);
  if (devnull >= 0) close(devnull);
  if (!pid.ok()) return pid.status();
  return static_cast<int>(*pid);
}

}  // namespace topoplace
