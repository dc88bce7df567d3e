#pragma once

// brine::pool: worker processes that run one function on many inputs, like Python's
// multiprocessing.Pool. Inputs and results move over shared memory. docs/pool.md explains
// chunking, crashes and shutdown.

#include <sys/types.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <future>
#include <iterator>
#include <memory>
#include <mutex>
#include <ranges>
#include <span>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "brine/channel_options.hpp"
#include "brine/codec.hpp"
#include "brine/error.hpp"
#include "brine/reflect.hpp"
#include "brine/rpc.hpp"

namespace brine {

namespace detail::pool {
inline channel_options channel_defaults() {
  channel_options o;
  o.shm_spin_polls = 0;
  return o;
}
}  // namespace detail::pool

/// Settings of a pool.
struct pool_options {
  /// Inputs per message to a worker; 0 chooses: about four chunks per worker for map(), one
  /// input for submit().
  std::size_t chunk_size = 0;
  /// How many times the inputs of a worker that died are given to another worker (one at a
  /// time, so that only the input that kills workers fails) before they fail.
  unsigned retries = 1;
  /// How long workers get to finish their current task when the pool is destroyed, before they
  /// are killed.
  std::chrono::milliseconds shutdown_grace{1000};
  /// Transport settings for the shared-memory channels between the pool and its workers
  /// (decode limits, queue depth). Their waits sleep at once (shm_spin_polls 0): the pool's
  /// thread waits while the workers compute, and spinning would take a core from them.
  channel_options channel = detail::pool::channel_defaults();
};

namespace detail::pool {

// A task that failed in a worker: its exception's type and message.
struct failure {
  std::string type;
  std::string message;
  BRINE_FIELDS(type, message)
};

// The process side of a pool: workers, their channels, crash handling. Moves encoded chunks;
// knows no C++ types (the template below encodes and decodes).
class core {
 public:
  // In a worker: turns an encoded chunk of inputs into an encoded chunk of results, valid until
  // the next call (a worker reuses its memory from chunk to chunk). Must not throw (failures of
  // single inputs are part of the result).
  using work_fn = std::function<std::span<const std::byte>(std::span<const std::byte>)>;
  // Splits an encoded chunk into encoded chunks of one input each.
  using split_fn = std::function<std::vector<std::vector<std::byte>>(std::span<const std::byte>)>;
  // Joins encoded result chunks into one, in order.
  using join_fn = std::function<std::vector<std::byte>(const std::vector<std::vector<std::byte>>&)>;
  // An encoded result chunk of one failed input.
  using failed_fn =
      std::function<std::vector<std::byte>(const std::string& type, const std::string& message)>;
  struct codec {
    work_fn work;
    split_fn split;
    join_fn join;
    failed_fn failed;
  };
  // Completes a chunk with its encoded results, or fails it.
  using done_fn = std::function<void(std::span<const std::byte>)>;
  using fail_fn = std::function<void(std::exception_ptr)>;

  core(unsigned workers, codec c, const pool_options& opts);
  ~core();
  core(const core&) = delete;
  core& operator=(const core&) = delete;

  // Queues a chunk; `done` or `fail` is called later on the pool's thread.
  void submit(std::vector<std::byte> chunk, done_fn done, fail_fn fail);

  // An empty buffer to encode a chunk into: one of a finished chunk where there is one, whose
  // memory is then already mapped (fresh pages cost more than encoding small tasks).
  std::vector<std::byte> buffer();

  unsigned workers() const noexcept;
  std::size_t restarts() const noexcept;
  std::vector<pid_t> pids() const;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

// The first parameter of a callable, by value.
template <class F>
using input_of = std::tuple_element_t<0, typename rpc::callable<F>::args>;

template <class F>
using output_of = rpc::result_t<typename rpc::callable<F>::result>;

}  // namespace detail::pool

/// Runs `fn` in `workers` processes. `fn` takes one serializable input (by value or const&)
/// and returns a serializable result (void gives std::monostate).
/// Thread-safety: every member may be called from any thread.
template <class F>
class pool {
 public:
  using input_type = detail::pool::input_of<F>;
  using result_type = detail::pool::output_of<F>;

  /// Starts `workers` processes (fork) that run `fn`. Throws: transport_error (no shared
  /// memory), error (fork failed).
  pool(unsigned workers, F fn, pool_options opts = {})
      : opts_(std::move(opts)),
        core_(std::max(1u, workers), make_codec(std::move(fn), opts_.channel.decode_limits),
              opts_) {}

  /// Runs fn(x) in a worker. The future throws remote_error if fn threw (type and message of
  /// its exception), or if its worker died on it more than `retries` times.
  std::future<result_type> submit(const input_type& x) {
    auto promise = std::make_shared<std::promise<result_type>>();
    std::future<result_type> f = promise->get_future();
    send(
        inputs_msg{x}, [promise](results& out) { settle(*promise, out); },
        [promise](std::exception_ptr e) { promise->set_exception(e); });
    return f;
  }

  /// fn applied to every input, in input order. Throws: remote_error for the first input (in
  /// order) whose task failed, after every task has finished.
  template <class Range>
  std::vector<result_type> map(const Range& inputs) {
    return map(inputs, [](std::size_t, std::size_t) {});
  }

  /// map() that calls `progress(done, total)` in the calling thread as results come in.
  template <class Range, class Progress>
  std::vector<result_type> map(const Range& inputs, Progress progress) {
    std::vector<result_type> out;
    out.reserve(sized(inputs));
    run(
        inputs,
        [&](std::vector<result_type>& values, std::size_t n) {
          out.insert(out.end(), std::make_move_iterator(values.begin()),
                     std::make_move_iterator(values.begin() + static_cast<std::ptrdiff_t>(n)));
        },
        progress);
    return out;
  }

  /// Streams results to `sink(result_type&&)` in input order while later inputs still run;
  /// at most a few chunks per worker are in flight, so `inputs` may be larger than memory (an
  /// input range read once, front to back). Throws: as map(), at the first failed task in
  /// order (later results are then not delivered).
  template <class Range, class Sink, class Progress>
  void imap(const Range& inputs, Sink sink, Progress progress) {
    run(
        inputs,
        [&](std::vector<result_type>& values, std::size_t n) {
          for (std::size_t i = 0; i < n; ++i)
            sink(std::move(values[i]));
        },
        progress);
  }

  /// imap() without progress.
  template <class Range, class Sink>
  void imap(const Range& inputs, Sink sink) {
    imap(inputs, std::move(sink), [](std::size_t, std::size_t) {});
  }

  /// Tasks finished (successfully or not) since the pool started.
  std::size_t completed() const noexcept { return completed_.load(); }

  /// Worker processes.
  unsigned workers() const noexcept { return core_.workers(); }

  /// Workers that died since the pool started (each replaced by a new one).
  std::size_t restarts() const noexcept { return core_.restarts(); }

  /// The workers' process ids now.
  std::vector<pid_t> pids() const { return core_.pids(); }

 private:
  // A chunk's results: one value per input (default-made where the task failed), and the
  // failures as (index, exception type, message), in index order. Results of trivially
  // copyable types then travel as one block.
  using failures_t = std::vector<std::tuple<std::uint64_t, std::string, std::string>>;
  using results = std::tuple<std::vector<result_type>, failures_t>;

  static void settle(std::promise<result_type>& p, results& r) {
    auto& [values, failures] = r;
    if (!failures.empty()) {
      const auto& [at, type, message] = failures.front();
      p.set_exception(std::make_exception_ptr(remote_error(type, message)));
    } else {
      p.set_value(std::move(values.at(0)));
    }
  }

  // Sends the inputs in chunks, at most a few per worker in flight, and gives the results of
  // each chunk in order to `take(values, n)`: its first n values, all but where a task failed.
  template <class Range, class Take, class Progress>
  void run(const Range& inputs, Take take, Progress progress) {
    const std::size_t total = sized(inputs);
    const std::size_t chunk = chunk_for(total);
    const std::size_t window = std::size_t{core_.workers()} * 4;
    std::deque<std::future<results>> flight;
    std::size_t delivered = 0;
    auto deliver_front = [&] {
      results r = flight.front().get();
      flight.pop_front();
      auto& [values, failures] = r;
      std::size_t good = failures.empty() ? values.size() : std::get<0>(failures.front());
      take(values, good);
      delivered += good;
      if (good < values.size()) {
        const auto& [at, type, message] = failures.front();
        throw remote_error(type, message);
      }
      give_back(std::move(r));
      progress(delivered, total);
    };
    auto flush = [&](const auto& batch) {
      if (batch.empty()) return;
      auto promise = std::make_shared<std::promise<results>>();
      flight.push_back(promise->get_future());
      send(
          batch, [promise](results& out) { promise->set_value(std::move(out)); },
          [promise](std::exception_ptr e) { promise->set_exception(e); });
      while (flight.size() >= window)
        deliver_front();
    };
    try {
      if constexpr (std::ranges::contiguous_range<const Range> &&
                    std::is_same_v<std::ranges::range_value_t<const Range>, input_type> &&
                    !std::is_same_v<input_type, bool>) {
        // Chunks are encoded from where the inputs are, without a copy.
        std::span<const input_type> all(std::ranges::data(inputs), std::ranges::size(inputs));
        for (std::size_t at = 0; at < all.size(); at += chunk)
          flush(all.subspan(at, std::min(chunk, all.size() - at)));
      } else {
        inputs_msg batch;
        for (const auto& x : inputs) {
          batch.push_back(x);
          if (batch.size() >= chunk) {
            flush(batch);
            batch.clear();
          }
        }
        flush(batch);
      }
      while (!flight.empty())
        deliver_front();
    } catch (...) {
      // Let every chunk in flight finish first: none may outlive this call's sink.
      for (auto& f : flight)
        f.wait();
      throw;
    }
  }

  template <class Range>
  static std::size_t sized(const Range& r) {
    if constexpr (requires { std::size(r); }) {
      return static_cast<std::size_t>(std::size(r));
    } else {
      return 0;  // unknown
    }
  }

  std::size_t chunk_for(std::size_t total) const {
    if (opts_.chunk_size > 0) return opts_.chunk_size;
    if (total == 0) return 64;  // a stream of unknown length
    std::size_t parts = std::size_t{core_.workers()} * 4;
    return std::max<std::size_t>(1, (total + parts - 1) / parts);
  }

  using inputs_msg = std::vector<input_type>;

  // Sends inputs_msg or a span of inputs (not of bools, which a vector holds as bits).
  template <class Inputs, class Done, class Fail>
  void send(const Inputs& inputs, Done done, Fail fail) {
    std::vector<std::byte> bytes = core_.buffer();
    if constexpr (std::is_same_v<Inputs, inputs_msg>)
      dumps_append(inputs, bytes);
    else
      detail::dumps_append_span(inputs, bytes);
    limits lim = opts_.channel.decode_limits;
    std::size_t n = inputs.size();
    core_.submit(
        std::move(bytes),
        [this, done, fail, lim, n](std::span<const std::byte> reply) mutable {
          results out = spare();
          try {
            loads_into(reply, out, lim);
            auto& [values, failures] = out;
            if (values.size() != n) throw decode_error("brine: a worker returned a wrong count", 0);
            for (const auto& f : failures)
              if (std::get<0>(f) >= n)
                throw decode_error("brine: a worker's failure is out of range", 0);
          } catch (...) {
            completed_ += n;
            fail(std::current_exception());
            return;
          }
          completed_ += n;
          done(out);
        },
        [this, fail, n](std::exception_ptr e) {
          completed_ += n;
          fail(e);
        });
  }

  // Results of delivered chunks, emptied, whose memory the next chunks' results reuse.
  results spare() {
    std::lock_guard lock(spare_mutex_);
    if (spare_.empty()) return {};
    results r = std::move(spare_.back());
    spare_.pop_back();
    return r;
  }

  void give_back(results&& r) {
    std::get<0>(r).clear();
    std::get<1>(r).clear();
    std::lock_guard lock(spare_mutex_);
    if (spare_.size() < std::size_t{core_.workers()} * 4 + 1) spare_.push_back(std::move(r));
  }

  static detail::pool::core::work_fn make_work(F fn, limits lim) {
    // A worker's inputs, results and reply keep their memory from chunk to chunk.
    struct memory {
      inputs_msg in;
      results out;
      std::vector<std::byte> reply;
    };
    return [fn = std::move(fn), lim, m = std::make_shared<memory>()](
               std::span<const std::byte> bytes) mutable -> std::span<const std::byte> {
      auto& [values, failures] = m->out;
      values.clear();
      failures.clear();
      m->reply.clear();
      inputs_msg& in = m->in;
      try {
        loads_into(bytes, in, lim);
      } catch (const std::exception& e) {
        values.emplace_back();
        failures.emplace_back(0, "brine::decode_error", e.what());
        dumps_append(m->out, m->reply);
        return m->reply;
      }
      values.reserve(in.size());
      for (auto&& x : in) {
        std::uint64_t at = values.size();
        try {
          if constexpr (std::is_void_v<typename detail::rpc::callable<F>::result>) {
            fn(x);
            values.emplace_back();
          } else {
            values.push_back(fn(x));
          }
        } catch (const remote_error& e) {
          failures.emplace_back(at, e.type(), e.message());
        } catch (const std::exception& e) {
          failures.emplace_back(at, detail::exception_type(e), e.what());
        } catch (...) {
          failures.emplace_back(at, "unknown exception", "not a std::exception");
        }
        if (values.size() == at) values.emplace_back();
      }
      dumps_append(m->out, m->reply);
      return m->reply;
    };
  }

  static detail::pool::core::codec make_codec(F fn, limits lim) {
    detail::pool::core::codec c;
    c.work = make_work(std::move(fn), lim);
    c.split = [lim](std::span<const std::byte> bytes) {
      std::vector<std::vector<std::byte>> out;
      for (auto&& x : loads<inputs_msg>(bytes, lim))
        out.push_back(dumps(inputs_msg{input_type(std::move(x))}));
      return out;
    };
    c.join = [lim](const std::vector<std::vector<std::byte>>& parts) {
      results all;
      auto& [values, failures] = all;
      for (const auto& p : parts) {
        auto [v, f] = loads<results>(p, lim);
        for (auto& [at, type, message] : f)
          failures.emplace_back(at + values.size(), std::move(type), std::move(message));
        for (auto&& x : v)
          values.push_back(std::move(x));
      }
      return dumps(all);
    };
    c.failed = [](const std::string& type, const std::string& message) {
      results one;
      std::get<0>(one).emplace_back();
      std::get<1>(one).emplace_back(0, type, message);
      return dumps(one);
    };
    return c;
  }

  // Notes the message types before any fork: a worker must not be the first to, as another
  // thread of the parent might hold the codec's registry lock at the instant of a fork.
  static bool prime() {
    detail::note_type_once<inputs_msg>();
    detail::note_type_once<results>();
    return true;
  }

  pool_options opts_;
  std::atomic<std::size_t> completed_{0};
  std::mutex spare_mutex_;
  std::vector<results> spare_;
  [[maybe_unused]] bool primed_ = prime();
  detail::pool::core core_;
};

}  // namespace brine
