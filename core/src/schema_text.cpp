// Parses and renders schemas. Schema bytes may come from a file, so every read is checked.

#include <algorithm>
#include <cstdint>
#include <limits>
#include <map>
#include <mutex>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "brine/codec.hpp"
#include "brine/schema.hpp"
#include "brine/schema_tree.hpp"

namespace brine {
namespace {

constexpr std::uint64_t saturating_mul(std::uint64_t a, std::uint64_t b) {
  return b != 0 && a > std::numeric_limits<std::uint64_t>::max() / b
             ? std::numeric_limits<std::uint64_t>::max()
             : a * b;
}

constexpr std::uint64_t saturating_add(std::uint64_t a, std::uint64_t b) {
  return a > std::numeric_limits<std::uint64_t>::max() - b
             ? std::numeric_limits<std::uint64_t>::max()
             : a + b;
}

class schema_parser {
 public:
  schema_parser(std::span<const std::uint8_t> s, std::size_t base) : s_(s), base_(base) {}

  schema_node run() {
    schema_node root = node(0, 0);
    if (at_ != s_.size()) fail("trailing bytes after the schema");
    return root;
  }

 private:
  static constexpr int max_depth = 256;

  [[noreturn]] void fail(const std::string& what) const {
    throw decode_error("malformed schema: " + what, base_ + at_);
  }
  std::uint8_t byte() {
    if (at_ >= s_.size()) fail("truncated");
    return s_[at_++];
  }
  std::uint64_t varint() {
    std::uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      std::uint8_t b = byte();
      if (shift == 63 && b > 1) fail("varint overflows 64 bits");
      v |= static_cast<std::uint64_t>(b & 0x7f) << shift;
      if (b < 0x80) return v;
    }
    fail("varint too long");
  }
  std::int64_t zigzag() {
    std::uint64_t v = varint();
    return static_cast<std::int64_t>((v >> 1) ^ (~(v & 1) + 1));
  }
  // A count of nodes or names, each of which takes at least one schema byte.
  std::uint64_t small_count() {
    std::uint64_t n = varint();
    if (n > s_.size() - at_) fail("count " + std::to_string(n) + " is longer than the schema");
    return n;
  }
  void children(schema_node& n, int depth, int records, std::uint64_t count) {
    n.children.reserve(count);
    for (std::uint64_t i = 0; i < count; ++i)
      n.children.push_back(node(depth + 1, records));
  }

  // `records`: how many records enclose this node, which bounds a reference.
  schema_node node(int depth, int records) {
    if (depth > max_depth) fail("nested too deeply");
    using tag = schema_tag;
    schema_node n;
    std::size_t at = at_;
    n.tag = static_cast<tag>(byte());
    switch (n.tag) {
      case tag::boolean:
      case tag::i8:
      case tag::u8:
      case tag::char8:
      case tag::utf8:
      case tag::byte:
      case tag::unit:
        n.min_wire = 1;
        break;
      case tag::i16:
      case tag::u16:
      case tag::utf16:
        n.min_wire = 2;
        break;
      case tag::i32:
      case tag::u32:
      case tag::f32:
      case tag::utf32:
      case tag::wide:
        n.min_wire = 4;
        break;
      case tag::i64:
      case tag::u64:
      case tag::f64:
        n.min_wire = 8;
        break;
      case tag::f80:
        n.min_wire = 16;
        break;
      case tag::path:
      case tag::bits:
        break;
      case tag::string: {
        children(n, depth, records, 1);
        auto c = n.children[0].tag;
        if (c < tag::char8 || c > tag::wide) {
          at_ = at + 1;
          fail("a string of a non-character type");
        }
        break;
      }
      case tag::sequence:
      case tag::set:
      case tag::multiset:
      case tag::optional:
      case tag::unique:
      case tag::shared:
        children(n, depth, records, 1);
        break;
      case tag::enumeration:
        children(n, depth, records, 1);
        if (n.children[0].tag < tag::i8 || n.children[0].tag > tag::u64) {
          at_ = at + 1;
          fail("an enum of a non-integer type");
        }
        n.min_wire = n.children[0].min_wire;
        break;
      case tag::complex:
        children(n, depth, records, 1);
        if (n.children[0].tag != tag::f32 && n.children[0].tag != tag::f64 &&
            n.children[0].tag != tag::f80) {
          at_ = at + 1;
          fail("a complex of a non-floating-point type");
        }
        n.min_wire = 2 * n.children[0].min_wire;
        break;
      case tag::map:
      case tag::multimap:
        children(n, depth, records, 2);
        break;
      case tag::array:
        n.extent = varint();
        children(n, depth, records, 1);
        n.min_wire = n.extent == 0 ? 1 : saturating_mul(n.extent, n.children[0].min_wire);
        break;
      case tag::tuple:
      case tag::variant:
        children(n, depth, records, small_count());
        if (n.tag == tag::tuple) {
          std::uint64_t sum = 0;
          for (auto& c : n.children)
            sum = saturating_add(sum, c.min_wire);
          n.min_wire = std::max<std::uint64_t>(1, sum);
        } else if (n.children.empty()) {
          fail("a variant with no alternatives");
        }
        break;
      case tag::record:
      case tag::evolvable: {
        bool referred = false;
        records_.push_back(&referred);
        std::uint64_t count = small_count();
        std::uint64_t sum = 0;
        for (std::uint64_t i = 0; i < count; ++i) {
          std::uint64_t len = small_count();
          n.names.emplace_back(reinterpret_cast<const char*>(s_.data() + at_), len);
          at_ += len;
          n.children.push_back(node(depth + 1, records + 1));
          sum = saturating_add(sum, n.children.back().min_wire);
        }
        n.min_wire = n.tag == tag::evolvable ? 5 : std::max<std::uint64_t>(1, sum);
        records_.pop_back();
        n.recursive = referred;
        break;
      }
      case tag::duration:
        children(n, depth, records, 1);
        if (n.children[0].tag < tag::i8 || n.children[0].tag > tag::f80) {
          at_ = at + 1;
          fail("a duration of a non-number type");
        }
        n.num = zigzag();
        n.den = zigzag();
        n.min_wire = n.children[0].min_wire;
        break;
      case tag::time_point:
        n.extent = varint();
        children(n, depth, records, 1);
        if (n.children[0].tag != tag::duration) {
          at_ = at + 1;
          fail("a time point of a non-duration type");
        }
        n.min_wire = n.children[0].min_wire;
        break;
      case tag::bitset:
        n.extent = varint();
        n.min_wire = n.extent == 0 ? 1 : n.extent / 8 + (n.extent % 8 != 0);
        break;
      case tag::ref:
        n.extent = varint();
        if (n.extent >= static_cast<std::uint64_t>(records)) {
          at_ = at;
          fail("a reference " + std::to_string(n.extent) + " levels out, with only " +
               std::to_string(records) + " records around it");
        }
        *records_[records_.size() - 1 - static_cast<std::size_t>(n.extent)] = true;
        break;
      default:
        at_ = at;
        fail("unknown tag " + std::to_string(static_cast<int>(n.tag)));
    }
    return n;
  }

  std::span<const std::uint8_t> s_;
  std::size_t base_;
  std::size_t at_ = 0;
  // One flag per record being parsed, innermost last: set when a reference points at it.
  std::vector<bool*> records_;
};

void render(const schema_node& n, std::string& out) {
  using tag = schema_tag;
  auto wrapped = [&](const char* name) {
    out += name;
    out += '<';
    render(n.children[0], out);
    out += '>';
  };
  auto list = [&](const char* open, const char* close) {
    out += open;
    for (std::size_t i = 0; i < n.children.size(); ++i) {
      if (i != 0) out += ", ";
      render(n.children[i], out);
    }
    out += close;
  };
  switch (n.tag) {
    case tag::boolean:
      out += "bool";
      break;
    case tag::i8:
      out += "i8";
      break;
    case tag::u8:
      out += "u8";
      break;
    case tag::i16:
      out += "i16";
      break;
    case tag::u16:
      out += "u16";
      break;
    case tag::i32:
      out += "i32";
      break;
    case tag::u32:
      out += "u32";
      break;
    case tag::i64:
      out += "i64";
      break;
    case tag::u64:
      out += "u64";
      break;
    case tag::f32:
      out += "f32";
      break;
    case tag::f64:
      out += "f64";
      break;
    case tag::f80:
      out += "f80";
      break;
    case tag::char8:
      out += "char";
      break;
    case tag::utf8:
      out += "char8";
      break;
    case tag::utf16:
      out += "char16";
      break;
    case tag::utf32:
      out += "char32";
      break;
    case tag::wide:
      out += "wchar";
      break;
    case tag::byte:
      out += "byte";
      break;
    case tag::unit:
      out += "unit";
      break;
    case tag::path:
      out += "path";
      break;
    case tag::bits:
      out += "vector<bool>";
      break;
    case tag::string: {
      static constexpr const char* names[] = {"string", "u8string", "u16string", "u32string",
                                              "wstring"};
      out += names[static_cast<int>(n.children[0].tag) - static_cast<int>(tag::char8)];
      break;
    }
    case tag::sequence:
      wrapped("list");
      break;
    case tag::set:
      wrapped("set");
      break;
    case tag::multiset:
      wrapped("multiset");
      break;
    case tag::optional:
      wrapped("optional");
      break;
    case tag::unique:
      wrapped("unique_ptr");
      break;
    case tag::shared:
      wrapped("shared_ptr");
      break;
    case tag::enumeration:
      wrapped("enum");
      break;
    case tag::complex:
      wrapped("complex");
      break;
    case tag::map:
      list("map<", ">");
      break;
    case tag::multimap:
      list("multimap<", ">");
      break;
    case tag::tuple:
      list("(", ")");
      break;
    case tag::variant:
      list("variant<", ">");
      break;
    case tag::array:
      out += "array<";
      render(n.children[0], out);
      out += ", " + std::to_string(n.extent) + ">";
      break;
    case tag::record:
    case tag::evolvable:
      if (n.tag == tag::evolvable) out += "evolvable";
      out += '{';
      for (std::size_t i = 0; i < n.children.size(); ++i) {
        if (i != 0) out += ", ";
        out += n.names[i];
        out += ": ";
        render(n.children[i], out);
      }
      out += '}';
      break;
    case tag::duration:
      out += "duration<";
      render(n.children[0], out);
      out += ", " + std::to_string(n.num) + "/" + std::to_string(n.den) + ">";
      break;
    case tag::time_point:
      out += n.extent == 1   ? "time_point<system_clock, "
             : n.extent == 2 ? "time_point<steady_clock, "
                             : "time_point<clock " + std::to_string(n.extent) + ", ";
      render(n.children[0], out);
      out += '>';
      break;
    case tag::bitset:
      out += "bitset<" + std::to_string(n.extent) + ">";
      break;
    case tag::ref:
      out += '^';
      out += std::to_string(n.extent);  // two appends: GCC 12 -O3 warns (-Wrestrict) on "^" + s
      break;
  }
}

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
  for (int i = 60; i >= 0; i -= 4)
    s += digits[(v >> i) & 15];
  return s;
}

bool same_shape(const schema_node& a, const schema_node& b) {
  if (a.tag != b.tag || a.extent != b.extent || a.num != b.num || a.den != b.den) return false;
  std::size_t n = a.children.size();
  if (a.tag == schema_tag::evolvable) {
    n = std::min(n, b.children.size());
  } else if (n != b.children.size()) {
    return false;
  }
  for (std::size_t i = 0; i < n; ++i) {
    if (!a.names.empty() && a.names[i] != b.names[i]) return false;
    if (!same_shape(a.children[i], b.children[i])) return false;
  }
  return true;
}

std::mutex compat_mutex;
std::map<std::pair<std::uint64_t, std::uint64_t>, bool>& compat_cache() {
  static std::map<std::pair<std::uint64_t, std::uint64_t>, bool> c;
  return c;
}

}  // namespace

schema_node parse_schema(std::span<const std::uint8_t> bytes, std::size_t offset) {
  return schema_parser(bytes, offset).run();
}

std::string to_text(const schema_node& node) {
  std::string out;
  render(node, out);
  return out;
}

std::string schema_text(std::span<const std::uint8_t> schema) {
  return to_text(parse_schema(schema));
}

namespace detail {

bool compatible(std::uint64_t found_fingerprint, std::span<const std::uint8_t> found,
                std::uint64_t expected_fingerprint, std::span<const std::uint8_t> expected) {
  auto key = std::make_pair(found_fingerprint, expected_fingerprint);
  {
    std::lock_guard lock(compat_mutex);
    auto it = compat_cache().find(key);
    if (it != compat_cache().end()) return it->second;
  }
  bool ok = same_shape(parse_schema(found), parse_schema(expected));
  std::lock_guard lock(compat_mutex);
  if (compat_cache().size() < 4096)
    compat_cache().emplace(key, ok);  // bounded: keys come from peers
  return ok;
}

std::string readable_type_name(std::string_view name) {
  static constexpr std::pair<std::string_view, std::string_view> spellings[] = {
      {"std::__cxx11::", "std::"},
      {"> >", ">>"},  // first: "basic_string<char> >" is then found below
      {"std::basic_string<char, std::char_traits<char>, std::allocator<char>>", "std::string"},
      {"std::basic_string<char>", "std::string"},
      {"std::basic_string_view<char>", "std::string_view"},
      {"long long unsigned int", "unsigned long long"},
      {"long unsigned int", "unsigned long"},
      {"short unsigned int", "unsigned short"},
      {"long long int", "long long"},
      {"long int", "long"},
      {"short int", "short"},
  };
  std::string out(name);
  for (auto [from, to] : spellings)
    for (auto at = out.find(from); at != std::string::npos; at = out.find(from, at))
      out.replace(at, from.size(), to);
  return out;
}

void note_type(std::uint64_t fp, std::string_view name, std::span<const std::uint8_t> schema) {
  std::string text = schema_text(schema);
  std::lock_guard lock(registry_mutex);
  registry().try_emplace(fp, known_type{readable_type_name(name), std::move(text)});
}

void throw_type_mismatch(std::uint64_t expected, std::string_view expected_name,
                         std::span<const std::uint8_t> expected_schema, const frame_view& found) {
  std::string msg = "brine: type mismatch: expected " + readable_type_name(expected_name) + " " +
                    schema_text(expected_schema) + " (fingerprint " + hex64(expected) + "), found ";
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
