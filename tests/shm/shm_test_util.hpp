#pragma once

// Helpers for tests that fork processes around shm:// channels: memory shared with the children,
// children killed and reaped when a failed assertion leaves a test early, and waiting on a flag.

#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <new>
#include <thread>

#include "../channel/channel_test_util.hpp"

namespace test {

/// A T in memory shared with the children forked after it (an anonymous shared mapping).
template <class T>
class shared_block {
 public:
  shared_block() {
    void* p = ::mmap(nullptr, sizeof(T), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    REQUIRE(p != MAP_FAILED);
    value_ = new (p) T{};
  }
  ~shared_block() {
    value_->~T();
    ::munmap(value_, sizeof(T));
  }
  shared_block(const shared_block&) = delete;
  shared_block& operator=(const shared_block&) = delete;
  T* operator->() const { return value_; }
  T& operator*() const { return *value_; }
  T* get() const { return value_; }

 private:
  T* value_ = nullptr;
};

/// Kills and reaps a child when a failed assertion leaves the test early.
struct child_guard {
  pid_t pid = 0;
  ~child_guard() {
    if (pid <= 0) return;
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
  }
  /// wait_child(), after which the guard has nothing left to do.
  int wait(std::chrono::milliseconds timeout) {
    int code = wait_child(pid, timeout);
    pid = 0;
    return code;
  }
};

/// Spins (with short sleeps) until `flag` is set or `timeout` passes.
inline bool await_flag(const std::atomic<int>& flag, std::chrono::milliseconds timeout) {
  auto until = std::chrono::steady_clock::now() + timeout;
  while (flag.load() == 0) {
    if (std::chrono::steady_clock::now() >= until) return false;
    std::this_thread::sleep_for(std::chrono::microseconds(100));
  }
  return true;
}

}  // namespace test
