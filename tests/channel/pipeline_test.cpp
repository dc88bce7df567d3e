// Push/pull in one process and across processes: delivery, end of stream, fan shapes.

#include <signal.h>

#include <catch2/catch.hpp>
#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "brine/channel.hpp"
#include "channel_test_util.hpp"

using namespace std::chrono_literals;

namespace {

struct job {
  std::uint64_t id = 0;
  std::string name;
  std::vector<double> data;
};

job make_job(std::uint64_t id) {
  return job{id, "job-" + std::to_string(id), std::vector<double>(id % 7, double(id))};
}

bool valid(const job& j) {
  return j.name == "job-" + std::to_string(j.id) && j.data.size() == j.id % 7 &&
         (j.data.empty() || j.data.front() == double(j.id));
}

// What a puller process saw, sent back to the test over a channel.
struct tally {
  std::uint64_t count = 0;
  std::uint64_t sum = 0;
  bool all_valid = true;
};

tally count_all(brine::receiver<job>& rx) {
  tally t;
  for (job& j : rx) {
    ++t.count;
    t.sum += j.id;
    t.all_valid = t.all_valid && valid(j);
  }
  return t;
}

std::uint64_t sum_ids(std::uint64_t from, std::uint64_t to) {
  std::uint64_t s = 0;
  for (std::uint64_t i = from; i < to; ++i)
    s += i;
  return s;
}

}  // namespace

TEST_CASE("pull: receives what one pusher sent, in order, then ends", "[channel][zmq]") {
  for (std::string url :
       {test::ipc_url("order"), test::inproc_url("order"), std::string("tcp://127.0.0.1:*")}) {
    CAPTURE(url);
    auto rx = brine::pull<job>(url);
    auto tx = brine::push<job>(rx.endpoint());
    for (std::uint64_t i = 0; i < 100; ++i)
      tx.send(make_job(i));
    tx.close();
    std::uint64_t next = 0;
    for (job& j : rx) {
      REQUIRE(j.id == next);
      REQUIRE(valid(j));
      ++next;
    }
    REQUIRE(next == 100);
    REQUIRE(rx.done());
    REQUIRE_THROWS_AS(rx.recv(), brine::channel_closed);
    REQUIRE_THROWS_AS(rx.recv_for(10ms), brine::channel_closed);
  }
}

TEST_CASE("pull: recv_for and try_recv return nothing while no message is queued",
          "[channel][zmq]") {
  auto rx = brine::pull<int>(test::ipc_url("empty"));
  auto tx = brine::push<int>(rx.endpoint());
  REQUIRE_FALSE(rx.try_recv());
  REQUIRE_FALSE(rx.recv_for(20ms));
  tx.send(7);
  REQUIRE(rx.recv_for(5s) == 7);
  int v = 0;
  tx.send(8);
  REQUIRE(rx.recv_into(v, 5s));
  REQUIRE(v == 8);
  REQUIRE_FALSE(rx.done());
}

TEST_CASE("pull: a stream ends when its sender is destroyed", "[channel][zmq]") {
  auto rx = brine::pull<int>(test::ipc_url("destroyed"));
  {
    auto tx = brine::push<int>(rx.endpoint());
    tx.send(1);
    tx.send(2);
  }
  REQUIRE(rx.recv() == 1);
  REQUIRE(rx.recv() == 2);
  REQUIRE_THROWS_AS(rx.recv_for(10s), brine::channel_closed);
}

TEST_CASE("push: send after close is channel_closed", "[channel][zmq]") {
  auto rx = brine::pull<int>(test::inproc_url("closed"));
  auto tx = brine::push<int>(rx.endpoint());
  tx.close();
  REQUIRE(tx.closed());
  REQUIRE_THROWS_AS(tx.send(1), brine::channel_closed);
  rx.close();
  REQUIRE_THROWS_AS(rx.recv(), brine::channel_closed);
}

TEST_CASE("pull: fan-in from four processes ends after all four closed, nothing lost",
          "[channel][zmq][process]") {
  constexpr std::uint64_t per_sender = 5000;
  for (std::string url : {test::ipc_url("fanin"), test::tcp_url()}) {
    CAPTURE(url);
    std::vector<pid_t> kids;
    for (std::uint64_t s = 0; s < 4; ++s) {
      kids.push_back(test::spawn([&, s] {
        auto tx = brine::push<job>(url);
        for (std::uint64_t i = 0; i < per_sender; ++i)
          tx.send(make_job(s * per_sender + i));
      }));
    }
    brine::channel_options o;
    o.expect_senders = 4;
    auto rx = brine::pull<job>(url, o);
    std::map<std::uint64_t, std::uint64_t> next;  // per sender: next id expected (order kept)
    std::uint64_t count = 0;
    for (job& j : rx) {
      REQUIRE(valid(j));
      std::uint64_t s = j.id / per_sender;
      REQUIRE(j.id % per_sender == next[s]);
      ++next[s];
      ++count;
      // A consumer slower than its producers: their queues fill up before they close.
      if (count % 1000 == 0) std::this_thread::sleep_for(5ms);
    }
    REQUIRE(count == 4 * per_sender);
    for (pid_t k : kids)
      REQUIRE(test::wait_child(k) == 0);
  }
}

TEST_CASE("push: fan-out to three processes delivers each message exactly once",
          "[channel][zmq][process]") {
  constexpr std::uint64_t total = 30000;
  std::string jobs = test::ipc_url("fanout");
  std::string results = test::ipc_url("fanout-results");
  std::vector<pid_t> kids;
  for (int w = 0; w < 3; ++w) {
    kids.push_back(test::spawn([&] {
      auto rx = brine::pull<job>(">" + jobs);
      tally t = count_all(rx);
      brine::push<tally>(results).send(t);
    }));
  }
  brine::channel_options ro;
  ro.expect_senders = 3;
  auto back = brine::pull<tally>(results, ro);
  auto tx = brine::push<job>("@" + jobs);
  REQUIRE(tx.wait_peers(3, 20s));
  for (std::uint64_t i = 0; i < total; ++i)
    tx.send(make_job(i));
  tx.close();
  tally sum;
  int workers = 0;
  for (tally& t : back) {
    CHECK(t.count > 0);
    REQUIRE(t.all_valid);
    sum.count += t.count;
    sum.sum += t.sum;
    ++workers;
  }
  REQUIRE(workers == 3);
  REQUIRE(sum.count == total);
  REQUIRE(sum.sum == sum_ids(0, total));
  for (pid_t k : kids)
    REQUIRE(test::wait_child(k) == 0);
}

TEST_CASE("push/pull: two pushers to three pullers (N to M) deliver everything once",
          "[channel][zmq][process]") {
  constexpr std::uint64_t per_sender = 8000;
  std::vector<std::string> ends = {test::ipc_url("nm-a"), test::ipc_url("nm-b")};
  std::string results = test::ipc_url("nm-results");
  std::vector<pid_t> kids;
  for (int w = 0; w < 3; ++w) {
    kids.push_back(test::spawn([&] {
      brine::channel_options o;
      o.expect_senders = 2;
      o.bind = false;
      auto rx = brine::pull<job>(ends, o);
      brine::push<tally>(results).send(count_all(rx));
    }));
  }
  for (std::uint64_t s = 0; s < 2; ++s) {
    kids.push_back(test::spawn([&, s] {
      auto tx = brine::push<job>("@" + ends[s]);
      if (!tx.wait_peers(3, 20s)) throw std::runtime_error("pullers did not connect");
      for (std::uint64_t i = 0; i < per_sender; ++i)
        tx.send(make_job(s * per_sender + i));
    }));
  }
  brine::channel_options ro;
  ro.expect_senders = 3;
  auto back = brine::pull<tally>(results, ro);
  tally sum;
  for (tally& t : back) {
    REQUIRE(t.all_valid);
    sum.count += t.count;
    sum.sum += t.sum;
  }
  REQUIRE(sum.count == 2 * per_sender);
  REQUIRE(sum.sum == sum_ids(0, 2 * per_sender));
  for (pid_t k : kids)
    REQUIRE(test::wait_child(k) == 0);
}

TEST_CASE("pull: a sender killed mid-stream ends the stream with a gapless prefix",
          "[channel][zmq][process]") {
  for (int round = 0; round < 3; ++round) {
    std::string url = test::ipc_url("killed");
    pid_t kid = test::spawn([&] {
      auto tx = brine::push<job>(url);
      for (std::uint64_t i = 0;; ++i)
        tx.send(make_job(i));
    });
    auto rx = brine::pull<job>(url);
    // Let it stream for a while, then kill it while it sends.
    std::uint64_t next = 0;
    for (; next < 2000 + 1000 * std::uint64_t(round); ++next) {
      auto j = rx.recv_for(20s);
      REQUIRE(j);
      REQUIRE(j->id == next);
    }
    ::kill(kid, SIGKILL);
    REQUIRE(test::wait_child(kid) == 128 + SIGKILL);
    REQUIRE(test::drain(rx, [&](const job& j) {
      REQUIRE(j.id == next);
      REQUIRE(valid(j));
      ++next;
    }));
    REQUIRE(rx.done());
  }
}

TEST_CASE("push: a full queue blocks the sender and nothing is dropped", "[channel][zmq]") {
  struct block {
    std::uint64_t id = 0;
    std::vector<std::uint8_t> payload;
  };
  brine::channel_options o;
  o.high_water_mark = 4;
  std::string url = test::ipc_url("hwm");
  auto rx = brine::pull<block>(url, o);
  auto tx = brine::push<block>(url, o);
  block b{0, std::vector<std::uint8_t>(256 * 1024, 7)};
  // With a consumer that does not read, the sender fills the queues and then cannot go on.
  std::uint64_t sent = 0;
  auto give_up = std::chrono::steady_clock::now() + 20s;
  while (std::chrono::steady_clock::now() < give_up) {
    b.id = sent;
    if (!tx.send_for(b, 200ms)) break;
    ++sent;
  }
  CHECK(sent >= 4);
  REQUIRE(sent < 200);  // bounded by the high-water marks (and the kernel's socket buffers)
  REQUIRE_FALSE(tx.try_send(b));
  // Now drain: every message sent arrives once, in order, and the sender can go on.
  for (std::uint64_t i = 0; i < sent; ++i) {
    auto got = rx.recv_for(20s);
    REQUIRE(got);
    REQUIRE(got->id == i);
    REQUIRE(got->payload.size() == 256 * 1024);
  }
  b.id = sent;
  REQUIRE(tx.send_for(b, 20s));
  REQUIRE(rx.recv_for(20s)->id == sent);
}

TEST_CASE("pull: a slow consumer slows a producer in another process without losses",
          "[channel][zmq][process]") {
  brine::channel_options o;
  o.high_water_mark = 10;
  std::string url = test::ipc_url("slow");
  std::string stamps = test::ipc_url("slow-stamps");
  pid_t kid = test::spawn([&] {
    auto tx = brine::push<std::vector<std::uint8_t>>(url, o);
    std::vector<std::uint8_t> m(128 * 1024, 1);
    std::uint64_t blocked = 0;
    for (int i = 0; i < 200; ++i) {
      if (!tx.try_send(m)) {
        ++blocked;
        tx.send(m);
      }
    }
    brine::push<std::uint64_t>(stamps).send(blocked);
  });
  auto rx = brine::pull<std::vector<std::uint8_t>>(url, o);
  auto report = brine::pull<std::uint64_t>(stamps);
  std::size_t got = 0;
  for (auto& m : rx) {
    REQUIRE(m.size() == 128 * 1024);
    ++got;
    std::this_thread::sleep_for(1ms);
  }
  REQUIRE(got == 200);
  auto blocked = report.recv_for(20s);
  REQUIRE(blocked);
  REQUIRE(*blocked > 0);  // the producer had to wait for the consumer
  REQUIRE(test::wait_child(kid) == 0);
}

TEST_CASE("pull: a 64 MiB message crosses processes intact", "[channel][zmq][process][large]") {
  std::string url = test::ipc_url("large");
  pid_t kid = test::spawn([&] {
    std::vector<std::uint32_t> big(16 * 1024 * 1024);
    for (std::uint32_t i = 0; i < big.size(); ++i)
      big[i] = i * 2654435761u;
    auto tx = brine::push<std::vector<std::uint32_t>>(url);
    tx.send(big);
    tx.send(std::vector<std::uint32_t>{1, 2, 3});
  });
  auto rx = brine::pull<std::vector<std::uint32_t>>(url);
  auto got = rx.recv_for(60s);
  REQUIRE(got);
  REQUIRE(got->size() == 16 * 1024 * 1024);
  bool same = true;
  for (std::uint32_t i = 0; i < got->size(); ++i)
    same = same && (*got)[i] == i * 2654435761u;
  REQUIRE(same);
  REQUIRE(rx.recv_for(20s) == std::vector<std::uint32_t>{1, 2, 3});
  REQUIRE_THROWS_AS(rx.recv_for(20s), brine::channel_closed);
  REQUIRE(test::wait_child(kid) == 0);
}

TEST_CASE("pull: expect_senders holds the end until that many senders have closed",
          "[channel][zmq]") {
  brine::channel_options o;
  o.expect_senders = 2;
  std::string url = test::ipc_url("expect");
  auto rx = brine::pull<int>(url, o);
  {
    auto a = brine::push<int>(url);
    a.send(1);
  }
  REQUIRE(rx.recv_for(10s) == 1);
  REQUIRE_FALSE(rx.recv_for(200ms));  // one sender closed, but two are expected
  {
    auto b = brine::push<int>(url);
    b.send(2);
  }
  REQUIRE(rx.recv_for(10s) == 2);
  REQUIRE_THROWS_AS(rx.recv_for(10s), brine::channel_closed);
}

TEST_CASE("pull: end of stream never overtakes a message, whatever the timing",
          "[channel][zmq][race]") {
  std::uint64_t seed = 12345;
  auto next_random = [&] {
    seed = seed * 6364136223846793005u + 1442695040888963407u;
    return seed >> 33;
  };
  for (std::string where : {test::ipc_url("race"), std::string("tcp://127.0.0.1:*")}) {
    CAPTURE(where);
    for (int round = 0; round < 40; ++round) {
      brine::channel_options o;
      o.expect_senders = 3;
      auto rx = brine::pull<std::uint64_t>(where, o);
      std::string url = rx.endpoint();
      std::vector<std::uint64_t> counts;
      std::vector<std::thread> senders;
      for (int s = 0; s < 3; ++s) {
        std::uint64_t n = 1 + next_random() % 300;
        auto pause = std::chrono::microseconds(next_random() % 2000);
        counts.push_back(n);
        senders.emplace_back([url, n, pause, s] {
          std::this_thread::sleep_for(pause);
          auto tx = brine::push<std::uint64_t>(url);
          for (std::uint64_t i = 0; i < n; ++i)
            tx.send(std::uint64_t(s) << 32 | i);
        });  // tx closes as the thread ends, at once after its last send
      }
      std::vector<std::uint64_t> got(3, 0);
      INFO("round " << round);
      REQUIRE(test::drain(rx, [&](std::uint64_t v) {
        std::uint64_t s = v >> 32;
        REQUIRE(s < 3);
        REQUIRE((v & 0xffffffffu) == got[s]);
        ++got[s];
      }));
      for (auto& t : senders)
        t.join();
      REQUIRE(got == counts);
    }
  }
}

TEST_CASE("pull: inproc senders in threads end the stream after their last message",
          "[channel][zmq][race]") {
  for (int round = 0; round < 50; ++round) {
    brine::channel_options o;
    o.expect_senders = 2;
    auto rx = brine::pull<int>(test::inproc_url("threads"), o);
    std::string url = rx.endpoint();
    std::thread a([url] {
      auto tx = brine::push<int>(url);
      for (int i = 0; i < 100; ++i)
        tx.send(i);
    });
    std::thread b([url] {
      auto tx = brine::push<int>(url);
      for (int i = 100; i < 150; ++i)
        tx.send(i);
    });
    int count = 0;
    long sum = 0;
    REQUIRE(test::drain(rx, [&](int v) {
      sum += v;
      ++count;
    }));
    a.join();
    b.join();
    REQUIRE(count == 150);
    REQUIRE(sum == 149 * 150 / 2);
  }
}

TEST_CASE("push: a process that returns from main delivers what it sent",
          "[channel][zmq][process]") {
  std::string url = test::ipc_url("exit");
  brine::shutdown();  // fork with no ZeroMQ thread running (see test::spawn)
  std::fflush(nullptr);
  pid_t kid = ::fork();
  if (kid == 0) {
    // No close(), no shutdown(): the static context is terminated by exit(), which waits for
    // queued messages (up to the linger).
    static auto tx = brine::push<std::uint64_t>(url);
    for (std::uint64_t i = 0; i < 20000; ++i)
      tx.send(i);
    std::exit(0);
  }
  auto rx = brine::pull<std::uint64_t>(url);
  std::uint64_t next = 0;
  REQUIRE(test::drain(rx, [&](std::uint64_t v) {
    REQUIRE(v == next++);
    if (next % 2000 == 0) std::this_thread::sleep_for(5ms);
  }));
  REQUIRE(next == 20000);
  REQUIRE(test::wait_child(kid) == 0);
}

TEST_CASE("push: closing never hangs, even toward a receiver that stopped reading",
          "[channel][zmq][process]") {
  for (std::string url : {test::ipc_url("stuck"), test::tcp_url()}) {
    CAPTURE(url);
    brine::channel_options o;
    o.high_water_mark = 2;
    auto start = std::chrono::steady_clock::now();
    pid_t kid = test::spawn([&] {
      brine::channel_options so = o;
      so.linger = 500ms;
      auto tx = brine::push<std::vector<std::uint8_t>>(url, so);
      if (!tx.wait_peers(1, 20s)) throw std::runtime_error("the puller did not connect");
      std::vector<std::uint8_t> m(512 * 1024, 1);
      while (tx.send_for(m, 300ms)) {
      }
      tx.close();  // returns at once; the exit below waits for the linger, no longer
    });
    auto rx = brine::pull<std::vector<std::uint8_t>>(url, o);
    REQUIRE(test::wait_child(kid, 30s) == 0);
    REQUIRE(std::chrono::steady_clock::now() - start < 20s);
    // What arrived is intact; the rest was given up after the linger.
    auto first = rx.recv_for(10s);
    REQUIRE(first);
    REQUIRE(first->size() == 512 * 1024);
  }
}
