#pragma once

// brine's answer to pickle: dumps/loads between values and frames, dump/load with files.

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <iosfwd>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "brine/detail/decode.hpp"
#include "brine/detail/encode.hpp"
#include "brine/error.hpp"
#include "brine/frame.hpp"
#include "brine/limits.hpp"
#include "brine/schema.hpp"

namespace brine {
namespace detail {

// The compiler's name for T, for messages only (never hashed).
template <class T>
constexpr std::string_view type_name() {
  std::string_view s = __PRETTY_FUNCTION__;
#if defined(__clang__)
  auto b = s.find("T = ") + 4;
  return s.substr(b, s.rfind(']') - b);
#else
  auto b = s.find("T = ") + 4;
  return s.substr(b, s.find_first_of(";]", b) - b);
#endif
}

// A compiler's type name written as people write it: "std::string" for
// "std::__cxx11::basic_string<char>", "long" for "long int", ">>" for "> >".
std::string readable_type_name(std::string_view name);

// Remembers each type's name and schema the first time this process encodes or decodes it, so
// that a type_mismatch can name the type that was found, not only its fingerprint.
void note_type(std::uint64_t fingerprint, std::string_view name,
               std::span<const std::uint8_t> schema);

template <class T>
void note_type_once() {
  [[maybe_unused]] static const bool noted =
      (note_type(fingerprint<T>, type_name<T>(), schema_of<T>), true);
}

[[noreturn]] void throw_type_mismatch(std::uint64_t expected, std::string_view expected_name,
                                      std::span<const std::uint8_t> expected_schema,
                                      const frame_view& found);
[[noreturn]] void throw_trailing(std::size_t offset, std::size_t left);
[[noreturn]] void throw_too_small(std::size_t needed, std::size_t given);

template <class T>
std::size_t body_size(const T& v) {
  sizer s(limits{}.max_depth);
  encode(s, v);
  return s.size();
}

// Messages of types that hold evolvable records carry their schema, so that a reader built
// with another version can check compatibility; others carry only the fingerprint.
template <class T>
inline constexpr bool message_has_schema = contains_evolvable<T>();

template <class T>
constexpr std::size_t message_prefix() {
  return frame_header_size + (message_has_schema<T> ? 4 + schema_of<T>.size() : 0);
}

// Writes the header (and schema block) of a message whose body is `body` bytes.
template <class T>
void write_prefix(std::byte* out, std::size_t body) {
  frame_header h;
  h.fingerprint = fingerprint<T>;
  h.body_size = body;
  h.flags = message_has_schema<T> ? frame_has_schema : 0;
  write_frame_header(out, h);
  if constexpr (message_has_schema<T>) {
    auto n = static_cast<std::uint32_t>(schema_of<T>.size());
    std::memcpy(out + frame_header_size, &n, 4);
    std::memcpy(out + frame_header_size + 4, schema_of<T>.data(), n);
  }
}

// Writes the prefix, then the body; the caller has sized both.
template <class T>
void write_frame(const T& v, std::byte* out, std::size_t body) {
  write_prefix<T>(out, body);
  writer w(out + message_prefix<T>(), nullptr, limits{}.max_depth);
  encode(w, v);
}

// Appends the frame dumps(std::vector<T>(xs.begin(), xs.end())) gives, without that vector.
template <class T>
void dumps_append_span(std::span<const T> xs, std::vector<std::byte>& out) {
  static_assert(!std::is_same_v<T, bool>, "a vector<bool> is encoded as bits");
  using vec = std::vector<T>;
  note_type_once<vec>();
  auto body = [&](auto& w) {
    w.varint(xs.size());
    if constexpr (is_wire_pod<T>)
      w.raw(xs.data(), xs.size() * sizeof(T));
    else
      encode_elements(w, xs);
  };
  sizer s(limits{}.max_depth);
  body(s);
  std::size_t at = out.size();
  out.resize(at + message_prefix<vec>() + s.size());
  write_prefix<vec>(out.data() + at, s.size());
  try {
    writer w(out.data() + at + message_prefix<vec>(), nullptr, limits{}.max_depth);
    body(w);
  } catch (...) {
    out.resize(at);
    throw;
  }
}

// The type table of a file: names and schemas of the registered derived types it holds.
std::vector<std::uint8_t> type_table(const std::vector<const poly_entry*>& types);

// Writes the frame of `v` with a schema block (and a type table if `v` holds registered derived
// types), as files carry them.
template <class T>
std::vector<std::byte> dumps_described(const T& v) {
  note_type_once<T>();
  sizer s(limits{}.max_depth);
  encode(s, v);
  std::vector<std::uint8_t> types =
      s.derived().empty() ? std::vector<std::uint8_t>{} : type_table(s.derived());
  constexpr auto& schema = schema_of<T>;
  std::size_t prefix =
      frame_header_size + 4 + schema.size() + (types.empty() ? 0 : 4 + types.size());
  std::vector<std::byte> out(prefix + s.size());
  frame_header h;
  h.fingerprint = fingerprint<T>;
  h.body_size = s.size();
  h.flags = frame_has_schema | (types.empty() ? 0 : frame_has_types);
  write_frame_header(out.data(), h);
  std::byte* p = out.data() + frame_header_size;
  auto block = [&](const std::uint8_t* data, std::size_t n) {
    auto n32 = static_cast<std::uint32_t>(n);
    std::memcpy(p, &n32, 4);
    std::memcpy(p + 4, data, n);
    p += 4 + n;
  };
  block(schema.data(), schema.size());
  if (!types.empty()) block(types.data(), types.size());
  writer w(p, nullptr, limits{}.max_depth);
  encode(w, v);
  return out;
}

// True if data of schema `found` can be read as `expected`: the same but for evolvable records
// that gained or lost trailing fields. Cached per pair of fingerprints.
bool compatible(std::uint64_t found_fingerprint, std::span<const std::uint8_t> found,
                std::uint64_t expected_fingerprint, std::span<const std::uint8_t> expected);

// Decodes a body that starts at `offset` in its frame, whose type is known to be T's.
template <class T>
void decode_checked_body(std::span<const std::byte> body, std::size_t offset, T& out,
                         const limits& lim) {
  reader r(body.data(), body.data() + body.size(), lim, offset);
  try {
    decode(r, out);
    if (r.left() != 0) throw_trailing(r.offset(), r.left());
  } catch (...) {
    r.clear_objects();
    throw;
  }
}

template <class T>
void decode_body(const frame_view& f, T& out, const limits& lim) {
  if (f.header.fingerprint != fingerprint<T>) {
    bool evolved = false;
    if constexpr (contains_evolvable<T>()) {
      evolved = !f.schema.empty() &&
                compatible(f.header.fingerprint, f.schema, fingerprint<T>, schema_of<T>);
    }
    if (!evolved) throw_type_mismatch(fingerprint<T>, type_name<T>(), schema_of<T>, f);
  }
  decode_checked_body(f.body, f.body_offset, out, lim);
}

// The body of `bytes` if they are a frame of T exactly as dumps writes it without a schema
// block: magic, version, no flags, T's fingerprint and the size of what follows, checked by
// three comparisons of words in place of parse_frame. Anything else, a frame or not, gives
// nothing: parse_frame then examines it and says what is wrong.
template <class T>
[[gnu::always_inline]] inline std::optional<std::span<const std::byte>> plain_body(
    std::span<const std::byte> bytes, const limits& lim) noexcept {
  if constexpr (message_has_schema<T> || std::endian::native != std::endian::little) {
    return std::nullopt;
  } else {
    if (bytes.size() < frame_header_size) return std::nullopt;
    std::uint64_t word[3];
    std::memcpy(word, bytes.data(), sizeof word);
    if (word[0] != plain_frame_start || word[1] != fingerprint<T> ||
        word[2] != bytes.size() - frame_header_size ||
        word[2] > lim.max_frame - std::min(lim.max_frame, frame_header_size))
      return std::nullopt;
    return bytes.subspan(frame_header_size);
  }
}

void write_file_atomic(const std::filesystem::path& path, std::span<const std::byte> bytes);
void write_stream(std::ostream& os, std::span<const std::byte> bytes);
std::vector<std::byte> read_file(const std::filesystem::path& path, const limits& lim);
std::vector<std::byte> read_frame_from(std::istream& is, const limits& lim);

}  // namespace detail

/// Encodes `v` as a frame: header and body (and, for types holding evolvable records, the
/// schema block).
/// Throws: encode_error (too deep, unregistered polymorphic type).
template <class T>
std::vector<std::byte> dumps(const T& v) {
  detail::note_type_once<T>();
  std::size_t body = detail::body_size(v);
  std::vector<std::byte> out(detail::message_prefix<T>() + body);
  detail::write_frame(v, out.data(), body);
  return out;
}

/// Bytes dumps(v) would produce.
template <class T>
std::size_t dumps_size(const T& v) {
  return detail::message_prefix<T>() + detail::body_size(v);
}

/// Encodes `v` as a frame into `out` in one pass and returns the bytes written; dumps_size(v)
/// tells how many are needed. Throws: encode_error, or error if `out` is too small (its
/// contents are then unspecified).
template <class T>
std::size_t dumps_to(const T& v, std::span<std::byte> out) {
  detail::note_type_once<T>();
  constexpr std::size_t prefix = detail::message_prefix<T>();
  if (out.size() < prefix) detail::throw_too_small(dumps_size(v), out.size());
  std::byte* end = out.data() + out.size();
  detail::bounded_writer w(out.data() + prefix, end, limits{}.max_depth);
  try {
    detail::encode(w, v);
  } catch (const detail::out_of_space&) {
    detail::throw_too_small(dumps_size(v), out.size());
  }
  detail::write_prefix<T>(out.data(), w.position());
  return prefix + w.position();
}

/// Appends the frame of `v` to `out`.
template <class T>
void dumps_append(const T& v, std::vector<std::byte>& out) {
  detail::note_type_once<T>();
  std::size_t body = detail::body_size(v);
  std::size_t at = out.size();
  out.resize(at + detail::message_prefix<T>() + body);
  detail::write_frame(v, out.data() + at, body);
}

/// Decodes a frame into `out`, replacing its contents.
/// Throws: decode_error for malformed bytes or exceeded limits; type_mismatch for a frame of
/// another type. On throw `out` holds an unspecified but valid value.
template <class T>
void loads_into(std::span<const std::byte> bytes, T& out, const limits& lim = {}) {
  detail::note_type_once<T>();
  if (auto body = detail::plain_body<T>(bytes, lim))
    detail::decode_checked_body(*body, frame_header_size, out, lim);
  else
    detail::decode_body(parse_frame(bytes, lim), out, lim);
}

/// Decodes a frame made by dumps (or dump) into a new T.
/// Throws: decode_error, type_mismatch (see loads_into).
template <class T>
T loads(std::span<const std::byte> bytes, const limits& lim = {}) {
  static_assert(std::is_default_constructible_v<T>,
                "brine: loads<T> needs a default-constructible T (or a brine::adapter for it)");
  T v{};
  loads_into(bytes, v, lim);
  return v;
}

/// Writes `v` with its schema to `path` atomically: a temporary file beside it is written,
/// flushed and renamed, so a crash never leaves a half-written file. Throws: io_error,
/// encode_error.
template <class T>
void dump(const T& v, const std::filesystem::path& path) {
  detail::write_file_atomic(path, detail::dumps_described(v));
}

/// Writes `v` with its schema to a stream. Throws: io_error, encode_error.
template <class T>
void dump(const T& v, std::ostream& os) {
  detail::write_stream(os, detail::dumps_described(v));
}

/// Reads a file written by dump. Throws: io_error, decode_error, type_mismatch.
template <class T>
T load(const std::filesystem::path& path, const limits& lim = {}) {
  return loads<T>(detail::read_file(path, lim), lim);
}

/// Reads one frame from a stream (written by dump or dumps) and decodes it; the stream is left
/// just after the frame. Throws: io_error, decode_error, type_mismatch.
template <class T>
T load(std::istream& is, const limits& lim = {}) {
  return loads<T>(detail::read_frame_from(is, lim), lim);
}

}  // namespace brine
