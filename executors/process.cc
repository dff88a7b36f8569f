#include "executors/process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

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

// Child side of a fork: wires the pipes and execs. Only async-signal-safe calls.
[[noreturn]] void ExecChild(const std::vector<std::string>& argv,
                            const std::map<std::string, std::string>& env, int in, int out,
                            int err) {
  setpgid(0, 0);
  dup2(in, STDIN_FILENO);
  dup2(out, STDOUT_FILENO);
  dup2(err, STDERR_FILENO);
  for (const auto& [k, v] : env) setenv(k.c_str(), v.c_str(), 1);
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  execvp(args[0], args.data());
  _exit(127);
}

}  // namespace

Result<ProcessResult> RunProcess(const std::vector<std::string>& argv,
                                 const ProcessOptions& options) {
  if (argv.empty()) return InvalidArgumentError("no program to run");
  Pipe in, out, err, exec_check;
  if (pipe2(in.fd, O_CLOEXEC) != 0 || pipe2(out.fd, O_CLOEXEC) != 0 ||
      pipe2(err.fd, O_CLOEXEC) != 0 || pipe2(exec_check.fd, O_CLOEXEC) != 0) {
    return InternalError(std::string("pipe: ") + std::strerror(errno));
  }
  pid_t pid = fork();
  if (pid < 0) return InternalError(std::string("fork: ") + std::strerror(errno));
  if (pid == 0) {
    // exec_check's write end is close-on-exec: the parent reads EOF when exec succeeds, a byte
    // when it failed.
    setpgid(0, 0);
    dup2(in.fd[0], STDIN_FILENO);
    dup2(out.fd[1], STDOUT_FILENO);
    dup2(err.fd[1], STDERR_FILENO);
    for (const auto& [k, v] : options.env) setenv(k.c_str(), v.c_str(), 1);
    std::vector<char*> args;
    for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execvp(args[0], args.data());
    char byte = 1;
    ssize_t ignored = write(exec_check.fd[1], &byte, 1);
    (void)ignored;
    _exit(127);
  }
  setpgid(pid, pid);
  in.CloseEnd(0);
  out.CloseEnd(1);
  err.CloseEnd(1);
  exec_check.CloseEnd(1);
  char byte = 0;
  ssize_t got;
  do {
    got = read(exec_check.fd[0], &byte, 1);
  } while (got < 0 && errno == EINTR);
  if (got == 1) {
    int status = 0;
    waitpid(pid, &status, 0);
    return UnavailableError("cannot run " + argv[0] + ": not installed or not executable");
  }
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
  pid_t pid = fork();
  if (pid < 0) {
    close(log);
    if (devnull >= 0) close(devnull);
    return InternalError(std::string("fork: ") + std::strerror(errno));
  }
  if (pid == 0) {
    setsid();
    ExecChild(argv, {}, devnull, log, log);
  }
  close(log);
  if (devnull >= 0) close(devnull);
  return static_cast<int>(pid);
}

}  // namespace topoplace
