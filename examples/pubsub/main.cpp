// pubsub: a publisher of market ticks and two subscribers in their own processes, one of them
// too slow to keep up.
//
//   pubsub            publishes 50,000 ticks, starting both subscribers first; the fast one
//                     must get every tick, the slow one misses some of its two symbols
//   pubsub --block    the publisher waits for the slow subscriber instead of dropping its ticks
//   pubsub --shm      as the first, over shared memory (shm://) instead of a Unix socket

#include <brine/brine.hpp>

#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <map>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

using namespace std::chrono_literals;

struct tick {
  std::string symbol;
  std::uint64_t seq = 0;  // per symbol, from 1: a gap is a missed tick
  double bid = 0;
  double ask = 0;
  std::uint32_t volume = 0;
  std::int64_t time_ns = 0;
};

namespace {

const std::vector<std::string> symbols{"AAPL", "MSFT", "NVDA", "AMZN", "GOOG"};

// A subscriber: "fast" takes every symbol, "slow" takes two and spends 200 us on each tick.
// `per_symbol` ticks of each symbol are published.
int subscribe(const std::string& kind, const std::string& url, std::uint64_t per_symbol) {
  brine::channel_options opts;
  if (kind == "slow") {
    opts.topics = {"AAPL", "MSFT"};  // topic prefixes
  } else {
    // A queue deep enough for the whole run: this subscriber never drops, however busy the
    // machine is while it reads.
    opts.high_water_mark = 100'000;
  }
  auto rx = brine::subscribe<tick>(url, opts);

  std::map<std::string, std::uint64_t> received, last_seq;
  std::map<std::string, double> notional, volume;
  for (const tick& t : rx) {  // ends when the publisher closes
    if (kind == "slow") std::this_thread::sleep_for(200us);
    ++received[t.symbol];
    last_seq[t.symbol] = t.seq;
    notional[t.symbol] += (t.bid + t.ask) / 2 * t.volume;
    volume[t.symbol] += t.volume;
  }
  for (const auto& [symbol, n] : received)
    std::printf("  %-4s subscriber  %s: %6llu ticks, %6llu missed, last #%-6llu VWAP %.2f\n",
                kind.c_str(), symbol.c_str(), static_cast<unsigned long long>(n),
                static_cast<unsigned long long>(per_symbol - n),
                static_cast<unsigned long long>(last_seq[symbol]),
                notional[symbol] / volume[symbol]);
  std::fflush(stdout);
  // The fast subscriber should get every tick of every symbol (exit 2 if it missed some: in drop
  // mode a machine busy enough to starve it makes it miss ticks too); the slow one some of each.
  std::uint64_t total = 0;
  for (const auto& [symbol, n] : received)
    total += n;
  if (kind == "fast")
    return received.size() != symbols.size() ? 1 : total != per_symbol * symbols.size() ? 2 : 0;
  return received.size() != 2;
}

pid_t start_subscriber(const std::string& kind, const std::string& url, std::uint64_t per_symbol) {
  std::string self = "/proc/self/exe", flag = "--subscriber", k = kind, u = url,
              n = std::to_string(per_symbol);
  char* argv[] = {self.data(), flag.data(), k.data(), u.data(), n.data(), nullptr};
  pid_t pid = -1;
  if (::posix_spawn(&pid, argv[0], nullptr, nullptr, argv, environ) != 0) return -1;
  return pid;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 5 && std::string(argv[1]) == "--subscriber")
    return subscribe(argv[2], argv[3], std::stoull(argv[4]));
  const std::string mode = argc > 1 ? argv[1] : "";
  const bool block = mode == "--block";
  const std::uint64_t count = block ? 20'000 : 50'000;  // a multiple of the symbols

  brine::channel_options opts;
  std::string url = "ipc:///tmp/brine-ticks-" + std::to_string(::getpid()) + ".sock";
  if (mode == "--shm") {
    url = "shm://brine-ticks-" + std::to_string(::getpid());
    // The publisher makes the segment, so its options size the queues: one publisher, two
    // subscribers, 16384 ticks of slack each (memory is used only by the ticks in flight).
    opts.shm_senders = 1;
    opts.shm_receivers = 2;
    opts.high_water_mark = 16'384;
  }
  // Market data: a subscriber that falls behind misses ticks instead of holding everyone back.
  if (!block) opts.on_slow_subscriber = brine::slow_subscriber::drop;
  auto pub = brine::publish<tick>(url, opts);  // binds

  const std::uint64_t per_symbol = count / symbols.size();
  pid_t fast = start_subscriber("fast", url, per_symbol);
  pid_t slow = start_subscriber("slow", url, per_symbol);
  // Ticks sent before a subscriber has joined are not for it: wait for both.
  if (fast < 0 || slow < 0 || !pub.wait_peers(2, 10s)) {
    std::fprintf(stderr, "pubsub: the subscribers did not join\n");
    return 1;
  }

  std::printf("publishing %llu ticks of %zu symbols; slow subscriber: %s\n",
              static_cast<unsigned long long>(count), symbols.size(),
              block ? "the publisher waits for it" : "drops what it cannot take");
  std::map<std::string, std::uint64_t> seq;
  auto t0 = std::chrono::steady_clock::now();
  std::uint32_t noise = 12345;
  for (std::uint64_t i = 0; i < count; ++i) {
    const std::string& s = symbols[i % symbols.size()];
    noise = noise * 1664525u + 1013904223u;
    double mid = 100.0 * static_cast<double>(1 + i % symbols.size()) + (noise >> 24) / 64.0;
    tick t{s,
           ++seq[s],
           mid - 0.01,
           mid + 0.01,
           100 + (noise >> 20) % 900,
           std::chrono::steady_clock::now().time_since_epoch().count()};
    pub.send(s, t);                                       // the topic is the symbol
    if (i % 100 == 99) std::this_thread::sleep_for(1ms);  // bursts, as markets come
  }
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::uint64_t dropped = pub.dropped();  // counted over shm:// only
  pub.close();                            // end of stream for both subscribers
  std::printf("  published in %.2f s (%.0f ticks/s)\n", seconds,
              static_cast<double>(count) / seconds);
  if (mode == "--shm")
    std::printf("  skipped for a full subscriber: %llu ticks\n",
                static_cast<unsigned long long>(dropped));
  std::fflush(stdout);

  int ok = 0;
  for (pid_t pid : {fast, slow}) {
    int status = 0;
    ::waitpid(pid, &status, 0);
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    if (code == 2 && !block) {
      std::printf(
          "  (the fast subscriber missed ticks too: with drop, a subscriber the machine "
          "is too busy to run misses them)\n");
      code = 0;
    }
    ok += code == 0;
  }
  return ok == 2 ? 0 : 1;
}
