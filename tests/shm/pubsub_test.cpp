// shm:// publish/subscribe across processes: every subscriber gets every message published after
// it joined, in order, then the end; topics; slow subscribers held back or skipped and counted;
// all-or-nothing sends; dead subscribers and publishers; messages longer than a ring.

#include <signal.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "../channel/channel_test_util.hpp"
#include "brine/channel.hpp"

using namespace std::chrono_literals;

namespace {

std::string shm_url(const std::string& name) {
  static int counter = 0;
  return "shm://test-" + std::to_string(::getpid()) + "-ps" + std::to_string(counter++) + "-" +
         name;
}

struct tick {
  std::string symbol;
  std::uint64_t seq = 0;
  std::vector<std::uint8_t> payload;
};

// A tick whose payload (0 to 3 slots long) is a function of its sequence number.
tick make_tick(std::uint64_t seq) {
  tick t{"T", seq, std::vector<std::uint8_t>((seq * 997) % 12000)};
  for (std::size_t i = 0; i < t.payload.size(); ++i)
    t.payload[i] = std::uint8_t(seq + i);
  return t;
}

bool valid(const tick& t) { return t.payload == make_tick(t.seq).payload; }

}  // namespace

TEST_CASE("shm pubsub: two subscriber processes get every message, in order, then the end",
          "[shm][pubsub][process]") {
  std::string url = shm_url("all");
  std::string results = test::ipc_url("shm-ps-all");
  constexpr std::uint64_t count = 3000;
  std::vector<pid_t> kids;  // forked before this process has threads (ZeroMQ's)
  for (int k = 0; k < 2; ++k) {
    kids.push_back(test::spawn([&] {
      auto sub = brine::subscribe<tick>(url);
      std::uint64_t next = 0;
      for (tick& t : sub) {
        if (t.seq != next || !valid(t)) break;
        ++next;
      }
      brine::push<std::uint64_t>(results).send(next);
    }));
  }
  auto back = brine::pull<std::uint64_t>(results);
  auto pub = brine::publish<tick>(url);
  REQUIRE(pub.wait_peers(2, 20s));
  for (std::uint64_t i = 0; i < count; ++i)
    pub.send(make_tick(i));
  pub.close();
  for (int k = 0; k < 2; ++k)
    REQUIRE(back.recv_for(60s) == count);
  for (pid_t kid : kids)
    REQUIRE(test::wait_child(kid) == 0);
}

TEST_CASE("shm pubsub: a late joiner gets exactly what was published after it joined",
          "[shm][pubsub]") {
  std::string url = shm_url("late");
  auto pub = brine::publish<std::uint64_t>(url);
  auto early = brine::subscribe<std::uint64_t>(url);
  for (std::uint64_t i = 0; i < 100; ++i)
    pub.send(i);
  auto late = brine::subscribe<std::uint64_t>(url);
  REQUIRE(pub.wait_peers(2, 1s));
  for (std::uint64_t i = 100; i < 200; ++i)
    pub.send(i);
  pub.close();
  std::uint64_t n = 0;
  REQUIRE(test::drain(early, [&](std::uint64_t v) { REQUIRE(v == n++); }));
  REQUIRE(n == 200);
  n = 100;
  REQUIRE(test::drain(late, [&](std::uint64_t v) { REQUIRE(v == n++); }));
  REQUIRE(n == 200);
}

TEST_CASE("shm pubsub: topics filter by prefix and the topic is reported", "[shm][pubsub]") {
  std::string url = shm_url("topics");
  auto pub = brine::publish<std::string>(url);
  brine::channel_options o;
  o.topics = {"eu.", "us.nyse"};
  auto some = brine::subscribe<std::string>(url, o);
  auto all = brine::subscribe<std::string>(url);
  std::vector<std::string> topics = {"eu.xetra", "us.nyse", "us.nasdaq", "asia.tse", "eu.lse", ""};
  for (std::uint64_t i = 0; i < 60; ++i) {
    const std::string& t = topics[i % topics.size()];
    pub.send(t, t);
  }
  pub.close();
  std::uint64_t got = 0;
  REQUIRE(test::drain(some, [&](const std::string& s) {
    REQUIRE(some.topic() == s);
    REQUIRE((s.rfind("eu.", 0) == 0 || s == "us.nyse"));
    ++got;
  }));
  REQUIRE(got == 30);
  got = 0;
  REQUIRE(test::drain(all, [&](const std::string& s) {
    REQUIRE(all.topic() == s);
    ++got;
  }));
  REQUIRE(got == 60);
}

TEST_CASE("shm pubsub: a slow subscriber process holds the publisher back and loses nothing",
          "[shm][pubsub][process]") {
  std::string url = shm_url("slow");
  std::string results = test::ipc_url("shm-ps-slow");
  brine::channel_options o;
  o.high_water_mark = 8;
  pid_t kid = test::spawn([&] {
    auto sub = brine::subscribe<tick>(url, o);
    std::uint64_t next = 0;
    for (tick& t : sub) {
      if (t.seq != next || !valid(t)) break;
      ++next;
      std::this_thread::sleep_for(100us);
    }
    brine::push<std::uint64_t>(results).send(next);
  });
  auto back = brine::pull<std::uint64_t>(results);
  auto pub = brine::publish<tick>(url, o);
  auto fast = brine::subscribe<tick>(url, o);  // this one reads only at the end
  REQUIRE(pub.wait_peers(2, 20s));
  std::uint64_t waits = 0, sent = 0;
  std::uint64_t next_fast = 0;
  for (; sent < 400; ++sent) {
    tick t = make_tick(sent);
    while (!pub.try_send(t)) {
      ++waits;
      // Full: the fast subscriber reads what it has; the slow one in its own time.
      while (auto got = fast.try_recv()) {
        REQUIRE(got->seq == next_fast++);
        REQUIRE(valid(*got));
      }
      std::this_thread::sleep_for(50us);
    }
  }
  pub.close();
  REQUIRE(test::drain(fast, [&](const tick& t) { REQUIRE(t.seq == next_fast++); }));
  REQUIRE(next_fast == sent);
  REQUIRE(back.recv_for(60s) == sent);
  REQUIRE(waits > 0);
  REQUIRE(pub.dropped() == 0);
  REQUIRE(test::wait_child(kid) == 0);
}

TEST_CASE("shm pubsub: a timed-out send reaches no subscriber at all", "[shm][pubsub]") {
  std::string url = shm_url("all-or-nothing");
  brine::channel_options o;
  o.high_water_mark = 4;
  auto pub = brine::publish<std::uint64_t>(url, o);
  auto reader = brine::subscribe<std::uint64_t>(url, o);
  auto stuck = brine::subscribe<std::uint64_t>(url, o);  // never reads
  std::uint64_t sent = 0;
  while (pub.send_for(sent, 50ms)) {
    ++sent;
    REQUIRE(reader.recv_for(1s) == sent - 1);  // the reader keeps up
  }
  REQUIRE(sent == 4);  // the stuck one's ring is full
  REQUIRE_FALSE(pub.try_send(99));
  REQUIRE_FALSE(reader.try_recv());  // neither send reached the reader
  // The stuck subscriber leaves: the publisher goes on with the other.
  stuck.close();
  REQUIRE(pub.send_for(std::uint64_t{100}, 1s));
  REQUIRE(reader.recv_for(1s) == 100u);
}

TEST_CASE("shm pubsub: slow_subscriber::drop skips a full subscriber and counts each skip",
          "[shm][pubsub]") {
  std::string url = shm_url("drop");
  brine::channel_options o;
  o.high_water_mark = 16;
  o.on_slow_subscriber = brine::slow_subscriber::drop;
  auto pub = brine::publish<tick>(url, o);
  auto stuck = brine::subscribe<tick>(url, o);  // reads only at the end
  auto reader = brine::subscribe<tick>(url, o);
  std::uint64_t next_reader = 0;
  for (std::uint64_t i = 0; i < 2000; ++i) {
    REQUIRE(pub.try_send(make_tick(i % 5)));  // up to 2 slots each: never waits
    while (auto t = reader.try_recv()) {
      REQUIRE(t->seq == next_reader++ % 5);
      REQUIRE(valid(*t));
    }
  }
  pub.close();
  REQUIRE(test::drain(reader, [&](const tick& t) { REQUIRE(t.seq == next_reader++ % 5); }));
  REQUIRE(next_reader == 2000);  // the reader missed nothing
  std::uint64_t got = 0;
  REQUIRE(test::drain(stuck, [&](const tick& t) {
    REQUIRE(valid(t));
    ++got;
  }));
  REQUIRE(got > 0);
  REQUIRE(got <= 16);
  REQUIRE(pub.dropped() == 2000 - got);  // every message the stuck one lacks is counted
}

TEST_CASE("shm pubsub: a subscriber killed while holding the publisher back holds it no longer",
          "[shm][pubsub][process]") {
  std::string url = shm_url("dead-sub");
  brine::channel_options o;
  o.high_water_mark = 8;
  pid_t kid = test::spawn([&] {
    auto sub = brine::subscribe<std::uint64_t>(url, o);
    std::this_thread::sleep_for(60s);  // joins, never reads; killed long before this ends
  });
  auto pub = brine::publish<std::uint64_t>(url, o);
  REQUIRE(pub.wait_peers(1, 20s));
  std::uint64_t sent = 0;
  while (sent < 1000 && pub.send_for(sent, 300ms))
    ++sent;
  REQUIRE(sent == 8);
  ::kill(kid, SIGKILL);
  REQUIRE(test::wait_child(kid) == 128 + SIGKILL);
  REQUIRE(pub.send_for(sent, 10s));  // its place is freed: nobody left to wait for
  // A subscriber taking the dead one's place starts with what is published from then on.
  auto next = brine::subscribe<std::uint64_t>(url, o);
  REQUIRE(pub.send_for(std::uint64_t{500}, 10s));
  pub.close();
  std::vector<std::uint64_t> got;
  REQUIRE(test::drain(next, [&](std::uint64_t v) { got.push_back(v); }));
  REQUIRE(got == std::vector<std::uint64_t>{500});
}

TEST_CASE("shm pubsub: a killed publisher ends the stream with a gapless prefix",
          "[shm][pubsub][process]") {
  std::string url = shm_url("killed-pub");
  auto sub = brine::subscribe<tick>(url);
  pid_t kid = test::spawn([&] {
    auto pub = brine::publish<tick>(url);
    for (std::uint64_t i = 0;; ++i)
      pub.send(make_tick(i));
  });
  std::uint64_t next = 0;
  for (; next < 300; ++next) {
    auto t = sub.recv_for(20s);
    REQUIRE(t);
    REQUIRE(t->seq == next);
  }
  ::kill(kid, SIGKILL);
  REQUIRE(test::wait_child(kid) == 128 + SIGKILL);
  REQUIRE(test::drain(sub, [&](const tick& t) {
    REQUIRE(t.seq == next++);
    REQUIRE(valid(t));
  }));
}

TEST_CASE("shm pubsub: messages longer than a whole ring reach every subscriber",
          "[shm][pubsub][process]") {
  std::string url = shm_url("long");
  std::string results = test::ipc_url("shm-ps-long");
  brine::channel_options o;
  o.high_water_mark = 4;  // a ring holds 16 KiB; messages up to 1 MiB stream through it
  pid_t kid = test::spawn([&] {
    auto sub = brine::subscribe<std::vector<std::uint32_t>>(url, o);
    std::uint64_t sum = 0;
    for (auto& v : sub)
      for (std::uint32_t x : v)
        sum += x;
    brine::push<std::uint64_t>(results).send(sum);
  });
  auto back = brine::pull<std::uint64_t>(results);
  auto pub = brine::publish<std::vector<std::uint32_t>>(url, o);
  auto local = brine::subscribe<std::vector<std::uint32_t>>(url, o);
  REQUIRE(pub.wait_peers(2, 20s));
  std::uint64_t expected = 0;
  std::thread reader([&] {
    std::uint64_t sum = 0;
    for (auto& v : local)
      for (std::uint32_t x : v)
        sum += x;
    REQUIRE(sum == expected);
  });
  std::vector<std::size_t> sizes = {0, 1, 1021, 1022, 4096, 250'000, 3, 262'144};
  for (std::size_t n : sizes) {
    std::vector<std::uint32_t> v(n);
    for (std::size_t i = 0; i < n; ++i)
      v[i] = std::uint32_t(i * 7 + n);
    for (std::uint32_t x : v)
      expected += x;
    pub.send(v);
  }
  pub.close();
  reader.join();
  REQUIRE(back.recv_for(60s) == expected);
  REQUIRE(test::wait_child(kid) == 0);
}

TEST_CASE("shm pubsub: a pipeline segment and a channel of another type are refused",
          "[shm][pubsub]") {
  std::string url = shm_url("refused");
  auto pub = brine::publish<std::uint64_t>(url);
  REQUIRE_THROWS_AS(brine::pull<std::uint64_t>(url), brine::transport_error);
  REQUIRE_THROWS_AS(brine::subscribe<std::string>(url), brine::type_mismatch);
  REQUIRE_NOTHROW(pub.send("t", std::uint64_t{1}));  // to no subscriber: nothing to wait for
}
