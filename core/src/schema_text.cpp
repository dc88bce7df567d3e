// Renders schema bytes as text. Schema bytes may come from a file, so every read is checked.

#include <cstdint>
#include <mutex>
#include <span>
#include <string>
#include <unordered_map>

#include "brine/codec.hpp"
#include "brine/schema.hpp"

namespace brine {
namespace {

class schema_printer {
 public:
  explicit schema_printer(std::span<const std::uint8_t> s) : s_(s) {}

  std::string run() {
    node(0);
    if (at_ != s_.size()) fail("trailing bytes after the schema");
    return std::move(out_);
  }

 private:
  static constexpr int max_depth = 256;

  [[noreturn]] void fail(const std::string& what) const {
    throw decode_error("malformed schema: " + what, at_);
  }
  std::uint8_t byte() {
    if (at_ >= s_.size()) fail("truncated");
    return s_[at_++];
  }
  std::uint64_t varint() {
    std::uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      std::uint8_t b = byte();
      v |= static_cast<std::uint64_t>(b & 0x7f) << shift;
      if (b < 0x80) return v;
    }
    fail("varint too long");
  }
  std::int64_t zigzag() {
    std::uint64_t v = varint();
    return static_cast<std::int64_t>((v >> 1) ^ (~(v & 1) + 1));
  }
  std::uint64_t small_count() {
    std::uint64_t n = varint();
    if (n > s_.size()) fail("count " + std::to_string(n) + " is longer than the schema");
    return n;
  }
  void list(int depth, std::uint64_t n) {
    for (std::uint64_t i = 0; i < n; ++i) {
      if (i != 0) out_ += ", ";
      node(depth + 1);
    }
  }
  void wrapped(const char* name, int depth) {
    out_ += name;
    out_ += '<';
    node(depth + 1);
    out_ += '>';
  }

  void node(int depth) {
    if (depth > max_depth) fail("nested too deeply");
    using tag = schema_tag;
    auto t = static_cast<tag>(byte());
    switch (t) {
      case tag::boolean: out_ += "bool"; break;
      case tag::i8: out_ += "i8"; break;
      case tag::u8: out_ += "u8"; break;
      case tag::i16: out_ += "i16"; break;
      case tag::u16: out_ += "u16"; break;
      case tag::i32: out_ += "i32"; break;
      case tag::u32: out_ += "u32"; break;
      case tag::i64: out_ += "i64"; break;
      case tag::u64: out_ += "u64"; break;
      case tag::f32: out_ += "f32"; break;
      case tag::f64: out_ += "f64"; break;
      case tag::f80: out_ += "f80"; break;
      case tag::char8: out_ += "char"; break;
      case tag::utf8: out_ += "char8"; break;
      case tag::utf16: out_ += "char16"; break;
      case tag::utf32: out_ += "char32"; break;
      case tag::wide: out_ += "wchar"; break;
      case tag::byte: out_ += "byte"; break;
      case tag::unit: out_ += "unit"; break;
      case tag::path: out_ += "path"; break;
      case tag::bits: out_ += "vector<bool>"; break;
      case tag::string: {
        static constexpr const char* names[] = {"string", "u8string", "u16string", "u32string", "wstring"};
        auto c = static_cast<std::uint8_t>(byte());
        if (c < static_cast<std::uint8_t>(tag::char8) || c > static_cast<std::uint8_t>(tag::wide)) {
          --at_;
          fail("a string of non-character tag " + std::to_string(c));
        }
        out_ += names[c - static_cast<std::uint8_t>(tag::char8)];
        break;
      }
      case tag::sequence: wrapped("list", depth); break;
      case tag::set: wrapped("set", depth); break;
      case tag::multiset: wrapped("multiset", depth); break;
      case tag::optional: wrapped("optional", depth); break;
      case tag::unique: wrapped("unique_ptr", depth); break;
      case tag::shared: wrapped("shared_ptr", depth); break;
      case tag::enumeration: wrapped("enum", depth); break;
      case tag::complex: wrapped("complex", depth); break;
      case tag::map:
      case tag::multimap:
        out_ += t == tag::map ? "map<" : "multimap<";
        list(depth, 2);
        out_ += '>';
        break;
      case tag::array: {
        std::uint64_t n = varint();
        out_ += "array<";
        node(depth + 1);
        out_ += ", " + std::to_string(n) + ">";
        break;
      }
      case tag::tuple:
        out_ += '(';
        list(depth, small_count());
        out_ += ')';
        break;
      case tag::variant:
        out_ += "variant<";
        list(depth, small_count());
        out_ += '>';
        break;
      case tag::record: {
        std::uint64_t n = small_count();
        out_ += '{';
        for (std::uint64_t i = 0; i < n; ++i) {
          if (i != 0) out_ += ", ";
          std::uint64_t len = small_count();
          if (s_.size() - at_ < len) fail("truncated field name");
          out_.append(reinterpret_cast<const char*>(s_.data() + at_), len);
          at_ += len;
          out_ += ": ";
          node(depth + 1);
        }
        out_ += '}';
        break;
      }
      case tag::duration: {
        out_ += "duration<";
        node(depth + 1);
        std::int64_t num = zigzag();
        std::int64_t den = zigzag();
        out_ += ", " + std::to_string(num) + "/" + std::to_string(den) + ">";
        break;
      }
      case tag::time_point: {
        std::uint64_t clock = varint();
        out_ += clock == 1 ? "time_point<system_clock, " : clock == 2 ? "time_point<steady_clock, "
                                                                      : "time_point<clock " + std::to_string(clock) + ", ";
        node(depth + 1);
        out_ += '>';
        break;
      }
      case tag::bitset:
        out_ += "bitset<" + std::to_string(varint()) + ">";
        break;
      case tag::ref:
        out_ += "^" + std::to_string(varint());
        break;
      default:
        --at_;
        fail("unknown tag " + std::to_string(static_cast<int>(t)));
    }
  }

  std::span<const std::uint8_t> s_;
  std::size_t at_ = 0;
  std::string out_;
};

struct known_type {
  std::string name;
  std::string schema;
};

std::mutex registry_mutex;
std::unordered_map<std::uint64_t, known_type>& registry() {
  static std::unordered_map<std::uint64_t, known_type> r;
  return r;
}

std::string hex64(std::uint64_t v) {
  const char* digits = "0123456789abcdef";
  std::string s = "0x";
  for (int i = 60; i >= 0; i -= 4) s += digits[(v >> i) & 15];
  return s;
}

}  // namespace

std::string schema_text(std::span<const std::uint8_t> schema) { return schema_printer(schema).run(); }

namespace detail {

void note_type(std::uint64_t fp, std::string_view name, std::span<const std::uint8_t> schema) {
  std::string text = schema_text(schema);
  std::lock_guard lock(registry_mutex);
  registry().try_emplace(fp, known_type{std::string(name), std::move(text)});
}

void throw_type_mismatch(std::uint64_t expected, std::string_view expected_name,
                         std::span<const std::uint8_t> expected_schema, const frame_view& found) {
  std::string msg = "brine: type mismatch: expected " + std::string(expected_name) + " " +
                    schema_text(expected_schema) + " (fingerprint " + hex64(expected) +
                    "), found ";
  std::uint64_t fp = found.header.fingerprint;
  std::string found_text;
  if (!found.schema.empty()) {
    try {
      found_text = schema_text(found.schema);
    } catch (const decode_error&) {
      found_text = "(unreadable schema)";
    }
  }
  {
    std::lock_guard lock(registry_mutex);
    auto it = registry().find(fp);
    if (it != registry().end()) {
      msg += it->second.name + " ";
      if (found_text.empty()) found_text = it->second.schema;
    }
  }
  if (!found_text.empty()) msg += found_text + " ";
  msg += "(fingerprint " + hex64(fp) + ")";
  throw type_mismatch(msg);
}

}  // namespace detail
}  // namespace brine
