#pragma once

// JSON documents as brine-call reads them: parsed by nlohmann::json's SAX parser into a tree
// that keeps what nlohmann::json's own tree would lose for brine: the text of each number (so
// f32, f64 and f80 values are read at their own precision, and -0 stays negative), the order
// of object members and repeated keys (which inspect prints for a multimap<string, T>).

#include <brine/error.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace brine_call {

/// Input that brine-call cannot use: JSON that does not parse, or a value that does not fit the
/// schema it is encoded by. The message names the value's path (`args[1].name: ...`).
class input_error : public brine::error {
 public:
  using brine::error::error;
};

/// One JSON value.
struct json_value {
  enum class type : std::uint8_t {
    null,
    boolean,
    integer,           // a negative integer, or -0 (`i`)
    unsigned_integer,  // a non-negative integer (`u`)
    floating,          // a number with a fraction or exponent, or one too large for 64 bits
    string,
    array,
    object,
  };
  type t = type::null;
  bool b = false;
  std::int64_t i = 0;
  std::uint64_t u = 0;
  /// A string's contents (UTF-8), or a number as written ("-0", "1.5e3", "18446744073709551616").
  std::string text;
  /// An array's elements, or an object's member values.
  std::vector<json_value> items;
  /// An object's member names, one per item, in document order; repeats are kept.
  std::vector<std::string> keys;

  bool is_number() const noexcept {
    return t == type::integer || t == type::unsigned_integer || t == type::floating;
  }
  /// The value of the first member named `key`, or nullptr.
  const json_value* find(std::string_view key) const noexcept;
};

/// Deepest nesting of arrays and objects parse_json accepts (inspect prints values up to 4096
/// levels deep, and a map entry takes two).
inline constexpr std::size_t max_json_depth = 10'000;

/// Parses one JSON document (RFC 8259, nothing after it but white space).
/// Throws: input_error saying where the text stops being JSON.
json_value parse_json(std::string_view text);

/// A short rendering of `v` for messages: compact JSON, cut after about `budget` characters.
std::string describe(const json_value& v, std::size_t budget = 60);

/// `s` as a JSON string literal (quotes and escapes added).
std::string json_string(std::string_view s);

}  // namespace brine_call
