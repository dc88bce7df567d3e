// Loans and views: messages written in place into shared memory (sender::loan) and read in place
// (receiver::recv_view) over shm://, for push/pull and publish/subscribe; views kept past later
// receives and close(); a pool full of kept messages holding the sender back; processes killed
// while they hold views or a loan; loans misused; views over ZeroMQ.

#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "../channel/channel_test_util.hpp"
#include "brine/channel.hpp"
#include "shm_test_util.hpp"

using namespace std::chrono_literals;

namespace {

using bytes = std::vector<std::byte>;

std::string shm_name(const std::string& name) {
  static int counter = 0;
  return "test-" + std::to_string(::getpid()) + "-loan" + std::to_string(counter++) + "-" + name;
}

bool segment_exists(const std::string& name) {
  return std::filesystem::exists("/dev/shm/brine." + std::to_string(::geteuid()) + "." + name);
}

// The content of message `id` of `n` bytes: its id in the first 8 bytes, then a pattern.
void fill(std::span<std::byte> out, std::uint64_t id) {
  for (std::size_t i = 0; i < out.size(); ++i)
    out[i] = static_cast<std::byte>((id * 131 + i * 7 + (i >> 12)) & 0xff);
  if (out.size() >= 8) std::memcpy(out.data(), &id, 8);
}

bytes make(std::size_t n, std::uint64_t id) {
  bytes b(n);
  fill(b, id);
  return b;
}

bool holds(std::span<const std::byte> got, std::size_t n, std::uint64_t id) {
  if (got.size() != n) return false;
  bytes want = make(n, id);
  return n == 0 || std::memcmp(got.data(), want.data(), n) == 0;
}

std::uint64_t id_of(std::span<const std::byte> got) {
  std::uint64_t id = ~std::uint64_t{0};
  if (got.size() >= 8) std::memcpy(&id, got.data(), 8);
  return id;
}

void send_loan(brine::sender<bytes>& tx, std::size_t n, std::uint64_t id) {
  brine::loan l = tx.loan(n);
  REQUIRE(l.size() == n);
  fill(l.bytes(), id);
  REQUIRE(tx.send_for(std::move(l), 60s));  // never a hang, should the receiver have failed
}

using test::await_flag;
using test::child_guard;
using test::shared_block;

// A 4 KiB slot holds 4080 bytes of message; a byte vector's frame is 24 bytes of header, its
// count (2 bytes here) and its bytes.
constexpr std::size_t fits_slot = 4080 - 24 - 2;

}  // namespace

TEST_CASE("shm loans: loaned messages of every size arrive intact, in views and in copies",
          "[shm][loan][process]") {
  const std::string name = shm_name("sizes");
  const std::string url = "shm://" + name;
  const std::vector<std::size_t> sizes = {
      0, 1, 100, fits_slot - 1, fits_slot, fits_slot + 1, 5000, 1 << 20, 16u << 20, 70u << 20};
  test::gate ready;
  pid_t kid = test::spawn([&] {
    auto rx = brine::pull<bytes>(url);
    ready.open();
    std::uint64_t id = 0;
    for (std::size_t n : sizes) {
      // Each size twice as a loan and once as a plain send: read as a view, a copy, a view.
      brine::view v = rx.recv_view();
      if (!holds(v.bytes(), n, id++)) throw std::runtime_error("view " + std::to_string(n));
      bytes copy = rx.recv();
      if (!holds(copy, n, id++)) throw std::runtime_error("copy " + std::to_string(n));
      brine::view w = rx.recv_view();
      if (!holds(w.bytes(), n, id++)) throw std::runtime_error("plain " + std::to_string(n));
      if (!holds(v.bytes(), n, id - 3)) throw std::runtime_error("kept " + std::to_string(n));
    }
    try {
      rx.recv_view_for(30s);
      throw std::runtime_error("a message, or nothing for 30 s, after the last");
    } catch (const brine::channel_closed&) {  // the end of the stream
    }
  });
  REQUIRE(ready.wait());
  auto tx = brine::push<bytes>(url);
  std::uint64_t id = 0;
  for (std::size_t n : sizes) {
    INFO("size " << n);
    send_loan(tx, n, id++);
    send_loan(tx, n, id++);
    REQUIRE(tx.send_for(make(n, id++), 60s));
  }
  tx.close();
  REQUIRE(test::wait_child(kid) == 0);
  REQUIRE_FALSE(segment_exists(name));
}

TEST_CASE("shm loans: kept views stay intact; a pool full of them holds the sender back",
          "[shm][loan]") {
  brine::channel_options o;
  o.shm_pool_bytes = 1 << 20;
  const std::string name = shm_name("held");
  const std::string url = "shm://" + name;
  constexpr std::size_t n = 200'000;
  auto rx = brine::pull<bytes>(url, o);
  auto tx = brine::push<bytes>(url, o);

  std::vector<brine::view> kept;
  for (std::uint64_t id = 0; id < 4; ++id) {
    send_loan(tx, n, id);
    kept.push_back(rx.recv_view());
  }
  send_loan(tx, n, 4);  // the pool's last room
  {
    brine::view v = rx.recv_view();
    REQUIRE(holds(v.bytes(), n, 4));
  }
  // Four kept, the oldest first in the pool: no room for a fifth until it goes.
  brine::loan l = tx.loan(n);
  fill(l.bytes(), 5);
  REQUIRE_FALSE(tx.send_for(std::move(l), 50ms));
  kept[1].release();
  kept[2].release();
  REQUIRE_FALSE(kept[1]);
  REQUIRE(kept[1].bytes().empty());
  REQUIRE_FALSE(tx.send_for(std::move(l), 50ms));  // still behind the oldest
  for (std::uint64_t id : {0, 3})
    REQUIRE(holds(kept[id].bytes(), n, id));
  kept[0].release();
  REQUIRE(tx.send_for(std::move(l), 5s));  // a loan not sent stays good
  brine::view v5 = rx.recv_view();
  REQUIRE(holds(v5.bytes(), n, 5));
  REQUIRE(holds(kept[3].bytes(), n, 3));

  // A view moves; released twice is once.
  brine::view moved = std::move(kept[3]);
  REQUIRE_FALSE(kept[3]);
  REQUIRE(holds(moved.bytes(), n, 3));
  moved.release();
  moved.release();
  v5.release();

  // Longer than the pool: through the ring, slot by slot, and still a view.
  tx.send(make(3 << 20, 6));
  brine::view big = rx.recv_view();
  REQUIRE(holds(big.bytes(), 3 << 20, 6));
  send_loan(tx, n, 7);
  REQUIRE(holds(rx.recv_view().bytes(), n, 7));
  REQUIRE(holds(big.bytes(), 3 << 20, 6));
}

TEST_CASE("shm loans: views outlive later receives and close(); the place is left after them",
          "[shm][loan]") {
  const std::string name = shm_name("close");
  const std::string url = "shm://" + name;
  auto tx = brine::push<bytes>(url);
  brine::view small, large;
  {
    auto rx = brine::pull<bytes>(url);
    tx.send(make(100, 1));
    send_loan(tx, 300'000, 2);
    tx.send(make(100, 3));  // queued, not received: goes with the receiver
    small = rx.recv_view();
    large = rx.recv_view();
    rx.close();
    REQUIRE_THROWS_AS(rx.recv_view(), brine::channel_closed);
    // Closed: senders leave its place alone while it keeps views.
    REQUIRE_FALSE(tx.send_for(make(100, 4), 50ms));
  }
  REQUIRE(holds(small.bytes(), 100, 1));
  REQUIRE(holds(large.bytes(), 300'000, 2));
  small.release();
  large.release();
  // Left: the next receiver takes the place over, with what was queued in it.
  auto next = brine::pull<bytes>(url);
  REQUIRE(tx.send_for(make(100, 4), 5s));
  REQUIRE(holds(next.recv_view().bytes(), 100, 3));
  REQUIRE(holds(next.recv_view().bytes(), 100, 4));
  tx.close();
  REQUIRE_THROWS_AS(next.recv_view(), brine::channel_closed);
  next.close();
  REQUIRE_FALSE(segment_exists(name));
}

TEST_CASE("shm loans: subscribers share a published message until the last lets it go",
          "[shm][loan][pubsub]") {
  brine::channel_options o;
  o.shm_pool_bytes = 1 << 20;
  const std::string url = "shm://" + shm_name("pubsub");
  constexpr std::size_t n = 200'000;
  auto pub = brine::publish<bytes>(url, o);
  auto keeper = brine::subscribe<bytes>(url, o);
  auto reader = brine::subscribe<bytes>(url, o);
  brine::channel_options only_b = o;
  only_b.topics = {"b"};
  auto picky = brine::subscribe<bytes>(url, only_b);
  REQUIRE(pub.wait_peers(3, 5s));

  std::vector<brine::view> kept;
  for (std::uint64_t id = 0; id < 5; ++id) {
    brine::loan l = pub.loan(n);
    fill(l.bytes(), id);
    pub.send(id % 2 ? "b" : "a", std::move(l));
    brine::view v = reader.recv_view();
    REQUIRE(holds(v.bytes(), n, id));
    REQUIRE(v.topic() == (id % 2 ? "b" : "a"));
    kept.push_back(keeper.recv_view());
  }
  for (std::uint64_t id : {1, 3}) {
    brine::view v = picky.recv_view();
    REQUIRE(holds(v.bytes(), n, id));
    REQUIRE(v.topic() == "b");
  }
  // The keeper holds all five: the pool has no room for a sixth, though the others read theirs.
  brine::loan l = pub.loan(n);
  fill(l.bytes(), 5);
  REQUIRE_FALSE(pub.send_for(std::move(l), 50ms));
  for (std::uint64_t id = 0; id < 5; ++id)
    REQUIRE(holds(kept[id].bytes(), n, id));
  kept.clear();
  REQUIRE(pub.send_for(std::move(l), 5s));
  REQUIRE(holds(keeper.recv_view().bytes(), n, 5));
  REQUIRE(holds(reader.recv(), n, 5));
  REQUIRE(pub.dropped() == 0);
}

TEST_CASE("shm loans: a receiver killed while it keeps views gives them back, and nothing twice",
          "[shm][loan][process][crash]") {
  brine::channel_options o;
  o.shm_pool_bytes = 1 << 20;
  const std::string name = shm_name("deadrx");
  const std::string url = "shm://" + name;
  constexpr std::size_t n = 100'000;
  constexpr std::uint64_t total = 60, first_reads = 20;
  shared_block<std::atomic<int>> got_first;
  shared_block<std::atomic<int>> next_ok;
  test::gate ready;

  // The first receiver reads 20 messages, keeping the last three as views, and stops there.
  child_guard first{test::spawn([&] {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    auto rx = brine::pull<bytes>(url, o);
    ready.open();
    std::vector<brine::view> last;
    for (std::uint64_t id = 0; id < first_reads; ++id) {
      brine::view v = rx.recv_view();
      if (!holds(v.bytes(), n, id)) throw std::runtime_error("first receiver: bad message");
      last.push_back(std::move(v));
      if (last.size() > 3) last.erase(last.begin());
    }
    got_first->store(1);
    for (;;)
      ::pause();
  })};
  REQUIRE(ready.wait());
  auto tx = brine::push<bytes>(url, o);
  std::uint64_t id = 0;
  for (; id < first_reads; ++id)
    send_loan(tx, n, id);
  REQUIRE(await_flag(*got_first, 30s));
  // Its kept views and the messages queued behind them fill the pool: the sender waits.
  while (id < total) {
    brine::loan l = tx.loan(n);
    fill(l.bytes(), id);
    if (!tx.send_for(std::move(l), 100ms)) break;
    ++id;
  }
  REQUIRE(id < total);
  REQUIRE(::kill(first.pid, SIGKILL) == 0);
  REQUIRE(::waitpid(first.pid, nullptr, 0) == first.pid);
  first.pid = 0;

  // The next receiver takes the dead one's place: it skips what the dead one was given and reads
  // the rest, in order; the sender gets the pool back.
  child_guard next{test::spawn([&] {
    auto rx = brine::pull<bytes>(url, o);
    std::uint64_t want = first_reads;
    for (;;) {
      brine::view v = rx.recv_view_for(30s);
      if (!v) throw std::runtime_error("next receiver: nothing for 30 s");
      if (!holds(v.bytes(), n, want))
        throw std::runtime_error("next receiver: got " + std::to_string(id_of(v.bytes())) +
                                 ", wanted " + std::to_string(want));
      if (++want == total) break;
    }
    next_ok->store(1);
    try {
      rx.recv_view_for(30s);
      throw std::runtime_error("next receiver: a message, or nothing for 30 s, after the last");
    } catch (const brine::channel_closed&) {  // the end of the stream
    }
  })};
  for (; id < total; ++id) {
    brine::loan l = tx.loan(n);
    fill(l.bytes(), id);
    REQUIRE(tx.send_for(std::move(l), 30s));
  }
  tx.close();
  REQUIRE(test::wait_child(next.pid) == 0);
  next.pid = 0;
  REQUIRE(next_ok->load() == 1);
  REQUIRE_FALSE(segment_exists(name));
}

TEST_CASE("shm loans: a sender killed holding a loan; the next sender in its place reuses the pool",
          "[shm][loan][process][crash]") {
  brine::channel_options o;
  o.shm_pool_bytes = 1 << 20;
  o.shm_senders = 1;     // the next sender must take the dead one's place, and its pool
  o.expect_senders = 2;  // the stream does not end when the first dies
  const std::string name = shm_name("deadtx");
  const std::string url = "shm://" + name;
  constexpr std::size_t n = 150'000;
  shared_block<std::atomic<int>> loaned;
  auto rx = brine::pull<bytes>(url, o);

  child_guard first{test::spawn([&] {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    auto tx = brine::push<bytes>(url, o);
    for (std::uint64_t id = 0; id < 3; ++id)
      send_loan(tx, n, id);
    brine::loan l = tx.loan(n);  // never sent
    fill(l.bytes(), 99);
    loaned->store(1);
    for (;;)
      ::pause();
  })};
  std::vector<brine::view> kept;
  for (std::uint64_t id = 0; id < 3; ++id) {
    kept.push_back(rx.recv_view_for(30s));
    REQUIRE(holds(kept.back().bytes(), n, id));
  }
  REQUIRE(await_flag(*loaned, 30s));
  REQUIRE(::kill(first.pid, SIGKILL) == 0);
  REQUIRE(::waitpid(first.pid, nullptr, 0) == first.pid);
  first.pid = 0;

  child_guard next{test::spawn([&] {
    auto tx = brine::push<bytes>(url, o);
    for (std::uint64_t id = 3; id < 13; ++id)
      send_loan(tx, n, id);
  })};
  // The new sender must not write over the three kept messages of the dead one (nor over its
  // unsent loan, which it cannot tell from a kept message): it has room for two more, then waits.
  for (std::uint64_t id = 3; id < 5; ++id) {
    brine::view v = rx.recv_view_for(30s);
    INFO("id " << id << " got " << id_of(v.bytes()) << ", " << v.size() << " bytes");
    REQUIRE(holds(v.bytes(), n, id));
  }
  REQUIRE_FALSE(rx.recv_view_for(200ms));
  for (std::uint64_t id = 0; id < 3; ++id)
    REQUIRE(holds(kept[id].bytes(), n, id));
  kept.clear();
  for (std::uint64_t id = 5; id < 13; ++id) {
    brine::view v = rx.recv_view_for(30s);
    REQUIRE(holds(v.bytes(), n, id));
  }
  REQUIRE(test::wait_child(next.pid) == 0);
  next.pid = 0;
  REQUIRE_THROWS_AS(rx.recv_view_for(30s), brine::channel_closed);  // both senders have gone
}

TEST_CASE("shm loans: a loan replaced, sent twice or dropped", "[shm][loan]") {
  const std::string url = "shm://" + shm_name("misuse");
  auto rx = brine::pull<bytes>(url);
  auto tx = brine::push<bytes>(url);
  brine::loan stale = tx.loan(10'000);
  fill(stale.bytes(), 1);
  tx.send(make(10'000, 2));  // replaces the loan
  REQUIRE_THROWS_AS(tx.send(std::move(stale)), brine::error);
  brine::loan a = tx.loan(10'000);
  brine::loan b = tx.loan(10'000);  // replaces a
  fill(b.bytes(), 3);
  REQUIRE_THROWS_AS(tx.send(std::move(a)), brine::error);
  tx.send(std::move(b));
  REQUIRE_THROWS_AS(tx.send(std::move(b)), brine::error);  // sent already
  {
    brine::loan dropped = tx.loan(50'000);  // given back unsent
    fill(dropped.bytes(), 9);
  }
  brine::loan empty;
  REQUIRE_THROWS_AS(tx.send(std::move(empty)), brine::error);
  send_loan(tx, 10'000, 4);
  REQUIRE_THROWS_AS(tx.send("topic", tx.loan(10)), brine::error);  // a pipeline has no topics
  for (std::uint64_t id : {2, 3, 4})
    REQUIRE(holds(rx.recv_view().bytes(), 10'000, id));
  REQUIRE_FALSE(rx.recv_view_for(10ms));
  tx.close();
  REQUIRE_THROWS_AS(tx.loan(10), brine::channel_closed);
}

TEST_CASE("loans and views over ZeroMQ: held past later receives; the wrong type refused",
          "[loan][zmq]") {
  const std::string url = test::ipc_url("loan-zmq");
  {
    auto rx = brine::pull<bytes>(url);
    auto tx = brine::push<bytes>(url);
    send_loan(tx, 40, 1);       // short: ZeroMQ keeps it inside the message (copied by keep)
    send_loan(tx, 100'000, 2);  // long: the message itself is kept
    tx.send(make(70'000, 3));
    brine::view a = rx.recv_view_for(10s);
    brine::view b = rx.recv_view_for(10s);
    brine::view c = rx.recv_view_for(10s);
    REQUIRE(holds(a.bytes(), 40, 1));
    REQUIRE(holds(b.bytes(), 100'000, 2));
    REQUIRE(holds(c.bytes(), 70'000, 3));
    rx.close();
    REQUIRE(holds(b.bytes(), 100'000, 2));
  }
  const std::string url2 = test::ipc_url("loan-zmq-type");
  {
    auto rx = brine::pull<std::string>(url2);
    auto tx = brine::push<bytes>(url2);
    send_loan(tx, 1000, 1);
    REQUIRE_THROWS_AS(rx.recv_view_for(10s), brine::type_mismatch);
    auto tx2 = brine::push<std::string>(url2);
    tx2.send("still usable");
    brine::view v = rx.recv_view_for(10s);
    REQUIRE(std::string(reinterpret_cast<const char*>(v.data()), v.size()) == "still usable");
  }
  brine::shutdown();
}
