// The floor: two processes spinning on cache lines of a mapping shared before the fork. "floor"
// moves no message bytes, only a sequence number each way: what the issue calls the floor.
// "floor+copy" also copies the whole message into shared memory and out of it each way, and its
// stream is a single-producer/single-consumer ring of message-sized slots: a plain copying
// transport without its bookkeeping. It copies whole messages, so unlike brine's 4 KiB slots it
// does not overlap the two copies of one large message.

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <vector>

#include "impls.hpp"

namespace brine::bench {
namespace {

inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

struct alignas(64) line {
  std::atomic<std::uint64_t> seq;
};
static_assert(std::atomic<std::uint64_t>::is_always_lock_free);

void spin_until(const line& l, std::uint64_t at_least) noexcept {
  while (l.seq.load(std::memory_order_acquire) < at_least)
    cpu_relax();
}

constexpr std::size_t round_up_64(std::size_t n) { return (n + 63) / 64 * 64; }

// Stream ring slots: 64 KiB of them, at least 4 and at most 1024. A small ring stays in cache;
// rings of megabytes measured up to 10x slower here, the sender running ahead into memory.
std::size_t ring_slots(std::size_t frame) {
  std::size_t n = (std::size_t{64} << 10) / round_up_64(frame);
  return n < 4 ? 4 : n > 1024 ? 1024 : n;
}

// The shared area: two lines (ping/pong, or the stream's tail/head), then message buffers.
struct layout {
  line* a;
  line* b;
  std::byte* buffers;
  std::size_t stride;

  layout(const run_context& ctx, std::size_t frame)
      : a(reinterpret_cast<line*>(ctx.area.data())),
        b(a + 1),
        buffers(ctx.area.data() + 2 * sizeof(line)),
        stride(round_up_64(frame)) {}
};

void check(const std::byte* got, const payload& p) {
  if (std::memcmp(got, p.frame.data(), p.frame.size()) != 0)
    throw std::runtime_error("floor: received bytes other than the ones sent");
}

class floor_impl final : public impl {
 public:
  explicit floor_impl(bool copy)
      : impl(copy ? "floor+copy" : "floor",
             copy ? "the same, and each way the whole message is copied (memcpy) into a shared "
                    "buffer before\n"
                    "the store and out of it, into private memory, after the load. Stream: an "
                    "SPSC ring of\n"
                    "message-sized slots, the same spinning and copying."
                  : "one cache line each way in a MAP_SHARED mapping made before the fork; each "
                    "side spins\n"
                    "(pause) until the other's sequence number arrives and stores its own. No "
                    "message bytes move."),
        copy_(copy) {}

  std::size_t area_bytes(std::size_t frame) const override {
    return 2 * sizeof(line) + std::max<std::size_t>(2, ring_slots(frame)) * round_up_64(frame);
  }
  bool streams() const override { return copy_; }
  bool idles() const override { return false; }

  void echo(const run_context& ctx, const payload& p) override {
    layout l(ctx, p.frame.size());
    std::vector<std::byte> got(p.frame.size());
    std::size_t n = p.frame.size();
    ctx.meet();
    std::uint64_t i = 0;
    echo_until_told(ctx, [&] {
      spin_until(*l.a, ++i);
      if (copy_) {
        std::memcpy(got.data(), l.buffers, n);
        std::memcpy(l.buffers + l.stride, got.data(), n);
      }
      l.b->seq.store(i, std::memory_order_release);
    });
    if (copy_) check(got.data(), p);
    ctx.meet();
  }

  std::vector<double> ping(const run_context& ctx, const payload& p, std::size_t warmup,
                           std::size_t count, std::chrono::nanoseconds limit) override {
    layout l(ctx, p.frame.size());
    std::vector<std::byte> got(p.frame.size());
    std::size_t n = p.frame.size();
    ctx.meet();
    std::uint64_t i = 0;
    std::vector<double> ns = time_round_trips(ctx, warmup, count, limit, [&] {
      ++i;
      if (copy_) std::memcpy(l.buffers, p.frame.data(), n);
      l.a->seq.store(i, std::memory_order_release);
      spin_until(*l.b, i);
      if (copy_) std::memcpy(got.data(), l.buffers + l.stride, n);
    });
    if (copy_) check(got.data(), p);
    ctx.meet();
    return ns;
  }

  // The stream: line a is the sender's tail (messages published), line b the receiver's head
  // (messages consumed). Each side reads the other's line only when its last reading says the
  // ring is full (sender) or empty (receiver).
  void stream_send(const run_context& ctx, const payload& p) override {
    layout l(ctx, p.frame.size());
    std::uint64_t slots = ring_slots(p.frame.size());
    std::uint64_t i = 0;
    std::uint64_t head = 0;
    ctx.meet();
    send_until_told(ctx, [&] {
      while (i - head >= slots) {
        head = l.b->seq.load(std::memory_order_acquire);
        cpu_relax();
      }
      std::memcpy(l.buffers + (i % slots) * l.stride, p.frame.data(), p.frame.size());
      l.a->seq.store(++i, std::memory_order_release);
    });
    ctx.meet();
  }

  stream_count stream_receive(const run_context& ctx, const payload& p,
                              std::chrono::nanoseconds limit) override {
    layout l(ctx, p.frame.size());
    std::uint64_t slots = ring_slots(p.frame.size());
    std::vector<std::byte> got(p.frame.size());
    std::uint64_t i = 0;
    std::uint64_t tail = 0;
    ctx.meet();
    stream_count c = receive_for(ctx, p.frame.size(), limit, [&] {
      while (tail <= i) {
        tail = l.a->seq.load(std::memory_order_acquire);
        if (tail <= i) cpu_relax();
      }
      std::memcpy(got.data(), l.buffers + (i % slots) * l.stride, got.size());
      l.b->seq.store(++i, std::memory_order_release);
    });
    check(got.data(), p);
    ctx.meet();
    return c;
  }

 private:
  bool copy_;
};

}  // namespace

std::unique_ptr<impl> make_floor_impl(bool copy) { return std::make_unique<floor_impl>(copy); }

}  // namespace brine::bench
