#pragma once

// BRINE_REGISTER: the allowlist of polymorphic types.

#include <memory>
#include <string_view>
#include <type_traits>
#include <typeinfo>

#include "brine/detail/decode.hpp"
#include "brine/detail/encode.hpp"
#include "brine/detail/registry.hpp"
#include "brine/schema.hpp"

namespace brine::detail {

template <class T>
bool register_type(std::string_view name) {
  static_assert(std::is_polymorphic_v<T>,
                "brine: BRINE_REGISTER is for classes with virtual functions, reached through "
                "pointers to a base");
  static_assert(std::is_default_constructible_v<T>,
                "brine: a registered type needs a default "
                "constructor");
  static_assert(!std::is_abstract_v<T>, "brine: an abstract class cannot be registered");
  poly_entry e;
  e.name = name;
  e.type = &typeid(T);
  e.identity = type_identity<T>();
  e.fingerprint = fingerprint<T>;
  e.schema = schema_of<T>;
  e.size = sizeof(T);
  e.measure = [](sizer& s, const void* p) { encode(s, *static_cast<const T*>(p)); };
  e.write = [](writer& w, const void* p) { encode(w, *static_cast<const T*>(p)); };
  e.write_bounded = [](bounded_writer& w, const void* p) { encode(w, *static_cast<const T*>(p)); };
  e.decode = [](reader& r, void* p) { decode(r, *static_cast<T*>(p)); };
  e.make = []() -> void* { return new T(); };
  e.destroy = [](void* p) noexcept { delete static_cast<T*>(p); };
  e.clear = [](void* p) noexcept { clear_object(*static_cast<T*>(p)); };
  e.make_shared = []() -> std::shared_ptr<void> { return std::make_shared<T>(); };
  e.throw_pointer = [](void* p) { throw static_cast<T*>(p); };
  register_entry(e);
  return true;
}

}  // namespace brine::detail

#define BRINE_CONCAT_INNER_(a, b) a##b
#define BRINE_CONCAT_(a, b) BRINE_CONCAT_INNER_(a, b)
#define BRINE_REGISTER_PICK_(a, b, macro, ...) macro
#define BRINE_REGISTER_1_(T) BRINE_REGISTER_2_(T, #T)
#define BRINE_REGISTER_2_(T, name)                                                   \
  [[maybe_unused]] static const bool BRINE_CONCAT_(brine_registered_, __COUNTER__) = \
      ::brine::detail::register_type<T>(name)

/// Registers a polymorphic class at namespace scope so that std::unique_ptr<Base> and
/// std::shared_ptr<Base> holding it round-trip as it: `BRINE_REGISTER(Circle);` or, with a stable
/// name that survives renaming the class, `BRINE_REGISTER(Circle, "shapes.Circle");`. The name
/// travels in every frame; a decode constructs only types registered in the reading program.
/// The class needs BRINE_FIELDS naming all its fields (its bases' included), a default
/// constructor, and its base a virtual destructor.
#define BRINE_REGISTER(...) \
  BRINE_REGISTER_PICK_(__VA_ARGS__, BRINE_REGISTER_2_, BRINE_REGISTER_1_, )(__VA_ARGS__)
