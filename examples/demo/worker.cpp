// brine-demo-worker: pulls images from shared memory, analyses them, pushes the results to the
// sink. Start as many as there are cores; each image goes to exactly one of them.

#include "demo.hpp"

#include <fmt/core.h>
#include <CLI/CLI.hpp>

#include <unistd.h>
#include <cstdint>
#include <cstdlib>
#include <string>

namespace {

demo::image_stats analyse(const demo::image& img) {
  demo::image_stats s;
  s.id = img.id;
  s.camera = img.camera;
  s.made_ns = img.made_ns;
  s.worker = static_cast<std::int32_t>(::getpid());
  const unsigned w = img.width, h = img.height;
  if (img.pixels.size() != std::size_t{w} * h)
    throw std::invalid_argument("image: bad pixel count");

  std::uint64_t sum = 0;
  for (std::uint8_t p : img.pixels) {
    sum += p;
    ++s.histogram[p >> 4];
  }
  s.mean =
      img.pixels.empty() ? 0.f : static_cast<float>(sum) / static_cast<float>(img.pixels.size());

  // Edges: pixels where the horizontal plus vertical difference is large.
  for (unsigned y = 1; y < h; ++y) {
    const std::uint8_t* row = img.pixels.data() + std::size_t{y} * w;
    const std::uint8_t* up = row - w;
    for (unsigned x = 1; x < w; ++x) {
      int g = std::abs(row[x] - row[x - 1]) + std::abs(row[x] - up[x]);
      s.edges += g > 48;
    }
  }

  // Thumbnail: the mean of each 8x8 block.
  const unsigned tw = w / 8, th = h / 8;
  s.thumb_width = static_cast<std::uint16_t>(tw);
  s.thumbnail.resize(std::size_t{tw} * th);
  for (unsigned ty = 0; ty < th; ++ty)
    for (unsigned tx = 0; tx < tw; ++tx) {
      unsigned block = 0;
      for (unsigned y = ty * 8; y < ty * 8 + 8; ++y)
        for (unsigned x = tx * 8; x < tx * 8 + 8; ++x)
          block += img.pixels[std::size_t{y} * w + x];
      s.thumbnail[std::size_t{ty} * tw + tx] = static_cast<std::uint8_t>(block / 64);
    }
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"brine demo: analyses images from the producer and sends the results on"};
  std::string from, to, progress;
  app.add_option("--from", from, "channel from the producer (shm://name)")->required();
  app.add_option("--to", to, "channel to the sink (ipc:// or tcp://)")->required();
  app.add_option("--progress", progress, "channel to the launcher")->required();
  CLI11_PARSE(app, argc, argv);

  try {
    demo::reporter report(progress, "worker");
    auto rx = brine::pull<demo::image>(from);
    auto tx = brine::push<demo::image_stats>(to);
    for (const demo::image& img : rx) {  // ends when the producer has closed
      report.count(brine::dumps_size(img));
      tx.send(analyse(img));
    }
    tx.close();
    report.finish();
  } catch (const std::exception& e) {
    fmt::print(stderr, "worker {}: {}\n", ::getpid(), e.what());
    return 1;
  }
}
