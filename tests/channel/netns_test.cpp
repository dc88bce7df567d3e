// A pipeline between two network namespaces joined by a veth pair: tcp:// across a real (if
// virtual) link, not loopback. Needs root and iproute2; otherwise it warns and does nothing.

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "brine/channel.hpp"
#include "channel_test_util.hpp"

using namespace std::chrono_literals;

namespace {

struct sample {
  std::uint64_t id = 0;
  std::string label;
  std::vector<std::uint32_t> values;
};

sample make_sample(std::uint64_t id) {
  sample s{id, "sample-" + std::to_string(id), {}};
  // Every 500th sample is large enough to leave by pointer (over 64 KiB).
  std::size_t n = id % 500 == 0 ? 20'000 : id % 50;
  for (std::size_t i = 0; i < n; ++i)
    s.values.push_back(static_cast<std::uint32_t>(id * 2654435761u + i));
  return s;
}

// FNV-1a over everything in a sample, folded into a running sum; order-sensitive.
std::uint64_t fold(std::uint64_t h, const sample& s) {
  auto mix = [&h](const void* p, std::size_t n) {
    auto* b = static_cast<const unsigned char*>(p);
    for (std::size_t i = 0; i < n; ++i) {
      h ^= b[i];
      h *= 1099511628211ull;
    }
  };
  mix(&s.id, sizeof s.id);
  mix(s.label.data(), s.label.size());
  mix(s.values.data(), s.values.size() * sizeof(std::uint32_t));
  return h;
}

constexpr std::uint64_t fnv_offset = 14695981039346656037ull;

// Runs a command without a shell; returns its exit code (-1 if it could not run).
int run(const std::vector<std::string>& args, bool quiet = false) {
  std::vector<char*> argv;
  for (const std::string& a : args)
    argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::fflush(nullptr);
  pid_t pid = ::fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    if (quiet) {
      int null = ::open("/dev/null", O_WRONLY);
      if (null >= 0) {
        ::dup2(null, STDOUT_FILENO);
        ::dup2(null, STDERR_FILENO);
      }
    }
    ::execvp(argv[0], argv.data());
    ::_exit(127);
  }
  return test::wait_child(pid, 10s);
}

// Two network namespaces and a veth pair between them, removed again when destroyed.
class netns_pair {
 public:
  explicit netns_pair(const std::string& tag)
      : a_("brine-" + tag + "-a"),
        b_("brine-" + tag + "-b"),
        veth_a_("bva" + tag),
        veth_b_("bvb" + tag) {}
  ~netns_pair() {
    // Deleting a namespace deletes the veth end inside it, and with it the other end.
    if (made_b_) run({"ip", "netns", "del", b_}, true);
    if (made_a_) run({"ip", "netns", "del", a_}, true);
    if (veth_) run({"ip", "link", "del", veth_a_}, true);
  }
  netns_pair(const netns_pair&) = delete;
  netns_pair& operator=(const netns_pair&) = delete;

  // Empty on success, else what failed.
  std::string make(const std::string& addr_a, const std::string& addr_b) {
    made_a_ = run({"ip", "netns", "add", a_}, true) == 0;
    if (!made_a_) return "'ip netns add " + a_ + "' failed";
    made_b_ = run({"ip", "netns", "add", b_}, true) == 0;
    if (!made_b_) return "'ip netns add " + b_ + "' failed";
    veth_ = run({"ip", "link", "add", veth_a_, "type", "veth", "peer", "name", veth_b_}) == 0;
    if (!veth_) return "cannot make a veth pair";
    std::vector<std::vector<std::string>> steps = {
        {"ip", "link", "set", veth_a_, "netns", a_},
        {"ip", "link", "set", veth_b_, "netns", b_},
        {"ip", "-n", a_, "addr", "add", addr_a + "/24", "dev", veth_a_},
        {"ip", "-n", b_, "addr", "add", addr_b + "/24", "dev", veth_b_},
        {"ip", "-n", a_, "link", "set", "lo", "up"},
        {"ip", "-n", b_, "link", "set", "lo", "up"},
        {"ip", "-n", a_, "link", "set", veth_a_, "up"},
        {"ip", "-n", b_, "link", "set", veth_b_, "up"},
    };
    for (const auto& s : steps) {
      if (run(s) != 0) {
        std::string cmd;
        for (const std::string& w : s)
          cmd += (cmd.empty() ? "" : " ") + w;
        return "'" + cmd + "' failed";
      }
    }
    return {};
  }

  const std::string& a() const noexcept { return a_; }
  const std::string& b() const noexcept { return b_; }

 private:
  std::string a_, b_, veth_a_, veth_b_;
  bool made_a_ = false;
  bool made_b_ = false;
  bool veth_ = false;
};

// Moves the calling (single-threaded) process into a named network namespace.
void enter_netns(const std::string& name) {
  std::string path = "/var/run/netns/" + name;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw std::runtime_error("cannot open " + path + ": " + std::strerror(errno));
  int r = ::setns(fd, CLONE_NEWNET);
  int err = errno;
  ::close(fd);
  if (r != 0) throw std::runtime_error("setns " + name + ": " + std::strerror(err));
}

// What the pulling child saw, sent to the parent through a pipe.
struct report {
  std::uint64_t count = 0;
  std::uint64_t checksum = 0;
  std::uint64_t in_order = 0;
  std::uint64_t ended = 0;
};

// Reads one report from `fd`, waiting up to `timeout`; false if none came.
bool read_report(int fd, report& out, std::chrono::milliseconds timeout) {
  auto until = std::chrono::steady_clock::now() + timeout;
  auto* p = reinterpret_cast<char*>(&out);
  std::size_t got = 0;
  while (got < sizeof out) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        until - std::chrono::steady_clock::now());
    if (left <= 0ms) return false;
    pollfd pfd{fd, POLLIN, 0};
    if (::poll(&pfd, 1, static_cast<int>(left.count())) <= 0) continue;
    ssize_t n = ::read(fd, p + got, sizeof out - got);
    if (n <= 0) return false;
    got += static_cast<std::size_t>(n);
  }
  return true;
}

// Whether this process may make network namespaces; says why not (a warning) when it may not.
bool can_make_namespaces() {
  if (::geteuid() != 0) {
    WARN("skipped: making network namespaces needs root");
    return false;
  }
  if (run({"ip", "-V"}, true) != 0) {
    WARN("skipped: iproute2's `ip` is not available");
    return false;
  }
  return true;
}

}  // namespace

TEST_CASE("netns: a pipeline crosses a veth link between two network namespaces, then ends",
          "[channel][zmq][process][netns]") {
  if (!can_make_namespaces()) return;
  int pid = static_cast<int>(::getpid());
  netns_pair net(std::to_string(pid));
  std::string subnet =
      "10." + std::to_string(100 + pid % 100) + "." + std::to_string(pid / 100 % 256);
  std::string addr_a = subnet + ".1";
  std::string addr_b = subnet + ".2";
  std::string why = net.make(addr_a, addr_b);
  if (!why.empty()) {
    WARN("skipped: cannot set up network namespaces (" + why + ")");
    return;
  }

  constexpr std::uint64_t total = 5000;
  std::uint64_t expected = fnv_offset;
  for (std::uint64_t i = 0; i < total; ++i)
    expected = fold(expected, make_sample(i));
  // The namespace is new, so any port is free there.
  std::string url = "tcp://" + addr_a + ":7411";

  int fds[2];
  REQUIRE(::pipe2(fds, O_CLOEXEC) == 0);
  pid_t puller = test::spawn([&] {
    ::close(fds[0]);
    enter_netns(net.a());
    auto rx = brine::pull<sample>(url);
    report r{0, fnv_offset, 1, 0};
    try {
      while (auto s = rx.recv_for(10s)) {
        if (s->id != r.count) r.in_order = 0;
        r.checksum = fold(r.checksum, *s);
        ++r.count;
      }
    } catch (const brine::channel_closed&) {
      r.ended = 1;
    }
    if (::write(fds[1], &r, sizeof r) != static_cast<ssize_t>(sizeof r))
      throw std::runtime_error("cannot write the report");
  });
  ::close(fds[1]);
  pid_t pusher = test::spawn([&] {
    enter_netns(net.b());
    auto tx = brine::push<sample>(url);
    for (std::uint64_t i = 0; i < total; ++i)
      if (!tx.send_for(make_sample(i), 10s)) throw std::runtime_error("send_for timed out");
    tx.close();
  });

  report r;
  bool reported = read_report(fds[0], r, 30s);
  ::close(fds[0]);
  int pusher_code = test::wait_child(pusher, 20s);
  int puller_code = test::wait_child(puller, 20s);
  CHECK(pusher_code == 0);
  CHECK(puller_code == 0);
  REQUIRE(reported);
  CHECK(r.count == total);
  CHECK(r.in_order == 1);
  CHECK(r.checksum == expected);
  CHECK(r.ended == 1);
}

TEST_CASE("netns: a pusher in a namespace without a route to the puller reports unreachable",
          "[channel][zmq][process][netns]") {
  if (!can_make_namespaces()) return;
  std::string tag = std::to_string(::getpid()) + "u";
  std::string a = "brine-" + tag;
  bool made = run({"ip", "netns", "add", a}, true) == 0;
  if (!made) {
    WARN("skipped: 'ip netns add' failed");
    return;
  }
  struct guard {
    std::string name;
    ~guard() { run({"ip", "netns", "del", name}, true); }
  } g{a};

  // No link is up in the new namespace: 10.255.255.1 has no route, so nothing ever connects.
  pid_t pusher = test::spawn([&] {
    enter_netns(a);
    brine::channel_options o;
    o.connect_timeout = 1s;
    auto tx = brine::push<sample>("tcp://10.255.255.1:7411", o);
    try {
      (void)tx.send_for(make_sample(1), 10s);
    } catch (const brine::transport_error&) {
      return;
    }
    throw std::runtime_error("no transport_error");
  });
  REQUIRE(test::wait_child(pusher, 20s) == 0);
}
