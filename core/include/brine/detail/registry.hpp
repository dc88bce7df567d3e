#pragma once

// The allowlist of polymorphic types: BRINE_REGISTER(Derived) adds an entry; a decode can only
// ever construct a derived type found here by name.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <typeinfo>

#include "brine/detail/wire.hpp"

namespace brine::detail {

/// How to encode, create and decode one registered type, erased to void* (always the address of
/// the most-derived object).
struct poly_entry {
  std::string_view name;
  const std::type_info* type = nullptr;
  const void* identity = nullptr;  // type_identity<Derived>()
  std::uint64_t fingerprint = 0;
  std::span<const std::uint8_t> schema;
  std::size_t size = 0;
  void (*measure)(sizer&, const void*) = nullptr;
  void (*write)(writer&, const void*) = nullptr;
  void (*write_bounded)(bounded_writer&, const void*) = nullptr;
  void (*decode)(reader&, void*) = nullptr;
  void* (*make)() = nullptr;
  void (*destroy)(void*) noexcept = nullptr;
  void (*clear)(void*) noexcept = nullptr;  // assigns a default-constructed value
  std::shared_ptr<void> (*make_shared)() = nullptr;
  void (*throw_pointer)(void*) = nullptr;  // throws the object as Derived*; never returns
};

/// Adds an entry. Throws: error if another type already took the name.
void register_entry(const poly_entry& e);

/// The entry of the object's dynamic type. Throws: encode_error if it was never registered.
const poly_entry& entry_for_type(const std::type_info& t);

/// The entry registered as `name`, or nullptr.
const poly_entry* entry_for_name(std::string_view name) noexcept;

/// The entry registered for exactly type `t`, or nullptr.
const poly_entry* find_entry_for_type(const std::type_info& t) noexcept;

// Offset of the Base subobject inside a most-derived object of `e`'s type, found once per pair by
// letting the exception machinery do the derived-to-base conversion (so no base list has to be
// registered), then cached. not_a_base if Base is not an unambiguous public base.
inline constexpr std::ptrdiff_t not_a_base = PTRDIFF_MIN;
std::ptrdiff_t base_offset(const poly_entry& e, const std::type_info& base, void* sample,
                           std::ptrdiff_t (*probe)(const poly_entry&, void*));

template <class Base>
std::ptrdiff_t probe_base(const poly_entry& e, void* object) {
  try {
    e.throw_pointer(object);
  } catch (Base* b) {
    return reinterpret_cast<char*>(b) - reinterpret_cast<char*>(object);
  } catch (...) {
  }
  return not_a_base;
}

/// The Base* of a most-derived object of entry `e`, or nullptr if Base is not its base.
template <class Base>
Base* upcast(const poly_entry& e, void* object) {
  std::ptrdiff_t off = base_offset(e, typeid(Base), object, &probe_base<Base>);
  if (off == not_a_base) return nullptr;
  return reinterpret_cast<Base*>(static_cast<char*>(object) + off);
}

}  // namespace brine::detail
