#pragma once

// The process's one ZeroMQ context, made on first use and again after fork(), plus the
// process-wide bookkeeping the ZeroMQ transport needs: the inproc sender registry (inproc has
// no connection events) and the ZAP handler that admits CURVE clients. Not installed.

#include <sys/types.h>

#include <chrono>
#include <cstddef>
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

/// Duplicates of the Unix-socket connections a closing ipc:// sender had open. ZeroMQ drops
/// what the kernel still buffers toward a receiver whose queue is full when the connection
/// closes (it sees POLLHUP and stops reading), so brine keeps each connection open until the
/// receiver has read everything, and only then lets it close. docs/transports.md tells more.
struct held_connection {
  int original = -1;  // ZeroMQ's descriptor: once it is closed, ZeroMQ has written everything
  int copy = -1;      // ours, closed by the holder
  unsigned long inode = 0;
};

/// Takes ownership of `held` and closes each copy once ZeroMQ has closed its original and the
/// peer has read every byte (or the peer is gone, or `linger` passed). Never blocks.
void hold_until_read(std::vector<held_connection> held, std::chrono::milliseconds linger);

/// Makes `sock` a CURVE server in a ZAP domain that admits only `allowed` client keys (every
/// client when empty). Undone by zap_forget(domain) when the socket closes.
std::string zap_admit(::zmq::socket_t& sock, const std::set<std::string>& allowed);
void zap_forget(const std::string& domain) noexcept;

}  // namespace brine::zmq_transport
