// frames: a camera process hands 6 MiB video frames to an analysis process over shared memory
// without copying them: the camera writes each frame straight into a loan (sender::loan), the
// analyser reads it in place (receiver::recv_view) and keeps the previous frame's view to
// compare the two, as motion detection does.
//
//   frames            300 frames of 1920x1080 RGB, loaned and viewed
//   frames --copy     the same frames sent as std::vector values and received as copies
//   frames N          N frames instead of 300

#include <brine/brine.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <span>
#include <string>
#include <vector>

namespace {

using frame_bytes = std::vector<std::byte>;
constexpr std::size_t width = 1920, height = 1080;
constexpr std::size_t frame_size = width * height * 3;

// Frame `n`: its number in the first 8 bytes, then a gradient that moves one pixel per frame.
void render(std::span<std::byte> out, std::uint64_t n) {
  for (std::size_t y = 0; y < height; ++y) {
    std::byte* row = out.data() + y * width * 3;
    for (std::size_t x = 0; x < width; ++x) {
      auto v = static_cast<std::byte>((x + y + n) & 0xff);
      row[3 * x] = v;
      row[3 * x + 1] = v;
      row[3 * x + 2] = v;
    }
  }
  std::memcpy(out.data(), &n, 8);
}

std::uint64_t number_of(std::span<const std::byte> f) {
  std::uint64_t n = 0;
  std::memcpy(&n, f.data(), 8);
  return n;
}

// How much two frames differ: the mean absolute difference of one row in 16.
double motion(std::span<const std::byte> a, std::span<const std::byte> b) {
  std::uint64_t sum = 0, count = 0;
  for (std::size_t y = 1; y < height; y += 16) {
    for (std::size_t i = y * width * 3; i < (y + 1) * width * 3; ++i) {
      int d = static_cast<int>(a[i]) - static_cast<int>(b[i]);
      sum += static_cast<std::uint64_t>(d < 0 ? -d : d);
      ++count;
    }
  }
  return static_cast<double>(sum) / static_cast<double>(count);
}

// The analyser: compares each frame with the one before; exits 1 if a frame is missing or
// another one's pixels arrive.
int analyse(const std::string& url, bool copy, std::uint64_t frames) {
  auto rx = brine::pull<frame_bytes>(url);
  double total_motion = 0;
  std::uint64_t expected = 0;
  if (copy) {
    frame_bytes previous, current;
    for (; expected < frames; ++expected) {
      rx.recv_into(current);
      if (number_of(current) != expected) return 1;
      if (expected > 0) total_motion += motion(previous, current);
      std::swap(previous, current);
    }
  } else {
    brine::view previous;
    for (; expected < frames; ++expected) {
      brine::view current = rx.recv_view();  // the camera's memory, read in place
      if (current.size() != frame_size || number_of(current.bytes()) != expected) return 1;
      if (previous) total_motion += motion(previous.bytes(), current.bytes());
      previous = std::move(current);  // kept: the camera does not write over it meanwhile
    }
  }
  std::printf("analyser: %llu frames in order, mean motion %.2f per pixel value\n",
              static_cast<unsigned long long>(expected),
              total_motion / static_cast<double>(frames - 1));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  bool copy = false;
  std::uint64_t frames = 300;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--copy") {
      copy = true;
    } else if (a.find_first_not_of("0123456789") == std::string::npos && a != "0" && a != "1") {
      frames = std::strtoull(a.c_str(), nullptr, 10);
    } else {
      std::fprintf(stderr, "usage: frames [--copy] [N >= 2]\n");
      return 2;
    }
  }
  const std::string url = "shm://frames-example-" + std::to_string(::getpid());

  pid_t analyser = ::fork();
  if (analyser == 0) {
    int code = analyse(url, copy, frames);
    std::fflush(stdout);
    ::_exit(code);
  }

  auto tx = brine::push<frame_bytes>(url);
  auto start = std::chrono::steady_clock::now();
  std::chrono::nanoseconds rendering{};
  frame_bytes value(frame_size);
  for (std::uint64_t n = 0; n < frames; ++n) {
    auto r0 = std::chrono::steady_clock::now();
    if (copy) {
      render(value, n);
      rendering += std::chrono::steady_clock::now() - r0;
      tx.send(value);  // encoded into the channel's memory: one copy here, one at the receiver
    } else {
      brine::loan frame = tx.loan(frame_size);  // in shared memory
      render(frame.bytes(), n);                 // drawn where the analyser will read it
      rendering += std::chrono::steady_clock::now() - r0;
      tx.send(std::move(frame));
    }
  }
  tx.close();
  int status = 0;
  ::waitpid(analyser, &status, 0);
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  double moving = seconds - std::chrono::duration<double>(rendering).count();
  std::printf("camera: %llu frames of %.1f MiB (%s) in %.2f s, of which %.2f s not rendering\n",
              static_cast<unsigned long long>(frames), frame_size / 1048576.0,
              copy ? "copied" : "loaned", seconds, moving);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::fprintf(stderr, "the analyser saw a frame missing or out of order\n");
    return 1;
  }
  return 0;
}
