#include "brine/frame.hpp"

#include <algorithm>
#include <bit>
#include <cstring>
#include <string>

#include "brine/error.hpp"
#include "brine/schema.hpp"

namespace brine {
namespace {

std::uint64_t load_u64(const std::byte* p) noexcept {
  std::uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}

std::string hex_byte(std::uint8_t b) {
  const char* digits = "0123456789abcdef";
  return std::string("0x") + digits[b >> 4] + digits[b & 15];
}

}  // namespace

void write_frame_header(std::byte* out, const frame_header& h) noexcept {
  std::memcpy(out, frame_magic, 4);
  out[4] = static_cast<std::byte>(h.version);
  out[5] = static_cast<std::byte>(h.flags);
  out[6] = std::byte{0};
  out[7] = std::byte{0};
  std::memcpy(out + 8, &h.fingerprint, 8);
  std::memcpy(out + 16, &h.body_size, 8);
}

frame_header read_frame_header(std::span<const std::byte> bytes, const limits& lim) {
  if (bytes.size() < frame_header_size) {
    throw decode_error("truncated frame: expected a " + std::to_string(frame_header_size) +
                           "-byte header, found " + std::to_string(bytes.size()) + " bytes",
                       0);
  }
  for (int i = 0; i < 4; ++i) {
    if (static_cast<std::uint8_t>(bytes[i]) != frame_magic[i]) {
      throw decode_error("not a brine frame: expected magic 62 72 6e 01, byte " +
                             std::to_string(i) + " is " +
                             hex_byte(static_cast<std::uint8_t>(bytes[i])),
                         static_cast<std::size_t>(i));
    }
  }
  frame_header h;
  h.version = static_cast<std::uint8_t>(bytes[4]);
  h.flags = static_cast<std::uint8_t>(bytes[5]);
  if (h.version != format_version) {
    throw decode_error("unsupported format version " + std::to_string(h.version) +
                           " (this build reads version " + std::to_string(format_version) + ")",
                       4);
  }
  if ((h.flags & ~(frame_has_schema | frame_has_types)) != 0) {
    throw decode_error("unknown frame flags " + hex_byte(h.flags), 5);
  }
  if ((h.flags & frame_has_types) != 0 && (h.flags & frame_has_schema) == 0) {
    throw decode_error("a type table without a schema block", 5);
  }
  if (bytes[6] != std::byte{0} || bytes[7] != std::byte{0}) {
    throw decode_error("reserved header bytes 6-7 are not zero", 6);
  }
  h.fingerprint = load_u64(bytes.data() + 8);
  h.body_size = load_u64(bytes.data() + 16);
  if (h.body_size > lim.max_frame) {
    throw decode_error("body of " + std::to_string(h.body_size) +
                           " bytes is over limits::max_frame (" + std::to_string(lim.max_frame) +
                           ")",
                       16);
  }
  return h;
}

namespace {

// Header and schema block; the body starts right after.
frame_view parse_prefix(std::span<const std::byte> bytes, const limits& lim) {
  frame_view f;
  f.header = read_frame_header(bytes, lim);
  std::size_t at = frame_header_size;
  auto block = [&](const char* what) -> std::span<const std::uint8_t> {
    if (bytes.size() < at + 4) {
      throw decode_error(std::string("truncated frame: expected a 4-byte ") + what + " length", at);
    }
    std::uint32_t n;
    std::memcpy(&n, bytes.data() + at, 4);
    if (n > lim.max_frame || bytes.size() - at - 4 < n) {
      throw decode_error(std::string("truncated frame: the ") + what + " says " +
                             std::to_string(n) + " bytes, found " +
                             std::to_string(bytes.size() - at - 4),
                         at);
    }
    if (n == 0) throw decode_error(std::string("an empty ") + what, at);
    std::span<const std::uint8_t> out{reinterpret_cast<const std::uint8_t*>(bytes.data() + at + 4),
                                      n};
    at += 4 + n;
    return out;
  };
  if ((f.header.flags & frame_has_schema) != 0) f.schema = block("schema block");
  if ((f.header.flags & frame_has_types) != 0) f.types = block("type table");
  f.body_offset = at;
  if (f.header.body_size > lim.max_frame - std::min(lim.max_frame, at)) {
    throw decode_error(
        "frame of " + std::to_string(at) + " + " + std::to_string(f.header.body_size) +
            " bytes is over limits::max_frame (" + std::to_string(lim.max_frame) + ")",
        16);
  }
  return f;
}

}  // namespace

std::size_t frame_size(std::span<const std::byte> bytes, const limits& lim) {
  if constexpr (std::endian::native == std::endian::little) {
    // A frame without schema block: its size from the header's first and last words.
    if (bytes.size() >= frame_header_size) {
      std::uint64_t start = load_u64(bytes.data());
      std::uint64_t body = load_u64(bytes.data() + 16);
      if (start == plain_frame_start &&
          body <= lim.max_frame - std::min(lim.max_frame, frame_header_size))
        return frame_header_size + body;
    }
  }
  frame_view f = parse_prefix(bytes, lim);
  return f.body_offset + f.header.body_size;
}

frame_view parse_frame(std::span<const std::byte> bytes, const limits& lim) {
  frame_view f = parse_prefix(bytes, lim);
  std::size_t expected = f.body_offset + f.header.body_size;
  if (bytes.size() != expected) {
    throw decode_error("frame size mismatch: the header says " + std::to_string(expected) +
                           " bytes, found " + std::to_string(bytes.size()),
                       bytes.size() < expected ? bytes.size() : expected);
  }
  if (!f.schema.empty() && fingerprint_of(f.schema) != f.header.fingerprint) {
    throw decode_error("the schema block does not hash to the header's fingerprint",
                       frame_header_size);
  }
  f.body = bytes.subspan(f.body_offset);
  return f;
}

}  // namespace brine
