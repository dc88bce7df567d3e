// brine::pool: map, submit, imap, remote errors, crashing workers, shutdown.

#include <dirent.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <deque>
#include <list>
#include <map>
#include <numeric>
#include <set>
#include <span>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "brine/pool.hpp"

using namespace std::chrono_literals;

namespace {

struct job {
  std::uint64_t n = 0;
  std::string tag;
  std::vector<double> data;
  BRINE_FIELDS(n, tag, data)
};

struct summary {
  std::uint64_t n = 0;
  std::string tag;
  double sum = 0;
  BRINE_FIELDS(n, tag, sum)
};

summary summarize(const job& j) {
  return {j.n * j.n, j.tag + "!", std::accumulate(j.data.begin(), j.data.end(), 0.0)};
}

struct bad_input : std::invalid_argument {
  using std::invalid_argument::invalid_argument;
};

// Whether `pid` is a live process (a zombie does not count: it has ended, and whoever adopted
// it may be slow to reap it).
bool exists(pid_t pid) {
  FILE* f = std::fopen(("/proc/" + std::to_string(pid) + "/stat").c_str(), "r");
  if (f == nullptr) return false;
  int read_pid = 0;
  char name[256] = {};
  char state = 0;
  int n = std::fscanf(f, "%d (%255[^)]) %c", &read_pid, name, &state);
  std::fclose(f);
  return n == 3 && state != 'Z' && state != 'X';
}

// Number of brine-pool segments of process `owner` (this one by default) left in /dev/shm.
std::size_t pool_segments(pid_t owner = ::getpid()) {
  std::size_t n = 0;
  std::string mine = "brine-pool." + std::to_string(owner) + ".";
  if (DIR* d = ::opendir("/dev/shm")) {
    while (dirent* e = ::readdir(d))
      if (std::string(e->d_name).find(mine) != std::string::npos) ++n;
    ::closedir(d);
  }
  return n;
}

// Checks that the workers of dead pool process `owner` went, and its segments with them.
// Orphans are reparented and reaped by init (or a subreaper): they get a moment to go.
void check_gone(pid_t owner, const pid_t (&workers)[2]) {
  for (int i = 0; i < 500 && (exists(workers[0]) || exists(workers[1])); ++i)
    std::this_thread::sleep_for(10ms);
  CHECK_FALSE(exists(workers[0]));
  CHECK_FALSE(exists(workers[1]));
  CHECK(pool_segments(owner) == 0);
}

}  // namespace

TEST_CASE("pool: map returns every result exactly, in input order", "[pool]") {
  brine::pool pool{3, summarize};
  CHECK(pool.workers() == 3);
  std::vector<job> jobs;
  for (std::uint64_t i = 0; i < 5000; ++i)
    jobs.push_back(
        {i, std::string("t").append(std::to_string(i)), std::vector<double>(i % 17, 0.5)});
  std::vector<summary> out = pool.map(jobs);
  REQUIRE(out.size() == jobs.size());
  for (std::uint64_t i = 0; i < 5000; ++i) {
    REQUIRE(out[i].n == i * i);
    REQUIRE(out[i].tag == std::string("t").append(std::to_string(i)).append("!"));
    REQUIRE(out[i].sum == 0.5 * static_cast<double>(i % 17));
  }
  CHECK(pool.completed() == 5000);
  CHECK(pool.map(std::vector<job>{}).empty());
}

TEST_CASE("pool: the work really runs in other processes", "[pool]") {
  brine::pool pool{2, [](int) { return static_cast<int>(::getpid()); }};
  std::vector<int> pids = pool.map(std::vector<int>(200, 0));
  for (int p : pids)
    CHECK(p != ::getpid());
  std::vector<pid_t> workers = pool.pids();
  for (int p : pids)
    CHECK(std::find(workers.begin(), workers.end(), p) != workers.end());
}

TEST_CASE("pool: more workers than a shared-memory segment has places by default", "[pool]") {
  brine::pool pool{12, [](int x) { return std::pair<int, int>(x + 1, ::getpid()); }};
  std::vector<int> in(2000);
  std::iota(in.begin(), in.end(), 0);
  std::vector<std::pair<int, int>> out = pool.map(in);
  std::set<int> pids;
  for (std::size_t i = 0; i < in.size(); ++i) {
    REQUIRE(out[i].first == in[i] + 1);
    pids.insert(out[i].second);
  }
  // More than 8 workers sent results over the one results segment (a worker slow to start
  // finds the chunks taken by the others), and none failed to find a place.
  CHECK(pids.size() > 8);
  CHECK(pool.restarts() == 0);
}

TEST_CASE("pool: submit gives a future; lambdas, void results and const& inputs work", "[pool]") {
  brine::pool square{2, [](const long& x) { return x * x; }};
  std::vector<std::future<long>> fs;
  for (long i = 0; i < 100; ++i)
    fs.push_back(square.submit(i));
  for (long i = 0; i < 100; ++i)
    CHECK(fs[static_cast<std::size_t>(i)].get() == i * i);
  brine::pool nothing{1, [](const std::string&) {}};
  CHECK(nothing.map(std::vector<std::string>{"a", "b"}).size() == 2);
}

TEST_CASE("pool: a task's exception is a remote_error with its type and message", "[pool]") {
  brine::pool pool{2, [](int x) {
                     if (x == 13) throw bad_input("13 is unlucky");
                     return x + 1;
                   }};
  try {
    (void)pool.submit(13).get();
    FAIL("no exception");
  } catch (const brine::remote_error& e) {
    CHECK(e.type() == "(anonymous namespace)::bad_input");
    CHECK(e.message() == "13 is unlucky");
  }
  std::vector<int> in(100);
  std::iota(in.begin(), in.end(), 0);
  CHECK_THROWS_AS(pool.map(in), brine::remote_error);
  CHECK(pool.submit(1).get() == 2);  // the pool goes on
}

TEST_CASE("pool: imap streams results in order, with progress", "[pool]") {
  brine::pool pool{2, [](int x) { return 2 * x; }, brine::pool_options{.chunk_size = 7}};
  std::vector<int> in(1000);
  std::iota(in.begin(), in.end(), 0);
  std::vector<int> got;
  std::size_t last_done = 0;
  std::size_t calls = 0;
  pool.imap(
      in, [&](int&& r) { got.push_back(r); },
      [&](std::size_t done, std::size_t total) {
        CHECK(total == 1000);
        CHECK(done >= last_done);
        last_done = done;
        ++calls;
      });
  REQUIRE(got.size() == 1000);
  for (int i = 0; i < 1000; ++i)
    REQUIRE(got[static_cast<std::size_t>(i)] == 2 * i);
  CHECK(last_done == 1000);
  CHECK(calls == (1000 + 6) / 7);
}

TEST_CASE("pool: memory reused from chunk to chunk never leaks into results", "[pool]") {
  // Workers and the pool keep the memory of earlier chunks: results must come out exact when
  // chunks shrink after growing, when a chunk's tasks threw, and for values of every length.
  brine::pool pool{2, [](const std::string& s) {
                     if (s == "throw") throw bad_input("asked to");
                     return std::vector<std::string>{s, std::string(s.rbegin(), s.rend())};
                   }};
  for (std::size_t n : {3000u, 40u, 1200u, 1u, 7u, 0u, 2500u}) {
    std::vector<std::string> in(n);
    for (std::size_t i = 0; i < n; ++i)
      in[i] = std::string(i % 97, static_cast<char>('a' + (i + n) % 26)) + std::to_string(i);
    auto out = pool.map(in);
    REQUIRE(out.size() == n);
    for (std::size_t i = 0; i < n; ++i)
      REQUIRE(out[i] == std::vector<std::string>{in[i], std::string(in[i].rbegin(), in[i].rend())});
    if (n > 10) {
      in[n / 2] = "throw";
      CHECK_THROWS_AS(pool.map(in), brine::remote_error);
    }
  }
}

TEST_CASE("pool: map takes any input range: vectors, lists, spans, bools", "[pool]") {
  brine::pool pool{2, [](int x) { return x * 3; }, brine::pool_options{.chunk_size = 9}};
  std::list<int> in;
  for (int i = 0; i < 100; ++i)
    in.push_back(i - 50);
  std::vector<int> out = pool.map(in);
  REQUIRE(out.size() == 100);
  for (int i = 0; i < 100; ++i)
    REQUIRE(out[static_cast<std::size_t>(i)] == (i - 50) * 3);
  std::vector<int> v(in.begin(), in.end());
  CHECK(pool.map(std::span<const int>(v).subspan(10, 20)) ==
        std::vector<int>(out.begin() + 10, out.begin() + 30));
  brine::pool negate{2, [](bool b) { return !b; }};
  std::vector<bool> bits{true, false, false, true, true};
  CHECK(negate.map(bits) == std::vector<bool>{false, true, true, false, false});
  std::deque<bool> dbits(bits.begin(), bits.end());
  CHECK(negate.map(dbits) == std::vector<bool>{false, true, true, false, false});
}

TEST_CASE("pool: chunks and results longer than the shared-memory pool stream through", "[pool]") {
  // Each chunk and each result is longer than its channel's pool, so it goes through the ring
  // slot by slot while the other side reads: the pool sends such a chunk only to an idle
  // worker, else a worker writing a long result and the pool writing it a long chunk would
  // wait for each other for ever.
  brine::pool_options opts{.chunk_size = 1};
  opts.channel.shm_pool_bytes = 64u << 10;
  brine::pool pool{2,
                   [](const std::vector<std::uint8_t>& v) {
                     return std::vector<std::uint8_t>(v.rbegin(), v.rend());
                   },
                   opts};
  std::vector<std::vector<std::uint8_t>> in;
  for (std::size_t i = 0; i < 24; ++i) {
    in.emplace_back(300'000 + i);
    for (std::size_t j = 0; j < in.back().size(); ++j)
      in.back()[j] = static_cast<std::uint8_t>(j * 7 + i);
  }
  auto out = pool.map(in);
  REQUIRE(out.size() == in.size());
  for (std::size_t i = 0; i < in.size(); ++i)
    REQUIRE(out[i] == std::vector<std::uint8_t>(in[i].rbegin(), in[i].rend()));
  CHECK(pool.restarts() == 0);
}

TEST_CASE("pool: a worker that crashes is replaced; its task is retried once, then fails",
          "[pool]") {
  // Inputs that crash a worker: -1 always (SIGKILL on itself), -2 once (a file marks the first
  // attempt).
  std::string mark = "/tmp/brine-pool-test-" + std::to_string(::getpid()) + ".once";
  ::unlink(mark.c_str());
  brine::pool pool{2,
                   [mark](int x) {
                     if (x == -1) ::raise(SIGKILL);
                     if (x == -2 && ::access(mark.c_str(), F_OK) != 0) {
                       FILE* f = std::fopen(mark.c_str(), "w");
                       if (f) std::fclose(f);
                       ::signal(SIGSEGV, SIG_DFL);  // the test framework catches it
                       ::raise(SIGSEGV);
                     }
                     return x * 10;
                   },
                   brine::pool_options{.chunk_size = 10}};
  std::vector<int> in(100);
  std::iota(in.begin(), in.end(), 0);
  in[55] = -2;  // crashes its worker once: retried, succeeds
  std::vector<int> out = pool.map(in);
  REQUIRE(out.size() == 100);
  for (std::size_t i = 0; i < 100; ++i)
    REQUIRE(out[i] == in[i] * 10);
  CHECK(pool.restarts() == 1);
  try {
    (void)pool.submit(-1).get();
    FAIL("no exception");
  } catch (const brine::remote_error& e) {
    CHECK(e.type() == "brine::worker_died");
    CHECK(std::string(e.message()).find("SIGKILL") != std::string::npos);
  }
  CHECK(pool.restarts() == 3);  // the first try and the retry
  // In a chunk with a killer input, only that input fails.
  in[55] = -1;
  std::vector<std::future<int>> fs;
  for (int x : {1, -1, 3})
    fs.push_back(pool.submit(x));
  CHECK(fs[0].get() == 10);
  CHECK_THROWS_AS(fs[1].get(), brine::remote_error);
  CHECK(fs[2].get() == 30);
  CHECK(pool.map(std::vector<int>{4, 5}) == std::vector<int>{40, 50});
  ::unlink(mark.c_str());
}

TEST_CASE("pool: a worker ended by someone's SIGTERM is replaced; the pool keeps its segments",
          "[pool]") {
  brine::pool pool{2, [](int x) { return x + 1; }};
  pid_t victim = pool.pids().front();
  REQUIRE(::kill(victim, SIGTERM) == 0);
  for (int i = 0; i < 500 && pool.restarts() == 0; ++i)
    std::this_thread::sleep_for(10ms);
  CHECK(pool.restarts() == 1);
  std::vector<int> inputs(1000);
  std::iota(inputs.begin(), inputs.end(), 0);
  std::vector<int> out = pool.map(inputs);
  for (int i = 0; i < 1000; ++i)
    REQUIRE(out[static_cast<std::size_t>(i)] == i + 1);
  CHECK(pool_segments() == 3);  // the results and one task segment per worker
}

TEST_CASE("pool: destroyed while busy, it leaves no process, zombie or segment behind", "[pool]") {
  std::vector<pid_t> pids;
  std::future<int> pending;
  {
    brine::pool pool{2,
                     [](int ms) {
                       std::this_thread::sleep_for(std::chrono::milliseconds(ms));
                       return ms;
                     },
                     brine::pool_options{.shutdown_grace = 200ms}};
    pids = pool.pids();
    for (int i = 0; i < 6; ++i)
      (void)pool.submit(5000);
    pending = pool.submit(5000);
  }
  CHECK_THROWS_AS(pending.get(), brine::error);
  for (pid_t p : pids) {
    int status = 0;
    CHECK(::waitpid(p, &status, WNOHANG) < 0);  // reaped already: not our child any more
    CHECK_FALSE(exists(p));
  }
  CHECK(pool_segments() == 0);
}

TEST_CASE("pool: workers die with the pool's process, even if it is SIGKILLed", "[pool]") {
  int fd[2];
  REQUIRE(::pipe(fd) == 0);
  pid_t owner = ::fork();
  if (owner == 0) {
    brine::pool pool{2, [](int x) { return x; }};
    std::vector<pid_t> pids = pool.pids();
    (void)!::write(fd[1], pids.data(), pids.size() * sizeof(pid_t));
    std::this_thread::sleep_for(60s);
    ::_exit(0);
  }
  pid_t workers[2] = {0, 0};
  REQUIRE(::read(fd[0], workers, sizeof workers) == sizeof workers);
  ::close(fd[0]);
  ::close(fd[1]);
  ::kill(owner, SIGKILL);
  ::waitpid(owner, nullptr, 0);
  // The workers removed the dead pool's segments as they went.
  check_gone(owner, workers);
}

namespace {

// Runs `body` in a child that leads its own process group, as a program started from a shell
// does, with the default action for SIGINT; the parent gets the child's pid and the worker pids
// it writes into `fd`.
template <class Body>
pid_t group_leader(int fd[2], Body body) {
  std::fflush(nullptr);
  pid_t pid = ::fork();
  if (pid != 0) return pid;
  ::setpgid(0, 0);
  ::signal(SIGINT, SIG_DFL);
  ::close(fd[0]);
  ::_exit(body(fd[1]));
}

bool read_pids(int fd, pid_t (&pids)[2]) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, 20'000) == 1 && ::read(fd, pids, sizeof pids) == sizeof pids;
}

}  // namespace

TEST_CASE("pool: Ctrl-C ends the program and its workers, and leaves no segment", "[pool]") {
  int fd[2];
  REQUIRE(::pipe(fd) == 0);
  pid_t owner = group_leader(fd, [](int out) {
    brine::pool pool{2, [](int x) {
                       std::this_thread::sleep_for(5ms);
                       return x;
                     }};
    std::vector<pid_t> pids = pool.pids();
    (void)!::write(out, pids.data(), pids.size() * sizeof(pid_t));
    std::vector<int> inputs(100'000);
    pool.map(inputs);  // interrupted long before it ends
    return 0;
  });
  ::close(fd[1]);
  pid_t workers[2] = {0, 0};
  bool got = read_pids(fd[0], workers);
  ::close(fd[0]);
  if (got) std::this_thread::sleep_for(100ms);  // well into the map
  ::kill(-owner, SIGINT);                       // what the terminal does on Ctrl-C
  int status = 0;
  REQUIRE(::waitpid(owner, &status, 0) == owner);
  REQUIRE(got);
  CHECK(WIFSIGNALED(status));
  CHECK(WTERMSIG(status) == SIGINT);
  check_gone(owner, workers);
}

namespace {
volatile std::sig_atomic_t interrupted = 0;
}

TEST_CASE("pool: a program that handles Ctrl-C keeps its workers; the map completes", "[pool]") {
  int fd[2];
  REQUIRE(::pipe(fd) == 0);
  pid_t owner = group_leader(fd, [](int out) {
    ::signal(SIGINT, [](int) { interrupted = 1; });
    brine::pool pool{2, [](int x) {
                       std::this_thread::sleep_for(2ms);
                       return 2 * x;
                     }};
    std::vector<pid_t> pids = pool.pids();
    (void)!::write(out, pids.data(), pids.size() * sizeof(pid_t));
    std::vector<int> inputs(400);
    std::iota(inputs.begin(), inputs.end(), 0);
    std::vector<int> out_values = pool.map(inputs);
    for (int i = 0; i < 400; ++i)
      if (out_values[static_cast<std::size_t>(i)] != 2 * i) return 1;
    if (pool.restarts() != 0) return 2;  // no worker died of the Ctrl-C
    return interrupted == 1 ? 0 : 3;
  });
  ::close(fd[1]);
  pid_t workers[2] = {0, 0};
  bool got = read_pids(fd[0], workers);
  ::close(fd[0]);
  if (got) std::this_thread::sleep_for(50ms);
  ::kill(-owner, SIGINT);
  int status = 0;
  REQUIRE(::waitpid(owner, &status, 0) == owner);
  REQUIRE(got);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  CHECK(pool_segments(owner) == 0);
}
