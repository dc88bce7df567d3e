#pragma once

// The pieces every brine benchmark shares: timing an operation many times (median and p99),
// describing the machine, and writing results as JSON for later comparison.

#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace brine::bench {

using bench_clock = std::chrono::steady_clock;

/// Keeps the compiler from discarding a value a benchmark computes (or the work behind it).
template <class T>
void do_not_optimize(const T& v) {
  asm volatile("" : : "r,m"(v) : "memory");
}

/// How long and how often `measure` repeats an operation.
struct measure_options {
  /// Rough time one measurement spends; the sample count follows from it.
  std::chrono::nanoseconds budget = std::chrono::milliseconds(200);
  std::size_t min_samples = 50;
  std::size_t max_samples = 100'000;
  /// Operations faster than this are run in batches so that reading the clock (~30 ns on a VM)
  /// stays a small part of each sample.
  std::chrono::nanoseconds min_sample = std::chrono::microseconds(5);
  /// Hard bound on one measurement, for operations so slow that min_samples would exceed it.
  std::chrono::nanoseconds max_total = std::chrono::seconds(2);

  /// Few repetitions, for smoke tests: the numbers mean little, the code paths all run.
  static measure_options quick() {
    measure_options o;
    o.budget = std::chrono::milliseconds(5);
    o.min_samples = 3;
    o.max_samples = 200;
    o.max_total = std::chrono::milliseconds(100);
    return o;
  }
};

/// Per-operation times of one measurement.
struct timing {
  double median_ns = 0;
  double p99_ns = 0;
  std::size_t samples = 0;
  /// Operations per sample; p99 of batched samples understates single-operation outliers.
  std::size_t batch = 1;
};

/// Median and nearest-rank 99th percentile of `ns` (which is sorted in place).
inline timing summarize(std::vector<double>& ns) {
  timing t;
  if (ns.empty()) return t;
  std::sort(ns.begin(), ns.end());
  std::size_t n = ns.size();
  t.median_ns = n % 2 == 1 ? ns[n / 2] : (ns[n / 2 - 1] + ns[n / 2]) / 2;
  auto rank = static_cast<std::size_t>(std::ceil(0.99 * static_cast<double>(n)));
  t.p99_ns = ns[std::max<std::size_t>(rank, 1) - 1];
  t.samples = n;
  return t;
}

/// Times `op` (warmed up once, then repeated as `opt` says) and returns per-call figures.
template <class F>
timing measure(F&& op, const measure_options& opt = {}) {
  auto run = [&] {
    if constexpr (std::is_void_v<std::invoke_result_t<F&>>) {
      op();
    } else {
      do_not_optimize(op());
    }
  };
  using ns = std::chrono::duration<double, std::nano>;
  run();

  // Estimate one call's cost, spending at most a twentieth of the budget on it.
  std::size_t calls = 0;
  auto start = bench_clock::now();
  ns spent{};
  do {
    run();
    ++calls;
    spent = bench_clock::now() - start;
  } while (spent < opt.budget / 20 && calls < 1000);
  double per_call = std::max(spent.count() / static_cast<double>(calls), 1.0);

  auto batch =
      static_cast<std::size_t>(std::ceil(static_cast<double>(opt.min_sample.count()) / per_call));
  batch = std::max<std::size_t>(batch, 1);
  double per_sample = per_call * static_cast<double>(batch);
  auto wanted = static_cast<std::size_t>(static_cast<double>(opt.budget.count()) / per_sample);
  auto cap = static_cast<std::size_t>(static_cast<double>(opt.max_total.count()) / per_sample);
  std::size_t samples = std::clamp(wanted, opt.min_samples, opt.max_samples);
  samples = std::max<std::size_t>(std::min(samples, cap), 3);

  std::vector<double> per_op;
  per_op.reserve(samples);
  for (std::size_t s = 0; s < samples; ++s) {
    auto t0 = bench_clock::now();
    for (std::size_t i = 0; i < batch; ++i)
      run();
    auto t1 = bench_clock::now();
    per_op.push_back(ns(t1 - t0).count() / static_cast<double>(batch));
  }
  timing t = summarize(per_op);
  t.batch = batch;
  return t;
}

/// "<uname -srm>; <cpu model>; <n> cpus", for telling result files apart.
inline std::string machine_description() {
  std::string out;
  utsname u{};
  if (uname(&u) == 0) {
    out = std::string(u.sysname) + " " + u.release + " " + u.machine;
  } else {
    out = "unknown os";
  }
  std::string model = "unknown cpu";
  std::ifstream cpuinfo("/proc/cpuinfo");
  for (std::string line; std::getline(cpuinfo, line);) {
    if (line.rfind("model name", 0) == 0) {
      auto colon = line.find(':');
      if (colon != std::string::npos) {
        model = line.substr(line.find_first_not_of(" \t", colon + 1));
      }
      break;
    }
  }
  long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  return out + "; " + model + "; " + std::to_string(cpus) + " cpus";
}

/// The current UTC time as ISO-8601, e.g. "2024-05-01T12:34:56Z".
inline std::string iso8601_now() {
  std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm utc{};
  gmtime_r(&now, &utc);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}

/// `s` as a JSON string literal, quotes included.
inline std::string json_quote(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char esc[8];
          std::snprintf(esc, sizeof esc, "\\u%04x", static_cast<unsigned>(c));
          out += esc;
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

/// `v` as a JSON number: the shortest text that reads back as `v` (JSON has no NaN: null).
inline std::string json_number(double v) {
  if (!std::isfinite(v)) return "null";
  char text[32];
  auto [end, ec] = std::to_chars(text, text + sizeof text, v);
  return ec == std::errc{} ? std::string(text, end) : "null";
}

/// One figure of a benchmark run.
struct result {
  std::string case_name;
  std::string impl;
  std::string metric;
  double value = 0;
  std::string unit;
};

/// Collects results and writes them as
/// {"bench", "date", "machine", "results": [{"case", "impl", "metric", "value", "unit"}]}.
class json_report {
 public:
  explicit json_report(std::string bench)
      : bench_(std::move(bench)), date_(iso8601_now()), machine_(machine_description()) {}

  void add(std::string case_name, std::string impl, std::string metric, double value,
           std::string unit) {
    results_.push_back(
        {std::move(case_name), std::move(impl), std::move(metric), value, std::move(unit)});
  }

  /// Adds median and p99 of `t` as "<prefix>_ns" and "<prefix>_p99_ns".
  void add_timing(const std::string& case_name, const std::string& impl, const std::string& prefix,
                  const timing& t) {
    add(case_name, impl, prefix + "_ns", std::round(t.median_ns * 10) / 10, "ns");
    add(case_name, impl, prefix + "_p99_ns", std::round(t.p99_ns * 10) / 10, "ns");
  }

  const std::string& date() const noexcept { return date_; }
  const std::string& machine() const noexcept { return machine_; }
  const std::vector<result>& results() const noexcept { return results_; }

  std::string str() const {
    std::string out = "{\n  \"bench\": " + json_quote(bench_) +
                      ",\n  \"date\": " + json_quote(date_) +
                      ",\n  \"machine\": " + json_quote(machine_) + ",\n  \"results\": [";
    for (std::size_t i = 0; i < results_.size(); ++i) {
      const result& r = results_[i];
      out += i == 0 ? "\n" : ",\n";
      out += "    {\"case\": " + json_quote(r.case_name) + ", \"impl\": " + json_quote(r.impl) +
             ", \"metric\": " + json_quote(r.metric) + ", \"value\": " + json_number(r.value) +
             ", \"unit\": " + json_quote(r.unit) + "}";
    }
    return out + "\n  ]\n}\n";
  }

  /// Throws: std::runtime_error if the file cannot be written.
  void write(const std::filesystem::path& file) const {
    std::ofstream os(file, std::ios::binary | std::ios::trunc);
    os << str();
    os.close();
    if (!os) throw std::runtime_error("cannot write " + file.string());
  }

 private:
  std::string bench_;
  std::string date_;
  std::string machine_;
  std::vector<result> results_;
};

}  // namespace brine::bench
