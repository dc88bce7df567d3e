// brine-bench-shm: brine's shm:// channels, in copy and loan mode, against the floor (two
// processes spinning on shared cache lines), Boost.Interprocess message_queue, raw cppzmq over
// ipc:// and iceoryx (when built with it), on one machine in one run: round-trip latency of a
// ping-pong (median, p99), one-way throughput, and what an idle receiver costs. Runs of the
// implementations alternate, so that drift in machine load falls on all of them; each figure is a
// median over several runs.

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/cli.hpp"
#include "common/harness.hpp"
#include "impls.hpp"
#include "pair.hpp"

namespace brine::bench {
namespace {

struct message_size {
  std::string_view name;
  std::size_t frame;
  bool extra;  // run only when named with --case
};

// The four sizes, and the largest frame that fits one 4 KiB ring slot (4096 bytes less
// the slot's 16-byte header): 4 KiB messages already take two slots.
constexpr message_size sizes[] = {{"64B", 64, false},
                                  {"4KiB", 4096, false},
                                  {"64KiB", 64 * 1024, false},
                                  {"1MiB", 1024 * 1024, false},
                                  {"4080B", 4080, true}};
constexpr std::string_view idle_case = "idle";

// The targets.
constexpr double floor_target = 3.0;        // brine 64 B round trip over the floor's, at most
constexpr double busy_floor_target = 2.0;   // the same with busy polling
constexpr double others_target = 10.0;      // message_queue's and zmq's round trip over brine's
constexpr double throughput_target = 10e6;  // brine 64 B msg/s, at least
constexpr double loan_size_target = 2.0;    // loaned 1 MiB round trip over loaned 64 B, at most

constexpr unsigned run_limit_seconds = 60;

// How much each measurement does; full or --quick.
struct plan {
  std::size_t latency_runs;
  double latency_seconds;  // per implementation and size, all runs together
  std::size_t min_round_trips;
  std::size_t max_round_trips;
  std::size_t throughput_runs;
  double throughput_seconds;  // per run
  double idle_seconds;

  static plan make(bool quick) {
    if (quick) return {1, 0.02, 20, 500, 1, 0.01, 0.2};
    return {7, 1.4, 200, 280'000, 7, 0.3, 2.0};
  }

  // A latency run stops at twice its share of the time: when the machine gets busy mid-way,
  // round trips of spinning peers can take a scheduler time slice each.
  std::chrono::nanoseconds latency_limit() const {
    return seconds(2 * latency_seconds / static_cast<double>(latency_runs));
  }

  static std::chrono::nanoseconds seconds(double s) {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::duration<double>(s));
  }
};

double median_of(std::vector<double> v) { return v.empty() ? 0 : summarize(v).median_ns; }

std::string fixed(double v, int digits) {
  char text[32];
  std::snprintf(text, sizeof text, "%.*f", digits, v);
  return text;
}

// 12.3M, 456k, 789.
std::string si(double v) {
  char text[32];
  if (v >= 1e6) {
    std::snprintf(text, sizeof text, "%.2fM", v / 1e6);
  } else if (v >= 1e3) {
    std::snprintf(text, sizeof text, "%.1fk", v / 1e3);
  } else {
    std::snprintf(text, sizeof text, "%.0f", v);
  }
  return text;
}

std::string load_average() {
  std::ifstream f("/proc/loadavg");
  std::string a, b, c;
  if (!(f >> a >> b >> c)) return "unknown";
  return a + " " + b + " " + c;
}

// CPU time the whole machine spent busy (and stolen by the hypervisor), from /proc/stat, and what
// this process and its waited-for children used: the difference is other processes' load.
struct cpu_snapshot {
  double busy_s = 0;
  double steal_s = 0;
  double ours_s = 0;
  bench_clock::time_point at;

  static cpu_snapshot take() {
    cpu_snapshot c;
    c.at = bench_clock::now();
    std::ifstream f("/proc/stat");
    std::string cpu;
    unsigned long long v[8] = {};  // user nice system idle iowait irq softirq steal
    if (f >> cpu && cpu == "cpu") {
      for (auto& x : v)
        f >> x;
    }
    double tick = 1.0 / static_cast<double>(::sysconf(_SC_CLK_TCK));
    c.busy_s = static_cast<double>(v[0] + v[1] + v[2] + v[5] + v[6]) * tick;
    c.steal_s = static_cast<double>(v[7]) * tick;
    rusage self{};
    rusage children{};
    ::getrusage(RUSAGE_SELF, &self);
    ::getrusage(RUSAGE_CHILDREN, &children);
    auto s = [](const timeval& t) {
      return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) * 1e-6;
    };
    c.ours_s = s(self.ru_utime) + s(self.ru_stime) + s(children.ru_utime) + s(children.ru_stime);
    return c;
  }
};

// Shares of all CPUs over the interval that went to other processes and to the hypervisor.
struct machine_load {
  double others = 0;
  double stolen = 0;
};

machine_load load_between(const cpu_snapshot& a, const cpu_snapshot& b) {
  double wall = std::chrono::duration<double>(b.at - a.at).count();
  double cpus = static_cast<double>(std::max(1L, ::sysconf(_SC_NPROCESSORS_ONLN)));
  if (wall <= 0) return {};
  return {std::max(0.0, (b.busy_s - a.busy_s) - (b.ours_s - a.ours_s)) / (wall * cpus),
          (b.steal_s - a.steal_s) / (wall * cpus)};
}

// Above this share of the machine taken by others, spinning peers often wait for a CPU.
constexpr double busy_machine = 0.15;

// Objects each implementation left in /dev/shm or the temporary directory, removed after its runs.
std::map<std::string, std::size_t> leftovers;

void sweep(const impl& i, const std::string& name) {
  leftovers[i.name()] += remove_objects_of(name);
}

// ---- one run: a fresh pair of processes ----

std::vector<double> latency_run(impl& i, const payload& p, std::size_t warmup, std::size_t count,
                                std::chrono::nanoseconds limit) {
  std::string name = fresh_run_name();
  shared_area area(i.area_bytes(p.frame.size()));
  std::vector<double> ns;
  run_pair(
      name, area.bytes(), [&](const run_context& ctx) { i.echo(ctx, p); },
      [&](const run_context& ctx) { ns = i.ping(ctx, p, warmup, count, limit); },
      run_limit_seconds);
  sweep(i, name);
  return ns;
}

stream_count throughput_run(impl& i, const payload& p, std::chrono::nanoseconds limit) {
  std::string name = fresh_run_name();
  shared_area area(i.area_bytes(p.frame.size()));
  stream_count c;
  run_pair(
      name, area.bytes(), [&](const run_context& ctx) { i.stream_send(ctx, p); },
      [&](const run_context& ctx) { c = i.stream_receive(ctx, p, limit); }, run_limit_seconds);
  sweep(i, name);
  return c;
}

idle_result idle_run(impl& i, const payload& p, std::chrono::nanoseconds idle) {
  std::string name = fresh_run_name();
  shared_area area(i.area_bytes(p.frame.size()));
  idle_result r;
  run_pair(
      name, area.bytes(), [&](const run_context& ctx) { i.idle_send(ctx, p, idle); },
      [&](const run_context& ctx) { r = i.idle_receive(ctx, p); }, run_limit_seconds);
  sweep(i, name);
  return r;
}

// ---- measurements over several runs, implementations alternating ----

struct latency_result {
  std::size_t round_trips = 0;  // all runs
  timing pooled;
  double run_median_low = 0;
  double run_median_high = 0;
};

std::vector<latency_result> measure_latency(const std::vector<impl*>& impls, const payload& p,
                                            const plan& pl) {
  std::size_t n = impls.size();
  // Calibrate each implementation's round trips on a short run (also a warm-up).
  std::vector<std::size_t> per_run(n);
  for (std::size_t k = 0; k < n; ++k) {
    double rtt_s =
        median_of(latency_run(*impls[k], p, 10, pl.min_round_trips, pl.latency_limit())) * 1e-9;
    auto wanted = static_cast<std::size_t>(pl.latency_seconds / std::max(rtt_s, 1e-8));
    per_run[k] = std::max<std::size_t>(
        std::clamp(wanted, pl.min_round_trips, pl.max_round_trips) / pl.latency_runs, 10);
  }
  std::vector<std::vector<double>> pooled(n);
  std::vector<std::vector<double>> run_medians(n);
  for (std::size_t run = 0; run < pl.latency_runs; ++run) {
    for (std::size_t j = 0; j < n; ++j) {
      std::size_t k = (run + j) % n;  // each run starts with another implementation
      std::size_t warmup = std::clamp<std::size_t>(per_run[k] / 20, 10, 1000);
      std::vector<double> ns = latency_run(*impls[k], p, warmup, per_run[k], pl.latency_limit());
      run_medians[k].push_back(median_of(ns));
      pooled[k].insert(pooled[k].end(), ns.begin(), ns.end());
    }
  }
  std::vector<latency_result> out(n);
  for (std::size_t k = 0; k < n; ++k) {
    out[k].round_trips = pooled[k].size();
    out[k].pooled = summarize(pooled[k]);
    out[k].run_median_low = *std::min_element(run_medians[k].begin(), run_medians[k].end());
    out[k].run_median_high = *std::max_element(run_medians[k].begin(), run_medians[k].end());
  }
  return out;
}

struct throughput_result {
  double messages = 0;  // median per run
  double rate = 0;      // median msg/s
  double low = 0;
  double high = 0;
};

std::vector<throughput_result> measure_throughput(const std::vector<impl*>& impls, const payload& p,
                                                  const plan& pl) {
  std::size_t n = impls.size();
  std::vector<std::vector<double>> rates(n);
  std::vector<std::vector<double>> counts(n);
  for (std::size_t run = 0; run < pl.throughput_runs; ++run) {
    for (std::size_t j = 0; j < n; ++j) {
      std::size_t k = (run + j) % n;  // each run starts with another implementation
      stream_count c = throughput_run(*impls[k], p, plan::seconds(pl.throughput_seconds));
      double s = std::chrono::duration<double>(c.elapsed).count();
      rates[k].push_back(s > 0 ? static_cast<double>(c.messages) / s : 0);
      counts[k].push_back(static_cast<double>(c.messages));
    }
  }
  std::vector<throughput_result> out(n);
  for (std::size_t k = 0; k < n; ++k) {
    out[k].messages = median_of(counts[k]);
    out[k].rate = median_of(rates[k]);
    out[k].low = *std::min_element(rates[k].begin(), rates[k].end());
    out[k].high = *std::max_element(rates[k].begin(), rates[k].end());
  }
  return out;
}

// ---- the report ----

// What one message size measured.
struct size_results {
  const message_size* size;
  payload message;
  std::map<std::string, latency_result> latency;
  std::map<std::string, throughput_result> throughput;
};

double median_rtt(const size_results& r, const std::string& impl_name) {
  auto it = r.latency.find(impl_name);
  return it == r.latency.end() ? 0 : it->second.pooled.median_ns;
}

// The implementations, and which of them take part in each measurement.
struct contenders {
  std::vector<std::unique_ptr<impl>> owned;
  std::vector<impl*> all;
  std::vector<impl*> streamers;
  std::vector<impl*> idlers;
  std::string iceoryx_missing;  // why iceoryx is not among them, if it is not

  contenders() {
    owned.push_back(make_floor_impl(false));
    owned.push_back(make_floor_impl(true));
    owned.push_back(make_brine_impl(false));
    owned.push_back(make_brine_impl(true));
    owned.push_back(make_brine_loan_impl(false));
    owned.push_back(make_brine_loan_impl(true));
    owned.push_back(make_mq_impl());
    owned.push_back(make_zmq_impl());
#ifdef BRINE_BENCH_ICEORYX
    if (auto i = make_iceoryx_impl(iceoryx_missing)) owned.push_back(std::move(i));
#else
    iceoryx_missing = "not built (Debian: libiceoryx-posh-dev, then reconfigure)";
#endif
    for (auto& i : owned) {
      all.push_back(i.get());
      if (i->streams()) streamers.push_back(i.get());
      if (i->idles()) idlers.push_back(i.get());
    }
  }
};

void print_preamble(const config& cfg, const plan& pl, const contenders& c, json_report& report) {
  timing clock_read = measure([] { return bench_clock::now(); });
  report.add("machine", "-", "clock_read_ns", std::round(clock_read.median_ns * 10) / 10, "ns");
  std::printf("brine-bench-shm %s\n%s\n%s\nload average at start: %s\n",
              cfg.quick ? "(quick: numbers mean little)" : "", report.date().c_str(),
              report.machine().c_str(), load_average().c_str());
  std::printf(
      "Two processes per run, forked before either opens anything; size is the whole message "
      "(for brine,\nthe frame of a std::vector<std::byte>).\n");
  for (impl* i : c.all) {
    std::printf("  %-15s ", i->name().c_str());
    for (char ch : i->how()) {
      std::putchar(ch);
      if (ch == '\n') std::printf("  %-15s ", "");
    }
    std::putchar('\n');
  }
  std::printf(
      "Latency: ping-pong, the pinger sends, the echoer answers each message with one of the "
      "same size;\n"
      "round trips pooled over %zu runs per implementation (median, p99; 'runs' is the range of "
      "the\n"
      "per-run medians). Each round trip includes one clock read (%.0f ns here).\n"
      "Throughput: one way, msg/s at the receiver over %.2f s from its first message, median of "
      "%zu runs.\n"
      "Idle: a receiver blocked in one recv for %.1f s while its sender (joined) sends nothing; "
      "CPU is\n"
      "user+system time of the receiving process; wake is the one-way time of the message that "
      "ends it.\n\n",
      pl.latency_runs, clock_read.median_ns, pl.throughput_seconds, pl.throughput_runs,
      pl.idle_seconds);
}

void latency_section(std::vector<size_results>& results, const contenders& c, const plan& pl,
                     json_report& report) {
  std::printf("Round-trip latency (us)\n%-6s %-15s %8s %9s %9s %17s %8s %8s\n", "size", "impl",
              "trips", "median", "p99", "runs", "/floor", "/brine");
  auto us = [](double ns) { return std::round(ns / 10) / 100; };
  for (size_results& r : results) {
    std::vector<latency_result> got = measure_latency(c.all, r.message, pl);
    for (std::size_t k = 0; k < c.all.size(); ++k)
      r.latency[c.all[k]->name()] = got[k];
    double floor_ns = median_rtt(r, "floor");
    double brine_ns = median_rtt(r, "brine");
    std::string name(r.size->name);
    for (std::size_t k = 0; k < c.all.size(); ++k) {
      const std::string& who = c.all[k]->name();
      const latency_result& l = got[k];
      double med = l.pooled.median_ns;
      std::printf(
          "%-6s %-15s %8zu %9.2f %9.2f %17s %8s %8s\n", name.c_str(), who.c_str(), l.round_trips,
          med / 1e3, l.pooled.p99_ns / 1e3,
          (fixed(l.run_median_low / 1e3, 2) + "-" + fixed(l.run_median_high / 1e3, 2)).c_str(),
          floor_ns > 0 ? fixed(med / floor_ns, 1).c_str() : "-",
          brine_ns > 0 ? fixed(med / brine_ns, 2).c_str() : "-");
      report.add(name, who, "rtt_median_us", us(med), "us");
      report.add(name, who, "rtt_p99_us", us(l.pooled.p99_ns), "us");
      report.add(name, who, "rtt_run_median_min_us", us(l.run_median_low), "us");
      report.add(name, who, "rtt_run_median_max_us", us(l.run_median_high), "us");
      report.add(name, who, "round_trips", static_cast<double>(l.round_trips), "round trips");
    }
    std::fflush(stdout);
  }
}

void throughput_section(std::vector<size_results>& results, const contenders& c, const plan& pl,
                        json_report& report) {
  std::printf("\nThroughput, one way (msg/s)\n%-6s %-15s %9s %9s %17s %9s %8s\n", "size", "impl",
              "msgs/run", "msg/s", "runs", "MB/s", "/brine");
  for (size_results& r : results) {
    std::vector<throughput_result> got = measure_throughput(c.streamers, r.message, pl);
    for (std::size_t k = 0; k < c.streamers.size(); ++k)
      r.throughput[c.streamers[k]->name()] = got[k];
    auto brine = r.throughput.find("brine");
    double brine_rate = brine == r.throughput.end() ? 0 : brine->second.rate;
    std::string name(r.size->name);
    for (std::size_t k = 0; k < c.streamers.size(); ++k) {
      const std::string& who = c.streamers[k]->name();
      const throughput_result& t = got[k];
      double mb = t.rate * static_cast<double>(r.size->frame) / 1e6;
      std::printf("%-6s %-15s %9.0f %9s %17s %9.1f %8s\n", name.c_str(), who.c_str(), t.messages,
                  si(t.rate).c_str(), (si(t.low) + "-" + si(t.high)).c_str(), mb,
                  brine_rate > 0 ? fixed(t.rate / brine_rate, 2).c_str() : "-");
      report.add(name, who, "msgs_per_s", std::round(t.rate), "msg/s");
      report.add(name, who, "msgs_per_s_run_min", std::round(t.low), "msg/s");
      report.add(name, who, "msgs_per_s_run_max", std::round(t.high), "msg/s");
      report.add(name, who, "MB_per_s", std::round(mb * 10) / 10, "MB/s");
      report.add(name, who, "messages_per_run", t.messages, "msg");
    }
    std::fflush(stdout);
  }
}

void idle_section(const contenders& c, const plan& pl, json_report& report) {
  payload p = make_payload(64);
  std::string name(idle_case);
  std::printf("\nIdle receiver (64 B message ends the wait)\n%-15s %8s %9s %8s %10s\n", "impl",
              "wall s", "CPU ms", "CPU %", "wake us");
  for (impl* i : c.idlers) {
    idle_result r = idle_run(*i, p, plan::seconds(pl.idle_seconds));
    double percent = r.wall_s > 0 ? r.cpu_s / r.wall_s * 100 : 0;
    std::printf("%-15s %8.2f %9.2f %8.2f %10.1f\n", i->name().c_str(), r.wall_s, r.cpu_s * 1e3,
                percent, r.wake_ns / 1e3);
    report.add(name, i->name(), "idle_wall_s", std::round(r.wall_s * 1000) / 1000, "s");
    report.add(name, i->name(), "idle_cpu_ms", std::round(r.cpu_s * 1e5) / 100, "ms");
    report.add(name, i->name(), "idle_cpu_percent", std::round(percent * 100) / 100, "%");
    report.add(name, i->name(), "wake_us", std::round(r.wake_ns / 100) / 10, "us");
    std::fflush(stdout);
  }
}

const char* verdict(bool met) { return met ? "ok" : "MISSED"; }

// One line of the targets: what is compared, this run's figure, the target, whether it was met.
void print_target(const std::string& what, const std::string& figure, const std::string& target,
                  bool met) {
  std::printf("  %-56s %14s  target %-9s  %s\n", what.c_str(), figure.c_str(), target.c_str(),
              verdict(met));
}

std::string times(double x, int digits) { return fixed(x, digits) + "x"; }

double hundredths(double x) { return std::round(x * 100) / 100; }

// The targets, from this run's figures.
void targets_section(const std::vector<size_results>& results, const contenders& c,
                     json_report& report) {
  std::printf("\nTargets (the issue's; this run)\n");
  auto of_size = [&](std::size_t frame) -> const size_results* {
    auto it = std::find_if(results.begin(), results.end(),
                           [&](const size_results& r) { return r.size->frame == frame; });
    return it == results.end() ? nullptr : &*it;
  };
  const size_results* small = of_size(64);
  if (small == nullptr) {
    std::printf("  (not evaluated: they are about 64 B messages, a case this run left out)\n");
  } else {
    double b = median_rtt(*small, "brine");
    double f = median_rtt(*small, "floor");
    double m = median_rtt(*small, "boost-mq");
    double z = median_rtt(*small, "cppzmq");
    auto t = small->throughput.find("brine");
    double rate = t == small->throughput.end() ? 0 : t->second.rate;
    print_target("64 B round trip, brine / floor (one cache line)", times(b / f, 1),
                 "<= " + fixed(floor_target, 0) + "x", b / f <= floor_target);
    print_target("64 B round trip, boost-mq / brine", times(m / b, 2),
                 ">= " + fixed(others_target, 0) + "x", m / b >= others_target);
    print_target("64 B round trip, cppzmq ipc / brine", times(z / b, 2),
                 ">= " + fixed(others_target, 0) + "x", z / b >= others_target);
    print_target("64 B throughput, brine", si(rate) + " msg/s", ">= " + si(throughput_target),
                 rate >= throughput_target);
    report.add("targets", "brine", "rtt_64B_over_floor", hundredths(b / f), "x");
    double busy = median_rtt(*small, "brine-busy");
    if (busy > 0) {
      print_target("64 B round trip, brine-busy / floor", times(busy / f, 1),
                   "<= " + fixed(busy_floor_target, 0) + "x", busy / f <= busy_floor_target);
      report.add("targets", "brine-busy", "rtt_64B_over_floor", hundredths(busy / f), "x");
    }
    report.add("targets", "boost-mq", "rtt_64B_over_brine", hundredths(m / b), "x");
    report.add("targets", "cppzmq", "rtt_64B_over_brine", hundredths(z / b), "x");
    report.add("targets", "brine", "msgs_per_s_64B", std::round(rate), "msg/s");
  }
  const size_results* large = of_size(1 << 20);
  if (small == nullptr || large == nullptr) {
    std::printf("  (loaned 1 MiB against 64 B not evaluated: this run left out one of them)\n");
  } else {
    for (const char* mine : {"brine-loan", "brine-loan-busy"}) {
      double s = median_rtt(*small, mine);
      double l = median_rtt(*large, mine);
      if (s <= 0 || l <= 0) continue;
      print_target("loaned 1 MiB / loaned 64 B round trip, " + std::string(mine), times(l / s, 2),
                   "<= " + fixed(loan_size_target, 0) + "x", l / s <= loan_size_target);
      report.add("targets", mine, "rtt_1MiB_over_64B", hundredths(l / s), "x");
    }
  }
  for (const size_results& r : results) {
    double x = median_rtt(r, "iceoryx");
    for (const char* mine : {"brine", "brine-busy", "brine-loan", "brine-loan-busy"}) {
      double b = median_rtt(r, mine);
      if (b <= 0 || x <= 0) continue;
      std::string size(r.size->name);
      print_target(size + " round trip, iceoryx busy-poll / " + mine, times(x / b, 2), "> 1x",
                   x / b > 1);
      report.add("targets", "iceoryx", "rtt_" + size + "_over_" + std::string(mine),
                 hundredths(x / b), "x");
    }
  }
  if (!c.iceoryx_missing.empty())
    std::printf("  Not measured: iceoryx (%s).\n", c.iceoryx_missing.c_str());
}

void run(const config& cfg) {
  plan pl = plan::make(cfg.quick);
  auto start = bench_clock::now();
  cpu_snapshot cpu_start = cpu_snapshot::take();
  json_report report("shm");
  contenders c;
  print_preamble(cfg, pl, c, report);

  std::vector<size_results> results;
  for (const message_size& s : sizes) {
    bool named = std::find(cfg.cases.begin(), cfg.cases.end(), s.name) != cfg.cases.end();
    if (s.extra ? named : cfg.wants(std::string(s.name)))
      results.push_back({&s, make_payload(s.frame), {}, {}});
  }
  latency_section(results, c, pl, report);
  throughput_section(results, c, pl, report);
  if (cfg.wants(std::string(idle_case))) idle_section(c, pl, report);
  targets_section(results, c, report);

  std::printf("\nObjects left in /dev/shm or %s after runs (removed):",
              std::filesystem::temp_directory_path().c_str());
  for (impl* i : c.all) {
    std::size_t n = leftovers[i->name()];
    std::printf(" %s %zu%s", i->name().c_str(), n, i == c.all.back() ? "\n" : ",");
    report.add("leftovers", i->name(), "objects_removed", static_cast<double>(n), "objects");
  }
  for (impl* i : c.all) {
    if (std::string n = i->notes(); !n.empty())
      std::printf("%s: %s\n", i->name().c_str(), n.c_str());
  }
  double elapsed = std::chrono::duration<double>(bench_clock::now() - start).count();
  machine_load load = load_between(cpu_start, cpu_snapshot::take());
  std::printf(
      "load average at end: %s; %.0f s; during the run other processes took %.0f%% of the "
      "machine's CPU time, the hypervisor %.0f%%\n",
      load_average().c_str(), elapsed, load.others * 100, load.stolen * 100);
  if (load.others > busy_machine)
    std::printf(
        "WARNING: the machine was busy; spinning peers (floor, brine) then wait for a CPU, often "
        "for a\nwhole scheduler time slice. Compare these figures only with runs as busy.\n");
  report.add("machine", "-", "other_processes_cpu_share", std::round(load.others * 1000) / 10, "%");
  report.add("machine", "-", "steal_cpu_share", std::round(load.stolen * 1000) / 10, "%");

  if (!cfg.json.empty()) {
    report.write(cfg.json);
    std::printf("wrote %s\n", cfg.json.c_str());
  }
}

std::vector<std::string> case_names() {
  std::vector<std::string> out;
  for (const message_size& s : sizes)
    out.emplace_back(s.name);
  out.emplace_back(idle_case);
  return out;
}

}  // namespace
}  // namespace brine::bench

int main(int argc, char** argv) {
  using namespace brine::bench;
  config cfg;
  if (int rc =
          parse_command_line(argc, argv,
                             "round trips, throughput and idle cost of brine's shm:// "
                             "channels against the floor, Boost message_queue, cppzmq and iceoryx",
                             "case", case_names(), cfg);
      rc >= 0)
    return rc;
  int status = 0;
  try {
    run(cfg);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "brine-bench-shm: %s\n", e.what());
    status = EXIT_FAILURE;
  }
  // Whatever a failed run left behind.
  remove_objects_of(process_run_prefix());
  return status;
}
