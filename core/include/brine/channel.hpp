#pragma once

// Typed channels: brine::push / pull (pipeline) and brine::publish / subscribe.
// docs/channels.md explains end of stream, binding, backpressure and the threading rules.

#include <chrono>
#include <cstddef>
#include <initializer_list>
#include <iterator>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "brine/channel_options.hpp"
#include "brine/codec.hpp"
#include "brine/error.hpp"
#include "brine/transport.hpp"

namespace brine {

namespace detail {
[[noreturn]] void throw_closed(const std::string& what);
[[noreturn]] void throw_no_topic();

// The type a channel announces when it is set up; 0 for types whose messages carry their schema
// (evolvable records), whose readers accept compatible versions with other fingerprints.
template <class T>
constexpr std::uint64_t channel_fingerprint() {
  return message_has_schema<T> ? 0 : fingerprint<T>;
}

template <class E>
inline constexpr bool is_byte_element =
    std::is_same_v<E, std::byte> || std::is_same_v<E, char> || std::is_same_v<E, signed char> ||
    std::is_same_v<E, unsigned char> || std::is_same_v<E, char8_t>;

template <class T>
struct byte_buffer_traits : std::false_type {};
template <class E, class A>
struct byte_buffer_traits<std::vector<E, A>> : std::bool_constant<is_byte_element<E>> {};
template <class E, class Tr, class A>
struct byte_buffer_traits<std::basic_string<E, Tr, A>> : std::bool_constant<is_byte_element<E>> {};

// The bytes of a message of a byte buffer type, in place: its body is a count and that many
// bytes. Throws: decode_error.
std::span<const std::byte> byte_buffer_body(const frame_view& f);
[[noreturn]] void throw_stale_loan();
}  // namespace detail

/// A type whose messages are a run of bytes, which loans and views reach in place:
/// std::vector or std::basic_string of std::byte, char, signed or unsigned char, or char8_t.
template <class T>
concept byte_buffer = detail::byte_buffer_traits<T>::value;

/// A buffer for the next message of a sender of a byte_buffer type, made by sender::loan(n) in
/// the memory the transport sends from (shared memory over shm://: the sender's pool for a
/// message longer than a ring slot, else the slot itself), and sent by sender::send without
/// a copy. One loan per sender at a time: a later loan() or send of a value replaces it
/// (sending a replaced loan throws brine::error). Dropping it unsent gives the memory back.
class loan {
 public:
  loan() = default;
  loan(loan&& o) noexcept : link_(std::exchange(o.link_, nullptr)), id_(o.id_), bytes_(o.bytes_) {}
  loan& operator=(loan&& o) noexcept {
    link_ = std::exchange(o.link_, nullptr);
    id_ = o.id_;
    bytes_ = o.bytes_;
    return *this;
  }

  /// The message's bytes, to be written before sending.
  std::span<std::byte> bytes() const noexcept { return bytes_; }
  std::byte* data() const noexcept { return bytes_.data(); }
  std::size_t size() const noexcept { return bytes_.size(); }

 private:
  template <class>
  friend class sender;
  loan(const transport::sender_link* link, std::uint64_t id, std::span<std::byte> bytes)
      : link_(link), id_(id), bytes_(bytes) {}
  const transport::sender_link* link_ = nullptr;  // who made it; nullptr once sent
  std::uint64_t id_ = 0;
  std::span<std::byte> bytes_;
};

/// A message received in place (receiver::recv_view): its bytes stay where the transport put
/// them (shared memory over shm://, where senders leave them alone) until the view is released
/// or destroyed, also past later receives and the receiver's close(). Move-only.
class view {
 public:
  view() = default;
  view(view&& o) noexcept
      : link_(std::move(o.link_)),
        token_(o.token_),
        bytes_(o.bytes_),
        topic_(std::move(o.topic_)) {}
  view& operator=(view&& o) noexcept {
    if (this != &o) {
      release();
      link_ = std::move(o.link_);
      token_ = o.token_;
      bytes_ = o.bytes_;
      topic_ = std::move(o.topic_);
    }
    return *this;
  }
  ~view() { release(); }

  /// The message's content (the bytes of the byte buffer sent); empty once released.
  std::span<const std::byte> bytes() const noexcept { return bytes_; }
  const std::byte* data() const noexcept { return bytes_.data(); }
  std::size_t size() const noexcept { return bytes_.size(); }
  /// Its topic (publish/subscribe).
  const std::string& topic() const noexcept { return topic_; }
  /// Whether it still holds a message.
  explicit operator bool() const noexcept { return link_ != nullptr; }

  /// Gives the memory back to the transport now.
  void release() noexcept {
    if (link_) link_->release(token_);
    link_.reset();
    bytes_ = {};
  }

 private:
  template <class>
  friend class receiver;
  view(std::shared_ptr<transport::receiver_link> link, std::uint64_t token,
       std::span<const std::byte> bytes, std::string topic)
      : link_(std::move(link)), token_(token), bytes_(bytes), topic_(std::move(topic)) {}
  std::shared_ptr<transport::receiver_link> link_;
  std::uint64_t token_ = 0;
  std::span<const std::byte> bytes_;
  std::string topic_;
};

/// The sending end of a channel of T. Made by brine::push or brine::publish.
/// Thread-safety: one thread at a time (it may move between threads).
template <class T>
class sender {
 public:
  sender(transport::pattern p, std::span<const std::string> urls, const channel_options& opts)
      : pattern_(p),
        link_(transport::open_sender(p, urls, opts, detail::channel_fingerprint<T>())) {}

  /// Sends `v`. Blocks: while every receiver's queue is full (the high-water mark).
  /// Throws: encode_error, channel_closed after close(), transport_error.
  void send(const T& v) { send_until(v, {}, transport::forever); }

  /// Sends `v` under `topic` (publish only): subscribers filter on topic prefixes.
  void send(std::string_view topic, const T& v) {
    if (pattern_ != transport::pattern::pubsub) detail::throw_no_topic();
    send_until(v, topic, transport::forever);
  }

  /// Sends `v` unless the queues stay full for `timeout`; returns whether it was sent.
  template <class Rep, class Period>
  bool send_for(const T& v, std::chrono::duration<Rep, Period> timeout) {
    return send_until(v, {}, transport::after(timeout));
  }

  /// Sends `v` only if that needs no waiting; returns whether it was sent.
  bool try_send(const T& v) { return send_until(v, {}, transport::deadline{}); }

  /// A buffer for a message of `n` bytes in the transport's memory, sent by send(loan&&)
  /// without a copy (see brine::loan). Throws: channel_closed after close().
  brine::loan loan(std::size_t n) requires byte_buffer<T> {
    transport::sender_link& l = link();
    detail::note_type_once<T>();
    std::size_t body = detail::varint_size(n) + n;
    std::span<std::byte> out = l.prepare(detail::message_prefix<T>() + body);
    detail::write_prefix<T>(out.data(), body);
    detail::writer w(out.data() + detail::message_prefix<T>(), nullptr, 1);
    w.varint(n);
    return brine::loan(&l, ++prepared_, out.last(n));
  }

  /// Sends a loan made by this sender's loan() (then spent). Blocks as send(v) does.
  /// Throws: brine::error for a loan replaced by a later loan or send, or already sent; as send.
  void send(brine::loan&& l) requires byte_buffer<T> { send_loan(l, {}, transport::forever); }

  /// Sends a loan under `topic` (publish only).
  void send(std::string_view topic, brine::loan&& l) requires byte_buffer<T> {
    if (pattern_ != transport::pattern::pubsub) detail::throw_no_topic();
    send_loan(l, topic, transport::forever);
  }

  /// Sends a loan unless the queues stay full for `timeout`; returns whether it was sent. A loan
  /// not sent stays valid.
  template <class Rep, class Period>
  bool send_for(brine::loan&& l,
                std::chrono::duration<Rep, Period> timeout) requires byte_buffer<T> {
    return send_loan(l, {}, transport::after(timeout));
  }

  /// Waits until `count` receivers are connected (for publish: subscribed, so that they get
  /// every message sent from now on). Returns false after `timeout`.
  template <class Rep, class Period>
  bool wait_peers(std::size_t count, std::chrono::duration<Rep, Period> timeout) {
    return link().wait_peers(count, transport::after(timeout));
  }

  /// Ends the stream: receivers see its end after every message sent before. Never blocks.
  void close() noexcept {
    if (link_) {
      link_->close();
      dropped_at_close_ = link_->dropped();
    }
    link_.reset();
  }

  /// Whether close() was called.
  bool closed() const noexcept { return !link_; }

  /// Publish with slow_subscriber::drop: how many times a message was skipped for a subscriber
  /// whose queue was full. Counted over shm://; ZeroMQ drops without telling, so 0 there.
  std::uint64_t dropped() const noexcept { return link_ ? link_->dropped() : dropped_at_close_; }

  /// The bound address (the real port for "tcp://host:*"), else the first URL.
  std::string endpoint() const { return link_ ? link_->endpoint() : std::string(); }

 private:
  bool send_until(const T& v, std::string_view topic, transport::deadline until) {
    transport::sender_link& l = link();
    ++prepared_;  // replaces a loan
    detail::note_type_once<T>();
    std::size_t body = detail::body_size(v);
    std::span<std::byte> out = l.prepare(detail::message_prefix<T>() + body);
    detail::write_frame(v, out.data(), body);
    return l.commit(topic, until);
  }

  transport::sender_link& link() {
    if (!link_) detail::throw_closed("brine: send on a closed channel");
    return *link_;
  }

  bool send_loan(brine::loan& lo, std::string_view topic, transport::deadline until) {
    transport::sender_link& l = link();
    if (lo.link_ != &l || lo.id_ != prepared_) detail::throw_stale_loan();
    if (!l.commit(topic, until)) return false;
    lo.link_ = nullptr;
    lo.bytes_ = {};
    ++prepared_;
    return true;
  }

  transport::pattern pattern_;
  std::unique_ptr<transport::sender_link> link_;
  std::uint64_t dropped_at_close_ = 0;
  std::uint64_t prepared_ = 0;  // counts prepare() calls: a loan is good while it is the last
};

/// The receiving end of a channel of T. Made by brine::pull or brine::subscribe.
/// Thread-safety: one thread at a time (it may move between threads).
template <class T>
class receiver {
 public:
  receiver(transport::pattern p, std::span<const std::string> urls, const channel_options& opts)
      : limits_(opts.decode_limits),
        link_(transport::open_receiver(p, urls, opts, detail::channel_fingerprint<T>())) {}

  /// The next message. Blocks: until one arrives.
  /// Throws: channel_closed at end of stream; decode_error or type_mismatch for a message that
  /// is not a T (that message is dropped, the channel stays usable); transport_error.
  T recv() {
    T v{};
    recv_until(v, transport::forever);
    return v;
  }

  /// The next message, or nullopt if none arrives within `timeout`. Throws: as recv().
  template <class Rep, class Period>
  std::optional<T> recv_for(std::chrono::duration<Rep, Period> timeout) {
    std::optional<T> v(std::in_place);
    if (!recv_until(*v, transport::after(timeout))) v.reset();
    return v;
  }

  /// The next message if one is already here. Throws: as recv().
  std::optional<T> try_recv() {
    std::optional<T> v(std::in_place);
    if (!recv_until(*v, transport::deadline{})) v.reset();
    return v;
  }

  /// Decodes the next message into `out`, reusing its storage; false after `timeout`.
  /// Throws: as recv().
  template <class Rep, class Period>
  bool recv_into(T& out, std::chrono::duration<Rep, Period> timeout) {
    return recv_until(out, transport::after(timeout));
  }

  /// Decodes the next message into `out`, reusing its storage. Blocks. Throws: as recv().
  void recv_into(T& out) { recv_until(out, transport::forever); }

  /// The next message's bytes in place, without a copy (see brine::view). Blocks.
  /// Throws: as recv().
  view recv_view() requires byte_buffer<T> {
    view v;
    view_until(v, transport::forever);
    return v;
  }

  /// recv_view(), or an empty view if none arrives within `timeout`. Throws: as recv().
  template <class Rep, class Period>
  view recv_view_for(std::chrono::duration<Rep, Period> timeout) requires byte_buffer<T> {
    view v;
    view_until(v, transport::after(timeout));
    return v;
  }

  /// Topic of the last message received (publish/subscribe).
  const std::string& topic() const noexcept { return topic_; }

  /// Whether the stream has ended (every sender closed and drained) or close() was called.
  bool done() const noexcept { return ended_ || !link_; }

  /// Stops receiving; messages not yet received are discarded.
  void close() noexcept {
    if (link_) link_->close();
    link_.reset();
  }

  /// The bound address (the real port for "tcp://host:*"), else the first URL.
  std::string endpoint() const { return link_ ? link_->endpoint() : std::string(); }

  /// Input iteration over the stream: `for (T& v : rx)` ends at end of stream. The value is
  /// reused from one message to the next. Incrementing throws as recv() does.
  class iterator {
   public:
    using iterator_category = std::input_iterator_tag;
    using value_type = T;
    using difference_type = std::ptrdiff_t;
    using pointer = T*;
    using reference = T&;

    iterator() = default;
    T& operator*() const noexcept { return *value_; }
    T* operator->() const noexcept { return value_.get(); }
    iterator& operator++() {
      if (!rx_->recv_until(*value_, transport::forever, /*throw_at_end=*/false)) rx_ = nullptr;
      return *this;
    }
    void operator++(int) { ++*this; }
    friend bool operator==(const iterator& it, std::default_sentinel_t) noexcept {
      return it.rx_ == nullptr;
    }

   private:
    friend class receiver;
    explicit iterator(receiver* rx) : rx_(rx), value_(std::make_unique<T>()) { ++*this; }
    receiver* rx_ = nullptr;
    std::unique_ptr<T> value_;
  };

  /// Starts iteration by receiving the first message. Blocks.
  iterator begin() { return iterator(this); }
  std::default_sentinel_t end() const noexcept { return {}; }

 private:
  // The next frame into `r` (its topic in topic_): true; false on timeout, or at end of stream
  // unless `throw_at_end`.
  bool next_frame(transport::received& r, transport::deadline until, bool throw_at_end) {
    if (!link_) detail::throw_closed("brine: recv on a closed channel");
    switch (link_->recv(r, until)) {
      case transport::recv_status::timeout:
        return false;
      case transport::recv_status::end:
        ended_ = true;
        if (!throw_at_end) return false;
        detail::throw_closed("brine: end of stream on " + link_->endpoint());
      case transport::recv_status::frame:
        break;
    }
    if (!r.topic.empty() || !topic_.empty()) topic_.assign(r.topic);  // pipelines have none
    return true;
  }

  // True with a message in `out`; false on timeout, or at end of stream unless `throw_at_end`.
  bool recv_until(T& out, transport::deadline until, bool throw_at_end = true) {
    transport::received r;
    if (!next_frame(r, until, throw_at_end)) return false;
    struct release {
      transport::receiver_link* link;
      ~release() { link->done(); }
    } frame_done{link_.get()};
    loads_into(r.frame, out, limits_);
    return true;
  }

  bool view_until(view& out, transport::deadline until) {
    transport::received r;
    if (!next_frame(r, until, /*throw_at_end=*/true)) return false;
    std::span<const std::byte> body;
    try {
      frame_view f = parse_frame(r.frame, limits_);
      if (f.header.fingerprint != fingerprint<T>)
        detail::throw_type_mismatch(fingerprint<T>, detail::type_name<T>(), schema_of<T>, f);
      body = detail::byte_buffer_body(f);
    } catch (...) {
      link_->done();
      throw;
    }
    transport::kept k = link_->keep(body);
    out = view(link_, k.token, k.frame, topic_);
    return true;
  }

  limits limits_;
  std::shared_ptr<transport::receiver_link> link_;
  std::string topic_;
  bool ended_ = false;
};

/// The sending end of a pipeline: each message goes to exactly one puller.
/// Throws: transport_error (bad URL, address in use, ...).
template <class T>
sender<T> push(const std::string& url, const channel_options& opts = {}) {
  return sender<T>(transport::pattern::pipeline, std::span(&url, 1), opts);
}
/// As push(url), bound or connected to every URL in `urls`.
template <class T>
sender<T> push(const std::vector<std::string>& urls, const channel_options& opts = {}) {
  return sender<T>(transport::pattern::pipeline, urls, opts);
}

/// The receiving end of a pipeline. Throws: transport_error.
template <class T>
receiver<T> pull(const std::string& url, const channel_options& opts = {}) {
  return receiver<T>(transport::pattern::pipeline, std::span(&url, 1), opts);
}
/// As pull(url), bound or connected to every URL in `urls`.
template <class T>
receiver<T> pull(const std::vector<std::string>& urls, const channel_options& opts = {}) {
  return receiver<T>(transport::pattern::pipeline, urls, opts);
}

/// The sending end of publish/subscribe: each message goes to every subscriber.
/// Throws: transport_error.
template <class T>
sender<T> publish(const std::string& url, const channel_options& opts = {}) {
  return sender<T>(transport::pattern::pubsub, std::span(&url, 1), opts);
}

/// A subscriber: receives what is published after it joined, filtered by opts.topics.
/// Throws: transport_error.
template <class T>
receiver<T> subscribe(const std::string& url, const channel_options& opts = {}) {
  return receiver<T>(transport::pattern::pubsub, std::span(&url, 1), opts);
}
/// As subscribe(url), connected to every URL in `urls`.
template <class T>
receiver<T> subscribe(const std::vector<std::string>& urls, const channel_options& opts = {}) {
  return receiver<T>(transport::pattern::pubsub, urls, opts);
}

}  // namespace brine
