// The ZeroMQ transport: PUSH/PULL for pipelines, XPUB/SUB for publish/subscribe, and end of
// stream from connection events (docs/transports.md explains why and what counts).

#include <arpa/inet.h>
#include <linux/sockios.h>
#include <netdb.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>
#include <zmq.hpp>

#include "brine/error.hpp"
#include "context.hpp"
#include "zmq_transport.hpp"

namespace brine::zmq_transport {
namespace {

using namespace std::chrono_literals;
using transport::deadline;
using transport::endpoint;
using transport::forever;
using transport::pattern;
using clock = std::chrono::steady_clock;

// Every brine subscriber subscribes to this topic last; the publisher counts these
// subscriptions to know how many subscribers have joined. Nothing is ever published on it.
constexpr std::string_view join_topic =
    "\xff"
    "brine.join";
// Bodies this large go to ZeroMQ by pointer, freed by ZeroMQ when sent.
constexpr std::size_t zero_copy_size = 64 * 1024;
// inproc has no connection events: a waiting receiver rechecks the registry this often.
constexpr auto inproc_recheck = 20ms;
// A receiver blocked on an idle socket looks at connection events this often, which bounds how
// late it sees the end of a stream.
constexpr auto event_recheck = 50ms;
// Connection events are read at least once per this many messages, so that the monitor's
// queue never fills while data flows.
constexpr unsigned housekeeping_every = 256;

// With IPv6 on, ZeroMQ reports an IPv4 address bound as "tcp://[::ffff:127.0.0.1]:5555"; users
// gave "tcp://127.0.0.1:*" and expect the same form back.
std::string plain_endpoint(std::string ep) {
  constexpr std::string_view mapped = "tcp://[::ffff:";
  auto close = ep.find("]:");
  if (ep.starts_with(mapped) && close != std::string::npos &&
      ep.find_first_not_of("0123456789.", mapped.size()) == close)
    ep = "tcp://" + ep.substr(mapped.size(), close - mapped.size()) + ep.substr(close + 1);
  return ep;
}

std::string urls_of(const std::vector<endpoint>& eps) {
  std::string out;
  for (const endpoint& e : eps)
    out += (out.empty() ? "" : ", ") + e.url();
  return out;
}

// Milliseconds from now until `until`, rounded up; -1 for forever.
int ms_until(deadline until) {
  if (until == forever) return -1;
  auto left = until - clock::now();
  if (left <= clock::duration::zero()) return 0;
  auto ms = std::chrono::ceil<std::chrono::milliseconds>(left).count();
  return static_cast<int>(std::min<long long>(ms, 1'000'000'000));
}

// Whether something accepts connections at a Unix socket path: ZeroMQ would silently unlink
// and steal it on bind. A listener this process closed a moment ago may still answer (ZeroMQ
// closes sockets in its I/O thread), so a busy path is probed again for a short while.
bool ipc_in_use(const std::string& path) {
  if (path.empty() || path.front() == '@' || path.size() >= sizeof(sockaddr_un::sun_path))
    return false;
  auto answers = [&] {
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return false;
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    bool used = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    ::close(fd);
    return used;
  };
  auto give_up = clock::now() + 250ms;
  while (answers()) {
    if (clock::now() >= give_up) return true;
    std::this_thread::sleep_for(5ms);
  }
  return false;
}

// "tcp://host:port" with the host resolved here, in the caller's thread: ZeroMQ would resolve it
// in its I/O thread, which a slow or unreachable DNS server then stalls for every socket of the
// process. Throws: transport_error if the name does not resolve.
std::string resolved_tcp(const endpoint& e) {
  std::string_view a = e.address;
  std::size_t colon = a.rfind(':');
  std::string host(a.substr(0, colon));
  std::string port(a.substr(colon + 1));
  if (host.find(';') != std::string::npos || host.empty()) return e.url();
  std::string bare = host.front() == '[' ? host.substr(1, host.size() - 2) : host;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICHOST;
  addrinfo* found = nullptr;
  if (::getaddrinfo(bare.c_str(), nullptr, &hints, &found) == 0) {  // already numeric
    ::freeaddrinfo(found);
    return e.url();
  }
  hints.ai_flags = AI_ADDRCONFIG;
  int rc = ::getaddrinfo(bare.c_str(), nullptr, &hints, &found);
  if (rc != 0 || found == nullptr)
    throw transport_error("brine: cannot resolve host '" + bare + "' in " + e.url() + ": " +
                          ::gai_strerror(rc));
  // Prefer IPv4, as ZeroMQ does unless told otherwise.
  const addrinfo* pick = found;
  for (const addrinfo* p = found; p != nullptr; p = p->ai_next)
    if (p->ai_family == AF_INET) {
      pick = p;
      break;
    }
  char text[INET6_ADDRSTRLEN] = {};
  const void* addr =
      pick->ai_family == AF_INET
          ? static_cast<const void*>(&reinterpret_cast<const sockaddr_in*>(pick->ai_addr)->sin_addr)
          : static_cast<const void*>(
                &reinterpret_cast<const sockaddr_in6*>(pick->ai_addr)->sin6_addr);
  ::inet_ntop(pick->ai_family, addr, text, sizeof text);
  bool v6 = pick->ai_family == AF_INET6;
  ::freeaddrinfo(found);
  return "tcp://" + std::string(v6 ? "[" : "") + text + (v6 ? "]" : "") + ":" + port;
}

// Makes `m` a message of `size` bytes to encode into; large ones in memory brine allocates and
// ZeroMQ frees once sent (no copy).
std::span<std::byte> make_room(::zmq::message_t& m, std::size_t size) {
  if (size >= zero_copy_size) {
    void* p = ::operator new(size);
    m.rebuild(
        p, size, [](void* data, void*) { ::operator delete(data); }, nullptr);
  } else {
    m.rebuild(size);
  }
  return {static_cast<std::byte*>(m.data()), size};
}

void check_key(const std::string& key, const char* what) {
  if (key.size() != 40)
    throw transport_error(std::string("brine: CURVE ") + what +
                          " must be 40 characters of Z85 (from brine::curve_keypair())");
}

// Connection bookkeeping of one socket, from its ZeroMQ monitor (ipc and tcp only).
class monitor {
 public:
  monitor(::zmq::context_t& ctx, ::zmq::socket_t& watched)
      : sock_(ctx, ::zmq::socket_type::pair), watched_(watched.handle()) {
    std::string name = unique_name("monitor");
    int events = ZMQ_EVENT_ACCEPTED | ZMQ_EVENT_CONNECTED | ZMQ_EVENT_DISCONNECTED |
                 ZMQ_EVENT_HANDSHAKE_SUCCEEDED;
    if (zmq_socket_monitor(watched.handle(), name.c_str(), events) != 0)
      throw transport_error(std::string("brine: cannot monitor a ZeroMQ socket: ") +
                            zmq_strerror(zmq_errno()));
    sock_.set(::zmq::sockopt::linger, 0);
    // 0 on one side makes the event queue unbounded: ZeroMQ's I/O thread blocks on a full one.
    sock_.set(::zmq::sockopt::rcvhwm, 0);
    sock_.connect(name);
  }

  monitor(monitor&& o) noexcept
      : sock_(std::move(o.sock_)),
        watched_(std::exchange(o.watched_, nullptr)),
        pending_(std::move(o.pending_)),
        handshaken_(std::move(o.handshaken_)),
        unattributed_(o.unattributed_),
        handshakes_(o.handshakes_),
        lost_(o.lost_) {}
  monitor& operator=(monitor&&) = delete;
  ~monitor() { stop(); }

  // Stops the events, then closes the receiving end. In this order only: ZeroMQ's I/O thread
  // blocks forever sending an event to a monitor nobody listens to.
  void stop() noexcept {
    if (watched_ != nullptr) zmq_socket_monitor(watched_, nullptr, 0);
    watched_ = nullptr;
    sock_.close();
  }

  // Forgets both sockets without touching them (in a forked child; see link_base::release).
  void abandon() noexcept {
    watched_ = nullptr;
    (void)new ::zmq::socket_t(std::move(sock_));
  }

  // Reads every queued event without waiting.
  void drain() {
    ::zmq::message_t ev;
    ::zmq::message_t addr;
    while (sock_.recv(ev, ::zmq::recv_flags::dontwait)) {
      if (ev.more()) (void)sock_.recv(addr);
      if (ev.size() < 6) continue;
      std::uint16_t id;
      std::uint32_t value;
      std::memcpy(&id, ev.data(), 2);
      std::memcpy(&value, static_cast<const char*>(ev.data()) + 2, 4);
      switch (id) {
        case ZMQ_EVENT_ACCEPTED:
        case ZMQ_EVENT_CONNECTED:
          pending_.insert(value);
          break;
        case ZMQ_EVENT_HANDSHAKE_SUCCEEDED:
          ++handshakes_;
          ++unattributed_;
          attribute();
          break;
        case ZMQ_EVENT_DISCONNECTED:
          if (handshaken_.erase(value) != 0) {
            ++lost_;
          } else if (pending_.erase(value) != 0) {
            if (unattributed_ > pending_.size()) ++lost_;
            unattributed_ = std::min(unattributed_, pending_.size());
          }
          attribute();
          break;
        default:
          break;
      }
    }
  }

  // Connections open now (handshaken or not).
  std::size_t open() const noexcept { return pending_.size() + handshaken_.size(); }
  std::set<std::uint32_t> open_fds() const {
    std::set<std::uint32_t> all = pending_;
    all.insert(handshaken_.begin(), handshaken_.end());
    return all;
  }
  // Connections open now that completed their handshake, counting doubtful ones in: a peer that
  // connects and never handshakes (a port scanner, a wrong key) is not among them once told
  // apart, which ZeroMQ's handshake timeout guarantees within handshake_ivl.
  std::size_t established() const noexcept { return handshaken_.size() + unattributed_; }
  // Handshakes that ever succeeded.
  std::size_t handshakes() const noexcept { return handshakes_; }
  // Connections lost after their handshake succeeded.
  std::uint64_t lost() const noexcept { return lost_; }
  ::zmq::socket_t& socket() noexcept { return sock_; }

 private:
  // The handshake event carries no descriptor: it is pinned on a connection when only one is
  // pending, or when every pending one must have succeeded; until then it stays unattributed.
  void attribute() {
    if (unattributed_ == 0 || unattributed_ < pending_.size()) return;
    handshaken_.insert(pending_.begin(), pending_.end());
    pending_.clear();
    unattributed_ = 0;
  }

  ::zmq::socket_t sock_;
  void* watched_;
  std::set<std::uint32_t> pending_;     // accepted or connected, handshake not known to be done
  std::set<std::uint32_t> handshaken_;  // known to have completed the handshake
  std::size_t unattributed_ = 0;        // successes not yet pinned on one of pending_
  std::size_t handshakes_ = 0;
  std::uint64_t lost_ = 0;
};

// A closed ipc:// sender's socket, kept open until every receiver has read all the bytes queued
// toward it (see deferred_close): each connection's SIOCOUTQ must stay zero for a while, so that
// ZeroMQ's own queue has drained into the kernel too.
class ipc_closing final : public deferred_close {
 public:
  ipc_closing(::zmq::socket_t sock, monitor mon, deadline until)
      : sock_(std::move(sock)), mon_(std::move(mon)), until_(until) {}
  ~ipc_closing() override {
    mon_.stop();
    sock_.close();
  }

  bool ready() override {
    auto now = clock::now();
    if (now >= until_) return true;
    try {
      mon_.drain();
    } catch (const ::zmq::error_t&) {
      return true;
    }
    if (mon_.open() == 0) return true;
    for (std::uint32_t fd : mon_.open_fds()) {
      int unread = 0;
      // A descriptor ZeroMQ already closed fails here (or is not ours any more); it has nothing
      // left to deliver through us either way.
      if (::ioctl(static_cast<int>(fd), SIOCOUTQ, &unread) == 0 && unread > 0) {
        quiet_since_.reset();
        return false;
      }
    }
    if (!quiet_since_) quiet_since_ = now;
    return now - *quiet_since_ >= quiet_for;
  }

 private:
  // ZeroMQ's I/O thread refills the kernel buffer as soon as there is room; a buffer that stays
  // empty this long means ZeroMQ has nothing more queued.
  static constexpr auto quiet_for = 50ms;
  ::zmq::socket_t sock_;
  monitor mon_;
  deadline until_;
  std::optional<clock::time_point> quiet_since_;
};

// What senders and receivers share: the socket, its options, binding and connecting.
class link_base {
 protected:
  link_base(pattern p, std::vector<endpoint> eps, const channel_options& o, bool sending)
      : pattern_(p),
        eps_(std::move(eps)),
        opts_(o),
        sending_(sending),
        inproc_(eps_.front().scheme == "inproc"),
        sock_(ctx_.get(), socket_type()) {
    try {
      try {
        configure();
        if (!inproc_) monitor_.emplace(ctx_.get(), sock_);
        attach();
      } catch (const ::zmq::error_t& e) {
        throw transport_error("brine: cannot open " + urls_of(eps_) + ": " + e.what());
      }
    } catch (...) {
      if (!zap_domain_.empty()) zap_forget(zap_domain_);  // no destructor runs for us
      throw;
    }
    if (inproc_) inproc_add(eps_.front().address, sending_);
    connect_by_ = transport::after(opts_.connect_timeout);
  }

  ~link_base() { release(); }

  // Closes the socket (in the process that made it; a forked child leaves it alone, as its
  // context's threads did not survive the fork).
  void release() noexcept {
    if (released_) return;
    released_ = true;
    if (!ctx_.owned_here()) {
      if (monitor_) monitor_->abandon();
      abandon(sock_);
      return;
    }
    // ZeroMQ 4.3 leaves the socket files of ipc:// binds behind; remove ours (unless someone
    // has bound the path since: another file stands there then).
    for (const auto& [path, inode] : ipc_files_) {
      struct stat st {};
      if (::stat(path.c_str(), &st) == 0 && st.st_ino == inode) ::unlink(path.c_str());
    }
    // A socket that sends over ipc:// (senders, and both ends of request/reply) closes once
    // its peers have read what it sent (see ipc_closing): a server's last replies too.
    if (monitor_ && uses_ipc() && (sending_ || pattern_ == pattern::reqrep)) {
      close_when_ready(std::make_unique<ipc_closing>(std::move(sock_), std::move(*monitor_),
                                                     transport::after(opts_.linger)));
      monitor_.reset();
    } else {
      monitor_.reset();
      sock_.close();
    }
    if (inproc_) inproc_remove(eps_.front().address, sending_);
    if (!zap_domain_.empty()) zap_forget(zap_domain_);
  }

  void housekeeping() {
    if (monitor_) monitor_->drain();
  }

  // Whether a connecting link is still waiting for its first connection.
  bool awaiting_connection() const { return connects_ && !inproc_ && monitor_->handshakes() == 0; }

  void check_connect_timeout() {
    if (awaiting_connection() && clock::now() >= connect_by_)
      throw transport_error("brine: no connection to " + urls_of(eps_) + " within " +
                            std::to_string(opts_.connect_timeout.count()) +
                            " ms: nothing listens there, or it is unreachable");
  }

  // The earlier of `until` and, while unconnected, the connect deadline.
  deadline limit(deadline until) const {
    return awaiting_connection() ? std::min(until, connect_by_) : until;
  }

  // Waits for `events` on the socket or a connection event, until `until`.
  void wait(short events, deadline until) {
    deadline stop = limit(until);
    if (inproc_) stop = std::min(stop, transport::after(inproc_recheck));
    zmq_pollitem_t items[2] = {{sock_.handle(), 0, events, 0}, {nullptr, 0, ZMQ_POLLIN, 0}};
    int n = 1;
    if (monitor_) items[n++].socket = monitor_->socket().handle();
    try {
      ::zmq::poll(items, static_cast<std::size_t>(n), std::chrono::milliseconds(ms_until(stop)));
    } catch (const ::zmq::error_t& e) {
      if (e.num() != EINTR) throw transport_error(std::string("brine: poll failed: ") + e.what());
    }
  }

  std::string first_endpoint() const { return bound_.empty() ? eps_.front().url() : bound_[0]; }

  pattern pattern_;
  std::vector<endpoint> eps_;
  channel_options opts_;
  bool sending_;
  bool inproc_;
  bool connects_ = false;
  bool released_ = false;
  context_ref ctx_;
  ::zmq::socket_t sock_;
  std::optional<monitor> monitor_;
  std::vector<std::string> bound_;
  std::vector<std::pair<std::string, ino_t>> ipc_files_;  // socket files this link bound
  std::string zap_domain_;
  deadline connect_by_{};

 private:
  ::zmq::socket_type socket_type() const {
    if (pattern_ == pattern::pipeline)
      return sending_ ? ::zmq::socket_type::push : ::zmq::socket_type::pull;
    if (pattern_ == pattern::reqrep)
      return sending_ ? ::zmq::socket_type::dealer : ::zmq::socket_type::router;
    return sending_ ? ::zmq::socket_type::xpub : ::zmq::socket_type::sub;
  }

  bool uses_ipc() const {
    return std::any_of(eps_.begin(), eps_.end(),
                       [](const endpoint& e) { return e.scheme == "ipc"; });
  }

  // Leaks a socket on purpose (see release()).
  static void abandon(::zmq::socket_t& s) noexcept { (void)new ::zmq::socket_t(std::move(s)); }

  void configure() {
    int hwm = std::max(0, opts_.high_water_mark);
    if (pattern_ == pattern::reqrep) {
      // Both directions carry messages: requests one way, replies the other.
      sock_.set(::zmq::sockopt::sndhwm, hwm);
      sock_.set(::zmq::sockopt::rcvhwm, hwm);
      sock_.set(::zmq::sockopt::linger, static_cast<int>(opts_.linger.count()));
      sock_.set(::zmq::sockopt::maxmsgsize, static_cast<std::int64_t>(std::min<std::size_t>(
                                                opts_.decode_limits.max_frame, INT64_MAX)));
      // A reply to a client whose queue is full waits (EAGAIN), to one that has gone fails
      // (EHOSTUNREACH); without this ZeroMQ drops both silently.
      if (!sending_) sock_.set(::zmq::sockopt::router_mandatory, 1);
    } else if (sending_) {
      sock_.set(::zmq::sockopt::sndhwm, hwm);
      sock_.set(::zmq::sockopt::linger, static_cast<int>(opts_.linger.count()));
    } else {
      sock_.set(::zmq::sockopt::rcvhwm, hwm);
      sock_.set(::zmq::sockopt::linger, 0);
      // A hostile peer cannot make ZeroMQ allocate more than a frame may hold.
      sock_.set(::zmq::sockopt::maxmsgsize, static_cast<std::int64_t>(std::min<std::size_t>(
                                                opts_.decode_limits.max_frame, INT64_MAX)));
    }
    sock_.set(::zmq::sockopt::ipv6, 1);  // tcp://[::1]:port and IPv6 hosts
    // A peer that connects but never completes the handshake is dropped after this; until then
    // it may hold back the end of a stream (see monitor::established).
    sock_.set(::zmq::sockopt::handshake_ivl, 3000);
    // A peer host that vanishes (no FIN ever arrives) is noticed in about 20 s by TCP
    // keepalive. Not ZMTP heartbeats: a receiver whose queue is full stops reading, misses
    // the pings, and its healthy but slow connection would be dropped with data in it.
    sock_.set(::zmq::sockopt::tcp_keepalive, 1);
    sock_.set(::zmq::sockopt::tcp_keepalive_idle, 10);
    sock_.set(::zmq::sockopt::tcp_keepalive_intvl, 3);
    sock_.set(::zmq::sockopt::tcp_keepalive_cnt, 3);
    if (pattern_ == pattern::pubsub && sending_) {
      sock_.set(::zmq::sockopt::xpub_verboser, 1);
      if (opts_.on_slow_subscriber == slow_subscriber::block)
        sock_.set(::zmq::sockopt::xpub_nodrop, 1);
    }
    if (pattern_ == pattern::pubsub && !sending_) {
      if (opts_.topics.empty()) sock_.set(::zmq::sockopt::subscribe, "");
      for (const std::string& t : opts_.topics)
        sock_.set(::zmq::sockopt::subscribe, t);
      sock_.set(::zmq::sockopt::subscribe, join_topic);
    }
    if (opts_.curve) configure_curve(*opts_.curve);
  }

  void configure_curve(const curve_options& c) {
    if (inproc_) throw transport_error("brine: CURVE does not apply to inproc:// channels");
    check_key(c.keys.public_key, "public key");
    check_key(c.keys.secret_key, "secret key");
    sock_.set(::zmq::sockopt::curve_publickey, c.keys.public_key);
    sock_.set(::zmq::sockopt::curve_secretkey, c.keys.secret_key);
    if (c.server_key.empty()) {
      sock_.set(::zmq::sockopt::curve_server, 1);
      zap_domain_ = zap_admit(sock_, {c.allowed_clients.begin(), c.allowed_clients.end()});
    } else {
      check_key(c.server_key, "server key");
      sock_.set(::zmq::sockopt::curve_serverkey, c.server_key);
    }
  }

  void attach() {
    // Pull and publish bind by default, push and subscribe connect.
    bool default_bind = sending_ == (pattern_ == pattern::pubsub);
    if (opts_.bind) default_bind = *opts_.bind;
    for (const endpoint& e : eps_) {
      bool bind = e.bind.value_or(default_bind);
      std::string url = e.url();
      if (bind) {
        if (e.scheme == "ipc" && ipc_in_use(e.address))
          throw transport_error("brine: address in use: " + url);
        try {
          sock_.bind(url);
        } catch (const ::zmq::error_t& err) {
          throw transport_error("brine: cannot bind " + url + ": " + explain(err));
        }
        bound_.push_back(plain_endpoint(sock_.get(::zmq::sockopt::last_endpoint)));
        struct stat st {};
        if (e.scheme == "ipc" && e.address.front() != '@' && ::stat(e.address.c_str(), &st) == 0)
          ipc_files_.push_back({e.address, st.st_ino});
      } else {
        connects_ = true;
        // Queue only to completed connections, so that an unreachable address is an error
        // instead of messages waiting in a queue nobody drains.
        if (sending_) sock_.set(::zmq::sockopt::immediate, 1);
        try {
          sock_.connect(e.scheme == "tcp" ? resolved_tcp(e) : url);
        } catch (const ::zmq::error_t& err) {
          throw transport_error("brine: cannot connect to " + url + ": " + explain(err));
        }
      }
    }
  }

  static std::string explain(const ::zmq::error_t& err) {
    switch (err.num()) {
      case EADDRINUSE:
        return "address in use";
      case EADDRNOTAVAIL:
        return "no such local address";
      case ENODEV:
        return "no such network interface";
      case EINVAL:
        return "malformed address";
      default:
        return err.what();
    }
  }
};

class zmq_sender final : public transport::sender_link, link_base {
 public:
  zmq_sender(pattern p, std::vector<transport::endpoint> eps, const channel_options& o)
      : link_base(p, std::move(eps), o, /*sending=*/true) {}
  ~zmq_sender() override { close(); }

  std::span<std::byte> prepare(std::size_t size) override { return make_room(msg_, size); }

  bool commit(std::string_view topic, deadline until) override {
    if (released_) throw channel_closed("brine: send on a closed channel");
    for (;;) {
      int ms = ms_until(limit(until));
      try {
        if (send_parts(topic, ms)) {
          if (++sends_ % housekeeping_every == 0) housekeeping_all();
          return true;
        }
      } catch (const ::zmq::error_t& e) {
        throw transport_error("brine: send on " + urls_of(eps_) + " failed: " + e.what());
      }
      housekeeping_all();
      check_connect_timeout();
      if (clock::now() >= until) return false;
    }
  }

  bool wait_peers(std::size_t count, deadline until) override {
    if (released_) throw channel_closed("brine: wait_peers on a closed channel");
    for (;;) {
      housekeeping_all();
      if (peers() >= count) return true;
      if (clock::now() >= until) return false;
      wait(pattern_ == pattern::pubsub ? ZMQ_POLLIN : 0, until);
    }
  }

  std::string endpoint() const override { return first_endpoint(); }

  void close() noexcept override { release(); }

 private:
  std::size_t peers() {
    if (pattern_ == pattern::pubsub) return joined_;
    if (inproc_) return inproc_get(eps_.front().address).receivers_open;
    return monitor_->established();
  }

  void housekeeping_all() {
    housekeeping();
    if (pattern_ != pattern::pubsub) return;
    // Subscription messages: count joins and leaves of brine subscribers.
    ::zmq::message_t sub;
    while (sock_.recv(sub, ::zmq::recv_flags::dontwait)) {
      auto v = sub.to_string_view();
      if (v.size() != join_topic.size() + 1 || v.substr(1) != join_topic) continue;
      if (v[0] == 1) {
        ++joined_;
      } else if (joined_ > 0) {
        --joined_;
      }
    }
  }

  // Sends the prepared message; false if `ms` (-1: no limit) passed first.
  bool send_parts(std::string_view topic, int ms) {
    ::zmq::send_flags flags = ::zmq::send_flags::none;
    if (ms == 0) {
      flags = ::zmq::send_flags::dontwait;
    } else if (ms != timeout_ms_) {
      sock_.set(::zmq::sockopt::sndtimeo, ms);
      timeout_ms_ = ms;
    }
    if (pattern_ == pattern::pubsub) {
      // Once the first part is taken, ZeroMQ takes the rest of the message.
      if (!sock_.send(::zmq::buffer(topic.data(), topic.size()),
                      flags | ::zmq::send_flags::sndmore))
        return false;
    }
    return sock_.send(msg_, flags).has_value();
  }

  ::zmq::message_t msg_;
  int timeout_ms_ = -1;
  std::size_t joined_ = 0;
  unsigned sends_ = 0;
};

class zmq_receiver final : public transport::receiver_link, link_base {
 public:
  zmq_receiver(pattern p, std::vector<transport::endpoint> eps, const channel_options& o)
      : link_base(p, std::move(eps), o, /*sending=*/false) {}
  ~zmq_receiver() override { close(); }

  transport::recv_status recv(transport::received& out, deadline until) override {
    if (released_) throw channel_closed("brine: recv on a closed channel");
    if (ended_) return transport::recv_status::end;
    for (;;) {
      // A plain blocking receive, as fast as raw ZeroMQ; connection events (end of stream, the
      // connect timeout) are looked at between slices, when no message came.
      int ms = ms_until(limit(until));
      int slice = static_cast<int>(inproc_ ? inproc_recheck.count() : event_recheck.count());
      if (read(out, ms < 0 || ms > slice ? slice : ms)) return transport::recv_status::frame;
      housekeeping();
      if (stream_over()) {
        // Frames of the last sender may have arrived just before its end was seen.
        if (read(out, 0)) return transport::recv_status::frame;
        ended_ = true;
        return transport::recv_status::end;
      }
      check_connect_timeout();
      if (clock::now() >= until) return transport::recv_status::timeout;
    }
  }

  std::string endpoint() const override { return first_endpoint(); }

  // A frame that ZeroMQ holds on the heap is kept by taking its message (no copy); a short one,
  // which ZeroMQ stores inside the message object itself, is copied.
  transport::kept keep(std::span<const std::byte> frame) override {
    if (msg_.size() <= 64) return receiver_link::keep(frame);
    std::uint64_t token = (std::uint64_t{1} << 63) | ++kept_count_;  // apart from the copies'
    kept_.emplace_back(token, std::move(msg_));
    msg_ = ::zmq::message_t();
    return {token, frame};
  }

  void release(std::uint64_t token) noexcept override {
    auto it =
        std::find_if(kept_.begin(), kept_.end(), [&](const auto& k) { return k.first == token; });
    if (it == kept_.end()) return receiver_link::release(token);
    kept_.erase(it);
  }

  void close() noexcept override { link_base::release(); }

 private:
  bool stream_over() {
    std::size_t need = std::max<std::size_t>(1, opts_.expect_senders);
    if (inproc_) {
      inproc_count c = inproc_get(eps_.front().address);
      return c.senders_ever >= need && c.senders_open == 0;
    }
    return monitor_->handshakes() >= need && monitor_->established() == 0;
  }

  bool wanted(std::string_view topic) const {
    if (opts_.topics.empty()) return true;
    return std::any_of(opts_.topics.begin(), opts_.topics.end(),
                       [&](const std::string& t) { return topic.starts_with(t); });
  }

  // Takes the next message if one is queued. Throws decode_error for a message of the wrong
  // shape (it is consumed whole, so the channel stays usable).
  bool read(transport::received& out, int wait_ms) {
    ::zmq::recv_flags flags = ::zmq::recv_flags::dontwait;
    if (wait_ms > 0) {
      flags = ::zmq::recv_flags::none;
      if (wait_ms != timeout_ms_) {
        sock_.set(::zmq::sockopt::rcvtimeo, wait_ms);
        timeout_ms_ = wait_ms;
      }
    }
    try {
      for (;;) {
        if (pattern_ == pattern::pubsub) {
          if (!sock_.recv(topic_, flags)) return false;
          if (!topic_.more()) malformed(1);
          (void)sock_.recv(msg_);
          if (msg_.more()) malformed(2);
          if (!wanted(topic_.to_string_view())) continue;
          out.topic = topic_.to_string_view();
        } else {
          if (!sock_.recv(msg_, flags)) return false;
          if (msg_.more()) malformed(1);
          out.topic = {};
        }
        out.frame = {static_cast<const std::byte*>(msg_.data()), msg_.size()};
        if (++reads_ % housekeeping_every == 0) housekeeping();
        return true;
      }
    } catch (const ::zmq::error_t& e) {
      throw transport_error("brine: recv on " + urls_of(eps_) + " failed: " + e.what());
    }
  }

  [[noreturn]] void malformed(std::size_t parts_read) {
    std::size_t parts = parts_read;
    bool more = true;
    ::zmq::message_t rest;
    while (more && sock_.recv(rest)) {
      ++parts;
      more = rest.more();
    }
    throw decode_error(
        "a " + std::string(pattern_ == pattern::pubsub ? "publish/subscribe" : "pipeline") +
            " message has " +
            std::string(pattern_ == pattern::pubsub ? "two parts (topic, frame)" : "one part") +
            "; this one had " + std::to_string(parts) + " (not sent by brine?)",
        0);
  }

  ::zmq::message_t msg_;
  ::zmq::message_t topic_;
  std::vector<std::pair<std::uint64_t, ::zmq::message_t>> kept_;
  std::uint64_t kept_count_ = 0;
  int timeout_ms_ = -1;
  bool ended_ = false;
  unsigned reads_ = 0;
};

// An eventfd another thread writes to make a blocked poll return (client_link::wake).
class waker {
 public:
  waker() : fd_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {
    if (fd_ < 0)
      throw transport_error(std::string("brine: eventfd failed: ") + std::strerror(errno));
  }
  ~waker() { ::close(fd_); }
  waker(const waker&) = delete;
  waker& operator=(const waker&) = delete;

  void wake() noexcept {
    std::uint64_t one = 1;
    (void)!::write(fd_, &one, sizeof one);
  }
  // Whether wake() was called since the last take().
  bool take() noexcept {
    std::uint64_t n = 0;
    return ::read(fd_, &n, sizeof n) == sizeof n;
  }
  int fd() const noexcept { return fd_; }

 private:
  int fd_;
};

// What the client and the server share: sending with a timeout, and a wake-able wait.
class reqrep_base : protected link_base {
 protected:
  reqrep_base(std::vector<endpoint> eps, const channel_options& o, bool client)
      : link_base(pattern::reqrep, std::move(eps), o, client) {}

  std::span<std::byte> prepare_msg(std::size_t size) { return make_room(out_, size); }

  // Applies a send timeout of `ms` (-1: none; 0: do not wait) and returns the flags to use.
  ::zmq::send_flags send_flags(int ms) {
    if (ms == 0) return ::zmq::send_flags::dontwait;
    if (ms != send_ms_) {
      sock_.set(::zmq::sockopt::sndtimeo, ms);
      send_ms_ = ms;
    }
    return ::zmq::send_flags::none;
  }

  // Waits for a message, a connection event or wake(), at most until `until` and at most one
  // event_recheck. Returns false if woken. Called right after a receive found nothing, which
  // left the socket's descriptor to signal what arrives next: one poll(2) waits on it, the
  // monitor's and the waker's. zmq_poll makes more system calls per wait (a first pass that
  // does not block, and a look at each socket's events before and after): 92 against 90 us a
  // call over ipc:// with both processes pinned.
  bool wait_input(deadline until) {
    deadline stop = std::min(until, transport::after(inproc_ ? inproc_recheck : event_recheck));
    if (sock_fd_ < 0) {
      sock_fd_ = sock_.get(::zmq::sockopt::fd);
      if (monitor_) monitor_fd_ = monitor_->socket().get(::zmq::sockopt::fd);
    }
    pollfd fds[3] = {{sock_fd_, POLLIN, 0}, {waker_.fd(), POLLIN, 0}, {monitor_fd_, POLLIN, 0}};
    int n = monitor_fd_ >= 0 ? 3 : 2;
    int rc = ::poll(fds, static_cast<nfds_t>(n), ms_until(stop));
    if (rc < 0) {
      if (errno != EINTR)
        throw transport_error(std::string("brine: poll failed: ") + std::strerror(errno));
      events_waiting_ = true;
      return true;
    }
    // The monitor's descriptor, like the socket's, may signal commands rather than events:
    // reading them (housekeeping) rearms it.
    if (n == 3 && fds[2].revents != 0) events_waiting_ = true;
    if (rc == 0) events_waiting_ = true;  // a timeout
    if (fds[1].revents == 0 || !waker_.take()) return true;
    woken_.store(false, std::memory_order_relaxed);
    return false;
  }

  // Takes a message with `take(flags)` (false: none came), else waits for one, a connection
  // event or wake() until `until`. With lazy_wake the wait is ZeroMQ's own blocking receive,
  // in slices of lazy_wake_within between which wake() and the connection events are looked
  // at: waiting in a poll of the socket, the waker and the monitor makes a call over ipc://
  // about a tenth slower here (90 against 82 us, both processes pinned to a CPU each).
  template <class Take>
  transport::recv_status receive(deadline until, const char* what, Take take) {
    for (;;) {
      if (lazy_ && woken_.exchange(false, std::memory_order_acquire)) {
        (void)waker_.take();
        return transport::recv_status::timeout;
      }
      int wait_ms = 0;
      if (lazy_) {
        wait_ms = ms_until(std::min(until, transport::after(transport::lazy_wake_within)));
        if (wait_ms != recv_ms_ && wait_ms > 0) {
          sock_.set(::zmq::sockopt::rcvtimeo, wait_ms);
          recv_ms_ = wait_ms;
        }
      }
      try {
        if (take(wait_ms > 0 ? ::zmq::recv_flags::none : ::zmq::recv_flags::dontwait))
          return transport::recv_status::frame;
      } catch (const ::zmq::error_t& e) {
        if (e.num() != EINTR)
          throw transport_error(std::string("brine: ") + what + " " + urls_of(eps_) +
                                " failed: " + e.what());
      }
      if (wait_ms > 0) events_waiting_ = true;  // a slice passed: look at connection events
      if (std::exchange(events_waiting_, false)) housekeeping();
      if (clock::now() >= until) return transport::recv_status::timeout;
      if (!lazy_ && !wait_input(until)) return transport::recv_status::timeout;
    }
  }

  void wake_up() noexcept {
    woken_.store(true, std::memory_order_release);
    waker_.wake();
  }

  void set_lazy(bool on) noexcept { lazy_ = on; }

  // Reads the rest of a message of the wrong shape and says so.
  [[noreturn]] void malformed(std::size_t parts_read, const char* expected) {
    std::size_t parts = parts_read;
    bool more = true;
    ::zmq::message_t rest;
    while (more && sock_.recv(rest)) {
      ++parts;
      more = rest.more();
    }
    throw decode_error(std::string("a request/reply message has ") + expected + "; this one had " +
                           std::to_string(parts) + " (not sent by brine?)",
                       0);
  }

  ::zmq::message_t out_;
  ::zmq::message_t in_;
  waker waker_;
  std::atomic<bool> woken_{false};  // wake() was called (what a lazy wait looks at)
  bool lazy_ = false;
  int recv_ms_ = -1;
  int sock_fd_ = -1;  // ZeroMQ's descriptors of the socket and of its monitor, once asked
  int monitor_fd_ = -1;
  int send_ms_ = -1;
  bool events_waiting_ = true;  // connection events may be queued: read them
};

class zmq_client final : public transport::client_link, reqrep_base {
 public:
  zmq_client(std::vector<transport::endpoint> eps, const channel_options& o)
      : reqrep_base(std::move(eps), o, /*client=*/true) {}
  ~zmq_client() override { close(); }

  std::span<std::byte> prepare(std::size_t size) override { return prepare_msg(size); }

  bool commit(deadline until) override {
    if (released_) throw channel_closed("brine: call on a closed client");
    try {
      return sock_.send(out_, send_flags(ms_until(until))).has_value();
    } catch (const ::zmq::error_t& e) {
      throw transport_error("brine: request to " + urls_of(eps_) + " failed: " + e.what());
    }
  }

  transport::recv_status recv(transport::received& out, deadline until) override {
    if (released_) throw channel_closed("brine: recv on a closed client");
    return receive(until, "reply from", [&](::zmq::recv_flags flags) {
      if (!sock_.recv(in_, flags)) return false;
      if (in_.more()) malformed(1, "one part");
      out.frame = {static_cast<const std::byte*>(in_.data()), in_.size()};
      out.topic = {};
      return true;
    });
  }

  void wake() noexcept override { wake_up(); }

  void lazy_wake(bool on) noexcept override { set_lazy(on); }

  std::uint64_t losses() override {
    if (inproc_) {
      // No connection events here: a server that is gone when looked at counts as one loss.
      bool up = inproc_get(eps_.front().address).receivers_open > 0;
      if (was_up_ && !up) ++inproc_losses_;
      was_up_ = up;
      return inproc_losses_;
    }
    housekeeping();
    return monitor_->lost();
  }

  bool connected() override {
    if (inproc_) return inproc_get(eps_.front().address).receivers_open > 0;
    housekeeping();
    return monitor_->established() > 0;
  }

  std::string endpoint() const override { return first_endpoint(); }

  void close() noexcept override { release(); }

 private:
  bool was_up_ = false;
  std::uint64_t inproc_losses_ = 0;
};

class zmq_server final : public transport::server_link, reqrep_base {
 public:
  zmq_server(std::vector<transport::endpoint> eps, const channel_options& o)
      : reqrep_base(std::move(eps), o, /*client=*/false) {}
  ~zmq_server() override { close(); }

  transport::recv_status recv(transport::received& out, std::string& client,
                              deadline until) override {
    if (released_) throw channel_closed("brine: recv on a stopped server");
    return receive(until, "request on", [&](::zmq::recv_flags flags) {
      if (!sock_.recv(from_, flags)) return false;
      if (!from_.more()) malformed(1, "two parts (client, request)");
      (void)sock_.recv(in_);
      if (in_.more()) malformed(2, "two parts (client, request)");
      client.assign(static_cast<const char*>(from_.data()), from_.size());
      out.frame = {static_cast<const std::byte*>(in_.data()), in_.size()};
      out.topic = {};
      return true;
    });
  }

  std::span<std::byte> prepare(std::size_t size) override { return prepare_msg(size); }

  bool reply(std::string_view client, deadline until) override {
    if (released_) throw channel_closed("brine: reply on a stopped server");
    try {
      ::zmq::send_flags flags = send_flags(ms_until(until));
      if (!sock_.send(::zmq::buffer(client.data(), client.size()),
                      flags | ::zmq::send_flags::sndmore))
        return false;
      (void)sock_.send(out_, ::zmq::send_flags::none);
      return true;
    } catch (const ::zmq::error_t& e) {
      if (e.num() == EHOSTUNREACH) return true;  // the client has gone: nobody to tell
      throw transport_error("brine: reply on " + urls_of(eps_) + " failed: " + e.what());
    }
  }

  void wake() noexcept override { wake_up(); }

  void lazy_wake(bool on) noexcept override { set_lazy(on); }

  std::string endpoint() const override { return first_endpoint(); }

  void close() noexcept override { release(); }

 private:
  ::zmq::message_t from_;
};

}  // namespace

std::unique_ptr<transport::sender_link> open_sender(pattern p, std::vector<endpoint> eps,
                                                    const channel_options& opts) {
  return std::make_unique<zmq_sender>(p, std::move(eps), opts);
}

std::unique_ptr<transport::receiver_link> open_receiver(pattern p, std::vector<endpoint> eps,
                                                        const channel_options& opts) {
  return std::make_unique<zmq_receiver>(p, std::move(eps), opts);
}

std::unique_ptr<transport::client_link> open_client(std::vector<endpoint> eps,
                                                    const channel_options& opts) {
  return std::make_unique<zmq_client>(std::move(eps), opts);
}

std::unique_ptr<transport::server_link> open_server(std::vector<endpoint> eps,
                                                    const channel_options& opts) {
  return std::make_unique<zmq_server>(std::move(eps), opts);
}

}  // namespace brine::zmq_transport
