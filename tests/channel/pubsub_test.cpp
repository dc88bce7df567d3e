// Publish/subscribe: every subscriber gets every message sent after it joined; topics; end of
// stream; slow subscribers.

#include <signal.h>

#include <catch2/catch.hpp>
#include <cstdint>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "brine/channel.hpp"
#include "channel_test_util.hpp"

using namespace std::chrono_literals;

namespace {

struct tick {
  std::string symbol;
  std::uint64_t seq = 0;
  double price = 0;
};

}  // namespace

TEST_CASE("subscribe: every subscriber gets every message, in order, then the end",
          "[channel][zmq][pubsub]") {
  for (std::string where :
       {test::ipc_url("all"), test::inproc_url("all"), std::string("tcp://127.0.0.1:*")}) {
    CAPTURE(where);
    auto pub = brine::publish<tick>(where);
    std::string url = pub.endpoint();
    auto a = brine::subscribe<tick>(url);
    auto b = brine::subscribe<tick>(url);
    REQUIRE(pub.wait_peers(2, 10s));
    for (std::uint64_t i = 0; i < 2000; ++i)
      pub.send(tick{"X", i, 1.5 * double(i)});
    pub.close();
    // Each subscriber reads on its own thread, as separate programs would: over ipc the end of
    // stream reaches them once every subscriber has read everything (docs/channels.md).
    auto drain = [](brine::receiver<tick>& rx) {
      std::uint64_t next = 0;
      bool in_order = true;
      for (tick& t : rx) {
        in_order = in_order && t.seq == next && t.price == 1.5 * double(next);
        ++next;
      }
      return in_order ? next : 0;
    };
    std::uint64_t got_b = 0;
    std::thread tb([&] { got_b = drain(b); });
    std::uint64_t got_a = drain(a);
    tb.join();
    REQUIRE(got_a == 2000);
    REQUIRE(got_b == 2000);
  }
}

TEST_CASE("subscribe: a late joiner gets exactly what was published after it joined",
          "[channel][zmq][pubsub]") {
  auto pub = brine::publish<tick>(test::ipc_url("late"));
  auto early = brine::subscribe<tick>(pub.endpoint());
  REQUIRE(pub.wait_peers(1, 10s));
  for (std::uint64_t i = 0; i < 100; ++i)
    pub.send(tick{"A", i, 0});
  auto late = brine::subscribe<tick>(pub.endpoint());
  REQUIRE(pub.wait_peers(2, 10s));
  for (std::uint64_t i = 100; i < 200; ++i)
    pub.send(tick{"A", i, 0});
  pub.close();
  std::uint64_t n = 0;
  for (tick& t : early)
    REQUIRE(t.seq == n++);
  REQUIRE(n == 200);
  n = 100;
  for (tick& t : late)
    REQUIRE(t.seq == n++);
  REQUIRE(n == 200);
}

TEST_CASE("subscribe: topics filter by prefix and the topic is reported",
          "[channel][zmq][pubsub]") {
  auto pub = brine::publish<tick>(test::ipc_url("topics"));
  brine::channel_options o;
  o.topics = {"eu.", "us.nyse"};
  auto some = brine::subscribe<tick>(pub.endpoint(), o);
  auto all = brine::subscribe<tick>(pub.endpoint());
  REQUIRE(pub.wait_peers(2, 10s));
  std::vector<std::string> topics = {"eu.xetra", "us.nyse", "us.nasdaq", "asia.tse", "eu.lse"};
  for (std::uint64_t i = 0; i < 50; ++i) {
    const std::string& t = topics[i % topics.size()];
    pub.send(t, tick{t, i, 0});
  }
  pub.close();
  std::uint64_t got = 0;
  for (tick& t : some) {
    REQUIRE(some.topic() == t.symbol);
    REQUIRE((t.symbol.rfind("eu.", 0) == 0 || t.symbol == "us.nyse"));
    ++got;
  }
  REQUIRE(got == 30);
  got = 0;
  for (tick& t : all) {
    REQUIRE(all.topic() == t.symbol);
    ++got;
  }
  REQUIRE(got == 50);
}

TEST_CASE("publish: a topic on a pipeline sender is an error", "[channel][zmq][pubsub]") {
  auto rx = brine::pull<int>(test::inproc_url("no-topic"));
  auto tx = brine::push<int>(rx.endpoint());
  REQUIRE_THROWS_AS(tx.send("t", 1), brine::error);
}

TEST_CASE("publish: a slow subscriber holds the publisher back and loses nothing",
          "[channel][zmq][pubsub][process]") {
  brine::channel_options o;
  o.high_water_mark = 20;
  std::string url = test::ipc_url("slow");
  std::string results = test::ipc_url("slow-results");
  pid_t kid = test::spawn([&] {
    brine::channel_options so;
    so.high_water_mark = 20;
    auto sub = brine::subscribe<std::vector<std::uint8_t>>(url, so);
    std::uint64_t n = 0;
    for (auto& m : sub) {
      if (m.size() != 64 * 1024 || m[0] != std::uint8_t(n)) break;
      ++n;
      std::this_thread::sleep_for(200us);
    }
    brine::push<std::uint64_t>(results).send(n);
  });
  auto pub = brine::publish<std::vector<std::uint8_t>>(url, o);
  auto back = brine::pull<std::uint64_t>(results);
  REQUIRE(pub.wait_peers(1, 10s));
  std::vector<std::uint8_t> m(64 * 1024);
  std::uint64_t waits = 0;
  for (std::uint64_t i = 0; i < 1000; ++i) {
    m[0] = std::uint8_t(i);
    if (!pub.try_send(m)) {
      ++waits;
      pub.send(m);
    }
  }
  pub.close();
  auto n = back.recv_for(60s);
  REQUIRE(n);
  REQUIRE(*n == 1000);
  REQUIRE(waits > 0);
  REQUIRE(test::wait_child(kid) == 0);
}

TEST_CASE("publish: with slow_subscriber::drop a stuck subscriber never blocks the publisher",
          "[channel][zmq][pubsub]") {
  brine::channel_options o;
  o.high_water_mark = 10;
  o.on_slow_subscriber = brine::slow_subscriber::drop;
  auto pub = brine::publish<std::vector<std::uint8_t>>(test::ipc_url("drop"), o);
  auto sub = brine::subscribe<std::vector<std::uint8_t>>(pub.endpoint(), o);
  REQUIRE(pub.wait_peers(1, 10s));
  std::vector<std::uint8_t> m(64 * 1024, 3);
  for (int i = 0; i < 2000; ++i)
    REQUIRE(pub.try_send(m));
  pub.close();
  std::uint64_t got = 0;
  for (auto& v : sub) {
    REQUIRE(v == m);
    ++got;
  }
  REQUIRE(got > 0);
  REQUIRE(got < 2000);  // the rest was dropped for this subscriber, as asked
}

TEST_CASE("subscribe: a killed publisher ends the stream", "[channel][zmq][pubsub][process]") {
  std::string url = test::ipc_url("killed-pub");
  std::string ready = test::ipc_url("killed-pub-ready");
  pid_t kid = test::spawn([&] {
    auto pub = brine::publish<tick>(url);
    auto say = brine::push<int>(ready);
    if (!pub.wait_peers(1, 20s)) throw std::runtime_error("no subscriber");
    say.send(1);
    for (std::uint64_t i = 0;; ++i)
      pub.send(tick{"K", i, 0});
  });
  auto go = brine::pull<int>(ready);
  brine::channel_options so;
  so.connect_timeout = 20s;
  auto sub = brine::subscribe<tick>(url, so);
  REQUIRE(go.recv_for(20s) == 1);
  std::uint64_t next = 0;
  for (; next < 500; ++next) {
    auto t = sub.recv_for(20s);
    REQUIRE(t);
    REQUIRE(t->seq == next);
  }
  ::kill(kid, SIGKILL);
  REQUIRE(test::wait_child(kid) == 128 + SIGKILL);
  REQUIRE(test::drain(sub, [&](const tick& t) { REQUIRE(t.seq == next++); }));
  std::filesystem::remove(url.substr(std::string("ipc://").size()));  // its killed binder's file
}

TEST_CASE("publish: a subscriber killed while holding the publisher back holds it no longer",
          "[channel][zmq][pubsub][process]") {
  std::string url = test::ipc_url("dead-sub");
  brine::channel_options o;
  o.high_water_mark = 10;  // block (the default) for a full subscriber
  pid_t kid = test::spawn([&] {
    auto sub = brine::subscribe<std::vector<std::uint8_t>>(url, o);
    std::this_thread::sleep_for(60s);  // joins, never reads; killed long before this ends
  });
  auto pub = brine::publish<std::vector<std::uint8_t>>(url, o);
  REQUIRE(pub.wait_peers(1, 20s));
  std::vector<std::uint8_t> m(64 * 1024, 7);
  int sent = 0;
  while (sent < 10'000 && pub.send_for(m, 500ms))  // until the subscriber's queues are full
    ++sent;
  REQUIRE(sent < 10'000);
  ::kill(kid, SIGKILL);
  REQUIRE(test::wait_child(kid) == 128 + SIGKILL);
  // Once the connection is gone the publisher sends again, to nobody.
  REQUIRE(pub.send_for(m, 10s));
  REQUIRE(pub.send_for(m, 10s));
}
