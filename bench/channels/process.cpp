#include "process.hpp"

#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <filesystem>
#include <stdexcept>
#include <string>

namespace brine::bench {
namespace {

// Threads of this process, from /proc; 0 if unknown.
std::size_t thread_count() {
  std::error_code ec;
  std::size_t n = 0;
  for (std::filesystem::directory_iterator it("/proc/self/task", ec), end; !ec && it != end;
       it.increment(ec))
    ++n;
  return ec ? 0 : n;
}

void on_alarm(int) {
  constexpr char text[] = "brine-bench-channels: a run took too long (a peer process is stuck)\n";
  (void)!::write(STDERR_FILENO, text, sizeof text - 1);
  ::_exit(3);
}

// Both ends write a byte, then wait for the other's.
void meet(int fd) {
  char c = 1;
  if (::write(fd, &c, 1) != 1) throw std::runtime_error("rendezvous: the peer process is gone");
  ssize_t n;
  do {
    n = ::read(fd, &c, 1);
  } while (n < 0 && errno == EINTR);
  if (n != 1) throw std::runtime_error("rendezvous: the peer process is gone");
}

}  // namespace

void run_pair(const std::function<void(const rendezvous_fn&)>& child,
              const std::function<void(const rendezvous_fn&)>& parent, unsigned limit_seconds) {
  if (std::size_t n = thread_count(); n > 1)
    throw std::runtime_error("run_pair: this process has " + std::to_string(n) +
                             " threads; forking it would leave their locks held in the child");
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0)
    throw std::runtime_error(std::string("socketpair: ") + std::strerror(errno));
  // What stdio has buffered would otherwise be written twice.
  std::fflush(stdout);
  std::fflush(stderr);
  pid_t parent_pid = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) {
    ::close(fds[0]);
    ::close(fds[1]);
    throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
  }
  if (pid == 0) {
    ::close(fds[0]);
    // Die with the parent rather than wait forever for messages it will not send.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent_pid) ::_exit(4);
    int rc = 0;
    try {
      child([fd = fds[1]] { meet(fd); });
    } catch (const std::exception& e) {
      std::fprintf(stderr, "brine-bench-channels (peer process): %s\n", e.what());
      rc = 1;
    }
    std::fflush(stderr);
    ::_exit(rc);
  }
  ::close(fds[1]);
  std::signal(SIGALRM, on_alarm);
  ::alarm(limit_seconds);
  try {
    parent([fd = fds[0]] { meet(fd); });
  } catch (...) {
    ::alarm(0);
    ::close(fds[0]);
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    throw;
  }
  ::close(fds[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  ::alarm(0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    throw std::runtime_error("the peer process failed (status " + std::to_string(status) + ")");
}

std::string fresh_ipc_url(const char* tag) {
  static unsigned counter = 0;
  std::filesystem::path dir = std::filesystem::temp_directory_path();
  std::string name = "brine-bench-channels." + std::to_string(::getpid()) + "." +
                     std::to_string(counter++) + "." + tag;
  return "ipc://" + (dir / name).string();
}

void remove_ipc_url(const std::string& url) noexcept {
  constexpr std::string_view scheme = "ipc://";
  if (url.rfind(scheme, 0) != 0) return;
  std::error_code ec;
  std::filesystem::remove(url.substr(scheme.size()), ec);
}

}  // namespace brine::bench
