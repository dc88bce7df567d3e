// Boost.Interprocess message_queue: one queue each way, max_msg_size = the message size. Senders
// send the pre-serialized frame; receivers receive into a buffer of max_msg_size (a smaller one
// throws) and do not look inside it. The queue's creator removes its name when done.

#include <boost/interprocess/ipc/message_queue.hpp>
#include <chrono>
#include <cstddef>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "impls.hpp"

namespace brine::bench {
namespace {

namespace bip = boost::interprocess;

std::string queue_name(const run_context& ctx, const char* tag) { return ctx.name + "." + tag; }

// Queue depth: at least 4 and up to 256 messages, about 4 MiB of them.
std::size_t depth_for(std::size_t size) {
  std::size_t n = (4u << 20) / size;
  return n < 4 ? 4 : n > 256 ? 256 : n;
}

// A queue this process creates, and whose name it removes on destruction.
struct owned_queue {
  std::string name;
  bip::message_queue q;

  owned_queue(std::string n, std::size_t size)
      : name(clear(std::move(n))), q(bip::create_only, name.c_str(), depth_for(size), size) {}
  ~owned_queue() { bip::message_queue::remove(name.c_str()); }
  owned_queue(const owned_queue&) = delete;
  owned_queue& operator=(const owned_queue&) = delete;

  // A queue of that name can only be a stale one of a crashed run whose pid was this one's.
  static std::string clear(std::string n) {
    bip::message_queue::remove(n.c_str());
    return n;
  }
};

bip::message_queue open_queue(const std::string& name) {
  return bip::message_queue(bip::open_only, name.c_str());
}

void send_one(bip::message_queue& q, const payload& p) {
  q.send(p.frame.data(), p.frame.size(), 0);
}

void recv_one(bip::message_queue& q, std::vector<std::byte>& buf) {
  bip::message_queue::size_type got = 0;
  unsigned priority = 0;
  q.receive(buf.data(), buf.size(), got, priority);
  if (got != buf.size()) throw std::runtime_error("message_queue: a message of another size");
}

void check(const std::vector<std::byte>& got, const payload& p) {
  if (std::memcmp(got.data(), p.frame.data(), p.frame.size()) != 0)
    throw std::runtime_error("message_queue: received bytes other than the ones sent");
}

class mq_impl final : public impl {
 public:
  mq_impl()
      : impl("boost-mq",
             "boost::interprocess::message_queue, one each way, max_msg_size = the message "
             "size; send()\n"
             "copies the pre-serialized frame in; receive() copies it out into a buffer of "
             "max_msg_size.") {}

  // The pinger creates both queues before the first meeting; the echoer opens them after it.
  void echo(const run_context& ctx, const payload& p) override {
    ctx.meet();
    bip::message_queue in = open_queue(queue_name(ctx, "ping"));
    bip::message_queue out = open_queue(queue_name(ctx, "pong"));
    std::vector<std::byte> buf(p.frame.size());
    echo_until_told(ctx, [&] {
      recv_one(in, buf);
      send_one(out, p);
    });
    check(buf, p);
    ctx.meet();
  }

  std::vector<double> ping(const run_context& ctx, const payload& p, std::size_t warmup,
                           std::size_t count, std::chrono::nanoseconds limit) override {
    owned_queue out(queue_name(ctx, "ping"), p.frame.size());
    owned_queue in(queue_name(ctx, "pong"), p.frame.size());
    ctx.meet();
    std::vector<std::byte> buf(p.frame.size());
    std::vector<double> ns = time_round_trips(ctx, warmup, count, limit, [&] {
      send_one(out.q, p);
      recv_one(in.q, buf);
    });
    check(buf, p);
    ctx.meet();
    return ns;
  }

  void stream_send(const run_context& ctx, const payload& p) override {
    ctx.meet();
    bip::message_queue out = open_queue(queue_name(ctx, "stream"));
    send_until_told(ctx, [&] { send_one(out, p); });
    ctx.meet();
  }

  stream_count stream_receive(const run_context& ctx, const payload& p,
                              std::chrono::nanoseconds limit) override {
    owned_queue in(queue_name(ctx, "stream"), p.frame.size());
    ctx.meet();
    std::vector<std::byte> buf(p.frame.size());
    stream_count c = receive_for(ctx, p.frame.size(), limit, [&] { recv_one(in.q, buf); });
    check(buf, p);
    ctx.meet();
    return c;
  }

  void idle_send(const run_context& ctx, const payload& p, std::chrono::nanoseconds idle) override {
    ctx.meet();
    bip::message_queue out = open_queue(queue_name(ctx, "idle"));
    ctx.meet();
    idle_then_send(ctx, idle, [&] { send_one(out, p); });
    ctx.meet();
  }

  idle_result idle_receive(const run_context& ctx, const payload& p) override {
    owned_queue in(queue_name(ctx, "idle"), p.frame.size());
    ctx.meet();
    std::vector<std::byte> buf(p.frame.size());
    idle_result r = measure_idle_receive(ctx, [&] { recv_one(in.q, buf); });
    check(buf, p);
    ctx.meet();
    return r;
  }
};

}  // namespace

std::unique_ptr<impl> make_mq_impl() { return std::make_unique<mq_impl>(); }

}  // namespace brine::bench
