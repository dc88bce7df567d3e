#pragma once

// How brine sees the fields of a type: plain aggregates need nothing; classes name their fields
// with BRINE_FIELDS; types you cannot edit get a brine::fields or brine::adapter specialisation.

#include <array>
#include <cstddef>
#include <string_view>
#include <tuple>
#include <type_traits>

#include "brine/detail/aggregate.hpp"

namespace brine {

/// Describes the fields of a type you cannot edit. Specialise with
/// `static auto tie(T&)` / `static auto tie(const T&)` returning `std::tie(t.a, t.b, ...)` and
/// `static constexpr std::array<std::string_view, N> names`.
template <class T>
struct fields;

/// Stores T as another serializable type. Specialise with `using wire_type = U;`,
/// `static U to_wire(const T&)` and `static T from_wire(U&&)`. Takes precedence over every other
/// way brine knows to encode T.
template <class T>
struct adapter;

/// True for types whose fields may grow: a newer version with trailing fields reads old data
/// and an older version skips the new fields (docs/codec.md, Evolution). Set it with
/// BRINE_EVOLVABLE inside the type, or specialise it for a type you cannot edit.
template <class T>
inline constexpr bool evolvable = requires {
  typename T::brine_evolvable_;
};

/// Grants brine access to the members named by BRINE_FIELDS, whatever their access.
struct access {
  template <class T>
  static auto tie(T& t) noexcept {
    return t.brine_tie_();
  }
  template <class T>
  static constexpr std::string_view field_list() noexcept {
    return T::brine_field_list_();
  }
  // True only for the class that wrote BRINE_FIELDS, not for classes derived from it, which
  // would otherwise silently lose their own fields.
  template <class T>
  static constexpr bool owns_fields() {
    if constexpr (requires(const T& t) { t.brine_fields_owner_(); }) {
      return std::is_same_v<decltype(std::declval<const T&>().brine_fields_owner_()), T>;
    } else {
      return false;
    }
  }
  template <class T>
  static constexpr bool has_fields = owns_fields<T>();
  template <class T>
  static constexpr bool inherits_fields = !owns_fields<T>() && requires {
    T::brine_field_list_();
  };
};

namespace detail {

template <class T>
concept has_member_fields = access::has_fields<T>;

template <class T>
concept has_external_fields = requires {
  fields<T>::names;
};

template <class T>
concept has_adapter = requires {
  typename adapter<T>::wire_type;
};

// Drops one trailing underscore, the usual mark of a data member: owner_ is named owner.
constexpr std::string_view public_field_name(std::string_view s) {
  if (s.size() > 1 && s.back() == '_') s.remove_suffix(1);
  return s;
}

}  // namespace detail
}  // namespace brine

/// Names the data members brine serializes, in order, inside a class definition:
/// `BRINE_FIELDS(owner_, cents_)`. Members may be private. The class must be default-constructible.
#define BRINE_FIELDS(...)                                                          \
  friend struct ::brine::access;                                                   \
  auto brine_fields_owner_() const noexcept->std::remove_cvref_t<decltype(*this)>; \
  auto brine_tie_() noexcept { return std::tie(__VA_ARGS__); }                     \
  auto brine_tie_() const noexcept { return std::tie(__VA_ARGS__); }               \
  static constexpr std::string_view brine_field_list_() noexcept { return #__VA_ARGS__; }

/// Marks a struct or class as evolvable (see brine::evolvable); write it among the members:
/// `struct Config { BRINE_EVOLVABLE; int port = 80; };`. It adds no data member.
#define BRINE_EVOLVABLE using brine_evolvable_ = void
