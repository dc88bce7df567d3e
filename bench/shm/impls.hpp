#pragma once

// The ways brine-bench-shm moves a message between two processes, behind one interface: the
// floor (spinning on shared cache lines), brine's shm:// channels (copy and loan mode),
// Boost.Interprocess message_queue and raw cppzmq over ipc://. Each method runs in one process of
// a pair (pair.hpp forks the other), opens its ends after the fork and closes them before it
// returns.

#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "common/harness.hpp"
#include "pair.hpp"

namespace brine::bench {

/// What is sent: a byte vector sized so that its brine frame is `frame_size` bytes, and that
/// frame, which the other implementations send as pre-serialized bytes.
struct payload {
  std::vector<std::byte> value;
  std::vector<std::byte> frame;
};

/// Throws: std::runtime_error if no byte vector encodes to exactly `frame_size` bytes.
payload make_payload(std::size_t frame_size);

/// What one blocking receive with an idle sender cost the receiving process.
struct idle_result {
  double wall_s = 0;
  double cpu_s = 0;    // user + system, every thread of the receiving process
  double wake_ns = 0;  // from the sender's send to the receiver's return (one way, after idling)
};

/// What a stream's receiver counted: messages after the first, until it called time.
struct stream_count {
  std::uint64_t messages = 0;
  std::chrono::nanoseconds elapsed{};
};

/// One implementation of the benchmarked patterns.
class impl {
 public:
  impl(std::string name, std::string how) : name_(std::move(name)), how_(std::move(how)) {}
  virtual ~impl() = default;
  impl(const impl&) = delete;
  impl& operator=(const impl&) = delete;

  const std::string& name() const noexcept { return name_; }
  /// What each side does, for the report's preamble.
  const std::string& how() const noexcept { return how_; }
  /// What it learned while running (empty if nothing), for the report.
  virtual std::string notes() const { return {}; }

  /// Bytes of shared mapping a run with frames of `frame` bytes needs.
  virtual std::size_t area_bytes(std::size_t) const { return 0; }
  virtual bool streams() const { return true; }
  virtual bool idles() const { return true; }

  /// Opens its ends, meets, answers every message with one of the same size until it has
  /// answered as many as the pinger says it sends (echo_until_told), meets again.
  virtual void echo(const run_context& ctx, const payload& p) = 0;
  /// Opens its ends, meets, runs `warmup` round trips and then `count` timed ones, fewer if
  /// `limit` passes first (time_round_trips), meets again; returns the timed round trips in ns.
  virtual std::vector<double> ping(const run_context& ctx, const payload& p, std::size_t warmup,
                                   std::size_t count, std::chrono::nanoseconds limit) = 0;

  /// Meets, opens, sends until the receiver calls time (send_until_told), meets again, closes.
  virtual void stream_send(const run_context&, const payload&) {}
  /// Opens, meets, receives for `limit` from the first message (receive_for), checks the last,
  /// meets again.
  virtual stream_count stream_receive(const run_context&, const payload&,
                                      std::chrono::nanoseconds) {
    return {};
  }

  /// Meets, opens, meets again, stays idle for `idle`, then stamps the time and sends one message
  /// (idle_then_send), meets a third time and closes.
  virtual void idle_send(const run_context&, const payload&, std::chrono::nanoseconds) {}
  /// Opens, meets, then times one blocking receive (measure_idle_receive), meets a third time and
  /// closes.
  virtual idle_result idle_receive(const run_context&, const payload&) { return {}; }

 private:
  std::string name_;
  std::string how_;
};

std::unique_ptr<impl> make_floor_impl(bool copy);
std::unique_ptr<impl> make_brine_impl(bool busy);
/// brine in loan mode: sender::loan and receiver::recv_view, so that no message is copied.
std::unique_ptr<impl> make_brine_loan_impl(bool busy);
std::unique_ptr<impl> make_mq_impl();
std::unique_ptr<impl> make_zmq_impl();
/// Starts RouDi and returns the iceoryx implementation, or nullptr with the reason in `why_not`.
std::unique_ptr<impl> make_iceoryx_impl(std::string& why_not);

// ---- helpers the implementations share ----

/// The pinger's loop: up to `warmup` round trips, then up to `count` timed ones. Either phase
/// ends early once it has taken `limit` (the timed one after at least 10 round trips). Before the
/// last round trip it stores how many it runs in all (run_control::total), so that the echoer
/// stops after answering that one. The clock is read once per round trip (each sample ends where
/// the next begins): every sample carries the cost of one clock read. Returns the timed round
/// trips in ns.
template <class F>
std::vector<double> time_round_trips(const run_context& ctx, std::size_t warmup, std::size_t count,
                                     std::chrono::nanoseconds limit, F&& round_trip) {
  std::size_t at_least = std::min<std::size_t>(count, 10);
  std::vector<double> ns;
  ns.reserve(count);
  auto last = bench_clock::now();
  auto phase_start = last;
  bool warming = warmup > 0;
  for (std::size_t i = 0;; ++i) {
    if (warming && (i >= warmup || last - phase_start > limit)) {
      warming = false;
      phase_start = last;
    }
    bool final = !warming && (ns.size() + 1 >= count ||
                              (ns.size() + 1 >= at_least && last - phase_start > limit));
    if (final) ctx.control->total.store(i + 1, std::memory_order_release);
    round_trip();
    auto now = bench_clock::now();
    if (!warming) ns.push_back(std::chrono::duration<double, std::nano>(now - last).count());
    last = now;
    if (final) return ns;
  }
}

/// The echoer's loop: calls `answer_one` (receive a message, send one back) until it has answered
/// as many as the pinger said it sends.
template <class F>
void echo_until_told(const run_context& ctx, F&& answer_one) {
  for (std::uint64_t n = 1;; ++n) {
    answer_one();
    std::uint64_t total = ctx.control->total.load(std::memory_order_acquire);
    if (total != 0 && n >= total) return;
  }
}

/// A stream sender's loop: calls `send_one` until the receiver calls time, then stores how many
/// messages it sends in all and sends one more, so that a receiver blocked in a receive always
/// gets one.
template <class F>
void send_until_told(const run_context& ctx, F&& send_one) {
  run_control& c = *ctx.control;
  for (std::uint64_t sent = 0;; ++sent) {
    if (c.stop.load(std::memory_order_relaxed) != 0) {
      c.total.store(sent + 1, std::memory_order_release);
      send_one();
      return;
    }
    send_one();
  }
}

/// A stream receiver's loop: calls `recv_one` for `limit` from the first message (reading the
/// clock every 64 KiB or so of messages of `frame` bytes), calls time, then receives what the
/// sender still sends. Returns the count and time of the timed part, first message excluded.
template <class F>
stream_count receive_for(const run_context& ctx, std::size_t frame, std::chrono::nanoseconds limit,
                         F&& recv_one) {
  std::uint64_t check_every =
      std::max<std::uint64_t>(1, (64 << 10) / std::max<std::size_t>(frame, 1));
  recv_one();
  auto start = bench_clock::now();
  auto now = start;
  std::uint64_t got = 1;
  do {
    recv_one();
    ++got;
    if (got % check_every == 0) now = bench_clock::now();
  } while (now - start < limit);
  stream_count counted{got - 1, now - start};
  run_control& c = *ctx.control;
  c.stop.store(1, std::memory_order_release);
  for (;;) {
    std::uint64_t total = c.total.load(std::memory_order_acquire);
    if (total != 0 && got >= total) return counted;
    recv_one();
    ++got;
  }
}

/// CPU time (user + system) of every thread of this process, in seconds.
inline double process_cpu_seconds() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  auto s = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) * 1e-6;
  };
  return s(u.ru_utime) + s(u.ru_stime);
}

/// `t` as ns since the steady clock's epoch, which every process on the machine shares.
inline std::int64_t steady_ns(bench_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

/// The sender's half of the idle measurement, after its second meeting: waits `idle`, stamps the
/// time and calls `send_one`.
template <class F>
void idle_then_send(const run_context& ctx, std::chrono::nanoseconds idle, F&& send_one) {
  std::this_thread::sleep_for(idle);
  ctx.control->idle_stamp.store(steady_ns(bench_clock::now()), std::memory_order_release);
  send_one();
}

/// The receiver's half, from its second meeting on: times `recv_one` (a blocking receive).
template <class F>
idle_result measure_idle_receive(const run_context& ctx, F&& recv_one) {
  ctx.meet();
  double cpu0 = process_cpu_seconds();
  auto t0 = bench_clock::now();
  recv_one();
  auto t1 = bench_clock::now();
  double cpu1 = process_cpu_seconds();
  idle_result r;
  r.wall_s = std::chrono::duration<double>(t1 - t0).count();
  r.cpu_s = cpu1 - cpu0;
  r.wake_ns =
      static_cast<double>(steady_ns(t1) - ctx.control->idle_stamp.load(std::memory_order_acquire));
  return r;
}

}  // namespace brine::bench
