#pragma once

// Helpers shared by the codec tests: round trips, and building hostile frames by editing the
// bytes of valid ones (docs/wire-format.md; the header is 24 bytes, the body follows).

#include <catch2/catch.hpp>

#include <brine/brine.hpp>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace codec_test {

using bytes = std::vector<std::byte>;

inline constexpr std::size_t header_size = brine::frame_header_size;
inline constexpr std::size_t body_size_at = 16;
inline constexpr std::size_t fingerprint_at = 8;

/// Encodes, checks dumps_size agrees, decodes and returns the copy.
template <class T>
T roundtrip(const T& v) {
  bytes b = brine::dumps(v);
  CHECK(b.size() == brine::dumps_size(v));
  return brine::loads<T>(b);
}

/// Checks that `v` comes back equal (operator==).
template <class T>
void check_roundtrip(const T& v) {
  T w = roundtrip(v);
  CHECK(w == v);
}

inline std::uint64_t read_u64(const bytes& b, std::size_t at) {
  std::uint64_t v;
  std::memcpy(&v, b.data() + at, 8);
  return v;
}

inline void write_u64(bytes& b, std::size_t at, std::uint64_t v) {
  std::memcpy(b.data() + at, &v, 8);
}

/// The body of a frame made by dumps (which has no schema block).
inline bytes body_of(const bytes& frame) {
  REQUIRE(frame.size() >= header_size);
  return bytes(frame.begin() + header_size, frame.end());
}

/// `frame` (made by dumps) with its body replaced by `body` and the header's size fixed up.
inline bytes with_body(bytes frame, std::span<const std::byte> body) {
  frame.resize(header_size);
  frame.insert(frame.end(), body.begin(), body.end());
  write_u64(frame, body_size_at, body.size());
  return frame;
}

/// A frame of type T (header from dumps(T{})) with the given body.
template <class T>
bytes frame_for(std::span<const std::byte> body) {
  return with_body(brine::dumps(T{}), body);
}

/// Bytes from small integers: b({0x01, 0xff}).
inline bytes b(std::initializer_list<int> v) {
  bytes out;
  for (int x : v)
    out.push_back(static_cast<std::byte>(x));
  return out;
}

inline void append(bytes& out, std::span<const std::byte> more) {
  out.insert(out.end(), more.begin(), more.end());
}

/// LEB128 of `v`, as the wire writes counts.
inline bytes varint(std::uint64_t v) {
  bytes out;
  while (v >= 0x80) {
    out.push_back(static_cast<std::byte>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<std::byte>(v));
  return out;
}

template <class N>
bytes le(N v) {
  bytes out(sizeof(N));
  std::memcpy(out.data(), &v, sizeof(N));
  return out;
}

/// Outcome of decoding untrusted bytes.
enum class outcome { decoded, decode_error, other_exception };

/// Decodes `frame` as T, reporting (instead of propagating) what happened; anything but success
/// or brine::decode_error is `other_exception`, with its message in `what`.
template <class T>
outcome try_loads(std::span<const std::byte> frame, std::string* what = nullptr,
                  const brine::limits& lim = {}) {
  try {
    T v = brine::loads<T>(frame, lim);
    // A value that decoded must be a valid value: encoding it again must work.
    (void)brine::dumps(v);
    return outcome::decoded;
  } catch (const brine::decode_error& e) {
    if (what) *what = e.what();
    return outcome::decode_error;
  } catch (const std::exception& e) {
    if (what) *what = e.what();
    return outcome::other_exception;
  } catch (...) {
    if (what) *what = "(not a std::exception)";
    return outcome::other_exception;
  }
}

/// The decode_error that decoding `frame` as T throws; fails the test if it throws nothing.
template <class T>
brine::decode_error decode_failure(std::span<const std::byte> frame,
                                   const brine::limits& lim = {}) {
  try {
    (void)brine::loads<T>(frame, lim);
  } catch (const brine::decode_error& e) {
    return e;
  }
  FAIL("decoding succeeded; expected brine::decode_error");
  return brine::decode_error("unreachable: FAIL throws", 0);
}

// A singly linked list through unique_ptr: a recursive type whose depth a test controls.
struct Chain {
  int v = 0;
  std::unique_ptr<Chain> next;
};

// A list of n nodes, built without recursion.
inline std::unique_ptr<Chain> make_chain(int n) {
  std::unique_ptr<Chain> head;
  for (int i = 0; i < n; ++i) {
    auto node = std::make_unique<Chain>();
    node->v = i;
    node->next = std::move(head);
    head = std::move(node);
  }
  return head;
}

}  // namespace codec_test
