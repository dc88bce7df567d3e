#pragma once

// Helpers for channel tests: unique addresses, and child processes that report failures.

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <exception>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>

#include "brine/channel.hpp"
#include "brine/transport.hpp"

namespace test {

/// An ipc:// URL no other test (or test run) uses; ZeroMQ removes the file on close.
inline std::string ipc_url(const std::string& name) {
  static std::atomic<int> counter{0};
  return "ipc:///tmp/brine-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++) +
         "-" + name + ".sock";
}

/// A tcp:// URL on 127.0.0.1 with a port the kernel just chose as free, for tests that must know
/// the address before anything binds it (children are started before the parent binds).
inline std::string tcp_url() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw std::runtime_error("tcp_url: socket failed");
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
            ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0;
  ::close(fd);
  if (!ok) throw std::runtime_error("tcp_url: no free port");
  return "tcp://127.0.0.1:" + std::to_string(ntohs(a.sin_port));
}

/// An inproc:// URL unique in this process.
inline std::string inproc_url(const std::string& name) {
  static std::atomic<int> counter{0};
  return "inproc://brine-test-" + std::to_string(counter++) + "-" + name;
}

/// True when a fork must happen with no other thread running (see spawn).
#if defined(__SANITIZE_ADDRESS__)
inline constexpr bool fork_needs_one_thread = true;
#else
inline constexpr bool fork_needs_one_thread = false;
#endif

/// The number of threads this process runs.
inline int thread_count() {
  int n = 0;
  if (DIR* d = ::opendir("/proc/self/task")) {
    while (dirent* e = ::readdir(d))
      if (e->d_name[0] != '.') ++n;
    ::closedir(d);
  }
  return n;
}

/// Runs `fn` in a child process. The child exits 0 when `fn` returns, 1 when it throws (after
/// printing the exception), and never runs the parent's remaining tests or exit handlers.
///
/// Under AddressSanitizer the parent must run no other thread when it forks: GCC 12's sanitizer
/// allocator takes no lock across fork(), so a child can inherit an allocator lock that another
/// thread held and hang on its first allocation. Tests therefore start their children before they
/// open channels in the parent (brine::shutdown() ends the ZeroMQ threads once nothing uses them).
template <class Fn>
pid_t spawn(Fn fn) {
  brine::shutdown();
  if (int n = thread_count(); fork_needs_one_thread && n != 1)
    throw std::logic_error("test::spawn: " + std::to_string(n) +
                           " threads run; fork only from a single-threaded test process");
  std::fflush(nullptr);
  pid_t pid = ::fork();
  if (pid != 0) return pid;
  int code = 0;
  try {
    fn();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "child %d: %s\n", ::getpid(), e.what());
    code = 1;
  } catch (...) {
    code = 1;
  }
  brine::shutdown();
  std::fflush(nullptr);
  ::_exit(code);
}

/// A one-shot signal from a parent to the children it forked before opening its own side: a child
/// calls wait(), the parent open()s once it is ready. Nobody reads the pipe, so every child sees
/// it.
class gate {
 public:
  gate() {
    if (::pipe2(fds_, O_CLOEXEC) != 0) throw std::runtime_error("gate: pipe2 failed");
  }
  ~gate() {
    ::close(fds_[0]);
    ::close(fds_[1]);
  }
  gate(const gate&) = delete;
  gate& operator=(const gate&) = delete;

  void open() {
    char c = 1;
    if (::write(fds_[1], &c, 1) != 1) throw std::runtime_error("gate: write failed");
  }
  /// True once the gate is open; false after `timeout`.
  bool wait(std::chrono::milliseconds timeout = std::chrono::seconds(30)) const {
    pollfd p{fds_[0], POLLIN, 0};
    return ::poll(&p, 1, static_cast<int>(timeout.count())) == 1;
  }

 private:
  int fds_[2];
};

/// Waits for a child up to `timeout`, killing it if it runs longer; returns its exit code,
/// 128 + signal if a signal ended it, or -1 on timeout.
inline int wait_child(pid_t pid, std::chrono::milliseconds timeout = std::chrono::seconds(60)) {
  auto until = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    int status = 0;
    pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) {
      if (WIFEXITED(status)) return WEXITSTATUS(status);
      if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
    }
    if (r < 0) return -2;
    if (std::chrono::steady_clock::now() >= until) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      return -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

/// Receives until end of stream, passing each value to `fn`. Returns false if a message or the
/// end took longer than `patience`: the end must come, never a hang.
template <class T, class Fn>
bool drain(brine::receiver<T>& rx, Fn fn,
           std::chrono::milliseconds patience = std::chrono::seconds(20)) {
  for (;;) {
    std::optional<T> v;
    try {
      v = rx.recv_for(patience);
    } catch (const brine::channel_closed&) {
      return true;
    }
    if (!v) return false;
    fn(*v);
  }
}

}  // namespace test
