// iceoryx (Debian's 2.0): one untyped publisher/subscriber pair each way, busy-polling take().
// The sender loans a chunk, copies the pre-serialized frame into it and publishes it; the
// receiver copies it out and releases the chunk, as the others copy out of their transport.
// Nothing is dropped: publishers wait for a full subscriber queue, and for a chunk to loan.
//
// iceoryx needs its daemon, RouDi: this implementation starts `iox-roudi` for each of its runs
// and stops it after. A process registers with RouDi once and then has threads, while the
// benchmark forks a fresh pair per run from a single-threaded process: so each side runs in a
// process of its own, forked for the run, which registers, works, hands its figures back through
// the run's shared mapping, and exits normally so that RouDi hears it leave.

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

// iceoryx's headers are not -Wall -Wextra -Wpedantic clean.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpedantic"
#pragma GCC diagnostic ignored "-Wshadow"
#pragma GCC diagnostic ignored "-Wnon-virtual-dtor"
#include <iceoryx_hoofs/log/logmanager.hpp>
#include <iceoryx_posh/popo/untyped_publisher.hpp>
#include <iceoryx_posh/popo/untyped_subscriber.hpp>
#include <iceoryx_posh/runtime/posh_runtime.hpp>
#pragma GCC diagnostic pop

#include "impls.hpp"

extern char** environ;

namespace brine::bench {
namespace {

using namespace std::chrono_literals;

// The figures a side's process hands back: round trips in ns, or a stream's count.
// In the run's shared mapping, followed by up to max_samples round trips in ns.
struct handback {
  std::uint64_t samples = 0;
  stream_count stream;
  double* ns() noexcept { return reinterpret_cast<double*>(this + 1); }
};
static_assert(sizeof(handback) % alignof(double) == 0);
constexpr std::size_t max_samples = (8u << 20) / sizeof(double);

// Starts RouDi (its output to /dev/null) and waits until it is up; -1 with the reason if not.
pid_t start_roudi(std::string& why_not) {
  if (std::filesystem::exists("/dev/shm/iceoryx_mgmt")) {
    why_not = "a RouDi already runs (/dev/shm/iceoryx_mgmt exists); stop it to include iceoryx";
    return -1;
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
  std::string program = "iox-roudi";
  char* argv[] = {program.data(), nullptr};
  pid_t pid = -1;
  int rc = ::posix_spawnp(&pid, argv[0], &actions, nullptr, argv, environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    why_not = "iox-roudi not found (Debian: apt-get install iceoryx)";
    return -1;
  }
  // Gone if it exits.
  for (int i = 0; i < 500; ++i) {
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid) {
      why_not = "iox-roudi exited at once";
      return -1;
    }
    // Its shared memory, then the socket where processes register (iceoryx's fixed path).
    if (std::filesystem::exists("/dev/shm/iceoryx_mgmt") && std::filesystem::exists("/tmp/roudi"))
      return pid;
    std::this_thread::sleep_for(10ms);
  }
  ::kill(pid, SIGTERM);
  ::waitpid(pid, nullptr, 0);
  why_not = "iox-roudi did not come up within 5 s";
  return -1;
}

void stop_roudi(pid_t pid) {
  ::kill(pid, SIGTERM);
  while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
  }
}

// RouDi for the length of one run only: its threads would otherwise take CPU time from the
// other implementations' runs (on two vCPUs, enough to push brine's spinning receiver into its
// futex sleep: 64 B round trips of 50 us instead of 1 us).
struct roudi_for_run {
  pid_t pid;
  roudi_for_run() {
    std::string why;
    pid = start_roudi(why);
    if (pid < 0) throw std::runtime_error("iceoryx: " + why);
  }
  ~roudi_for_run() { stop_roudi(pid); }
  roudi_for_run(const roudi_for_run&) = delete;
  roudi_for_run& operator=(const roudi_for_run&) = delete;
};

// Runs `work` in a forked process that registers with RouDi first; throws if it fails.
void in_own_process(const std::function<void()>& work) {
  std::fflush(stdout);
  pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("iceoryx: fork failed");
  if (pid == 0) {
    int status = 0;
    try {
      iox::log::LogManager::GetLogManager().SetDefaultLogLevel(
          iox::log::LogLevel::kWarn, iox::log::LogLevelOutput::kHideLogLevel);
      std::string name = "brine-bench-" + std::to_string(::getpid());
      iox::runtime::PoshRuntime::initRuntime(
          iox::RuntimeName_t(iox::cxx::TruncateToCapacity, name.c_str(), name.size()));
      work();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "iceoryx side: %s\n", e.what());
      status = 1;
    }
    std::exit(status);  // not _exit: the runtime's destructor tells RouDi this process leaves
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    throw std::runtime_error("iceoryx: a side's process failed");
}

iox::capro::IdString_t id(const std::string& s) {
  return {iox::cxx::TruncateToCapacity, s.c_str(), s.size()};
}

iox::capro::ServiceDescription service(const run_context& ctx, const char* tag) {
  return {id("brine-bench"), id(ctx.name), id(tag)};
}

struct sender {
  iox::popo::UntypedPublisher pub;
  explicit sender(const iox::capro::ServiceDescription& s) : pub(s, options()) {}
  static iox::popo::PublisherOptions options() {
    iox::popo::PublisherOptions o;
    o.subscriberTooSlowPolicy = iox::popo::ConsumerTooSlowPolicy::WAIT_FOR_CONSUMER;
    return o;
  }
  void send(const payload& p) {
    // A subscriber queue may hold more chunks than RouDi's pool has of this size: then loan
    // fails until the receiver releases one, which is iceoryx's backpressure here.
    auto chunk = pub.loan(static_cast<std::uint32_t>(p.frame.size()));
    for (auto until = std::chrono::steady_clock::now() + 10s; chunk.has_error();) {
      if (std::chrono::steady_clock::now() > until)
        throw std::runtime_error("iceoryx: no chunk to loan for 10 s");
      std::this_thread::yield();
      chunk = pub.loan(static_cast<std::uint32_t>(p.frame.size()));
    }
    std::memcpy(chunk.value(), p.frame.data(), p.frame.size());
    pub.publish(chunk.value());
  }
  void wait_connected() {
    auto until = std::chrono::steady_clock::now() + 10s;
    while (!pub.hasSubscribers()) {
      if (std::chrono::steady_clock::now() > until)
        throw std::runtime_error("iceoryx: no subscriber");
      std::this_thread::sleep_for(1ms);
    }
  }
};

struct receiver {
  iox::popo::UntypedSubscriber sub;
  std::vector<std::byte> buf;
  receiver(const iox::capro::ServiceDescription& s, std::size_t size)
      : sub(s, options()), buf(size) {}
  static iox::popo::SubscriberOptions options() {
    iox::popo::SubscriberOptions o;
    o.queueFullPolicy = iox::popo::QueueFullPolicy::BLOCK_PRODUCER;
    return o;
  }
  void recv() {
    for (;;) {
      auto chunk = sub.take();
      if (!chunk.has_error()) {
        std::memcpy(buf.data(), chunk.value(), buf.size());
        sub.release(chunk.value());
        return;
      }
    }
  }
  void wait_connected() {
    auto until = std::chrono::steady_clock::now() + 10s;
    while (sub.getSubscriptionState() != iox::SubscribeState::SUBSCRIBED) {
      if (std::chrono::steady_clock::now() > until)
        throw std::runtime_error("iceoryx: not subscribed");
      std::this_thread::sleep_for(1ms);
    }
  }
  void check(const payload& p) const {
    if (std::memcmp(buf.data(), p.frame.data(), p.frame.size()) != 0)
      throw std::runtime_error("iceoryx: received bytes other than the ones sent");
  }
};

class iceoryx_impl final : public impl {
 public:
  iceoryx_impl()
      : impl("iceoryx",
             "iceoryx 2.0 untyped publish/subscribe, one pair each way, started RouDi; loan() "
             "a chunk,\ncopy the pre-serialized frame in, publish(); the receiver busy-polls "
             "take(), copies the\nframe out, release(). Publishers wait for a full queue.") {}

  std::size_t area_bytes(std::size_t) const override {
    return sizeof(handback) + max_samples * sizeof(double);
  }
  bool idles() const override { return false; }  // a busy-polling receiver never idles

  // The side that is timed starts RouDi, then meets the other, which registers only then.
  void echo(const run_context& ctx, const payload& p) override {
    ctx.meet();
    in_own_process([&] {
      sender out(service(ctx, "pong"));
      receiver in(service(ctx, "ping"), p.frame.size());
      out.wait_connected();
      in.wait_connected();
      ctx.meet();
      echo_until_told(ctx, [&] {
        in.recv();
        out.send(p);
      });
      in.check(p);
      ctx.meet();
    });
    ctx.meet();  // both sides' processes have left RouDi
  }

  std::vector<double> ping(const run_context& ctx, const payload& p, std::size_t warmup,
                           std::size_t count, std::chrono::nanoseconds limit) override {
    auto* back = reinterpret_cast<handback*>(ctx.area.data());
    roudi_for_run roudi;
    ctx.meet();
    in_own_process([&] {
      sender out(service(ctx, "ping"));
      receiver in(service(ctx, "pong"), p.frame.size());
      out.wait_connected();
      in.wait_connected();
      ctx.meet();
      std::vector<double> ns =
          time_round_trips(ctx, warmup, std::min(count, max_samples), limit, [&] {
            out.send(p);
            in.recv();
          });
      in.check(p);
      ctx.meet();
      back->samples = ns.size();
      std::memcpy(back->ns(), ns.data(), ns.size() * sizeof(double));
    });
    ctx.meet();  // both sides' processes have left RouDi
    return {back->ns(), back->ns() + back->samples};
  }

  void stream_send(const run_context& ctx, const payload& p) override {
    ctx.meet();
    in_own_process([&] {
      sender out(service(ctx, "stream"));
      out.wait_connected();
      ctx.meet();
      send_until_told(ctx, [&] { out.send(p); });
      ctx.meet();
    });
    ctx.meet();  // both sides' processes have left RouDi
  }

  stream_count stream_receive(const run_context& ctx, const payload& p,
                              std::chrono::nanoseconds limit) override {
    auto* back = reinterpret_cast<handback*>(ctx.area.data());
    roudi_for_run roudi;
    ctx.meet();
    in_own_process([&] {
      receiver in(service(ctx, "stream"), p.frame.size());
      in.wait_connected();
      ctx.meet();
      back->stream = receive_for(ctx, p.frame.size(), limit, [&] { in.recv(); });
      in.check(p);
      ctx.meet();
    });
    ctx.meet();  // both sides' processes have left RouDi
    return back->stream;
  }
};

}  // namespace

std::unique_ptr<impl> make_iceoryx_impl(std::string& why_not) {
  // A trial start: whether RouDi can run here at all.
  pid_t pid = start_roudi(why_not);
  if (pid < 0) return nullptr;
  stop_roudi(pid);
  return std::make_unique<iceoryx_impl>();
}

}  // namespace brine::bench
