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

struct throughput_result {
  std::size_t messages = 0;  // per run
  double raw = 0;            // median msg/s
  double brine = 0;          // median msg/s
  // brine/raw of each pair of runs: lowest, median, highest.
  double pair_low = 0;
  double pair_median = 0;
  double pair_high = 0;
};

throughput_result measure_throughput(peer& raw, peer& brine, const payload& p, const plan& pl) {
  std::size_t frame = p.frame.size();
  // Calibrate the message count on a short run of each (also a warm-up).
  std::size_t probe = std::clamp<std::size_t>(pl.calibration_bytes / frame, 20, 20'000);
  double probe_rate = throughput_run(raw, p, probe);
  throughput_run(brine, p, probe);

  throughput_result r;
  r.messages = std::clamp<std::size_t>(static_cast<std::size_t>(probe_rate * pl.throughput_seconds),
                                       pl.min_messages, 5'000'000);
  std::vector<double> raw_rates;
  std::vector<double> brine_rates;
  std::vector<double> pair_ratios;
  for (std::size_t run = 0; run < pl.throughput_runs; ++run) {
    // raw, brine, brine, raw, ...: neither always goes first.
    double a = 0;
    double b = 0;
    if (run % 2 == 0) {
      a = throughput_run(raw, p, r.messages);
      b = throughput_run(brine, p, r.messages);
    } else {
      b = throughput_run(brine, p, r.messages);
      a = throughput_run(raw, p, r.messages);
    }
    raw_rates.push_back(a);
    brine_rates.push_back(b);
    pair_ratios.push_back(a > 0 ? b / a : 0);
  }
  r.raw = median_of(raw_rates);
  r.brine = median_of(brine_rates);
  r.pair_low = *std::min_element(pair_ratios.begin(), pair_ratios.end());
  r.pair_median = median_of(pair_ratios);
  r.pair_high = *std::max_element(pair_ratios.begin(), pair_ratios.end());
  return r;
}

struct latency_result {
  std::size_t round_trips = 0;  // per implementation, all runs
  timing raw;
  timing brine;
};

latency_result measure_latency(peer& raw, peer& brine, const payload& p, const plan& pl) {
  // Calibrate the number of round trips on a short run of each (also a warm-up).
  std::vector<double> probe = latency_run(raw, p, 10, pl.min_round_trips);
  latency_run(brine, p, 10, pl.min_round_trips);
  double rtt_s = median_of(probe) * 1e-9;

  latency_result r;
  auto wanted = static_cast<std::size_t>(pl.latency_seconds / std::max(rtt_s, 1e-6));
  std::size_t per_run =
      std::clamp(wanted, pl.min_round_trips, pl.max_round_trips) / pl.latency_runs;
  std::size_t warmup = std::clamp<std::size_t>(per_run / 20, 10, 500);
  r.round_trips = per_run * pl.latency_runs;
  std::vector<double> raw_ns;
  std::vector<double> brine_ns;
  for (std::size_t run = 0; run < pl.latency_runs; ++run) {
    auto append = [](std::vector<double>& to, const std::vector<double>& from) {
      to.insert(to.end(), from.begin(), from.end());
    };
    if (run % 2 == 0) {
      append(raw_ns, latency_run(raw, p, warmup, per_run));
      append(brine_ns, latency_run(brine, p, warmup, per_run));
    } else {
      append(brine_ns, latency_run(brine, p, warmup, per_run));
      append(raw_ns, latency_run(raw, p, warmup, per_run));
    }
  }
  r.raw = summarize(raw_ns);
  r.brine = summarize(brine_ns);
  return r;
}

const char* verdict(bool met) { return met ? "ok" : "MISSED"; }

void print_throughput(const message_size& s, const throughput_result& r) {
  double ratio = r.raw > 0 ? r.brine / r.raw : 0;
  double raw_mb = r.raw * static_cast<double>(s.frame) / 1e6;
  double brine_mb = r.brine * static_cast<double>(s.frame) / 1e6;
  std::printf(
      "%-6.*s %9zu %12.0f %12.0f %6s %14s %9.1f %10.1f %7s\n", static_cast<int>(s.name.size()),
      s.name.data(), r.messages, r.raw, r.brine, fixed(ratio, 3).c_str(),
      (fixed(r.pair_low, 2) + "/" + fixed(r.pair_median, 2) + "/" + fixed(r.pair_high, 2)).c_str(),
      raw_mb, brine_mb, verdict(ratio >= throughput_target));
  std::fflush(stdout);
}

void print_latency(const message_size& s, const latency_result& r) {
  double median_ratio = r.raw.median_ns > 0 ? r.brine.median_ns / r.raw.median_ns : 0;
  double p99_ratio = r.raw.p99_ns > 0 ? r.brine.p99_ns / r.raw.p99_ns : 0;
  std::printf("%-6.*s %9zu %10.1f %10.1f %10.1f %10.1f %9s %9s %7s\n",
              static_cast<int>(s.name.size()), s.name.data(), r.round_trips, r.raw.median_ns / 1e3,
              r.raw.p99_ns / 1e3, r.brine.median_ns / 1e3, r.brine.p99_ns / 1e3,
              fixed(median_ratio, 3).c_str(), fixed(p99_ratio, 3).c_str(),
              verdict(median_ratio <= latency_target));
  std::fflush(stdout);
}

void report_throughput(json_report& report, const message_size& s, const throughput_result& r) {
  std::string name(s.name);
  auto mb = [&](double rate) { return std::round(rate * static_cast<double>(s.frame) / 1e5) / 10; };
  report.add(name, "cppzmq", "msgs_per_s", std::round(r.raw), "msg/s");
  report.add(name, "brine", "msgs_per_s", std::round(r.brine), "msg/s");
  report.add(name, "cppzmq", "MB_per_s", mb(r.raw), "MB/s");
  report.add(name, "brine", "MB_per_s", mb(r.brine), "MB/s");
  report.add(name, "brine", "throughput_ratio",
             r.raw > 0 ? std::round(r.brine / r.raw * 1000) / 1000 : 0, "x");
  report.add(name, "brine", "pair_ratio_min", std::round(r.pair_low * 1000) / 1000, "x");
  report.add(name, "brine", "pair_ratio_median", std::round(r.pair_median * 1000) / 1000, "x");
  report.add(name, "brine", "pair_ratio_max", std::round(r.pair_high * 1000) / 1000, "x");
  report.add(name, "both", "messages_per_run", static_cast<double>(r.messages), "msg");
}

void report_latency(json_report& report, const message_size& s, const latency_result& r) {
  std::string name(s.name);
  auto us = [](double ns) { return std::round(ns / 100) / 10; };
  report.add(name, "cppzmq", "rtt_median_us", us(r.raw.median_ns), "us");
  report.add(name, "cppzmq", "rtt_p99_us", us(r.raw.p99_ns), "us");
  report.add(name, "brine", "rtt_median_us", us(r.brine.median_ns), "us");
  report.add(name, "brine", "rtt_p99_us", us(r.brine.p99_ns), "us");
  if (r.raw.median_ns > 0)
    report.add(name, "brine", "rtt_median_ratio",
               std::round(r.brine.median_ns / r.raw.median_ns * 1000) / 1000, "x");
  if (r.raw.p99_ns > 0)
    report.add(name, "brine", "rtt_p99_ratio",
               std::round(r.brine.p99_ns / r.raw.p99_ns * 1000) / 1000, "x");
  report.add(name, "both", "round_trips", static_cast<double>(r.round_trips), "round trips");
}

void run(const config& cfg) {
  plan pl = plan::make(cfg.quick);
  auto wanted = [&](std::string_view name) { return cfg.wants(std::string(name)); };
  std::unique_ptr<peer> raw = make_zmq_peer();
  std::unique_ptr<peer> brine = make_brine_peer();
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
      "Throughput: msg/s at the receiver, first message to last, median of %zu runs alternating "
      "cppzmq and\n"
      "brine; 'pairs' is brine/cppzmq of each pair of runs: min/median/max. Target: ratio >= "
      "%.2f.\n"
      "Latency: ping-pong, a push/pull pair each way; each side receives a message and sends "
      "one of the\n"
      "same size (brine: recv_into then send(v)); round trips pooled over %zu runs. Target: "
      "median ratio <= %.2f.\n\n",
      pl.throughput_runs, throughput_target, pl.latency_runs, latency_target);

  std::vector<std::pair<message_size, payload>> cases;
  for (const message_size& s : sizes) {
    if (wanted(s.name)) cases.emplace_back(s, make_payload(s.frame));
  }

  std::printf("Throughput\n%-6s %9s %12s %12s %6s %14s %9s %10s %7s\n", "size", "msgs/run",
              "cppzmq msg/s", "brine msg/s", "ratio", "pairs", "zmq MB/s", "brine MB/s", "target");
  for (const auto& [s, p] : cases) {
    throughput_result r = measure_throughput(*raw, *brine, p, pl);
    print_throughput(s, r);
    report_throughput(report, s, r);
  }

  std::printf("\nRound-trip latency (us)\n%-6s %9s %10s %10s %10s %10s %9s %9s %7s\n", "size",
              "trips", "zmq med", "zmq p99", "brine med", "brine p99", "med ratio", "p99 ratio",
              "target");
  for (const auto& [s, p] : cases) {
    latency_result r = measure_latency(*raw, *brine, p, pl);
    print_latency(s, r);
    report_latency(report, s, r);
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
