#pragma once
// The objects that flow through the demo's programs, and the progress report each program
// sends to the launcher. Plain structs: brine serializes them with no code written.

#include <brine/brine.hpp>

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace demo {

/// A camera frame, as the producer makes it: 8-bit grey pixels plus metadata.
struct image {
  std::uint64_t id = 0;
  std::string camera;
  std::int64_t made_ns = 0;  // steady clock (one clock for every process of the machine)
  std::uint16_t width = 0;
  std::uint16_t height = 0;
  std::vector<std::uint8_t> pixels;  // width * height, row by row
  std::map<std::string, std::string> tags;
};

/// What a worker learns from one image.
struct image_stats {
  std::uint64_t id = 0;
  std::string camera;
  std::int64_t made_ns = 0;
  std::int32_t worker = 0;  // pid of the worker process
  float mean = 0;
  std::array<std::uint32_t, 16> histogram{};
  std::uint32_t edges = 0;              // pixels on a strong gradient
  std::vector<std::uint8_t> thumbnail;  // width/8 x height/8
  std::uint16_t thumb_width = 0;
};

/// The stats service's running totals for one camera.
struct camera_summary {
  std::uint64_t images = 0;
  double mean_brightness = 0;
  std::uint32_t most_edges = 0;
  std::uint64_t sharpest_id = 0;
  std::array<std::uint64_t, 16> histogram{};
};

/// What the sink saves with brine::dump at the end.
struct result {
  std::uint64_t images = 0;
  std::map<std::string, camera_summary> cameras;
  std::map<std::string, double> latency_us;  // "p50", "p90", "p99", "max"
  std::map<std::int32_t, std::uint64_t> images_per_worker;
  image_stats sharpest;  // with its thumbnail
};

/// A program's progress, sent to the launcher about ten times a second and once at the end.
struct stage_report {
  std::string stage;  // "producer", "worker", "sink", "stats"
  std::int32_t pid = 0;
  std::uint64_t messages = 0;
  std::uint64_t bytes = 0;  // encoded size of the messages received or sent
  double seconds = 0;       // from the first message to the last
  bool done = false;
  std::map<std::string, double> figures;  // stage-specific: latency percentiles, RPC calls
};

inline std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

/// Counts a stage's messages and reports them to the launcher at most every 100 ms.
class reporter {
 public:
  reporter(const std::string& url, std::string stage)
      : tx_(brine::push<stage_report>(url)), report_{std::move(stage), 0, 0, 0, 0, false, {}} {
    report_.pid = static_cast<std::int32_t>(::getpid());
  }

  /// Counts one message of `bytes` bytes; sends a report when the last is 100 ms old.
  void count(std::size_t bytes) {
    auto now = std::chrono::steady_clock::now();
    if (report_.messages == 0) first_ = now;
    ++report_.messages;
    report_.bytes += bytes;
    last_ = now;
    if (now - sent_ >= std::chrono::milliseconds(100)) send(now);
  }

  std::map<std::string, double>& figures() { return report_.figures; }

  /// Sends the final report and ends this stage's progress stream.
  void finish() {
    report_.done = true;
    send(std::chrono::steady_clock::now());
    tx_.close();
  }

 private:
  void send(std::chrono::steady_clock::time_point now) {
    report_.seconds = report_.messages ? std::chrono::duration<double>(last_ - first_).count() : 0;
    tx_.send(report_);
    sent_ = now;
  }

  brine::sender<stage_report> tx_;
  stage_report report_;
  std::chrono::steady_clock::time_point first_{}, last_{}, sent_{};
};

}  // namespace demo
