#include "pair.hpp"

#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <exception>
#include <filesystem>
#include <new>
#include <stdexcept>
#include <string>
#include <system_error>

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

// Written before the alarm is armed: the handler may only write(2) and _exit(2).
char alarm_text[256];
std::size_t alarm_text_size = 0;

void on_alarm(int) {
  (void)!::write(STDERR_FILENO, alarm_text, alarm_text_size);
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

bool starts_with(const std::string& s, const std::string& prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

std::size_t remove_in(const std::filesystem::path& dir, const std::string& a,
                      const std::string& b) noexcept {
  std::size_t removed = 0;
  std::error_code ec;
  for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    std::string file = it->path().filename().string();
    if (!starts_with(file, a) && !starts_with(file, b)) continue;
    std::error_code rm;
    if (std::filesystem::remove(it->path(), rm)) ++removed;
  }
  return removed;
}

}  // namespace

shared_area::shared_area(std::size_t bytes) : size_(std::max<std::size_t>(bytes, 64)) {
  void* p = ::mmap(nullptr, size_, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED)
    throw std::runtime_error("mmap of " + std::to_string(size_) +
                             " bytes: " + std::strerror(errno));
  base_ = static_cast<std::byte*>(p);
}

shared_area::~shared_area() { ::munmap(base_, size_); }

void run_pair(const std::string& name, std::span<std::byte> area, const side_fn& child,
              const side_fn& parent, unsigned limit_seconds) {
  if (std::size_t n = thread_count(); n > 1)
    throw std::runtime_error("run_pair: this process has " + std::to_string(n) +
                             " threads; forking it would leave their locks held in the child");
  shared_area control_area(sizeof(run_control));
  auto* control = new (control_area.bytes().data()) run_control;
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
      child(run_context{name, area, control, [fd = fds[1]] { meet(fd); }});
    } catch (const std::exception& e) {
      std::fprintf(stderr, "brine-bench-shm (peer process): %s\n", e.what());
      rc = 1;
    }
    std::fflush(stderr);
    ::_exit(rc);
  }
  ::close(fds[1]);
  int len = std::snprintf(alarm_text, sizeof alarm_text,
                          "brine-bench-shm: run %s took too long (a peer is stuck); remove "
                          "/dev/shm/*%s.* if any remain\n",
                          name.c_str(), name.c_str());
  alarm_text_size =
      len > 0 ? std::min<std::size_t>(static_cast<std::size_t>(len), sizeof alarm_text - 1) : 0;
  std::signal(SIGALRM, on_alarm);
  ::alarm(limit_seconds);
  try {
    parent(run_context{name, area, control, [fd = fds[0]] { meet(fd); }});
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

std::string process_run_prefix() { return "brine-bench-shm." + std::to_string(::getpid()); }

std::string fresh_run_name() {
  static unsigned counter = 0;
  return process_run_prefix() + "." + std::to_string(counter++);
}

std::size_t remove_objects_of(const std::string& name) noexcept {
  std::string own = name + ".";
  std::string brines = "brine." + std::to_string(::geteuid()) + "." + own;
  std::error_code ec;
  std::filesystem::path tmp = std::filesystem::temp_directory_path(ec);
  std::size_t removed = remove_in("/dev/shm", own, brines);
  if (!ec) removed += remove_in(tmp, own, own);
  return removed;
}

}  // namespace brine::bench
