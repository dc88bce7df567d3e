#pragma once

// The frame: a fixed 24-byte header, an optional schema block, and the body.
// docs/wire-format.md describes every byte.

#include <cstddef>
#include <cstdint>
#include <span>

#include "brine/limits.hpp"

namespace brine {

/// Size of the fixed frame header.
inline constexpr std::size_t frame_header_size = 24;
/// The format version this build writes and reads.
inline constexpr std::uint8_t format_version = 1;
/// The four bytes every frame starts with: "brn" and 0x01.
inline constexpr std::uint8_t frame_magic[4] = {'b', 'r', 'n', 0x01};

/// The header's first 8 bytes, as a little-endian word, in a frame without a schema block or
/// a type table: the magic, the version, flags 0 and the two reserved zeros. Fast paths compare
/// it in one go and leave every other frame to the full checks.
inline constexpr std::uint64_t plain_frame_start =
    std::uint64_t{frame_magic[0]} | std::uint64_t{frame_magic[1]} << 8 |
    std::uint64_t{frame_magic[2]} << 16 | std::uint64_t{frame_magic[3]} << 24 |
    std::uint64_t{format_version} << 32;

/// Bits of the header's flags byte.
enum frame_flag : std::uint8_t {
  /// A schema block (u32 length, schema bytes) follows the header.
  frame_has_schema = 0x01,
  /// A type table (u32 length, then the names and schemas of the registered derived types the
  /// body holds) follows the schema block. Only with frame_has_schema.
  frame_has_types = 0x02,
};

/// The fixed header of a frame.
struct frame_header {
  std::uint8_t version = format_version;
  std::uint8_t flags = 0;
  std::uint64_t fingerprint = 0;
  std::uint64_t body_size = 0;
};

/// A parsed frame: its header and views of its schema block (possibly empty) and body.
struct frame_view {
  frame_header header;
  std::span<const std::uint8_t> schema;
  std::span<const std::uint8_t> types;
  std::span<const std::byte> body;
  std::size_t body_offset = 0;
};

/// Writes `h` into the first frame_header_size bytes at `out`.
void write_frame_header(std::byte* out, const frame_header& h) noexcept;

/// Parses and checks a frame header (magic, version, flags, size limit).
/// Throws: decode_error naming what was expected and found.
frame_header read_frame_header(std::span<const std::byte> bytes, const limits& lim = {});

/// Parses a whole frame; its size must match `bytes` exactly, and a schema block must hash to the
/// header's fingerprint. Throws: decode_error.
frame_view parse_frame(std::span<const std::byte> bytes, const limits& lim = {});

/// Bytes of the frame that starts at `bytes` (header, schema block and body), from its header.
/// Throws: decode_error.
std::size_t frame_size(std::span<const std::byte> bytes, const limits& lim = {});

}  // namespace brine
