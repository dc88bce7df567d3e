// The request/reply engines behind brine::server and brine::client: one thread per client or
// server owns the transport link; callers and handler threads hand it work through queues.

#include "brine/rpc.hpp"

#include <cxxabi.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <typeinfo>
#include <unordered_map>

#include "brine/transport.hpp"

namespace brine {

using namespace std::chrono_literals;

namespace detail::rpc {

using clock = std::chrono::steady_clock;

void throw_reply(status s, const std::string& type, const std::string& message,
                 const std::string& method, const std::string& signature) {
  switch (s) {
    case status::remote_exception:
      throw remote_error(type, message);
    case status::unknown_method:
      throw remote_error("brine::unknown_method", message);
    case status::wrong_types:
      throw type_mismatch("brine: the call " + method + " as " + signature +
                          " does not match the server's " + method + " as " + message);
    case status::expired:
      throw timeout_error("brine: the server skipped " + method +
                          ": its deadline had passed before it could run");
    case status::bad_request:
      throw decode_error(
          "brine: the server could not read the arguments of " + method + ": " + message, 0);
    case status::ok:
      break;
  }
  throw decode_error("brine: a reply to " + method + " has an unknown status", 0);
}

namespace {

// The first frame of `bytes` and what follows it. Throws: decode_error.
std::pair<std::span<const std::byte>, std::span<const std::byte>> split(
    std::span<const std::byte> bytes, const limits& lim) {
  std::size_t n = frame_size(bytes, lim);
  if (n > bytes.size())
    throw decode_error("brine: a request/reply message is shorter than its first frame", 0);
  return {bytes.first(n), bytes.subspan(n)};
}

std::string demangled(const char* name) {
  int rc = 0;
  char* s = abi::__cxa_demangle(name, nullptr, nullptr, &rc);
  std::string out = rc == 0 && s != nullptr ? s : name;
  std::free(s);
  return out;
}

std::vector<std::byte> make_reply(std::uint64_t id, status s, std::string type,
                                  std::string message) {
  std::vector<std::byte> out;
  dumps_append(reply_head{id, static_cast<std::uint8_t>(s), std::move(type), std::move(message)},
               out);
  return out;
}

constexpr std::string_view methods_method = "brine.methods";

}  // namespace
}  // namespace detail::rpc

std::string detail::exception_type(const std::exception& e) {
  return detail::rpc::demangled(typeid(e).name());
}

// ---------------------------------------------------------------- server

struct server::impl {
  struct job {
    std::string client;
    std::uint64_t id = 0;
    const detail::rpc::method* m = nullptr;
    std::vector<std::byte> args;
    detail::rpc::clock::time_point deadline;
  };
  struct outgoing {
    std::string client;
    std::vector<std::byte> bytes;
  };

  rpc_options opts;
  std::unique_ptr<transport::server_link> link;
  std::string bound;
  std::map<std::string, detail::rpc::method, std::less<>> methods;

  std::mutex mutex;  // guards everything below
  std::condition_variable work;
  std::deque<job> jobs;
  std::deque<outgoing> replies;
  std::size_t busy = 0;  // jobs taken by workers, not yet replied
  bool stopping = false;
  bool running = false;
  bool serving = false;  // serve() runs in some thread
  std::thread io;
  std::vector<std::thread> workers;
  std::set<std::thread::id> own_threads;

  std::vector<method_info> list() const {
    std::vector<method_info> out;
    for (const auto& [name, m] : methods)
      out.push_back({name,
                     m.signature,
                     {m.args_schema.begin(), m.args_schema.end()},
                     {m.result_schema.begin(), m.result_schema.end()},
                     m.args_fingerprint,
                     m.result_fingerprint});
    return out;
  }

  // Runs a handler and makes its reply.
  std::vector<std::byte> run(const job& j) { return run(j.id, *j.m, j.args, j.deadline); }

  // Runs a call unless `until` (none: it was just received) has passed.
  std::vector<std::byte> run(std::uint64_t id, const detail::rpc::method& m,
                             std::span<const std::byte> args,
                             std::optional<detail::rpc::clock::time_point> until) {
    namespace r = detail::rpc;
    if (until && r::clock::now() > *until)
      return r::make_reply(id, r::status::expired, {}, "deadline passed");
    std::vector<std::byte> out = r::make_reply(id, r::status::ok, {}, {});  // the result follows
    try {
      m.invoke(args, opts.channel.decode_limits, out);
      return out;
    } catch (const r::bad_arguments& e) {
      if (e.wrong_types)
        return r::make_reply(id, r::status::wrong_types, {}, m.signature + " (" + e.message + ")");
      return r::make_reply(id, r::status::bad_request, {}, e.message);
    } catch (const brine::remote_error& e) {
      return r::make_reply(id, r::status::remote_exception, e.type(), e.message());
    } catch (const std::exception& e) {
      return r::make_reply(id, r::status::remote_exception, detail::exception_type(e), e.what());
    } catch (...) {
      return r::make_reply(id, r::status::remote_exception, "unknown exception",
                           "a handler threw something not derived from std::exception");
    }
  }

  // Reads one request and either answers it at once (errors, built-ins), runs it here
  // (`inline_handlers`), or queues it for the workers.
  void take(const transport::received& in, const std::string& client, bool inline_handlers) {
    namespace r = detail::rpc;
    const limits& lim = opts.channel.decode_limits;
    r::request_head head;
    std::span<const std::byte> args;
    try {
      auto [first, rest] = r::split(in.frame, lim);
      loads_into(first, head, lim);
      args = rest;
    } catch (const brine::decode_error&) {
      return;  // not a brine request: there is no id to answer to
    }
    auto& [id, args_fp, result_fp, timeout_ms, name] = head;
    // take() runs in the thread that owns the link.
    auto send = [&](std::vector<std::byte> bytes) { reply_now(client, std::move(bytes)); };
    if (name == r::methods_method) {
      std::vector<std::byte> out = r::make_reply(id, r::status::ok, {}, {});
      dumps_append(list(), out);
      return send(std::move(out));
    }
    auto it = methods.find(name);
    if (it == methods.end()) {
      std::string known;
      for (const auto& [n, m] : methods)
        known += (known.empty() ? "" : ", ") + n;
      return send(r::make_reply(
          id, r::status::unknown_method, {},
          "no method '" + name + "' here; this server has: " + (known.empty() ? "(none)" : known)));
    }
    const r::method& m = it->second;
    if (args_fp != m.args_fingerprint || result_fp != m.result_fingerprint)
      return send(r::make_reply(id, r::status::wrong_types, {}, m.signature));
    if (inline_handlers) {
      // Run now, as it came: its deadline cannot have passed unless it had none to begin with
      // (no clock read for it).
      if (timeout_ms == 0)
        return send(r::make_reply(id, r::status::expired, {}, "deadline passed"));
      return send(run(id, m, args, std::nullopt));  // decoded in place
    }
    auto until = r::clock::now() + std::chrono::milliseconds(timeout_ms);
    job j{client, id, &m, {args.begin(), args.end()}, until};
    std::lock_guard lock(mutex);
    jobs.push_back(std::move(j));
    work.notify_one();
  }

  void queue_reply(const std::string& client, std::vector<std::byte> bytes) {
    std::lock_guard lock(mutex);
    replies.push_back({client, std::move(bytes)});
  }

  // In the thread that owns the link: sends a reply at once if no older one waits and the
  // transport takes it without waiting, else queues it for flush().
  void reply_now(const std::string& client, std::vector<std::byte> bytes) {
    {
      std::lock_guard lock(mutex);
      if (!replies.empty()) {
        replies.push_back({client, std::move(bytes)});
        return;
      }
    }
    try {
      std::span<std::byte> buf = link->prepare(bytes.size());
      std::copy(bytes.begin(), bytes.end(), buf.begin());
      if (link->reply(client, transport::deadline{})) return;
    } catch (const brine::error&) {
      return;  // this client's way back is broken: its reply is dropped (as in flush)
    }
    queue_reply(client, std::move(bytes));
  }

  // Sends queued replies while the transport takes them without waiting (or until `until`).
  // A client whose way back is full keeps its replies, in order, for the next flush; the
  // replies to other clients go on.
  void flush(transport::deadline until) {
    {
      std::lock_guard lock(mutex);
      if (replies.empty()) return;  // as almost always: nothing below is made
    }
    std::deque<outgoing> held;
    std::set<std::string, std::less<>> full;
    for (;;) {
      outgoing o;
      {
        std::lock_guard lock(mutex);
        if (replies.empty()) break;
        o = std::move(replies.front());
        replies.pop_front();
      }
      if (full.count(o.client) != 0) {
        held.push_back(std::move(o));
        continue;
      }
      bool sent = true;
      try {
        std::span<std::byte> buf = link->prepare(o.bytes.size());
        std::copy(o.bytes.begin(), o.bytes.end(), buf.begin());
        sent = link->reply(o.client, until);
      } catch (const brine::error&) {
        // This client's way back is broken (a corrupt or foreign reply segment): its reply is
        // dropped; the others still go.
      }
      if (!sent) {
        full.insert(o.client);
        held.push_back(std::move(o));
      }
    }
    if (held.empty()) return;
    std::lock_guard lock(mutex);
    // Replies queued meanwhile go after the held ones, which are older.
    for (auto i = held.rbegin(); i != held.rend(); ++i)
      replies.push_front(std::move(*i));
  }

  void io_loop(bool inline_handlers) {
    transport::received in;
    std::string client;
    // Handlers run here: only stop() wakes this thread, and may take a little longer to be seen.
    link->lazy_wake(inline_handlers);
    for (;;) {
      bool waiting_replies;
      {
        std::lock_guard lock(mutex);
        if (stopping) break;
        waiting_replies = !replies.empty();
      }
      if (waiting_replies) {
        flush(transport::deadline{});
        std::lock_guard lock(mutex);
        waiting_replies = !replies.empty();
      }
      // Replies that could not leave are retried soon; otherwise wait for a request or wake().
      transport::deadline until =
          waiting_replies ? transport::after(1ms) : transport::about_after(100ms);
      try {
        if (link->recv(in, client, until) == transport::recv_status::frame)
          take(in, client, inline_handlers);
      } catch (const brine::decode_error&) {
        // A malformed message from some peer: skip it; the server goes on.
      } catch (const brine::error&) {
        // A transport failure: nothing a handler can mend; try again shortly.
        std::this_thread::sleep_for(10ms);
      }
    }
    // Drain: the workers finish what they took, then their replies leave within the linger.
    {
      std::unique_lock lock(mutex);
      work.notify_all();
      work.wait(lock, [&] { return jobs.empty() && busy == 0; });
    }
    transport::deadline last = transport::after(opts.channel.linger);
    for (;;) {
      flush(transport::after(10ms));
      std::lock_guard lock(mutex);
      if (replies.empty() || detail::rpc::clock::now() >= last) break;
    }
  }

  void worker_loop() {
    std::unique_lock lock(mutex);
    for (;;) {
      work.wait(lock, [&] { return stopping || !jobs.empty(); });
      if (jobs.empty()) {
        if (stopping) return;
        continue;
      }
      job j = std::move(jobs.front());
      jobs.pop_front();
      ++busy;
      lock.unlock();
      std::vector<std::byte> out = run(j);
      lock.lock();
      replies.push_back({std::move(j.client), std::move(out)});
      --busy;
      if (stopping) work.notify_all();
      lock.unlock();
      link->wake();
      lock.lock();
    }
  }
};

server::server(const std::string& url, rpc_options opts)
    : server(std::vector<std::string>{url}, std::move(opts)) {}

server::server(std::vector<std::string> urls, rpc_options opts) : impl_(std::make_unique<impl>()) {
  impl_->opts = std::move(opts);
  impl_->link = transport::open_server(urls, impl_->opts.channel);
  impl_->bound = impl_->link->endpoint();
}

server::~server() {
  stop();
  if (impl_->link) impl_->link->close();
}

void server::add(std::string name, detail::rpc::method m) {
  std::lock_guard lock(impl_->mutex);
  if (impl_->running) throw error("brine: handle() must come before start() or serve()");
  if (name == detail::rpc::methods_method) throw error("brine: the name brine.methods is taken");
  impl_->methods.insert_or_assign(std::move(name), std::move(m));
}

void server::start(unsigned threads) {
  impl& s = *impl_;
  std::lock_guard lock(s.mutex);
  if (s.running) throw error("brine: this server already runs");
  if (s.stopping) throw error("brine: this server was stopped");
  s.running = true;
  bool inline_handlers = threads == 0;
  s.io = std::thread([&s, inline_handlers] { s.io_loop(inline_handlers); });
  s.own_threads.insert(s.io.get_id());
  for (unsigned i = 0; i < threads; ++i) {
    s.workers.emplace_back([&s] { s.worker_loop(); });
    s.own_threads.insert(s.workers.back().get_id());
  }
}

void server::serve() {
  impl& s = *impl_;
  {
    std::lock_guard lock(s.mutex);
    if (s.running) throw error("brine: this server already runs");
    if (s.stopping) return;  // stopped before it began
    s.running = true;
    s.serving = true;
    s.own_threads.insert(std::this_thread::get_id());
  }
  s.io_loop(/*inline_handlers=*/true);
  std::lock_guard lock(s.mutex);
  s.serving = false;
  s.own_threads.erase(std::this_thread::get_id());
  s.work.notify_all();
}

void server::stop() noexcept {
  impl& s = *impl_;
  {
    std::lock_guard lock(s.mutex);
    s.stopping = true;
    s.work.notify_all();
    if (s.own_threads.count(std::this_thread::get_id()) != 0) {
      s.link->wake();
      return;  // a handler stops its own server: the threads end after it returns
    }
  }
  s.link->wake();
  std::unique_lock lock(s.mutex);
  // serve() in another thread: wait until it has left (its last replies sent).
  while (s.serving) {
    lock.unlock();
    s.link->wake();
    lock.lock();
    s.work.wait_for(lock, std::chrono::milliseconds(10));
  }
  // One caller joins the threads; a concurrent stop() finds them gone.
  std::thread io = std::move(s.io);
  std::vector<std::thread> workers = std::move(s.workers);
  s.workers.clear();
  lock.unlock();
  if (io.joinable()) io.join();
  for (std::thread& t : workers)
    if (t.joinable()) t.join();
}

std::string server::endpoint() const { return impl_->bound; }

std::vector<method_info> server::methods() const { return impl_->list(); }

// ---------------------------------------------------------------- client

struct client::impl {
  using clock = detail::rpc::clock;
  // After a lost connection, how long replies sent before it may take to show up.
  static constexpr auto reply_grace = 20ms;
  struct entry {
    detail::rpc::call c;
    bool sent = false;
    clock::time_point queued;
  };

  rpc_options opts;
  std::string url;
  std::unique_ptr<transport::client_link> link;
  std::atomic<std::uint64_t> ids{0};

  std::mutex mutex;  // guards inbox, idempotent, stopping
  std::condition_variable wake;
  std::deque<std::pair<std::uint64_t, detail::rpc::call>> inbox;
  std::set<std::string, std::less<>> idempotent;
  bool stopping = false;
  // Asynchronous calls are queued or in flight: the I/O thread drives the link.
  std::atomic<bool> busy{false};
  std::thread io;

  // Whoever holds link_mutex owns the link and what follows: the I/O thread while asynchronous
  // calls are in flight, else a synchronous caller, who then needs no other thread at all.
  std::mutex link_mutex;
  std::unordered_map<std::uint64_t, entry> calls;
  std::set<std::pair<clock::time_point, std::uint64_t>> deadlines;
  std::deque<std::uint64_t> unsent;
  std::uint64_t seen_losses = 0;
  std::atomic<bool> link_connected{false};  // as the I/O thread last saw it

  void finish(std::uint64_t id, std::exception_ptr e) {
    auto it = calls.find(id);
    if (it == calls.end()) return;
    deadlines.erase({it->second.c.deadline, id});
    detail::rpc::call c = std::move(it->second.c);
    calls.erase(it);
    c.fail(std::move(e));
  }

  void take_inbox() {
    std::lock_guard lock(mutex);
    auto now = clock::now();
    while (!inbox.empty()) {
      auto [id, c] = std::move(inbox.front());
      inbox.pop_front();
      deadlines.insert({c.deadline, id});
      calls.emplace(id, entry{std::move(c), false, now});
      unsent.push_back(id);
    }
  }

  bool is_idempotent(const std::string& m) {
    std::lock_guard lock(mutex);
    return idempotent.count(m) != 0;
  }

  // Calls sent before a lost connection get no reply: fail them, or send idempotent ones again.
  void check_losses() {
    std::uint64_t losses = link->losses();
    if (losses == seen_losses) return;
    seen_losses = losses;
    // Replies the server sent before it went may still be on their way up; they count.
    transport::received in;
    auto until = clock::now() + reply_grace;
    while (link->recv(in, until) == transport::recv_status::frame) {
      deliver(in.frame);
      until = std::min(until, clock::now() + 1ms);
    }
    std::vector<std::uint64_t> lost;
    for (auto& [id, e] : calls)
      if (e.sent) lost.push_back(id);
    std::sort(lost.begin(), lost.end());
    for (std::uint64_t id : lost) {
      entry& e = calls.at(id);
      if (is_idempotent(e.c.method)) {
        e.sent = false;
        e.queued = clock::now();  // connect_timeout counts afresh for the resend
        unsent.push_front(id);
      } else {
        finish(id, std::make_exception_ptr(transport_error(
                       "brine: the server at " + url + " went away during the call to " +
                       e.c.method + " (not retried: the method is not marked idempotent)")));
      }
    }
    std::sort(unsent.begin(), unsent.end());  // ids grow with time: oldest first
  }

  void send_unsent() {
    while (!unsent.empty()) {
      std::uint64_t id = unsent.front();
      auto it = calls.find(id);
      if (it == calls.end()) {
        unsent.pop_front();
        continue;
      }
      const std::vector<std::byte>& bytes = it->second.c.request;
      std::span<std::byte> buf = link->prepare(bytes.size());
      std::copy(bytes.begin(), bytes.end(), buf.begin());
      if (!link->commit(transport::deadline{})) return;
      it->second.sent = true;
      unsent.pop_front();
    }
  }

  void expire() {
    auto now = clock::now();
    while (!deadlines.empty() && deadlines.begin()->first <= now) {
      std::uint64_t id = deadlines.begin()->second;
      const entry& e = calls.at(id);
      std::exception_ptr ex;
      if (!e.sent && !link->connected()) {
        ex = std::make_exception_ptr(transport_error("brine: no server at " + url + " for " +
                                                     e.c.method + " before its deadline"));
      } else {
        ex = std::make_exception_ptr(
            timeout_error("brine: no reply to " + e.c.method + " from " + url + " in time"));
      }
      finish(id, ex);
    }
    // A call that waited connect_timeout for any server at all fails as unreachable.
    if (unsent.empty() || link->connected()) return;
    for (std::uint64_t id : std::vector<std::uint64_t>(unsent.begin(), unsent.end())) {
      auto it = calls.find(id);
      if (it == calls.end() || now - it->second.queued < opts.channel.connect_timeout) continue;
      finish(id, std::make_exception_ptr(transport_error(
                     "brine: no server at " + url + " within " +
                     std::to_string(opts.channel.connect_timeout.count()) + " ms for " +
                     it->second.c.method + ": nothing listens there, or it is unreachable")));
    }
  }

  void deliver(std::span<const std::byte> frame) {
    namespace r = detail::rpc;
    const limits& lim = opts.channel.decode_limits;
    r::reply_head head;
    std::span<const std::byte> result;
    try {
      auto [first, rest] = r::split(frame, lim);
      loads_into(first, head, lim);
      result = rest;
    } catch (const brine::decode_error&) {
      return;  // not a reply of ours
    }
    auto& [id, st, type, message] = head;
    auto it = calls.find(id);
    if (it == calls.end()) return;  // timed out already, or a duplicate
    deadlines.erase({it->second.c.deadline, id});
    r::call c = std::move(it->second.c);
    calls.erase(it);
    c.complete(static_cast<r::status>(st), type, message, result);
  }

  void io_loop() {
    transport::received in;
    for (;;) {
      {
        std::unique_lock lock(mutex);
        wake.wait(lock, [&] { return stopping || !inbox.empty(); });
        if (stopping) break;
      }
      std::lock_guard link_lock(link_mutex);
      link->lazy_wake(false);  // new calls must leave at once
      drive(in);
    }
    std::lock_guard link_lock(link_mutex);
    take_inbox();
    fail_all(std::make_exception_ptr(channel_closed("brine: the client was destroyed")));
  }

  // Runs the link until no asynchronous call is left (or the client stops).
  void drive(transport::received& in) {
    for (;;) {
      {
        std::lock_guard lock(mutex);
        if (stopping) return;
        if (calls.empty() && inbox.empty()) {
          busy = false;
          return;
        }
      }
      try {
        take_inbox();
        check_losses();
        link_connected = link->connected();
        send_unsent();
        expire();
        // Calls that could not leave yet are retried soon; otherwise wait for a reply or wake().
        auto until = clock::now() + (unsent.empty() ? 50ms : 1ms);
        if (!deadlines.empty()) until = std::min(until, deadlines.begin()->first);
        while (link->recv(in, until) == transport::recv_status::frame) {
          deliver(in.frame);
          until = transport::deadline{};  // take whatever else is here, then loop
        }
      } catch (const brine::decode_error&) {
        // A malformed reply: skipped.
      } catch (...) {
        // The transport failed: every call in flight learns why; later calls try again.
        fail_all(std::current_exception());
        std::this_thread::sleep_for(10ms);
      }
    }
  }

  // A synchronous call made in the caller's thread, when no asynchronous call is in flight:
  // no hand-over between threads, so a round trip costs what the transport's does. Returns
  // false (and leaves `c` alone) when the I/O thread has the link; else completes `c`.
  bool try_direct(std::uint64_t id, detail::rpc::call& c) {
    namespace r = detail::rpc;
    if (busy) return false;
    std::unique_lock link_lock(link_mutex, std::try_to_lock);
    if (!link_lock.owns_lock() || busy) return false;
    transport::received in;
    // An asynchronous call that comes meanwhile takes this one over a little later.
    link->lazy_wake(true);
    auto fail = [&](auto e) { c.fail(std::make_exception_ptr(e)); };
    try {
      for (;;) {
        // Send, waiting for a server up to connect_timeout.
        seen_losses = link->losses();
        auto give_up = std::min(c.deadline, transport::about_after(opts.channel.connect_timeout));
        c.write(link->prepare(c.size));
        if (!link->commit(give_up)) {
          bool up = link->connected();
          link_connected = up;
          if (!up && clock::now() < c.deadline) {
            fail(transport_error("brine: no server at " + url + " within " +
                                 std::to_string(opts.channel.connect_timeout.count()) + " ms for " +
                                 c.method + ": nothing listens there, or it is unreachable"));
          } else {
            fail(timeout_error("brine: " + c.method + " could not be sent to " + url + " in time" +
                               (up ? "" : ": no server connected")));
          }
          return true;
        }
        link_connected = true;
        // Wait for its reply; others (late replies to calls that timed out) are dropped.
        bool resend = false;
        while (!resend) {
          if (busy) {
            // An asynchronous call wants the link: the I/O thread takes this call over (and
            // could send it again if it is idempotent), and the caller waits on its future.
            c.request.resize(c.size);
            c.write(c.request);
            c.write = nullptr;
            deadlines.insert({c.deadline, id});
            calls.emplace(id, entry{std::move(c), true, clock::now()});
            return true;
          }
          auto until = std::min(c.deadline, transport::about_after(50ms));
          bool got = link->recv(in, until) == transport::recv_status::frame;
          if (!got && link->losses() != seen_losses) {
            // Its reply may have come just before the connection closed: look once more.
            got = link->recv(in, clock::now() + reply_grace) == transport::recv_status::frame;
            if (!got) {
              if (!is_idempotent(c.method)) {
                fail(transport_error("brine: the server at " + url +
                                     " went away during the call to " + c.method +
                                     " (not retried: the method is not marked idempotent)"));
                return true;
              }
              resend = true;  // once a server is back
              continue;
            }
          }
          if (got) {
            r::reply_head head;
            std::span<const std::byte> result;
            try {
              auto [first, rest] = r::split(in.frame, opts.channel.decode_limits);
              loads_into(first, head, opts.channel.decode_limits);
              result = rest;
            } catch (const brine::decode_error&) {
              continue;
            }
            auto& [rid, st, type, message] = head;
            if (rid != id) continue;
            c.complete(static_cast<r::status>(st), type, message, result);
            return true;
          }
          if (clock::now() >= c.deadline) {
            fail(timeout_error("brine: no reply to " + c.method + " from " + url + " in time"));
            return true;
          }
        }
      }
    } catch (...) {
      c.fail(std::current_exception());
      return true;
    }
  }

  void fail_all(std::exception_ptr e) {
    std::vector<std::uint64_t> open;
    for (const auto& [id, en] : calls)
      open.push_back(id);
    for (std::uint64_t id : open)
      finish(id, e);
    unsent.clear();
  }
};

client::client(const std::string& url, rpc_options opts)
    : impl_(std::make_unique<impl>()), timeout_(opts.timeout), limits_(opts.channel.decode_limits) {
  impl& c = *impl_;
  c.opts = std::move(opts);
  c.url = url;
  std::vector<std::string> urls{url};
  c.link = transport::open_client(urls, c.opts.channel);
}

client::~client() {
  std::thread io;
  {
    std::lock_guard lock(impl_->mutex);
    impl_->stopping = true;
    io = std::move(impl_->io);  // none starts once stopping is set
  }
  impl_->wake.notify_one();
  impl_->link->wake();
  if (io.joinable()) io.join();
  impl_->link->close();
}

std::uint64_t client::next_id() { return ++impl_->ids; }

void client::submit(std::uint64_t id, detail::rpc::call c) {
  {
    std::lock_guard lock(impl_->mutex);
    if (impl_->stopping) {
      c.fail(std::make_exception_ptr(channel_closed("brine: the client was destroyed")));
      return;
    }
    impl_->inbox.emplace_back(id, std::move(c));
    impl_->busy = true;
    // The I/O thread starts with the first call that needs it: a client making only
    // synchronous calls has none.
    if (!impl_->io.joinable()) impl_->io = std::thread([&c = *impl_] { c.io_loop(); });
  }
  impl_->wake.notify_one();
  impl_->link->wake();
}

void client::run(std::uint64_t id, detail::rpc::call c) {
  if (impl_->try_direct(id, c)) return;
  c.request.resize(c.size);
  c.write(c.request);
  c.write = nullptr;  // it refers to the caller's arguments
  submit(id, std::move(c));
}

void client::idempotent(std::string method) {
  std::lock_guard lock(impl_->mutex);
  impl_->idempotent.insert(std::move(method));
}

std::vector<method_info> client::methods() {
  return call<std::vector<method_info>>(detail::rpc::methods_method);
}

std::vector<std::byte> client::call_frame(const method_info& info,
                                          std::span<const std::byte> args_frame,
                                          std::chrono::milliseconds timeout) {
  namespace r = detail::rpc;
  if (frame_size(args_frame, limits_) != args_frame.size())
    throw decode_error("brine: call_frame: the arguments are not one whole frame", 0);
  auto done = std::make_shared<std::promise<std::vector<std::byte>>>();
  auto future = done->get_future();
  std::uint64_t id = next_id();
  r::call c;
  c.method = info.name;
  c.signature = info.signature;
  c.deadline = std::chrono::steady_clock::now() + timeout;
  r::request_head head{
      id, info.args_fingerprint, info.result_fingerprint,
      static_cast<std::uint32_t>(std::clamp<long long>(timeout.count(), 1, UINT32_MAX)), c.method};
  c.request = dumps(head);
  c.request.insert(c.request.end(), args_frame.begin(), args_frame.end());
  c.size = c.request.size();
  limits lim = limits_;
  c.complete = [done, lim, m = c.method, sig = c.signature](r::status s, const std::string& type,
                                                            const std::string& message,
                                                            std::span<const std::byte> bytes) {
    try {
      if (s != r::status::ok) r::throw_reply(s, type, message, m, sig);
      if (frame_size(bytes, lim) != bytes.size())
        throw decode_error("brine: the result of " + m + " is not one whole frame", 0);
      done->set_value({bytes.begin(), bytes.end()});
    } catch (...) {
      done->set_exception(std::current_exception());
    }
  };
  c.fail = [done](std::exception_ptr e) { done->set_exception(std::move(e)); };
  submit(id, std::move(c));
  return future.get();
}

bool client::connected() {
  std::unique_lock lock(impl_->link_mutex, std::try_to_lock);
  if (lock.owns_lock()) impl_->link_connected = impl_->link->connected();
  return impl_->link_connected.load();
}

std::string client::endpoint() const { return impl_->url; }

}  // namespace brine
