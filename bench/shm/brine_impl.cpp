// brine's side: typed push/pull channels of std::vector<std::byte> over shm://, default options
// (waits spin, then sleep on a futex) or with busy polling ("-busy"), in one of two modes. Copy
// mode ("brine"): senders encode the value on every send; receivers decode into one reused value
// (recv_into), as a typed loop does. Loan mode ("brine-loan"): senders write into a loan and send
// it; receivers read the message in place (recv_view). Each mode is a small class of the few calls
// that differ; brine_impl runs the patterns once for both.

#include <sys/stat.h>
#include <unistd.h>

#include <brine/brine.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "impls.hpp"

namespace brine::bench {
namespace {

using value_type = std::vector<std::byte>;
using tx_type = brine::sender<value_type>;
using rx_type = brine::receiver<value_type>;

std::string url(const run_context& ctx, const char* tag) { return "shm://" + ctx.name + "." + tag; }

// Copy mode: every send encodes the payload's value; every receive decodes into one reused value,
// which is compared with the payload once, at the end (a comparison per message would be a third
// pass over it).
class copy_mode {
 public:
  explicit copy_mode(const payload& p) : p_(p) {}

  void send(tx_type& tx) { tx.send(p_.value); }
  void receive(rx_type& rx) { rx.recv_into(v_); }
  void round_trip(tx_type& tx, rx_type& rx) {
    send(tx);
    receive(rx);
  }
  void answer(rx_type& rx, tx_type& tx) {
    rx.recv_into(v_);
    tx.send(v_);
  }
  void check() const {
    if (v_ != p_.value) throw std::runtime_error("brine: received a value other than the one sent");
  }

 private:
  const payload& p_;
  value_type v_;
};

// Loan mode: messages of the payload's length, of which only the first 8 bytes are written or
// read (a counter, when they have 8): nothing is copied, which is what loans are for.
class loan_mode {
 public:
  explicit loan_mode(const payload& p) : n_(p.value.size()) {}

  void send(tx_type& tx) {
    brine::loan l = tx.loan(n_);
    put_counter(l.bytes(), sent_++);
    tx.send(std::move(l));
  }
  void receive(rx_type& rx) {
    brine::view v = rx.recv_view();
    check_size(v);
  }
  // The echoer answers with the counter it got: checks that it is the one just sent.
  void round_trip(tx_type& tx, rx_type& rx) {
    send(tx);
    brine::view v = rx.recv_view();
    check_size(v);
    if (n_ >= counter_bytes && counter_of(v.bytes()) != sent_ - 1)
      throw std::runtime_error("brine: the answer carries another counter than the one sent");
  }
  // The view is released before the answer is sent, so that the ping channel's memory is free
  // again before the pinger can send the next message.
  void answer(rx_type& rx, tx_type& tx) {
    brine::view v = rx.recv_view();
    check_size(v);
    brine::loan l = tx.loan(v.size());
    put_counter(l.bytes(), counter_of(v.bytes()));
    v.release();
    tx.send(std::move(l));
  }
  // Every message's size is checked as it arrives; this also fails when none arrived.
  void check() const {
    if (last_size_ != n_) throw std::runtime_error("brine: the last message has another size");
  }

 private:
  static constexpr std::size_t counter_bytes = sizeof(std::uint64_t);

  static void put_counter(std::span<std::byte> to, std::uint64_t c) {
    if (to.size() >= counter_bytes) std::memcpy(to.data(), &c, counter_bytes);
  }
  static std::uint64_t counter_of(std::span<const std::byte> from) {
    std::uint64_t c = 0;
    if (from.size() >= counter_bytes) std::memcpy(&c, from.data(), counter_bytes);
    return c;
  }

  void check_size(const brine::view& v) {
    last_size_ = v.size();
    if (last_size_ != n_)
      throw std::runtime_error("brine: received " + std::to_string(last_size_) +
                               " bytes in place of " + std::to_string(n_));
  }

  std::size_t n_;
  std::size_t last_size_ = 0;
  std::uint64_t sent_ = 0;
};

template <class Mode>
class brine_impl final : public impl {
 public:
  brine_impl(std::string name, std::string how, bool busy) : impl(std::move(name), std::move(how)) {
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
    Mode m(p);
    echo_until_told(ctx, [&] { m.answer(rx, tx); });
    m.check();
    ctx.meet();
  }

  std::vector<double> ping(const run_context& ctx, const payload& p, std::size_t warmup,
                           std::size_t count, std::chrono::nanoseconds limit) override {
    auto rx = brine::pull<value_type>(url(ctx, "pong"), opts_);
    note_segment_size(ctx, "pong");
    ctx.meet();
    auto tx = brine::push<value_type>(url(ctx, "ping"), opts_);
    Mode m(p);
    std::vector<double> ns =
        time_round_trips(ctx, warmup, count, limit, [&] { m.round_trip(tx, rx); });
    m.check();
    ctx.meet();
    return ns;
  }

  void stream_send(const run_context& ctx, const payload& p) override {
    ctx.meet();
    auto tx = brine::push<value_type>(url(ctx, "stream"), opts_);
    Mode m(p);
    send_until_told(ctx, [&] { m.send(tx); });
    ctx.meet();
  }

  stream_count stream_receive(const run_context& ctx, const payload& p,
                              std::chrono::nanoseconds limit) override {
    auto rx = brine::pull<value_type>(url(ctx, "stream"), opts_);
    ctx.meet();
    Mode m(p);
    stream_count c = receive_for(ctx, p.frame.size(), limit, [&] { m.receive(rx); });
    m.check();
    ctx.meet();
    return c;
  }

  void idle_send(const run_context& ctx, const payload& p, std::chrono::nanoseconds idle) override {
    ctx.meet();
    auto tx = brine::push<value_type>(url(ctx, "idle"), opts_);
    if (!tx.wait_peers(1, std::chrono::seconds(5)))
      throw std::runtime_error("brine: the idle receiver did not appear");
    ctx.meet();
    Mode m(p);
    idle_then_send(ctx, idle, [&] { m.send(tx); });
    ctx.meet();
  }

  idle_result idle_receive(const run_context& ctx, const payload& p) override {
    auto rx = brine::pull<value_type>(url(ctx, "idle"), opts_);
    ctx.meet();
    Mode m(p);
    idle_result r = measure_idle_receive(ctx, [&] { m.receive(rx); });
    m.check();
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

constexpr const char* busy_how = "with channel_options::shm_busy_poll: waits poll and never sleep";

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

std::unique_ptr<impl> make_brine_impl(bool busy) {
  if (busy)
    return std::make_unique<brine_impl<copy_mode>>("brine-busy",
                                                   std::string("as brine, ") + busy_how, true);
  return std::make_unique<brine_impl<copy_mode>>(
      "brine",
      "push/pull<std::vector<std::byte>> over shm://, default channel_options (copy mode; a wait\n"
      "spins ~2000 polls, then sleeps on a futex); the vector is sized so its frame is the\n"
      "message size; send(v) encodes v (into a ring slot when it fits one); recv_into(v)\n"
      "decodes into one reused value. Ping-pong: one channel each way.",
      false);
}

std::unique_ptr<impl> make_brine_loan_impl(bool busy) {
  if (busy)
    return std::make_unique<brine_impl<loan_mode>>("brine-loan-busy",
                                                   std::string("as brine-loan, ") + busy_how, true);
  return std::make_unique<brine_impl<loan_mode>>(
      "brine-loan",
      "as brine, in loan mode: tx.loan(n) gives the n bytes of brine's vector (same frame size)\n"
      "in shared memory (a ring slot, or the sender's pool past one); the sender writes an\n"
      "8-byte counter at their start and sends the loan; rx.recv_view() gives the bytes in\n"
      "place, released once their size (and in ping-pong the echoed counter) is checked. The\n"
      "echoer loans its answer and copies only the counter into it. Nothing else of a message\n"
      "is written, read or copied: that is the point of loans (copy mode encodes and decodes\n"
      "all of it).",
      false);
}

}  // namespace brine::bench
