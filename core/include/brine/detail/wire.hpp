#pragma once

// The byte-level primitives of the codec: a sizer and a writer that share one interface (so one
// encode routine both measures and writes), and a bounds-checked reader.

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "brine/error.hpp"
#include "brine/limits.hpp"

namespace brine::detail {

static_assert(std::endian::native == std::endian::little,
              "brine: the wire format is little-endian; big-endian hosts are not supported yet");

constexpr std::size_t varint_size(std::uint64_t v) noexcept {
  if (v < 0x80) return 1;  // most counts: skip the bit scan and division
  return (static_cast<std::size_t>(std::bit_width(v)) + 6) / 7;
}

struct poly_entry;

template <class T>
inline constexpr char type_tag = 0;

/// A unique address per type, cheaper to hash and compare than std::type_info.
template <class T>
constexpr const void* type_identity() noexcept {
  return &type_tag<T>;
}

/// memcpy, with short copies (strings, small vectors) done inline rather than through a call.
[[gnu::always_inline]] inline void copy_small(std::byte* dst, const std::byte* src,
                                              std::size_t n) noexcept {
  if (n >= 8 && n <= 16) {
    std::uint64_t a, b;  // two overlapping words cover 8 to 16 bytes
    std::memcpy(&a, src, 8);
    std::memcpy(&b, src + n - 8, 8);
    std::memcpy(dst, &a, 8);
    std::memcpy(dst + n - 8, &b, 8);
  } else if (n >= 4 && n < 8) {
    std::uint32_t a, b;
    std::memcpy(&a, src, 4);
    std::memcpy(&b, src + n - 4, 4);
    std::memcpy(dst, &a, 4);
    std::memcpy(dst + n - 4, &b, 4);
  } else if (n != 0 && n < 4) {
    // 1 to 3 bytes without a loop: first, middle and last cover them all.
    dst[0] = src[0];
    dst[n / 2] = src[n / 2];
    dst[n - 1] = src[n - 1];
  } else if (n > 16) {
    std::memcpy(dst, src, n);
  }
}

// Pickle's memo: the id each shared object got when first written.
class encode_memo {
 public:
  // Returns where (p, type) was first written if it was, else records `position` for it and
  // returns `none`. Objects are known by position, not by count, so that a reader which skips
  // unknown fields (evolution) can never confuse one object for another.
  static constexpr std::uint64_t none = ~std::uint64_t{0};
  std::uint64_t find_or_add(const void* p, const void* type, std::uint64_t position) {
    auto [it, added] = ids_.try_emplace(key{p, type}, position);
    return added ? none : it->second;
  }

 private:
  struct key {
    const void* p;
    const void* type;
    bool operator==(const key&) const = default;
  };
  struct key_hash {
    std::size_t operator()(const key& k) const noexcept {
      return std::hash<const void*>{}(k.p) ^
             (std::hash<const void*>{}(k.type) * 0x9e3779b97f4a7c15ULL);
    }
  };
  std::unordered_map<key, std::uint64_t, key_hash> ids_;
};

class encode_state {
 public:
  explicit encode_state(std::size_t max_depth) : max_depth_(max_depth) {}
  encode_memo& memo() {
    if (!memo_) memo_ = std::make_unique<encode_memo>();
    return *memo_;
  }
  void enter() {
    if (++depth_ > max_depth_) too_deep();
  }
  void leave() noexcept { --depth_; }

  /// Records that a registered derived type was written (files list their schemas).
  void note_derived(const poly_entry& e) {
    for (const poly_entry* seen : derived_) {
      if (seen == &e) return;
    }
    derived_.push_back(&e);
  }
  const std::vector<const poly_entry*>& derived() const noexcept { return derived_; }

 private:
  [[noreturn]] void too_deep() const;
  std::unique_ptr<encode_memo> memo_;
  std::vector<const poly_entry*> derived_;
  std::size_t depth_ = 0;
  std::size_t max_depth_;
};

/// Counts the bytes an encoding takes.
class sizer : public encode_state {
 public:
  using encode_state::encode_state;
  static constexpr bool measuring = true;
  void raw(const void*, std::size_t n) noexcept { n_ += n; }
  void byte(std::uint8_t) noexcept { ++n_; }
  void varint(std::uint64_t v) noexcept { n_ += varint_size(v); }
  void zeros(std::size_t n) noexcept { n_ += n; }
  std::size_t size() const noexcept { return n_; }
  std::size_t position() const noexcept { return n_; }

 private:
  std::size_t n_ = 0;
};

/// Thrown by a bounded writer that runs out of room; never escapes the library.
struct out_of_space {};

/// The output position and end of a writer, copied into a local variable while plain values,
/// strings and flat sequences are written (encode_inline). The bytes written are char-typed and
/// may alias anything, so a writer's own p_ is reloaded and stored again around each of them;
/// a local copy whose address does not escape stays in registers.
template <bool Bounded>
class write_cursor {
 public:
  static constexpr bool measuring = false;
  static constexpr bool bounded = Bounded;
  write_cursor(std::byte* p, std::byte* end) noexcept : p_(p), end_(end) {}
  [[gnu::always_inline]] void raw(const void* src, std::size_t n) {
    room(n);
    copy_small(p_, static_cast<const std::byte*>(src), n);
    p_ += n;
  }
  [[gnu::always_inline]] void varint(std::uint64_t v) {
    room(varint_size(v));
    while (v >= 0x80) {
      *p_++ = static_cast<std::byte>(v | 0x80);
      v >>= 7;
    }
    *p_++ = static_cast<std::byte>(v);
  }
  [[gnu::always_inline]] void byte(std::uint8_t b) {
    room(1);
    *p_++ = static_cast<std::byte>(b);
  }
  void zeros(std::size_t n) {
    room(n);
    std::memset(p_, 0, n);
    p_ += n;
  }
  std::byte* here() const noexcept { return p_; }

 private:
  [[gnu::always_inline]] void room(std::size_t n) const {
    if constexpr (Bounded) {
      if (static_cast<std::size_t>(end_ - p_) < n) throw out_of_space{};
    }
  }
  std::byte* p_;
  std::byte* end_;
};

/// Writes an encoding into memory: already sized by a sizer (Bounded = false), or of a size
/// that is only checked as it goes (Bounded = true: one pass into a caller's buffer). Each write
/// goes through a write_cursor, which the encoder can also borrow (cursor / seek).
template <bool Bounded>
class basic_writer : public encode_state {
 public:
  basic_writer(std::byte* out, std::byte* end, std::size_t max_depth)
      : encode_state(max_depth), begin_(out), p_(out), end_(end) {}
  static constexpr bool measuring = false;
  static constexpr bool bounded = Bounded;
  [[gnu::always_inline]] void raw(const void* src, std::size_t n) {
    write_cursor<Bounded> c = cursor();
    c.raw(src, n);
    seek(c);
  }
  [[gnu::always_inline]] void byte(std::uint8_t b) {
    write_cursor<Bounded> c = cursor();
    c.byte(b);
    seek(c);
  }
  [[gnu::always_inline]] void varint(std::uint64_t v) {
    write_cursor<Bounded> c = cursor();
    c.varint(v);
    seek(c);
  }
  void zeros(std::size_t n) {
    write_cursor<Bounded> c = cursor();
    c.zeros(n);
    seek(c);
  }
  std::size_t position() const noexcept { return static_cast<std::size_t>(p_ - begin_); }
  std::byte* here() const noexcept { return p_; }
  write_cursor<Bounded> cursor() const noexcept { return {p_, end_}; }
  void seek(const write_cursor<Bounded>& c) noexcept { p_ = c.here(); }

 private:
  std::byte* begin_;
  std::byte* p_;
  std::byte* end_;
};

using writer = basic_writer<false>;
using bounded_writer = basic_writer<true>;

// One object read so far, for back-references.
struct memo_entry {
  std::uint64_t position;        // of the object's tag in the body
  const void* type;              // type_identity of the most-derived type
  std::shared_ptr<void> object;  // the most-derived object
  const poly_entry* poly;  // its registry entry, if it has one: lets it be seen through a base
  void (*clear)(void*) noexcept;  // resets the object to a default value, dropping its pointers
};

/// Reads an encoding, checking every length against the bytes left and the limits.
class reader {
 public:
  reader(const std::byte* begin, const std::byte* end, const limits& lim,
         std::size_t base_offset = 0) noexcept
      : begin_(begin),
        p_(begin),
        end_(end),
        base_(base_offset),
        max_depth_(lim.max_depth),
        alloc_left_(lim.max_alloc) {}

  std::size_t left() const noexcept { return static_cast<std::size_t>(end_ - p_); }
  std::size_t offset() const noexcept { return base_ + static_cast<std::size_t>(p_ - begin_); }
  /// Offset from the start of the body (where this reader began).
  std::size_t position() const noexcept { return static_cast<std::size_t>(p_ - begin_); }
  const std::byte* here() const noexcept { return p_; }

  [[gnu::always_inline]] void raw(void* dst, std::size_t n) {
    if (left() < n) truncated(n);
    std::memcpy(dst, p_, n);
    p_ += n;
  }
  // Borrows n bytes in place; valid as long as the input is.
  [[gnu::always_inline]] const std::byte* take(std::size_t n) {
    if (left() < n) truncated(n);
    const std::byte* at = p_;
    p_ += n;
    return at;
  }
  // Takes n bytes that a count() already proved are there.
  const std::byte* take_counted(std::size_t n) noexcept {
    const std::byte* at = p_;
    p_ += n;
    return at;
  }
  [[gnu::always_inline]] std::uint8_t byte() {
    if (p_ == end_) truncated(1);
    return static_cast<std::uint8_t>(*p_++);
  }
  [[gnu::always_inline]] std::uint64_t varint() {
    if (p_ != end_ && static_cast<std::uint8_t>(*p_) < 0x80) {
      return static_cast<std::uint8_t>(*p_++);
    }
    return varint_slow();
  }

  /// Reads a count of elements that each take at least `min_wire` bytes and `alloc` bytes of
  /// memory, refusing it before any allocation if the input or the budget cannot hold it.
  [[gnu::always_inline]] std::size_t count(std::size_t min_wire, std::size_t alloc,
                                           const char* what) {
    const std::byte* start = p_;  // the offset is worked out only for an error
    std::uint64_t n = varint();
    if (n > left() / min_wire) bad_count(n, min_wire, what, start);
    if (n * alloc > alloc_left_) over_budget(n * alloc, offset_of(start));
    alloc_left_ -= n * alloc;
    return static_cast<std::size_t>(n);
  }
  /// count() for a string or a vector of plain values that already has room for `room`
  /// elements: only a longer one allocates, so only that is charged to the budget.
  [[gnu::always_inline]] std::size_t length(std::size_t elem, std::size_t room, const char* what) {
    const std::byte* start = p_;
    std::uint64_t n = varint();
    if (n > left() / elem) bad_count(n, elem, what, start);
    if (n > room) {
      if (n * elem > alloc_left_) over_budget(n * elem, offset_of(start));
      alloc_left_ -= n * elem;
    }
    return static_cast<std::size_t>(n);
  }
  void charge(std::size_t bytes, std::size_t at) {
    if (bytes > alloc_left_) over_budget(bytes, at);
    alloc_left_ -= bytes;
  }

  void enter() {
    if (++depth_ > max_depth_) too_deep();
  }
  void leave() noexcept { --depth_; }

  std::vector<memo_entry>& memo() noexcept { return memo_; }
  /// After a failed decode: resets every shared object read so far, so that cycles among the
  /// half-built objects are broken and nothing leaks.
  void clear_objects() noexcept {
    for (auto& m : memo_)
      m.clear(m.object.get());
  }
  /// The object first read at body position `position`, or nullptr.
  const memo_entry* find_object(std::uint64_t position) const noexcept;

  [[noreturn]] void fail(const std::string& what) const;
  [[noreturn]] void fail_at(const std::string& what, std::size_t offset) const;

 private:
  std::uint64_t varint_slow();
  [[noreturn]] void truncated(std::size_t wanted) const;
  [[noreturn]] void bad_count(std::uint64_t n, std::size_t min_wire, const char* what,
                              const std::byte* start) const;
  std::size_t offset_of(const std::byte* at) const noexcept {
    return base_ + static_cast<std::size_t>(at - begin_);
  }
  [[noreturn]] void over_budget(std::size_t bytes, std::size_t at) const;
  [[noreturn]] void too_deep() const;

  const std::byte* begin_;
  const std::byte* p_;
  const std::byte* end_;
  std::size_t base_;
  std::size_t depth_ = 0;
  std::size_t max_depth_;
  std::size_t alloc_left_;
  std::vector<memo_entry> memo_;
};

}  // namespace brine::detail
