#pragma once

// Options common to every channel; each transport documents which it honours
// (docs/transports.md).

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "brine/curve.hpp"
#include "brine/limits.hpp"

namespace brine {

/// What a publisher does when a subscriber's queue is full.
enum class slow_subscriber : std::uint8_t {
  /// Wait until it has room: every subscriber gets every message (the default).
  block,
  /// Drop this message for that subscriber only, as a plain ZeroMQ PUB socket does.
  drop,
};

/// Settings of one channel. The defaults suit a pipeline on one machine.
struct channel_options {
  /// Bind (listen at the address) or connect to it. Unset: pull and publish bind, push and
  /// subscribe connect. A URL written "@scheme://..." always binds, ">scheme://..." connects.
  std::optional<bool> bind;
  /// Messages queued per peer and direction before send blocks (ZeroMQ's high-water mark).
  int high_water_mark = 1000;
  /// How long messages still queued when a sender closes may take to leave the process.
  std::chrono::milliseconds linger{30'000};
  /// How long a connecting channel waits for its first connection before send or recv throws
  /// transport_error ("unreachable").
  std::chrono::milliseconds connect_timeout{10'000};
  /// Receivers: the stream ends only once this many senders have connected and all have closed.
  /// 0 means "at least one".
  std::size_t expect_senders = 0;
  /// Subscribers: topic prefixes to receive; empty receives everything.
  std::vector<std::string> topics;
  /// Publishers: what a full subscriber queue does.
  slow_subscriber on_slow_subscriber = slow_subscriber::block;
  /// Encryption and authentication (tcp:// across machines).
  std::optional<curve_options> curve;
  /// shm:// only: places for senders and for receivers in the segment, fixed by whoever creates
  /// it (1 to 1024 each). Each (sender, receiver) pair has a ring of high_water_mark slots of
  /// 4 KiB, mapped sparse: memory is used only by the messages in flight.
  std::uint32_t shm_senders = 8;
  std::uint32_t shm_receivers = 8;
  /// shm:// only: waiting polls the rings without ever sleeping, for the lowest latency (a
  /// wake-up from sleep costs tens of microseconds on a virtual machine), at the price of a
  /// core kept busy by each waiting sender or receiver. Off: a short spin, then a futex sleep.
  bool shm_busy_poll = false;
  /// shm:// only, without shm_busy_poll: polls of the rings before a waiting sender or receiver
  /// sleeps (some tens of nanoseconds each), so that a message that comes soon is taken without
  /// a wake-up. 0 sleeps at once, which suits threads that wait long or outnumber the cores
  /// (a spinning thread takes the core another would work on): brine::pool's channels do so.
  std::uint32_t shm_spin_polls = 2000;
  /// shm:// only: bytes of shared memory each sender has for messages longer than a ring slot
  /// and for loans (sender::loan), fixed by whoever creates the segment; rounded down to 4 KiB.
  /// Such messages are written there once and read in place; a longer one (or one while the
  /// pool is full, in drop mode) goes through the ring slot by slot. Mapped sparse, like the
  /// rings. 0: no pool.
  std::uint64_t shm_pool_bytes = 64u << 20;
  /// Limits applied when decoding received messages.
  limits decode_limits{};
};

}  // namespace brine
