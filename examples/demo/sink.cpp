// brine-demo-sink: gathers the workers' results, sends them in batches to the stats service
// (RPC), checks that every image came back exactly once, and saves the final result with
// brine::dump.

#include "demo.hpp"

#include <fmt/core.h>
#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace {

double percentile(std::vector<std::int64_t>& v, double p) {
  if (v.empty()) return 0;
  auto k = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1));
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
  return static_cast<double>(v[k]);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"brine demo: gathers results, calls the stats service, saves the outcome"};
  std::string from, stats_url, progress, out;
  std::size_t workers = 1, batch_size = 250;
  std::uint64_t expected = 0;
  app.add_option("--from", from, "channel from the workers (binds)")->required();
  app.add_option("--workers", workers, "workers whose end of stream ends the input");
  app.add_option("--stats", stats_url, "the stats service's address")->required();
  app.add_option("--progress", progress, "channel to the launcher")->required();
  app.add_option("--out", out, "file for the final result")->required();
  app.add_option("--images", expected, "images the producer makes (checked)")->required();
  app.add_option("--batch", batch_size, "results per call to the stats service");
  CLI11_PARSE(app, argc, argv);

  try {
    demo::reporter report(progress, "sink");
    brine::channel_options opts;
    opts.expect_senders = workers;  // fan-in: end only after every worker has come and gone
    auto rx = brine::pull<demo::image_stats>(from, opts);
    brine::client stats(stats_url);

    demo::result result;
    std::vector<std::int64_t> latency_ns, rpc_ns;
    latency_ns.reserve(expected);
    std::vector<std::uint8_t> seen(expected, 0);
    std::uint64_t duplicates = 0, strangers = 0;
    std::vector<demo::image_stats> batch;

    auto flush = [&] {
      if (batch.empty()) return;
      auto t0 = std::chrono::steady_clock::now();
      stats.call<std::size_t>("add", batch);  // the number of cameras seen so far
      rpc_ns.push_back((std::chrono::steady_clock::now() - t0).count());
      batch.clear();
    };

    for (demo::image_stats& s : rx) {  // ends when every worker has closed
      latency_ns.push_back(demo::now_ns() - s.made_ns);
      report.count(brine::dumps_size(s));
      if (s.id >= expected)
        ++strangers;
      else if (seen[s.id]++)
        ++duplicates;
      ++result.images_per_worker[s.worker];
      if (s.edges >= result.sharpest.edges) result.sharpest = s;
      batch.push_back(std::move(s));
      if (batch.size() >= batch_size) flush();
    }
    flush();

    result.cameras = stats.call<std::map<std::string, demo::camera_summary>>("finish");
    result.images = static_cast<std::uint64_t>(latency_ns.size());
    for (auto [name, p] : {std::pair{"p50", 0.5}, {"p90", 0.9}, {"p99", 0.99}, {"max", 1.0}})
      result.latency_us[name] = percentile(latency_ns, p) / 1e3;
    brine::dump(result, out);

    for (auto& [name, us] : result.latency_us)
      report.figures()["latency " + name + " us"] = us;
    report.figures()["rpc calls"] = static_cast<double>(rpc_ns.size() + 1);
    report.figures()["rpc p50 us"] = percentile(rpc_ns, 0.5) / 1e3;
    report.finish();

    auto missing = static_cast<std::uint64_t>(std::count(seen.begin(), seen.end(), 0));
    if (missing || duplicates || strangers) {
      fmt::print(stderr, "sink: {} images missing, {} twice, {} unknown\n", missing, duplicates,
                 strangers);
      return 1;
    }
  } catch (const brine::error& e) {
    fmt::print(stderr, "sink: {}\n", e.what());
    return 1;
  }
}
