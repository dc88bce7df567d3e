// brine-demo: starts a pipeline of cooperating programs and shows it working.
//
//   brine-demo-producer ──shm://──▶ brine-demo-worker ×N ──ipc://──▶ brine-demo-sink
//                                                                         │ RPC over tcp://
//                                                                         ▼
//                                                                 brine-demo-stats
//
// Every program reports its progress to this one over a brine channel; the end of stream flows
// from the producer to the sink, so every program exits by itself. At the end the sink saves
// the result with brine::dump, and brine-inspect shows the file.

#include "demo.hpp"

#include <fmt/core.h>
#include <CLI/CLI.hpp>

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

extern char** environ;

namespace {

namespace fs = std::filesystem;
using clock_type = std::chrono::steady_clock;

volatile std::sig_atomic_t interrupted = 0;

std::string thousands(std::uint64_t n) {
  const std::string digits = std::to_string(n);
  std::string s;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) s += ',';
    s += digits[i];
  }
  return s;
}

// One started program.
struct child {
  std::string name;
  pid_t pid = -1;
  std::optional<int> status;  // once reaped
};

// Starts `path` with `args`; with `out_fd`, its stdout is the write end of a new pipe whose read
// end is returned there.
child start(const fs::path& path, std::string name, const std::vector<std::string>& args,
            int* out_fd = nullptr) {
  std::vector<std::string> all{path.string()};
  all.insert(all.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& a : all)
    argv.push_back(a.data());
  argv.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  int pipe_fds[2] = {-1, -1};
  if (out_fd) {
    if (::pipe2(pipe_fds, O_CLOEXEC) != 0)
      throw std::runtime_error("pipe: " + std::string(std::strerror(errno)));
    posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], STDOUT_FILENO);
  }
  pid_t pid = -1;
  int rc = ::posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (out_fd) {
    ::close(pipe_fds[1]);
    *out_fd = pipe_fds[0];
  }
  if (rc != 0)
    throw std::runtime_error(fmt::format("cannot start {}: {}", all[0], std::strerror(rc)));
  return {std::move(name), pid, std::nullopt};
}

// Reads one line from `fd`, waiting at most `timeout`.
std::string read_line(int fd, std::chrono::milliseconds timeout) {
  std::string line;
  auto until = clock_type::now() + timeout;
  while (true) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - clock_type::now());
    pollfd p{fd, POLLIN, 0};
    if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) == 0)
      throw std::runtime_error("the stats service did not print its address");
    char c;
    ssize_t n = ::read(fd, &c, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw std::runtime_error("the stats service ended before printing its address");
    if (c == '\n') return line;
    line += c;
  }
}

// Reaps every child that has ended; returns the first that failed, if any.
const child* reap(std::vector<child>& children) {
  const child* failed = nullptr;
  for (child& c : children) {
    if (c.status) continue;
    int st = 0;
    if (::waitpid(c.pid, &st, WNOHANG) == c.pid) c.status = st;
    if (c.status && !(WIFEXITED(*c.status) && WEXITSTATUS(*c.status) == 0) && !failed) failed = &c;
  }
  return failed;
}

void stop_all(std::vector<child>& children) {
  for (child& c : children)
    if (!c.status) ::kill(c.pid, SIGTERM);
  auto until = clock_type::now() + std::chrono::seconds(5);
  while (std::any_of(children.begin(), children.end(), [](const child& c) { return !c.status; })) {
    reap(children);
    if (clock_type::now() > until)
      for (child& c : children)
        if (!c.status) ::kill(c.pid, SIGKILL);
    ::usleep(10'000);
  }
}

std::string describe(int status) {
  if (WIFEXITED(status)) return fmt::format("exited with status {}", WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return fmt::format("was killed by signal {}", WTERMSIG(status));
  return "ended";
}

// The live view: one line per stage, redrawn in place on a terminal.
class progress_view {
 public:
  progress_view(std::uint64_t total, bool tty) : total_(total), tty_(tty) {
    const char* lang = std::getenv("LC_ALL");
    if (!lang || !*lang) lang = std::getenv("LANG");
    utf8_ = lang && (std::strstr(lang, "UTF-8") || std::strstr(lang, "utf8"));
  }

  void update(const demo::stage_report& r) { reports_[r.pid] = r; }

  void draw(bool final_draw = false) {
    auto now = clock_type::now();
    if (!final_draw &&
        now - drawn_ < (tty_ ? std::chrono::milliseconds(100) : std::chrono::seconds(1)))
      return;
    drawn_ = now;
    stage_totals t = totals();
    if (!tty_) {
      fmt::print("progress: made {}, analysed {}, gathered {} of {}\n", t.producer.messages,
                 t.workers.messages, t.sink.messages, total_);
      std::fflush(stdout);
      return;
    }
    std::vector<std::string> lines{
        line("producer", t.producer), line(fmt::format("workers x{}", t.worker_count), t.workers),
        line("sink", t.sink),
        fmt::format("  {:<12} {} RPC calls", "stats", thousands(t.stats.messages))};
    if (shown_) fmt::print("\x1b[{}A", shown_);
    for (const std::string& l : lines)
      fmt::print("\x1b[2K{}\n", l);
    shown_ = lines.size();
    std::fflush(stdout);
  }

  // The latest reports summed per stage.
  struct stage_totals {
    demo::stage_report producer, workers, sink, stats;
    unsigned worker_count = 0;
  };
  stage_totals totals() const {
    stage_totals t;
    for (const auto& [pid, r] : reports_) {
      demo::stage_report& sum = r.stage == "producer" ? t.producer
                                : r.stage == "worker" ? t.workers
                                : r.stage == "sink"   ? t.sink
                                                      : t.stats;
      sum.messages += r.messages;
      sum.bytes += r.bytes;
      sum.seconds = std::max(sum.seconds, r.seconds);
      t.worker_count += r.stage == "worker";
    }
    return t;
  }

  const std::map<std::int32_t, demo::stage_report>& reports() const { return reports_; }

 private:
  std::string line(const std::string& name, const demo::stage_report& r) const {
    constexpr int width = 30;
    double done = total_ ? static_cast<double>(r.messages) / static_cast<double>(total_) : 1;
    int full = static_cast<int>(std::min(1.0, done) * width);
    std::string bar;
    for (int i = 0; i < width; ++i)
      bar += i < full ? (utf8_ ? "█" : "#") : (utf8_ ? "░" : ".");
    double rate = r.seconds > 0 ? static_cast<double>(r.messages) / r.seconds : 0;
    double mbs = r.seconds > 0 ? static_cast<double>(r.bytes) / r.seconds / 1e6 : 0;
    return fmt::format("  {:<12} {} {:>7} / {:<7} {:>9.0f} msg/s {:>8.1f} MB/s", name, bar,
                       thousands(r.messages), thousands(total_), rate, mbs);
  }

  std::uint64_t total_;
  bool tty_;
  bool utf8_ = false;
  std::map<std::int32_t, demo::stage_report> reports_;
  clock_type::time_point drawn_{};
  std::size_t shown_ = 0;
};

fs::path own_directory() {
  std::error_code ec;
  fs::path self = fs::read_symlink("/proc/self/exe", ec);
  if (ec) throw std::runtime_error("cannot find this program's directory: " + ec.message());
  return self.parent_path();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"brine demo: a pipeline of cooperating programs over shared memory, ipc and tcp"};
  std::uint64_t images = 100'000;
  double rate = 0;
  // One per core, at least 2; at most 8, the receivers a shm:// channel has places for.
  unsigned workers = std::clamp(std::thread::hardware_concurrency(), 2u, 8u);
  unsigned width = 160, height = 120;
  std::string out = "brine-demo-result.brine";
  bool inspect = true;
  int timeout_s = 300;
  app.add_option("--images", images, "images to send through the pipeline")->capture_default_str();
  app.add_option("--rate", rate, "images per second the producer makes (0: as fast as it can)");
  app.add_option("--workers", workers, "worker processes")
      ->check(CLI::Range(1u, 8u))
      ->capture_default_str();
  app.add_option("--width", width, "image width")
      ->check(CLI::Range(8u, 4096u))
      ->capture_default_str();
  app.add_option("--height", height, "image height")
      ->check(CLI::Range(8u, 4096u))
      ->capture_default_str();
  app.add_option("--out", out, "where the sink saves the result")->capture_default_str();
  app.add_flag("!--no-inspect", inspect, "do not show the result with brine-inspect");
  app.add_option("--timeout", timeout_s, "seconds before the demo gives up")->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  std::signal(SIGINT, [](int) { interrupted = 1; });
  std::signal(SIGTERM, [](int) { interrupted = 1; });

  const fs::path bin = own_directory();
  const std::string tag = fmt::format("brine-demo-{}", ::getpid());
  fs::path tmp = fs::temp_directory_path() / tag;
  fs::create_directories(tmp);
  const std::string images_url = "shm://" + tag;
  const std::string results_url = "ipc://" + (tmp / "results").string();
  const std::string progress_url = "ipc://" + (tmp / "progress").string();

  fmt::print("brine demo: {} images of {}x{} pixels, {} worker processes\n\n", thousands(images),
             width, height, workers);
  fmt::print("  producer --{}--> workers x{} --{}--> sink --RPC over tcp--> stats\n\n", images_url,
             workers, results_url);

  std::vector<child> children;
  int status = 0;
  int stats_out = -1;
  auto t0 = clock_type::now();
  progress_view view(images, ::isatty(STDOUT_FILENO));
  std::string stats_url;
  try {
    brine::channel_options popts;
    popts.expect_senders = workers + 3;  // every program reports, and ends its stream at the end
    auto progress = brine::pull<demo::stage_report>(progress_url, popts);

    children.push_back(
        start(bin / "brine-demo-stats", "stats", {"--progress", progress_url}, &stats_out));
    stats_url = read_line(stats_out, std::chrono::seconds(10));
    children.push_back(
        start(bin / "brine-demo-sink", "sink",
              {"--from", results_url, "--workers", std::to_string(workers), "--stats", stats_url,
               "--progress", progress_url, "--out", out, "--images", std::to_string(images)}));
    for (unsigned i = 0; i < workers; ++i)
      children.push_back(
          start(bin / "brine-demo-worker", fmt::format("worker {}", i + 1),
                {"--from", images_url, "--to", results_url, "--progress", progress_url}));
    children.push_back(
        start(bin / "brine-demo-producer", "producer",
              {"--images", std::to_string(images), "--width", std::to_string(width), "--height",
               std::to_string(height), "--rate", fmt::format("{}", rate), "--workers",
               std::to_string(workers), "--to", images_url, "--progress", progress_url}));

    // Follow the reports until every program has ended its progress stream.
    const auto give_up = t0 + std::chrono::seconds(timeout_s);
    while (true) {
      try {
        if (auto r = progress.recv_for(std::chrono::milliseconds(50))) view.update(*r);
      } catch (const brine::channel_closed&) {
        break;  // every program has ended its stream
      }
      view.draw();
      if (const child* c = reap(children))
        throw std::runtime_error(fmt::format("{} {}", c->name, describe(*c->status)));
      if (interrupted) throw std::runtime_error("interrupted");
      if (clock_type::now() > give_up)
        throw std::runtime_error(fmt::format("not done after {} s", timeout_s));
    }
    view.draw(true);
    // Every program has said it is done: each exits by itself, promptly.
    auto until = clock_type::now() + std::chrono::seconds(10);
    while (
        std::any_of(children.begin(), children.end(), [](const child& c) { return !c.status; })) {
      if (const child* c = reap(children))
        throw std::runtime_error(fmt::format("{} {}", c->name, describe(*c->status)));
      if (clock_type::now() > until) throw std::runtime_error("a program did not exit by itself");
      ::usleep(5'000);
    }
  } catch (const std::exception& e) {
    view.draw(true);
    fmt::print(stderr, "\nbrine demo failed: {}\n", e.what());
    stop_all(children);
    status = 1;
  }
  if (stats_out >= 0) ::close(stats_out);
  std::error_code ec;
  fs::remove_all(tmp, ec);
  if (status != 0) return status;
  double elapsed = std::chrono::duration<double>(clock_type::now() - t0).count();

  // The summary: per stage, from the programs' final reports.
  fmt::print("\n  {:<16} {:>10} {:>10} {:>9} {:>11} {:>9}\n", "program", "messages", "MB",
             "seconds", "msg/s", "MB/s");
  std::vector<demo::stage_report> order;
  for (const char* stage : {"producer", "worker", "sink", "stats"})
    for (const auto& [pid, r] : view.reports())
      if (r.stage == stage) order.push_back(r);
  for (const demo::stage_report& r : order) {
    double per_s = r.seconds > 0 ? static_cast<double>(r.messages) / r.seconds : 0;
    double mbs = r.seconds > 0 ? static_cast<double>(r.bytes) / r.seconds / 1e6 : 0;
    fmt::print("  {:<16} {:>10} {:>10.1f} {:>9.2f} {:>11.0f} {:>9.1f}\n",
               fmt::format("{} {}", r.stage, r.pid), thousands(r.messages),
               static_cast<double>(r.bytes) / 1e6, r.seconds, per_s, mbs);
  }

  demo::result result = brine::load<demo::result>(out);
  fmt::print(
      "\n  end-to-end latency, made to gathered ({}): "
      "p50 {:.0f} us, p90 {:.0f} us, p99 {:.0f} us, max {:.0f} us\n",
      rate > 0 ? fmt::format("{:.0f} images/s", rate) : "no pacing, queues full",
      result.latency_us["p50"], result.latency_us["p90"], result.latency_us["p99"],
      result.latency_us["max"]);
  for (const auto& [pid, r] : view.reports())
    if (r.stage == "sink")
      fmt::print("  RPC to the stats service over {}: {:.0f} calls, p50 {:.0f} us per call\n",
                 stats_url, r.figures.at("rpc calls"), r.figures.at("rpc p50 us"));
  fmt::print("  {} images in {:.2f} s, each one exactly once; every program exited by itself\n\n",
             thousands(result.images), elapsed);
  fmt::print("  {:<8} {:>8} {:>16} {:>11} {:>10}\n", "camera", "images", "mean brightness",
             "most edges", "image id");
  for (const auto& [name, c] : result.cameras)
    fmt::print("  {:<8} {:>8} {:>16.1f} {:>11} {:>10}\n", name, thousands(c.images),
               c.mean_brightness, c.most_edges, c.sharpest_id);

  std::error_code size_ec;
  fmt::print(
      "\n  saved with brine::dump to {} ({} bytes); brine-inspect shows it without the C++ "
      "types:\n\n",
      out, fs::file_size(out, size_ec));
  std::fflush(stdout);
  if (inspect) {
    child tool = start(BRINE_INSPECT_PATH, "brine-inspect", {"--max-items", "4", out});
    int st = 0;
    ::waitpid(tool.pid, &st, 0);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
      fmt::print(stderr, "brine-inspect {}\n", describe(st));
      return 1;
    }
  }
  return 0;
}
