// Request/reply and RPC: brine::server and brine::client in one process and across processes.

#include <dirent.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <future>
#include <map>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "../channel/channel_test_util.hpp"
#include "brine/rpc.hpp"

using namespace std::chrono_literals;

namespace {

struct point {
  double x = 0;
  double y = 0;
  std::string label;
  BRINE_FIELDS(x, y, label)
};

struct not_found : std::runtime_error {
  using std::runtime_error::runtime_error;
};

brine::rpc_options quick(std::chrono::milliseconds timeout = 20s) {
  brine::rpc_options o;
  o.timeout = timeout;
  o.channel.connect_timeout = 5s;
  return o;
}

// A server with the methods most tests call.
void offer(brine::server& srv, std::atomic<int>* slow_runs = nullptr) {
  srv.handle("add", [](int a, int b) { return a + b; });
  srv.handle("hello", [] { return std::string("hello"); });
  srv.handle("greet", [](const std::string& who) { return "hi " + who; });
  srv.handle("scale", [](const point& p, double f) {
    return point{p.x * f, p.y * f, p.label + "*"};
  });
  srv.handle("nothing", [](int) {});
  srv.handle("fail", [](const std::string& why) -> int { throw not_found(why); });
  srv.handle("sleep", [slow_runs](int ms) {
    if (slow_runs != nullptr) ++*slow_runs;
    std::this_thread::sleep_for(std::chrono::milliseconds(ms));
    return ms;
  });
}

// A pipe a child writes one byte into to say "now".
struct signal_pipe {
  int fd[2] = {-1, -1};
  signal_pipe() { REQUIRE(::pipe(fd) == 0); }
  ~signal_pipe() {
    ::close(fd[0]);
    ::close(fd[1]);
  }
  void notify() const {
    char c = 1;
    (void)!::write(fd[1], &c, 1);
  }
  bool wait(std::chrono::milliseconds timeout) const {
    pollfd p{fd[0], POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) != 1) return false;
    char c;
    return ::read(fd[0], &c, 1) == 1;
  }
};

void expect(bool ok, const std::string& what) {
  if (!ok) throw std::runtime_error(what);
}

// A URL no other test uses, over ipc:// or shm://.
std::string url_for(const std::string& scheme, const std::string& name) {
  if (scheme == "ipc") return test::ipc_url(name);
  static std::atomic<int> counter{0};
  return "shm://brine-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++) + "-" +
         name;
}

// Removes what processes killed by a test left behind: an ipc:// socket file, or the shm://
// segments of a request/reply name.
void clean_up(const std::string& url) {
  if (url.rfind("ipc://", 0) == 0) {
    ::unlink(url.substr(6).c_str());
    return;
  }
  std::string prefix = "brine." + std::to_string(::getuid()) + ".rpc." + url.substr(6);
  if (DIR* d = ::opendir("/dev/shm")) {
    while (dirent* e = ::readdir(d))
      if (std::string(e->d_name).rfind(prefix, 0) == 0)
        ::unlink(("/dev/shm/" + std::string(e->d_name)).c_str());
    ::closedir(d);
  }
}

}  // namespace

TEST_CASE("rpc: calls with every kind of signature return their results", "[rpc]") {
  std::string scheme = GENERATE(as<std::string>{}, "ipc", "shm");
  brine::server srv(url_for(scheme, "calc"));
  offer(srv);
  srv.start(2);
  brine::client cli(srv.endpoint(), quick());
  CHECK(cli.call<int>("add", 2, 3) == 5);
  CHECK(cli.call<std::string>("hello") == "hello");
  CHECK(cli.call<std::string>("greet", "bob") == "hi bob");
  CHECK(cli.call<std::string>("greet", std::string("ann")) == "hi ann");
  point p = cli.call<point>("scale", point{1.5, -2, "p"}, 2.0);
  CHECK(p.x == 3.0);
  CHECK(p.y == -4.0);
  CHECK(p.label == "p*");
  cli.call("nothing", 7);
  std::future<int> f = cli.async_call<int>("add", 40, 2);
  CHECK(f.get() == 42);
}

TEST_CASE("rpc: serve() answers in the calling thread until a handler stops it", "[rpc]") {
  brine::server srv(test::inproc_url("serve"));
  srv.handle("add", [](int a, int b) { return a + b; });
  srv.handle("stop", [&srv] { srv.stop(); });
  std::thread t([&] { srv.serve(); });
  {
    brine::client cli(srv.endpoint(), quick());
    CHECK(cli.call<int>("add", 1, 2) == 3);
    cli.call("stop");
  }
  t.join();  // serve() returned: the test would hang here otherwise
  CHECK(srv.methods().size() == 2);
}

TEST_CASE("rpc: a handler's exception comes back as remote_error with its type and message",
          "[rpc]") {
  std::string scheme = GENERATE(as<std::string>{}, "ipc", "shm");
  brine::server srv(url_for(scheme, "fail"));
  offer(srv);
  srv.start(1);
  brine::client cli(srv.endpoint(), quick());
  try {
    cli.call<int>("fail", std::string("no such key: k1"));
    FAIL("no exception");
  } catch (const brine::remote_error& e) {
    CHECK(e.type() == "(anonymous namespace)::not_found");
    CHECK(e.message() == "no such key: k1");
  }
  CHECK(cli.call<int>("add", 1, 1) == 2);  // the server goes on
}

TEST_CASE("rpc: an unknown method is an error listing the server's methods", "[rpc]") {
  std::string scheme = GENERATE(as<std::string>{}, "ipc", "shm");
  brine::server srv(url_for(scheme, "unknown"));
  offer(srv);
  srv.start(1);
  brine::client cli(srv.endpoint(), quick());
  try {
    cli.call<int>("ad", 1, 2);
    FAIL("no exception");
  } catch (const brine::remote_error& e) {
    std::string what = e.what();
    CHECK(what.find("no method 'ad'") != std::string::npos);
    CHECK(what.find("add, fail, greet, hello") != std::string::npos);
  }
}

TEST_CASE("rpc: arguments or a result of the wrong types are a type_mismatch naming both",
          "[rpc]") {
  std::string scheme = GENERATE(as<std::string>{}, "ipc", "shm");
  brine::server srv(url_for(scheme, "types"));
  std::atomic<int> runs{0};
  srv.handle("add", [&runs](int a, int b) {
    ++runs;
    return a + b;
  });
  srv.start(1);
  brine::client cli(srv.endpoint(), quick());
  try {
    cli.call<int>("add", 2.0, 3.0);
    FAIL("no exception");
  } catch (const brine::type_mismatch& e) {
    std::string what = e.what();
    CHECK(what.find("int(double, double)") != std::string::npos);
    CHECK(what.find("int(int, int)") != std::string::npos);
  }
  CHECK_THROWS_AS(cli.call<std::string>("add", 2, 3), brine::type_mismatch);
  CHECK_THROWS_AS(cli.call<int>("add", 2), brine::type_mismatch);
  CHECK(runs == 0);  // checked before the handler runs
  CHECK(cli.call<int>("add", 2, 3) == 5);
  CHECK(runs == 1);
}

TEST_CASE("rpc: a call that takes too long is a timeout_error; the client goes on", "[rpc]") {
  std::string scheme = GENERATE(as<std::string>{}, "ipc", "shm");
  brine::server srv(url_for(scheme, "timeout"));
  offer(srv);
  srv.start(2);
  brine::client cli(srv.endpoint(), quick(5s));
  CHECK_THROWS_AS(cli.call_for<int>(50ms, "sleep", 400), brine::timeout_error);
  CHECK(cli.call<int>("add", 3, 4) == 7);
  // The late reply of the first call is dropped, not mistaken for another call's.
  std::this_thread::sleep_for(450ms);
  CHECK(cli.call<int>("add", 5, 6) == 11);
}

TEST_CASE("rpc: the server skips a call whose deadline passed while it waited", "[rpc]") {
  std::string scheme = GENERATE(as<std::string>{}, "ipc", "shm");
  brine::server srv(url_for(scheme, "deadline"));
  std::atomic<int> runs{0};
  offer(srv, &runs);
  srv.start(1);  // one handler thread: the second call waits behind the first
  brine::client cli(srv.endpoint(), quick());
  std::future<int> first = cli.async_call<int>("sleep", 300);
  std::this_thread::sleep_for(50ms);
  std::future<int> second = cli.async_call_for<int>(50ms, "sleep", 1);
  CHECK_THROWS_AS(second.get(), brine::timeout_error);
  CHECK(first.get() == 300);
  CHECK(cli.call<int>("add", 0, 0) == 0);  // after the skipped call, had it run
  CHECK(runs == 1);
}

TEST_CASE("rpc: 10,000 asynchronous calls in flight all come back right", "[rpc]") {
  std::string scheme = GENERATE(as<std::string>{}, "ipc", "shm");
  brine::server srv(url_for(scheme, "many"));
  offer(srv);
  srv.start(2);
  brine::client cli(srv.endpoint(), quick(60s));
  std::vector<std::future<int>> futures;
  futures.reserve(10'000);
  for (int i = 0; i < 10'000; ++i)
    futures.push_back(cli.async_call<int>("add", i, 1'000'000));
  for (int i = 0; i < 10'000; ++i)
    REQUIRE(futures[static_cast<std::size_t>(i)].get() == i + 1'000'000);
}

TEST_CASE("rpc: many client threads share one client, and several clients one server", "[rpc]") {
  std::string scheme = GENERATE(as<std::string>{}, "ipc", "shm");
  brine::server srv(url_for(scheme, "threads"));
  offer(srv);
  srv.start(2);
  brine::client shared(srv.endpoint(), quick(60s));
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      brine::client own(srv.endpoint(), quick(60s));
      for (int i = 0; i < 300; ++i) {
        if (shared.call<int>("add", t, i) != t + i) ++wrong;
        if (own.call<std::string>("greet", std::to_string(i)) != "hi " + std::to_string(i)) ++wrong;
      }
    });
  }
  for (std::thread& t : threads)
    t.join();
  CHECK(wrong == 0);
}

TEST_CASE("rpc: a long synchronous call does not hold back other threads' calls", "[rpc]") {
  std::string scheme = GENERATE(as<std::string>{}, "ipc", "shm");
  brine::server srv(url_for(scheme, "overtake"));
  offer(srv);
  srv.start(2);
  brine::client cli(srv.endpoint(), quick());
  REQUIRE(cli.call<int>("add", 0, 0) == 0);
  std::atomic<bool> long_done{false};
  std::thread slow([&] {
    CHECK(cli.call<int>("sleep", 1500) == 1500);
    long_done = true;
  });
  std::this_thread::sleep_for(100ms);  // the long call is in flight, in its caller's thread
  auto start = std::chrono::steady_clock::now();
  CHECK(cli.async_call<int>("add", 2, 2).get() == 4);
  CHECK(cli.call<int>("add", 3, 3) == 6);
  CHECK(std::chrono::steady_clock::now() - start < 1s);
  CHECK_FALSE(long_done);
  slow.join();
  CHECK(long_done);
  CHECK(cli.call<int>("add", 4, 4) == 8);  // and the link goes back to direct calls
}

TEST_CASE("rpc: stop() finishes the calls already taken and sends their replies", "[rpc]") {
  std::string scheme = GENERATE(as<std::string>{}, "ipc", "shm");
  brine::server srv(url_for(scheme, "drain"));
  std::atomic<int> running{0};
  offer(srv, &running);
  srv.start(2);
  brine::client cli(srv.endpoint(), quick());
  std::future<int> a = cli.async_call<int>("sleep", 200);
  std::future<int> b = cli.async_call<int>("sleep", 200);
  // Both taken by the two handler threads (bounded: the test must not hang).
  for (int i = 0; i < 2000 && running < 2; ++i)
    std::this_thread::sleep_for(1ms);
  REQUIRE(running == 2);
  srv.stop();
  CHECK(a.get() == 200);
  CHECK(b.get() == 200);
}

TEST_CASE("rpc: methods() lists names and signatures", "[rpc]") {
  brine::server srv(test::inproc_url("list"));
  offer(srv);
  srv.start(1);
  brine::client cli(srv.endpoint(), quick());
  std::vector<brine::method_info> list = cli.methods();
  std::map<std::string, std::string> by_name;
  for (const auto& m : list)
    by_name[m.name] = m.signature;
  CHECK(list.size() == 7);
  CHECK(by_name["add"] == "int(int, int)");
  CHECK(by_name["nothing"] == "std::monostate(int)");
  CHECK(by_name["greet"] == "std::string(std::string)");  // not std::__cxx11::basic_string<char>
  CHECK(srv.methods().size() == 7);
}

TEST_CASE("rpc: methods() gives what a caller without the C++ types needs; call_frame calls",
          "[rpc]") {
  std::string scheme = GENERATE(as<std::string>{}, "ipc", "shm");
  brine::server srv(url_for(scheme, "frames"));
  offer(srv);
  srv.start(1);
  brine::client cli(srv.endpoint(), quick());
  std::map<std::string, brine::method_info> by_name;
  for (auto& m : cli.methods())
    by_name[m.name] = m;
  const brine::method_info& add = by_name.at("add");
  using add_args = std::tuple<int, int>;
  CHECK(std::equal(add.args_schema.begin(), add.args_schema.end(),
                   brine::schema_of<add_args>.begin(), brine::schema_of<add_args>.end()));
  CHECK(std::equal(add.result_schema.begin(), add.result_schema.end(),
                   brine::schema_of<int>.begin(), brine::schema_of<int>.end()));
  CHECK(add.args_fingerprint == brine::fingerprint<add_args>);

  auto result = cli.call_frame(add, brine::dumps(add_args{20, 22}), 10s);
  CHECK(brine::loads<int>(result) == 42);

  // Arguments of other types than the server's are refused before the handler runs.
  brine::method_info wrong = by_name.at("sleep");
  wrong.args_fingerprint = brine::fingerprint<std::tuple<std::string>>;
  CHECK_THROWS_AS(cli.call_frame(wrong, brine::dumps(std::tuple<std::string>{"x"}), 10s),
                  brine::type_mismatch);
  // Arguments that claim the right type but do not decode are a decode_error from the server,
  // and the handler does not run.
  std::vector<std::byte> bad = brine::dumps(std::tuple<std::string>{"abc"});
  REQUIRE(bad[brine::frame_header_size] == std::byte{3});  // the string's length
  bad[brine::frame_header_size] = std::byte{0x7f};         // more than the body holds
  try {
    cli.call_frame(by_name.at("greet"), bad, 10s);
    FAIL("undecodable arguments were accepted");
  } catch (const brine::decode_error& e) {
    CHECK_THAT(e.what(), Catch::Contains("could not read the arguments of greet"));
  }
  CHECK(cli.call<std::string>("greet", "you") == "hi you");  // the server and the client go on
  // A frame that is not whole is refused before it is sent.
  std::vector<std::byte> cut = brine::dumps(add_args{1, 2});
  cut.pop_back();
  CHECK_THROWS_AS(cli.call_frame(add, cut, 10s), brine::decode_error);
}

TEST_CASE("rpc: over shm://, a client's reply segment goes soon after the client", "[rpc]") {
  std::string url = url_for("shm", "leave");
  brine::server srv(url);
  offer(srv);
  srv.start(1);
  // Reply segments are named rpc.<name>.<pid>.<n>, beside the server's rpc.<name>.
  std::string prefix = "brine." + std::to_string(::geteuid()) + ".rpc." + url.substr(6) + ".";
  auto replies_left = [&] {
    int n = 0;
    if (DIR* d = ::opendir("/dev/shm")) {
      while (dirent* e = ::readdir(d))
        if (std::string(e->d_name).rfind(prefix, 0) == 0) ++n;
      ::closedir(d);
    }
    return n;
  };
  for (int round = 0; round < 3; ++round) {
    {
      brine::client cli(url, quick());
      REQUIRE(cli.call<int>("add", round, 1) == round + 1);
      CHECK(replies_left() == 1);
    }
    int n = replies_left();
    for (int i = 0; i < 300 && n != 0; ++i) {
      std::this_thread::sleep_for(10ms);
      n = replies_left();
    }
    CHECK(n == 0);
  }
}

TEST_CASE("rpc: no server is a transport_error after connect_timeout, not a hang", "[rpc]") {
  brine::rpc_options o = quick();
  o.channel.connect_timeout = 300ms;
  brine::client cli(test::ipc_url("nobody"), o);
  CHECK_THROWS_AS(cli.call<int>("add", 1, 2), brine::transport_error);
  CHECK_FALSE(cli.connected());
}

TEST_CASE("rpc: bad URLs and taken addresses are transport errors", "[rpc]") {
  CHECK_THROWS_AS(brine::server("tcp://127.0.0.1"), brine::transport_error);
  CHECK_THROWS_AS(brine::client("nope://x"), brine::transport_error);
  CHECK_THROWS_AS(brine::server("@shm://calc"), brine::transport_error);
  for (std::string scheme : {"ipc", "shm"}) {
    brine::server first(url_for(scheme, "busy"));
    CHECK_THROWS_AS(brine::server(first.endpoint()), brine::transport_error);
  }
}

TEST_CASE("rpc: garbage sent to a server is skipped; it goes on serving", "[rpc]") {
  brine::server srv(test::ipc_url("garbage"));
  offer(srv);
  srv.start(1);
  std::vector<std::string> urls{srv.endpoint()};
  auto raw = brine::transport::open_client(urls, {});
  std::span<std::byte> junk = raw->prepare(5);
  std::fill(junk.begin(), junk.end(), std::byte{0x42});
  REQUIRE(raw->commit(brine::transport::after(5s)));
  brine::client cli(srv.endpoint(), quick());
  CHECK(cli.call<int>("add", 1, 2) == 3);
}

// The tests below fork with no thread of brine's running in this process: brine::shutdown()
// ends the ZeroMQ context's threads (and the one closing earlier tests' ipc sockets). Under
// AddressSanitizer a child forked while another thread allocates can inherit the sanitizer
// allocator's lock held, and stall (glibc's own malloc is safe across fork).

TEST_CASE("rpc: calls from 8 client processes", "[rpc][process]") {
  std::string scheme = GENERATE(as<std::string>{}, "ipc", "shm");
  brine::shutdown();  // no thread of ours runs while we fork (see above)
  std::string url = url_for(scheme, "procs");
  pid_t server = test::spawn([url] {
    brine::server srv(url);
    offer(srv);
    srv.handle("stop", [&srv] { srv.stop(); });
    srv.serve();
  });
  std::vector<pid_t> clients;
  for (int c = 0; c < 8; ++c) {
    clients.push_back(test::spawn([url, c] {
      brine::client cli(url, quick(30s));
      std::vector<std::future<int>> fs;
      for (int i = 0; i < 500; ++i)
        fs.push_back(cli.async_call<int>("add", c * 1000, i));
      for (int i = 0; i < 500; ++i)
        expect(fs[static_cast<std::size_t>(i)].get() == c * 1000 + i, "wrong sum");
    }));
  }
  for (pid_t p : clients)
    CHECK(test::wait_child(p) == 0);
  pid_t stopper = test::spawn([url] { brine::client(url, quick()).call("stop"); });
  CHECK(test::wait_child(stopper) == 0);
  CHECK(test::wait_child(server) == 0);
}

TEST_CASE("rpc: a server killed mid-call fails the call promptly; a new server is found",
          "[rpc][process]") {
  std::string scheme = GENERATE(as<std::string>{}, "ipc", "shm");
  brine::shutdown();  // no thread of ours runs while we fork (see above)
  std::string url = url_for(scheme, "killed");
  signal_pipe busy;
  signal_pipe failed;
  signal_pipe refused;
  auto serve = [url, &busy] {
    brine::server srv(url);
    offer(srv);
    srv.handle("block", [&busy] {
      busy.notify();
      std::this_thread::sleep_for(60s);
    });
    srv.start(1);
    std::this_thread::sleep_for(120s);
  };
  pid_t first = test::spawn(serve);
  pid_t caller = test::spawn([url, &failed, &refused] {
    brine::client cli(url, quick(30s));
    expect(cli.call<int>("add", 1, 2) == 3, "first call");
    try {
      cli.call("block");  // the server dies during this call
      expect(false, "the call to a killed server returned");
    } catch (const brine::transport_error&) {
    }
    failed.notify();
    // With no server at all, calls (direct and asynchronous) fail after connect_timeout (5 s),
    // not at their own 30 s timeout.
    for (bool async : {false, true}) {
      auto start = std::chrono::steady_clock::now();
      try {
        if (async) {
          cli.async_call<int>("add", 1, 1).get();
        } else {
          cli.call<int>("add", 1, 1);
        }
        expect(false, "a call with no server returned");
      } catch (const brine::transport_error&) {
      }
      expect(std::chrono::steady_clock::now() - start < 15s, "no server: not failed promptly");
    }
    refused.notify();
    // The client finds the server that replaced the dead one, at the same URL.
    expect(cli.call<int>("add", 2, 3) == 5, "call after restart");
  });
  REQUIRE(busy.wait(20s));
  ::kill(first, SIGKILL);
  CHECK(test::wait_child(first) == 128 + SIGKILL);
  CHECK(failed.wait(20s));  // well before the call's own 30 s timeout
  CHECK(refused.wait(30s));
  pid_t second = test::spawn(serve);
  CHECK(test::wait_child(caller) == 0);
  ::kill(second, SIGKILL);
  test::wait_child(second);
  clean_up(url);  // killed servers leave their socket file or segments
}

TEST_CASE("rpc: a client that stops reading does not hold up the server's other clients",
          "[rpc][process]") {
  brine::shutdown();  // no thread of ours runs while we fork (see above)
  std::string url = url_for("shm", "stalled");
  pid_t server = test::spawn([url] {
    brine::server srv(url);
    offer(srv);
    srv.handle("big", [] {
      std::this_thread::sleep_for(10ms);
      return std::vector<std::uint8_t>(64 * 1024, 7);
    });
    srv.serve();
  });
  signal_pipe asked;
  pid_t slacker = test::spawn([url, &asked] {
    brine::client cli(url, quick(60s));
    std::vector<std::future<std::vector<std::uint8_t>>> pending;
    // 6 MiB of replies, one every 10 ms: far more than its way back (a ring of 1 MiB) holds.
    for (int i = 0; i < 100; ++i)
      pending.push_back(cli.async_call<std::vector<std::uint8_t>>("big"));
    (void)pending.front().get();  // the requests are out, the replies coming
    asked.notify();
    ::raise(SIGSTOP);  // reads nothing more
  });
  REQUIRE(asked.wait(20s));
  int status = 0;
  REQUIRE(::waitpid(slacker, &status, WUNTRACED) == slacker);
  REQUIRE(WIFSTOPPED(status));
  {
    brine::client cli(url, quick(10s));
    auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < 20; ++i)
      CHECK(cli.call<int>("add", i, 1) == i + 1);
    CHECK(cli.call<std::vector<std::uint8_t>>("big").size() == 64 * 1024);
    CHECK(std::chrono::steady_clock::now() - start < 8s);  // the slacker's calls take 1 s
  }
  ::kill(slacker, SIGKILL);
  test::wait_child(slacker);
  ::kill(server, SIGKILL);
  test::wait_child(server);
  clean_up(url);
}

TEST_CASE("rpc: a call whose server died while running it is not run again by the next one",
          "[rpc][process]") {
  std::string scheme = GENERATE(as<std::string>{}, "ipc", "shm");
  brine::shutdown();  // no thread of ours runs while we fork (see above)
  std::string url = url_for(scheme, "once");
  signal_pipe running;
  auto serve = [url, &running] {
    brine::server srv(url);
    offer(srv);
    srv.handle("once", [&running] {
      running.notify();
      std::this_thread::sleep_for(60s);
    });
    srv.serve();  // the handler runs in the thread that takes the requests
  };
  signal_pipe failed;
  pid_t first = test::spawn(serve);
  pid_t caller = test::spawn([url, &failed] {
    brine::client cli(url, quick(30s));
    try {
      cli.call("once");
      expect(false, "the call to a killed server returned");
    } catch (const brine::transport_error&) {
    }
    failed.notify();
    // Still here (so the channel lives on) when the next server takes the dead one's place.
    expect(cli.call<int>("add", 1, 2) == 3, "call to the next server");
  });
  REQUIRE(running.wait(20s));
  ::kill(first, SIGKILL);
  CHECK(test::wait_child(first) == 128 + SIGKILL);
  CHECK(failed.wait(20s));
  pid_t second = test::spawn(serve);
  CHECK(test::wait_child(caller) == 0);
  CHECK_FALSE(running.wait(500ms));  // the next server did not run the dead one's call again
  ::kill(second, SIGKILL);
  test::wait_child(second);
  clean_up(url);
}

TEST_CASE("rpc: an idempotent call in flight when its server died is sent again",
          "[rpc][process]") {
  std::string scheme = GENERATE(as<std::string>{}, "ipc", "shm");
  brine::shutdown();  // no thread of ours runs while we fork (see above)
  std::string url = url_for(scheme, "retry");
  signal_pipe busy;
  pid_t first = test::spawn([url, &busy] {
    brine::server srv(url);
    srv.handle("lookup", [&busy](int k) {
      busy.notify();
      std::this_thread::sleep_for(60s);
      return k;
    });
    srv.start(1);
    std::this_thread::sleep_for(120s);
  });
  pid_t caller = test::spawn([url] {
    brine::client cli(url, quick(30s));
    cli.idempotent("lookup");
    expect(cli.call<int>("lookup", 7) == 70, "retried call");
  });
  REQUIRE(busy.wait(20s));
  ::kill(first, SIGKILL);
  CHECK(test::wait_child(first) == 128 + SIGKILL);
  pid_t second = test::spawn([url] {
    brine::server srv(url);
    srv.handle("lookup", [](int k) { return k * 10; });
    srv.start(1);
    std::this_thread::sleep_for(120s);
  });
  CHECK(test::wait_child(caller) == 0);
  ::kill(second, SIGKILL);
  test::wait_child(second);
  clean_up(url);
}

TEST_CASE("rpc: over tcp with CURVE keys", "[rpc]") {
  brine::curve_keys server_keys = brine::curve_keypair();
  brine::curve_keys client_keys = brine::curve_keypair();
  brine::rpc_options so;
  so.channel.curve = brine::curve_options{server_keys, {}, {client_keys.public_key}};
  brine::server srv("tcp://127.0.0.1:*", so);
  offer(srv);
  srv.start(1);
  brine::rpc_options co = quick();
  co.channel.curve = brine::curve_options{client_keys, server_keys.public_key, {}};
  brine::client cli(srv.endpoint(), co);
  CHECK(cli.call<int>("add", 20, 22) == 42);
  // A client with a key the server does not know never gets through.
  brine::rpc_options intruder = quick();
  intruder.channel.connect_timeout = 500ms;
  intruder.channel.curve = brine::curve_options{brine::curve_keypair(), server_keys.public_key, {}};
  brine::client bad(srv.endpoint(), intruder);
  CHECK_THROWS_AS(bad.call<int>("add", 1, 2), brine::transport_error);
}
