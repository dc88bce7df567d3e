// brine-bench-channels: brine's typed push/pull channels against raw cppzmq PUSH/PULL sockets
// sending the same bytes, over ipc:// between two processes: throughput at four message sizes,
// and the round-trip latency of a ping-pong (median, p99). Runs of the two alternate, so that
// drift in machine load falls on both.

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/cli.hpp"
#include "common/harness.hpp"
#include "peers.hpp"
#include "process.hpp"

namespace brine::bench {
namespace {

struct message_size {
  std::string_view name;
  std::size_t frame;
};

constexpr message_size sizes[] = {
    {"64B", 64}, {"1KiB", 1024}, {"64KiB", 64 * 1024}, {"1MiB", 1024 * 1024}};

// The targets: the typed layer should be nearly free.
constexpr double throughput_target = 0.95;  // brine msg/s over raw, at least
constexpr double latency_target = 1.05;     // brine median round trip over raw, at most

constexpr unsigned run_limit_seconds = 60;

// How much each measurement does; full or --quick.
struct plan {
  std::size_t throughput_runs;
  double throughput_seconds;  // per run
  std::size_t calibration_bytes;
  std::size_t min_messages;
  std::size_t latency_runs;
  double latency_seconds;  // per implementation, all runs together
  std::size_t min_round_trips;
  std::size_t max_round_trips;

  static plan make(bool quick) {
    if (quick) return {1, 0.02, 1 << 20, 50, 1, 0.02, 20, 200};
    return {9, 0.35, 16 << 20, 200, 5, 1.5, 200, 60'000};
  }
};

[[noreturn]] void fail(const std::string& what) {
  std::fprintf(stderr, "brine-bench-channels: %s\n", what.c_str());
  std::exit(EXIT_FAILURE);
}

double median_of(std::vector<double> v) {
  if (v.empty()) return 0;
  return summarize(v).median_ns;
}

std::string fixed(double v, int digits) {
  char text[32];
  std::snprintf(text, sizeof text, "%.*f", digits, v);
  return text;
}

// Messages per second at the receiver, first message to last, over one fresh pair of processes.
double throughput_run(peer& impl, const payload& p, std::size_t count) {
  std::string url = fresh_ipc_url("stream");
  std::chrono::nanoseconds elapsed{};
  run_pair([&](const rendezvous_fn& meet) { impl.stream_send(p, url, count, meet); },
           [&](const rendezvous_fn& meet) { elapsed = impl.stream_receive(p, url, count, meet); },
           run_limit_seconds);
  remove_ipc_url(url);
  double seconds = std::chrono::duration<double>(elapsed).count();
  return seconds > 0 ? static_cast<double>(count - 1) / seconds : 0;
}

// Round-trip times (ns) of one fresh pair of processes.
std::vector<double> latency_run(peer& impl, const payload& p, std::size_t warmup,
                                std::size_t count) {
  std::string ping_url = fresh_ipc_url("ping");
  std::string pong_url = fresh_ipc_url("pong");
  std::vector<double> ns;
  run_pair(
      [&](const rendezvous_fn& meet) { impl.echo(p, ping_url, pong_url, warmup + count, meet); },
      [&](const rendezvous_fn& meet) {
        ns = impl.ping(p, pong_url, ping_url, warmup, count, meet);
      },
      run_limit_seconds);
  remove_ipc_url(ping_url);
  remove_ipc_url(pong_url);
  return ns;
}

// Figures of each implementation; the first one measured is raw cppzmq, the reference.
struct throughput_result {
  std::size_t messages = 0;  // per run
  std::vector<double> rate;  // median msg/s of each implementation
  // Each one's msg/s over raw's in the same round of runs: lowest, median, highest.
  std::vector<double> pair_low, pair_median, pair_high;
};

// Runs each of `impls` in turn, round after round, starting each round one further along, so
// that none always goes first and drift in machine load falls on all.
throughput_result measure_throughput(const std::vector<peer*>& impls, const payload& p,
                                     const plan& pl) {
  std::size_t n = impls.size();
  std::size_t frame = p.frame.size();
  // Calibrate the message count on a short run of each (also a warm-up).
  std::size_t probe = std::clamp<std::size_t>(pl.calibration_bytes / frame, 20, 20'000);
  double probe_rate = throughput_run(*impls[0], p, probe);
  for (std::size_t i = 1; i < n; ++i)
    throughput_run(*impls[i], p, probe);

  throughput_result r;
  r.messages = std::clamp<std::size_t>(static_cast<std::size_t>(probe_rate * pl.throughput_seconds),
                                       pl.min_messages, 5'000'000);
  std::vector<std::vector<double>> rates(n);
  std::vector<std::vector<double>> ratios(n);
  for (std::size_t run = 0; run < pl.throughput_runs; ++run) {
    std::vector<double> got(n);
    for (std::size_t k = 0; k < n; ++k) {
      std::size_t i = (run + k) % n;
      got[i] = throughput_run(*impls[i], p, r.messages);
    }
    for (std::size_t i = 0; i < n; ++i) {
      rates[i].push_back(got[i]);
      ratios[i].push_back(got[0] > 0 ? got[i] / got[0] : 0);
    }
  }
  for (std::size_t i = 0; i < n; ++i) {
    r.rate.push_back(median_of(rates[i]));
    r.pair_low.push_back(*std::min_element(ratios[i].begin(), ratios[i].end()));
    r.pair_median.push_back(median_of(ratios[i]));
    r.pair_high.push_back(*std::max_element(ratios[i].begin(), ratios[i].end()));
  }
  return r;
}

struct latency_result {
  std::size_t round_trips = 0;  // per implementation, all runs
  std::vector<timing> t;        // of each implementation
};

latency_result measure_latency(const std::vector<peer*>& impls, const payload& p, const plan& pl) {
  std::size_t n = impls.size();
  // Calibrate the number of round trips on a short run of each (also a warm-up).
  std::vector<double> probe = latency_run(*impls[0], p, 10, pl.min_round_trips);
  for (std::size_t i = 1; i < n; ++i)
    latency_run(*impls[i], p, 10, pl.min_round_trips);
  double rtt_s = median_of(probe) * 1e-9;

  latency_result r;
  auto wanted = static_cast<std::size_t>(pl.latency_seconds / std::max(rtt_s, 1e-6));
  std::size_t per_run =
      std::clamp(wanted, pl.min_round_trips, pl.max_round_trips) / pl.latency_runs;
  std::size_t warmup = std::clamp<std::size_t>(per_run / 20, 10, 500);
  r.round_trips = per_run * pl.latency_runs;
  std::vector<std::vector<double>> ns(n);
  for (std::size_t run = 0; run < pl.latency_runs; ++run) {
    for (std::size_t k = 0; k < n; ++k) {
      std::size_t i = (run + k) % n;
      std::vector<double> got = latency_run(*impls[i], p, warmup, per_run);
      ns[i].insert(ns[i].end(), got.begin(), got.end());
    }
  }
  for (std::size_t i = 0; i < n; ++i)
    r.t.push_back(summarize(ns[i]));
  return r;
}

const char* verdict(bool met) { return met ? "ok" : "MISSED"; }

void print_throughput(const message_size& s, const std::vector<peer*>& impls,
                      const throughput_result& r) {
  for (std::size_t i = 1; i < impls.size(); ++i) {
    double ratio = r.rate[0] > 0 ? r.rate[i] / r.rate[0] : 0;
    double raw_mb = r.rate[0] * static_cast<double>(s.frame) / 1e6;
    double brine_mb = r.rate[i] * static_cast<double>(s.frame) / 1e6;
    std::printf("%-6.*s %-10s %9zu %12.0f %12.0f %6s %14s %9.1f %10.1f %7s\n",
                static_cast<int>(s.name.size()), s.name.data(), impls[i]->name().c_str(),
                r.messages, r.rate[0], r.rate[i], fixed(ratio, 3).c_str(),
                (fixed(r.pair_low[i], 2) + "/" + fixed(r.pair_median[i], 2) + "/" +
                 fixed(r.pair_high[i], 2))
                    .c_str(),
                raw_mb, brine_mb, verdict(ratio >= throughput_target));
  }
  std::fflush(stdout);
}

void print_latency(const message_size& s, const std::vector<peer*>& impls,
                   const latency_result& r) {
  const timing& raw = r.t[0];
  for (std::size_t i = 1; i < impls.size(); ++i) {
    const timing& b = r.t[i];
    double median_ratio = raw.median_ns > 0 ? b.median_ns / raw.median_ns : 0;
    double p99_ratio = raw.p99_ns > 0 ? b.p99_ns / raw.p99_ns : 0;
    std::printf("%-6.*s %-10s %9zu %10.1f %10.1f %10.1f %10.1f %9s %9s %7s\n",
                static_cast<int>(s.name.size()), s.name.data(), impls[i]->name().c_str(),
                r.round_trips, raw.median_ns / 1e3, raw.p99_ns / 1e3, b.median_ns / 1e3,
                b.p99_ns / 1e3, fixed(median_ratio, 3).c_str(), fixed(p99_ratio, 3).c_str(),
                verdict(median_ratio <= latency_target));
  }
  std::fflush(stdout);
}

double rounded(double v, double unit) { return std::round(v / unit) * unit; }

void report_throughput(json_report& report, const message_size& s, const std::vector<peer*>& impls,
                       const throughput_result& r) {
  std::string name(s.name);
  for (std::size_t i = 0; i < impls.size(); ++i) {
    const std::string& impl = impls[i]->name();
    report.add(name, impl, "msgs_per_s", std::round(r.rate[i]), "msg/s");
    report.add(name, impl, "MB_per_s", rounded(r.rate[i] * static_cast<double>(s.frame) / 1e6, 0.1),
               "MB/s");
    if (i == 0) continue;
    report.add(name, impl, "throughput_ratio",
               r.rate[0] > 0 ? rounded(r.rate[i] / r.rate[0], 0.001) : 0, "x");
    report.add(name, impl, "pair_ratio_min", rounded(r.pair_low[i], 0.001), "x");
    report.add(name, impl, "pair_ratio_median", rounded(r.pair_median[i], 0.001), "x");
    report.add(name, impl, "pair_ratio_max", rounded(r.pair_high[i], 0.001), "x");
  }
  report.add(name, "all", "messages_per_run", static_cast<double>(r.messages), "msg");
}

void report_latency(json_report& report, const message_size& s, const std::vector<peer*>& impls,
                    const latency_result& r) {
  std::string name(s.name);
  const timing& raw = r.t[0];
  for (std::size_t i = 0; i < impls.size(); ++i) {
    const std::string& impl = impls[i]->name();
    const timing& t = r.t[i];
    report.add(name, impl, "rtt_median_us", rounded(t.median_ns / 1e3, 0.1), "us");
    report.add(name, impl, "rtt_p99_us", rounded(t.p99_ns / 1e3, 0.1), "us");
    if (i == 0) continue;
    if (raw.median_ns > 0)
      report.add(name, impl, "rtt_median_ratio", rounded(t.median_ns / raw.median_ns, 0.001), "x");
    if (raw.p99_ns > 0)
      report.add(name, impl, "rtt_p99_ratio", rounded(t.p99_ns / raw.p99_ns, 0.001), "x");
  }
  report.add(name, "all", "round_trips", static_cast<double>(r.round_trips), "round trips");
}

void run(const config& cfg) {
  plan pl = plan::make(cfg.quick);
  auto wanted = [&](std::string_view name) { return cfg.wants(std::string(name)); };
  std::unique_ptr<peer> raw = make_zmq_peer();
  std::unique_ptr<peer> brine = make_brine_peer();
  std::unique_ptr<peer> brine_view = make_brine_view_peer();
  std::vector<peer*> impls{raw.get(), brine.get(), brine_view.get()};
  json_report report("channels");

  std::printf("brine-bench-channels %s\n%s\n%s\n", cfg.quick ? "(quick: numbers mean little)" : "",
              report.date().c_str(), report.machine().c_str());
  std::printf(
      "Two processes per run over ipc://, forked before any ZeroMQ context exists; size is the "
      "whole message.\n"
      "  cppzmq: PUSH/PULL with ZeroMQ's defaults; send(zmq::buffer(frame)) copies pre-serialized "
      "bytes\n"
      "          into each message; recv into one reused zmq::message_t, bytes not looked at.\n"
      "  brine:  push/pull<std::vector<std::byte>> sized so its frame is that size; send(v) "
      "encodes v;\n"
      "          recv_into(v) decodes into one reused value.\n"
      "  brine-view: the same channels; the bytes are copied once into a loan (the ZeroMQ "
      "message's\n"
      "          memory) and received as views in place (recv_view), bytes not looked at.\n"
      "Throughput: msg/s at the receiver, first message to last, median of %zu runs taking turns; "
      "'pairs'\n"
      "is brine/cppzmq of the runs of each turn: min/median/max. Target: ratio >= "
      "%.2f.\n"
      "Latency: ping-pong, a push/pull pair each way; each side receives a message and sends "
      "one of the\n"
      "same size (brine: recv_into then send(v); brine-view: recv_view, then a loan of its bytes); "
      "round\n"
      "trips pooled over %zu runs. Target: "
      "median ratio <= %.2f.\n\n",
      pl.throughput_runs, throughput_target, pl.latency_runs, latency_target);

  std::vector<std::pair<message_size, payload>> cases;
  for (const message_size& s : sizes) {
    if (wanted(s.name)) cases.emplace_back(s, make_payload(s.frame));
  }

  std::printf("Throughput\n%-6s %-10s %9s %12s %12s %6s %14s %9s %10s %7s\n", "size", "impl",
              "msgs/run", "cppzmq msg/s", "brine msg/s", "ratio", "pairs", "zmq MB/s", "brine MB/s",
              "target");
  for (const auto& [s, p] : cases) {
    throughput_result r = measure_throughput(impls, p, pl);
    print_throughput(s, impls, r);
    report_throughput(report, s, impls, r);
  }

  std::printf("\nRound-trip latency (us)\n%-6s %-10s %9s %10s %10s %10s %10s %9s %9s %7s\n", "size",
              "impl", "trips", "zmq med", "zmq p99", "brine med", "brine p99", "med ratio",
              "p99 ratio", "target");
  for (const auto& [s, p] : cases) {
    latency_result r = measure_latency(impls, p, pl);
    print_latency(s, impls, r);
    report_latency(report, s, impls, r);
  }

  if (!cfg.json.empty()) {
    report.write(cfg.json);
    std::printf("\nwrote %s\n", cfg.json.c_str());
  }
}

std::vector<std::string> size_names() {
  std::vector<std::string> out;
  for (const message_size& s : sizes)
    out.emplace_back(s.name);
  return out;
}

}  // namespace
}  // namespace brine::bench

int main(int argc, char** argv) {
  using namespace brine::bench;
  config cfg;
  if (int rc = parse_command_line(argc, argv,
                                  "throughput and latency of brine channels against raw cppzmq",
                                  "size", size_names(), cfg);
      rc >= 0)
    return rc;
  try {
    run(cfg);
  } catch (const std::exception& e) {
    fail(e.what());
  }
  return 0;
}
