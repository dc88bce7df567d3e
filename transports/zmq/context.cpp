// The process-wide ZeroMQ state: context, inproc registry, ZAP handler.

#include "context.hpp"

#include <pthread.h>
#include <unistd.h>

#include <condition_variable>
#include <list>

#include <atomic>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

#include "brine/error.hpp"
#include "zmq_transport.hpp"

namespace brine::zmq_transport {
namespace {

// Answers ZAP requests (RFC 27) for CURVE servers, on its own thread and socket.
struct zap_handler {
  explicit zap_handler(::zmq::context_t& ctx) : sock(ctx, ::zmq::socket_type::rep) {
    sock.set(::zmq::sockopt::linger, 0);
    sock.bind("inproc://zeromq.zap.01");
    // Returns once the thread runs: a fork() right after must not catch the new thread
    // half-started (under a sanitizer's allocator, the child could then deadlock).
    std::promise<void> started;
    thread = std::thread([this, &started] {
      started.set_value();
      run();
    });
    started.get_future().wait();
  }

  void stop() {
    stopping = true;
    thread.join();
    sock.close();
  }

  void run() {
    while (!stopping) {
      ::zmq::pollitem_t item{sock.handle(), 0, ZMQ_POLLIN, 0};
      if (::zmq::poll(&item, 1, std::chrono::milliseconds(50)) == 0) continue;
      std::vector<::zmq::message_t> parts;
      for (;;) {
        ::zmq::message_t m;
        if (!sock.recv(m, ::zmq::recv_flags::dontwait)) break;
        bool more = m.more();
        parts.push_back(std::move(m));
        if (!more) break;
      }
      // version, request id, domain, address, routing id, mechanism, credentials...
      bool ok = false;
      if (parts.size() >= 7 && parts[5].to_string_view() == "CURVE" && parts[6].size() == 32) {
        std::lock_guard lock(mutex);
        auto it = domains.find(parts[2].to_string());
        ok = it != domains.end() &&
             (it->second.empty() || it->second.count(parts[6].to_string()) != 0);
      }
      std::string id = parts.size() >= 2 ? parts[1].to_string() : std::string();
      const char* code = ok ? "200" : "400";
      sock.send(::zmq::str_buffer("1.0"), ::zmq::send_flags::sndmore);
      sock.send(::zmq::buffer(id), ::zmq::send_flags::sndmore);
      sock.send(::zmq::buffer(std::string_view(code)), ::zmq::send_flags::sndmore);
      sock.send(::zmq::buffer(std::string_view(ok ? "OK" : "client key not allowed")),
                ::zmq::send_flags::sndmore);
      sock.send(::zmq::str_buffer(""), ::zmq::send_flags::sndmore);
      sock.send(::zmq::str_buffer(""), ::zmq::send_flags::none);
    }
  }

  ::zmq::socket_t sock;
  std::thread thread;
  std::atomic<bool> stopping{false};
  std::mutex mutex;
  // Domain -> allowed client keys (32 raw bytes each); empty set admits every client.
  std::map<std::string, std::set<std::string>> domains;
};

// Closes deferred sockets when they are ready (see close_when_ready), on its own thread.
struct closer {
  closer() {
    std::promise<void> started;  // see zap_handler
    thread = std::thread([this, &started] {
      started.set_value();
      run();
    });
    started.get_future().wait();
  }

  void add(std::unique_ptr<deferred_close> s) {
    std::lock_guard lock(mutex);
    pending.push_back(std::move(s));
    wake.notify_one();
  }

  // Waits until every pending socket is ready (each has a deadline) and closed, then stops.
  void finish() {
    {
      std::lock_guard lock(mutex);
      stopping = true;
      wake.notify_one();
    }
    thread.join();
  }

  void run() {
    std::unique_lock lock(mutex);
    for (;;) {
      if (pending.empty()) {
        if (stopping) return;
        wake.wait(lock);
        continue;
      }
      for (auto it = pending.begin(); it != pending.end();) {
        if ((*it)->ready()) {
          it = pending.erase(it);
        } else {
          ++it;
        }
      }
      wake.wait_for(lock, std::chrono::milliseconds(5));
    }
  }

  std::mutex mutex;
  std::condition_variable wake;
  std::list<std::unique_ptr<deferred_close>> pending;
  bool stopping = false;
  std::thread thread;
};

struct process_state {
  std::mutex mutex;
  ::zmq::context_t* ctx = nullptr;
  pid_t pid = 0;
  std::size_t users = 0;
  zap_handler* zap = nullptr;
  closer* holder = nullptr;
  std::map<std::string, inproc_count> inproc;
  std::atomic<std::uint64_t> counter{0};

  // Call with the mutex held. A child of fork() must not touch its parent's context: its
  // threads did not survive the fork, so the context and the ZAP handler are left unused.
  void renew_after_fork() {
    pid_t now = ::getpid();
    if (pid == now) return;
    ctx = nullptr;
    zap = nullptr;
    holder = nullptr;
    users = 0;
    inproc.clear();
    pid = now;
  }

  // Call with the mutex held and no socket of the context open.
  void terminate() noexcept {
    if (ctx == nullptr || pid != ::getpid()) return;
    if (zap != nullptr) {
      zap->stop();
      delete zap;
      zap = nullptr;
    }
    if (holder != nullptr) {
      holder->finish();  // each deferred socket within its linger
      delete holder;
      holder = nullptr;
    }
    ctx->close();  // waits for each closed socket's linger
    delete ctx;
    ctx = nullptr;
  }

  ~process_state() {
    std::lock_guard lock(mutex);
    // With a channel still open (std::exit from inside a scope) terminating would wait for it
    // forever; the operating system reclaims everything anyway.
    if (users == 0) terminate();
  }
};

process_state& state() {
  static process_state s;
  // fork() while another thread holds the mutex would leave it locked forever in the child.
  static const int hooked =
      ::pthread_atfork([] { s.mutex.lock(); }, [] { s.mutex.unlock(); }, [] { s.mutex.unlock(); });
  (void)hooked;
  return s;
}

}  // namespace

context_ref::context_ref() {
  process_state& s = state();
  std::lock_guard lock(s.mutex);
  s.renew_after_fork();
  if (s.ctx == nullptr) {
    s.ctx = new ::zmq::context_t(1);
  }
  ++s.users;
  ctx_ = s.ctx;
  pid_ = s.pid;
}

context_ref::~context_ref() {
  process_state& s = state();
  std::lock_guard lock(s.mutex);
  if (pid_ == ::getpid() && s.ctx == ctx_) --s.users;
}

bool context_ref::owned_here() const noexcept { return pid_ == ::getpid(); }

std::string unique_name(const char* what) {
  return std::string("inproc://brine.") + what + "." + std::to_string(::getpid()) + "." +
         std::to_string(state().counter++);
}

void inproc_add(const std::string& name, bool sender) {
  process_state& s = state();
  std::lock_guard lock(s.mutex);
  inproc_count& c = s.inproc[name];
  if (sender) {
    ++c.senders_open;
    ++c.senders_ever;
  } else {
    ++c.receivers_open;
  }
}

void inproc_remove(const std::string& name, bool sender) {
  process_state& s = state();
  std::lock_guard lock(s.mutex);
  auto it = s.inproc.find(name);
  if (it == s.inproc.end()) return;
  std::size_t& n = sender ? it->second.senders_open : it->second.receivers_open;
  if (n > 0) --n;
  // The name is free again once nobody is on it; a later channel there starts a new stream.
  if (!sender && it->second.senders_open == 0 && it->second.receivers_open == 0) s.inproc.erase(it);
}

inproc_count inproc_get(const std::string& name) {
  process_state& s = state();
  std::lock_guard lock(s.mutex);
  auto it = s.inproc.find(name);
  return it == s.inproc.end() ? inproc_count{} : it->second;
}

void close_when_ready(std::unique_ptr<deferred_close> s) {
  process_state& st = state();
  std::lock_guard lock(st.mutex);
  if (st.holder == nullptr) st.holder = new closer();
  st.holder->add(std::move(s));
}

std::string zap_admit(::zmq::socket_t& sock, const std::set<std::string>& allowed) {
  std::set<std::string> raw;
  for (const std::string& key : allowed) {
    std::string bin(32, '\0');
    if (key.size() != 40 ||
        zmq_z85_decode(reinterpret_cast<std::uint8_t*>(bin.data()), key.c_str()) == nullptr)
      throw transport_error("brine: allowed client key '" + key +
                            "' is not a 40-character Z85 CURVE public key");
    raw.insert(bin);
  }
  process_state& s = state();
  std::string domain = "brine." + std::to_string(s.counter++);
  {
    std::lock_guard lock(s.mutex);
    if (s.zap == nullptr) s.zap = new zap_handler(*s.ctx);
    std::lock_guard zap_lock(s.zap->mutex);
    s.zap->domains[domain] = std::move(raw);
  }
  sock.set(::zmq::sockopt::zap_domain, domain);
  return domain;
}

void zap_forget(const std::string& domain) noexcept {
  process_state& s = state();
  std::lock_guard lock(s.mutex);
  if (s.zap == nullptr || s.pid != ::getpid()) return;
  std::lock_guard zap_lock(s.zap->mutex);
  s.zap->domains.erase(domain);
}

void shutdown() noexcept {
  process_state& s = state();
  std::lock_guard lock(s.mutex);
  if (s.pid == ::getpid() && s.users == 0) s.terminate();
}

curve_keys curve_keypair() {
  if (!::zmq_has("curve"))
    throw transport_error("brine: this ZeroMQ library was built without CURVE");
  char pub[41];
  char sec[41];
  if (zmq_curve_keypair(pub, sec) != 0)
    throw transport_error(std::string("brine: zmq_curve_keypair failed: ") + zmq_strerror(errno));
  return curve_keys{pub, sec};
}

}  // namespace brine::zmq_transport
