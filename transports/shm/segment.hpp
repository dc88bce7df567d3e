#pragma once

// A brine shared-memory segment: a named POSIX shared-memory object made and mapped through
// Boost.Interprocess, with a versioned header, a table of participants whose liveness comes
// from the operating system, and one single-producer/single-consumer ring per (sender,
// receiver) pair. Nothing read from the segment is trusted. docs/transports.md draws the
// layout. Not installed.

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>

namespace brine::shm {

/// Shape of a segment, fixed by whoever creates it.
struct geometry {
  std::uint32_t max_senders = 8;
  std::uint32_t max_receivers = 8;
  std::uint32_t slots = 256;       // per ring, a power of two
  std::uint32_t slot_size = 4096;  // bytes per slot, including its 8-byte slot header
};

/// Which end of the channel a participant is.
enum class side : std::uint32_t { sender = 1, receiver = 2 };

/// One process's identity: pid plus its start time, so a reused pid is not mistaken for it.
struct process_id {
  std::uint32_t pid = 0;
  std::uint64_t start_time = 0;
  static process_id self();
  /// Whether that process still runs (the same one, not a reuse of its pid).
  bool alive() const;
};

// ---- shared layout (all fields naturally aligned; std::atomic of lock-free sizes only) ----

inline constexpr char segment_magic[8] = {'b', 'r', 'i', 'n', 'e', 's', 'h', 'm'};
inline constexpr std::uint32_t layout_version = 2;  // 2: slot flag `continued`

/// A participant slot. `owner` is 0 when free, else the pid; `start_time` disambiguates reuse.
struct participant {
  std::atomic<std::uint32_t> owner;
  std::atomic<std::uint32_t> state;  // 0 free, 1 joining, 2 open, 3 closed
  std::atomic<std::uint64_t> start_time;
  std::atomic<std::uint32_t> doorbell;    // bumped by peers; futex word this participant waits on
  std::atomic<std::uint32_t> sleeping;    // 1 while waiting on its doorbell
  std::atomic<std::uint64_t> generation;  // bumped each time the slot is taken
  std::uint8_t pad[64 - 32];
};
static_assert(sizeof(participant) == 64);

/// Head of one ring: the reader's and the writer's positions, each on its own cache line.
struct ring_header {
  std::atomic<std::uint64_t> tail;  // written by the sender: slots published
  std::uint8_t pad1[56];
  std::atomic<std::uint64_t> head;  // written by the receiver: slots consumed
  std::uint8_t pad2[56];
};
static_assert(sizeof(ring_header) == 128);

/// The fixed header at offset 0.
struct segment_header {
  char magic[8];
  std::uint32_t version;
  std::uint32_t pattern;
  std::uint64_t fingerprint;
  std::uint64_t size;
  geometry shape;
  std::atomic<std::uint32_t> ready;  // 0 while the creator initialises, then 1
  std::atomic<std::uint32_t> senders_ever;
  std::uint8_t pad[64 - 56];
};
static_assert(sizeof(segment_header) == 64);

/// A mapped segment. Offsets into it are computed from the creator's geometry, which is checked
/// against the mapping's real size before use, so a corrupt header cannot send an access outside.
class segment {
 public:
  /// Opens `name` (the part after shm://) for a channel of `fingerprint`, creating it with
  /// `shape` if it does not exist, or if it exists but everyone in it has died (stale).
  /// Throws: transport_error (bad name, another user's segment, another type or version,
  /// a corrupt header, a full participant table).
  segment(const std::string& name, std::uint32_t pattern, std::uint64_t fingerprint,
          const geometry& shape, unsigned permissions = 0600);
  ~segment();
  segment(const segment&) = delete;
  segment& operator=(const segment&) = delete;

  const geometry& shape() const noexcept { return shape_; }
  const std::string& os_name() const noexcept { return os_name_; }

  participant& sender(std::uint32_t i) const noexcept;
  participant& receiver(std::uint32_t i) const noexcept;
  ring_header& ring(std::uint32_t sender, std::uint32_t receiver) const noexcept;
  /// Slot `i` (already reduced modulo the slot count) of a ring: slot_size bytes.
  std::byte* slot(std::uint32_t sender, std::uint32_t receiver, std::uint32_t i) const noexcept;
  segment_header& header() const noexcept { return *header_; }

  /// Takes a free (or dead) participant slot of `s`; returns its index. Throws when full.
  std::uint32_t join(side s);
  /// Marks a participant closed (clean end of stream) and frees it.
  void leave(side s, std::uint32_t index) noexcept;

  /// Removes the OS name when no live participant remains (called by the last to leave).
  void unlink_if_unused() noexcept;

  /// Bytes a segment of `shape` takes.
  static std::size_t size_for(const geometry& shape);

 private:
  participant& sender_at(const geometry& g, std::uint32_t i) const noexcept;
  participant& receiver_at(const geometry& g, std::uint32_t i) const noexcept;

  struct impl;
  std::unique_ptr<impl> impl_;
  std::string os_name_;
  geometry shape_;
  segment_header* header_ = nullptr;
  std::byte* base_ = nullptr;
  std::size_t size_ = 0;
};

/// Futex wait on a word in shared memory while it equals `expected`, up to `timeout` (nullopt:
/// no limit). Returns on wake-up, timeout, signal or a changed value alike.
void futex_wait(std::atomic<std::uint32_t>& word, std::uint32_t expected,
                std::optional<std::chrono::nanoseconds> timeout) noexcept;
/// Wakes every waiter on `word`.
void futex_wake(std::atomic<std::uint32_t>& word) noexcept;

/// "brine.<uid>.<name>", or throws transport_error for a name with characters other than
/// letters, digits, '.', '_' and '-', or longer than 200.
std::string os_name_for(const std::string& name);

}  // namespace brine::shm
