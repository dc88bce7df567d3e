// Bad input to channels: malformed URLs, addresses in use, unreachable peers, messages of
// another type, bytes not made by brine. Each is a clear brine::error; nothing else is lost.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdint>
#include <string>
#include <vector>
#include <zmq.hpp>

#include "brine/channel.hpp"
#include "channel_test_util.hpp"

using namespace std::chrono_literals;

namespace {

struct order {
  std::string item;
  int quantity = 0;
};

std::string message_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const brine::error& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST_CASE("channels: malformed URLs are transport_error naming the problem", "[channel][zmq]") {
  struct bad {
    std::string url;
    std::string says;
  };
  for (const bad& b : std::vector<bad>{
           {"", "scheme://address"},
           {"jobs", "scheme://address"},
           {"://x", "scheme://address"},
           {"udp://127.0.0.1:5", "unknown scheme 'udp'"},
           {"tcp://", "empty"},
           {"tcp://127.0.0.1", "host:port"},
           {"tcp://127.0.0.1:http", "port"},
           {"tcp://127.0.0.1:70000", "port"},
           {"ipc://", "empty"},
           {"ipc:///tmp/" + std::string(200, 'x'), "107"},
           {"inproc://", "empty"},
       }) {
    CAPTURE(b.url);
    REQUIRE_THROWS_AS(brine::pull<int>(b.url), brine::transport_error);
    REQUIRE_THROWS_AS(brine::push<int>(b.url), brine::transport_error);
    std::string what = message_of([&] { brine::pull<int>(b.url); });
    CHECK_THAT(what, Catch::Contains(b.says));
  }
  REQUIRE_THROWS_AS(brine::pull<int>(std::vector<std::string>{}), brine::transport_error);
  REQUIRE_THROWS_AS(brine::pull<int>(std::vector<std::string>{"inproc://a", "ipc:///tmp/b"}),
                    brine::transport_error);
}

TEST_CASE("channels: an address in use is transport_error", "[channel][zmq]") {
  auto first = brine::pull<int>("tcp://127.0.0.1:*");
  std::string taken = first.endpoint();
  REQUIRE_THROWS_AS(brine::pull<int>(taken), brine::transport_error);
  CHECK_THAT(message_of([&] { brine::pull<int>(taken); }), Catch::Contains("in use"));

  std::string path = test::ipc_url("taken");
  auto owner = brine::pull<int>(path);
  REQUIRE_THROWS_AS(brine::pull<int>(path), brine::transport_error);
  // The first binder still works: it was not silently robbed of its address.
  auto tx = brine::push<int>(path);
  tx.send(5);
  REQUIRE(owner.recv_for(10s) == 5);

  std::string name = test::inproc_url("taken");
  auto in = brine::pull<int>(name);
  REQUIRE_THROWS_AS(brine::pull<int>(name), brine::transport_error);
}

TEST_CASE("channels: an unreachable endpoint is transport_error after connect_timeout",
          "[channel][zmq]") {
  // A port held by a socket that never listens: connecting there is refused, and no other test
  // can take it meanwhile.
  int holder = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(holder >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(holder, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  socklen_t len = sizeof addr;
  REQUIRE(::getsockname(holder, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
  std::string nowhere = "tcp://127.0.0.1:" + std::to_string(ntohs(addr.sin_port));
  struct closer {
    int fd;
    ~closer() { ::close(fd); }
  } hold{holder};
  brine::channel_options o;
  o.connect_timeout = 300ms;
  auto tx = brine::push<int>(nowhere, o);
  auto start = std::chrono::steady_clock::now();
  REQUIRE_THROWS_AS(tx.send(1), brine::transport_error);
  REQUIRE(std::chrono::steady_clock::now() - start < 10s);
  CHECK_THAT(message_of([&] { tx.send(1); }), Catch::Contains("no connection"));

  auto rx = brine::pull<int>(">" + test::ipc_url("nobody"), o);
  REQUIRE_THROWS_AS(rx.recv_for(30s), brine::transport_error);
  // A name that does not resolve fails at once (and never stalls other channels' I/O).
  REQUIRE_THROWS_AS(brine::subscribe<int>("tcp://no-such-host.invalid:5555", o),
                    brine::transport_error);
  CHECK_THAT(message_of([&] { brine::push<int>("tcp://no-such-host.invalid:5555", o); }),
             Catch::Contains("resolve"));
}

TEST_CASE("channels: IPv6 loopback and host names work", "[channel][zmq]") {
  auto rx = brine::pull<int>("tcp://[::1]:*");
  std::string url = rx.endpoint();
  auto tx = brine::push<int>(url);
  tx.send(6);
  REQUIRE(rx.recv_for(10s) == 6);
  auto rx4 = brine::pull<int>("tcp://127.0.0.1:*");
  std::string port = rx4.endpoint().substr(rx4.endpoint().rfind(':'));
  auto tx4 = brine::push<int>("tcp://localhost" + port);
  tx4.send(4);
  REQUIRE(rx4.recv_for(10s) == 4);
}

TEST_CASE("channels: endpoint() gives a bound IPv4 address in the form it was given",
          "[channel][zmq]") {
  auto rx = brine::pull<int>("tcp://127.0.0.1:*");
  std::string url = rx.endpoint();
  CHECK(url.starts_with("tcp://127.0.0.1:"));
  CHECK(std::stoi(url.substr(url.rfind(':') + 1)) > 0);
  auto rx6 = brine::pull<int>("tcp://[::1]:*");
  CHECK(rx6.endpoint().starts_with("tcp://[::1]:"));
  auto tx = brine::push<int>(url);
  tx.send(7);
  REQUIRE(rx.recv_for(10s) == 7);
}

TEST_CASE("pull: a message of another type is type_mismatch and loses nothing else",
          "[channel][zmq]") {
  std::string url = test::ipc_url("mismatch");
  auto rx = brine::pull<order>(url);
  auto good = brine::push<order>(url);
  auto wrong = brine::push<std::vector<int>>(url);
  good.send(order{"apple", 3});
  REQUIRE(rx.recv_for(10s)->item == "apple");
  wrong.send(std::vector<int>{1, 2, 3});
  std::string what;
  try {
    (void)rx.recv_for(10s);
  } catch (const brine::type_mismatch& e) {
    what = e.what();
  }
  CHECK_THAT(what, Catch::Contains("order"));
  CHECK_THAT(what, Catch::Contains("vector"));
  good.send(order{"pear", 4});
  auto next = rx.recv_for(10s);
  REQUIRE(next);
  REQUIRE(next->item == "pear");
  REQUIRE(next->quantity == 4);
}

TEST_CASE("pull: bytes not made by brine are decode_error and the channel goes on",
          "[channel][zmq]") {
  std::string url = test::ipc_url("garbage");
  auto rx = brine::pull<order>(url);
  ::zmq::context_t ctx;
  ::zmq::socket_t raw(ctx, ::zmq::socket_type::push);
  raw.set(::zmq::sockopt::linger, 1000);
  raw.connect(url);
  raw.send(::zmq::str_buffer("not a brine frame"), ::zmq::send_flags::none);
  REQUIRE_THROWS_AS(rx.recv_for(10s), brine::decode_error);
  raw.send(::zmq::str_buffer("part one"), ::zmq::send_flags::sndmore);
  raw.send(::zmq::str_buffer("part two"), ::zmq::send_flags::none);
  REQUIRE_THROWS_AS(rx.recv_for(10s), brine::decode_error);
  std::vector<std::byte> good = brine::dumps(order{"fig", 9});
  std::vector<std::byte> cut(good.begin(), good.end() - 1);
  raw.send(::zmq::buffer(cut), ::zmq::send_flags::none);
  REQUIRE_THROWS_AS(rx.recv_for(10s), brine::decode_error);
  raw.send(::zmq::buffer(good), ::zmq::send_flags::none);
  auto o = rx.recv_for(10s);
  REQUIRE(o);
  REQUIRE(o->item == "fig");
  raw.close();
}

TEST_CASE("pull: a message over the frame limit is refused before it is allocated",
          "[channel][zmq]") {
  brine::channel_options o;
  o.decode_limits.max_frame = 4096;
  std::string url = test::ipc_url("limit");
  auto rx = brine::pull<std::vector<std::uint8_t>>(url, o);
  auto tx = brine::push<std::vector<std::uint8_t>>(url);
  tx.send(std::vector<std::uint8_t>(100, 1));
  REQUIRE(rx.recv_for(10s)->size() == 100);
  // ZeroMQ itself drops the connection of a peer sending more than the limit; its stream ends.
  tx.send(std::vector<std::uint8_t>(100000, 1));
  REQUIRE_THROWS_AS(rx.recv_for(10s), brine::channel_closed);
}

TEST_CASE("channels: CURVE on inproc and malformed keys are transport_error", "[channel][zmq]") {
  brine::channel_options o;
  o.curve = brine::curve_options{brine::curve_keypair(), "", {}};
  REQUIRE_THROWS_AS(brine::pull<int>(test::inproc_url("curve"), o), brine::transport_error);
  o.curve->keys.public_key = "short";
  REQUIRE_THROWS_AS(brine::pull<int>("tcp://127.0.0.1:*", o), brine::transport_error);
}
