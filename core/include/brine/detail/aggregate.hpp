#pragma once

// Reflection of plain aggregates: how many fields, references to them, and their names.

#include <array>
#include <cstddef>
#include <exception>
#include <string_view>
#include <type_traits>
#include <utility>

#include "brine/detail/tie_generated.hpp"

namespace brine::detail {

// Converts to any field type; used only in unevaluated brace-initialisation to count fields.
// Defined all the same, though it never runs: clang instantiates the constexpr constructors it
// meets in those checks (std::optional's, for one), which uses the conversion, and a conversion
// to a type without linkage (declared in an unnamed namespace) must then be defined.
struct any_field {
  template <class F>
  operator F() const {  // NOLINT(google-explicit-constructor): must convert implicitly
    std::terminate();
  }
};

template <class T, std::size_t... I>
constexpr bool brace_init_with(std::index_sequence<I...>) {
  return requires { T{(void(I), any_field{})...}; };
}

template <class T, std::size_t N = 0>
constexpr std::size_t count_fields() {
  if constexpr (N > max_aggregate_fields) {
    return N;
  } else if constexpr (brace_init_with<T>(std::make_index_sequence<N + 1>{})) {
    return count_fields<T, N + 1>();
  } else {
    return N;
  }
}

/// Number of fields of aggregate T (C-array members and base classes are not supported).
template <class T>
inline constexpr std::size_t aggregate_size = count_fields<T>();

template <class T>
struct fake_wrapper {
  T value;
};

#if defined(__clang__)
#pragma clang diagnostic push
// The object is never defined: only addresses of its fields are formed, at compile time.
#pragma clang diagnostic ignored "-Wundefined-var-template"
#pragma clang diagnostic ignored "-Wundefined-internal"
#endif
template <class T>
extern const fake_wrapper<T> fake_object;

template <class F>
struct field_address {
  const F* p;
};

template <auto P>
constexpr std::string_view pretty_name_of() {
  return __PRETTY_FUNCTION__;
}

// GCC prints "[with auto P = field_address<F>{(& fake_object<T>.fake_wrapper<T>::value.T::name)};
// ...]", clang "[P = {&fake_object.value.name}]". Type names may hold braces ("{anonymous}"), so
// the end is found from the text that follows the initializer, not from the first brace.
constexpr std::string_view field_name_from_pretty(std::string_view s) {
  auto close = s.find(")}; ");
  if (close == std::string_view::npos) close = s.rfind("}]");
  if (close == std::string_view::npos) return {};
  auto end = close;
  auto begin = end;
  while (begin > 0) {
    char c = s[begin - 1];
    bool ident =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
    if (!ident) break;
    --begin;
  }
  return s.substr(begin, end - begin);
}

template <class T, std::size_t I>
constexpr std::string_view aggregate_field_name() {
  constexpr auto& field = std::get<I>(tie_fields<aggregate_size<T>>(fake_object<T>.value));
  using F = std::remove_cvref_t<decltype(field)>;
  constexpr std::string_view name =
      field_name_from_pretty(pretty_name_of<field_address<F>{&field}>());
  static_assert(!name.empty(),
                "brine: cannot read this field's name; name the fields with "
                "BRINE_FIELDS or brine::fields");
  return name;
}
#if defined(__clang__)
#pragma clang diagnostic pop
#endif

template <class T, std::size_t... I>
constexpr auto aggregate_names(std::index_sequence<I...>) {
  return std::array<std::string_view, sizeof...(I)>{aggregate_field_name<T, I>()...};
}

/// Splits the text of a BRINE_FIELDS argument list ("a_, b, c") into N trimmed names.
template <std::size_t N>
constexpr std::array<std::string_view, N> split_field_names(std::string_view list) {
  std::array<std::string_view, N> out{};
  std::size_t k = 0;
  while (k < N) {
    auto comma = list.find(',');
    auto part = list.substr(0, comma);
    while (!part.empty() && part.front() == ' ')
      part.remove_prefix(1);
    while (!part.empty() && part.back() == ' ')
      part.remove_suffix(1);
    out[k++] = part;
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return out;
}

}  // namespace brine::detail
