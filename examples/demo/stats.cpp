// brine-demo-stats: a small RPC service that keeps running statistics per camera. The sink
// calls it over the network transport; `finish` returns the totals and stops the service.

#include "demo.hpp"

#include <fmt/core.h>
#include <CLI/CLI.hpp>

#include <cstdio>
#include <map>
#include <string>
#include <vector>

int main(int argc, char** argv) {
  CLI::App app{"brine demo: per-camera statistics as an RPC service"};
  std::string url = "tcp://127.0.0.1:*", progress;
  app.add_option("--listen", url, "address to serve at (its real address is printed)");
  app.add_option("--progress", progress, "channel to the launcher")->required();
  CLI11_PARSE(app, argc, argv);

  try {
    demo::reporter report(progress, "stats");
    brine::server srv(url);
    std::map<std::string, demo::camera_summary> cameras;

    // serve() runs the handlers in this thread, one at a time: no lock needed.
    srv.handle("add", [&](const std::vector<demo::image_stats>& batch) {
      std::uint64_t bytes = 0;
      for (const demo::image_stats& s : batch) {
        demo::camera_summary& c = cameras[s.camera];
        ++c.images;
        c.mean_brightness += (s.mean - c.mean_brightness) / static_cast<double>(c.images);
        if (s.edges > c.most_edges) {
          c.most_edges = s.edges;
          c.sharpest_id = s.id;
        }
        for (std::size_t i = 0; i < s.histogram.size(); ++i)
          c.histogram[i] += s.histogram[i];
        bytes += brine::dumps_size(s);
      }
      report.count(bytes);
      return cameras.size();
    });
    srv.handle("camera", [&](const std::string& name) {
      auto it = cameras.find(name);
      if (it == cameras.end()) throw std::out_of_range("no camera named " + name);
      return it->second;
    });
    srv.handle("finish", [&] {
      srv.stop();  // after this reply goes out
      return cameras;
    });

    // The launcher reads the real address (the port the system chose) from the first line.
    std::printf("%s\n", srv.endpoint().c_str());
    std::fflush(stdout);
    srv.serve();
    report.figures()["cameras"] = static_cast<double>(cameras.size());
    report.finish();
  } catch (const brine::error& e) {
    fmt::print(stderr, "stats: {}\n", e.what());
    return 1;
  }
}
