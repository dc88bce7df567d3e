#pragma once

// Pairs of processes for brine-bench-channels: one forked per run, so that sender and receiver
// (or the two ends of a ping-pong) never share a ZeroMQ context, a thread or a core's queue.

#include <functional>
#include <string>

#include "peers.hpp"

namespace brine::bench {

/// Runs `child` in a forked process and `parent` in this one. Each gets a rendezvous_fn whose
/// every call returns once the other process has made its matching call. The child's ZeroMQ state
/// is made after the fork, and this process must hold none when it forks (checked: it has a single
/// thread). Throws: std::runtime_error if this process has other threads, or the child fails.
/// Blocks: until the child has exited; the whole process ends if the pair takes over
/// `limit_seconds` (a peer is stuck).
void run_pair(const std::function<void(const rendezvous_fn&)>& child,
              const std::function<void(const rendezvous_fn&)>& parent, unsigned limit_seconds);

/// A fresh "ipc://" address in the temporary directory, unique to this process and call.
std::string fresh_ipc_url(const char* tag);

/// Removes the socket file behind an "ipc://" address, if any.
void remove_ipc_url(const std::string& url) noexcept;

}  // namespace brine::bench
