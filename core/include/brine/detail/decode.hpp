#pragma once

// The decode routine: reads a value from untrusted bytes into a default-constructed object.

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

#include "brine/detail/encode.hpp"

namespace brine::detail {

template <class T>
void decode(reader& r, T& v);

template <class T>
[[gnu::always_inline]] inline void decode_flat(reader& r, T& v) {
  using E = typename T::value_type;
  static_assert(min_wire<E>() == sizeof(E), "count() must check n * sizeof(E) bytes");
  constexpr bool string = kind_of<T>() == kind::string;
  std::size_t n = r.length(sizeof(E), v.capacity(), string ? "string" : "sequence");
  const std::byte* p = r.take_counted(n * sizeof(E));
  if constexpr (string && sizeof(E) == 1) {
    if (n <= v.size()) {
      v.erase(n);  // only sets the length, inline (resize is a call into libstdc++)
      copy_small(reinterpret_cast<std::byte*>(v.data()), p, n);
    } else {
      v.assign(reinterpret_cast<const E*>(p), n);  // keeps the capacity
    }
  } else if constexpr (string) {
    v.resize(n);  // the input may be unaligned for E: copy bytes
    copy_small(reinterpret_cast<std::byte*>(v.data()), p, n * sizeof(E));
  } else if (n > v.capacity() &&
             (sizeof(E) == 1 || reinterpret_cast<std::uintptr_t>(p) % alignof(E) == 0)) {
    // New memory from aligned input (always so for bytes): one memmove, no zero-filling first.
    const E* first = reinterpret_cast<const E*>(p);
    v.assign(first, first + n);
  } else {
    // Zero-fills the growth, then copies over it: for new memory from unaligned input this
    // beats building each element from its bytes, as the first touch of new pages costs most.
    v.resize(n);
    copy_small(reinterpret_cast<std::byte*>(v.data()), p, n * sizeof(E));
  }
}

template <class T>
[[gnu::always_inline]] inline void decode_inline(reader& r, T& v);

// Every field of a struct, in place (a function, not a lambda given to std::apply, so that it
// is inlined whatever the translation unit around it: GCC gave up on the lambda in large ones).
template <class T, std::size_t... I>
[[gnu::always_inline]] inline void decode_each_field(reader& r, T& v, std::index_sequence<I...>) {
  auto fields = tie_struct(v);
  (decode_inline(r, std::get<I>(fields)), ...);
}

// A struct's fields and a sequence's elements: plain values, strings and flat sequences are
// read in place, everything else through a call (which recursive types need).
template <class T>
[[gnu::always_inline]] inline void decode_inline(reader& r, T& v) {
  if constexpr (is_wire_pod<T>)
    r.raw(&v, sizeof(T));
  else if constexpr (is_flat<T>)
    decode_flat(r, v);
  else if constexpr (inlined<T>())
    decode_each_field(r, v, std::make_index_sequence<struct_size<T>>{});
  else
    decode(r, v);
}

// Gives an object its default value, or its fields theirs if it cannot be assigned; used to
// break cycles after a failed decode.
template <class T>
void clear_object(T& v) noexcept {
  constexpr kind k = kind_of<T>();
  if constexpr (std::is_move_assignable_v<T> && std::is_default_constructible_v<T>) {
    try {
      v = T{};
    } catch (...) {  // a throwing default constructor: leave the object as it is
    }
  } else if constexpr (k == kind::fields || k == kind::aggregate) {
    std::apply([](auto&... f) { (clear_object(f), ...); }, tie_struct(v));
  }
}

// Decodes alternative I of a variant, over the one it holds if it holds I already.
template <std::size_t I, class V>
void decode_alternative(reader& r, V& v) {
  if (v.index() != I) v.template emplace<I>();
  decode(r, *std::get_if<I>(&v));
}

// Memory one node of a node-based container costs beyond its value (pointers, colour, hash).
inline constexpr std::size_t node_overhead = 32;

[[noreturn]] void throw_evolvable_length(const reader& r, std::size_t at, const char* what);

// Reads as many fields as both versions have; fields the data lacks get their defaults, and
// fields this version lacks are skipped by length.
template <class T>
void decode_evolvable(reader& r, T& v) {
  std::size_t at = r.offset();
  std::uint64_t count = r.varint();
  std::uint32_t length;
  r.raw(&length, 4);
  if (length > r.left()) throw_evolvable_length(r, at, "is longer than the input");
  if (count > length) throw_evolvable_length(r, at, "is shorter than its field count");
  const std::byte* end = r.here() + length;
  constexpr std::size_t n = struct_size<T>;
  auto fields = tie_struct(v);
  [&]<std::size_t... I>(std::index_sequence<I...>) {
    (void)((I < count ? (decode(r, std::get<I>(fields)), true) : false) && ...);
  }
  (std::make_index_sequence<n>{});
  if (count < n) {
    T fresh{};
    auto defaults = tie_struct(fresh);
    [&]<std::size_t... I>(std::index_sequence<I...>) {
      ((I >= count ? (void)(std::get<I>(fields) = std::move(std::get<I>(defaults))) : void()), ...);
    }
    (std::make_index_sequence<n>{});
  }
  if (r.here() > end) throw_evolvable_length(r, at, "is shorter than its fields");
  if (count <= n && r.here() != end) throw_evolvable_length(r, at, "is longer than its fields");
  r.take(static_cast<std::size_t>(end - r.here()));
}

template <class T>
void decode_fields(reader& r, T& v) {
  if constexpr (evolvable<T>) {
    decode_evolvable(r, v);
  } else if constexpr (struct_size<T> == 0) {
    std::monostate unit;
    decode(r, unit);
  } else {
    decode_each_field(r, v, std::make_index_sequence<struct_size<T>>{});
  }
}

template <class T>
void decode_struct(reader& r, T& v) {
  if constexpr (is_recursive<T>()) {
    r.enter();
    decode_fields(r, v);
    r.leave();
  } else {
    decode_fields(r, v);
  }
}

[[noreturn]] void throw_duplicate_key(const reader& r, std::size_t at, const char* what);
[[noreturn]] void throw_not_derived(const reader& r, const poly_entry& e, const void* base,
                                    std::size_t at);
[[noreturn]] void bad_pointer_tag(const reader& r, std::uint8_t tag, bool polymorphic,
                                  bool abstract, std::size_t at);
[[noreturn]] void throw_bad_backref(const reader& r, std::uint64_t target, std::size_t at);
[[noreturn]] void throw_backref_type(const reader& r, std::uint64_t id, std::size_t at);

/// Reads the name of a registered type and finds it. Throws: decode_error for a name that no
/// BRINE_REGISTER gave: the allowlist.
const poly_entry& read_derived_entry(reader& r);

template <class T>
void decode_set(reader& r, T& v, bool unique) {
  using K = typename T::value_type;
  std::size_t n = r.count(min_wire<K>(), sizeof(K) + node_overhead, "set");
  v.clear();
  if constexpr (requires { v.reserve(n); }) v.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    std::size_t at = r.offset();
    K key{};
    decode(r, key);
    std::size_t before = v.size();
    v.insert(v.end(), std::move(key));
    if (unique && v.size() == before) throw_duplicate_key(r, at, "set");
  }
}

template <class T>
void decode_map(reader& r, T& v, bool unique) {
  using K = typename T::key_type;
  using M = typename T::mapped_type;
  std::size_t n =
      r.count(min_wire<K>() + min_wire<M>(), sizeof(typename T::value_type) + node_overhead, "map");
  v.clear();
  if constexpr (requires { v.reserve(n); }) v.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    std::size_t at = r.offset();
    K key{};
    decode(r, key);
    M value{};
    decode(r, value);
    std::size_t before = v.size();
    v.emplace_hint(v.end(), std::move(key), std::move(value));
    if (unique && v.size() == before) throw_duplicate_key(r, at, "map");
  }
}

template <class T>
void decode(reader& r, T& v) {
  constexpr kind k = kind_of<T>();
  if constexpr (is_wire_pod<T>) {
    r.raw(&v, sizeof(T));
  } else if constexpr (k == kind::boolean) {
    std::uint8_t b = r.byte();
    if (b > 1) r.fail_at("expected a bool (0 or 1), found " + std::to_string(b), r.offset() - 1);
    v = b != 0;
  } else if constexpr (k == kind::long_double) {
    v = 0;
    r.raw(&v, 10);
    r.take(6);
  } else if constexpr (k == kind::unit) {
    std::uint8_t b = r.byte();
    if (b != 0)
      r.fail_at("expected an empty value (0), found " + std::to_string(b), r.offset() - 1);
  } else if constexpr (is_flat<T>) {
    decode_flat(r, v);
  } else if constexpr (k == kind::path) {
    typename T::string_type s;
    decode(r, s);
    v = std::move(s);
  } else if constexpr (k == kind::vector_bool) {
    std::size_t at = r.offset();
    std::uint64_t n = r.varint();
    if (n / 8 > r.left())
      r.fail_at("a vector<bool> of " + std::to_string(n) + " bits is longer than the input", at);
    r.charge(static_cast<std::size_t>(n / 8), at);
    const std::byte* p = r.take(static_cast<std::size_t>((n + 7) / 8));
    v.assign(static_cast<std::size_t>(n), false);
    for (std::size_t i = 0; i < n; ++i)
      v[i] = ((static_cast<std::uint8_t>(p[i / 8]) >> (i % 8)) & 1) != 0;
    if (n % 8 != 0 && (static_cast<std::uint8_t>(p[n / 8]) >> (n % 8)) != 0) {
      r.fail_at("unused bits of a vector<bool> are not zero", r.offset() - 1);
    }
  } else if constexpr (k == kind::sequence) {
    using E = typename T::value_type;
    std::size_t n = r.count(min_wire<E>(), sizeof(E), "sequence");
    // Elements already there are decoded over, so that decoding into a reused object
    // (loads_into) reuses their memory.
    v.resize(n);
    for (auto& e : v)
      decode_inline(r, e);
  } else if constexpr (k == kind::set || k == kind::multiset) {
    decode_set(r, v, k == kind::set);
  } else if constexpr (k == kind::map || k == kind::multimap) {
    decode_map(r, v, k == kind::map);
  } else if constexpr (k == kind::fixed_array) {
    if constexpr (array_traits<T>::size == 0) {
      std::monostate unit;
      decode(r, unit);
    } else {
      for (auto& e : v)
        decode(r, e);
    }
  } else if constexpr (k == kind::tuple) {
    if constexpr (std::tuple_size_v<T> == 0) {
      std::monostate unit;
      decode(r, unit);
    } else {
      std::apply([&](auto&... e) { (decode(r, e), ...); }, v);
    }
  } else if constexpr (k == kind::optional) {
    std::uint8_t tag = r.byte();
    if (tag > 1)
      r.fail_at("expected an optional's tag (0 or 1), found " + std::to_string(tag),
                r.offset() - 1);
    if (tag == 0) {
      v.reset();
    } else {
      decode(r, v ? *v : v.emplace());
    }
  } else if constexpr (k == kind::variant) {
    std::size_t at = r.offset();
    std::uint64_t index = r.varint();
    constexpr std::size_t n = std::variant_size_v<T>;
    if (index >= n) {
      r.fail_at("expected a variant index below " + std::to_string(n) + ", found " +
                    std::to_string(index),
                at);
    }
    // A table of one function per alternative: a fold over them here made GCC 12 see writes of
    // one alternative into another's storage (a false -Wstringop-overflow).
    constexpr auto table = []<std::size_t... I>(std::index_sequence<I...>) {
      return std::array<void (*)(reader&, T&), n>{&decode_alternative<I, T>...};
    }
    (std::make_index_sequence<n>{});
    table[static_cast<std::size_t>(index)](r, v);
  } else if constexpr (k == kind::unique_ptr) {
    using E = typename T::element_type;
    std::size_t at = r.offset();
    std::uint8_t tag = r.byte();
    if (tag == 0) {
      v.reset();
    } else if (tag == 1 && !std::is_abstract_v<E>) {
      if constexpr (!std::is_abstract_v<E>) {
        r.charge(sizeof(E), at);
        auto p = std::make_unique<E>();
        decode(r, *p);
        v = std::move(p);
      }
    } else if (tag == 2 && std::is_polymorphic_v<E>) {
      if constexpr (std::is_polymorphic_v<E>) {
        static_assert(std::has_virtual_destructor_v<E>,
                      "brine: a polymorphic base class needs a virtual destructor");
        const poly_entry& e = read_derived_entry(r);
        r.charge(e.size, at);
        std::unique_ptr<void, void (*)(void*) noexcept> object(e.make(), e.destroy);
        E* base = upcast<E>(e, object.get());
        if (base == nullptr) throw_not_derived(r, e, type_identity<E>(), at);
        r.enter();
        e.decode(r, object.get());
        r.leave();
        object.release();
        v.reset(base);
      }
    } else {
      bad_pointer_tag(r, tag, std::is_polymorphic_v<E>, std::is_abstract_v<E>, at);
    }
  } else if constexpr (k == kind::shared_ptr) {
    using E = std::remove_cv_t<typename T::element_type>;
    std::size_t at = r.offset();
    std::uint64_t position = r.position();
    std::uint64_t tag = r.varint();
    auto& memo = r.memo();
    if (tag == 0) {
      v.reset();
    } else if (tag == 1 && !std::is_abstract_v<E>) {
      if constexpr (!std::is_abstract_v<E>) {
        r.charge(sizeof(E) + node_overhead, at);
        auto p = std::make_shared<E>();
        const poly_entry* e = nullptr;
        if constexpr (std::is_polymorphic_v<E>) e = find_entry_for_type(typeid(E));
        memo.push_back({position, type_identity<E>(), p, e,
                        [](void* o) noexcept { clear_object(*static_cast<E*>(o)); }});
        decode(r, *p);
        v = std::move(p);
      }
    } else if (tag == 2 && std::is_polymorphic_v<E>) {
      const poly_entry& e = read_derived_entry(r);
      r.charge(e.size + node_overhead, at);
      std::shared_ptr<void> object = e.make_shared();
      E* base = upcast<E>(e, object.get());
      if (base == nullptr) throw_not_derived(r, e, type_identity<E>(), at);
      memo.push_back({position, e.identity, object, &e, e.clear});
      r.enter();
      e.decode(r, object.get());
      r.leave();
      v = std::shared_ptr<E>(std::move(object), base);
    } else if (tag < shared_backref_base) {
      bad_pointer_tag(r, static_cast<std::uint8_t>(tag), std::is_polymorphic_v<E>,
                      std::is_abstract_v<E>, at);
    } else {
      std::uint64_t target = tag - shared_backref_base;
      const memo_entry* found = r.find_object(target);
      if (found == nullptr) throw_bad_backref(r, target, at);
      const memo_entry& m = *found;
      if (m.type == type_identity<E>()) {
        v = std::static_pointer_cast<E>(m.object);
      } else if (E* base = m.poly != nullptr ? upcast<E>(*m.poly, m.object.get()) : nullptr) {
        v = std::shared_ptr<E>(m.object, base);
      } else {
        throw_backref_type(r, target, at);
      }
    }
  } else if constexpr (k == kind::duration) {
    typename T::rep c{};
    decode(r, c);
    v = T(c);
  } else if constexpr (k == kind::time_point) {
    typename T::rep c{};
    decode(r, c);
    v = T(typename T::duration(c));
  } else if constexpr (k == kind::complex) {
    typename T::value_type re{}, im{};
    decode(r, re);
    decode(r, im);
    v = T(re, im);
  } else if constexpr (k == kind::bitset) {
    constexpr std::size_t bits = T{}.size();
    if constexpr (bits == 0) {
      std::monostate unit;
      decode(r, unit);
    } else {
      const std::byte* p = r.take(bitset_bytes<T>());
      v.reset();
      for (std::size_t i = 0; i < bits; ++i)
        v[i] = ((static_cast<std::uint8_t>(p[i / 8]) >> (i % 8)) & 1) != 0;
      if (bits % 8 != 0 && (static_cast<std::uint8_t>(p[bits / 8]) >> (bits % 8)) != 0) {
        r.fail_at("unused bits of a bitset are not zero", r.offset() - 1);
      }
    }
  } else if constexpr (k == kind::fields || k == kind::aggregate) {
    decode_struct(r, v);
  } else if constexpr (k == kind::adapter) {
    r.enter();
    typename adapter<T>::wire_type w{};
    decode(r, w);
    v = adapter<T>::from_wire(std::move(w));
    r.leave();
  } else {
    static_assert(dependent_false<T>, "brine: this type is not serializable");
  }
}

}  // namespace brine::detail
