#pragma once

// The process's one ZeroMQ context, made on first use and again after fork(), plus the
// process-wide bookkeeping the ZeroMQ transport needs: the inproc sender registry (inproc has
// no connection events) and the ZAP handler that admits CURVE clients. Not installed.

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <memory>
#include <set>
#include <string>
#include <vector>
#include <zmq.hpp>

namespace brine::zmq_transport {

/// Holds the process's context while a socket of it lives. Members that are sockets must be
/// declared after it, so that they close first.
class context_ref {
 public:
  context_ref();
  ~context_ref();
  context_ref(const context_ref&) = delete;
  context_ref& operator=(const context_ref&) = delete;

  ::zmq::context_t& get() const noexcept { return *ctx_; }
  /// Whether this process made the context (false in a forked child holding a parent's link).
  bool owned_here() const noexcept;

 private:
  ::zmq::context_t* ctx_;
  pid_t pid_;
};

/// A name unique in this process, for inproc endpoints brine makes for itself.
std::string unique_name(const char* what);

/// Who is on an inproc endpoint, for end of stream and wait_peers.
struct inproc_count {
  std::size_t senders_open = 0;
  std::size_t senders_ever = 0;
  std::size_t receivers_open = 0;
};
void inproc_add(const std::string& name, bool sender);
void inproc_remove(const std::string& name, bool sender);
inproc_count inproc_get(const std::string& name);

/// A closed ipc:// sender whose ZeroMQ socket stays open until its receivers have caught up.
/// ZeroMQ drops what the kernel still buffers toward a receiver whose queue is full when the
/// connection closes (it sees POLLHUP and stops reading), so brine closes such a socket only
/// once every connection's unread bytes are zero. docs/transports.md tells more.
class deferred_close {
 public:
  virtual ~deferred_close() = default;
  /// Whether the socket may close now. Called on the closer thread, which owns it from then on.
  virtual bool ready() = 0;
};

/// Takes `s` and destroys it (closing its socket) once s->ready(). Never blocks.
void close_when_ready(std::unique_ptr<deferred_close> s);

/// Makes `sock` a CURVE server in a ZAP domain that admits only `allowed` client keys (every
/// client when empty). Undone by zap_forget(domain) when the socket closes.
std::string zap_admit(::zmq::socket_t& sock, const std::set<std::string>& allowed);
void zap_forget(const std::string& domain) noexcept;

}  // namespace brine::zmq_transport
