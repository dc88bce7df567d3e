#pragma once

// Printing any frame as text or JSON without its C++ type (what brine-inspect does), like
// Python's pickletools.dis.

#include <cstddef>
#include <span>
#include <string>

#include "brine/limits.hpp"

namespace brine {

/// How inspect() prints a frame.
struct inspect_options {
  enum class format {
    text,  // indented, with field names, container sizes and shared references
    json,  // one JSON document
    raw,   // the frame's layout: byte ranges and what each holds
  };
  format fmt = format::text;
  /// Elements shown per container in text and raw output before "... (N more)"; 0 = all.
  std::size_t max_items = 64;
  limits lim;
};

/// Renders a whole frame. Frames without a schema block (from dumps) show their header and the
/// body's size only. Throws: decode_error with the byte offset for malformed input.
std::string inspect(std::span<const std::byte> frame, const inspect_options& opt = {});

}  // namespace brine
