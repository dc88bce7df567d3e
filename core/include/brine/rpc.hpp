#pragma once

// Request/reply and RPC: brine::server answers named calls with any callable whose parameters
// and result are serializable; brine::client calls them synchronously or with futures.
// docs/rpc.md explains the guarantees, the errors and the wire format.

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "brine/channel_options.hpp"
#include "brine/codec.hpp"
#include "brine/error.hpp"
#include "brine/reflect.hpp"

namespace brine {

/// Settings of a client or a server.
struct rpc_options {
  /// Client: how long a call may take, from the call to its reply, unless given per call.
  std::chrono::milliseconds timeout{30'000};
  /// Transport settings (binding, CURVE keys, queue sizes, decode limits, connect_timeout: how
  /// long a call waits for a server to be connected before it fails with transport_error).
  channel_options channel{};
};

/// A method a server offers: its name, its signature as "int(int, int)", and what a caller that
/// does not know its C++ types needs to call it (brine-call): the schemas of its arguments' tuple
/// and of its result (parse_schema reads them), and the fingerprints the server checks (0: none).
struct method_info {
  std::string name;
  std::string signature;
  std::vector<std::uint8_t> args_schema;
  std::vector<std::uint8_t> result_schema;
  std::uint64_t args_fingerprint = 0;
  std::uint64_t result_fingerprint = 0;
  BRINE_FIELDS(name, signature, args_schema, result_schema, args_fingerprint, result_fingerprint)
};

namespace detail::rpc {

// What a reply says about its call.
enum class status : std::uint8_t {
  ok,
  remote_exception,  // the handler threw: type and message
  unknown_method,    // message lists the server's methods
  wrong_types,       // message gives the server's signature
  expired,           // the deadline had passed before the handler could run
  bad_request,       // arguments that do not decode
};

// Wire envelopes; each is a frame followed by the arguments' or the result's frame.
// request: id, arguments' fingerprint, result's fingerprint, timeout in ms (0: none), method.
using request_head =
    std::tuple<std::uint64_t, std::uint64_t, std::uint64_t, std::uint32_t, std::string>;
// reply: id, status, exception type, message.
using reply_head = std::tuple<std::uint64_t, std::uint8_t, std::string, std::string>;

// How an argument travels: by value, with string literals and char pointers as std::string.
template <class T>
struct arg {
  using type = std::conditional_t<std::is_same_v<std::decay_t<T>, char*> ||
                                      std::is_same_v<std::decay_t<T>, const char*>,
                                  std::string, std::remove_cvref_t<T>>;
};
template <class T>
using arg_t = typename arg<T>::type;

// What a result travels as: void as std::monostate.
template <class R>
using result_t = std::conditional_t<std::is_void_v<R>, std::monostate, std::remove_cvref_t<R>>;

// The result of a synchronous call, set once: by the calling thread itself, or by the client's
// I/O thread when it took the call over.
template <class T>
class outcome {
 public:
  void set(T&& v) {
    std::lock_guard lock(mutex_);
    if (done_) return;
    value_.emplace(std::move(v));
    done_ = true;
    ready_.notify_all();
  }
  void fail(std::exception_ptr e) {
    std::lock_guard lock(mutex_);
    if (done_) return;
    error_ = std::move(e);
    done_ = true;
    ready_.notify_all();
  }
  // Waits for the result; throws the call's error.
  T get() {
    std::unique_lock lock(mutex_);
    ready_.wait(lock, [&] { return done_; });
    if (error_) std::rethrow_exception(error_);
    return std::move(*value_);
  }

 private:
  std::mutex mutex_;
  std::condition_variable ready_;
  bool done_ = false;
  std::optional<T> value_;
  std::exception_ptr error_;
};

// A callable's result and parameters.
template <class F>
struct callable : callable<decltype(&std::remove_cvref_t<F>::operator())> {};
template <class R, class... A>
struct callable<R (*)(A...)> {
  using result = R;
  using args = std::tuple<std::remove_cvref_t<A>...>;
};
template <class R, class... A>
struct callable<R (*)(A...) noexcept> : callable<R (*)(A...)> {};
template <class R, class... A>
struct callable<R(A...)> : callable<R (*)(A...)> {};
template <class C, class R, class... A>
struct callable<R (C::*)(A...)> : callable<R (*)(A...)> {};
template <class C, class R, class... A>
struct callable<R (C::*)(A...) const> : callable<R (*)(A...)> {};
template <class C, class R, class... A>
struct callable<R (C::*)(A...) noexcept> : callable<R (*)(A...)> {};
template <class C, class R, class... A>
struct callable<R (C::*)(A...) const noexcept> : callable<R (*)(A...)> {};

// Fingerprint a peer must match, or 0 where the codec itself judges compatibility (types that
// carry their schema may differ and still be readable).
template <class T>
constexpr std::uint64_t checked_fingerprint() {
  return message_has_schema<T> ? 0 : fingerprint<T>;
}

template <class Tuple>
struct tuple_text;
template <class... A>
struct tuple_text<std::tuple<A...>> {
  static std::string get() {
    std::string out;
    ((out += (out.empty() ? "" : ", ") + std::string(type_name<A>())), ...);
    return out;
  }
};

// "int(int, double)", computed once per signature.
template <class R, class Args>
const std::string& signature() {
  static const std::string text = readable_type_name(std::string(type_name<result_t<R>>()) + "(" +
                                                     tuple_text<Args>::get() + ")");
  return text;
}

// Thrown by method::invoke when the arguments do not decode: the handler did not run.
struct bad_arguments {
  bool wrong_types;  // a type_mismatch, else a decode_error
  std::string message;
};

// A handler with its types erased.
struct method {
  std::string signature;
  std::uint64_t args_fingerprint = 0;
  std::uint64_t result_fingerprint = 0;
  std::span<const std::uint8_t> args_schema;
  std::span<const std::uint8_t> result_schema;
  // Decodes the arguments, runs the handler, appends the result's frame to `out`.
  std::function<void(std::span<const std::byte> args, const limits& lim,
                     std::vector<std::byte>& out)>
      invoke;
};

template <class F>
method make_method(F fn) {
  using info = callable<F>;
  using args = typename info::args;
  using result = typename info::result;
  method m;
  m.signature = signature<result, args>();
  m.args_fingerprint = checked_fingerprint<args>();
  m.result_fingerprint = checked_fingerprint<result_t<result>>();
  m.args_schema = schema_of<args>;
  m.result_schema = schema_of<result_t<result>>;
  m.invoke = [fn = std::move(fn)](std::span<const std::byte> bytes, const limits& lim,
                                  std::vector<std::byte>& out) mutable {
    args a{};
    try {
      loads_into(bytes, a, lim);
    } catch (const type_mismatch& e) {
      throw bad_arguments{true, e.what()};
    } catch (const decode_error& e) {
      throw bad_arguments{false, e.what()};
    }
    if constexpr (std::is_void_v<result>) {
      std::apply(fn, std::move(a));
      dumps_append(std::monostate{}, out);
    } else {
      dumps_append(std::apply(fn, std::move(a)), out);
    }
  };
  return m;
}

// One call on its way, as the client engine sees it.
struct call {
  std::string method;
  std::string signature;  // the caller's, for messages
  std::vector<std::byte> request;
  // For a call made in its caller's thread: the request's size, and what writes it straight
  // into the transport's buffer (its arguments are alive until the call returns).
  std::size_t size = 0;
  std::function<void(std::span<std::byte>)> write;
  std::chrono::steady_clock::time_point deadline;
  // Completes the caller's future from a reply (status, type, message, result frame), or
  // fails it with an exception.
  std::function<void(status, const std::string&, const std::string&, std::span<const std::byte>)>
      complete;
  std::function<void(std::exception_ptr)> fail;
};

}  // namespace detail::rpc

namespace detail {
// The dynamic type of `e`, demangled ("std::runtime_error").
std::string exception_type(const std::exception& e);
}  // namespace detail

namespace detail::rpc {

// The value an argument travels as: itself when it already has that type, else converted.
template <class T>
decltype(auto) as_arg(T&& v) {
  if constexpr (std::is_same_v<std::remove_cvref_t<T>, arg_t<T&&>>) {
    return static_cast<const std::remove_cvref_t<T>&>(v);
  } else {
    return arg_t<T&&>(v);
  }
}

// The frame of std::tuple<arg_t<A>...> holding `args`, without building that tuple (which
// would copy every argument): a tuple's body is its elements' bodies, one after another.
template <class... A>
std::size_t args_frame_size(const A&... args) {
  using T = std::tuple<arg_t<const A&>...>;
  sizer s(limits{}.max_depth);
  if constexpr (sizeof...(A) == 0) {
    s.byte(0);
  } else {
    (encode(s, as_arg(args)), ...);
  }
  return message_prefix<T>() + s.size();
}

template <class... A>
void write_args_frame(std::byte* out, std::size_t frame, const A&... args) {
  using T = std::tuple<arg_t<const A&>...>;
  note_type_once<T>();
  constexpr std::size_t prefix = message_prefix<T>();
  write_prefix<T>(out, frame - prefix);
  writer w(out + prefix, nullptr, limits{}.max_depth);
  if constexpr (sizeof...(A) == 0) {
    w.byte(0);
  } else {
    (encode(w, as_arg(args)), ...);
  }
}

// Throws what a reply that is not `ok` means.
[[noreturn]] void throw_reply(status s, const std::string& type, const std::string& message,
                              const std::string& method, const std::string& signature);

}  // namespace detail::rpc

/// Answers calls. Handlers run in the server's threads (start) or the caller's (serve); one
/// handler may run in several threads at once when start(n > 1).
/// Thread-safety: handle() before start()/serve(); stop() from any thread, handlers included.
class server {
 public:
  /// Opens the server at `url` (binds unless the URL starts with '>').
  /// Throws: transport_error (bad URL, address in use).
  explicit server(const std::string& url, rpc_options opts = {});
  server(std::vector<std::string> urls, rpc_options opts = {});
  ~server();
  server(const server&) = delete;
  server& operator=(const server&) = delete;

  /// Offers `fn` as `name`. Its parameters (by value or const&) and result (or void) must be
  /// serializable. A later handler of the same name replaces the earlier one.
  template <class F>
  server& handle(std::string name, F fn) {
    add(std::move(name), detail::rpc::make_method(std::move(fn)));
    return *this;
  }

  /// Serves in `threads` background threads (plus one that moves the messages); returns at once.
  void start(unsigned threads = 1);

  /// Serves in the calling thread, running handlers in it, until stop().
  void serve();

  /// Stops taking requests, finishes those already taken (their replies go out), and returns
  /// once the server threads have ended (at once when called from a handler).
  void stop() noexcept;

  /// The bound address (the real port of "tcp://host:*").
  std::string endpoint() const;

  /// The methods offered, sorted by name.
  std::vector<method_info> methods() const;

 private:
  void add(std::string name, detail::rpc::method m);
  struct impl;
  std::unique_ptr<impl> impl_;
};

/// Calls a server. Many calls may be in flight at once, from any number of threads.
/// Thread-safety: every member may be called from any thread.
class client {
 public:
  /// Connects to the server at `url` (a server not there yet is no error: calls wait for it up
  /// to channel.connect_timeout). Throws: transport_error (bad URL).
  explicit client(const std::string& url, rpc_options opts = {});
  ~client();
  client(const client&) = delete;
  client& operator=(const client&) = delete;

  /// Calls `method` with `args` and waits for its result, at most the default timeout.
  /// Throws: remote_error (the handler threw; also an unknown method), type_mismatch (the
  /// server's signature differs), timeout_error, transport_error (no server, or it went away
  /// during the call), decode_error, channel_closed (client destroyed meanwhile).
  template <class R = void, class... A>
  R call(std::string_view method, A&&... args) {
    return call_for<R>(timeout_, method, std::forward<A>(args)...);
  }

  /// call() with its own timeout.
  template <class R = void, class Rep, class Period, class... A>
  R call_for(std::chrono::duration<Rep, Period> timeout, std::string_view method, A&&... args) {
    using result = detail::rpc::result_t<R>;
    // No std::promise: completing one costs a system call (its call_once wakes waiters), and
    // the call usually completes in this thread. The outcome lives here, as this thread waits
    // for it below: the client's engine completes or fails a call once, and drops it before
    // (see client::impl::finish), so nothing refers to the outcome after get() returns. The
    // callbacks hold a pointer, small enough for std::function to keep without allocating.
    detail::rpc::outcome<result> out;
    detail::rpc::outcome<result>* at = &out;
    launch<R>(
        timeout, method, true, [at](result&& v) { at->set(std::move(v)); },
        [at](std::exception_ptr e) { at->fail(std::move(e)); }, std::forward<A>(args)...);
    if constexpr (std::is_void_v<R>)
      (void)out.get();
    else
      return out.get();
  }

  /// Starts a call; the future gives its result or throws what call() would.
  template <class R = void, class... A>
  std::future<R> async_call(std::string_view method, A&&... args) {
    return async_call_for<R>(timeout_, method, std::forward<A>(args)...);
  }

  /// async_call() with its own timeout.
  template <class R = void, class Rep, class Period, class... A>
  std::future<R> async_call_for(std::chrono::duration<Rep, Period> timeout, std::string_view method,
                                A&&... args) {
    return start<R>(timeout, method, false, std::forward<A>(args)...);
  }

  /// Marks `method` safe to run twice: a call to it that was in flight when the connection
  /// was lost is sent again once a server is back, instead of failing.
  void idempotent(std::string method);

  /// The server's methods and their signatures. Throws: as call().
  std::vector<method_info> methods();

  /// Calls `method` with a ready frame of its arguments' tuple, for callers that know the method
  /// only from methods() (brine-call), and returns the frame of its result. `info` is that
  /// method's entry in methods(): its fingerprints are sent for the server to check.
  /// Throws: as call().
  std::vector<std::byte> call_frame(const method_info& info, std::span<const std::byte> args_frame,
                                    std::chrono::milliseconds timeout);

  /// Whether a server is connected now.
  bool connected();

  /// The server's URL.
  std::string endpoint() const;

 private:
  // Starts a call whose future gives its result.
  template <class R, class Rep, class Period, class... A>
  std::future<R> start(std::chrono::duration<Rep, Period> timeout, std::string_view method,
                       bool wait, A&&... args) {
    using result = detail::rpc::result_t<R>;
    auto done = std::make_shared<std::promise<R>>();
    std::future<R> future = done->get_future();
    launch<R>(
        timeout, method, wait,
        [done](result&& v) {
          if constexpr (std::is_void_v<R>)
            done->set_value();
          else
            done->set_value(std::move(v));
        },
        [done](std::exception_ptr e) { done->set_exception(std::move(e)); },
        std::forward<A>(args)...);
    return future;
  }

  // Encodes a call and starts it: in this thread when `wait` and the link is free (`on_value`
  // or `on_error` has then run on return), else through the client's I/O thread.
  template <class R, class Rep, class Period, class OnValue, class OnError, class... A>
  void launch(std::chrono::duration<Rep, Period> timeout, std::string_view method, bool wait,
              OnValue on_value, OnError on_error, A&&... args) {
    namespace r = detail::rpc;
    using args_t = std::tuple<r::arg_t<A&&>...>;
    using result = r::result_t<R>;
    std::uint64_t id = next_id();
    auto deadline = std::chrono::steady_clock::now() +
                    std::chrono::duration_cast<std::chrono::steady_clock::duration>(timeout);
    auto ms = std::chrono::ceil<std::chrono::milliseconds>(timeout).count();
    r::call c;
    c.method = std::string(method);
    c.signature = r::signature<R, args_t>();
    c.deadline = deadline;
    r::request_head head{id, r::checked_fingerprint<args_t>(), r::checked_fingerprint<result>(),
                         static_cast<std::uint32_t>(std::clamp<long long>(ms, 1, UINT32_MAX)),
                         c.method};
    const std::size_t head_size = dumps_size(head);
    const std::size_t args_size = r::args_frame_size(args...);
    c.size = head_size + args_size;
    // Writes the request where the transport wants it. The arguments are alive until this
    // function returns, and so is the writer: the call holds a reference to it (no copy of it
    // on the heap), and uses it only before run() returns, or right here.
    auto write = [&](std::span<std::byte> out) {
      dumps_to(head, out.first(head_size));
      r::write_args_frame(out.data() + head_size, args_size, args...);
    };
    c.write = std::ref(write);
    if (!wait) {
      // The arguments go out of scope on return: the request is made now.
      c.request.resize(c.size);
      c.write(c.request);
      c.write = nullptr;
    }
    limits lim = limits_;
    c.complete = [on_value, on_error, lim, m = c.method, sig = c.signature](
                     r::status s, const std::string& type, const std::string& message,
                     std::span<const std::byte> bytes) mutable {
      std::optional<result> v;
      try {
        if (s != r::status::ok) r::throw_reply(s, type, message, m, sig);
        v.emplace(loads<result>(bytes, lim));
      } catch (...) {
        return on_error(std::current_exception());
      }
      on_value(std::move(*v));
    };
    c.fail = std::move(on_error);
    if (wait) {
      run(id, std::move(c));
    } else {
      submit(id, std::move(c));
    }
  }

  std::uint64_t next_id();
  void submit(std::uint64_t id, detail::rpc::call c);
  void run(std::uint64_t id, detail::rpc::call c);
  struct impl;
  std::unique_ptr<impl> impl_;
  std::chrono::milliseconds timeout_;
  limits limits_;
};

}  // namespace brine
