// shm:// channels: one single-producer/single-consumer ring per (sender, receiver) pair in one
// segment. A pipeline sender round-robins over receivers with room; a publisher writes each
// message into every subscriber's ring. Waiting spins, then sleeps on a futex.

#include <cpuid.h>
#include <linux/membarrier.h>
#include <pthread.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstring>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "brine/error.hpp"
#include "segment.hpp"
#include "shm_transport.hpp"

namespace brine::shm {
namespace {

using namespace std::chrono_literals;
using clock = std::chrono::steady_clock;
using transport::deadline;
using transport::forever;

// The clock of the liveness checks' rate limits, read on every poll of a wait: a few
// nanoseconds a read where steady_clock takes about 25 here, at a resolution (a few
// milliseconds) far finer than liveness_every.
struct coarse_clock {
  using duration = std::chrono::nanoseconds;
  using rep = duration::rep;
  using period = duration::period;
  using time_point = std::chrono::time_point<coarse_clock>;
  static time_point now() noexcept {
    timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return time_point(std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec));
  }
};

// A sleeper wakes this often to check that its peers are alive.
constexpr auto liveness_every = 100ms;

inline void cpu_relax() noexcept { __builtin_ia32_pause(); }

// Whether the processor has PREFETCHW (fetch a line to write it: the line comes exclusive, other
// caches' copies dropped). GCC's __builtin_prefetch(p, 1) emits it only when told the target
// has it (-mprfchw); without, a plain read prefetch, which leaves the other caches' copies.
const bool has_prefetchw = [] {
  unsigned a = 0, b = 0, c = 0, d = 0;
  return __get_cpuid(0x80000001, &a, &b, &c, &d) != 0 && (c & bit_PRFCHW) != 0;
}();

// Asks for the cache line at `p`, to be written soon, if the processor can.
inline void prefetch_for_write(const std::byte* p) noexcept {
  if (has_prefetchw) asm volatile("prefetchw %0" : : "m"(*p));
}

// Asks for the cache line at `p`, to be read soon. Not __builtin_prefetch: GCC counts it as
// free of side effects, finds a function doing nothing else free of them too, and drops calls to
// it (it did, here, in the receiver's prefetch of the next slot).
inline void prefetch_for_read(const std::byte* p) noexcept {
  asm volatile("prefetcht0 %0" : : "m"(*p));
}

// A waker publishes (a slot, a head) and then reads whether its peer sleeps; a sleeper says it
// sleeps and then looks for what it waits for. Each side needs a full fence between its store
// and its load, or both can miss the other (a lost wake-up, ended only by the 100 ms liveness
// wake). On the waker's side, the hot path, that fence waited for the message's cache lines to
// reach the peer: most of a sender's time per message when the receiver keeps up. So the fences
// are asymmetric where Linux allows (membarrier(2)): a process registered for
// MEMBARRIER_CMD_GLOBAL_EXPEDITED needs only a compiler barrier to wake, and a sleeper, about to
// make a system call anyway, makes one more that runs a full fence on every CPU running a
// registered process. A process that cannot register fences for itself, so the two kinds mix.
// The system call costs a sleeper microseconds and interrupts the other CPU: a participant that
// sleeps at once and often (shm_spin_polls 0, as brine::pool's channels) does without it, and
// its wakers fence (participant::fences_for_wakers says which).
std::atomic<bool> light_fences{false};

void register_light_fences() noexcept {
  long cmds = ::syscall(SYS_membarrier, MEMBARRIER_CMD_QUERY, 0, 0);
  light_fences.store(
      cmds > 0 && (cmds & MEMBARRIER_CMD_GLOBAL_EXPEDITED) != 0 &&
          ::syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED, 0, 0) == 0,
      std::memory_order_relaxed);
}

// Registers this process, and any child it forks (the registration belongs to an address
// space), once: called by every shm:// link before it sends or waits.
void use_light_fences() noexcept {
  static const bool once = [] {
    register_light_fences();
    ::pthread_atfork(nullptr, nullptr, register_light_fences);
    return true;
  }();
  (void)once;
}

// Whether a participant of this process with these waiting options fences for its wakers.
std::uint32_t fences_for_wakers(bool busy, std::uint32_t spins) noexcept {
  return light_fences.load(std::memory_order_relaxed) && (busy || spins > 0) ? 1 : 0;
}

// The waker's fence, before it looks whether `sleeper` sleeps.
inline void waker_fence(const participant& sleeper) noexcept {
  if (light_fences.load(std::memory_order_relaxed) &&
      sleeper.fences_for_wakers.load(std::memory_order_relaxed) != 0)
    std::atomic_signal_fence(std::memory_order_seq_cst);
  else
    std::atomic_thread_fence(std::memory_order_seq_cst);
}

// The sleeper's fence: on this CPU and, if it fences for its wakers, on theirs. Should the
// system call fail where the waker's process registered, a wake-up can be lost: the liveness
// wake ends that sleep.
inline void sleeper_fence(const participant& self) noexcept {
  std::atomic_thread_fence(std::memory_order_seq_cst);
  if (self.fences_for_wakers.load(std::memory_order_relaxed) != 0)
    (void)::syscall(SYS_membarrier, MEMBARRIER_CMD_GLOBAL_EXPEDITED, 0, 0);
}

void ring_bell(participant& p) noexcept {
  waker_fence(p);
  if (p.sleeping.load(std::memory_order_relaxed) != 0) {
    p.doorbell.fetch_add(1, std::memory_order_release);
    futex_wake(p.doorbell);
  }
}

// Sleeps on `self`'s doorbell until `ready()` holds or `until` passes; returns ready(). With
// `busy` (channel_options::shm_busy_poll) it polls instead of sleeping: no wake-up to wait for,
// no system call for the peer to make, and one core kept busy. Otherwise it polls `spins` times
// (channel_options::shm_spin_polls) before it sleeps.
template <class Ready>
bool wait_for(participant& self, deadline until, bool busy, std::uint32_t spins, Ready ready) {
  if (busy) {
    for (std::uint32_t i = 0;; ++i) {
      if (ready()) return true;
      cpu_relax();
      if (i % 1024 == 0 && until != forever && clock::now() >= until) return ready();
    }
  }
  for (std::uint32_t i = 0; i < spins; ++i) {
    if (ready()) return true;
    cpu_relax();
  }
  for (;;) {
    std::uint32_t bell = self.doorbell.load(std::memory_order_acquire);
    self.sleeping.store(1, std::memory_order_relaxed);
    sleeper_fence(self);
    if (ready()) {
      self.sleeping.store(0, std::memory_order_relaxed);
      return true;
    }
    auto now = clock::now();
    if (now >= until) {
      self.sleeping.store(0, std::memory_order_relaxed);
      return false;
    }
    auto slice =
        until == forever ? liveness_every : std::min<clock::duration>(until - now, liveness_every);
    futex_wait(self.doorbell, bell, std::chrono::duration_cast<std::chrono::nanoseconds>(slice));
    self.sleeping.store(0, std::memory_order_relaxed);
    if (ready()) return true;
  }
}

std::uint32_t pattern_code(transport::pattern p) {
  return p == transport::pattern::pipeline ? 1 : 2;
}

geometry shape_from(const channel_options& o) {
  geometry g;
  g.max_senders = std::clamp<std::uint32_t>(o.shm_senders, 1, 1024);
  g.max_receivers = std::clamp<std::uint32_t>(o.shm_receivers, 1, 1024);
  if (o.high_water_mark > 0) {
    std::uint32_t want = static_cast<std::uint32_t>(std::min(o.high_water_mark, 1 << 16));
    std::uint32_t slots = 1;
    while (slots < want)
      slots <<= 1;
    g.slots = std::max<std::uint32_t>(slots, 2);
  }
  g.pool_bytes = std::min<std::uint64_t>(o.shm_pool_bytes, std::uint64_t{1} << 34) / 4096 * 4096;
  return g;
}

class shm_sender final : public transport::sender_link {
 public:
  shm_sender(transport::pattern p, const transport::endpoint& where, const channel_options& o,
             std::uint64_t fingerprint)
      : url_(where.url()),
        pubsub_(p == transport::pattern::pubsub),
        drop_(o.on_slow_subscriber == slow_subscriber::drop),
        busy_(o.shm_busy_poll),
        spins_(o.shm_spin_polls),
        seg_(where.address, pattern_code(p), fingerprint, shape_from(o)) {
    use_light_fences();
    index_ = seg_.join(side::sender);
    seg_.sender(index_).fences_for_wakers.store(fences_for_wakers(busy_, spins_),
                                                std::memory_order_release);
    tails_.assign(seg_.shape().max_receivers, 0);
    head_seen_.assign(seg_.shape().max_receivers, 0);
    for (std::uint32_t r = 0; r < tails_.size(); ++r) {
      ring_header& ring = seg_.ring(index_, r);
      tails_[r] = published_tail(ring.tail.load(std::memory_order_acquire),
                                 [&](std::uint64_t k) { return seg_.slot_at(index_, r, k); });
      ring.tail.store(tails_[r], std::memory_order_release);
      head_seen_[r] = ring.head.load(std::memory_order_acquire);
      if (head_seen_[r] > tails_[r] || tails_[r] - head_seen_[r] > seg_.shape().slots)
        throw transport_error("brine: " + url_ + ": corrupt ring (positions out of range)");
    }
    recover_pool();
  }
  ~shm_sender() override { close(); }

  std::span<std::byte> prepare(std::size_t size) override {
    in_slot_ = none;
    drop_chunk();
    topic_added_ = false;
    if (!closed_ && !pubsub_ && size <= payload()) {
      // A receiver has a free slot now: the frame is encoded straight into it.
      if (std::uint32_t r = pick_receiver(); r != none) {
        in_slot_ = r;
        in_slot_size_ = size;
        return {free_slot(r) + slot_header_size, size};
      }
    }
    if (!closed_ && size > payload()) {
      // Longer than a slot: into the pool, if it has room now; a slot will name it.
      if ((chunk_ = allocate(size))) return chunk_data(*chunk_);
    }
    staging_.resize(size);
    return staging_;
  }

  bool commit(std::string_view topic, deadline until) override {
    if (closed_) throw channel_closed("brine: send on a closed channel");
    if (pubsub_) return publish_all(topic, until);
    if (in_slot_ != none) {
      std::uint32_t r = in_slot_;
      in_slot_ = none;
      publish(r, free_slot(r), in_slot_size_, 0);
      return true;
    }
    std::uint32_t r = none;
    participant& self = seg_.sender(index_);
    if (chunk_ || pool_takes(staging_.size())) {
      // A message in the pool, or one that waits for room there (it was full at prepare()).
      bool from_staging = !chunk_;
      bool ready = wait_for(self, until, busy_, spins_, [&] {
        if (!chunk_ && !(chunk_ = allocate(staging_.size()))) return false;
        return (r = pick_receiver()) != none;
      });
      if (!ready) {
        if (from_staging) drop_chunk();  // the message stays in staging_
        return false;
      }
      if (from_staging) std::memcpy(chunk_data(*chunk_).data(), staging_.data(), staging_.size());
      send_chunk(r, {});
      chunk_.reset();
      return true;
    }
    for (;;) {
      if (!wait_for(self, until, busy_, spins_, [&] { return (r = pick_receiver()) != none; }))
        return false;
      if (write_message(r, staging_)) return true;
      // Its receiver died or left in the middle of it: the message goes again, whole.
    }
  }

  bool wait_peers(std::size_t count, deadline until) override {
    participant& self = seg_.sender(index_);
    return wait_for(self, until, busy_, spins_, [&] { return live_receivers() >= count; });
  }

  std::string endpoint() const override { return url_; }

  std::uint64_t dropped() const noexcept override { return dropped_; }

  // Whether a receiver that the operating system says is alive has a place.
  bool receiver_alive() const { return live_receiver() != 0; }

  // Whether a message of `size` bytes can go whole to some receiver now, so that commit() will
  // not wait in the middle of it for a reader. A message longer than a ring can only stream:
  // true.
  bool fits_now(std::size_t size) {
    const std::uint64_t slots = seg_.shape().slots;
    std::uint64_t need =
        pool_takes(size) ? 1 : std::max<std::uint64_t>(1, (size + payload() - 1) / payload());
    if (need > slots) return true;
    // The receiver's position is read only if the last one read leaves too little room: an RPC
    // server asks before every reply, and reading it takes a cache line from the client.
    for (std::uint32_t r = 0; r < receivers_seen(); ++r)
      if (is_open(seg_.receiver(r)) && (room(r) >= need || room_now(r) >= need)) return true;
    return false;
  }

  // Who the first live receiver is: its pid and how many times its place was taken (0: none),
  // so that a receiver replaced between two looks is told apart from the one before.
  std::uint64_t live_receiver() const {
    for (std::uint32_t r = 0; r < seg_.shape().max_receivers; ++r) {
      const participant& p = seg_.receiver(r);
      std::uint32_t owner = p.owner.load(std::memory_order_acquire);
      if (owner != 0 && p.state.load(std::memory_order_acquire) == state_open &&
          process_id{owner, p.start_time.load()}.alive())
        return (p.generation.load(std::memory_order_acquire) << 32) | owner;
    }
    return 0;
  }

  void close() noexcept override {
    if (closed_) return;
    drop_chunk();
    closed_ = true;
    seg_.leave(side::sender, index_);
    for (std::uint32_t r = 0; r < seg_.shape().max_receivers; ++r)
      ring_bell(seg_.receiver(r));
    seg_.unlink_if_unused();
  }

 private:
  std::size_t payload() const { return seg_.shape().slot_size - slot_header_size; }

  static constexpr std::uint32_t none = ~std::uint32_t{0};  // no receiver

  // Receiver places below the highest ever taken (segment_header::receivers_high): the only
  // ones that can be open.
  std::uint32_t receivers_seen() const {
    return std::min(seg_.shape().max_receivers,
                    seg_.header().receivers_high.load(std::memory_order_acquire));
  }

  // A receiver's place that is taken and open (its owner may have died since).
  static bool is_open(const participant& p) {
    return p.state.load(std::memory_order_acquire) == state_open &&
           p.owner.load(std::memory_order_acquire) != 0;
  }

  std::size_t live_receivers() const {
    std::size_t n = 0;
    for (std::uint32_t r = 0; r < receivers_seen(); ++r)
      if (is_open(seg_.receiver(r))) ++n;
    return n;
  }

  // Free slots in the ring toward `r`, from the receiver's head (untrusted: a head ahead of our
  // tail, or more than a ring behind it, means a corrupt segment).
  // The receiver's head is read again only when the last value read leaves no room, so the two
  // sides do not pass the cache line back and forth on every message.
  std::uint64_t room(std::uint32_t r) {
    std::uint64_t free = seg_.shape().slots - (tails_[r] - head_seen_[r]);
    return free > 0 ? free : room_now(r);
  }

  // room(), reading where the receiver says it is now (ring_header::released: it may lag the
  // receiver's head by a batch, and behind what a sender that took the place over saw first).
  std::uint64_t room_now(std::uint32_t r) {
    std::uint64_t tail = tails_[r];
    std::uint64_t head = seg_.ring(index_, r).released.load(std::memory_order_acquire);
    if (head > tail || tail - head > seg_.shape().slots)
      throw transport_error("brine: " + url_ + ": corrupt ring (reader position out of range)");
    head_seen_[r] = std::max(head_seen_[r], head);
    return seg_.shape().slots - (tail - head_seen_[r]);
  }

  // The next receiver, round robin, that is open and has a free slot; `none` if none has.
  std::uint32_t pick_receiver() {
    std::uint32_t n = receivers_seen();
    for (std::uint32_t k = 0, r = next_ < n ? next_ : 0; k < n; ++k, r = r + 1 == n ? 0 : r + 1) {
      if (!is_open(seg_.receiver(r))) continue;
      if (room(r) > 0) {
        next_ = r + 1 == n ? 0 : r + 1;
        return r;
      }
    }
    reclaim_dead_receivers();
    return none;
  }

  // Every ring is full: if that is because a receiver died, free its place, so that the next
  // receiver to join takes it over with the messages queued in its rings. Asked of the OS at
  // most every liveness_every.
  void reclaim_dead_receivers() {
    auto now = coarse_clock::now();
    if (now - last_liveness_ < liveness_every) return;
    last_liveness_ = now;
    for (std::uint32_t r = 0; r < seg_.shape().max_receivers; ++r) {
      participant& p = seg_.receiver(r);
      std::uint32_t owner = p.owner.load(std::memory_order_acquire);
      if (owner == 0 || process_id{owner, p.start_time.load()}.alive()) continue;
      seg_.evict(side::receiver, r, owner);
    }
  }

  // Writes a message slot by slot, waiting for room as long as its receiver reads. Returns false,
  // leaving the message unfinished, if while it waits the receiver dies, leaves, or its place
  // passes to another receiver: the pieces written (never the last) are skipped by whoever reads
  // that ring next, and the caller sends the message again. Without this, a sender whose receiver
  // died mid-message waited for it forever, whatever its deadline.
  bool write_message(std::uint32_t r, std::span<const std::byte> bytes) {
    participant& self = seg_.sender(index_);
    participant& peer = seg_.receiver(r);
    const std::uint32_t owner = peer.owner.load(std::memory_order_acquire);
    const std::uint64_t generation = peer.generation.load(std::memory_order_acquire);
    auto last_asked = coarse_clock::now();
    auto receiver_changed = [&] {
      if (peer.owner.load(std::memory_order_acquire) != owner ||
          peer.generation.load(std::memory_order_acquire) != generation ||
          peer.state.load(std::memory_order_acquire) != state_open)
        return true;
      auto now = coarse_clock::now();
      if (now - last_asked < liveness_every) return false;
      last_asked = now;
      if (process_id{owner, peer.start_time.load()}.alive()) return false;
      // Dead: free its place, as reclaim_dead_receivers does, for the next receiver to take.
      seg_.evict(side::receiver, r, owner);
      return true;
    };
    std::size_t at = 0;
    do {
      if (room(r) == 0) {
        // A long message cannot be taken back: it waits for the receiver slot by slot.
        ring_bell(peer);
        wait_for(self, forever, busy_, spins_, [&] { return room(r) > 0 || receiver_changed(); });
        if (receiver_changed() || room(r) == 0) return false;
      }
      std::size_t n = std::min(payload(), bytes.size() - at);
      std::byte* slot = free_slot(r);
      std::memcpy(slot + slot_header_size, bytes.data() + at, n);
      std::uint32_t flags = at > 0 ? flag_continued : 0;
      at += n;
      publish(r, slot, n, flags | (at < bytes.size() ? flag_more : 0));
    } while (at < bytes.size());
    return true;
  }

  // Publish/subscribe: the message goes into every open subscriber's ring, followed by its topic
  // and the topic's length (u16), so that it is written once and read in place. A message that
  // fits in a ring goes to all subscribers or (on timeout) to none: the publisher first waits
  // until every one has room (slow_subscriber::block), or skips those that have not, counting
  // each skip (drop). A longer message streams to each subscriber in turn.
  bool publish_all(std::string_view topic, deadline until) {
    const bool topic_fits = sizeof(chunk_ref) + topic.size() + 2 <= payload();
    if (chunk_ && !topic_fits) {
      // A topic too long to go in the slot beside the reference: the message is copied.
      std::span<std::byte> data = chunk_data(*chunk_);
      staging_.assign(data.begin(), data.end());
      drop_chunk();
    }
    if ((chunk_ || pool_takes(staging_.size())) && topic_fits && !topic_added_) {
      if (publish_chunk(topic, until)) return true;
      if (!drop_) return false;
      // drop mode, with the pool full of messages that slow subscribers have not read: copied.
    }
    if (!topic_added_) {
      if (topic.size() > 0xffff) throw transport_error("brine: a topic longer than 65535 bytes");
      auto n = static_cast<std::uint16_t>(topic.size());
      const auto* t = reinterpret_cast<const std::byte*>(topic.data());
      staging_.insert(staging_.end(), t, t + topic.size());
      staging_.resize(staging_.size() + 2);
      std::memcpy(staging_.data() + staging_.size() - 2, &n, 2);
      topic_added_ = true;
    }
    const std::uint64_t slots = seg_.shape().slots;
    const std::uint64_t need =
        std::min(slots, std::max<std::uint64_t>(1, (staging_.size() + payload() - 1) / payload()));
    if (!drop_) {
      participant& self = seg_.sender(index_);
      if (!wait_for(self, until, busy_, spins_, [&] { return all_have_room(need); })) return false;
    }
    for (std::uint32_t r = 0; r < receivers_seen(); ++r) {
      if (!is_open(seg_.receiver(r))) continue;
      if (room(r) < need && room_now(r) < need) {
        ++dropped_;  // drop mode (block mode waited for room, and room only grows)
        continue;
      }
      write_message(r, staging_);  // false: that subscriber went meanwhile
    }
    topic_added_ = false;
    staging_.clear();
    return true;
  }

  // publish_all() for a message in the pool (or one waiting in staging_ for room there): one slot
  // in each subscriber's ring names it. Returns false if `until` passed first (block mode), or
  // if in drop mode the pool has no room for a message still in staging_.
  bool publish_chunk(std::string_view topic, deadline until) {
    participant& self = seg_.sender(index_);
    bool from_staging = !chunk_;
    if (from_staging && drop_) {
      if (!(chunk_ = allocate(staging_.size()))) return false;
    } else if (!drop_) {
      bool ready = wait_for(self, until, busy_, spins_, [&] {
        if (!chunk_ && !(chunk_ = allocate(staging_.size()))) return false;
        return all_have_room(1);
      });
      if (!ready) {
        if (from_staging) drop_chunk();
        return false;
      }
    }
    if (from_staging) std::memcpy(chunk_data(*chunk_).data(), staging_.data(), staging_.size());
    in_flight_.push_back(chunk_use{chunk_->position});
    for (std::uint32_t r = 0; r < receivers_seen(); ++r) {
      if (!is_open(seg_.receiver(r))) continue;
      if (room(r) < 1 && room_now(r) < 1) {
        ++dropped_;  // drop mode (block mode waited for room, and room only grows)
        continue;
      }
      send_chunk(r, topic, /*recorded=*/true);
    }
    chunk_.reset();
    staging_.clear();
    return true;
  }

  // ---- the pool: messages longer than a slot, written once and read in place ----
  //
  // A sender allocates chunks from its own pool in order, as from a ring of bytes, and takes them
  // back oldest first once every receiver it sent one to has moved its ring's head past the slot
  // naming it (for publish/subscribe, or left: a subscriber that joins skips what was queued).
  // The list of chunks in flight is this process's own; a sender that takes over a place
  // rebuilds it from the slots still queued in the place's rings (recover_pool).

  struct chunk_use {
    std::uint64_t position;
    std::uint32_t sent = 0;  // slots naming it: its entries in sent_, after the older chunks'
    // Its receivers give it back once they keep no chunk before this position (0: position + 1;
    // see ring_header::held_from).
    std::uint64_t held_below = 0;
  };

  // Whether a message of `size` bytes goes through the pool (rather than slot by slot).
  bool pool_takes(std::size_t size) const {
    return size > payload() && chunk_bytes(size) <= seg_.shape().pool_bytes;
  }

  std::span<std::byte> chunk_data(const chunk_ref& c) const {
    return {seg_.pool(index_) + c.position % seg_.shape().pool_bytes + chunk_header_size,
            static_cast<std::size_t>(c.size)};
  }

  // A chunk for a message of `size` bytes, or nullopt if the pool has no room now. Chunks done
  // with are taken back first: a pool that is then empty starts again at its beginning, so that
  // a stream that does not fill it keeps using the same few warm pages.
  std::optional<chunk_ref> allocate(std::size_t size) {
    const std::uint64_t pool = seg_.shape().pool_bytes;
    const std::uint64_t need = chunk_bytes(size);
    if (need > pool) return std::nullopt;
    reclaim();
    std::optional<chunk_ref> c = place(need, size);
    if (!c) reclaim_dead_receivers();  // a dead receiver may hold chunks: its place is freed
    return c;
  }

  // A chunk of `need` bytes after the last one, if the pool has room for it.
  std::optional<chunk_ref> place(std::uint64_t need, std::size_t size) {
    const std::uint64_t pool = seg_.shape().pool_bytes;
    if (in_flight_.empty()) alloc_ = (alloc_ + pool - 1) / pool * pool;
    std::uint64_t start = alloc_;
    std::uint64_t oldest = in_flight_.empty() ? start : in_flight_.front().position;
    // The pool's beginning whenever it is free: the pages used last are used again (warm, and
    // mapped: a page touched for the first time costs a page fault in each process), rather
    // than every page of the pool in turn while a stream flows.
    std::uint64_t lap = (start + pool - 1) / pool * pool;
    if (lap + need - oldest <= pool) {
      start = lap;
    } else if (pool - start % pool < need) {
      start += pool - start % pool;  // chunks do not wrap
    }
    if (start + need - oldest > pool) return std::nullopt;
    alloc_ = start + need;
    seg_.sender(index_).pool_alloc.store(alloc_, std::memory_order_relaxed);
    chunk_ref c{start, size};
    std::memcpy(seg_.pool(index_) + start % pool, &c, sizeof c);
    return c;
  }

  // Gives back a chunk allocated and not sent: the last one allocated.
  void drop_chunk() noexcept {
    if (!chunk_) return;
    alloc_ = chunk_->position;
    seg_.sender(index_).pool_alloc.store(alloc_, std::memory_order_relaxed);
    chunk_.reset();
  }

  // Takes back the oldest chunks that every receiver has done with.
  void reclaim() {
    while (!in_flight_.empty() && oldest_released()) {
      sent_.erase(sent_.begin(), sent_.begin() + in_flight_.front().sent);
      in_flight_.pop_front();
    }
  }

  // Whether every receiver the oldest chunk went to has consumed the slot naming it and keeps
  // no chunk at or before it (or, for publish/subscribe, has left: a subscriber that joins a place
  // skips what was queued there). A receiver that left or was evicted keeps nothing; messages
  // it did not read wait for the receiver that takes its place.
  bool oldest_released() const {
    const chunk_use& c = in_flight_.front();
    const std::uint64_t below = c.held_below != 0 ? c.held_below : c.position + 1;
    for (std::uint32_t i = 0; i < c.sent; ++i) {
      auto [r, at] = sent_[i];
      const participant& p = seg_.receiver(r);
      if (pubsub_) {
        std::uint32_t state = p.state.load(std::memory_order_acquire);
        if ((state != state_open && state != state_closing) ||
            p.owner.load(std::memory_order_acquire) == 0)
          continue;
      }
      const ring_header& ring = seg_.ring(index_, r);
      if (ring.head.load(std::memory_order_acquire) <= at) return false;
      std::uint64_t held = ring.held_from.load(std::memory_order_acquire);
      if (held != 0 && held <= below && p.owner.load(std::memory_order_acquire) != 0) return false;
    }
    return true;
  }

  // Names chunk_ in a slot of `r`'s ring (room(r) > 0), after it the topic for publish/subscribe.
  void send_chunk(std::uint32_t r, std::string_view topic, bool recorded = false) {
    std::byte* slot = free_slot(r);
    std::byte* p = slot + slot_header_size;
    std::memcpy(p, &*chunk_, sizeof(chunk_ref));
    std::size_t size = sizeof(chunk_ref);
    if (pubsub_) {
      auto n = static_cast<std::uint16_t>(topic.size());
      if (!topic.empty()) std::memcpy(p + size, topic.data(), topic.size());
      std::memcpy(p + size + topic.size(), &n, 2);
      size += topic.size() + 2;
    }
    if (!recorded) in_flight_.push_back(chunk_use{chunk_->position});
    ++in_flight_.back().sent;
    sent_.emplace_back(r, tails_[r]);
    publish(r, slot, size, flag_chunk);
  }

  // A place taken over from a sender that died or left may have messages in its pool that
  // receivers have still to read, found through the slots naming them, and chunks receivers
  // keep (views), found through the rings' held_from: all lie between the oldest of those and
  // where the last sender would have allocated next (its pool_alloc).
  void recover_pool() {
    const std::uint64_t pool = seg_.shape().pool_bytes;
    if (pool == 0) return;
    const std::uint64_t last_alloc = seg_.sender(index_).pool_alloc.load(std::memory_order_acquire);
    alloc_ = last_alloc;
    struct use {
      std::uint64_t position, end;
      std::vector<std::pair<std::uint32_t, std::uint64_t>> sent;
      bool kept = false;
    };
    std::vector<use> found;
    use kept{UINT64_MAX, last_alloc, {}, true};  // the chunks receivers keep, as one
    for (std::uint32_t r = 0; r < seg_.shape().max_receivers; ++r) {
      std::uint32_t state = seg_.receiver(r).state.load(std::memory_order_acquire);
      if (pubsub_ && ((state != state_open && state != state_closing) ||
                      seg_.receiver(r).owner.load(std::memory_order_acquire) == 0))
        continue;
      std::uint64_t held = seg_.ring(index_, r).held_from.load(std::memory_order_acquire);
      if (held != 0 && seg_.receiver(r).owner.load(std::memory_order_acquire) != 0) {
        kept.position = std::min(kept.position, held - 1);
        kept.sent.emplace_back(r, 0);
      }
      for (std::uint64_t k = head_seen_[r]; k < tails_[r]; ++k) {
        const std::byte* slot = seg_.slot_at(index_, r, k);
        slot_header h;
        std::memcpy(&h, slot, sizeof h);
        if ((h.flags & flag_chunk) == 0 || h.size < sizeof(chunk_ref)) continue;
        chunk_ref c;
        std::memcpy(&c, slot + slot_header_size, sizeof c);
        if (!seg_.chunk(index_, c)) continue;  // not a chunk: the receiver will say so
        auto same = std::find_if(found.begin(), found.end(),
                                 [&](const use& u) { return u.position == c.position; });
        if (same == found.end())
          same = found.insert(found.end(),
                              use{c.position, c.position + chunk_bytes(c.size), {}, false});
        same->sent.emplace_back(r, k);
      }
    }
    if (!kept.sent.empty()) found.push_back(kept);
    if (found.empty()) return;
    std::sort(found.begin(), found.end(),
              [](const use& a, const use& b) { return a.position < b.position; });
    for (const use& u : found)
      alloc_ = std::max(alloc_, u.end);
    if (alloc_ - found.front().position > pool)
      throw transport_error("brine: " + url_ + ": corrupt pool (chunks out of range)");
    seg_.sender(index_).pool_alloc.store(alloc_, std::memory_order_relaxed);
    for (const use& u : found) {
      // The kept ones go back once no receiver keeps any chunk made before this sender came.
      in_flight_.push_back(chunk_use{u.position, static_cast<std::uint32_t>(u.sent.size()),
                                     u.kept ? last_alloc : 0});
      sent_.insert(sent_.end(), u.sent.begin(), u.sent.end());
    }
  }

  // Whether every open subscriber's ring has `need` free slots. A subscriber without room that
  // the operating system says is dead (asked at most every liveness_every) loses its place.
  bool all_have_room(std::uint64_t need) {
    bool ask_os = false;
    for (std::uint32_t r = 0; r < seg_.shape().max_receivers; ++r) {
      participant& p = seg_.receiver(r);
      if (!is_open(p) || room(r) >= need || room_now(r) >= need) continue;
      if (!ask_os) {
        auto now = coarse_clock::now();
        if (now - last_liveness_ < liveness_every) return false;
        last_liveness_ = now;
        ask_os = true;
      }
      std::uint32_t owner = p.owner.load(std::memory_order_acquire);
      if (owner != 0 && process_id{owner, p.start_time.load()}.alive()) return false;
      seg_.evict(side::receiver, r, owner);
    }
    return true;
  }

  // The slot the next message toward `r` goes into (room(r) > 0).
  std::byte* free_slot(std::uint32_t r) const { return seg_.slot_at(index_, r, tails_[r]); }

  // Takes the first two lines of the slot `write_ahead` messages on toward `r` (if it is free)
  // for writing, ahead of time. A slot's lines were last read by the receiver, so a store to one
  // waits until the receiver's copy is dropped, a round trip between the cores; stores leave
  // the processor in order, so without this each message's two lines are such waits one after
  // the other: 64-byte messages went at 5-7 M/s one way here, and at 11-17 M/s with this. Only
  // the slot entering the window: the others were asked for by the messages before, unless they
  // looked taken then (a nearly full ring, where the sender learns of free slots a batch at a
  // time: those go without). Not nearer: 8 slots ahead added 0.1 us to a 64-byte round trip
  // (16: 0.03 us). The second line only if it is the same slot's (slots of 64 bytes exist).
  void prefetch_slot_ahead(std::uint32_t r) const noexcept {
    if (tails_[r] + write_ahead - head_seen_[r] > seg_.shape().slots) return;
    const std::byte* ahead = seg_.slot_at(index_, r, tails_[r] + write_ahead - 1);
    prefetch_for_write(ahead);
    if (seg_.shape().slot_size > 64) prefetch_for_write(ahead + 64);
  }
  static constexpr std::uint64_t write_ahead = 16;

  // Writes the slot header and makes the slot visible to the receiver: its seq, then the tail.
  void publish(std::uint32_t r, std::byte* slot, std::size_t size, std::uint32_t flags) {
    std::uint32_t h[2] = {static_cast<std::uint32_t>(size), flags};
    std::memcpy(slot, h, sizeof h);
    const std::uint64_t position = tails_[r]++;
    publish_seq(slot, position);
    prefetch_slot_ahead(r);
    seg_.ring(index_, r).tail.store(tails_[r], std::memory_order_release);
    ring_bell(seg_.receiver(r));
  }

  std::string url_;
  bool pubsub_;
  bool drop_;
  bool busy_;
  std::uint32_t spins_;
  segment seg_;
  std::uint32_t index_ = 0;
  std::uint32_t next_ = 0;
  std::uint64_t dropped_ = 0;
  bool topic_added_ = false;  // publish_all() appended the topic to staging_
  std::vector<std::uint64_t> tails_;
  std::vector<std::uint64_t> head_seen_;  // each receiver's head, as last read
  std::vector<std::byte> staging_;
  std::uint32_t in_slot_ = none;     // the receiver whose slot prepare() handed out
  std::optional<chunk_ref> chunk_;   // the chunk prepare() handed out
  std::deque<chunk_use> in_flight_;  // chunks sent and maybe still read, oldest first
  std::deque<std::pair<std::uint32_t, std::uint64_t>> sent_;  // their slots: (receiver, position)
  std::uint64_t alloc_ = 0;                                   // where the next chunk goes
  coarse_clock::time_point last_liveness_{};
  std::size_t in_slot_size_ = 0;
  bool closed_ = false;
};

class shm_receiver final : public transport::receiver_link {
 public:
  shm_receiver(transport::pattern p, const transport::endpoint& where, const channel_options& o,
               std::uint64_t fingerprint)
      : url_(where.url()),
        expect_(std::max<std::size_t>(1, o.expect_senders)),
        max_frame_(o.decode_limits.max_frame),
        pubsub_(p == transport::pattern::pubsub),
        busy_(o.shm_busy_poll),
        spins_(o.shm_spin_polls),
        topics_(pubsub_ ? o.topics : std::vector<std::string>{}),
        seg_(where.address, pattern_code(p), fingerprint, shape_from(o)) {
    use_light_fences();
    // A subscriber taking a dead one's place starts after what was queued for that one: it
    // gets what is published after it joined. Publishers leave its place alone until it opens.
    release_batch_ = std::clamp<std::uint64_t>(seg_.shape().slots / 4, 1, 32);
    index_ = seg_.join(side::receiver, /*open=*/!pubsub_);
    seg_.receiver(index_).fences_for_wakers.store(fences_for_wakers(busy_, spins_),
                                                  std::memory_order_release);
    if (pubsub_) {
      for (std::uint32_t s = 0; s < seg_.shape().max_senders; ++s) {
        ring_header& ring = seg_.ring(s, index_);
        std::uint64_t from =
            published_tail(ring.tail.load(std::memory_order_acquire),
                           [&](std::uint64_t k) { return seg_.slot_at(s, index_, k); });
        ring.head.store(from);
        ring.released.store(from);
      }
    }
    places_.push_back(place_state(index_));
    next_chunk_.assign(seg_.shape().max_senders, 0);
    if (pubsub_) seg_.open(side::receiver, index_);
  }
  ~shm_receiver() override {
    close();
    if (!left_) leave();
  }

  transport::recv_status recv(transport::received& out, deadline until) override {
    if (closed_) throw channel_closed("brine: recv on a closed channel");
    release_pending();
    if (ended_) return transport::recv_status::end;
    participant& self = seg_.receiver(index_);
    std::optional<std::span<const std::byte>> got;
    bool over = false;
    bool woken = false;
    bool ok = wait_for(self, until, busy_, spins_, [&] {
      while ((got = poll())) {
        if (!pubsub_ || split_topic(*got)) return true;
        release_pending();  // a topic this subscriber did not ask for
      }
      if (woken_.load(std::memory_order_relaxed) && woken_.exchange(false)) return woken = true;
      if (!pubsub_ && adopt_orphans(false) && (got = poll())) return true;
      over = stream_over();
      // Before the end, a last look for messages orphaned by a receiver that died meanwhile.
      if (over && !pubsub_ && adopt_orphans(true)) {
        over = false;
        if ((got = poll())) return true;
      }
      return over;
    });
    if (got) {
      out.frame = *got;
      out.topic = pubsub_ ? topic_ : std::string_view{};
      return transport::recv_status::frame;
    }
    if (woken) return transport::recv_status::timeout;
    if (ok && over) {
      ended_ = true;
      return transport::recv_status::end;
    }
    return transport::recv_status::timeout;
  }

  void done() noexcept override { release_pending(); }

  // Makes a recv() in another thread (or the next one) return `timeout` now.
  void wake() noexcept override {
    woken_.store(true);
    participant& self = seg_.receiver(index_);
    std::atomic_thread_fence(std::memory_order_seq_cst);
    self.doorbell.fetch_add(1, std::memory_order_release);
    futex_wake(self.doorbell);
  }

  std::string endpoint() const override { return url_; }

  void close() noexcept override {
    if (closed_) return;
    closed_ = true;
    release_pending();
    if (!holds_.empty()) {
      // Chunks are still kept (views): the places stay this receiver's, closed to senders, and
      // the chunks untouched, until the last is released.
      for (const place& pl : places_)
        seg_.receiver(pl.index).state.store(state_closing, std::memory_order_release);
      return;
    }
    leave();
  }

  transport::kept keep(std::span<const std::byte> frame) override {
    std::uint64_t token = ++tokens_;
    if (!pending_) {
      // Put together from several slots, in assembled_: its buffer moves with it.
      copies_.emplace_back(token, std::move(assembled_));
      assembled_ = {};
      return {token, frame};
    }
    auto [k, s] = *pending_;
    place& pl = places_[k];
    if (!pending_chunk_) {
      // In a ring slot, which goes back to the sender: copied (at most a slot, 4 KiB).
      copies_.emplace_back(token, std::vector<std::byte>(frame.begin(), frame.end()));
      release_pending();
      return {token, copies_.back().second};
    }
    // In the sender's pool: the slot goes back at once; the chunk stays the receiver's (the
    // ring's held_from says so to the sender) until release().
    std::deque<std::uint64_t>& held = pl.held[s];
    if (held.empty())
      seg_.ring(s, pl.index).held_from.store(*pending_chunk_ + 1, std::memory_order_release);
    held.push_back(*pending_chunk_);
    holds_.push_back(hold{token, static_cast<std::uint32_t>(k), s, *pending_chunk_});
    release_pending();
    return {token, frame};
  }

  void release(std::uint64_t token) noexcept override {
    auto h =
        std::find_if(holds_.begin(), holds_.end(), [&](const hold& x) { return x.token == token; });
    if (h != holds_.end()) {
      place& pl = places_[h->place];
      std::deque<std::uint64_t>& held = pl.held[h->sender];
      // Chunks of one sender come to a ring in the order of their positions.
      bool oldest = !held.empty() && held.front() == h->position;
      held.erase(std::find(held.begin(), held.end(), h->position));
      if (oldest) {
        std::uint64_t from = held.empty() ? 0 : held.front() + 1;
        seg_.ring(h->sender, pl.index).held_from.store(from, std::memory_order_release);
        ring_bell(seg_.sender(h->sender));
      }
      holds_.erase(h);
    } else {
      auto c = std::find_if(copies_.begin(), copies_.end(),
                            [&](const auto& x) { return x.first == token; });
      if (c != copies_.end()) copies_.erase(c);
    }
    if (closed_ && !left_ && holds_.empty()) leave();
  }

 private:
  std::size_t payload() const { return seg_.shape().slot_size - slot_header_size; }

  void leave() noexcept {
    left_ = true;
    for (const place& pl : places_)
      seg_.leave(side::receiver, pl.index);
    for (std::uint32_t s = 0; s < seg_.shape().max_senders; ++s)
      ring_bell(seg_.sender(s));
    seg_.unlink_if_unused();
  }

  // A published message: the frame, its topic, the topic's length (u16); or, for a message in
  // the pool, the topic and its length after the slot's chunk_ref (trailer_). Cuts `message`
  // down to the frame and keeps the topic in topic_; returns whether a subscribed prefix
  // matches it.
  bool split_topic(std::span<const std::byte>& message) {
    std::span<const std::byte> tail = trailer_ ? *trailer_ : message;
    std::uint16_t n = 0;
    if (tail.size() >= 2) std::memcpy(&n, tail.data() + tail.size() - 2, 2);
    if (tail.size() < 2 + std::size_t{n}) {
      release_pending();
      throw decode_error("a shm:// published message without its topic (not sent by brine?)", 0);
    }
    std::size_t at = tail.size() - 2 - n;
    topic_ = {reinterpret_cast<const char*>(tail.data()) + at, n};
    if (!trailer_) message = message.first(at);
    if (topics_.empty()) return true;
    return std::any_of(topics_.begin(), topics_.end(),
                       [&](const std::string& t) { return topic_.starts_with(t); });
  }

  // A receiver place this receiver reads: its own, or one it adopted (see adopt_orphans), with
  // its read position in each sender's ring.
  struct place {
    std::uint32_t index;
    std::vector<std::uint64_t> heads;     // where this receiver reads in each sender's ring
    std::vector<std::uint64_t> released;  // each ring's `released`, as last stored
    std::vector<std::vector<std::byte>> partial;
    // Per sender: the pool positions of the chunks kept (keep()) and not yet released, oldest
    // first; the ring's held_from shows the oldest to the sender.
    std::vector<std::deque<std::uint64_t>> held;
  };

  // A kept chunk.
  struct hold {
    std::uint64_t token;
    std::uint32_t place;  // index in places_
    std::uint32_t sender;
    std::uint64_t position;  // in the sender's pool
  };

  place place_state(std::uint32_t index) const {
    std::uint32_t n = seg_.shape().max_senders;
    place pl{index, std::vector<std::uint64_t>(n), std::vector<std::uint64_t>(n),
             std::vector<std::vector<std::byte>>(n), std::vector<std::deque<std::uint64_t>>(n)};
    for (std::uint32_t s = 0; s < n; ++s) {
      ring_header& ring = seg_.ring(s, index);
      pl.heads[s] = ring.head.load(std::memory_order_acquire);
      pl.released[s] = pl.heads[s];
      ring.released.store(pl.heads[s], std::memory_order_release);
    }
    return pl;
  }

  // Gives back the slot of the frame returned last (its view was valid until now).
  void release_pending() noexcept {
    if (!pending_) return;
    auto [k, s] = *pending_;
    pending_.reset();
    consume(places_[k], s);
  }

  // Senders allocate chunks one after another, or from their pool's beginning when it is empty:
  // the chunk a slot names is most likely at one of those two places. Fetching them while the
  // slot is read overlaps two cache misses that otherwise come one after the other.
  void prefetch_chunk(std::uint32_t s) const noexcept {
    const std::uint64_t pool = seg_.shape().pool_bytes;
    if (pool == 0 || next_chunk_[s] == 0) return;
    const std::byte* base = seg_.pool(s);
    prefetch_for_read(base + next_chunk_[s] % pool);
    prefetch_for_read(base);
  }

  // Fetches the next slot of `s`'s ring (both lines a 64-byte message spans) while this one is
  // read: slots are a page apart, too far for the hardware to see a stream, and a sender that
  // runs ahead has written it already, so its cache misses overlap this message's work. Only
  // the next one: when the receiver keeps up, slots further on are not written yet, and reading
  // a line the sender is about to write takes it from the sender, whose store then waits for it
  // to come back. The second line only if it is the same slot's (slots of 64 bytes exist).
  void prefetch_slot(const place& pl, std::uint32_t s) const noexcept {
    const std::byte* next = seg_.slot_at(s, pl.index, pl.heads[s] + 1);
    prefetch_for_read(next);
    if (seg_.shape().slot_size > 64) prefetch_for_read(next + 64);
  }

  // Moves past the slot at the head of `s`'s ring, and tells the sender once a batch of slots
  // is free (see ring_header::released).
  void consume(place& pl, std::uint32_t s) noexcept {
    ring_header& ring = seg_.ring(s, pl.index);
    ring.head.store(++pl.heads[s], std::memory_order_release);
    if (pl.heads[s] - pl.released[s] >= release_batch_) release(pl, s);
  }

  // Tells `s` how far this receiver has read its ring, and wakes it if it sleeps.
  void release(place& pl, std::uint32_t s) noexcept {
    pl.released[s] = pl.heads[s];
    seg_.ring(s, pl.index).released.store(pl.heads[s], std::memory_order_release);
    ring_bell(seg_.sender(s));
  }

  // Nothing to read: every slot read so far is told to its sender, which may wait for it.
  void release_all() noexcept {
    for (place& pl : places_)
      for (std::uint32_t s = 0; s < pl.heads.size(); ++s)
        if (pl.released[s] != pl.heads[s]) release(pl, s);
  }

  // Whether the slot at the head of `s`'s ring is published: its seq, on the cache line the
  // message begins on, says so; the sender's tail is not read.
  bool available(const place& pl, std::uint32_t s) const {
    return slot_seq(seg_.slot_at(s, pl.index, pl.heads[s])) == pl.heads[s] + 1;
  }

  // The next whole frame from any sender, round robin, from this receiver's own place first;
  // nullopt if none is complete.
  std::optional<std::span<const std::byte>> poll() {
    for (std::size_t k = 0; k < places_.size(); ++k)
      if (auto got = poll(k)) return got;
    release_all();
    return std::nullopt;
  }

  std::optional<std::span<const std::byte>> poll(std::size_t k) {
    place& pl = places_[k];
    // Only places some sender ever took can have messages (segment_header::senders_high).
    const std::uint32_t n = std::min(seg_.shape().max_senders,
                                     seg_.header().senders_high.load(std::memory_order_acquire));
    for (std::uint32_t j = 0, s = next_ < n ? next_ : 0; j < n; ++j, s = s + 1 == n ? 0 : s + 1) {
      while (available(pl, s)) {
        const std::byte* slot = seg_.slot_at(s, pl.index, pl.heads[s]);
        prefetch_chunk(s);
        slot_header h;
        std::memcpy(&h, slot, sizeof h);
        constexpr std::uint32_t known = flag_more | flag_continued | flag_chunk;
        bool chunk = (h.flags & flag_chunk) != 0;
        if (h.size > payload() || (h.flags & ~known) != 0 ||
            (chunk &&
             ((h.flags & (flag_more | flag_continued)) != 0 || h.size < sizeof(chunk_ref))))
          throw transport_error("brine: " + url_ + ": corrupt slot header");
        std::vector<std::byte>& part = pl.partial[s];
        trailer_.reset();
        pending_chunk_.reset();
        if (chunk) {
          // In the sender's pool: read in place.
          part.clear();  // a message before it that its sender abandoned
          chunk_ref c;
          std::memcpy(&c, slot + slot_header_size, sizeof c);
          std::optional<std::span<std::byte>> data = seg_.chunk(s, c);
          if (!data || c.size > max_frame_) {
            consume(pl, s);
            if (!data)
              throw transport_error("brine: " + url_ +
                                    ": a slot names memory outside its sender's pool (corrupt)");
            throw decode_error("a message longer than limits::max_frame", 0);
          }
          pending_ = {static_cast<std::uint32_t>(k), s};
          next_ = s + 1 == n ? 0 : s + 1;
          next_chunk_[s] = c.position + chunk_bytes(c.size);
          pending_chunk_ = c.position;
          trailer_ =
              std::span<const std::byte>(slot + slot_header_size + sizeof c, h.size - sizeof c);
          return std::span<const std::byte>(*data);
        }
        if ((h.flags & flag_continued) != 0 && part.empty()) {
          // The rest of a message whose beginning this receiver never saw: a receiver that died
          // in this place read it, or it was too long (decode_error below). Skipped.
          consume(pl, s);
          continue;
        }
        // A message's first piece while another is unfinished: the unfinished one was abandoned
        // (its sender's receiver changed mid-message, or its sender died and another took the
        // sender's place). Its pieces are dropped.
        if ((h.flags & flag_continued) == 0) part.clear();
        if (h.flags == 0 && part.empty()) {
          // The common case: the whole frame in one slot, decoded in place.
          pending_ = {static_cast<std::uint32_t>(k), s};
          next_ = s + 1 == n ? 0 : s + 1;
          prefetch_slot(pl, s);
          return std::span<const std::byte>(slot + slot_header_size, h.size);
        }
        if (part.size() + h.size > max_frame_) {
          part.clear();
          throw decode_error("a message longer than limits::max_frame", 0);
        }
        part.insert(part.end(), slot + slot_header_size, slot + slot_header_size + h.size);
        consume(pl, s);
        if ((h.flags & flag_more) == 0) {
          assembled_.swap(part);
          part.clear();
          next_ = s + 1 == n ? 0 : s + 1;
          return std::span<const std::byte>(assembled_);
        }
      }
    }
    return std::nullopt;
  }

  // A pipeline's messages queued toward a receiver that died, or that closed without reading
  // them, are read by a live receiver rather than left for one that may never join: when this
  // receiver has nothing to read, at most every liveness_every, it takes over such a place
  // (atomically: one taker only) in state `joining`, which senders leave alone, and reads its
  // rings along with its own until it closes; also, unasked, before it ends its stream. Returns
  // whether it took a place.
  bool adopt_orphans(bool now_or_never) {
    auto now = coarse_clock::now();
    if (!now_or_never && now - last_adoption_ < liveness_every) return false;
    last_adoption_ = now;
    bool took = false;
    for (std::uint32_t r = 0; r < seg_.shape().max_receivers; ++r) {
      if (std::any_of(places_.begin(), places_.end(),
                      [&](const place& pl) { return pl.index == r; }))
        continue;
      participant& p = seg_.receiver(r);
      std::uint32_t owner = p.owner.load(std::memory_order_acquire);
      if (owner != 0 && process_id{owner, p.start_time.load()}.alive()) continue;
      bool queued = false;
      for (std::uint32_t s = 0; s < seg_.shape().max_senders && !queued; ++s) {
        ring_header& ring = seg_.ring(s, r);
        queued = published_tail(ring.tail.load(std::memory_order_acquire), [&](std::uint64_t k) {
                   return seg_.slot_at(s, r, k);
                 }) != ring.head.load(std::memory_order_acquire);
      }
      if (!queued) continue;
      if (!seg_.take(side::receiver, r, owner, /*open=*/false)) continue;
      places_.push_back(place_state(r));
      took = true;
    }
    return took;
  }

  // Every sender that joined has gone (closed, or died) and nothing of theirs is left to read.
  // Runs on every poll of a wait, so the operating system is asked whether a sender still lives
  // at most every liveness_every; in between, a sender with an owner counts as alive.
  bool stream_over() {
    if (seg_.header().senders_ever.load(std::memory_order_acquire) < expect_) return false;
    bool ask_os = false;
    for (std::uint32_t s = 0; s < seg_.shape().max_senders; ++s) {
      participant& p = seg_.sender(s);
      std::uint32_t owner = p.owner.load(std::memory_order_acquire);
      if (owner != 0) {
        if (!ask_os) {
          auto now = coarse_clock::now();
          if (now - last_liveness_ < liveness_every) return false;
          last_liveness_ = now;
          ask_os = true;
        }
        if (process_id{owner, p.start_time.load()}.alive()) return false;
      }
      for (place& pl : places_) {
        if (available(pl, s)) return false;
        pl.partial[s].clear();  // a message its dead sender never finished
      }
    }
    return true;
  }

  std::atomic<bool> woken_{false};
  std::string url_;
  std::size_t expect_;
  std::size_t max_frame_;
  bool pubsub_;
  bool busy_;
  std::uint32_t spins_;
  std::vector<std::string> topics_;  // subscribed prefixes (empty: all)
  std::string_view topic_;           // of the frame returned last, in the slot or assembled_
  segment seg_;
  std::uint32_t index_ = 0;  // this receiver's own place
  std::uint32_t next_ = 0;
  std::vector<place> places_;  // its own first, then those it adopted
  std::vector<std::byte> assembled_;
  std::optional<std::pair<std::uint32_t, std::uint32_t>> pending_;  // (place, sender) of a slot
  std::optional<std::span<const std::byte>> trailer_;  // after a pool message's chunk_ref
  std::optional<std::uint64_t> pending_chunk_;         // the chunk of that message
  std::vector<std::uint64_t> next_chunk_;  // per sender: where its next chunk likely is (0: none)
  std::vector<hold> holds_;
  std::vector<std::pair<std::uint64_t, std::vector<std::byte>>> copies_;  // kept assembled frames
  std::uint64_t tokens_ = 0;
  bool left_ = false;
  coarse_clock::time_point last_liveness_{};
  coarse_clock::time_point last_adoption_{};
  bool ended_ = false;
  bool closed_ = false;
  std::uint64_t release_batch_ = 1;  // slots read before the sender is told (consume)
};

// Request/reply: requests from every client go through one segment, "rpc.<name>", to the
// server; each client receives its replies through a segment of its own, named in every request
// it sends: [u16 length][reply segment name][request frame].
channel_options request_options(const channel_options& o) {
  channel_options r = o;
  r.high_water_mark = std::clamp(o.high_water_mark, 2, 256);
  r.shm_senders = 64;
  r.shm_receivers = 1;
  r.expect_senders = SIZE_MAX;  // clients come and go: never an end
  return r;
}

channel_options reply_options(const channel_options& o) {
  channel_options r = request_options(o);
  r.shm_senders = 1;
  return r;
}

transport::endpoint shm_at(std::string name) { return {"shm", std::move(name), std::nullopt}; }

class shm_client final : public transport::client_link {
 public:
  shm_client(const transport::endpoint& where, const channel_options& o)
      : url_(where.url()),
        name_(reply_name(where.address)),
        replies_(transport::pattern::pipeline, shm_at(name_), reply_options(o), 0),
        requests_(transport::pattern::pipeline, shm_at("rpc." + where.address), request_options(o),
                  0) {
    if (name_.size() > 0xffff) throw transport_error("brine: shm:// name too long: " + url_);
  }
  ~shm_client() override { close(); }

  std::span<std::byte> prepare(std::size_t size) override {
    std::size_t head = 2 + name_.size();
    std::span<std::byte> buf = requests_.prepare(head + size);
    auto n = static_cast<std::uint16_t>(name_.size());
    std::memcpy(buf.data(), &n, 2);
    std::memcpy(buf.data() + 2, name_.data(), name_.size());
    return buf.subspan(head);
  }

  // A request waits for a live server: the ring would take it, but nobody would answer.
  bool commit(deadline until) override {
    while (server() == 0) {
      if (clock::now() >= until) return false;
      std::this_thread::sleep_for(1ms);
      asked_ = {};  // ask the operating system again
    }
    // The server this request goes to: if losses() has not seen one yet (the client started
    // before the server), its going away must still count as a loss.
    if (last_ == 0) last_ = server_;
    return requests_.commit({}, until);
  }

  transport::recv_status recv(transport::received& out, deadline until) override {
    transport::recv_status st = replies_.recv(out, until);
    return st == transport::recv_status::end ? transport::recv_status::timeout : st;
  }

  void wake() noexcept override { replies_.wake(); }

  // A server that went, or was replaced by another between two looks, is a loss.
  std::uint64_t losses() override {
    std::uint64_t now = server();
    if (last_ != 0 && now != last_) ++losses_;
    last_ = now;
    return losses_;
  }

  bool connected() override { return server() != 0; }

  std::string endpoint() const override { return url_; }

  void close() noexcept override {
    requests_.close();
    replies_.close();
  }

 private:
  // The server's identity, asked of the operating system at most every 20 ms (by the coarse
  // clock: this runs for every call).
  std::uint64_t server() {
    auto now = coarse_clock::now();
    if (now - asked_ >= 20ms) {
      asked_ = now;
      server_ = requests_.live_receiver();
    }
    return server_;
  }

  static std::string reply_name(const std::string& base) {
    static std::atomic<unsigned> n{0};
    return "rpc." + base + "." + std::to_string(::getpid()) + "." + std::to_string(n++);
  }

  std::string url_;
  std::string name_;
  shm_receiver replies_;
  shm_sender requests_;
  std::uint64_t server_ = 0;
  std::uint64_t last_ = 0;
  std::uint64_t losses_ = 0;
  coarse_clock::time_point asked_{};
};

class shm_server final : public transport::server_link {
 public:
  shm_server(const transport::endpoint& where, const channel_options& o)
      : url_(where.url()),
        opts_(o),
        requests_(transport::pattern::pipeline, shm_at("rpc." + where.address), request_options(o),
                  0) {}
  ~shm_server() override { close(); }

  transport::recv_status recv(transport::received& out, std::string& client,
                              deadline until) override {
    if (++requests_seen_ % 64 == 0) prune();  // while requests flow: a clock read each 64
    for (;;) {
      transport::recv_status st = requests_.recv(out, until);
      if (st != transport::recv_status::frame) {
        prune();
        return st == transport::recv_status::end ? transport::recv_status::timeout : st;
      }
      std::uint16_t n = 0;
      if (out.frame.size() >= 2) std::memcpy(&n, out.frame.data(), 2);
      if (out.frame.size() < 2 + std::size_t{n} || n == 0)
        throw decode_error("a shm:// request lacks its reply address (not sent by brine?)", 0);
      client.assign(reinterpret_cast<const char*>(out.frame.data()) + 2, n);
      // The request leaves the ring before its handler runs: were this server to die during
      // the call, a server taking its place must not run it again (at most once).
      std::span<const std::byte> request = out.frame.subspan(2 + std::size_t{n});
      taken_.assign(request.begin(), request.end());
      requests_.done();
      out.frame = taken_;
      return transport::recv_status::frame;
    }
  }

  std::span<std::byte> prepare(std::size_t size) override {
    staging_.resize(size);
    return staging_;
  }

  bool reply(std::string_view client, deadline until) override {
    if (!client.starts_with("rpc.") || client.find('/') != std::string_view::npos)
      return true;  // not a reply address brine makes: nobody to answer
    auto it = senders_.find(client);
    if (it == senders_.end()) {
      prune();
      std::string name(client);
      auto s = std::make_unique<shm_sender>(transport::pattern::pipeline, shm_at(name),
                                            reply_options(opts_), 0);
      if (!s->receiver_alive()) return true;  // the client has gone (its segment goes too)
      it = senders_.emplace(std::move(name), std::move(s)).first;
    }
    shm_sender& s = *it->second;
    // A client that does not read must not hold the server in the middle of a long reply: the
    // reply waits (the server tries again soon, and answers others meanwhile) until it fits.
    if (!s.fits_now(staging_.size())) {
      if (s.receiver_alive()) return false;
      senders_.erase(it);
      return true;
    }
    std::span<std::byte> buf = s.prepare(staging_.size());
    std::memcpy(buf.data(), staging_.data(), staging_.size());
    if (s.commit({}, until)) return true;
    if (!s.receiver_alive()) {
      senders_.erase(it);
      return true;
    }
    return false;
  }

  void wake() noexcept override { requests_.wake(); }

  std::string endpoint() const override { return url_; }

  void close() noexcept override {
    senders_.clear();
    requests_.close();
  }

 private:
  // Forgets clients that have gone (closed or died), so that their reply segments go too: when
  // many are cached, and every second.
  // Drops the ways back to clients that have gone, at most every second.
  void prune() {
    auto now = clock::now();
    if (senders_.size() < 32 && now - pruned_ < 1s) return;
    pruned_ = now;
    for (auto i = senders_.begin(); i != senders_.end();) {
      if (i->second->receiver_alive()) {
        ++i;
      } else {
        i = senders_.erase(i);
      }
    }
  }

  std::string url_;
  channel_options opts_;
  shm_receiver requests_;
  std::vector<std::byte> staging_;
  std::vector<std::byte> taken_;  // the request recv() returned last
  std::map<std::string, std::unique_ptr<shm_sender>, std::less<>> senders_;
  clock::time_point pruned_{};
  std::uint64_t requests_seen_ = 0;
};

}  // namespace

std::string os_name(const std::string& name) { return os_name_for(name); }

std::unique_ptr<transport::sender_link> open_sender(transport::pattern p,
                                                    const transport::endpoint& where,
                                                    const channel_options& opts,
                                                    std::uint64_t fingerprint) {
  return std::make_unique<shm_sender>(p, where, opts, fingerprint);
}

std::unique_ptr<transport::receiver_link> open_receiver(transport::pattern p,
                                                        const transport::endpoint& where,
                                                        const channel_options& opts,
                                                        std::uint64_t fingerprint) {
  return std::make_unique<shm_receiver>(p, where, opts, fingerprint);
}

std::unique_ptr<transport::client_link> open_client(const transport::endpoint& where,
                                                    const channel_options& opts) {
  return std::make_unique<shm_client>(where, opts);
}

std::unique_ptr<transport::server_link> open_server(const transport::endpoint& where,
                                                    const channel_options& opts) {
  return std::make_unique<shm_server>(where, opts);
}

}  // namespace brine::shm
