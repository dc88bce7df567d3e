#pragma once

#include <cstddef>

namespace brine {

/// Bounds a decode places on what untrusted bytes can make it do.
struct limits {
  /// Nesting of user types (structs, adapters) a value may have; also bounds encoding, so that a
  /// long chain of pointers throws instead of overflowing the stack.
  std::size_t max_depth = 512;
  /// Bytes of memory one decode may allocate for containers, strings and pointers.
  std::size_t max_alloc = std::size_t{1} << 30;
  /// Largest frame (header, schema and body) accepted.
  std::size_t max_frame = std::size_t{1} << 30;
};

}  // namespace brine
