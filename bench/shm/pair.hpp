#pragma once

// Pairs of processes for brine-bench-shm: one forked per run, with a shared anonymous mapping made
// before the fork (the floor's cache lines, figures a child hands back) and a rendezvous. Every
// object a run makes in /dev/shm or the temporary directory is named after the run, so whatever an
// implementation leaves behind can be found, counted and removed.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>

namespace brine::bench {

/// A zero-filled MAP_SHARED|MAP_ANONYMOUS mapping: after a fork, both processes see each other's
/// writes. Throws: std::runtime_error if it cannot be mapped.
class shared_area {
 public:
  explicit shared_area(std::size_t bytes);
  ~shared_area();
  shared_area(const shared_area&) = delete;
  shared_area& operator=(const shared_area&) = delete;

  std::span<std::byte> bytes() const noexcept { return {base_, size_}; }

 private:
  std::byte* base_ = nullptr;
  std::size_t size_ = 0;
};

/// How the two processes of a run agree on its end, and what they hand each other; in a mapping
/// made before the fork, one line per field.
struct run_control {
  /// Set by a stream's receiver once its time is up.
  alignas(64) std::atomic<std::uint32_t> stop{0};
  /// The number of messages the driving side (pinger, stream sender) sends in all, stored before
  /// it sends the last one; 0 until then.
  alignas(64) std::atomic<std::uint64_t> total{0};
  /// When an idle sender sent (steady-clock ns).
  alignas(64) std::atomic<std::int64_t> idle_stamp{0};
};
static_assert(std::atomic<std::uint64_t>::is_always_lock_free);

/// What each process of a pair is given.
struct run_context {
  /// Unique to the run, of letters, digits, '.' and '-' only: usable as a shm:// name, a message
  /// queue name and an ipc:// file name once a ".<tag>" is appended.
  std::string name;
  /// The implementation's shared mapping (mapped before the fork).
  std::span<std::byte> area;
  run_control* control;
  /// Returns once the other process has made its matching call.
  /// Throws: std::runtime_error if the other process is gone.
  std::function<void()> meet;
};

using side_fn = std::function<void(const run_context&)>;

/// Runs `child` in a forked process and `parent` in this one, both with `name`, `area`, a fresh
/// run_control and a rendezvous. This process must have a single thread when it forks (checked), so
/// that neither side inherits a ZeroMQ context or a held lock. Throws: std::runtime_error if this
/// process has other threads, or the child fails. Blocks: until the child has exited; the whole
/// process ends if the pair takes over `limit_seconds` (a peer is stuck).
void run_pair(const std::string& name, std::span<std::byte> area, const side_fn& child,
              const side_fn& parent, unsigned limit_seconds);

/// A fresh run name: "brine-bench-shm.<pid>.<n>".
std::string fresh_run_name();

/// The name every run of this process starts with, for a final sweep: "brine-bench-shm.<pid>".
std::string process_run_prefix();

/// Removes what remains of objects named `name.*`: in /dev/shm, as they are (message queues) or
/// as brine names segments ("brine.<uid>.name.*"), and sockets in the temporary directory.
/// Returns how many it removed.
std::size_t remove_objects_of(const std::string& name) noexcept;

}  // namespace brine::bench
