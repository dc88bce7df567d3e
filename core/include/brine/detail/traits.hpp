#pragma once

// Sorts every C++ type brine can encode into one kind, which picks its codec and schema.

#include <array>
#include <bitset>
#include <chrono>
#include <complex>
#include <cstddef>
#include <deque>
#include <filesystem>
#include <forward_list>
#include <list>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <type_traits>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <variant>
#include <vector>

#include "brine/reflect.hpp"

namespace brine::detail {

template <class T, template <class...> class Tmpl>
inline constexpr bool is_instance = false;
template <template <class...> class Tmpl, class... A>
inline constexpr bool is_instance<Tmpl<A...>, Tmpl> = true;

template <class T>
inline constexpr bool is_std_array = false;
template <class T, std::size_t N>
inline constexpr bool is_std_array<std::array<T, N>> = true;

template <class T>
inline constexpr bool is_bitset = false;
template <std::size_t N>
inline constexpr bool is_bitset<std::bitset<N>> = true;

template <class T>
inline constexpr bool is_duration = false;
template <class R, class P>
inline constexpr bool is_duration<std::chrono::duration<R, P>> = true;

template <class T>
inline constexpr bool is_time_point = false;
template <class C, class D>
inline constexpr bool is_time_point<std::chrono::time_point<C, D>> = true;

template <class T>
inline constexpr bool is_unique_ptr = false;
template <class T>
inline constexpr bool is_unique_ptr<std::unique_ptr<T, std::default_delete<T>>> = true;

template <class T>
concept char_type = std::is_same_v<T, char> || std::is_same_v<T, char8_t> ||
    std::is_same_v<T, char16_t> || std::is_same_v<T, char32_t> || std::is_same_v<T, wchar_t>;

enum class kind {
  unsupported,
  adapter,
  fields,
  boolean,
  number,  // integers, floating point, character types, std::byte, enums
  long_double,
  unit,  // std::monostate and empty structs
  string,
  path,
  vector_bool,
  sequence,
  set,
  multiset,
  map,
  multimap,
  fixed_array,
  tuple,
  optional,
  variant,
  unique_ptr,
  shared_ptr,
  duration,
  time_point,
  complex,
  bitset,
  aggregate,
};

template <class T>
constexpr kind kind_of() {
  if constexpr (has_adapter<T>) {
    return kind::adapter;
  } else if constexpr (has_member_fields<T> || has_external_fields<T>) {
    return kind::fields;
  } else if constexpr (std::is_abstract_v<T>) {
    return kind::unit;  // no value of its own: objects behind its pointers are registered types
  } else if constexpr (access::inherits_fields<T>) {
    return kind::unsupported;  // a base's BRINE_FIELDS would miss this class's own fields
  } else if constexpr (std::is_same_v<T, bool>) {
    return kind::boolean;
  } else if constexpr (std::is_same_v<T, long double>) {
    return kind::long_double;
  } else if constexpr (std::is_arithmetic_v<T> || std::is_enum_v<T>) {
    return kind::number;
  } else if constexpr (std::is_same_v<T, std::monostate>) {
    return kind::unit;
  } else if constexpr (is_instance<T, std::basic_string>) {
    return char_type<typename T::value_type> ? kind::string : kind::unsupported;
  } else if constexpr (std::is_same_v<T, std::filesystem::path>) {
    return kind::path;
  } else if constexpr (is_instance<T, std::vector>) {
    return std::is_same_v<typename T::value_type, bool> ? kind::vector_bool : kind::sequence;
  } else if constexpr (is_instance<T, std::deque> || is_instance<T, std::list> ||
                       is_instance<T, std::forward_list>) {
    return kind::sequence;
  } else if constexpr (is_instance<T, std::set> || is_instance<T, std::unordered_set>) {
    return kind::set;
  } else if constexpr (is_instance<T, std::multiset> || is_instance<T, std::unordered_multiset>) {
    return kind::multiset;
  } else if constexpr (is_instance<T, std::map> || is_instance<T, std::unordered_map>) {
    return kind::map;
  } else if constexpr (is_instance<T, std::multimap> || is_instance<T, std::unordered_multimap>) {
    return kind::multimap;
  } else if constexpr (is_std_array<T> || std::is_bounded_array_v<T>) {
    return kind::fixed_array;
  } else if constexpr (is_instance<T, std::pair> || is_instance<T, std::tuple>) {
    return kind::tuple;
  } else if constexpr (is_instance<T, std::optional>) {
    return kind::optional;
  } else if constexpr (is_instance<T, std::variant>) {
    return kind::variant;
  } else if constexpr (is_unique_ptr<T>) {
    return kind::unique_ptr;
  } else if constexpr (is_instance<T, std::shared_ptr>) {
    return kind::shared_ptr;
  } else if constexpr (is_duration<T>) {
    return kind::duration;
  } else if constexpr (is_time_point<T>) {
    return kind::time_point;
  } else if constexpr (is_instance<T, std::complex>) {
    return kind::complex;
  } else if constexpr (is_bitset<T>) {
    return kind::bitset;
  } else if constexpr (std::is_aggregate_v<T> && std::is_class_v<T>) {
    return aggregate_size<T> == 0 ? kind::unit : kind::aggregate;
  } else {
    return kind::unsupported;
  }
}

/// Element type of a fixed array (std::array or C array) and its extent.
template <class T>
struct array_traits;
template <class T, std::size_t N>
struct array_traits<std::array<T, N>> {
  using element = T;
  static constexpr std::size_t size = N;
};
template <class T, std::size_t N>
struct array_traits<T[N]> {
  using element = T;
  static constexpr std::size_t size = N;
};

/// References to the fields of a struct kind (BRINE_FIELDS, brine::fields or aggregate).
template <class T>
auto tie_struct(T& v) noexcept {
  using U = std::remove_const_t<T>;
  if constexpr (has_member_fields<U>) {
    return access::tie(v);
  } else if constexpr (has_external_fields<U>) {
    return fields<U>::tie(v);
  } else {
    return tie_fields<aggregate_size<U>>(v);
  }
}

template <class T>
using struct_tuple = decltype(tie_struct(std::declval<T&>()));

template <class T>
inline constexpr std::size_t struct_size = std::tuple_size_v<struct_tuple<T>>;

template <class T, std::size_t I>
using field_type = std::remove_cvref_t<std::tuple_element_t<I, struct_tuple<T>>>;

/// Field names of a struct kind, as they appear in its schema.
template <class T>
constexpr auto struct_names() {
  if constexpr (has_member_fields<T>) {
    return split_field_names<struct_size<T>>(access::field_list<T>());
  } else if constexpr (has_external_fields<T>) {
    return fields<T>::names;
  } else {
    return aggregate_names<T>(std::make_index_sequence<aggregate_size<T>>{});
  }
}

}  // namespace brine::detail
