// brine's side: typed push/pull channels of std::vector<std::byte> over shm://, default options
// (copy mode; waits spin, then sleep on a futex), or with busy polling ("brine-busy"). Senders
// encode the value on every send; receivers decode into one reused value (recv_into), as a typed
// loop does.

#include <sys/stat.h>
#include <unistd.h>

#include <brine/brine.hpp>
#include <chrono>
#include <cstddef>
#include <cstdio>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "impls.hpp"

namespace brine::bench {
namespace {

using value_type = std::vector<std::byte>;

std::string url(const run_context& ctx, const char* tag) { return "shm://" + ctx.name + "." + tag; }

void check(const value_type& got, const payload& p) {
  if (got != p.value) throw std::runtime_error("brine: received a value other than the one sent");
}

class brine_impl final : public impl {
 public:
  explicit brine_impl(bool busy)
      : impl(busy ? "brine-busy" : "brine",
             busy ? "as brine, with channel_options::shm_busy_poll: waits poll and never sleep"
                  : "push/pull<std::vector<std::byte>> over shm://, default channel_options (copy "
                    "mode; a wait\n"
                    "spins ~2000 polls, then sleeps on a futex); the vector is sized so its frame "
                    "is the message\n"
                    "size; send(v) encodes v (into a ring slot when it fits one); recv_into(v) "
                    "decodes into one\n"
                    "reused value. Ping-pong: one channel each way.") {
    opts_.shm_busy_poll = busy;
  }

  std::string notes() const override {
    if (segment_bytes_ == 0) return {};
    char text[160];
    std::snprintf(text, sizeof text,
                  "each shm:// channel is a %.1f MiB segment (default options; sparse in /dev/shm)",
                  static_cast<double>(segment_bytes_) / (1 << 20));
    return text;
  }

  void echo(const run_context& ctx, const payload& p) override {
    auto rx = brine::pull<value_type>(url(ctx, "ping"), opts_);
    ctx.meet();
    auto tx = brine::push<value_type>(url(ctx, "pong"), opts_);
    value_type v;
    echo_until_told(ctx, [&] {
      rx.recv_into(v);
      tx.send(v);
    });
    check(v, p);
    ctx.meet();
  }

  std::vector<double> ping(const run_context& ctx, const payload& p, std::size_t warmup,
                           std::size_t count, std::chrono::nanoseconds limit) override {
    auto rx = brine::pull<value_type>(url(ctx, "pong"), opts_);
    note_segment_size(ctx, "pong");
    ctx.meet();
    auto tx = brine::push<value_type>(url(ctx, "ping"), opts_);
    value_type v;
    std::vector<double> ns = time_round_trips(ctx, warmup, count, limit, [&] {
      tx.send(p.value);
      rx.recv_into(v);
    });
    check(v, p);
    ctx.meet();
    return ns;
  }

  void stream_send(const run_context& ctx, const payload& p) override {
    ctx.meet();
    auto tx = brine::push<value_type>(url(ctx, "stream"), opts_);
    send_until_told(ctx, [&] { tx.send(p.value); });
    ctx.meet();
  }

  stream_count stream_receive(const run_context& ctx, const payload& p,
                              std::chrono::nanoseconds limit) override {
    auto rx = brine::pull<value_type>(url(ctx, "stream"), opts_);
    ctx.meet();
    value_type v;
    stream_count c = receive_for(ctx, p.frame.size(), limit, [&] { rx.recv_into(v); });
    check(v, p);
    ctx.meet();
    return c;
  }

  void idle_send(const run_context& ctx, const payload& p, std::chrono::nanoseconds idle) override {
    ctx.meet();
    auto tx = brine::push<value_type>(url(ctx, "idle"), opts_);
    if (!tx.wait_peers(1, std::chrono::seconds(5)))
      throw std::runtime_error("brine: the idle receiver did not appear");
    ctx.meet();
    idle_then_send(ctx, idle, [&] { tx.send(p.value); });
    ctx.meet();
  }

  idle_result idle_receive(const run_context& ctx, const payload& p) override {
    auto rx = brine::pull<value_type>(url(ctx, "idle"), opts_);
    ctx.meet();
    value_type v;
    idle_result r = measure_idle_receive(ctx, [&] { rx.recv_into(v); });
    check(v, p);
    ctx.meet();
    return r;
  }

 private:
  // The segment's size as /dev/shm shows it (this runs in the parent process, which keeps it).
  void note_segment_size(const run_context& ctx, const char* tag) {
    std::string path = "/dev/shm/brine." + std::to_string(::geteuid()) + "." + ctx.name + "." + tag;
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0) segment_bytes_ = static_cast<std::size_t>(st.st_size);
  }

  brine::channel_options opts_;
  std::size_t segment_bytes_ = 0;
};

}  // namespace

payload make_payload(std::size_t frame_size) {
  // The length prefix may grow with the length, so try the few lengths near the target.
  constexpr std::size_t slack = 32;
  for (std::size_t k = 0; k <= slack && k <= frame_size; ++k) {
    std::size_t n = frame_size - k;
    value_type v(n);
    if (brine::dumps_size(v) != frame_size) continue;
    for (std::size_t i = 0; i < n; ++i)
      v[i] = static_cast<std::byte>(i * 131 + 7);
    payload p;
    p.frame = brine::dumps(v);
    p.value = std::move(v);
    return p;
  }
  throw std::runtime_error("no byte vector has a brine frame of " + std::to_string(frame_size) +
                           " bytes");
}

std::unique_ptr<impl> make_brine_impl(bool busy) { return std::make_unique<brine_impl>(busy); }

}  // namespace brine::bench
