#pragma once

// The ways brine-bench-shm moves a message between two processes, behind one interface: the
// floor (spinning on shared cache lines), brine's shm:// channels, Boost.Interprocess
// message_queue and raw cppzmq over ipc://. Each method runs in one process of a pair (pair.hpp
// forks the other), opens its ends after the fork and closes them before it returns.

#include <sys/resource.h>

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
  virtual std::size_t area_bytes(std::size_t) const { return 64; }
  virtual bool streams() const { return true; }
  virtual bool idles() const { return true; }

  /// Opens its ends, meets, answers each of `count` messages with one of the same size, meets
  /// again.
  virtual void echo(const run_context& ctx, const payload& p, std::size_t count) = 0;
  /// Opens its ends, meets, runs `warmup + count` round trips, meets again, and returns the last
  /// `count` round-trip times in ns.
  virtual std::vector<double> ping(const run_context& ctx, const payload& p, std::size_t warmup,
                                   std::size_t count) = 0;

  /// Meets, opens, sends `count` messages, meets again (the receiver has them all), closes.
  virtual void stream_send(const run_context&, const payload&, std::size_t) {}
  /// Opens, meets, receives `count` messages (checking the last), meets again, and returns the
  /// time from the first message to the last.
  virtual std::chrono::nanoseconds stream_receive(const run_context&, const payload&, std::size_t) {
    return {};
  }

  /// Meets, opens, meets again, stays idle for `idle`, stamps the time (idle_stamp) and sends one
  /// message, meets a third time and closes.
  virtual void idle_send(const run_context&, const payload&, std::chrono::nanoseconds) {}
  /// Opens, meets, meets again, then times one blocking receive (measure_idle_receive), meets a
  /// third time and closes.
  virtual idle_result idle_receive(const run_context&, const payload&) { return {}; }

 private:
  std::string name_;
  std::string how_;
};

std::unique_ptr<impl> make_floor_impl(bool copy);
std::unique_ptr<impl> make_brine_impl();
std::unique_ptr<impl> make_mq_impl();
std::unique_ptr<impl> make_zmq_impl();

// ---- helpers the implementations share ----

/// Runs `warmup + count` calls of `round_trip` and returns the last `count` durations in ns. The
/// clock is read once per round trip (each sample ends where the next begins), so every sample
/// carries the cost of one clock read.
template <class F>
std::vector<double> time_round_trips(std::size_t warmup, std::size_t count, F&& round_trip) {
  std::vector<double> ns;
  ns.reserve(count);
  auto last = bench_clock::now();
  for (std::size_t i = 0; i < warmup + count; ++i) {
    round_trip();
    auto now = bench_clock::now();
    if (i >= warmup) ns.push_back(std::chrono::duration<double, std::nano>(now - last).count());
    last = now;
  }
  return ns;
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

/// Where an idle sender notes when it sends (steady-clock ns), at the start of the shared area.
inline std::atomic<std::int64_t>& idle_stamp(const run_context& ctx) {
  static_assert(std::atomic<std::int64_t>::is_always_lock_free);
  return *reinterpret_cast<std::atomic<std::int64_t>*>(ctx.area.data());
}

/// The sender's half of the idle measurement, after its second meeting: waits `idle`, stamps the
/// time and calls `send_one`.
template <class F>
void idle_then_send(const run_context& ctx, std::chrono::nanoseconds idle, F&& send_one) {
  std::this_thread::sleep_for(idle);
  idle_stamp(ctx).store(steady_ns(bench_clock::now()), std::memory_order_release);
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
  r.wake_ns = static_cast<double>(steady_ns(t1) - idle_stamp(ctx).load(std::memory_order_acquire));
  return r;
}

}  // namespace brine::bench
