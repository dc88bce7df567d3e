// CURVE over tcp://127.0.0.1: encrypted delivery, who gets in (server key, allowed_clients,
// plain clients), what an eavesdropper sees, malformed keys, and end of stream around failed
// handshakes.

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "brine/channel.hpp"
#include "channel_test_util.hpp"

using namespace std::chrono_literals;
using std::chrono::steady_clock;

namespace {

struct note {
  std::uint64_t id = 0;
  std::string from;
  std::string text;
  std::vector<std::uint8_t> bytes;
};

note make_note(std::uint64_t id, const std::string& from) {
  note n{id, from, from + "-" + std::to_string(id), {}};
  for (std::uint64_t i = 0; i < id % 97; ++i)
    n.bytes.push_back(static_cast<std::uint8_t>(id * 31 + i));
  return n;
}

bool same(const note& a, const note& b) {
  return a.id == b.id && a.from == b.from && a.text == b.text && a.bytes == b.bytes;
}

brine::channel_options server_options(const brine::curve_keys& keys,
                                      std::vector<std::string> allowed = {}) {
  brine::channel_options o;
  o.curve = brine::curve_options{.keys = keys, .server_key = "", .allowed_clients = allowed};
  return o;
}

brine::channel_options client_options(const brine::curve_keys& keys,
                                      const std::string& server_key) {
  brine::channel_options o;
  o.curve = brine::curve_options{.keys = keys, .server_key = server_key, .allowed_clients = {}};
  return o;
}

// What a receiver got until end of stream, or until nothing arrived for `quiet`.
struct drained {
  std::vector<note> got;
  bool ended = false;
};

drained drain(brine::receiver<note>& rx, std::chrono::milliseconds quiet = 5s) {
  drained d;
  try {
    while (auto n = rx.recv_for(quiet))
      d.got.push_back(std::move(*n));
  } catch (const brine::channel_closed&) {
    d.ended = true;
  }
  return d;
}

// Fails a child process with a message (test::spawn prints it and exits 1).
void expect(bool ok, const std::string& what) {
  if (!ok) throw std::runtime_error(what);
}

// A forked child that is killed and reaped if the test leaves before waiting for it.
class child {
 public:
  template <class Fn>
  explicit child(Fn fn) : pid_(test::spawn(std::move(fn))) {}
  ~child() {
    if (pid_ > 0) test::wait_child(pid_, 0ms);
  }
  child(const child&) = delete;
  child& operator=(const child&) = delete;

  int wait(std::chrono::milliseconds timeout = 20s) {
    int code = test::wait_child(pid_, timeout);
    pid_ = -1;
    return code;
  }

 private:
  pid_t pid_;
};

// Pushes `count` notes from `from` and closes; the child fails if any send fails.
void push_notes(const std::string& url, const brine::channel_options& o, const std::string& from,
                std::uint64_t count) {
  auto tx = brine::push<note>(url, o);
  for (std::uint64_t i = 0; i < count; ++i)
    expect(tx.send_for(make_note(i, from), 10s), from + ": send_for timed out");
  tx.close();
}

// An intruder's view: its sends wait (nothing completes the handshake) and, once
// connect_timeout has passed, send_for throws transport_error ("unreachable").
void intrude(const std::string& url, brine::channel_options o) {
  o.connect_timeout = 1500ms;
  auto start = steady_clock::now();
  auto tx = brine::push<note>(url, o);
  expect(!tx.send_for(make_note(0, "intruder"), 300ms), "intruder: send_for went through");
  try {
    (void)tx.send_for(make_note(1, "intruder"), 10s);
  } catch (const brine::transport_error&) {
    auto took = steady_clock::now() - start;
    expect(took >= 1400ms && took < 5s, "intruder: transport_error not at connect_timeout");
    return;
  }
  throw std::runtime_error("intruder: no transport_error after connect_timeout");
}

std::uint16_t port_of(const std::string& endpoint) {
  return static_cast<std::uint16_t>(std::stoi(endpoint.substr(endpoint.rfind(':') + 1)));
}

// Forwards TCP connections from its own loopback port to `target`, recording every byte that
// passes in either direction: what someone on the wire would see.
class tcp_relay {
 public:
  explicit tcp_relay(std::uint16_t target) : target_(target) {
    listen_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (listen_ < 0) throw std::runtime_error("relay: socket failed");
    sockaddr_in a = loopback(0);
    socklen_t len = sizeof a;
    if (::bind(listen_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        ::listen(listen_, 8) != 0 ||
        ::getsockname(listen_, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
      ::close(listen_);
      throw std::runtime_error("relay: cannot listen");
    }
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { run(); });
  }
  ~tcp_relay() {
    stop_ = true;
    thread_.join();
    for (auto [a, b] : pairs_) {
      ::close(a);
      ::close(b);
    }
    ::close(listen_);
  }
  tcp_relay(const tcp_relay&) = delete;
  tcp_relay& operator=(const tcp_relay&) = delete;

  std::uint16_t port() const noexcept { return port_; }
  std::string seen() const {
    std::lock_guard lock(mutex_);
    return seen_;
  }
  int connections() const noexcept { return connections_; }

 private:
  static sockaddr_in loopback(std::uint16_t port) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return a;
  }

  void run() {
    while (!stop_) {
      std::vector<pollfd> fds{{listen_, POLLIN, 0}};
      for (auto [a, b] : pairs_) {
        fds.push_back({a, POLLIN, 0});
        fds.push_back({b, POLLIN, 0});
      }
      if (::poll(fds.data(), fds.size(), 20) <= 0) continue;
      if (fds[0].revents & POLLIN) accept_one();
      for (std::size_t i = 1; i < fds.size(); ++i) {
        if (fds[i].revents == 0) continue;
        std::size_t p = (i - 1) / 2;
        int from = fds[i].fd;
        int to = from == pairs_[p].first ? pairs_[p].second : pairs_[p].first;
        if (!forward(from, to)) {
          ::close(pairs_[p].first);
          ::close(pairs_[p].second);
          pairs_[p] = {-1, -1};
        }
      }
      std::erase_if(pairs_, [](auto& p) { return p.first < 0; });
    }
  }

  void accept_one() {
    int in = ::accept4(listen_, nullptr, nullptr, SOCK_CLOEXEC);
    if (in < 0) return;
    int out = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a = loopback(target_);
    if (out < 0 || ::connect(out, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      ::close(in);
      if (out >= 0) ::close(out);
      return;
    }
    ++connections_;
    pairs_.emplace_back(in, out);
  }

  // False when `from` has closed or failed.
  bool forward(int from, int to) {
    char buf[65536];
    ssize_t n = ::read(from, buf, sizeof buf);
    if (n <= 0) return false;
    {
      std::lock_guard lock(mutex_);
      seen_.append(buf, static_cast<std::size_t>(n));
    }
    for (ssize_t done = 0; done < n;) {
      ssize_t w = ::write(to, buf + done, static_cast<std::size_t>(n - done));
      if (w <= 0) return false;
      done += w;
    }
    return true;
  }

  std::uint16_t target_;
  std::uint16_t port_ = 0;
  int listen_ = -1;
  std::vector<std::pair<int, int>> pairs_;
  mutable std::mutex mutex_;
  std::string seen_;
  std::atomic<int> connections_{0};
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace

TEST_CASE("curve: curve_keypair makes distinct 40-character Z85 key pairs", "[channel][curve]") {
  brine::curve_keys a = brine::curve_keypair();
  brine::curve_keys b = brine::curve_keypair();
  CHECK(a.public_key.size() == 40);
  CHECK(a.secret_key.size() == 40);
  CHECK(a.public_key != a.secret_key);
  CHECK(a.public_key != b.public_key);
  CHECK(a.secret_key != b.secret_key);
}

TEST_CASE("curve: an encrypted pipeline across processes delivers every message, then ends",
          "[channel][curve][process]") {
  constexpr std::uint64_t total = 3000;
  brine::curve_keys server = brine::curve_keypair();
  brine::curve_keys client = brine::curve_keypair();
  std::string url = test::tcp_url();
  child sender([&] { push_notes(url, client_options(client, server.public_key), "ok", total); });
  auto rx = brine::pull<note>(url, server_options(server, {client.public_key}));
  drained d = drain(rx);
  CHECK(sender.wait() == 0);
  REQUIRE(d.got.size() == total);
  for (std::uint64_t i = 0; i < total; ++i)
    REQUIRE(same(d.got[i], make_note(i, "ok")));
  REQUIRE(d.ended);
  REQUIRE(rx.done());
}

TEST_CASE("curve: an encrypted publish/subscribe delivers every message to the subscriber",
          "[channel][curve][process]") {
  constexpr std::uint64_t total = 500;
  brine::curve_keys server = brine::curve_keypair();
  brine::curve_keys client = brine::curve_keypair();
  std::string url = test::tcp_url();
  child subscriber([&] {
    auto rx = brine::subscribe<note>(url, client_options(client, server.public_key));
    drained d = drain(rx);
    expect(d.got.size() == total, "subscriber: got " + std::to_string(d.got.size()));
    for (std::uint64_t i = 0; i < total; ++i)
      expect(same(d.got[i], make_note(i, "pub")), "subscriber: wrong note " + std::to_string(i));
    expect(d.ended, "subscriber: no end of stream");
  });
  auto tx = brine::publish<note>(url, server_options(server, {client.public_key}));
  REQUIRE(tx.wait_peers(1, 10s));
  for (std::uint64_t i = 0; i < total; ++i)
    REQUIRE(tx.send_for(make_note(i, "pub"), 10s));
  tx.close();
  REQUIRE(subscriber.wait() == 0);
}

TEST_CASE(
    "curve: a client with the wrong server key gets nothing through, and the stream "
    "survives it",
    "[channel][curve][process]") {
  brine::curve_keys server = brine::curve_keypair();
  brine::curve_keys impostor = brine::curve_keypair();
  brine::curve_keys client = brine::curve_keypair();
  std::string url = test::tcp_url();
  test::gate go;
  child intruder([&] { intrude(url, client_options(client, impostor.public_key)); });
  child sender([&] {
    expect(go.wait(), "sender: never let go");
    push_notes(url, client_options(client, server.public_key), "ok", 100);
  });
  auto rx = brine::pull<note>(url, server_options(server));
  CHECK_FALSE(rx.recv_for(1s).has_value());
  REQUIRE(intruder.wait() == 0);
  // The failed handshakes did not end the stream.
  REQUIRE_FALSE(rx.recv_for(200ms).has_value());
  REQUIRE_FALSE(rx.done());

  go.open();
  drained d = drain(rx);
  CHECK(sender.wait() == 0);
  REQUIRE(d.got.size() == 100);
  for (std::uint64_t i = 0; i < 100; ++i)
    REQUIRE(same(d.got[i], make_note(i, "ok")));
  REQUIRE(d.ended);
}

TEST_CASE("curve: a client whose key is not in allowed_clients cannot inject; an allowed one can",
          "[channel][curve][process]") {
  brine::curve_keys server = brine::curve_keypair();
  brine::curve_keys allowed = brine::curve_keypair();
  brine::curve_keys stranger = brine::curve_keypair();
  std::string url = test::tcp_url();
  test::gate go;
  child intruder([&] { intrude(url, client_options(stranger, server.public_key)); });
  child sender([&] {
    expect(go.wait(), "sender: never let go");
    push_notes(url, client_options(allowed, server.public_key), "ok", 50);
  });
  auto rx = brine::pull<note>(url, server_options(server, {allowed.public_key}));
  CHECK_FALSE(rx.recv_for(1s).has_value());
  REQUIRE(intruder.wait() == 0);
  REQUIRE_FALSE(rx.recv_for(200ms).has_value());
  REQUIRE_FALSE(rx.done());

  go.open();
  drained d = drain(rx);
  CHECK(sender.wait() == 0);
  REQUIRE(d.got.size() == 50);
  for (std::uint64_t i = 0; i < 50; ++i)
    REQUIRE(same(d.got[i], make_note(i, "ok")));
  REQUIRE(d.ended);
}

TEST_CASE("curve: an empty allowed_clients admits any client that knows the server key",
          "[channel][curve]") {
  brine::curve_keys server = brine::curve_keypair();
  auto rx = brine::pull<note>("tcp://127.0.0.1:*", server_options(server));
  auto tx =
      brine::push<note>(rx.endpoint(), client_options(brine::curve_keypair(), server.public_key));
  REQUIRE(tx.send_for(make_note(7, "any"), 5s));
  tx.close();
  drained d = drain(rx);
  REQUIRE(d.got.size() == 1);
  REQUIRE(same(d.got[0], make_note(7, "any")));
  REQUIRE(d.ended);
}

TEST_CASE("curve: each server admits only its own allowed_clients, in one process",
          "[channel][curve]") {
  brine::curve_keys server = brine::curve_keypair();
  brine::curve_keys one = brine::curve_keypair();
  brine::curve_keys two = brine::curve_keypair();
  auto rx1 = brine::pull<note>("tcp://127.0.0.1:*", server_options(server, {one.public_key}));
  auto rx2 = brine::pull<note>("tcp://127.0.0.1:*", server_options(server, {two.public_key}));

  auto wrong = client_options(one, server.public_key);
  wrong.connect_timeout = 60s;
  auto tx_wrong = brine::push<note>(rx2.endpoint(), wrong);
  REQUIRE_FALSE(tx_wrong.send_for(make_note(1, "one"), 500ms));
  REQUIRE_FALSE(rx2.try_recv().has_value());

  auto tx1 = brine::push<note>(rx1.endpoint(), client_options(one, server.public_key));
  auto tx2 = brine::push<note>(rx2.endpoint(), client_options(two, server.public_key));
  REQUIRE(tx1.send_for(make_note(1, "one"), 5s));
  REQUIRE(tx2.send_for(make_note(2, "two"), 5s));
  auto got1 = rx1.recv_for(5s);
  auto got2 = rx2.recv_for(5s);
  REQUIRE(got1.has_value());
  REQUIRE(got2.has_value());
  REQUIRE(same(*got1, make_note(1, "one")));
  REQUIRE(same(*got2, make_note(2, "two")));
  REQUIRE_FALSE(rx2.recv_for(200ms).has_value());
}

TEST_CASE("curve: a plain client cannot inject into a CURVE server", "[channel][curve][process]") {
  brine::curve_keys server = brine::curve_keypair();
  brine::curve_keys client = brine::curve_keypair();
  std::string url = test::tcp_url();
  test::gate go;
  child intruder([&] { intrude(url, brine::channel_options{}); });
  child sender([&] {
    expect(go.wait(), "sender: never let go");
    push_notes(url, client_options(client, server.public_key), "ok", 20);
  });
  auto rx = brine::pull<note>(url, server_options(server));
  CHECK_FALSE(rx.recv_for(1s).has_value());
  REQUIRE(intruder.wait() == 0);
  REQUIRE_FALSE(rx.recv_for(200ms).has_value());
  REQUIRE_FALSE(rx.done());

  go.open();
  drained d = drain(rx);
  CHECK(sender.wait() == 0);
  REQUIRE(d.got.size() == 20);
  REQUIRE(d.ended);
}

TEST_CASE("curve: a CURVE client cannot talk to a plain server either", "[channel][curve]") {
  brine::curve_keys server = brine::curve_keypair();
  auto rx = brine::pull<note>("tcp://127.0.0.1:*");
  auto tx =
      brine::push<note>(rx.endpoint(), client_options(brine::curve_keypair(), server.public_key));
  REQUIRE_FALSE(tx.send_for(make_note(1, "x"), 500ms));
  REQUIRE_FALSE(rx.recv_for(200ms).has_value());
}

TEST_CASE("curve: the stream ends when the legit client closes while an intruder keeps trying",
          "[channel][curve][process]") {
  constexpr std::uint64_t total = 200;
  brine::curve_keys server = brine::curve_keypair();
  brine::curve_keys client = brine::curve_keypair();
  brine::curve_keys stranger = brine::curve_keypair();
  std::string url = test::tcp_url();
  child intruder([&] { intrude(url, client_options(stranger, server.public_key)); });
  child sender([&] {
    auto tx = brine::push<note>(url, client_options(client, server.public_key));
    for (std::uint64_t i = 0; i < total; ++i) {
      expect(tx.send_for(make_note(i, "ok"), 10s), "sender: send_for timed out");
      if (i % 20 == 0) std::this_thread::sleep_for(20ms);
    }
  });
  auto rx = brine::pull<note>(url, server_options(server, {client.public_key}));
  auto start = steady_clock::now();
  drained d = drain(rx);
  auto took = steady_clock::now() - start;
  CHECK(sender.wait() == 0);
  CHECK(intruder.wait() == 0);
  REQUIRE(d.got.size() == total);
  for (std::uint64_t i = 0; i < total; ++i)
    REQUIRE(same(d.got[i], make_note(i, "ok")));
  REQUIRE(d.ended);
  REQUIRE(took < 4s);
}

// The CURVE handshake widens a race in ZeroMQ's I/O thread: the pipe is usable (send returns)
// before the handshake event reaches the socket monitor. A monitor closed in that window, or
// before a lingering socket's last event, used to block the I/O thread for good. Runs in a
// child so that a stuck I/O thread fails this test only.
TEST_CASE(
    "curve: senders closed right after their first send deliver, and the process stays "
    "usable",
    "[channel][curve][process]") {
  brine::curve_keys server = brine::curve_keypair();
  brine::curve_keys client = brine::curve_keypair();
  child run([&] {
    for (std::uint64_t i = 0; i < 100; ++i) {
      auto rx = brine::pull<note>("tcp://127.0.0.1:*", server_options(server));
      {
        auto tx = brine::push<note>(rx.endpoint(), client_options(client, server.public_key));
        expect(tx.send_for(make_note(i, "quick"), 5s), "send_for timed out");
      }
      auto n = rx.recv_for(5s);
      expect(n.has_value() && same(*n, make_note(i, "quick")),
             "iteration " + std::to_string(i) + ": nothing arrived");
      // Every other round the receiver leaves at once, while the sender may still linger.
      if (i % 2 == 1) continue;
      try {
        expect(!rx.recv_for(5s).has_value(), "an extra message");
        throw std::runtime_error("iteration " + std::to_string(i) + ": no end of stream");
      } catch (const brine::channel_closed&) {
      }
    }
  });
  REQUIRE(run.wait(60s) == 0);
}

// docs/channels.md: "Connected" means a completed handshake, "so a port scanner or a client
// with a wrong key neither counts nor ends anyone's stream". A peer that opens a TCP connection
// and never completes the handshake must not hold the stream open either.
TEST_CASE("curve: an idle unauthenticated TCP connection does not hold back end of stream",
          "[channel][curve][process]") {
  brine::curve_keys server = brine::curve_keypair();
  brine::curve_keys client = brine::curve_keypair();
  std::string url = test::tcp_url();
  test::gate go;
  child sender([&] {
    expect(go.wait(), "sender: never let go");
    push_notes(url, client_options(client, server.public_key), "ok", 10);
  });
  auto rx = brine::pull<note>(url, server_options(server, {client.public_key}));

  int squatter = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(squatter >= 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port_of(url));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::connect(squatter, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);

  go.open();
  drained d = drain(rx, 3s);
  ::close(squatter);
  CHECK(sender.wait() == 0);
  REQUIRE(d.got.size() == 10);
  REQUIRE(d.ended);
}

TEST_CASE("curve: a CURVE server in a forked child admits its own clients only",
          "[channel][curve][process]") {
  brine::curve_keys server = brine::curve_keypair();
  brine::curve_keys parents_client = brine::curve_keypair();
  brine::curve_keys childs_client = brine::curve_keypair();
  if (test::fork_needs_one_thread) {
    WARN("skipped under AddressSanitizer: this test forks while ZeroMQ threads run");
    return;
  }
  // The parent runs a CURVE server (and so its authentication handler) before the fork.
  auto parents =
      brine::pull<note>("tcp://127.0.0.1:*", server_options(server, {parents_client.public_key}));
  int fds[2];
  REQUIRE(::pipe2(fds, O_CLOEXEC) == 0);
  child server_child([&] {
    ::close(fds[0]);
    auto rx =
        brine::pull<note>("tcp://127.0.0.1:*", server_options(server, {childs_client.public_key}));
    std::uint16_t port = port_of(rx.endpoint());
    expect(::write(fds[1], &port, sizeof port) == static_cast<ssize_t>(sizeof port),
           "cannot write the port");
    drained d = drain(rx);
    expect(d.got.size() == 1 && same(d.got[0], make_note(1, "child's")),
           "child: got " + std::to_string(d.got.size()) + " notes");
    expect(d.ended, "child: no end of stream");
  });
  ::close(fds[1]);
  std::uint16_t port = 0;
  pollfd pfd{fds[0], POLLIN, 0};
  bool got_port = ::poll(&pfd, 1, 10'000) == 1 &&
                  ::read(fds[0], &port, sizeof port) == static_cast<ssize_t>(sizeof port);
  ::close(fds[0]);
  REQUIRE(got_port);
  std::string url = "tcp://127.0.0.1:" + std::to_string(port);

  auto refused = client_options(parents_client, server.public_key);
  refused.connect_timeout = 60s;
  auto stranger = brine::push<note>(url, refused);
  REQUIRE_FALSE(stranger.send_for(make_note(0, "parent's"), 500ms));
  stranger.close();

  auto tx = brine::push<note>(url, client_options(childs_client, server.public_key));
  REQUIRE(tx.wait_peers(1, 10s));
  REQUIRE(tx.send_for(make_note(1, "child's"), 5s));
  tx.close();
  REQUIRE(server_child.wait() == 0);
  REQUIRE_FALSE(parents.try_recv().has_value());
}

TEST_CASE("curve: a plain subscriber to a CURVE publisher receives nothing", "[channel][curve]") {
  brine::curve_keys server = brine::curve_keypair();
  brine::curve_keys client = brine::curve_keypair();
  auto tx = brine::publish<note>("tcp://127.0.0.1:*", server_options(server));
  auto spy = brine::subscribe<note>(tx.endpoint());
  auto rx = brine::subscribe<note>(tx.endpoint(), client_options(client, server.public_key));
  REQUIRE(tx.wait_peers(1, 10s));
  for (std::uint64_t i = 0; i < 20; ++i)
    REQUIRE(tx.send_for(make_note(i, "pub"), 5s));
  for (std::uint64_t i = 0; i < 20; ++i) {
    auto n = rx.recv_for(5s);
    REQUIRE(n.has_value());
    REQUIRE(same(*n, make_note(i, "pub")));
  }
  REQUIRE_FALSE(spy.recv_for(300ms).has_value());
  // The spy never counts as a subscriber.
  REQUIRE_FALSE(tx.wait_peers(2, 300ms));
}

TEST_CASE(
    "curve: a plain puller on a CURVE pusher receives nothing; every message goes to the "
    "legit puller",
    "[channel][curve]") {
  brine::curve_keys server = brine::curve_keypair();
  brine::curve_keys client = brine::curve_keypair();
  brine::channel_options so = server_options(server);
  so.bind = true;
  auto tx = brine::push<note>("tcp://127.0.0.1:*", so);
  brine::channel_options spy_options;
  spy_options.bind = false;
  spy_options.connect_timeout = 1500ms;
  auto spy = brine::pull<note>(tx.endpoint(), spy_options);
  brine::channel_options co = client_options(client, server.public_key);
  co.bind = false;
  auto rx = brine::pull<note>(tx.endpoint(), co);
  REQUIRE(tx.wait_peers(1, 10s));
  for (std::uint64_t i = 0; i < 50; ++i)
    REQUIRE(tx.send_for(make_note(i, "push"), 5s));
  tx.close();
  drained d = drain(rx);
  REQUIRE(d.got.size() == 50);
  REQUIRE(d.ended);
  REQUIRE_FALSE(spy.recv_for(300ms).has_value());
  // Never connected: the spy hears "unreachable" once its connect_timeout has passed.
  REQUIRE_THROWS_AS(spy.recv_for(5s), brine::transport_error);
}

TEST_CASE("curve: bytes on the wire do not carry the plaintext, which a plain channel does",
          "[channel][curve]") {
  const std::string marker = "brine-plaintext-marker-5b1e0c7d";
  brine::curve_keys server = brine::curve_keypair();
  brine::curve_keys client = brine::curve_keypair();
  for (bool encrypted : {true, false}) {
    CAPTURE(encrypted);
    auto rx = brine::pull<note>("tcp://127.0.0.1:*",
                                encrypted ? server_options(server) : brine::channel_options{});
    tcp_relay relay(port_of(rx.endpoint()));
    auto tx = brine::push<note>(
        "tcp://127.0.0.1:" + std::to_string(relay.port()),
        encrypted ? client_options(client, server.public_key) : brine::channel_options{});
    note n{1, "wire", marker + marker, std::vector<std::uint8_t>(marker.begin(), marker.end())};
    REQUIRE(tx.send_for(n, 5s));
    tx.close();
    auto got = rx.recv_for(5s);
    REQUIRE(got.has_value());
    REQUIRE(same(*got, n));
    REQUIRE(relay.connections() >= 1);
    std::string wire = relay.seen();
    REQUIRE(wire.size() > marker.size());
    if (encrypted) {
      REQUIRE(wire.find(marker) == std::string::npos);
      REQUIRE(wire.find("CURVE") != std::string::npos);  // the greeting names the mechanism
    } else {
      REQUIRE(wire.find(marker) != std::string::npos);  // the relay does see plaintext
    }
  }
}

TEST_CASE("curve: a malformed key is a transport_error when the channel is made",
          "[channel][curve]") {
  brine::curve_keys server = brine::curve_keypair();
  brine::curve_keys client = brine::curve_keypair();
  const std::string url = "tcp://127.0.0.1:*";

  SECTION("server public key one character short") {
    brine::curve_keys bad = server;
    bad.public_key.pop_back();
    REQUIRE_THROWS_AS(brine::pull<note>(url, server_options(bad)), brine::transport_error);
  }
  SECTION("server secret key one character long") {
    brine::curve_keys bad = server;
    bad.secret_key += "x";
    REQUIRE_THROWS_AS(brine::pull<note>(url, server_options(bad)), brine::transport_error);
  }
  SECTION("empty key pair") {
    REQUIRE_THROWS_AS(brine::pull<note>(url, server_options(brine::curve_keys{})),
                      brine::transport_error);
  }
  SECTION("allowed client key of the wrong length") {
    REQUIRE_THROWS_AS(brine::pull<note>(url, server_options(server, {"too-short"})),
                      brine::transport_error);
  }
  SECTION("client: server key of the wrong length") {
    auto o = client_options(client, server.public_key.substr(0, 39));
    REQUIRE_THROWS_AS(brine::push<note>("tcp://127.0.0.1:9", o), brine::transport_error);
  }
  SECTION("client: own secret key of the wrong length") {
    brine::curve_keys bad = client;
    bad.secret_key = bad.secret_key.substr(0, 20);
    REQUIRE_THROWS_AS(
        brine::push<note>("tcp://127.0.0.1:9", client_options(bad, server.public_key)),
        brine::transport_error);
  }
  SECTION("40 characters that are not Z85") {
    brine::curve_keys bad = server;
    bad.public_key = std::string(40, ' ');
    REQUIRE_THROWS_AS(brine::pull<note>(url, server_options(bad)), brine::transport_error);
  }
  SECTION("allowed client key: 40 characters that are not Z85") {
    REQUIRE_THROWS_AS(brine::pull<note>(url, server_options(server, {std::string(40, ' ')})),
                      brine::transport_error);
  }
  SECTION("CURVE on inproc://") {
    REQUIRE_THROWS_AS(brine::pull<note>(test::inproc_url("curve"), server_options(server)),
                      brine::transport_error);
  }
}
