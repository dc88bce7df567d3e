// brine::pool's process side: one dispatcher thread forks the workers, feeds each its own
// shared-memory channel of chunks, reads every worker's results from one shared channel, and
// replaces workers that die.

#include "brine/pool.hpp"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <deque>
#include <map>
#include <mutex>
#include <thread>
#include <utility>

#include "brine/transport.hpp"

namespace brine::detail::pool {
namespace {

using namespace std::chrono_literals;
using clock = std::chrono::steady_clock;

// Chunks sent to one worker and not yet answered, at most: two, so that a worker finds its next
// chunk waiting when it finishes one. A chunk that goes whole into the sender's pool is sent
// without waiting (or not at all, to be tried again later); a longer one streams through the
// ring while this thread waits for the worker to read it, so it only goes to an idle worker:
// were the worker writing a result into a full ring meanwhile, neither would ever go on.
constexpr std::size_t in_flight_per_worker = 2;
// A worker's exit status when it cannot open its channels (then it is not replaced), and when
// its loop fails later (an ordinary death).
constexpr int setup_failed = 86;
constexpr int failed = 87;
// Slots (of 4 KiB) per ring. A chunk or result longer than a slot goes into the sender's pool
// and takes one slot; one longer than the pool streams through the slots while the other side
// reads. Few, since a ring holds at most in_flight_per_worker messages otherwise: each slot's
// page, touched the first time, costs a page fault in both processes (some microseconds here).
constexpr int ring_slots = 8;
// Buffers of finished chunks kept for the next ones (per worker), and the largest kept.
constexpr std::size_t spare_buffers_max = 5;
constexpr std::size_t spare_bytes_max = std::size_t{16} << 20;
// How often the dispatcher asks whether its workers live while it waits.
constexpr auto reap_every = 20ms;

// Messages between pool and worker: an 8-byte chunk id, then the encoded chunk.
// Writes [id][body] into the link's buffer for the next message.
void prepare_with_id(transport::sender_link& link, std::uint64_t id,
                     std::span<const std::byte> body) {
  std::span<std::byte> buf = link.prepare(8 + body.size());
  std::memcpy(buf.data(), &id, 8);
  std::memcpy(buf.data() + 8, body.data(), body.size());
}

bool split_id(std::span<const std::byte> msg, std::uint64_t& id, std::span<const std::byte>& body) {
  if (msg.size() < 8) return false;
  std::memcpy(&id, msg.data(), 8);
  body = msg.subspan(8);
  return true;
}

std::string death(int status) {
  if (WIFSIGNALED(status)) {
    int sig = WTERMSIG(status);
    const char* name = ::sigabbrev_np(sig);
    return "killed by signal " + std::to_string(sig) +
           (name ? std::string(" (SIG") + name + ")" : "");
  }
  return "exited with status " + std::to_string(WEXITSTATUS(status));
}

// What a worker removes when the pool's process dies: nobody else would. Set before the
// handler is armed; the handler only unlinks and exits (async-signal-safe).
struct orphan_cleanup {
  static inline pid_t parent = 0;
  static inline char paths[2][320] = {};

  static void arm(pid_t pool_process, const std::string& tasks, const std::string& results) {
    parent = pool_process;
    std::snprintf(paths[0], sizeof paths[0], "/dev/shm/%s", tasks.c_str());
    std::snprintf(paths[1], sizeof paths[1], "/dev/shm/%s", results.c_str());
    struct sigaction sa {};
    sa.sa_sigaction = on_signal;
    sa.sa_flags = SA_SIGINFO;
    ::sigaction(SIGTERM, &sa, nullptr);
  }

  // The parent-death signal comes as the pool's forking thread ends, which may be a moment
  // before the rest of its process: a signal from the pool's process waits up to 0.2 s to see
  // it go. Any other SIGTERM, or one from a pool process that lives on, ends the worker only.
  static void on_signal(int sig, siginfo_t* info, void*) {
    bool from_pool = info == nullptr || info->si_pid == parent || info->si_pid == 0;
    for (int i = 0; from_pool && i < 100 && ::getppid() == parent; ++i) {
      timespec pause{0, 2'000'000};
      ::nanosleep(&pause, nullptr);
    }
    if (::getppid() != parent) {
      for (const char* p : paths)
        ::unlink(p);
      ::_exit(128 + sig);
    }
    ::signal(sig, SIG_DFL);
    ::raise(sig);
  }
};

}  // namespace

struct core::impl {
  struct worker {
    pid_t pid = -1;
    std::unique_ptr<transport::sender_link> tasks;
    std::deque<std::uint64_t> outstanding;
    unsigned generation = 0;
  };
  struct chunk {
    std::vector<std::byte> bytes;
    unsigned tries = 0;
    done_fn done;
    fail_fn fail;
  };

  codec fns;
  pool_options opts;
  std::string base;  // shm://brine-pool.<pid>.<n>
  pid_t parent = ::getpid();

  std::mutex mutex;  // guards inbox, stopping, pids_now, spare
  std::condition_variable wake;
  std::deque<std::pair<std::uint64_t, chunk>> inbox;
  bool stopping = false;
  std::vector<pid_t> pids_now;
  std::vector<std::vector<std::byte>> spare;  // buffers of finished chunks
  std::atomic<std::uint64_t> next_id{0};
  std::atomic<std::size_t> restarts{0};
  std::exception_ptr start_error;
  bool started = false;

  // The dispatcher's own.
  std::vector<worker> workers;
  std::unique_ptr<transport::receiver_link> results;
  std::map<std::uint64_t, chunk> chunks;
  std::deque<std::uint64_t> queue;
  std::thread thread;

  std::string tasks_url(std::size_t w, unsigned generation) const {
    return base + ".w" + std::to_string(w) + "." + std::to_string(generation);
  }

  channel_options task_options() const {
    channel_options o = opts.channel;
    o.high_water_mark = ring_slots;
    o.shm_senders = 1;
    o.shm_receivers = 1;
    return o;
  }

  channel_options result_options() const {
    channel_options o = opts.channel;
    o.high_water_mark = ring_slots;
    o.shm_senders = static_cast<std::uint32_t>(workers.size());
    o.shm_receivers = 1;
    o.expect_senders = SIZE_MAX;  // workers come and go; the stream never ends by itself
    return o;
  }

  // Forks worker `w`. In the child: serve chunks until the pool closes the channel, then exit.
  void spawn(std::size_t w) {
    worker& wk = workers[w];
    ++wk.generation;
    std::vector<std::string> url{tasks_url(w, wk.generation)};
    wk.tasks = transport::open_sender(transport::pattern::pipeline, url, task_options(), 0);
    wk.outstanding.clear();
    // SIGTERM and SIGINT wait until the worker has its own dispositions: the handlers it
    // inherits are the parent's (a test framework's, say), not safe in a forked child.
    sigset_t held;
    sigset_t before;
    ::sigemptyset(&held);
    ::sigaddset(&held, SIGTERM);
    ::sigaddset(&held, SIGINT);
    ::pthread_sigmask(SIG_BLOCK, &held, &before);
    pid_t pid = ::fork();
    if (pid == 0) serve(url, before);  // never returns
    ::pthread_sigmask(SIG_SETMASK, &before, nullptr);
    if (pid < 0)
      throw error(std::string("brine: pool cannot fork a worker: ") + std::strerror(errno));
    wk.pid = pid;
    std::lock_guard lock(mutex);
    pids_now[w] = pid;
  }

  // `mask`: the signal mask to restore once the worker's dispositions are set.
  [[noreturn]] void serve(const std::vector<std::string>& url, const sigset_t& mask) {
    // Ctrl-C reaches the whole process group: the pool's process decides what happens (by
    // default it dies, and its workers with it); a worker does not stop in the middle of a task.
    ::signal(SIGINT, SIG_IGN);
    // Die with the pool's process, even if it is killed, removing its segments on the way out.
    // fork() copied the parent's links, which belong to the parent: left untouched, and no
    // destructor runs (_exit).
    try {
      orphan_cleanup::arm(parent, transport::shm_os_name(url.front()),
                          transport::shm_os_name(base + ".results"));
    } catch (...) {
      ::_exit(setup_failed);
    }
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    ::pthread_sigmask(SIG_SETMASK, &mask, nullptr);
    if (::getppid() != parent) orphan_cleanup::on_signal(SIGTERM, nullptr, nullptr);
    int code = setup_failed;
    try {
      auto in = transport::open_receiver(transport::pattern::pipeline, url, task_options(), 0);
      std::vector<std::string> rurl{base + ".results"};
      auto out = transport::open_sender(transport::pattern::pipeline, rurl, result_options(), 0);
      code = failed;  // from here on, a failure is an ordinary death: the worker is replaced
      transport::received msg;
      while (in->recv(msg, transport::forever) == transport::recv_status::frame) {
        std::uint64_t id = 0;
        std::span<const std::byte> body;
        if (!split_id(msg.frame, id, body)) continue;
        std::span<const std::byte> result = fns.work(body);
        in->done();
        prepare_with_id(*out, id, result);
        (void)out->commit({}, transport::forever);
      }
      out->close();
      in->close();
      code = 0;
    } catch (...) {
    }
    brine::shutdown();
    ::_exit(code);
  }

  void run() {
    try {
      std::vector<std::string> rurl{base + ".results"};
      results = transport::open_receiver(transport::pattern::pipeline, rurl, result_options(), 0);
      for (std::size_t w = 0; w < workers.size(); ++w)
        spawn(w);
    } catch (...) {
      std::exception_ptr e = std::current_exception();
      if (results) shut_down();  // the workers already forked go, and are reaped
      std::lock_guard lock(mutex);
      start_error = e;
      started = true;
      wake.notify_all();
      return;
    }
    {
      std::lock_guard lock(mutex);
      started = true;
      wake.notify_all();
    }
    auto last_reap = clock::now();
    for (;;) {
      {
        std::unique_lock lock(mutex);
        if (chunks.empty()) wake.wait_for(lock, 100ms, [&] { return stopping || !inbox.empty(); });
        if (stopping) break;
        while (!inbox.empty()) {
          auto [id, c] = std::move(inbox.front());
          inbox.pop_front();
          chunks.emplace(id, std::move(c));
          queue.push_back(id);
        }
      }
      try {
        dispatch();
        receive(transport::after(queue.empty() ? 5ms : 1ms));
      } catch (const decode_error&) {
        results->done();  // a result that is not one (over the frame limit): its chunk is
                          // retried or fails when its worker is found dead or stuck
      } catch (const error&) {
        // A ring a worker corrupted: reaping below finds which worker died.
        std::this_thread::sleep_for(1ms);
      }
      if (clock::now() - last_reap >= reap_every) {
        reap();
        last_reap = clock::now();
      }
    }
    shut_down();
  }

  // Gives queued chunks to workers with room, least loaded first.
  void dispatch() {
    std::vector<bool> full(workers.size(), false);  // could not take a chunk just now
    while (!queue.empty()) {
      std::size_t best = workers.size();
      for (std::size_t i = 0; i < workers.size(); ++i) {
        const worker& w = workers[i];
        if (w.pid > 0 && !full[i] && w.outstanding.size() < in_flight_per_worker &&
            (best == workers.size() || w.outstanding.size() < workers[best].outstanding.size()))
          best = i;
      }
      if (best == workers.size()) return;
      std::uint64_t id = queue.front();
      worker& w = workers[best];
      if (!w.outstanding.empty() && !goes_whole(chunks.at(id).bytes.size())) return;
      prepare_with_id(*w.tasks, id, chunks.at(id).bytes);
      if (!w.tasks->commit({}, transport::deadline{})) {
        full[best] = true;  // not started yet, or its queue is full: try the others
        continue;
      }
      w.outstanding.push_back(id);
      queue.pop_front();
    }
  }

  // Whether a chunk of `size` bytes fits in the pool of its worker's channel, so that sending
  // it never waits for the worker (with room for the id, the chunk header and alignment).
  bool goes_whole(std::size_t size) const { return size + 8 + 128 <= opts.channel.shm_pool_bytes; }

  // Takes results until `until`, or until none is left once one came.
  void receive(transport::deadline until) {
    transport::received msg;
    while (results->recv(msg, until) == transport::recv_status::frame) {
      std::uint64_t id = 0;
      std::span<const std::byte> body;
      if (split_id(msg.frame, id, body)) complete(id, body);
      results->done();
      until = transport::deadline{};
    }
  }

  void complete(std::uint64_t id, std::span<const std::byte> body) {
    for (worker& w : workers) {
      auto it = std::find(w.outstanding.begin(), w.outstanding.end(), id);
      if (it != w.outstanding.end()) w.outstanding.erase(it);
    }
    auto it = chunks.find(id);
    if (it == chunks.end()) return;  // answered already (sent before its worker died)
    chunk c = std::move(it->second);
    chunks.erase(it);
    c.done(body);
    recycle(std::move(c.bytes));
  }

  void recycle(std::vector<std::byte>&& bytes) {
    if (bytes.capacity() > spare_bytes_max) return;
    bytes.clear();
    std::lock_guard lock(mutex);
    if (spare.size() < spare_buffers_max * workers.size()) spare.push_back(std::move(bytes));
  }

  // Replaces dead workers; their unanswered chunks go again, one input at a time.
  void reap() {
    for (std::size_t w = 0; w < workers.size(); ++w) {
      int status = 0;
      if (workers[w].pid <= 0) continue;
      if (::waitpid(workers[w].pid, &status, WNOHANG) != workers[w].pid) continue;
      restarts++;
      receive(transport::deadline{});  // what it sent before dying counts
      std::deque<std::uint64_t> lost = std::move(workers[w].outstanding);
      workers[w].tasks->close();
      std::string why = "brine: pool worker " + std::to_string(workers[w].pid) + " " +
                        death(status) + " while running this task";
      std::vector<std::uint64_t> again;
      // A worker runs its chunks in order: the first unanswered one was running when it died;
      // those behind it never started and go again as they are.
      bool running = true;
      for (std::uint64_t id : lost) {
        auto it = chunks.find(id);
        if (it == chunks.end()) continue;
        if (!std::exchange(running, false)) {
          again.push_back(id);
          continue;
        }
        chunk c = std::move(it->second);
        chunks.erase(it);
        if (c.tries >= opts.retries) {
          c.fail(std::make_exception_ptr(remote_error("brine::worker_died", why)));
          continue;
        }
        // One input per chunk from now on, so that only a killer input fails. The results of
        // the pieces are joined back into one reply for the original chunk.
        std::vector<std::vector<std::byte>> pieces;
        try {
          pieces = fns.split(c.bytes);
        } catch (...) {
          c.fail(std::current_exception());
          continue;
        }
        requeue_split(std::move(c), std::move(pieces), again);
      }
      queue.insert(queue.begin(), again.begin(), again.end());
      // A worker that could not open its channels (exit code 2) is not replaced: another
      // would fail alike. The others carry on with its share.
      bool no_channels = WIFEXITED(status) && WEXITSTATUS(status) == setup_failed;
      workers[w].pid = -1;
      if (!no_channels) {
        try {
          spawn(w);
        } catch (...) {
        }
      }
    }
    bool any =
        std::any_of(workers.begin(), workers.end(), [](const worker& w) { return w.pid > 0; });
    if (!any && !chunks.empty()) {
      auto none = std::make_exception_ptr(
          transport_error("brine: no pool worker is left: they could not open their channels"));
      for (auto& [id, c] : chunks)
        c.fail(none);
      chunks.clear();
      queue.clear();
    }
  }

  // Sends the pieces of a chunk as chunks of their own, and completes the original once all
  // have come back, with their results joined in order.
  void requeue_split(chunk c, std::vector<std::vector<std::byte>> pieces,
                     std::vector<std::uint64_t>& again) {
    if (pieces.size() == 1) {
      ++c.tries;
      std::uint64_t id = ++next_id;
      again.push_back(id);
      chunks.emplace(id, std::move(c));
      return;
    }
    struct join {
      std::vector<std::vector<std::byte>> parts;
      std::size_t left;
      std::exception_ptr failed;
      chunk original;
    };
    auto j = std::make_shared<join>();
    j->parts.resize(pieces.size());
    j->left = pieces.size();
    j->original = std::move(c);
    for (std::size_t i = 0; i < pieces.size(); ++i) {
      chunk piece;
      piece.bytes = std::move(pieces[i]);
      piece.tries = j->original.tries + 1;
      auto finish = [this, j] {
        if (--j->left != 0) return;
        if (j->failed) return j->original.fail(j->failed);
        std::vector<std::byte> joined;
        try {
          joined = fns.join(j->parts);
        } catch (...) {
          return j->original.fail(std::current_exception());
        }
        j->original.done(joined);
      };
      piece.done = [j, i, finish](std::span<const std::byte> body) {
        j->parts[i].assign(body.begin(), body.end());
        finish();
      };
      // A piece that kept killing workers fails alone; the others keep their results.
      piece.fail = [this, j, i, finish](std::exception_ptr e) {
        try {
          std::rethrow_exception(e);
        } catch (const remote_error& r) {
          j->parts[i] = fns.failed(r.type(), r.message());
        } catch (...) {
          if (!j->failed) j->failed = e;
        }
        finish();
      };
      std::uint64_t id = ++next_id;
      again.push_back(id);
      chunks.emplace(id, std::move(piece));
    }
  }

  void shut_down() {
    for (worker& w : workers)
      if (w.tasks) w.tasks->close();  // end of stream: idle workers exit
    auto until = clock::now() + opts.shutdown_grace;
    for (std::size_t i = 0; i < workers.size(); ++i) {
      worker& w = workers[i];
      if (w.pid <= 0) continue;
      int status = 0;
      while (::waitpid(w.pid, &status, WNOHANG) == 0) {
        if (clock::now() >= until) {
          ::kill(w.pid, SIGKILL);
          ::waitpid(w.pid, &status, 0);
          // Its channel outlived both ends; joining and leaving it again removes it.
          try {
            std::vector<std::string> url{tasks_url(i, w.generation)};
            transport::open_sender(transport::pattern::pipeline, url, task_options(), 0)->close();
          } catch (const error&) {
          }
          break;
        }
        std::this_thread::sleep_for(2ms);
      }
    }
    results->close();
    auto closed = std::make_exception_ptr(channel_closed("brine: the pool was destroyed"));
    for (auto& [id, c] : chunks)
      c.fail(closed);
    chunks.clear();
    std::lock_guard lock(mutex);
    for (auto& [id, c] : inbox)
      c.fail(closed);
    inbox.clear();
  }
};

core::core(unsigned workers, codec c, const pool_options& opts) : impl_(std::make_unique<impl>()) {
  static std::atomic<unsigned> pools{0};
  impl& s = *impl_;
  s.fns = std::move(c);
  s.opts = opts;
  s.base = "shm://brine-pool." + std::to_string(::getpid()) + "." + std::to_string(pools++);
  s.workers.resize(workers);
  s.pids_now.assign(workers, -1);
  // The workers are forked by the dispatcher thread, which lives as long as the pool: a
  // worker's PR_SET_PDEATHSIG fires when the thread that forked it ends.
  s.thread = std::thread([&s] { s.run(); });
  std::unique_lock lock(s.mutex);
  s.wake.wait(lock, [&] { return s.started; });
  if (s.start_error) {
    lock.unlock();
    s.thread.join();
    std::rethrow_exception(s.start_error);
  }
}

core::~core() {
  {
    std::lock_guard lock(impl_->mutex);
    impl_->stopping = true;
  }
  impl_->wake.notify_all();
  impl_->thread.join();
}

void core::submit(std::vector<std::byte> chunk_bytes, done_fn done, fail_fn fail) {
  std::lock_guard lock(impl_->mutex);
  if (impl_->stopping) {
    fail(std::make_exception_ptr(channel_closed("brine: the pool was destroyed")));
    return;
  }
  std::uint64_t id = ++impl_->next_id;
  impl_->inbox.emplace_back(
      id, impl::chunk{std::move(chunk_bytes), 0, std::move(done), std::move(fail)});
  impl_->wake.notify_all();
  // The dispatcher may be waiting for results: it dispatches this chunk now instead.
  impl_->results->wake();
}

std::vector<std::byte> core::buffer() {
  std::lock_guard lock(impl_->mutex);
  if (impl_->spare.empty()) return {};
  std::vector<std::byte> b = std::move(impl_->spare.back());
  impl_->spare.pop_back();
  return b;
}

unsigned core::workers() const noexcept { return static_cast<unsigned>(impl_->workers.size()); }

std::size_t core::restarts() const noexcept { return impl_->restarts.load(); }

std::vector<pid_t> core::pids() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->pids_now;
}

}  // namespace brine::detail::pool
