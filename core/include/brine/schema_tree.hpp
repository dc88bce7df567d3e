#pragma once

// Schemas read at run time, from files and peers: parsed into a tree that tools walk to read
// bodies without the C++ type.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "brine/schema.hpp"

namespace brine {

/// One node of a parsed schema (docs/wire-format.md lists the tags and their parameters).
struct schema_node {
  schema_tag tag{};
  /// Array extent, bitset bits, clock id of a time point, or levels out of a reference.
  std::uint64_t extent = 0;
  /// Period of a duration, in seconds per tick: num / den.
  std::int64_t num = 0;
  std::int64_t den = 0;
  /// Field names of a record, one per child.
  std::vector<std::string> names;
  std::vector<schema_node> children;
  /// Fewest bytes a value of this node encodes to (at least 1).
  std::uint64_t min_wire = 1;
  /// For records: a reference inside refers back to this record (it counts toward max_depth).
  bool recursive = false;
};

/// Parses untrusted schema bytes that start at byte `offset` of their frame. Throws:
/// decode_error (with the frame offset) if they are malformed, nest deeper than 256 levels, or a
/// reference points outside its records.
schema_node parse_schema(std::span<const std::uint8_t> bytes, std::size_t offset = 0);

/// Renders a parsed schema as text, e.g. `{x: f64, y: f64}`.
std::string to_text(const schema_node& node);

}  // namespace brine
