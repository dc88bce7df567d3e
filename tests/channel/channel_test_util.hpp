#pragma once

// Helpers for channel tests: unique addresses, and child processes that report failures.

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <exception>
#include <optional>
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

/// An inproc:// URL unique in this process.
inline std::string inproc_url(const std::string& name) {
  static std::atomic<int> counter{0};
  return "inproc://brine-test-" + std::to_string(counter++) + "-" + name;
}

/// Runs `fn` in a child process. The child exits 0 when `fn` returns, 1 when it throws (after
/// printing the exception), and never runs the parent's remaining tests or exit handlers.
template <class Fn>
pid_t spawn(Fn fn) {
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
