#pragma once

// The ways brine-bench-channels moves messages between processes, behind one interface:
// brine's typed push/pull channels (decoding values, or views of byte buffers), and raw cppzmq
// PUSH/PULL sockets sending the same bytes.
// Each method runs in one process of a pair (process.hpp forks the other) and owns every
// ZeroMQ resource it makes: it is created after the fork and gone, context included, when the
// method returns.

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace brine::bench {

/// What is sent: a byte vector sized so that its brine frame is `frame_size` bytes, and that
/// frame, which raw ZeroMQ sends as pre-serialized bytes.
struct payload {
  std::vector<std::byte> value;
  std::vector<std::byte> frame;
};

/// Throws: std::runtime_error if no byte vector encodes to exactly `frame_size` bytes.
payload make_payload(std::size_t frame_size);

/// Meets the other process of a pair: returns once that one has made its matching call. Peers
/// meet once their addresses are bound, and again once every message has arrived, before
/// anything is closed: libzmq may drop the last messages of a socket closed while its peer is
/// still behind, even with linger (zeromq/libzmq#4660, #1264), so no run relies on linger.
using rendezvous_fn = std::function<void()>;

/// One implementation of the benchmarked patterns.
class peer {
 public:
  explicit peer(std::string name) : name_(std::move(name)) {}
  virtual ~peer() = default;
  peer(const peer&) = delete;
  peer& operator=(const peer&) = delete;

  const std::string& name() const noexcept { return name_; }

  /// Meets, connects to `url`, sends `count` messages, and meets again before closing.
  virtual void stream_send(const payload& p, const std::string& url, std::size_t count,
                           const rendezvous_fn& meet) = 0;

  /// Binds `url`, meets, receives `count` messages (checking the last one), meets again and
  /// returns the time from the first message to the last.
  virtual std::chrono::nanoseconds stream_receive(const payload& p, const std::string& url,
                                                  std::size_t count, const rendezvous_fn& meet) = 0;

  /// Binds `in`, meets, connects to `out`, answers each of `count` messages with one of the
  /// same size, and meets again.
  virtual void echo(const payload& p, const std::string& in, const std::string& out,
                    std::size_t count, const rendezvous_fn& meet) = 0;

  /// Binds `in`, meets, connects to `out`, then runs `warmup + count` round trips (send on
  /// `out`, wait for the answer on `in`), meets again, and returns the last `count` round-trip
  /// times in ns.
  virtual std::vector<double> ping(const payload& p, const std::string& in, const std::string& out,
                                   std::size_t warmup, std::size_t count,
                                   const rendezvous_fn& meet) = 0;

 private:
  std::string name_;
};

std::unique_ptr<peer> make_zmq_peer();
std::unique_ptr<peer> make_brine_peer();
std::unique_ptr<peer> make_brine_view_peer();

}  // namespace brine::bench
