// The schema-directed JSON encoder: walks a schema tree and a JSON tree together and writes the
// body as the typed encoder (core/include/brine/detail/encode.hpp) would.

#include "json_encode.hpp"

#include <pthread.h>

#include <brine/error.hpp>
#include <brine/frame.hpp>
#include <brine/limits.hpp>
#include <brine/schema.hpp>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <utility>

namespace brine_call {
namespace {

using brine::schema_node;
using tag = brine::schema_tag;
using jtype = json_value::type;

// Where a value sits in the document, rendered only for a message.
struct path {
  enum class step : std::uint8_t { root, field, index, key };
  const path* parent = nullptr;
  step s = step::root;
  std::string_view name;  // root, field or key
  std::size_t index = 0;

  path field(std::string_view n) const { return {this, step::field, n, 0}; }
  path at(std::size_t i) const { return {this, step::index, {}, i}; }
  path key(std::string_view k) const { return {this, step::key, k, 0}; }
  path member(std::string_view n) const { return identifier(n) ? field(n) : key(n); }

  static bool identifier(std::string_view n) {
    if (n.empty() || (n[0] >= '0' && n[0] <= '9')) return false;
    for (char c : n) {
      bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                c == '_' || c == '$';
      if (!ok) return false;
    }
    return true;
  }

  std::string text() const {
    std::vector<const path*> chain;
    for (const path* p = this; p != nullptr; p = p->parent)
      chain.push_back(p);
    std::string out;
    for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
      const path& p = **it;
      switch (p.s) {
        case step::root:
          out += p.name;
          break;
        case step::field:
          out += '.';
          out += p.name;
          break;
        case step::index:
          out += '[' + std::to_string(p.index) + ']';
          break;
        case step::key: {
          std::string k = json_string(p.name);
          if (k.size() > 40) k = k.substr(0, 36) + "...\"";
          out += '[' + k + ']';
          break;
        }
      }
    }
    return out;
  }
};

[[noreturn]] void fail(const path& p, const std::string& what) {
  throw input_error(p.text() + ": " + what);
}

[[noreturn]] void expected(const path& p, const std::string& what, const json_value& got) {
  fail(p, "expected " + what + ", got " + describe(got));
}

const char* plural(std::size_t n) { return n == 1 ? "" : "s"; }

// Code points of UTF-8 text; a malformed sequence reads as U+FFFD (nlohmann has checked the
// text, so none occurs in practice).
std::vector<char32_t> code_points(std::string_view s) {
  std::vector<char32_t> out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size();) {
    auto c = static_cast<unsigned char>(s[i]);
    std::size_t len = c < 0x80 ? 1 : c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 0;
    if (len == 0 || i + len > s.size()) {
      out.push_back(0xfffd);
      ++i;
      continue;
    }
    char32_t cp = len == 1 ? c : c & (0x7f >> len);
    for (std::size_t k = 1; k < len; ++k)
      cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3f);
    out.push_back(cp);
    i += len;
  }
  return out;
}

struct int_range {
  std::size_t width;
  bool is_signed;
};

std::optional<int_range> integer_node(tag t) {
  switch (t) {
    case tag::i8:
      return int_range{1, true};
    case tag::u8:
    case tag::byte:
      return int_range{1, false};
    case tag::i16:
      return int_range{2, true};
    case tag::u16:
      return int_range{2, false};
    case tag::i32:
      return int_range{4, true};
    case tag::u32:
      return int_range{4, false};
    case tag::i64:
      return int_range{8, true};
    case tag::u64:
      return int_range{8, false};
    default:
      return std::nullopt;
  }
}

std::size_t char_width(tag t) {
  return t == tag::utf16 ? 2 : (t == tag::utf32 || t == tag::wide) ? 4 : 1;
}

// True for the text of an integer ("-12"), as opposed to one with a fraction or exponent.
bool integer_text(const std::string& s) {
  std::size_t i = !s.empty() && s[0] == '-' ? 1 : 0;
  if (i == s.size()) return false;
  for (; i < s.size(); ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
  }
  return true;
}

bool same_schema(const schema_node& a, const schema_node& b) {
  if (&a == &b) return true;
  if (a.tag != b.tag || a.extent != b.extent || a.num != b.num || a.den != b.den ||
      a.names != b.names || a.children.size() != b.children.size())
    return false;
  for (std::size_t i = 0; i < a.children.size(); ++i) {
    if (!same_schema(a.children[i], b.children[i])) return false;
  }
  return true;
}

class encoder {
 public:
  std::vector<std::byte> out;

  void value(const schema_node& n, const json_value& v, const path& p) {
    if (++nesting_ > max_nesting) {
      fail(p, "values nest deeper than " + std::to_string(max_nesting) + " levels");
    }
    dispatch(n, v, p);
    --nesting_;
  }

 private:
  // As deep as brine::inspect prints values (the dynamic decoder's limit).
  static constexpr int max_nesting = 4096;

  void byte(std::uint8_t b) { out.push_back(static_cast<std::byte>(b)); }
  void raw(const void* p, std::size_t n) {
    auto* b = static_cast<const std::byte*>(p);
    out.insert(out.end(), b, b + n);
  }
  void fixed(std::uint64_t v, std::size_t width) { raw(&v, width); }  // little-endian host
  void varint(std::uint64_t v) {
    while (v >= 0x80) {
      byte(static_cast<std::uint8_t>(v | 0x80));
      v >>= 7;
    }
    byte(static_cast<std::uint8_t>(v));
  }

  void dispatch(const schema_node& n, const json_value& v, const path& p) {
    switch (n.tag) {
      case tag::unit:
        if (v.t != jtype::null) expected(p, "null", v);
        byte(0);
        return;
      case tag::boolean:
        if (v.t != jtype::boolean) expected(p, "true or false", v);
        byte(v.b ? 1 : 0);
        return;
      case tag::string:
      case tag::path:
        if (v.t != jtype::string) expected(p, "a string", v);
        text(n.tag == tag::path ? tag::char8 : n.children[0].tag, v.text);
        return;
      case tag::bits:
      case tag::bitset:
        bits(n, v, p);
        return;
      case tag::sequence:
      case tag::set:
      case tag::multiset:
        list(n, v, p);
        return;
      case tag::map:
      case tag::multimap:
        map(n, v, p);
        return;
      case tag::array:
      case tag::tuple:
      case tag::complex:
        fixed_list(n, v, p);
        return;
      case tag::record:
      case tag::evolvable:
        record(n, v, p);
        return;
      case tag::ref:
        reference(n, v, p);
        return;
      case tag::optional:
        if (v.t == jtype::null) {
          byte(0);
        } else {
          byte(1);
          value(n.children[0], v, p);
        }
        return;
      case tag::variant:
        variant(n, v, p);
        return;
      case tag::unique:
        if (v.t == jtype::null) {
          byte(0);
          return;
        }
        if (derived_form(v)) unsupported_derived(p);
        byte(1);
        value(n.children[0], v, p);
        return;
      case tag::shared:
        shared(n, v, p);
        return;
      case tag::enumeration:
      case tag::duration:
        number(n.children[0], v, p);
        return;
      case tag::time_point:
        number(n.children[0].children[0], v, p);
        return;
      default:
        number(n, v, p);
        return;
    }
  }

  void number(const schema_node& n, const json_value& v, const path& p) {
    if (auto r = integer_node(n.tag)) return integer(*r, v, p);
    switch (n.tag) {
      case tag::f32:
        return floating<float>(v, p, "f32");
      case tag::f64:
        return floating<double>(v, p, "f64");
      case tag::f80:
        floating<long double>(v, p, "f80");
        out.resize(out.size() + 6);  // the x87 format's 10 bytes, then 6 zero bytes
        return;
      case tag::char8:
      case tag::utf8:
      case tag::utf16:
      case tag::utf32:
      case tag::wide:
        return character(char_width(n.tag), v, p);
      default:
        fail(p, "the schema has a node brine-call cannot encode (tag " +
                    std::to_string(static_cast<int>(n.tag)) + ")");
    }
  }

  void integer(int_range r, const json_value& v, const path& p) {
    unsigned bits = static_cast<unsigned>(8 * r.width);
    std::uint64_t hi = r.is_signed  ? (std::uint64_t{1} << (bits - 1)) - 1
                       : bits == 64 ? ~std::uint64_t{0}
                                    : (std::uint64_t{1} << bits) - 1;
    std::int64_t lo = r.is_signed ? -static_cast<std::int64_t>(hi) - 1 : 0;
    auto out_of_range = [&] {
      fail(p, "expected an integer from " + std::to_string(lo) + " to " + std::to_string(hi) +
                  ", got " + describe(v));
    };
    if (v.t == jtype::unsigned_integer) {
      if (v.u > hi) out_of_range();
      fixed(v.u, r.width);
    } else if (v.t == jtype::integer) {
      if (v.i < lo) out_of_range();
      fixed(static_cast<std::uint64_t>(v.i), r.width);
    } else if (v.t == jtype::floating && integer_text(v.text)) {
      out_of_range();  // too large for 64 bits
    } else {
      expected(p, "an integer", v);
    }
  }

  template <class F>
  void floating(const json_value& v, const path& p, const char* name) {
    F x{};
    if (v.t == jtype::string) {
      const std::string& s = v.text;
      if (s == "nan" || s == "NaN") {
        x = std::numeric_limits<F>::quiet_NaN();
      } else if (s == "inf" || s == "Infinity") {
        x = std::numeric_limits<F>::infinity();
      } else if (s == "-inf" || s == "-Infinity") {
        x = -std::numeric_limits<F>::infinity();
      } else {
        expected(p, "a number (or \"nan\", \"inf\", \"-inf\")", v);
      }
    } else if (v.is_number()) {
      // The number's own text, read at the node's precision: what inspect printed reads back
      // as the same value, and -0 keeps its sign.
      char* end = nullptr;
      const char* s = v.text.c_str();
      if constexpr (std::is_same_v<F, float>) {
        x = std::strtof(s, &end);
      } else if constexpr (std::is_same_v<F, double>) {
        x = std::strtod(s, &end);
      } else {
        x = std::strtold(s, &end);
      }
      if (end != s + v.text.size()) expected(p, "a number", v);
      if (std::isinf(x))
        fail(p, std::string("the number ") + describe(v) + " is too large for " + name);
    } else {
      expected(p, "a number", v);
    }
    raw(&x, std::is_same_v<F, long double> ? 10 : sizeof(F));
  }

  void character(std::size_t width, const json_value& v, const path& p) {
    std::uint64_t max = width == 1 ? 0xff : width == 2 ? 0xffff : 0xffffffff;
    std::uint64_t c = 0;
    const char* what = "a one-character string or \"U+XXXX\"";
    if (v.t == jtype::string) {
      std::vector<char32_t> cps = code_points(v.text);
      const std::string& s = v.text;
      if (cps.size() == 1) {
        c = cps[0];
        if (width == 1 && c >= 0x80) {
          fail(p,
               "expected a character below U+0080 for a one-byte character (write others as "
               "\"U+00XX\"), got " +
                   describe(v));
        }
      } else if (s.size() >= 3 && s.size() <= 10 && s[0] == 'U' && s[1] == '+' &&
                 s.find_first_not_of("0123456789abcdefABCDEF", 2) == std::string::npos) {
        c = std::strtoull(s.c_str() + 2, nullptr, 16);
      } else {
        expected(p, what, v);
      }
    } else if (v.t == jtype::unsigned_integer) {
      c = v.u;
    } else {
      expected(p, what, v);
    }
    if (c > max)
      fail(p, "the character " + describe(v) + " does not fit " + std::to_string(width) + " byte" +
                  plural(width));
    fixed(c, width);
  }

  // A string of `char_tag` characters from UTF-8 text.
  void text(tag char_tag, std::string_view s) {
    std::size_t width = char_width(char_tag);
    if (width == 1) {
      varint(s.size());
      raw(s.data(), s.size());
      return;
    }
    std::vector<char32_t> cps = code_points(s);
    if (width == 4) {
      varint(cps.size());
      for (char32_t c : cps)
        fixed(c, 4);
      return;
    }
    std::size_t units = 0;
    for (char32_t c : cps)
      units += c > 0xffff ? 2 : 1;
    varint(units);
    for (char32_t c : cps) {
      if (c > 0xffff) {
        fixed(0xd800 + ((c - 0x10000) >> 10), 2);
        fixed(0xdc00 + ((c - 0x10000) & 0x3ff), 2);
      } else {
        fixed(c, 2);
      }
    }
  }

  // vector<bool> and bitset: a string of '0' and '1', bit 0 first (as inspect prints them), or
  // an array of true/false.
  void bits(const schema_node& n, const json_value& v, const path& p) {
    const char* what = "a string of 0s and 1s or an array of true/false";
    if (v.t != jtype::string && v.t != jtype::array) expected(p, what, v);
    std::size_t count = v.t == jtype::string ? v.text.size() : v.items.size();
    if (n.tag == tag::bitset && count != n.extent) {
      fail(p, "expected " + std::to_string(n.extent) + " bit" + plural(n.extent) + ", got " +
                  std::to_string(count));
    }
    if (n.tag == tag::bitset && count == 0) return byte(0);
    if (n.tag == tag::bits) varint(count);
    std::uint8_t acc = 0;
    for (std::size_t i = 0; i < count; ++i) {
      bool bit = false;
      if (v.t == jtype::string) {
        char c = v.text[i];
        if (c != '0' && c != '1') expected(p, what, v);
        bit = c == '1';
      } else {
        if (v.items[i].t != jtype::boolean) expected(p.at(i), "true or false", v.items[i]);
        bit = v.items[i].b;
      }
      acc |= static_cast<std::uint8_t>(bit ? 1 : 0) << (i % 8);
      if (i % 8 == 7) byte(std::exchange(acc, 0));
    }
    if (count % 8 != 0) byte(acc);
  }

  // Keys of a set or map must differ; the decoder compares them by their encodings too.
  struct span_of {
    std::size_t begin, end;
  };
  // `where(i)` is the path of key i (made when needed: a path points to its parent, which must
  // still be alive).
  template <class Where>
  void unique(const std::vector<span_of>& keys, Where where, const char* what) {
    std::set<std::string_view> seen;
    const char* base = reinterpret_cast<const char*>(out.data());
    for (std::size_t i = 0; i < keys.size(); ++i) {
      if (!seen.insert({base + keys[i].begin, keys[i].end - keys[i].begin}).second) {
        where(i, std::string("duplicate ") + what);
      }
    }
  }

  void list(const schema_node& n, const json_value& v, const path& p) {
    if (v.t != jtype::array) expected(p, "an array", v);
    varint(v.items.size());
    std::vector<span_of> keys;
    for (std::size_t i = 0; i < v.items.size(); ++i) {
      path here = p.at(i);
      std::size_t begin = out.size();
      value(n.children[0], v.items[i], here);
      if (n.tag == tag::set) {
        keys.push_back({begin, out.size()});
      }
    }
    if (n.tag == tag::set)
      unique(
          keys, [&](std::size_t i, const std::string& message) { fail(p.at(i), message); },
          "element");
  }

  void map(const schema_node& n, const json_value& v, const path& p) {
    const schema_node& k = n.children[0];
    const schema_node& m = n.children[1];
    std::vector<span_of> keys;
    // Maps with string keys are JSON objects; others arrays of [key, value] pairs.
    if (v.t == jtype::object && k.tag == tag::string) {
      varint(v.items.size());
      for (std::size_t i = 0; i < v.items.size(); ++i) {
        path here = p.key(v.keys[i]);
        std::size_t begin = out.size();
        text(k.children[0].tag, v.keys[i]);
        keys.push_back({begin, out.size()});
        value(m, v.items[i], here);
      }
    } else if (v.t == jtype::array) {
      varint(v.items.size());
      for (std::size_t i = 0; i < v.items.size(); ++i) {
        path here = p.at(i);
        const json_value& e = v.items[i];
        if (e.t != jtype::array || e.items.size() != 2) expected(here, "a [key, value] pair", e);
        path key_path = here.at(0);
        std::size_t begin = out.size();
        value(k, e.items[0], key_path);
        keys.push_back({begin, out.size()});
        value(m, e.items[1], here.at(1));
      }
    } else {
      expected(p,
               k.tag == tag::string ? "an object or an array of [key, value] pairs"
                                    : "an array of [key, value] pairs",
               v);
    }
    if (n.tag != tag::map) return;
    unique(
        keys,
        [&](std::size_t i, const std::string& message) {
          if (v.t == jtype::object) fail(p.key(v.keys[i]), message);
          path pair = p.at(i);
          fail(pair.at(0), message);
        },
        "key");
  }

  // Arrays, tuples and complex numbers: JSON arrays of a fixed length.
  void fixed_list(const schema_node& n, const json_value& v, const path& p) {
    std::size_t want = n.tag == tag::array     ? static_cast<std::size_t>(n.extent)
                       : n.tag == tag::complex ? 2
                                               : n.children.size();
    if (v.t != jtype::array) {
      expected(p, "an array of " + std::to_string(want) + " element" + plural(want), v);
    }
    if (v.items.size() != want) {
      fail(p, "expected an array of " + std::to_string(want) + " element" + plural(want) +
                  ", got " + std::to_string(v.items.size()) + ": " + describe(v));
    }
    if (want == 0) return byte(0);  // every value takes at least one byte
    for (std::size_t i = 0; i < want; ++i) {
      const schema_node& e = n.tag == tag::tuple ? n.children[i] : n.children[0];
      value(e, v.items[i], p.at(i));
    }
  }

  // Records lexically around the current node, innermost first: a reference counts out along
  // this chain (as the dynamic decoder does).
  struct context {
    const schema_node* record;
    const context* parent;
  };

  void record(const schema_node& n, const json_value& v, const path& p) {
    if (v.t != jtype::object) expected(p, "an object", v);
    // Which member gives each field: the first unused one of its name.
    std::vector<std::size_t> member(n.children.size());
    std::vector<bool> used(v.items.size(), false);
    for (std::size_t f = 0; f < n.children.size(); ++f) {
      std::size_t k = 0;
      while (k < v.keys.size() && (used[k] || v.keys[k] != n.names[f]))
        ++k;
      if (k == v.keys.size()) fail(p, "missing field " + json_string(n.names[f]));
      used[k] = true;
      member[f] = k;
    }
    for (std::size_t k = 0; k < used.size(); ++k) {
      if (used[k]) continue;
      std::string fields;
      for (const auto& name : n.names)
        fields += (fields.empty() ? "" : ", ") + name;
      fail(p, "unknown field " + json_string(v.keys[k]) +
                  (fields.empty() ? " (the record has no fields)" : " (fields: " + fields + ")"));
    }
    // Only records that can contain themselves count toward max_depth, as in the encoder.
    if (n.recursive && ++depth_ > brine::limits{}.max_depth) {
      fail(p, "recursive records nest deeper than " + std::to_string(brine::limits{}.max_depth) +
                  " levels (brine::limits::max_depth)");
    }
    context here{&n, ctx_};
    const context* saved = std::exchange(ctx_, &here);
    std::size_t length_at = 0;
    if (n.tag == tag::evolvable) {
      varint(n.children.size());
      length_at = out.size();
      out.resize(out.size() + 4);
    } else if (n.children.empty()) {
      byte(0);
    }
    for (std::size_t f = 0; f < n.children.size(); ++f) {
      value(n.children[f], v.items[member[f]], p.member(n.names[f]));
    }
    if (n.tag == tag::evolvable) {
      std::size_t length = out.size() - length_at - 4;
      if (length > 0xffffffffU) fail(p, "an evolvable record's fields take more than 4 GiB");
      auto n32 = static_cast<std::uint32_t>(length);
      std::memcpy(out.data() + length_at, &n32, 4);
    }
    ctx_ = saved;
    if (n.recursive) --depth_;
  }

  // The record a reference node stands for (parse_schema checked that it exists).
  const context* target_of(const schema_node& ref) const {
    const context* target = ctx_;
    for (std::uint64_t k = 0; k < ref.extent; ++k)
      target = target->parent;
    return target;
  }

  void reference(const schema_node& n, const json_value& v, const path& p) {
    const context* target = target_of(n);
    const context* saved = std::exchange(ctx_, target->parent);
    value(*target->record, v, p);
    ctx_ = saved;
  }

  void variant(const schema_node& n, const json_value& v, const path& p) {
    const char* what = "an object {\"index\": n, \"value\": ...}";
    if (v.t != jtype::object || v.keys.size() != 2) expected(p, what, v);
    const json_value* index = v.find("index");
    const json_value* alt = v.find("value");
    if (index == nullptr || alt == nullptr) expected(p, what, v);
    if (index->t != jtype::unsigned_integer || index->u >= n.children.size()) {
      expected(p.field("index"),
               "an alternative index from 0 to " + std::to_string(n.children.size() - 1), *index);
    }
    varint(index->u);
    value(n.children[static_cast<std::size_t>(index->u)], *alt, p.field("value"));
  }

  // {"$type": name, "value": ...}: an object of a registered derived type, which inspect prints
  // from files (whose type table gives its schema); a method's schema never describes one.
  static bool derived_form(const json_value& v) {
    return v.t == jtype::object && v.find("$type") != nullptr && v.find("value") != nullptr &&
           (v.keys.size() == 2 || (v.keys.size() == 3 && v.find("$id") != nullptr));
  }

  [[noreturn]] static void unsupported_derived(const path& p) {
    fail(p, "objects of registered derived types ({\"$type\": ...}) cannot be given to brine-call");
  }

  struct shared_object {
    std::size_t position;  // of its tag in the body
    const schema_node* schema;
  };

  // null; {"$id": n, "value": v} (a new object that later {"$ref": n} point to); {"$ref": n};
  // or a plain value (a new object).
  void shared(const schema_node& n, const json_value& v, const path& p) {
    const schema_node& pointee = n.children[0];
    const schema_node* resolved = pointee.tag == tag::ref ? target_of(pointee)->record : &pointee;
    if (v.t == jtype::null) return varint(0);
    if (derived_form(v)) unsupported_derived(p);
    if (v.t == jtype::object && v.keys.size() == 1 && v.keys[0] == "$ref") {
      const json_value& id = v.items[0];
      if (id.t != jtype::unsigned_integer) expected(p.field("$ref"), "an object id", id);
      auto it = objects_.find(id.u);
      if (it == objects_.end())
        fail(p, "{\"$ref\": " + id.text + "} refers to no object before it");
      if (!same_schema(*it->second.schema, *resolved)) {
        fail(p, "{\"$ref\": " + id.text + "} refers to an object of another type");
      }
      return varint(it->second.position + 3);  // tags 0 to 2 are null, new and derived
    }
    std::size_t position = out.size();
    varint(1);
    if (v.t == jtype::object && v.keys.size() == 2 && v.find("$id") != nullptr &&
        v.find("value") != nullptr) {
      const json_value& id = *v.find("$id");
      if (id.t != jtype::unsigned_integer) expected(p.field("$id"), "an object id", id);
      // Known before its value is read, so that the value may refer to it (a cycle).
      if (!objects_.try_emplace(id.u, shared_object{position, resolved}).second) {
        fail(p, "a second object with \"$id\": " + id.text);
      }
      return value(pointee, *v.find("value"), p.field("value"));
    }
    value(pointee, v, p);
  }

  int nesting_ = 0;
  std::size_t depth_ = 0;
  const context* ctx_ = nullptr;
  std::map<std::uint64_t, shared_object> objects_;
};

// Encoding recurses once per nested value; like brine::decode_dynamic it runs on a thread with
// a large stack (reserved, not committed), so the deepest legal value fits even under ASan.
struct encode_job {
  const schema_node* schema;
  const json_value* value;
  std::string_view root;
  std::vector<std::byte> result;
  std::exception_ptr error;
};

void* run_encode(void* p) {
  auto* job = static_cast<encode_job*>(p);
  try {
    encoder e;
    path root{nullptr, path::step::root, job->root, 0};
    e.value(*job->schema, *job->value, root);
    job->result = std::move(e.out);
  } catch (...) {
    job->error = std::current_exception();
  }
  return nullptr;
}

}  // namespace

std::vector<std::byte> encode_body(const schema_node& schema, const json_value& value,
                                   std::string_view root) {
  encode_job job{&schema, &value, root, {}, nullptr};
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, std::size_t{256} << 20);
  pthread_t thread;
  int rc = pthread_create(&thread, &attr, &run_encode, &job);
  pthread_attr_destroy(&attr);
  if (rc != 0) {
    run_encode(&job);  // no thread to be had: encode here
  } else {
    pthread_join(thread, nullptr);
  }
  if (job.error) std::rethrow_exception(job.error);
  return std::move(job.result);
}

bool has_evolvable(const schema_node& schema) noexcept {
  if (schema.tag == tag::evolvable) return true;
  for (const auto& c : schema.children) {
    if (has_evolvable(c)) return true;
  }
  return false;
}

namespace {

std::vector<std::byte> frame_of(std::span<const std::uint8_t> schema, bool with_schema,
                                std::span<const std::byte> body) {
  std::size_t prefix = brine::frame_header_size + (with_schema ? 4 + schema.size() : 0);
  std::vector<std::byte> out(prefix + body.size());
  brine::frame_header h;
  h.fingerprint = brine::fingerprint_of(schema);
  h.body_size = body.size();
  h.flags = with_schema ? brine::frame_has_schema : 0;
  brine::write_frame_header(out.data(), h);
  if (with_schema) {
    auto n = static_cast<std::uint32_t>(schema.size());
    std::memcpy(out.data() + brine::frame_header_size, &n, 4);
    std::memcpy(out.data() + brine::frame_header_size + 4, schema.data(), schema.size());
  }
  if (!body.empty()) std::memcpy(out.data() + prefix, body.data(), body.size());
  return out;
}

}  // namespace

std::vector<std::byte> encode_frame(std::span<const std::uint8_t> schema, const json_value& value,
                                    std::string_view root) {
  schema_node tree = brine::parse_schema(schema);
  std::vector<std::byte> body = encode_body(tree, value, root);
  return frame_of(schema, has_evolvable(tree), body);
}

std::vector<std::byte> described_frame(std::span<const std::uint8_t> schema,
                                       std::span<const std::byte> body) {
  return frame_of(schema, true, body);
}

std::string inspect_value(std::string_view doc) {
  // {"fingerprint":"0x...","schema":"...","value":VALUE}\n
  auto bad = [] { return input_error("not a document printed by brine::inspect"); };
  constexpr std::string_view schema_key = "\",\"schema\":\"";
  std::size_t at = doc.find(schema_key);
  if (doc.substr(0, 16) != "{\"fingerprint\":\"" || at == std::string_view::npos) throw bad();
  at += schema_key.size();
  while (at < doc.size() && doc[at] != '"')
    at += doc[at] == '\\' ? 2 : 1;
  constexpr std::string_view value_key = "\",\"value\":";
  if (doc.substr(at, value_key.size()) != value_key) throw bad();
  std::size_t begin = at + value_key.size();
  std::size_t end = doc.find_last_of('}');
  if (end == std::string_view::npos || end <= begin) throw bad();
  return std::string(doc.substr(begin, end - begin));
}

}  // namespace brine_call
