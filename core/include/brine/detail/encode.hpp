#pragma once

// Compile-time facts about each type's encoding, and the encode routine (run twice: once with a
// sizer to measure, once with a writer).

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <typeinfo>
#include <utility>

#include "brine/detail/registry.hpp"
#include "brine/detail/wire.hpp"
#include "brine/schema.hpp"

namespace brine::detail {

/// True if T's encoding is exactly its object representation (so ranges of it are one memcpy).
template <class T>
constexpr bool wire_pod();

template <class T, std::size_t... I>
constexpr bool aggregate_pod(std::index_sequence<I...>) {
  return (wire_pod<field_type<T, I>>() && ...) && (sizeof(field_type<T, I>) + ... + 0) == sizeof(T);
}

template <class T>
constexpr bool wire_pod() {
  constexpr kind k = kind_of<T>();
  if constexpr (k == kind::number) {
    return true;
  } else if constexpr (k == kind::fixed_array) {
    return array_traits<T>::size > 0 && wire_pod<typename array_traits<T>::element>();
  } else if constexpr (k == kind::complex) {
    return wire_pod<typename T::value_type>() && sizeof(T) == 2 * sizeof(typename T::value_type);
  } else if constexpr (k == kind::aggregate) {
    return !evolvable<T> && std::is_trivially_copyable_v<T> && std::is_standard_layout_v<T> &&
           aggregate_pod<T>(std::make_index_sequence<aggregate_size<T>>{});
  } else {
    return false;
  }
}

template <class T>
inline constexpr bool is_wire_pod = wire_pod<T>();

/// The fewest bytes any value of T encodes to; never 0, so a count of n elements needs at least
/// n bytes of input, which bounds decoding work by the input's size.
template <class T>
constexpr std::size_t min_wire();

template <class T, std::size_t... I>
constexpr std::size_t struct_min_wire(std::index_sequence<I...>) {
  return (min_wire<field_type<T, I>>() + ... + 0);
}

template <class T>
constexpr std::size_t min_wire() {
  constexpr kind k = kind_of<T>();
  if constexpr (k == kind::number) {
    return sizeof(T);
  } else if constexpr (k == kind::long_double) {
    return 16;
  } else if constexpr (k == kind::fixed_array) {
    constexpr std::size_t n = array_traits<T>::size;
    return n == 0 ? 1 : n * min_wire<typename array_traits<T>::element>();
  } else if constexpr (k == kind::tuple) {
    return []<std::size_t... I>(std::index_sequence<I...>) {
      return std::max<std::size_t>(1, (min_wire<std::tuple_element_t<I, T>>() + ... + 0));
    }
    (std::make_index_sequence<std::tuple_size_v<T>>{});
  } else if constexpr (k == kind::fields || k == kind::aggregate) {
    if constexpr (evolvable<T>) {
      return 5;  // a count and a length: an older version may have no fields at all
    } else {
      return std::max<std::size_t>(1,
                                   struct_min_wire<T>(std::make_index_sequence<struct_size<T>>{}));
    }
  } else if constexpr (k == kind::adapter) {
    return min_wire<typename adapter<T>::wire_type>();
  } else if constexpr (k == kind::duration) {
    return min_wire<typename T::rep>();
  } else if constexpr (k == kind::time_point) {
    return min_wire<typename T::rep>();
  } else if constexpr (k == kind::complex) {
    return 2 * min_wire<typename T::value_type>();
  } else if constexpr (k == kind::bitset) {
    return T{}.size() == 0 ? 1 : (T{}.size() + 7) / 8;
  } else {
    return 1;  // a tag byte or a count
  }
}

/// If every value of T encodes to the same number of bytes, that number; else 0.
template <class T>
constexpr std::size_t fixed_wire() {
  constexpr kind k = kind_of<T>();
  if constexpr (is_wire_pod<T>) {
    return sizeof(T);
  } else if constexpr (k == kind::boolean || k == kind::unit) {
    return 1;
  } else if constexpr (k == kind::long_double || k == kind::bitset) {
    return min_wire<T>();
  } else if constexpr (k == kind::fixed_array) {
    using E = typename array_traits<T>::element;
    return array_traits<T>::size == 0 ? 1 : array_traits<T>::size * fixed_wire<E>();
  } else {
    return 0;
  }
}

template <class T>
constexpr std::size_t bitset_bytes() {
  return (T{}.size() + 7) / 8;
}

// Tags of a shared pointer: 0 null, 1 a new object of the pointer's type, 2 a new object of a
// registered derived type, k >= 3 the object whose tag stands at body position k - 3.
inline constexpr std::uint64_t shared_backref_base = 3;

// Strings and contiguous sequences of plain values: the bulk of most data.
template <class T>
constexpr bool flat() {
  constexpr kind k = kind_of<T>();
  if constexpr (k == kind::string)
    return true;
  else if constexpr (k == kind::sequence)
    return is_wire_pod<typename T::value_type> && std::contiguous_iterator<typename T::iterator>;
  else
    return false;
}
template <class T>
inline constexpr bool is_flat = flat<T>();

// Values read in place where they occur (see decode_inline): plain values, flat ones, and
// structs made only of these (which cannot contain themselves, so this ends).
template <class T>
constexpr bool inlined();
template <class T, std::size_t... I>
constexpr bool fields_inlined(std::index_sequence<I...>) {
  return (inlined<field_type<T, I>>() && ...);
}
template <class T>
constexpr bool inlined() {
  constexpr kind k = kind_of<T>();
  if constexpr (is_wire_pod<T> || is_flat<T>)
    return true;
  else if constexpr (k == kind::fields || k == kind::aggregate)
    return !evolvable<T> && struct_size<T> > 0 && struct_size<T> <= 8 &&
           fields_inlined<T>(std::make_index_sequence<struct_size<T>>{});
  else
    return false;
}

template <class Out, class T>
void encode(Out& out, const T& v);

template <class Out, class T>
[[gnu::always_inline]] inline void encode_inline(Out& out, const T& v);

// Writers that can lend their position to a local write_cursor (the sizer and cursors cannot).
template <class Out>
concept lends_cursor = requires(Out& out) {
  out.seek(out.cursor());
};

// One field of a struct whose writer lent cursor `c`: written through `c` if it is written in
// place, else through a call, with the writer brought up to date before and `c` after.
template <class Out, class C, class F>
[[gnu::always_inline]] inline void encode_field(Out& out, C& c, const F& f) {
  if constexpr (inlined<F>()) {
    encode_inline(c, f);
  } else {
    out.seek(c);
    encode(out, f);
    c = out.cursor();
  }
}

// Every field of a struct, in place (see decode_each_field).
template <class Out, class T, std::size_t... I>
[[gnu::always_inline]] inline void encode_each_field(Out& out, const T& v,
                                                     std::index_sequence<I...>) {
  auto fields = tie_struct(v);
  if constexpr (lends_cursor<Out>) {
    auto c = out.cursor();
    (encode_field(out, c, std::get<I>(fields)), ...);
    out.seek(c);
  } else {
    (encode_inline(out, std::get<I>(fields)), ...);
  }
}

// A struct's fields and a sequence's elements: what decode_inline reads in place is written in
// place, everything else through a call.
template <class Out, class T>
[[gnu::always_inline]] inline void encode_inline(Out& out, const T& v) {
  if constexpr (is_wire_pod<T>) {
    out.raw(&v, sizeof(T));
  } else if constexpr (is_flat<T>) {
    out.varint(v.size());
    out.raw(v.data(), v.size() * sizeof(typename T::value_type));
  } else if constexpr (inlined<T>()) {
    encode_each_field(out, v, std::make_index_sequence<struct_size<T>>{});
  } else {
    encode(out, v);
  }
}

template <class Out, class R>
void encode_elements(Out& out, const R& range) {
  for (const auto& e : range)
    encode(out, e);
}

[[noreturn]] void throw_encode_error(const std::string& what);

// An evolvable record: its field count and a u32 byte length, then its fields, so that a reader
// with fewer fields can skip the rest and one with more knows which are missing.
template <class Out, class T>
void encode_evolvable(Out& out, const T& v) {
  out.varint(struct_size<T>);
  if constexpr (Out::measuring) {
    out.zeros(4);
    std::size_t start = out.position();
    std::apply([&](const auto&... f) { (encode(out, f), ...); }, tie_struct(v));
    if (out.position() - start > 0xffffffffU) {
      throw_encode_error("an evolvable record's fields take more than 4 GiB");
    }
  } else {
    std::byte* length = out.here();
    out.zeros(4);
    std::size_t start = out.position();
    std::apply([&](const auto&... f) { (encode(out, f), ...); }, tie_struct(v));
    auto n = static_cast<std::uint32_t>(out.position() - start);
    std::memcpy(length, &n, 4);
  }
}

template <class Out, class T>
void encode_fields(Out& out, const T& v) {
  if constexpr (evolvable<T>) {
    encode_evolvable(out, v);
  } else if constexpr (struct_size<T> == 0) {
    out.byte(0);  // every value takes at least one byte
  } else {
    encode_each_field(out, v, std::make_index_sequence<struct_size<T>>{});
  }
}

template <class Out, class T>
void encode_struct(Out& out, const T& v) {
  if constexpr (is_recursive<T>()) {
    out.enter();
    encode_fields(out, v);
    out.leave();
  } else {
    encode_fields(out, v);
  }
}

// The registry entry of the object's dynamic type if that differs from its static type E.
// Throws: encode_error if the dynamic type was never registered.
template <class E>
const poly_entry* derived_entry(const E& obj) {
  if constexpr (std::is_polymorphic_v<E>) {
    if (typeid(obj) != typeid(E)) return &entry_for_type(typeid(obj));
  }
  return nullptr;
}

template <class E>
const void* most_derived(const E& obj) {
  if constexpr (std::is_polymorphic_v<E>) {
    return dynamic_cast<const void*>(&obj);
  } else {
    return &obj;
  }
}

// A registered derived object: its name, then its own encoding.
template <class Out, class E>
void encode_derived(Out& out, const poly_entry& e, const E& obj) {
  out.varint(e.name.size());
  out.raw(e.name.data(), e.name.size());
  out.note_derived(e);
  out.enter();  // derived types can nest without limit (a group of shapes holding groups)
  if constexpr (Out::measuring) {
    e.measure(out, most_derived(obj));
  } else if constexpr (Out::bounded) {
    e.write_bounded(out, most_derived(obj));
  } else {
    e.write(out, most_derived(obj));
  }
  out.leave();
}

template <class Out, class T>
void encode(Out& out, const T& v) {
  constexpr kind k = kind_of<T>();
  if constexpr (is_wire_pod<T>) {
    out.raw(&v, sizeof(T));
  } else if constexpr (k == kind::boolean) {
    out.byte(v ? 1 : 0);
  } else if constexpr (k == kind::long_double) {
    out.raw(&v, 10);  // the x87 format's 80 bits; the rest of the object is padding
    out.zeros(6);
  } else if constexpr (k == kind::unit) {
    out.byte(0);
  } else if constexpr (k == kind::string) {
    out.varint(v.size());
    out.raw(v.data(), v.size() * sizeof(typename T::value_type));
  } else if constexpr (k == kind::path) {
    encode(out, v.native());
  } else if constexpr (k == kind::vector_bool) {
    out.varint(v.size());
    if constexpr (Out::measuring) {
      out.zeros((v.size() + 7) / 8);
    } else {
      std::uint8_t acc = 0;
      std::size_t i = 0;
      for (bool b : v) {
        acc |= static_cast<std::uint8_t>(b) << (i % 8);
        if (++i % 8 == 0) out.byte(std::exchange(acc, 0));
      }
      if (i % 8 != 0) out.byte(acc);
    }
  } else if constexpr (k == kind::sequence || k == kind::set || k == kind::multiset ||
                       k == kind::map || k == kind::multimap) {
    using E = typename T::value_type;
    std::size_t n;
    if constexpr (requires { v.size(); }) {
      n = v.size();
    } else {
      n = static_cast<std::size_t>(std::distance(v.begin(), v.end()));
    }
    out.varint(n);
    if constexpr (is_wire_pod<E> && std::contiguous_iterator<typename T::const_iterator>) {
      out.raw(v.data(), n * sizeof(E));
    } else if constexpr (Out::measuring && fixed_wire<E>() != 0) {
      out.zeros(n * fixed_wire<E>());
    } else if constexpr (k == kind::map || k == kind::multimap) {
      for (const auto& [key, value] : v) {
        encode(out, key);
        encode(out, value);
      }
    } else if constexpr (lends_cursor<Out> && inlined<E>()) {
      auto c = out.cursor();
      for (const auto& element : v)
        encode_inline(c, element);
      out.seek(c);
    } else {
      for (const auto& element : v)
        encode_inline(out, element);
    }
  } else if constexpr (k == kind::fixed_array) {
    if constexpr (array_traits<T>::size == 0) {
      out.byte(0);
    } else {
      encode_elements(out, v);
    }
  } else if constexpr (k == kind::tuple) {
    if constexpr (std::tuple_size_v<T> == 0) {
      out.byte(0);
    } else {
      std::apply([&](const auto&... e) { (encode(out, e), ...); }, v);
    }
  } else if constexpr (k == kind::optional) {
    out.byte(v.has_value() ? 1 : 0);
    if (v) encode(out, *v);
  } else if constexpr (k == kind::variant) {
    if (v.valueless_by_exception()) throw_encode_error("cannot encode a valueless variant");
    out.varint(v.index());
    std::visit([&](const auto& alt) { encode(out, alt); }, v);
  } else if constexpr (k == kind::unique_ptr) {
    if (!v) {
      out.byte(0);
    } else if (const poly_entry* e = derived_entry(*v)) {
      out.byte(2);
      encode_derived(out, *e, *v);
    } else {
      out.byte(1);
      encode(out, *v);
    }
  } else if constexpr (k == kind::shared_ptr) {
    using E = std::remove_cv_t<typename T::element_type>;
    if (!v) {
      out.varint(0);
      return;
    }
    const poly_entry* e = derived_entry(*v);
    // Keyed by the most-derived object and type, so pointers to it as Base and as Derived meet.
    std::uint64_t here = out.position();
    std::uint64_t first = e != nullptr ? out.memo().find_or_add(most_derived(*v), e->identity, here)
                                       : out.memo().find_or_add(v.get(), type_identity<E>(), here);
    if (first != encode_memo::none) {
      out.varint(first + shared_backref_base);
    } else if (e != nullptr) {
      out.varint(2);
      encode_derived(out, *e, *v);
    } else {
      out.varint(1);
      encode(out, *v);
    }
  } else if constexpr (k == kind::duration) {
    encode(out, v.count());
  } else if constexpr (k == kind::time_point) {
    encode(out, v.time_since_epoch().count());
  } else if constexpr (k == kind::complex) {
    encode(out, v.real());
    encode(out, v.imag());
  } else if constexpr (k == kind::bitset) {
    if constexpr (T{}.size() == 0) {
      out.byte(0);
    } else {
      for (std::size_t i = 0; i < bitset_bytes<T>(); ++i) {
        std::uint8_t b = 0;
        for (std::size_t j = 0; j < 8 && i * 8 + j < v.size(); ++j) {
          b |= static_cast<std::uint8_t>(v[i * 8 + j]) << j;
        }
        out.byte(b);
      }
    }
  } else if constexpr (k == kind::fields || k == kind::aggregate) {
    encode_struct(out, v);
  } else if constexpr (k == kind::adapter) {
    out.enter();
    encode(out, adapter<T>::to_wire(v));
    out.leave();
  } else {
    static_assert(dependent_false<T>, "brine: this type is not serializable");
  }
}

}  // namespace brine::detail
