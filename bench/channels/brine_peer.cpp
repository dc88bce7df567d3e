// brine's side: typed push/pull channels of std::vector<std::byte>, used two ways. "brine"
// encodes the value on every send and decodes into one reused value (recv_into), as a typed
// loop does. "brine-view" writes the bytes into a loan (the ZeroMQ message's own memory) and
// receives views of them in place (recv_view): what a program moving byte buffers does, and the
// like of raw ZeroMQ, which copies the bytes once into each message and never reads them out.

#include <brine/brine.hpp>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstring>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/harness.hpp"
#include "peers.hpp"

namespace brine::bench {
namespace {

using value_type = std::vector<std::byte>;

// Typed values: send(v) encodes, recv_into(v) decodes into one reused value.
struct typed_way {
  using held = value_type;
  static constexpr const char* name = "brine";
  static void send(brine::sender<value_type>& tx, const value_type& v) { tx.send(v); }
  static void receive(brine::receiver<value_type>& rx, held& h) { rx.recv_into(h); }
  static std::span<const std::byte> bytes(const held& h) { return h; }
};

// Byte buffers in place: the bytes are copied once into a loan, and received as views.
struct view_way {
  using held = brine::view;
  static constexpr const char* name = "brine-view";
  static void send(brine::sender<value_type>& tx, std::span<const std::byte> bytes) {
    brine::loan l = tx.loan(bytes.size());
    std::memcpy(l.data(), bytes.data(), bytes.size());
    tx.send(std::move(l));
  }
  static void send(brine::sender<value_type>& tx, const held& h) { send(tx, h.bytes()); }
  static void receive(brine::receiver<value_type>& rx, held& h) { h = rx.recv_view(); }
  static std::span<const std::byte> bytes(const held& h) { return h.bytes(); }
};

template <class Way>
void check(const typename Way::held& got, const payload& p) {
  std::span<const std::byte> b = Way::bytes(got);
  if (!std::equal(b.begin(), b.end(), p.value.begin(), p.value.end()))
    throw std::runtime_error("brine: received a value other than the one sent");
}

template <class Way>
class brine_peer final : public peer {
 public:
  brine_peer() : peer(Way::name) {}

  void stream_send(const payload& p, const std::string& url, std::size_t count,
                   const rendezvous_fn& meet) override {
    meet();
    {
      auto tx = brine::push<value_type>(url);
      for (std::size_t i = 0; i < count; ++i)
        Way::send(tx, p.value);
      meet();
      tx.close();
    }
    brine::shutdown();
  }

  std::chrono::nanoseconds stream_receive(const payload& p, const std::string& url,
                                          std::size_t count, const rendezvous_fn& meet) override {
    std::chrono::nanoseconds elapsed{};
    {
      auto rx = brine::pull<value_type>(url);
      meet();
      typename Way::held h;
      Way::receive(rx, h);
      auto start = bench_clock::now();
      for (std::size_t i = 1; i < count; ++i)
        Way::receive(rx, h);
      elapsed = bench_clock::now() - start;
      check<Way>(h, p);
      meet();
    }
    brine::shutdown();
    return elapsed;
  }

  void echo(const payload& p, const std::string& in, const std::string& out, std::size_t count,
            const rendezvous_fn& meet) override {
    {
      auto rx = brine::pull<value_type>(in);
      meet();
      auto tx = brine::push<value_type>(out);
      typename Way::held h;
      for (std::size_t i = 0; i < count; ++i) {
        Way::receive(rx, h);
        Way::send(tx, h);
      }
      check<Way>(h, p);
      meet();
      tx.close();
    }
    brine::shutdown();
  }

  std::vector<double> ping(const payload& p, const std::string& in, const std::string& out,
                           std::size_t warmup, std::size_t count,
                           const rendezvous_fn& meet) override {
    std::vector<double> ns;
    ns.reserve(count);
    {
      auto rx = brine::pull<value_type>(in);
      meet();
      auto tx = brine::push<value_type>(out);
      typename Way::held h;
      for (std::size_t i = 0; i < warmup + count; ++i) {
        auto start = bench_clock::now();
        Way::send(tx, p.value);
        Way::receive(rx, h);
        std::chrono::duration<double, std::nano> rtt = bench_clock::now() - start;
        if (i >= warmup) ns.push_back(rtt.count());
      }
      check<Way>(h, p);
      meet();
      tx.close();
    }
    brine::shutdown();
    return ns;
  }
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

std::unique_ptr<peer> make_brine_peer() { return std::make_unique<brine_peer<typed_way>>(); }
std::unique_ptr<peer> make_brine_view_peer() { return std::make_unique<brine_peer<view_way>>(); }

}  // namespace brine::bench
