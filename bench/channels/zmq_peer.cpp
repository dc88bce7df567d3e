// Raw cppzmq: PUSH/PULL sockets on their own context with ZeroMQ's defaults (the same
// high-water mark as brine's). Senders copy the pre-serialized frame into each message
// (`send(zmq::buffer(bytes))`); receivers receive into one reused zmq::message_t and do not look
// inside it: a floor for what any typed layer on ZeroMQ can do.

#include <chrono>
#include <cstddef>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>
#include <zmq.hpp>

#include "common/harness.hpp"
#include "peers.hpp"

namespace brine::bench {
namespace {

void recv_one(::zmq::socket_t& s, ::zmq::message_t& m) {
  if (!s.recv(m, ::zmq::recv_flags::none)) throw std::runtime_error("zmq: recv returned nothing");
}

void send_one(::zmq::socket_t& s, const payload& p) {
  if (!s.send(::zmq::buffer(p.frame), ::zmq::send_flags::none))
    throw std::runtime_error("zmq: send returned nothing");
}

void check(const ::zmq::message_t& m, const payload& p) {
  if (m.size() != p.frame.size() || std::memcmp(m.data(), p.frame.data(), m.size()) != 0)
    throw std::runtime_error("zmq: received bytes other than the ones sent");
}

class zmq_peer final : public peer {
 public:
  zmq_peer() : peer("cppzmq") {}

  // Each method declares its context before its sockets, so that the sockets close first.

  void stream_send(const payload& p, const std::string& url, std::size_t count,
                   const rendezvous_fn& meet) override {
    ::zmq::context_t ctx;
    ::zmq::socket_t tx(ctx, ::zmq::socket_type::push);
    meet();
    tx.connect(url);
    for (std::size_t i = 0; i < count; ++i)
      send_one(tx, p);
    meet();
  }

  std::chrono::nanoseconds stream_receive(const payload& p, const std::string& url,
                                          std::size_t count, const rendezvous_fn& meet) override {
    ::zmq::context_t ctx;
    ::zmq::socket_t rx(ctx, ::zmq::socket_type::pull);
    rx.bind(url);
    meet();
    ::zmq::message_t m;
    recv_one(rx, m);
    auto start = bench_clock::now();
    for (std::size_t i = 1; i < count; ++i) {
      recv_one(rx, m);
      do_not_optimize(m.data());
    }
    std::chrono::nanoseconds elapsed = bench_clock::now() - start;
    check(m, p);
    meet();
    return elapsed;
  }

  void echo(const payload& p, const std::string& in, const std::string& out, std::size_t count,
            const rendezvous_fn& meet) override {
    ::zmq::context_t ctx;
    ::zmq::socket_t rx(ctx, ::zmq::socket_type::pull);
    ::zmq::socket_t tx(ctx, ::zmq::socket_type::push);
    rx.bind(in);
    meet();
    tx.connect(out);
    ::zmq::message_t m;
    for (std::size_t i = 0; i < count; ++i) {
      recv_one(rx, m);
      send_one(tx, p);
    }
    check(m, p);
    meet();
  }

  std::vector<double> ping(const payload& p, const std::string& in, const std::string& out,
                           std::size_t warmup, std::size_t count,
                           const rendezvous_fn& meet) override {
    ::zmq::context_t ctx;
    ::zmq::socket_t rx(ctx, ::zmq::socket_type::pull);
    ::zmq::socket_t tx(ctx, ::zmq::socket_type::push);
    rx.bind(in);
    meet();
    tx.connect(out);
    std::vector<double> ns;
    ns.reserve(count);
    ::zmq::message_t m;
    for (std::size_t i = 0; i < warmup + count; ++i) {
      auto start = bench_clock::now();
      send_one(tx, p);
      recv_one(rx, m);
      std::chrono::duration<double, std::nano> rtt = bench_clock::now() - start;
      if (i >= warmup) ns.push_back(rtt.count());
    }
    check(m, p);
    meet();
    return ns;
  }
};

}  // namespace

std::unique_ptr<peer> make_zmq_peer() { return std::make_unique<zmq_peer>(); }

}  // namespace brine::bench
