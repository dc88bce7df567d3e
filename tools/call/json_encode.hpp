#pragma once

// brine-call's schema-directed JSON encoder: a JSON value, read by a schema the program learnt
// at run time, becomes the bytes brine::dumps would write for a C++ value of that schema. It
// reads exactly the JSON that brine::inspect prints (docs/brine-call.md gives the mapping), so
// that inspect's output can be fed back.

#include <brine/schema_tree.hpp>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "json_value.hpp"

namespace brine_call {

/// The body of `value` encoded by `schema`. `root` names the value in messages ("args").
/// Throws: input_error naming the path of the value that does not fit (`args[1].name: expected
/// a string, got 3`), or that nests deeper than dumps would write.
std::vector<std::byte> encode_body(const brine::schema_node& schema, const json_value& value,
                                   std::string_view root = "$");

/// The whole frame of `value` as a value of the type whose schema bytes are `schema`: the header
/// with that type's fingerprint, a schema block when the type holds an evolvable record (as
/// dumps writes one then), and the body. Throws: brine::decode_error for malformed schema
/// bytes, input_error as encode_body.
std::vector<std::byte> encode_frame(std::span<const std::uint8_t> schema, const json_value& value,
                                    std::string_view root = "$");

/// True if frames of this schema carry a schema block (it holds an evolvable record).
bool has_evolvable(const brine::schema_node& schema) noexcept;

/// A frame with a schema block for `body`, whose type's schema is `schema`, as brine::inspect
/// needs it to print the value.
std::vector<std::byte> described_frame(std::span<const std::uint8_t> schema,
                                       std::span<const std::byte> body);

/// The "value" member of a JSON document printed by brine::inspect (format::json), as printed.
/// Throws: input_error if `document` is not such a document.
std::string inspect_value(std::string_view document);

}  // namespace brine_call
