// brine-demo-producer: makes camera images and pushes them over shared memory to the workers.

#include "demo.hpp"

#include <fmt/core.h>
#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdint>
#include <string>
#include <thread>

namespace {

// Fills `img` with a frame of camera `cam`: a gradient that drifts from frame to frame, a few
// bright blobs and some noise, so that the workers' results differ from image to image.
void draw(demo::image& img, std::uint64_t id, unsigned cam) {
  const unsigned w = img.width, h = img.height;
  img.pixels.resize(std::size_t{w} * h);
  std::uint32_t noise = static_cast<std::uint32_t>(id * 2654435761u) | 1u;
  const unsigned drift = static_cast<unsigned>(id % 256);
  const unsigned bx = static_cast<unsigned>((id * 7 + cam * 40) % w);
  const unsigned by = static_cast<unsigned>((id * 3 + cam * 25) % h);
  const unsigned radius2 = 16 + static_cast<unsigned>((id * 2654435761u) >> 7) % 1200;
  for (unsigned y = 0; y < h; ++y) {
    std::uint8_t* row = img.pixels.data() + std::size_t{y} * w;
    for (unsigned x = 0; x < w; ++x) {
      noise ^= noise << 13;
      noise ^= noise >> 17;
      noise ^= noise << 5;
      unsigned v = (x + y + drift + cam * 30) / 2 + (noise & 15);
      unsigned dx = x > bx ? x - bx : bx - x, dy = y > by ? y - by : by - y;
      if (dx * dx + dy * dy < radius2) v = 230 + (noise & 15);
      row[x] = static_cast<std::uint8_t>(v > 255 ? 255 : v);
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"brine demo: makes camera images and pushes them to the workers"};
  std::uint64_t count = 20'000;
  unsigned width = 160, height = 120, cameras = 4;
  std::size_t workers = 1;
  double rate = 0;
  std::string to, progress;
  app.add_option("--images", count, "images to make");
  app.add_option("--width", width, "image width")->check(CLI::Range(8u, 4096u));
  app.add_option("--height", height, "image height")->check(CLI::Range(8u, 4096u));
  app.add_option("--cameras", cameras, "cameras the images come from")->check(CLI::Range(1u, 64u));
  app.add_option("--rate", rate, "images per second (0: as fast as the pipeline goes)");
  app.add_option("--workers", workers, "workers to wait for before the first image");
  app.add_option("--to", to, "channel to the workers (shm://name)")->required();
  app.add_option("--progress", progress, "channel to the launcher")->required();
  CLI11_PARSE(app, argc, argv);

  try {
    demo::reporter report(progress, "producer");
    auto tx = brine::push<demo::image>(to);
    // Fan-out: wait for every worker, or the first to join would get the first images alone.
    if (!tx.wait_peers(workers, std::chrono::seconds(10))) {
      fmt::print(stderr, "producer: {} workers did not join {} within 10 s\n", workers, to);
      return 1;
    }
    demo::image img;
    img.width = static_cast<std::uint16_t>(width);
    img.height = static_cast<std::uint16_t>(height);
    const auto start = std::chrono::steady_clock::now();
    for (std::uint64_t id = 0; id < count; ++id) {
      if (rate > 0)
        std::this_thread::sleep_until(start + std::chrono::duration_cast<std::chrono::nanoseconds>(
                                                  std::chrono::duration<double>(id / rate)));
      unsigned cam = static_cast<unsigned>(id % cameras);
      img.id = id;
      img.camera = fmt::format("cam-{}", cam);
      img.tags = {{"site", cam % 2 ? "north gate" : "loading bay"},
                  {"lens", cam < 2 ? "wide" : "tele"},
                  {"frame", std::to_string(id / cameras)}};
      draw(img, id, cam);
      img.made_ns = demo::now_ns();
      tx.send(img);  // blocks while every worker's ring is full
      report.count(brine::dumps_size(img));
    }
    tx.close();  // the end of stream reaches each worker after its last image
    report.finish();
  } catch (const brine::error& e) {
    fmt::print(stderr, "producer: {}\n", e.what());
    return 1;
  }
}
