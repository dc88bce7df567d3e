// shm:// pipelines across processes: order, end of stream, fan shapes, sizes around a slot,
// backpressure, type checks at setup, killed senders, segment lifetime.

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <map>
#include <numeric>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "../../transports/shm/segment.hpp"
#include "../channel/channel_test_util.hpp"
#include "brine/channel.hpp"

using namespace std::chrono_literals;

namespace {

std::string shm_url(const std::string& name) {
  static int counter = 0;
  return "shm://test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++) + "-" + name;
}

bool segment_exists(const std::string& url) {
  std::string name = url.substr(6);
  return std::filesystem::exists("/dev/shm/brine." + std::to_string(::geteuid()) + "." + name);
}

struct item {
  std::uint64_t id = 0;
  std::vector<std::uint8_t> bytes;
};

item make_item(std::uint64_t id, std::size_t size) {
  item it{id, std::vector<std::uint8_t>(size)};
  for (std::size_t i = 0; i < size; ++i)
    it.bytes[i] = std::uint8_t(id * 31 + i);
  return it;
}

bool valid(const item& it) {
  for (std::size_t i = 0; i < it.bytes.size(); ++i)
    if (it.bytes[i] != std::uint8_t(it.id * 31 + i)) return false;
  return true;
}

}  // namespace

TEST_CASE("shm: one pusher to one puller in another process, in order, then the end",
          "[shm][process]") {
  std::string url = shm_url("order");
  auto rx = brine::pull<item>(url);
  pid_t kid = test::spawn([&] {
    auto tx = brine::push<item>(url);
    for (std::uint64_t i = 0; i < 20000; ++i)
      tx.send(make_item(i, i % 100));
  });
  std::uint64_t next = 0;
  for (item& it : rx) {
    REQUIRE(it.id == next);
    REQUIRE(it.bytes.size() == next % 100);
    REQUIRE(valid(it));
    ++next;
  }
  REQUIRE(next == 20000);
  REQUIRE(test::wait_child(kid) == 0);
  rx.close();
  REQUIRE_FALSE(segment_exists(url));  // the last one out removes the segment
}

TEST_CASE("shm: messages of every size around a slot arrive intact, up to 64 MiB",
          "[shm][process][large]") {
  std::string url = shm_url("sizes");
  // A 4 KiB slot holds 4080 bytes after its header; frames here add 24 + 8 + a length.
  std::vector<std::size_t> sizes = {0,    1,    2,    100,  4000, 4040,  4044,    4045,     4046,
                                    4047, 4048, 4050, 8100, 8200, 65536, 1 << 20, 64u << 20};
  auto rx = brine::pull<item>(url);
  pid_t kid = test::spawn([&] {
    auto tx = brine::push<item>(url);
    for (std::size_t i = 0; i < sizes.size(); ++i)
      tx.send(make_item(i, sizes[i]));
  });
  for (std::size_t i = 0; i < sizes.size(); ++i) {
    CAPTURE(sizes[i]);
    auto it = rx.recv_for(60s);
    REQUIRE(it);
    REQUIRE(it->id == i);
    REQUIRE(it->bytes.size() == sizes[i]);
    REQUIRE(valid(*it));
  }
  REQUIRE_THROWS_AS(rx.recv_for(20s), brine::channel_closed);
  REQUIRE(test::wait_child(kid) == 0);
}

TEST_CASE("shm: fan-in from three processes ends after all of them, nothing lost",
          "[shm][process]") {
  std::string url = shm_url("fanin");
  brine::channel_options o;
  o.expect_senders = 3;
  auto rx = brine::pull<item>(url, o);
  std::vector<pid_t> kids;
  for (std::uint64_t s = 0; s < 3; ++s)
    kids.push_back(test::spawn([&, s] {
      auto tx = brine::push<item>(url);
      for (std::uint64_t i = 0; i < 10000; ++i)
        tx.send(make_item(s * 10000 + i, i % 9000));
    }));
  std::map<std::uint64_t, std::uint64_t> next;
  std::uint64_t count = 0;
  for (item& it : rx) {
    std::uint64_t s = it.id / 10000;
    REQUIRE(it.id % 10000 == next[s]);
    REQUIRE(valid(it));
    ++next[s];
    ++count;
  }
  REQUIRE(count == 30000);
  for (pid_t k : kids)
    REQUIRE(test::wait_child(k) == 0);
}

TEST_CASE("shm: fan-out to three processes delivers each message exactly once", "[shm][process]") {
  std::string url = shm_url("fanout");
  std::string results = test::ipc_url("shm-fanout-results");
  auto tx = brine::push<item>(url);
  std::vector<pid_t> kids;
  for (int w = 0; w < 3; ++w)
    kids.push_back(test::spawn([&] {
      auto rx = brine::pull<item>(url);
      std::vector<std::uint64_t> ids;
      for (item& it : rx)
        if (valid(it)) ids.push_back(it.id);
      brine::push<std::vector<std::uint64_t>>(results).send(ids);
    }));
  brine::channel_options ro;
  ro.expect_senders = 3;
  auto back = brine::pull<std::vector<std::uint64_t>>(results, ro);
  REQUIRE(tx.wait_peers(3, 20s));
  for (std::uint64_t i = 0; i < 30000; ++i)
    tx.send(make_item(i, i % 50));
  tx.close();
  std::vector<int> seen(30000, 0);
  for (auto& ids : back) {
    CHECK(!ids.empty());
    for (std::uint64_t id : ids) {
      REQUIRE(id < seen.size());
      ++seen[id];
    }
  }
  for (int c : seen)
    REQUIRE(c == 1);
  for (pid_t k : kids)
    REQUIRE(test::wait_child(k) == 0);
}

TEST_CASE("shm: a full ring blocks the sender until the receiver reads", "[shm]") {
  std::string url = shm_url("full");
  brine::channel_options o;
  o.high_water_mark = 8;  // slots per ring
  auto rx = brine::pull<std::uint64_t>(url, o);
  auto tx = brine::push<std::uint64_t>(url, o);
  std::uint64_t sent = 0;
  while (tx.try_send(sent))
    ++sent;
  REQUIRE(sent == 8);
  REQUIRE_FALSE(tx.send_for(sent, 20ms));
  // The receiver tells the sender what it read a quarter of a ring at a time (2 slots here),
  // or as soon as it finds nothing more to read.
  REQUIRE(rx.recv_for(1s) == 0);
  REQUIRE_FALSE(tx.try_send(sent));
  REQUIRE(rx.recv_for(1s) == 1);
  REQUIRE(tx.try_send(sent));
  REQUIRE(tx.try_send(sent + 1));
  REQUIRE_FALSE(tx.try_send(sent + 2));
  sent += 2;
  for (std::uint64_t i = 2; i < sent; ++i)
    REQUIRE(rx.recv_for(1s) == i);
  REQUIRE_FALSE(rx.recv_for(20ms));  // found nothing: both freed slots are the sender's again
  REQUIRE(tx.try_send(sent));
  REQUIRE(rx.recv_for(1s) == sent);
}

TEST_CASE(
    "shm: senders reach receivers that join later, in higher places, and survive a "
    "corrupt count of places",
    "[shm]") {
  std::string url = shm_url("places");
  auto first = brine::pull<std::uint64_t>(url);
  auto tx = brine::push<std::uint64_t>(url);
  tx.send(1);
  // Everything a receiver has now, appended to `out`.
  auto drain = [](brine::receiver<std::uint64_t>& rx, std::vector<std::uint64_t>& out) {
    std::uint64_t v = 0;
    while (rx.recv_into(v, 20ms))
      out.push_back(v);
  };
  std::vector<std::uint64_t> got;
  drain(first, got);
  REQUIRE(got == std::vector<std::uint64_t>{1});
  // Senders look only at receiver places below segment_header::receivers_high: one that joins
  // later takes place 1, raises it, and gets its share of the round robin.
  auto second = brine::pull<std::uint64_t>(url);
  for (std::uint64_t i = 2; i < 6; ++i)
    tx.send(i);
  got.clear();
  drain(first, got);
  std::size_t from_first = got.size();
  drain(second, got);
  std::sort(got.begin(), got.end());
  CHECK(got == std::vector<std::uint64_t>{2, 3, 4, 5});
  CHECK(from_first == 2);

  // The count is read from shared memory, which nothing trusts: far too high is clamped to the
  // segment's places; zero hides every receiver (a sender then waits, as for a full ring).
  std::string path = "/dev/shm/brine." + std::to_string(::geteuid()) + "." + url.substr(6);
  auto poke = [&](std::uint32_t v) {
    FILE* f = std::fopen(path.c_str(), "r+b");
    REQUIRE(f != nullptr);
    std::fseek(f, static_cast<long>(offsetof(brine::shm::segment_header, receivers_high)),
               SEEK_SET);
    std::fwrite(&v, sizeof v, 1, f);
    std::fclose(f);
  };
  poke(0xffffffffu);
  for (std::uint64_t i = 6; i < 10; ++i)
    REQUIRE(tx.send_for(i, 1s));
  got.clear();
  drain(first, got);
  drain(second, got);
  std::sort(got.begin(), got.end());
  CHECK(got == std::vector<std::uint64_t>{6, 7, 8, 9});
  poke(0);
  CHECK_FALSE(tx.send_for(10, 20ms));
  poke(2);
  REQUIRE(tx.send_for(10, 1s));
  got.clear();
  drain(first, got);
  drain(second, got);
  CHECK(got == std::vector<std::uint64_t>{10});
}

TEST_CASE("shm: a channel of another type is refused when it is set up", "[shm]") {
  std::string url = shm_url("types");
  auto rx = brine::pull<item>(url);
  REQUIRE_THROWS_AS(brine::push<std::string>(url), brine::type_mismatch);
  REQUIRE_THROWS_AS(brine::publish<item>(url), brine::transport_error);
  auto tx = brine::push<item>(url);  // the channel itself is unharmed
  tx.send(make_item(1, 10));
  REQUIRE(rx.recv_for(1s)->id == 1);
}

TEST_CASE("shm: bad names are transport_error", "[shm]") {
  for (std::string bad :
       std::vector<std::string>{"shm://", "shm://a/b", "shm://../x", "shm://sp ace",
                                "shm://" + std::string(201, 'x'), "@shm://x", ">shm://x"}) {
    CAPTURE(bad);
    REQUIRE_THROWS_AS(brine::pull<int>(bad), brine::transport_error);
  }
  REQUIRE_THROWS_AS(brine::pull<int>(std::vector<std::string>{"shm://a", "shm://b"}),
                    brine::transport_error);
}

TEST_CASE("shm: a sender killed mid-stream ends the stream with a gapless prefix",
          "[shm][process]") {
  for (int round = 0; round < 5; ++round) {
    std::string url = shm_url("killed");
    auto rx = brine::pull<item>(url);
    pid_t kid = test::spawn([&] {
      auto tx = brine::push<item>(url);
      for (std::uint64_t i = 0;; ++i)
        tx.send(make_item(i, i % 3 == 0 ? 10000 : 20));
    });
    std::uint64_t next = 0;
    for (; next < 1000; ++next) {
      auto it = rx.recv_for(20s);
      REQUIRE(it);
      REQUIRE(it->id == next);
    }
    ::kill(kid, SIGKILL);
    REQUIRE(test::wait_child(kid) == 128 + SIGKILL);
    REQUIRE(test::drain(rx, [&](const item& it) {
      REQUIRE(it.id == next++);
      REQUIRE(valid(it));
    }));
  }
}

TEST_CASE("shm: a stale segment left by dead processes is replaced", "[shm][process]") {
  std::string url = shm_url("stale");
  pid_t kid = test::spawn([&] {
    auto rx = brine::pull<int>(url);
    auto tx = brine::push<int>(url);
    tx.send(1);
    ::kill(::getpid(), SIGKILL);  // dies holding both ends
  });
  REQUIRE(test::wait_child(kid) == 128 + SIGKILL);
  REQUIRE(segment_exists(url));
  auto rx = brine::pull<int>(url);
  auto tx = brine::push<int>(url);
  tx.send(2);
  REQUIRE(rx.recv_for(1s) == 2);  // a fresh segment: the dead one's message is gone with it
}

TEST_CASE("shm: a receiver's place and queue pass to the next receiver when it dies",
          "[shm][process]") {
  std::string url = shm_url("dead-receiver");
  brine::channel_options o;
  o.high_water_mark = 16;
  auto tx = brine::push<std::uint64_t>(url, o);
  pid_t kid = test::spawn([&] {
    auto rx = brine::pull<std::uint64_t>(url, o);
    (void)rx.recv();  // takes one message, then dies with the rest queued
    ::kill(::getpid(), SIGKILL);
  });
  REQUIRE(tx.wait_peers(1, 20s));
  std::uint64_t sent = 0;
  while (tx.send_for(sent, 300ms))
    ++sent;  // fills its ring: 1 taken (not yet told to the sender: see above) + 15 queued
  REQUIRE(test::wait_child(kid) == 128 + SIGKILL);
  REQUIRE(sent == 16);
  auto rx = brine::pull<std::uint64_t>(url, o);  // joins in the dead one's place
  tx.close();
  std::vector<std::uint64_t> got;
  REQUIRE(test::drain(rx, [&](std::uint64_t v) { got.push_back(v); }));
  // Everything but the message the dead receiver took is delivered, in order.
  REQUIRE(got.size() == 15);
  for (std::size_t i = 0; i < got.size(); ++i)
    REQUIRE(got[i] == i + 1);
}

TEST_CASE("shm: with busy polling messages flow the same and timeouts still hold",
          "[shm][process]") {
  std::string url = shm_url("busy");
  std::string results = test::ipc_url("shm-busy");
  brine::channel_options o;
  o.shm_busy_poll = true;
  o.high_water_mark = 8;
  pid_t kid = test::spawn([&] {
    auto rx = brine::pull<item>(url, o);
    std::uint64_t next = 0;
    for (item& it : rx) {
      if (it.id != next || !valid(it)) break;
      ++next;
    }
    brine::push<std::uint64_t>(results).send(next);
  });
  auto back = brine::pull<std::uint64_t>(results);
  auto tx = brine::push<item>(url, o);
  REQUIRE(tx.wait_peers(1, 20s));
  for (std::uint64_t i = 0; i < 5000; ++i)
    tx.send(make_item(i, (i * 13) % 9000));
  tx.close();
  REQUIRE(back.recv_for(60s) == 5000u);
  REQUIRE(test::wait_child(kid) == 0);

  // Nobody sends: a busy receiver still gives up at its deadline; a full ring, a busy sender.
  std::string idle = shm_url("busy-idle");
  auto rx = brine::pull<std::uint64_t>(idle, o);
  auto start = std::chrono::steady_clock::now();
  REQUIRE_FALSE(rx.recv_for(50ms));
  REQUIRE(std::chrono::steady_clock::now() - start >= 50ms);
  auto full = brine::push<std::uint64_t>(idle, o);
  std::uint64_t sent = 0;
  while (sent < 100 && full.send_for(sent, 20ms))
    ++sent;
  REQUIRE(sent == 8);
  REQUIRE(rx.recv_for(1s) == 0u);
}

TEST_CASE("shm: a live receiver takes over the queue of one that died", "[shm][process]") {
  std::string url = shm_url("orphans");
  std::string results = test::ipc_url("shm-orphans");
  brine::channel_options o;
  o.high_water_mark = 16;
  // One receiver takes a message, says which, and stops reading; the other reads everything.
  pid_t stuck = test::spawn([&] {
    auto rx = brine::pull<std::uint64_t>(url, o);
    brine::push<std::vector<std::uint64_t>>(results).send({rx.recv()});
    std::this_thread::sleep_for(60s);  // killed long before this ends
  });
  pid_t reader = test::spawn([&] {
    auto rx = brine::pull<std::uint64_t>(url, o);
    std::vector<std::uint64_t> got;
    for (std::uint64_t v : rx)
      got.push_back(v);
    brine::push<std::vector<std::uint64_t>>(results).send(got);
  });
  auto back = brine::pull<std::vector<std::uint64_t>>(results);  // threads only after the forks
  auto tx = brine::push<std::uint64_t>(url, o);
  REQUIRE(tx.wait_peers(2, 20s));
  for (std::uint64_t i = 0; i < 200; ++i)
    REQUIRE(tx.send_for(i, 20s));
  auto taken = back.recv_for(20s);  // what the stuck one took
  REQUIRE(taken);
  REQUIRE(taken->size() == 1);
  ::kill(stuck, SIGKILL);
  REQUIRE(test::wait_child(stuck) == 128 + SIGKILL);
  tx.close();
  // The reader gets every other message: its own and those queued for the dead one.
  auto got = back.recv_for(60s);
  REQUIRE(got);
  std::sort(got->begin(), got->end());
  std::vector<std::uint64_t> rest(200);
  std::iota(rest.begin(), rest.end(), 0);
  rest.erase(rest.begin() + static_cast<std::ptrdiff_t>(taken->front()));
  REQUIRE(*got == rest);
  REQUIRE(test::wait_child(reader) == 0);
}
