#pragma once

// The transport interface: what a channel needs from a way of moving frames between processes.
// A transport sees bytes only, never C++ types. docs/transports.md describes the contract; the
// ZeroMQ transport (transports/zmq) and the shared-memory one implement it.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "brine/channel_options.hpp"

namespace brine::transport {

/// How messages are distributed.
enum class pattern : std::uint8_t {
  /// Each message goes to exactly one receiver (push/pull).
  pipeline,
  /// Each message goes to every receiver subscribed to its topic (publish/subscribe).
  pubsub,
  /// Requests from clients to one server, replies back to the client that asked.
  reqrep,
};

/// A point in time a blocking call gives up at. `forever` never comes; a past one means "try".
using deadline = std::chrono::steady_clock::time_point;
inline constexpr deadline forever = deadline::max();

/// A deadline `timeout` from now (saturating).
deadline after(std::chrono::nanoseconds timeout) noexcept;

/// after(), from a clock that is cheaper to read (CLOCK_MONOTONIC_COARSE: a few nanoseconds
/// where steady_clock takes some tens here) but may lag it by some milliseconds, so the deadline
/// may come that much early: for the slices of waits that loop anyway, and for timeouts of
/// seconds.
deadline about_after(std::chrono::nanoseconds timeout) noexcept;

/// A parsed channel URL: "[@|>]scheme://address".
struct endpoint {
  /// "ipc", "tcp", "inproc", "shm".
  std::string scheme;
  /// Everything after "://".
  std::string address;
  /// Set by a leading '@' (bind) or '>' (connect).
  std::optional<bool> bind;

  /// "scheme://address".
  std::string url() const { return scheme + "://" + address; }
};

/// Parses a URL. Throws: transport_error naming what is wrong with it.
endpoint parse_url(std::string_view url);

/// The sending half of a transport. Thread-safety: one thread at a time.
class sender_link {
 public:
  virtual ~sender_link() = default;

  /// A writable buffer of exactly `size` bytes, sent by the next commit(). A new prepare()
  /// replaces an uncommitted buffer.
  virtual std::span<std::byte> prepare(std::size_t size) = 0;

  /// Sends the prepared buffer, under `topic` for publish/subscribe. Returns false if `until`
  /// passed first; the buffer then stays prepared. Throws: transport_error (no connection
  /// within connect_timeout, transport failure), channel_closed after close().
  virtual bool commit(std::string_view topic, deadline until) = 0;

  /// Waits until at least `count` receivers are connected (subscribed, for publish/subscribe).
  /// Returns false if `until` passed first.
  virtual bool wait_peers(std::size_t count, deadline until) = 0;

  /// The address bound (with the port a "tcp://host:*" URL was given), or the first URL.
  virtual std::string endpoint() const = 0;

  /// Messages a publisher skipped for a full subscriber (slow_subscriber::drop), one per
  /// message and subscriber, where the transport can tell (0 otherwise).
  virtual std::uint64_t dropped() const noexcept { return 0; }

  /// Ends the stream for this sender: receivers see its end after its last message.
  /// Never blocks; messages still queued get channel_options::linger to leave the process.
  virtual void close() noexcept = 0;
};

/// What receiver_link::recv found.
enum class recv_status : std::uint8_t { frame, timeout, end };

/// A received frame, valid until the next recv() or close() on the same link.
struct received {
  std::span<const std::byte> frame;
  std::string_view topic;
};

/// A frame kept past the next recv() (receiver_link::keep), until released by its token.
struct kept {
  std::uint64_t token = 0;
  std::span<const std::byte> frame;
};

/// The receiving half of a transport. Thread-safety: one thread at a time, except wake().
class receiver_link {
 public:
  virtual ~receiver_link() = default;

  /// Waits until `until` for the next frame. Returns `end` once every sender that counts
  /// (docs/channels.md) has closed and every frame they sent has been returned.
  /// Throws: transport_error (no connection within connect_timeout, transport failure).
  virtual recv_status recv(received& out, deadline until) = 0;

  /// Says the frame returned last is no longer needed, so its memory (a ring slot) can be
  /// reused before the next recv().
  virtual void done() noexcept {}

  /// Instead of done(): keeps the frame returned last (`frame`, or a part of it) valid after
  /// the next recv() and close(), until release(token), so that several can be held. A
  /// transport that can keeps it where it is (shm://: in its slot or pool chunk, which senders
  /// then leave alone); this default copies it. Throws: std::bad_alloc.
  virtual kept keep(std::span<const std::byte> frame);

  /// Gives back a frame kept by keep(). Unknown tokens are ignored.
  virtual void release(std::uint64_t token) noexcept;

  /// From any thread: makes a recv() waiting in another thread (or the next one) return
  /// `timeout` now, so that its thread can attend to other work. shm:// does; by default this
  /// does nothing, and recv() returns at its deadline.
  virtual void wake() noexcept {}

  /// The address bound (with its resolved port), or the first URL.
  virtual std::string endpoint() const = 0;

  /// Stops receiving; frames not yet received are discarded. Never blocks.
  virtual void close() noexcept = 0;

 private:
  std::vector<std::pair<std::uint64_t, std::vector<std::byte>>> copies_;  // keep()'s default
  std::uint64_t copied_ = 0;
};

/// How late a recv() may notice wake() when its link was told lazy_wake(true).
inline constexpr std::chrono::milliseconds lazy_wake_within{20};

/// The calling end of request/reply: sends requests to a server and receives its replies, which
/// may come in any order. Thread-safety: one thread at a time, except wake().
class client_link {
 public:
  virtual ~client_link() = default;

  /// A writable buffer of exactly `size` bytes for the next request (see sender_link).
  virtual std::span<std::byte> prepare(std::size_t size) = 0;

  /// Sends the prepared request to a connected server. Returns false if `until` passed first
  /// (no server connected, or its queue is full); the buffer then stays prepared.
  /// Throws: transport_error (transport failure), channel_closed after close().
  virtual bool commit(deadline until) = 0;

  /// Waits until `until` for the next reply; returns `timeout` early after wake().
  /// Never returns `end`: servers may come back. Throws: transport_error.
  virtual recv_status recv(received& out, deadline until) = 0;

  /// Makes a recv() blocked in another thread (or the next one) return soon. Any thread.
  virtual void wake() noexcept = 0;

  /// With `on`, recv() may notice wake() late (within lazy_wake_within), where that lets the
  /// transport wait more cheaply (ZeroMQ: one blocking receive, not a poll of several
  /// descriptors). For callers woken rarely: a synchronous call, a server running its handlers
  /// in the thread that receives. Off by default.
  virtual void lazy_wake(bool on) noexcept { (void)on; }

  /// How many times a connection to a server was lost so far: requests sent before a loss
  /// will get no reply.
  virtual std::uint64_t losses() = 0;

  /// Whether a server is connected now.
  virtual bool connected() = 0;

  /// The first URL.
  virtual std::string endpoint() const = 0;

  /// Stops; requests still queued get channel_options::linger to leave. Never blocks.
  virtual void close() noexcept = 0;
};

/// The serving end of request/reply. Thread-safety: one thread at a time, except wake().
class server_link {
 public:
  virtual ~server_link() = default;

  /// Waits until `until` for the next request; `client` names who sent it, for reply().
  /// Returns `timeout` early after wake(). Throws: transport_error.
  virtual recv_status recv(received& out, std::string& client, deadline until) = 0;

  /// A writable buffer of exactly `size` bytes for the next reply.
  virtual std::span<std::byte> prepare(std::size_t size) = 0;

  /// Sends the prepared reply to `client`. Returns false if `until` passed first (the client's
  /// queue is full; the buffer stays prepared). A client that has gone is no error: the reply
  /// is dropped and true returned. Throws: transport_error.
  virtual bool reply(std::string_view client, deadline until) = 0;

  /// See client_link::wake().
  virtual void wake() noexcept = 0;

  /// See client_link::lazy_wake().
  virtual void lazy_wake(bool on) noexcept { (void)on; }

  /// The address bound (with the port a "tcp://host:*" URL was given), or the first URL.
  virtual std::string endpoint() const = 0;

  /// Stops; replies still queued get channel_options::linger to leave. Never blocks.
  virtual void close() noexcept = 0;
};

/// Opens the client end of request/reply on `urls` (connects by default).
/// Throws: transport_error.
std::unique_ptr<client_link> open_client(std::span<const std::string> urls,
                                         const channel_options& opts);

/// Opens the server end of request/reply on `urls` (binds by default).
/// Throws: transport_error.
std::unique_ptr<server_link> open_server(std::span<const std::string> urls,
                                         const channel_options& opts);

/// Opens the sending side of a channel on `urls` (all of one scheme). `fingerprint` is the
/// channel's type, for transports that check it when the channel is set up (0: do not check).
/// Throws: transport_error (bad URL, unknown scheme, address in use, ...), type_mismatch.
std::unique_ptr<sender_link> open_sender(pattern p, std::span<const std::string> urls,
                                         const channel_options& opts, std::uint64_t fingerprint);

/// The operating system's name of the shared memory behind a shm:// channel URL, for places
/// where unlinking it is all that may be done (a signal handler). Throws: transport_error.
std::string shm_os_name(std::string_view url);

/// Opens the receiving side of a channel on `urls` (all of one scheme).
/// Throws: transport_error, type_mismatch.
std::unique_ptr<receiver_link> open_receiver(pattern p, std::span<const std::string> urls,
                                             const channel_options& opts,
                                             std::uint64_t fingerprint);

}  // namespace brine::transport

namespace brine {

/// Releases brine's process-wide transport state (the ZeroMQ context) after messages still
/// queued by closed senders have left, each within its linger. Runs by itself at normal exit;
/// call it in a forked child before _exit(). Channels opened later start afresh.
/// Blocks: up to the longest linger of the closed senders.
void shutdown() noexcept;

}  // namespace brine
