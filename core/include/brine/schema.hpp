#pragma once

// Every serializable type has a schema: a canonical byte string describing its wire structure
// (docs/wire-format.md), built at compile time from the type alone, and a 64-bit fingerprint
// hashed from those bytes. Nothing compiler-specific enters either, so GCC and clang agree.

#include <array>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <string_view>

#include "brine/detail/traits.hpp"

namespace brine {

/// Node tags of the schema byte string.
enum class schema_tag : std::uint8_t {
  boolean = 0x01,
  i8 = 0x02,
  u8 = 0x03,
  i16 = 0x04,
  u16 = 0x05,
  i32 = 0x06,
  u32 = 0x07,
  i64 = 0x08,
  u64 = 0x09,
  f32 = 0x0a,
  f64 = 0x0b,
  f80 = 0x0c,          // x87 extended long double, 16 bytes on the wire
  char8 = 0x0d,        // char
  utf8 = 0x0e,         // char8_t
  utf16 = 0x0f,        // char16_t
  utf32 = 0x10,        // char32_t
  wide = 0x11,         // wchar_t, 4 bytes
  byte = 0x12,         // std::byte
  unit = 0x13,         // std::monostate, empty structs
  string = 0x20,       // + element node
  sequence = 0x21,     // + element node
  bits = 0x22,         // vector<bool>
  set = 0x23,          // + key node
  multiset = 0x24,     // + key node
  map = 0x25,          // + key node + value node
  multimap = 0x26,     // + key node + value node
  array = 0x27,        // + varint extent + element node
  tuple = 0x28,        // + varint n + n nodes
  record = 0x29,       // + varint n + n × (varint length, name bytes, node)
  optional = 0x2a,     // + node
  variant = 0x2b,      // + varint n + n nodes
  unique = 0x2c,       // + node
  shared = 0x2d,       // + node
  enumeration = 0x2e,  // + underlying integer node
  duration = 0x2f,     // + rep node + zigzag varint num + zigzag varint den
  time_point = 0x30,   // + varint clock + duration node
  complex = 0x31,      // + node
  bitset = 0x32,       // + varint N
  path = 0x33,
  ref = 0x34,        // + varint k: the record k levels out from here (recursive types)
  evolvable = 0x35,  // a record whose fields may grow; parameters as for record
};

namespace detail {

inline constexpr std::size_t not_found = std::numeric_limits<std::size_t>::max();

template <class T>
inline constexpr char record_tag = 0;

template <class T, class... Stack>
constexpr std::size_t stack_index() {
  std::size_t i = 0;
  bool found = false;
  ((found || (std::is_same_v<T, Stack> ? (found = true) : (++i, false))), ...);
  return found ? i : not_found;
}

template <class C>
constexpr std::uint64_t clock_id() {
  if constexpr (std::is_same_v<C, std::chrono::system_clock>) {
    return 1;
  } else if constexpr (std::is_same_v<C, std::chrono::steady_clock>) {
    return 2;
  } else {
    return 0;  // any other clock: the reader must know what it means
  }
}

template <class T>
constexpr schema_tag number_tag() {
  if constexpr (std::is_same_v<T, char>)
    return schema_tag::char8;
  else if constexpr (std::is_same_v<T, char8_t>)
    return schema_tag::utf8;
  else if constexpr (std::is_same_v<T, char16_t>)
    return schema_tag::utf16;
  else if constexpr (std::is_same_v<T, char32_t>)
    return schema_tag::utf32;
  else if constexpr (std::is_same_v<T, wchar_t>)
    return schema_tag::wide;
  else if constexpr (std::is_same_v<T, float>)
    return schema_tag::f32;
  else if constexpr (std::is_same_v<T, double>)
    return schema_tag::f64;
  else {
    static_assert(std::is_integral_v<T> && sizeof(T) <= 8, "brine: unsupported number type");
    constexpr bool s = std::is_signed_v<T>;
    if constexpr (sizeof(T) == 1)
      return s ? schema_tag::i8 : schema_tag::u8;
    else if constexpr (sizeof(T) == 2)
      return s ? schema_tag::i16 : schema_tag::u16;
    else if constexpr (sizeof(T) == 4)
      return s ? schema_tag::i32 : schema_tag::u32;
    else
      return s ? schema_tag::i64 : schema_tag::u64;
  }
}

template <class T>
inline constexpr bool dependent_false = false;

template <class T, class... Stack>
constexpr void describe(auto& s);

template <class T, class... Stack, std::size_t... I>
constexpr void describe_fields(auto& s, std::index_sequence<I...>) {
  constexpr auto names = struct_names<T>();
  (((s.name(public_field_name(names[I]))), describe<field_type<T, I>, T, Stack...>(s)), ...);
}

template <class T, class... Stack>
constexpr void describe(auto& s) {
  constexpr kind k = kind_of<T>();
  using tag = schema_tag;
  if constexpr (k == kind::adapter || k == kind::fields || k == kind::aggregate) {
    constexpr std::size_t pos = stack_index<T, Stack...>();
    if constexpr (pos != not_found) {
      s.tag(tag::ref);
      s.varint(pos);
      s.ref_to(&record_tag<T>);
      return;
    } else if constexpr (k == kind::adapter) {
      // An adapter adds no record, so it does not count as a level for references.
      describe<typename adapter<T>::wire_type, Stack...>(s);
    } else {
      s.tag(evolvable<T> ? tag::evolvable : tag::record);
      s.varint(struct_size<T>);
      describe_fields<T, Stack...>(s, std::make_index_sequence<struct_size<T>>{});
    }
  } else if constexpr (k == kind::boolean) {
    s.tag(tag::boolean);
  } else if constexpr (k == kind::number) {
    if constexpr (std::is_same_v<T, std::byte>) {
      s.tag(tag::byte);
    } else if constexpr (std::is_enum_v<T>) {
      s.tag(tag::enumeration);
      s.tag(number_tag<std::underlying_type_t<T>>());
    } else {
      s.tag(number_tag<T>());
    }
  } else if constexpr (k == kind::long_double) {
    static_assert(std::numeric_limits<long double>::digits == 64,
                  "brine: long double must be the x87 80-bit format");
    s.tag(tag::f80);
  } else if constexpr (k == kind::unit) {
    s.tag(tag::unit);
  } else if constexpr (k == kind::string) {
    s.tag(tag::string);
    s.tag(number_tag<typename T::value_type>());
  } else if constexpr (k == kind::path) {
    s.tag(tag::path);
  } else if constexpr (k == kind::vector_bool) {
    s.tag(tag::bits);
  } else if constexpr (k == kind::sequence || k == kind::set || k == kind::multiset) {
    s.tag(k == kind::sequence ? tag::sequence : k == kind::set ? tag::set : tag::multiset);
    describe<typename T::value_type, Stack...>(s);
  } else if constexpr (k == kind::map || k == kind::multimap) {
    s.tag(k == kind::map ? tag::map : tag::multimap);
    describe<typename T::key_type, Stack...>(s);
    describe<typename T::mapped_type, Stack...>(s);
  } else if constexpr (k == kind::fixed_array) {
    s.tag(tag::array);
    s.varint(array_traits<T>::size);
    describe<std::remove_cv_t<typename array_traits<T>::element>, Stack...>(s);
  } else if constexpr (k == kind::tuple) {
    s.tag(tag::tuple);
    s.varint(std::tuple_size_v<T>);
    [&]<std::size_t... I>(std::index_sequence<I...>) {
      (describe<std::tuple_element_t<I, T>, Stack...>(s), ...);
    }
    (std::make_index_sequence<std::tuple_size_v<T>>{});
  } else if constexpr (k == kind::optional) {
    s.tag(tag::optional);
    describe<typename T::value_type, Stack...>(s);
  } else if constexpr (k == kind::variant) {
    s.tag(tag::variant);
    s.varint(std::variant_size_v<T>);
    [&]<std::size_t... I>(std::index_sequence<I...>) {
      (describe<std::variant_alternative_t<I, T>, Stack...>(s), ...);
    }
    (std::make_index_sequence<std::variant_size_v<T>>{});
  } else if constexpr (k == kind::unique_ptr || k == kind::shared_ptr) {
    s.tag(k == kind::unique_ptr ? tag::unique : tag::shared);
    describe<std::remove_cv_t<typename T::element_type>, Stack...>(s);
  } else if constexpr (k == kind::duration) {
    s.tag(tag::duration);
    describe<typename T::rep, Stack...>(s);
    s.zigzag(T::period::num);
    s.zigzag(T::period::den);
  } else if constexpr (k == kind::time_point) {
    s.tag(tag::time_point);
    s.varint(clock_id<typename T::clock>());
    describe<typename T::duration, Stack...>(s);
  } else if constexpr (k == kind::complex) {
    s.tag(tag::complex);
    describe<typename T::value_type, Stack...>(s);
  } else if constexpr (k == kind::bitset) {
    s.tag(tag::bitset);
    s.varint(T{}.size());
  } else {
    static_assert(dependent_false<T>,
                  "brine: this type is not serializable; give it BRINE_FIELDS, or specialise "
                  "brine::fields or brine::adapter for it");
  }
}

struct schema_counter {
  std::size_t n = 0;
  bool has_evolvable = false;
  constexpr void tag(schema_tag t) {
    ++n;
    if (t == schema_tag::evolvable) has_evolvable = true;
  }
  constexpr void varint(std::uint64_t v) {
    do {
      ++n;
      v >>= 7;
    } while (v != 0);
  }
  constexpr void zigzag(std::int64_t v) {
    varint((static_cast<std::uint64_t>(v) << 1) ^ static_cast<std::uint64_t>(v >> 63));
  }
  constexpr void name(std::string_view s) {
    varint(s.size());
    n += s.size();
  }
  constexpr void ref_to(const void*) {}
};

// Finds whether a record's schema refers back to the record itself.
struct self_reference_finder : schema_counter {
  const void* root = nullptr;
  bool found = false;
  constexpr void ref_to(const void* target) {
    if (target == root) found = true;
  }
};

/// True if T's values can contain values of T (a recursive type). Only such records count
/// towards limits::max_depth: every unbounded nesting passes through one.
template <class T>
constexpr bool is_recursive() {
  self_reference_finder f;
  f.root = &record_tag<T>;
  describe<T>(f);
  return f.found;
}

template <std::size_t N>
struct schema_writer {
  std::array<std::uint8_t, N> bytes{};
  std::size_t n = 0;
  constexpr void tag(schema_tag t) { bytes[n++] = static_cast<std::uint8_t>(t); }
  constexpr void varint(std::uint64_t v) {
    while (v >= 0x80) {
      bytes[n++] = static_cast<std::uint8_t>(v | 0x80);
      v >>= 7;
    }
    bytes[n++] = static_cast<std::uint8_t>(v);
  }
  constexpr void zigzag(std::int64_t v) {
    varint((static_cast<std::uint64_t>(v) << 1) ^ static_cast<std::uint64_t>(v >> 63));
  }
  constexpr void name(std::string_view s) {
    varint(s.size());
    for (char c : s)
      bytes[n++] = static_cast<std::uint8_t>(c);
  }
  constexpr void ref_to(const void*) {}
};

template <class T>
constexpr std::size_t schema_size() {
  schema_counter c;
  describe<T>(c);
  return c.n;
}

/// True if T holds an evolvable record anywhere: its frames then carry their schema, so that a
/// reader of another version can check that the two are compatible.
template <class T>
constexpr bool contains_evolvable() {
  schema_counter c;
  describe<T>(c);
  return c.has_evolvable;
}

template <class T>
constexpr auto make_schema() {
  schema_writer<schema_size<T>()> w;
  describe<T>(w);
  return w.bytes;
}

}  // namespace detail

/// 64-bit FNV-1a of `bytes`, passed through a final avalanche: the fingerprint function.
constexpr std::uint64_t fingerprint_of(std::span<const std::uint8_t> bytes) noexcept {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (std::uint8_t b : bytes) {
    h ^= b;
    h *= 0x100000001b3ULL;
  }
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ULL;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebULL;
  h ^= h >> 31;
  return h;
}

/// The canonical schema bytes of T.
template <class T>
inline constexpr auto schema_of = detail::make_schema<T>();

/// The fingerprint of T's schema; frames carry it.
template <class T>
inline constexpr std::uint64_t fingerprint = fingerprint_of(schema_of<T>);

/// Renders schema bytes as text, e.g. `{x: f64, y: f64}`.
/// Throws: decode_error if the bytes are not a well-formed schema.
std::string schema_text(std::span<const std::uint8_t> schema);

/// The schema of T as text.
template <class T>
std::string schema_text() {
  return schema_text(std::span<const std::uint8_t>(schema_of<T>));
}

}  // namespace brine
