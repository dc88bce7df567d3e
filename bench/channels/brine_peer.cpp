// brine's side: typed push/pull channels of std::vector<std::byte>. Senders encode the value
// on every send; receivers decode into one reused value (recv_into), as a typed loop does.

#include <brine/brine.hpp>

#include <chrono>
#include <cstddef>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/harness.hpp"
#include "peers.hpp"

namespace brine::bench {
namespace {

using value_type = std::vector<std::byte>;

void check(const value_type& got, const payload& p) {
  if (got != p.value) throw std::runtime_error("brine: received a value other than the one sent");
}

class brine_peer final : public peer {
 public:
  brine_peer() : peer("brine") {}

  void stream_send(const payload& p, const std::string& url, std::size_t count,
                   const rendezvous_fn& meet) override {
    meet();
    {
      auto tx = brine::push<value_type>(url);
      for (std::size_t i = 0; i < count; ++i)
        tx.send(p.value);
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
      value_type v;
      rx.recv_into(v);
      auto start = bench_clock::now();
      for (std::size_t i = 1; i < count; ++i)
        rx.recv_into(v);
      elapsed = bench_clock::now() - start;
      check(v, p);
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
      value_type v;
      for (std::size_t i = 0; i < count; ++i) {
        rx.recv_into(v);
        tx.send(v);
      }
      check(v, p);
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
      value_type v;
      for (std::size_t i = 0; i < warmup + count; ++i) {
        auto start = bench_clock::now();
        tx.send(p.value);
        rx.recv_into(v);
        std::chrono::duration<double, std::nano> rtt = bench_clock::now() - start;
        if (i >= warmup) ns.push_back(rtt.count());
      }
      check(v, p);
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

std::unique_ptr<peer> make_brine_peer() { return std::make_unique<brine_peer>(); }

}  // namespace brine::bench
