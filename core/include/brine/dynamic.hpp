#pragma once

// Reading a body without its C++ type: the schema drives a decoder that builds a tree of
// dynamic values, which brine-inspect prints. Same safety rules as brine::loads.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "brine/limits.hpp"
#include "brine/schema_tree.hpp"

namespace brine {

/// A decoded value of any schema. `schema` points into the tree it was read with.
struct dynamic_value {
  enum class kind {
    unit,
    boolean,
    integer,           // signed integers, enums, durations, time points (`i`)
    unsigned_integer,  // unsigned integers, std::byte (`u`)
    floating,          // f32, f64, f80 (`f`)
    character,         // one character of any width (`u` holds the code unit)
    string,            // strings and paths (`s`, UTF-8; other widths converted)
    list,              // lists, sets, multisets, arrays, tuples, complex (`items`)
    map,               // maps and multimaps (`items`: key, value, key, value, ...)
    record,            // `items` in field order; names in `schema->names`
    optional,          // `items` empty or one value
    variant,           // `u` = alternative index, `items` = one value
    pointer,           // unique_ptr: `items` empty (null) or one value
    shared,            // new shared object: `u` = object id, `items` = one value
    reference,         // shared_ptr to object `u` read before; `items` empty
    null_shared,       // null shared_ptr
    bits,              // vector<bool> and bitset: `s` holds '0'/'1', bit 0 first
  };
  kind k = kind::unit;
  const schema_node* schema = nullptr;
  std::int64_t i = 0;
  std::uint64_t u = 0;
  long double f = 0;
  std::string s;
  std::vector<dynamic_value> items;
  /// Byte range [begin, end) of the value in the frame.
  std::size_t begin = 0;
  std::size_t end = 0;
};

/// The registered derived types a file describes (its type table), by name.
struct type_table {
  std::vector<std::string> names;
  std::vector<schema_node> schemas;
  /// The schema of `name`, or nullptr.
  const schema_node* find(std::string_view name) const noexcept;
};

/// Parses a frame's type table block, which starts at byte `offset` of the frame.
/// Throws: decode_error (with the frame offset) if malformed.
type_table parse_type_table(std::span<const std::uint8_t> bytes, std::size_t offset = 0);

/// Decodes `body` (which starts at `offset` in its frame) by `schema`; objects of registered
/// derived types are read by their schemas in `types`.
/// Throws: decode_error with the byte offset, as loads would.
dynamic_value decode_dynamic(const schema_node& schema, std::span<const std::byte> body,
                             std::size_t offset = 0, const limits& lim = {},
                             const type_table* types = nullptr);

}  // namespace brine
