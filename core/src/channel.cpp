// URL parsing, transport selection by scheme, and the channel layer's out-of-line errors.

#include <time.h>

#include <algorithm>
#include <charconv>
#include <string>

#include "brine/channel.hpp"
#include "brine/error.hpp"
#include "brine/transport.hpp"
#include "shm_transport.hpp"
#include "zmq_transport.hpp"

namespace brine {
namespace detail {

void throw_closed(const std::string& what) { throw channel_closed(what); }

void throw_stale_loan() {
  throw error(
      "brine: this loan cannot be sent: it was sent already, or a later loan or send on its "
      "sender replaced it (one loan per sender at a time)");
}

std::span<const std::byte> byte_buffer_body(const frame_view& f) {
  reader r(f.body.data(), f.body.data() + f.body.size(), limits{}, f.body_offset);
  std::uint64_t n = r.varint();
  if (n != r.left())
    throw decode_error("a byte buffer's count (" + std::to_string(n) + ") is not the " +
                           std::to_string(r.left()) + " bytes that follow it",
                       f.body_offset);
  return f.body.last(static_cast<std::size_t>(n));
}

void throw_no_topic() {
  throw error("brine: topics are for publish/subscribe; a pipeline sender has none");
}

}  // namespace detail

namespace transport {
namespace {

[[noreturn]] void bad_url(std::string_view url, const std::string& why) {
  throw transport_error("brine: bad URL '" + std::string(url) + "': " + why);
}

void check_tcp(std::string_view url, std::string_view address) {
  std::size_t colon = address.rfind(':');
  if (colon == std::string_view::npos || colon == 0)
    bad_url(url, "tcp needs host:port (for example tcp://127.0.0.1:5555 or tcp://*:*)");
  std::string_view host = address.substr(0, colon);
  std::string_view port = address.substr(colon + 1);
  if (host.front() == '[' && host.back() != ']') bad_url(url, "unclosed '[' in IPv6 address");
  if (port == "*") return;
  unsigned value = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || ec != std::errc{} || end != port.data() + port.size() || value > 65535)
    bad_url(url, "port must be a number from 0 to 65535, or '*' for any free port");
}

}  // namespace

namespace {

deadline from(deadline now, std::chrono::nanoseconds timeout) noexcept {
  if (timeout <= std::chrono::nanoseconds::zero()) return now;
  if (timeout >= forever - now) return forever;
  return now + std::chrono::duration_cast<std::chrono::steady_clock::duration>(timeout);
}

}  // namespace

deadline after(std::chrono::nanoseconds timeout) noexcept {
  return from(std::chrono::steady_clock::now(), timeout);
}

deadline about_after(std::chrono::nanoseconds timeout) noexcept {
  // steady_clock is CLOCK_MONOTONIC, of which this is the coarse reading (libstdc++).
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  deadline now{std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec)};
  return from(now, timeout);
}

kept receiver_link::keep(std::span<const std::byte> frame) {
  copies_.emplace_back(++copied_, std::vector<std::byte>(frame.begin(), frame.end()));
  const std::vector<std::byte>& copy = copies_.back().second;
  done();
  return {copied_, copy};
}

void receiver_link::release(std::uint64_t token) noexcept {
  auto it =
      std::find_if(copies_.begin(), copies_.end(), [&](const auto& c) { return c.first == token; });
  if (it != copies_.end()) copies_.erase(it);
}

endpoint parse_url(std::string_view url) {
  endpoint e;
  std::string_view rest = url;
  if (!rest.empty() && (rest.front() == '@' || rest.front() == '>')) {
    e.bind = rest.front() == '@';
    rest.remove_prefix(1);
  }
  std::size_t sep = rest.find("://");
  if (sep == std::string_view::npos || sep == 0)
    bad_url(url, "expected scheme://address, e.g. ipc:///tmp/jobs.sock or tcp://127.0.0.1:5555");
  e.scheme = std::string(rest.substr(0, sep));
  e.address = std::string(rest.substr(sep + 3));
  if (e.address.empty()) bad_url(url, "the address after '://' is empty");
  if (e.scheme == "tcp") {
    check_tcp(url, e.address);
  } else if (e.scheme == "ipc") {
    // Linux's sockaddr_un holds 107 path bytes and a terminator.
    if (e.address.size() > 107) bad_url(url, "ipc paths are limited to 107 bytes");
  } else if (e.scheme == "inproc" || e.scheme == "shm") {
  } else {
    bad_url(url, "unknown scheme '" + e.scheme + "'; brine knows ipc, tcp, inproc and shm");
  }
  return e;
}

namespace {

std::vector<endpoint> parse_all(std::span<const std::string> urls) {
  if (urls.empty()) throw transport_error("brine: a channel needs at least one URL");
  std::vector<endpoint> out;
  for (const std::string& u : urls)
    out.push_back(parse_url(u));
  bool inproc = out.front().scheme == "inproc";
  for (const endpoint& e : out) {
    if ((e.scheme == "inproc") != inproc)
      throw transport_error("brine: inproc:// URLs cannot be mixed with others in one channel");
  }
  return out;
}

}  // namespace

// shm:// takes one URL per channel; the others go to ZeroMQ.
const endpoint* shm_endpoint(const std::vector<endpoint>& eps) {
  bool shm =
      std::any_of(eps.begin(), eps.end(), [](const endpoint& e) { return e.scheme == "shm"; });
  if (!shm) return nullptr;
  if (eps.size() != 1)
    throw transport_error("brine: a shm:// channel has exactly one URL (" + eps.front().url() +
                          ")");
  if (eps.front().bind.has_value())
    throw transport_error("brine: shm:// channels neither bind nor connect; drop the '@' or '>' (" +
                          eps.front().url() + ")");
  return &eps.front();
}

std::unique_ptr<sender_link> open_sender(pattern p, std::span<const std::string> urls,
                                         const channel_options& opts, std::uint64_t fingerprint) {
  std::vector<endpoint> eps = parse_all(urls);
  if (const endpoint* e = shm_endpoint(eps)) return shm::open_sender(p, *e, opts, fingerprint);
  return zmq_transport::open_sender(p, std::move(eps), opts);
}

std::string shm_os_name(std::string_view url) {
  endpoint e = parse_url(url);
  if (e.scheme != "shm") throw transport_error("brine: not a shm:// URL: " + std::string(url));
  return shm::os_name(e.address);
}

std::unique_ptr<receiver_link> open_receiver(pattern p, std::span<const std::string> urls,
                                             const channel_options& opts,
                                             std::uint64_t fingerprint) {
  std::vector<endpoint> eps = parse_all(urls);
  if (const endpoint* e = shm_endpoint(eps)) return shm::open_receiver(p, *e, opts, fingerprint);
  return zmq_transport::open_receiver(p, std::move(eps), opts);
}

std::unique_ptr<client_link> open_client(std::span<const std::string> urls,
                                         const channel_options& opts) {
  std::vector<endpoint> eps = parse_all(urls);
  if (const endpoint* e = shm_endpoint(eps)) return shm::open_client(*e, opts);
  return zmq_transport::open_client(std::move(eps), opts);
}

std::unique_ptr<server_link> open_server(std::span<const std::string> urls,
                                         const channel_options& opts) {
  std::vector<endpoint> eps = parse_all(urls);
  if (const endpoint* e = shm_endpoint(eps)) return shm::open_server(*e, opts);
  return zmq_transport::open_server(std::move(eps), opts);
}

}  // namespace transport

void shutdown() noexcept { zmq_transport::shutdown(); }

curve_keys curve_keypair() { return zmq_transport::curve_keypair(); }

}  // namespace brine
