// Raw cppzmq: PUSH/PULL sockets over ipc:// on their own context with ZeroMQ's defaults, made
// after the fork. Senders copy the pre-serialized frame into each message
// (`send(zmq::buffer(bytes))`); receivers receive into one reused zmq::message_t and do not look
// inside it. Each method declares its context before its sockets, so that the sockets close
// first. libzmq 4.3 leaves the socket file of a bound ipc:// address behind; the binder removes it.

#include <chrono>
#include <cstddef>
#include <cstring>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>
#include <zmq.hpp>

#include "impls.hpp"

namespace brine::bench {
namespace {

std::string url(const run_context& ctx, const char* tag) {
  return "ipc://" + (std::filesystem::temp_directory_path() / (ctx.name + "." + tag)).string();
}

// The socket file of an address this process binds, removed once the socket is gone (declare it
// before the context).
struct bound_file {
  std::string url;
  ~bound_file() {
    std::error_code ec;
    std::filesystem::remove(url.substr(std::string_view("ipc://").size()), ec);
  }
};

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

class zmq_impl final : public impl {
 public:
  zmq_impl()
      : impl("cppzmq",
             "raw cppzmq PUSH/PULL over ipc://, one pair each way, ZeroMQ's defaults, context "
             "made after\n"
             "the fork; send(zmq::buffer(frame)) copies the pre-serialized frame; recv into one "
             "reused\n"
             "zmq::message_t, bytes not looked at.") {}

  void echo(const run_context& ctx, const payload& p) override {
    bound_file in{url(ctx, "ping")};
    ::zmq::context_t zctx;
    ::zmq::socket_t rx(zctx, ::zmq::socket_type::pull);
    ::zmq::socket_t tx(zctx, ::zmq::socket_type::push);
    rx.bind(in.url);
    ctx.meet();
    tx.connect(url(ctx, "pong"));
    ::zmq::message_t m;
    echo_until_told(ctx, [&] {
      recv_one(rx, m);
      send_one(tx, p);
    });
    check(m, p);
    ctx.meet();
  }

  std::vector<double> ping(const run_context& ctx, const payload& p, std::size_t warmup,
                           std::size_t count, std::chrono::nanoseconds limit) override {
    bound_file in{url(ctx, "pong")};
    ::zmq::context_t zctx;
    ::zmq::socket_t rx(zctx, ::zmq::socket_type::pull);
    ::zmq::socket_t tx(zctx, ::zmq::socket_type::push);
    rx.bind(in.url);
    ctx.meet();
    tx.connect(url(ctx, "ping"));
    ::zmq::message_t m;
    std::vector<double> ns = time_round_trips(ctx, warmup, count, limit, [&] {
      send_one(tx, p);
      recv_one(rx, m);
    });
    check(m, p);
    ctx.meet();
    return ns;
  }

  void stream_send(const run_context& ctx, const payload& p) override {
    ::zmq::context_t zctx;
    ::zmq::socket_t tx(zctx, ::zmq::socket_type::push);
    ctx.meet();
    tx.connect(url(ctx, "stream"));
    send_until_told(ctx, [&] { send_one(tx, p); });
    ctx.meet();
  }

  stream_count stream_receive(const run_context& ctx, const payload& p,
                              std::chrono::nanoseconds limit) override {
    bound_file in{url(ctx, "stream")};
    ::zmq::context_t zctx;
    ::zmq::socket_t rx(zctx, ::zmq::socket_type::pull);
    rx.bind(in.url);
    ctx.meet();
    ::zmq::message_t m;
    stream_count c = receive_for(ctx, p.frame.size(), limit, [&] {
      recv_one(rx, m);
      do_not_optimize(m.data());
    });
    check(m, p);
    ctx.meet();
    return c;
  }

  void idle_send(const run_context& ctx, const payload& p, std::chrono::nanoseconds idle) override {
    ::zmq::context_t zctx;
    ::zmq::socket_t tx(zctx, ::zmq::socket_type::push);
    ctx.meet();
    tx.connect(url(ctx, "idle"));
    ctx.meet();
    idle_then_send(ctx, idle, [&] { send_one(tx, p); });
    ctx.meet();
  }

  idle_result idle_receive(const run_context& ctx, const payload& p) override {
    bound_file in{url(ctx, "idle")};
    ::zmq::context_t zctx;
    ::zmq::socket_t rx(zctx, ::zmq::socket_type::pull);
    rx.bind(in.url);
    ctx.meet();
    ::zmq::message_t m;
    idle_result r = measure_idle_receive(ctx, [&] { recv_one(rx, m); });
    check(m, p);
    ctx.meet();
    return r;
  }
};

}  // namespace

std::unique_ptr<impl> make_zmq_impl() { return std::make_unique<zmq_impl>(); }

}  // namespace brine::bench
