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
#include <vector>

namespace brine::shm {

/// Shape of a segment, fixed by whoever creates it.
struct geometry {
  std::uint32_t max_senders = 8;
  std::uint32_t max_receivers = 8;
  std::uint32_t slots = 256;       // per ring, a power of two
  std::uint32_t slot_size = 4096;  // bytes per slot, including its 16-byte slot header
  // Per sender: memory for messages longer than a slot and for loans (0: none), a multiple of
  // 4096. Messages there are written once and read in place; a ring slot names them.
  std::uint64_t pool_bytes = 64u << 20;
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
// 4: slot seq; 5: released; 6: senders_high; 7: receivers_high
inline constexpr std::uint32_t layout_version = 7;

/// A participant slot. `owner` is 0 when free, else the pid; `start_time` disambiguates reuse.
struct participant {
  std::atomic<std::uint32_t> owner;
  std::atomic<std::uint32_t> state;  // one of the state_ values below
  std::atomic<std::uint64_t> start_time;
  std::atomic<std::uint32_t> doorbell;    // bumped by peers; futex word this participant waits on
  std::atomic<std::uint32_t> sleeping;    // 1 while waiting on its doorbell
  std::atomic<std::uint64_t> generation;  // bumped each time the slot is taken
  // A sender's: where its pool's next chunk goes (a position, see chunk_ref), for a sender that
  // takes the place over.
  std::atomic<std::uint64_t> pool_alloc;
  // 1 if this participant, before it sleeps, makes every CPU running a registered process fence
  // (membarrier): then a registered waker may skip its own fence. 0 (as take() leaves it): each
  // waker fences for itself. See ring_bell in links.cpp.
  std::atomic<std::uint32_t> fences_for_wakers;
  std::uint8_t pad[64 - 44];
};
static_assert(sizeof(participant) == 64);

// A participant's state. Senders write only to receivers that are open.
inline constexpr std::uint32_t state_free = 0;
inline constexpr std::uint32_t state_joining = 1;  // taken, not yet open: senders leave it alone
inline constexpr std::uint32_t state_open = 2;
inline constexpr std::uint32_t state_closed = 3;
// A receiver closed while it keeps messages (views): senders leave it alone and the pool chunks
// it keeps stay untouched until it releases them and leaves.
inline constexpr std::uint32_t state_closing = 4;

/// Head of one ring: the reader's and the writer's positions, each on its own cache line.
struct ring_header {
  // Written by the sender: slots published. Receivers do not read it (each slot says whether
  // it is published, see slot_header::seq); senders taking a place over, and inspect(), do.
  std::atomic<std::uint64_t> tail;
  std::uint8_t pad1[56];
  std::atomic<std::uint64_t> head;  // written by the receiver: slots consumed
  // Written by the receiver: 0 if it keeps no chunk of this ring's sender (views, see
  // receiver_link::keep), else 1 + the position of the oldest it keeps. A chunk is the sender's
  // again once the receiver has consumed the slot naming it and keeps nothing at or before it.
  std::atomic<std::uint64_t> held_from;
  std::uint8_t pad2[48];
  // Written by the receiver: its head as last told to the sender, at most `head`. A sender
  // waiting for room reads this, not `head`: the receiver stores it once per batch of slots
  // (and whenever it finds nothing to read), so a sender looking for room does not take the
  // line of `head`, written for every message, from the receiver every time.
  std::atomic<std::uint64_t> released;
  std::uint8_t pad3[56];
};
static_assert(sizeof(ring_header) == 192);

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
  // 1 + the highest sender place ever taken: receivers look at the rings of places below it
  // only (senders take the lowest free place), so that an RPC server with room for 64 clients
  // and one client polls one ring, not 64.
  std::atomic<std::uint32_t> senders_high;
  // The same for receivers: senders look for an open receiver among places below it, so that a
  // sender with room for 8 receivers and one receiver reads one place per message, not 8.
  std::atomic<std::uint32_t> receivers_high;
  std::uint8_t pad[56];
};
static_assert(sizeof(segment_header) == 128);

// Each slot starts with this header; a message longer than one slot continues in the next slots
// of the same ring, every one but the last flagged `more`, every one but the first `continued`.
// `continued` lets a receiver that takes a dead receiver's place skip the rest of a message whose
// beginning the dead one had read, and lets a receiver drop the pieces of a message its sender
// abandoned (see shm_sender::write_message in links.cpp): the next message begins without it.
// A slot is published when its `seq` holds its position in the ring plus one, stored (release)
// after the rest of the slot and before the ring's tail: a receiver polls the slot it reads
// next, the cache line the message's first bytes share, rather than the ring's tail too (one
// cache line fewer passed between the processes per message). A sender that dies between the
// two stores leaves a tail one behind a published slot; whoever reads the tail allows for it.
struct slot_header {
  std::uint32_t size;
  std::uint32_t flags;
  std::uint64_t seq;
};
static_assert(sizeof(slot_header) == 16);
inline constexpr std::uint32_t flag_more = 1;
inline constexpr std::uint32_t flag_continued = 2;
// The message is in its sender's pool: the slot holds a chunk_ref (then, for publish/subscribe,
// the topic and its length).
inline constexpr std::uint32_t flag_chunk = 4;
inline constexpr std::size_t slot_header_size = sizeof(slot_header);

/// The `seq` of the slot at `slot`, read with acquire: when it is the position expected, the
/// rest of the slot can be read.
inline std::uint64_t slot_seq(const std::byte* slot) noexcept {
  return std::atomic_ref<std::uint64_t>(
             *reinterpret_cast<std::uint64_t*>(const_cast<std::byte*>(slot) + 8))
      .load(std::memory_order_acquire);
}
/// Publishes the slot at `slot` as position `position` of its ring.
inline void publish_seq(std::byte* slot, std::uint64_t position) noexcept {
  std::atomic_ref<std::uint64_t>(*reinterpret_cast<std::uint64_t*>(slot + 8))
      .store(position + 1, std::memory_order_release);
}

/// A ring's tail as the sender last stored it, made good for a sender that died between
/// publishing a slot and storing the tail: one more if the slot at the tail is published.
/// `slot_at(k)` is the slot of position k.
template <class SlotAt>
std::uint64_t published_tail(std::uint64_t tail, SlotAt slot_at) noexcept {
  return slot_seq(slot_at(tail)) == tail + 1 ? tail + 1 : tail;
}

// Chunks of a sender's pool are addressed by position: a count of bytes allocated since the
// place was made, increasing; the chunk lives at position % pool_bytes, 64-byte aligned. Each
// starts with a chunk_header repeating the position and size its slot names, so that a slot
// naming a chunk that was since reused is caught; the message follows it at once, so that the
// chunk header, the frame header and a message's first bytes share one cache line.
struct chunk_ref {
  std::uint64_t position;
  std::uint64_t size;  // of the message, after the chunk header
};
inline constexpr std::size_t chunk_header_size = sizeof(chunk_ref);
inline constexpr std::size_t chunk_align = 64;

/// Bytes of pool a message of `size` bytes takes.
constexpr std::uint64_t chunk_bytes(std::uint64_t size) noexcept {
  return (chunk_header_size + size + chunk_align - 1) / chunk_align * chunk_align;
}

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

  // Inline: the hot paths of both ends call these for every message.
  participant& sender(std::uint32_t i) const noexcept { return participants()[i]; }
  participant& receiver(std::uint32_t i) const noexcept {
    return participants()[shape_.max_senders + i];
  }
  ring_header& ring(std::uint32_t sender, std::uint32_t receiver) const noexcept {
    return *reinterpret_cast<ring_header*>(
        rings_ + (std::size_t{sender} * shape_.max_receivers + receiver) * ring_bytes_);
  }
  /// Slot `i` (already reduced modulo the slot count) of a ring: slot_size bytes.
  std::byte* slot(std::uint32_t sender, std::uint32_t receiver, std::uint32_t i) const noexcept {
    return reinterpret_cast<std::byte*>(&ring(sender, receiver)) + sizeof(ring_header) +
           std::size_t{i} * shape_.slot_size;
  }
  /// The slot of ring position `position` (any: reduced here).
  std::byte* slot_at(std::uint32_t sender, std::uint32_t receiver,
                     std::uint64_t position) const noexcept {
    return slot(sender, receiver, static_cast<std::uint32_t>(position & (shape_.slots - 1)));
  }
  /// The pool of sender place `sender`: shape().pool_bytes bytes.
  std::byte* pool(std::uint32_t sender) const noexcept;
  /// The message a slot's chunk_ref names in `sender`'s pool, or an empty optional if the
  /// reference is out of range or does not match the chunk's header (a corrupt segment).
  std::optional<std::span<std::byte>> chunk(std::uint32_t sender, const chunk_ref& ref) const;
  segment_header& header() const noexcept { return *header_; }

  /// Takes a free (or dead) participant slot of `s`; returns its index. Throws when full.
  /// With `open` false the place stays `joining` (peers leave it alone) until open() is called.
  std::uint32_t join(side s, bool open = true);
  /// Opens a place joined with `open` false.
  void open(side s, std::uint32_t index) noexcept;
  /// Takes place `index` of `s` if its owner is still `owner` (0: free; else a dead process),
  /// as join() does; returns false if another process took it first.
  bool take(side s, std::uint32_t index, std::uint32_t owner, bool open);
  /// Frees a place whose owner `owner` has died, for the next participant to take.
  void evict(side s, std::uint32_t index, std::uint32_t owner) noexcept;
  /// Marks a participant closed (clean end of stream) and frees it.
  void leave(side s, std::uint32_t index) noexcept;

  /// Removes the OS name when no live participant remains (called by the last to leave).
  void unlink_if_unused() noexcept;

  /// Bytes a segment of `shape` takes.
  static std::size_t size_for(const geometry& shape);

 private:
  participant* participants() const noexcept {
    return reinterpret_cast<participant*>(base_ + participants_offset);
  }
  // Records the geometry checked against the mapping, and where the rings are.
  void set_shape(const geometry& g) noexcept;
  static constexpr std::size_t participants_offset = 4096;  // after the header page

  struct impl;
  std::unique_ptr<impl> impl_;
  std::string os_name_;
  geometry shape_;
  segment_header* header_ = nullptr;
  std::byte* base_ = nullptr;
  std::size_t size_ = 0;
  std::byte* rings_ = nullptr;  // the first ring
  std::size_t ring_bytes_ = 0;  // from one ring to the next
};

/// Futex wait on a word in shared memory while it equals `expected`, up to `timeout` (nullopt:
/// no limit). Returns on wake-up, timeout, signal or a changed value alike.
void futex_wait(std::atomic<std::uint32_t>& word, std::uint32_t expected,
                std::optional<std::chrono::nanoseconds> timeout) noexcept;
/// Wakes every waiter on `word`.
void futex_wake(std::atomic<std::uint32_t>& word) noexcept;

/// What a segment holds, as read by inspect(): for brine-shm, which lists and removes segments.
struct segment_info {
  enum class status {
    ok,             // a segment of this layout version; every field below is filled
    not_brine,      // too small for a header, or a bad magic
    other_version,  // `version` is another layout version: nothing past it was read
    not_ready,      // its creator has not finished initialising it (or died doing so)
    corrupt,        // a header whose geometry does not fit the file
  };
  struct member {
    side role = side::sender;
    std::uint32_t index = 0;  // its place in the participants table
    std::uint32_t pid = 0;
    std::uint32_t state = 0;  // state_joining, state_open, state_closed or state_closing
    bool alive = false;       // the operating system's answer, as for the transport itself
  };

  std::string os_name;  // brine.<uid>.<name>
  std::string name;     // the channel's name: shm://<name>
  status state = status::not_brine;
  std::string problem;            // why, when state is not ok
  std::uint64_t file_size = 0;    // the shared-memory object's size
  std::uint64_t bytes_used = 0;   // memory its touched pages take (it is sparse)
  std::int64_t age_seconds = 0;   // since it was made (its last status change)
  std::uint32_t version = 0;      // once the magic matched
  std::uint32_t pattern = 0;      // 1 push/pull, 2 publish/subscribe
  std::uint64_t fingerprint = 0;  // the channel's type; 0 for self-describing messages
  geometry shape{};
  std::vector<member> participants;   // places with an owner
  bool ever_joined = false;           // some place was ever taken (a fresh one is being set up)
  std::uint64_t queued_slots = 0;     // written and not yet read, over every ring
  std::uint64_t queued_messages = 0;  // messages beginning in those slots
  std::uint32_t bad_rings = 0;        // rings whose positions are out of range (not counted)

  /// Whether a participant still runs.
  bool in_use() const noexcept;
};

/// Reads the segment `os_name` ("brine.<uid>.<name>") read-only, without joining it and without
/// trusting it: magic, version, readiness and geometry are checked against the file's size before
/// any table is read. Throws: transport_error if it cannot be opened (absent, no permission).
segment_info inspect(const std::string& os_name);

/// The OS names of the current user's brine segments ("brine.<uid>.*" in /dev/shm), sorted.
std::vector<std::string> list_segments();

/// Removes the OS name `os_name` (processes that have it mapped keep it until they unmap it).
/// Returns false if it did not exist. Throws: transport_error on any other failure.
bool remove_segment(const std::string& os_name);

/// "brine.<uid>.<name>", or throws transport_error for a name with characters other than
/// letters, digits, '.', '_' and '-', or longer than 200.
std::string os_name_for(const std::string& name);

}  // namespace brine::shm
