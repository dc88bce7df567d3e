// Out-of-line throwing paths of the codec, kept off the hot path.

#include <algorithm>
#include <string>

#include "brine/codec.hpp"
#include "brine/detail/decode.hpp"
#include "brine/detail/wire.hpp"
#include "brine/error.hpp"

namespace brine {

decode_error::decode_error(const std::string& what, std::size_t offset)
    : error("brine: " + what + " (at byte " + std::to_string(offset) + ")"), offset_(offset) {}

namespace detail {

void encode_state::too_deep() const {
  throw encode_error("brine: value nests deeper than limits::max_depth (" +
                     std::to_string(max_depth_) + "); a very long pointer chain?");
}

void throw_encode_error(const std::string& what) { throw encode_error("brine: " + what); }

void reader::fail(const std::string& what) const { throw decode_error(what, offset()); }

void reader::fail_at(const std::string& what, std::size_t offset) const {
  throw decode_error(what, offset);
}

std::uint64_t reader::varint_slow() {
  std::size_t at = offset();
  std::uint64_t v = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (p_ == end_) fail_at("truncated varint: the input ends inside it", at);
    auto b = static_cast<std::uint8_t>(*p_++);
    if (shift == 63 && b > 1) fail_at("varint overflows 64 bits", at);
    v |= static_cast<std::uint64_t>(b & 0x7f) << shift;
    if (b < 0x80) return v;
  }
  fail_at("varint longer than 10 bytes", at);
}

void reader::truncated(std::size_t wanted) const {
  fail("truncated input: expected " + std::to_string(wanted) + " more bytes, found " +
       std::to_string(left()));
}

void reader::bad_count(std::uint64_t n, std::size_t min_wire, const char* what,
                       const std::byte* start) const {
  std::size_t at = offset_of(start);
  fail_at(std::string("a ") + what + " of " + std::to_string(n) + " elements needs at least " +
              (n > ~std::uint64_t{0} / min_wire ? std::string("more than 2^64")
                                                : std::to_string(n * min_wire)) +
              " bytes, found " + std::to_string(left()),
          at);
}

void reader::over_budget(std::size_t bytes, std::size_t at) const {
  fail_at("decoding would allocate " + std::to_string(bytes) +
              " more bytes, over what is left of limits::max_alloc (" +
              std::to_string(alloc_left_) + ")",
          at);
}

void reader::too_deep() const {
  fail("value nests deeper than limits::max_depth (" + std::to_string(max_depth_) + ")");
}

void throw_evolvable_length(const reader& r, std::size_t at, const char* what) {
  r.fail_at(std::string("the length of an evolvable record ") + what, at);
}

void throw_duplicate_key(const reader& r, std::size_t at, const char* what) {
  r.fail_at(std::string("duplicate key in a ") + what, at);
}

void throw_trailing(std::size_t offset, std::size_t left) {
  throw decode_error("the body has " + std::to_string(left) + " bytes after the value", offset);
}

void throw_too_small(std::size_t needed, std::size_t given) {
  throw error("brine: the buffer holds " + std::to_string(given) + " bytes, the frame needs " +
              std::to_string(needed));
}

}  // namespace detail
}  // namespace brine

namespace brine::detail {
namespace {

// A name from untrusted bytes, made safe to print.
std::string printable(std::string_view s) {
  std::string out;
  for (unsigned char c : s.substr(0, 80)) {
    if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      const char* digits = "0123456789abcdef";
      out += "\\x";
      out += digits[c >> 4];
      out += digits[c & 15];
    }
  }
  if (s.size() > 80) out += "...";
  return out;
}

}  // namespace

const poly_entry& read_derived_entry(reader& r) {
  std::size_t at = r.offset();
  std::size_t n = r.count(1, 1, "type name");
  std::string_view name(reinterpret_cast<const char*>(r.take(n)), n);
  const poly_entry* e = entry_for_name(name);
  if (e == nullptr) {
    r.fail_at("unregistered type \"" + printable(name) +
                  "\": only types named by BRINE_REGISTER can be decoded",
              at);
  }
  return *e;
}

void throw_not_derived(const reader& r, const poly_entry& e, const void*, std::size_t at) {
  r.fail_at(
      "registered type \"" + std::string(e.name) + "\" is not derived from the pointer's type", at);
}

void bad_pointer_tag(const reader& r, std::uint8_t tag, bool polymorphic, bool abstract,
                     std::size_t at) {
  std::string allowed = abstract ? "0 or 2" : polymorphic ? "0, 1 or 2" : "0 or 1";
  r.fail_at("expected a pointer's tag (" + allowed + "), found " + std::to_string(tag), at);
}

void throw_bad_backref(const reader& r, std::uint64_t target, std::size_t at) {
  r.fail_at("a shared_ptr refers to an object at body position " + std::to_string(target) +
                ", where no object was read",
            at);
}

void throw_backref_type(const reader& r, std::uint64_t target, std::size_t at) {
  r.fail_at("a shared_ptr refers to the object at body position " + std::to_string(target) +
                ", which is of another type",
            at);
}

const memo_entry* reader::find_object(std::uint64_t position) const noexcept {
  // Objects are recorded in the order they are read, so positions increase.
  auto it = std::lower_bound(memo_.begin(), memo_.end(), position,
                             [](const memo_entry& m, std::uint64_t p) { return m.position < p; });
  return it != memo_.end() && it->position == position ? &*it : nullptr;
}

}  // namespace brine::detail
