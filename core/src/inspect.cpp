// Renders frames as text, JSON or a byte layout, through the dynamic decoder.

#include "brine/inspect.hpp"

#include <algorithm>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <string>

#include "brine/dynamic.hpp"
#include "brine/error.hpp"
#include "brine/frame.hpp"
#include "brine/schema_tree.hpp"

namespace brine {
namespace {

using dkind = dynamic_value::kind;
using tag = schema_tag;

std::string hex64(std::uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%016" PRIx64, v);
  return buf;
}

// The shortest text that reads back as the same value at the schema's precision.
// The floating-point node a value was read by: durations and time points hold one.
tag precision_of(const schema_node& n) {
  if (n.tag == tag::duration) return n.children[0].tag;
  if (n.tag == tag::time_point) return n.children[0].children[0].tag;
  return n.tag;
}

std::string number_text(long double f, tag precision) {
  if (std::isnan(f)) return "nan";
  if (std::isinf(f)) return f < 0 ? "-inf" : "inf";
  char buf[64];
  for (int prec = 1; prec <= 21; ++prec) {
    std::snprintf(buf, sizeof buf, "%.*Lg", prec, f);
    bool same = precision == tag::f32   ? std::strtof(buf, nullptr) == static_cast<float>(f)
                : precision == tag::f64 ? std::strtod(buf, nullptr) == static_cast<double>(f)
                                        : std::strtold(buf, nullptr) == f;
    if (same) break;
  }
  return buf;
}

// Length of the well-formed UTF-8 sequence at s[i], or 0; `prefix` gets the length of its
// longest valid prefix (at least 1), which one U+FFFD replaces, as Unicode recommends.
std::size_t utf8_sequence(const std::string& s, std::size_t i, std::size_t& prefix) {
  auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = byte(i);
  std::size_t len = c >= 0xc2 && c <= 0xdf   ? 2
                    : c >= 0xe0 && c <= 0xef ? 3
                    : c >= 0xf0 && c <= 0xf4 ? 4
                                             : 0;
  prefix = 1;
  if (len == 0) return 0;
  for (std::size_t k = 1; k < len; ++k) {
    if (i + k >= s.size()) return 0;
    unsigned char lo = 0x80, hi = 0xbf;
    if (k == 1) {
      if (c == 0xe0) lo = 0xa0;
      if (c == 0xed) hi = 0x9f;
      if (c == 0xf0) lo = 0x90;
      if (c == 0xf4) hi = 0x8f;
    }
    unsigned char b = byte(i + k);
    if (b < lo || b > hi) return 0;
    prefix = k + 1;
  }
  return len;
}

void quote(std::string& out, const std::string& s, bool json) {
  out += '"';
  for (std::size_t i = 0; i < s.size(); ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        if (c < 0x20 || (!json && c == 0x7f)) {
          char buf[8];
          std::snprintf(buf, sizeof buf, json ? "\\u%04x" : "\\x%02x", c);
          out += buf;
        } else if (c >= 0x80 && json) {
          // JSON must be UTF-8: invalid bytes become U+FFFD.
          std::size_t prefix = 1;
          std::size_t len = utf8_sequence(s, i, prefix);
          if (len != 0) {
            out.append(s, i, len);
            i += len - 1;
          } else {
            out += "\xef\xbf\xbd";
            i += prefix - 1;
          }
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += '"';
}

// "2026-11-27 17:09:34.108628199 UTC" for a system_clock time point whose ticks are whole
// seconds or fractions of one; empty for other clocks, periods, and years out of 1..9999.
std::string utc_text(const dynamic_value& v) {
  const schema_node& n = *v.schema;
  if (n.tag != tag::time_point || n.extent != 1 || n.children.empty()) return {};
  const schema_node& d = n.children[0];
  // Ticks of 1/10^digits seconds, up to nanoseconds.
  int digits = 0;
  std::int64_t rest = d.den;
  for (; rest > 1 && rest % 10 == 0; rest /= 10)
    ++digits;
  if (d.num != 1 || rest != 1 || digits > 9) return {};
  std::int64_t secs = v.i / d.den, frac = v.i % d.den;
  if (frac < 0) {
    --secs;
    frac += d.den;
  }
  if (secs < -62'135'596'800 || secs > 253'402'300'799) return {};  // years 1 to 9999
  std::time_t t = static_cast<std::time_t>(secs);
  std::tm tm{};
  if (!::gmtime_r(&t, &tm)) return {};
  char buf[64];
  std::size_t len = std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
  std::string out(buf, len);
  if (digits > 0) {
    std::snprintf(buf, sizeof buf, ".%0*lld", digits, static_cast<long long>(frac));
    out += buf;
  }
  return out + " UTC";
}

std::string scalar(const dynamic_value& v, bool json) {
  switch (v.k) {
    case dkind::unit:
      return json ? "null" : "()";
    case dkind::boolean:
      return v.u != 0 ? "true" : "false";
    case dkind::integer: {
      std::string t = std::to_string(v.i);
      if (!json && v.schema != nullptr) {
        std::string utc = utc_text(v);
        if (!utc.empty()) t += " (" + utc + ")";
      }
      return t;
    }
    case dkind::unsigned_integer:
      return std::to_string(v.u);
    case dkind::floating: {
      std::string t = number_text(v.f, precision_of(*v.schema));
      if (json && (std::isnan(v.f) || std::isinf(v.f))) return "\"" + t + "\"";
      return t;
    }
    case dkind::character: {
      std::string out;
      if (v.u < 0x80) {
        quote(out, std::string(1, static_cast<char>(v.u)), json);
      } else {
        char buf[32];
        std::snprintf(buf, sizeof buf, "U+%04llX", static_cast<unsigned long long>(v.u));
        out = buf;
        if (json) out = "\"" + out + "\"";
      }
      return out;
    }
    case dkind::string:
    case dkind::bits: {
      std::string out;
      quote(out, v.s, json);
      return out;
    }
    default:
      return {};
  }
}

bool is_scalar(const dynamic_value& v) {
  switch (v.k) {
    case dkind::unit:
    case dkind::boolean:
    case dkind::integer:
    case dkind::unsigned_integer:
    case dkind::floating:
    case dkind::character:
    case dkind::string:
    case dkind::bits:
      return true;
    default:
      return false;
  }
}

bool all_scalars(const dynamic_value& v) {
  for (const auto& i : v.items) {
    if (!is_scalar(i)) return false;
  }
  return true;
}

// The indented text form.
class text_printer {
 public:
  explicit text_printer(std::size_t max_items) : max_(max_items) {}

  std::string run(const dynamic_value& v) {
    print(v, 0);
    out_ += '\n';
    return std::move(out_);
  }

 private:
  void indent(int level) { out_.append(static_cast<std::size_t>(2 * level), ' '); }

  std::size_t shown(std::size_t n) const { return max_ == 0 || n <= max_ ? n : max_; }

  void more(std::size_t total, std::size_t shown_count, int level, bool inline_list) {
    if (shown_count == total) return;
    if (inline_list) {
      out_ += ", ... (" + std::to_string(total - shown_count) + " more)";
    } else {
      indent(level);
      out_ += "... (" + std::to_string(total - shown_count) + " more)\n";
    }
  }

  void print(const dynamic_value& v, int level) {
    if (is_scalar(v)) {
      out_ += scalar(v, false);
      return;
    }
    switch (v.k) {
      case dkind::list: {
        std::size_t n = v.items.size();
        std::string name = v.schema->tag == tag::set        ? "set"
                           : v.schema->tag == tag::multiset ? "multiset"
                           : v.schema->tag == tag::tuple    ? "tuple"
                           : v.schema->tag == tag::complex  ? "complex"
                           : v.schema->tag == tag::array    ? "array"
                                                            : "list";
        out_ += name + "[" + std::to_string(n) + "] [";
        std::size_t k = shown(n);
        if (all_scalars(v)) {
          for (std::size_t i = 0; i < k; ++i) {
            if (i != 0) out_ += ", ";
            out_ += scalar(v.items[i], false);
          }
          more(n, k, level, true);
          out_ += ']';
          return;
        }
        out_ += '\n';
        for (std::size_t i = 0; i < k; ++i) {
          indent(level + 1);
          print(v.items[i], level + 1);
          out_ += '\n';
        }
        more(n, k, level + 1, false);
        indent(level);
        out_ += ']';
        return;
      }
      case dkind::map: {
        std::size_t n = v.items.size() / 2;
        out_ += "map[" + std::to_string(n) + "] {";
        if (n == 0) {
          out_ += '}';
          return;
        }
        out_ += '\n';
        std::size_t k = shown(n);
        for (std::size_t i = 0; i < k; ++i) {
          indent(level + 1);
          print(v.items[2 * i], level + 1);
          out_ += ": ";
          print(v.items[2 * i + 1], level + 1);
          out_ += '\n';
        }
        more(n, k, level + 1, false);
        indent(level);
        out_ += '}';
        return;
      }
      case dkind::record: {
        out_ += '{';
        if (v.items.empty()) {
          out_ += '}';
          return;
        }
        out_ += '\n';
        for (std::size_t i = 0; i < v.items.size(); ++i) {
          indent(level + 1);
          out_ += v.schema->names[i] + ": ";
          print(v.items[i], level + 1);
          out_ += '\n';
        }
        indent(level);
        out_ += '}';
        return;
      }
      case dkind::optional:
      case dkind::pointer:
        if (v.items.empty()) {
          out_ += v.k == dkind::optional ? "none" : "null";
        } else {
          if (!v.s.empty()) out_ += v.s + " ";
          print(v.items[0], level);
        }
        return;
      case dkind::variant:
        out_ += "<" + std::to_string(v.u) + "> ";
        print(v.items[0], level);
        return;
      case dkind::shared:
        out_ += "&" + std::to_string(v.u) + " ";
        if (!v.s.empty()) out_ += v.s + " ";
        print(v.items[0], level);
        return;
      case dkind::reference:
        out_ += "*" + std::to_string(v.u);
        return;
      case dkind::null_shared:
        out_ += "null";
        return;
      default:
        return;
    }
  }

  std::size_t max_;
  std::string out_;
};

// JSON: maps with string keys become objects, other maps arrays of [key, value]; shared
// objects are {"$id": n, "value": ...} and references {"$ref": n}.
void json(const dynamic_value& v, std::string& out) {
  if (is_scalar(v)) {
    out += scalar(v, true);
    return;
  }
  auto array = [&](std::size_t from) {
    out += '[';
    for (std::size_t i = from; i < v.items.size(); ++i) {
      if (i != from) out += ',';
      json(v.items[i], out);
    }
    out += ']';
  };
  switch (v.k) {
    case dkind::list:
      array(0);
      return;
    case dkind::map: {
      bool string_keys = v.schema->children[0].tag == tag::string;
      out += string_keys ? '{' : '[';
      for (std::size_t i = 0; i + 1 < v.items.size(); i += 2) {
        if (i != 0) out += ',';
        if (string_keys) {
          quote(out, v.items[i].s, true);
          out += ':';
          json(v.items[i + 1], out);
        } else {
          out += '[';
          json(v.items[i], out);
          out += ',';
          json(v.items[i + 1], out);
          out += ']';
        }
      }
      out += string_keys ? '}' : ']';
      return;
    }
    case dkind::record:
      out += '{';
      for (std::size_t i = 0; i < v.items.size(); ++i) {
        if (i != 0) out += ',';
        quote(out, v.schema->names[i], true);
        out += ':';
        json(v.items[i], out);
      }
      out += '}';
      return;
    case dkind::optional:
    case dkind::pointer:
      if (v.items.empty()) {
        out += "null";
      } else if (!v.s.empty()) {
        out += "{\"$type\":";
        quote(out, v.s, true);
        out += ",\"value\":";
        json(v.items[0], out);
        out += '}';
      } else {
        json(v.items[0], out);
      }
      return;
    case dkind::variant:
      out += "{\"index\":" + std::to_string(v.u) + ",\"value\":";
      json(v.items[0], out);
      out += '}';
      return;
    case dkind::shared:
      out += "{\"$id\":" + std::to_string(v.u);
      if (!v.s.empty()) {
        out += ",\"$type\":";
        quote(out, v.s, true);
      }
      out += ",\"value\":";
      json(v.items[0], out);
      out += '}';
      return;
    case dkind::reference:
      out += "{\"$ref\":" + std::to_string(v.u) + "}";
      return;
    case dkind::null_shared:
      out += "null";
      return;
    default:
      return;
  }
}

// The byte layout: one line per value, with its range and its path from the root.
class raw_printer {
 public:
  explicit raw_printer(std::size_t max_items) : max_(max_items) {}

  void line(std::size_t begin, std::size_t end, const std::string& what) {
    char buf[48];
    std::snprintf(buf, sizeof buf, "%8zu..%-8zu ", begin, end);
    out_ += buf;
    out_ += what;
    out_ += '\n';
  }

  void value(const dynamic_value& v, const std::string& path) {
    std::string p = path.empty() ? "$" : path;
    if (is_scalar(v)) {
      line(v.begin, v.end, p + " = " + scalar(v, false));
      return;
    }
    std::string head;
    switch (v.k) {
      case dkind::list:
      case dkind::map:
        head = std::to_string(v.k == dkind::map ? v.items.size() / 2 : v.items.size()) +
               (v.k == dkind::map ? " entries" : " elements");
        break;
      case dkind::record:
        head = "record";
        break;
      case dkind::optional:
        head = v.items.empty() ? "optional: none" : "optional: present";
        break;
      case dkind::pointer:
        head = v.items.empty() ? "unique_ptr: null" : "unique_ptr";
        break;
      case dkind::variant:
        head = "variant alternative " + std::to_string(v.u);
        break;
      case dkind::shared:
        head = "shared object &" + std::to_string(v.u);
        break;
      case dkind::reference:
        head = "shared reference to &" + std::to_string(v.u);
        break;
      case dkind::null_shared:
        head = "shared_ptr: null";
        break;
      default:
        break;
    }
    line(v.begin, v.end, p + ": " + to_text(*v.schema) + ", " + head);
    if (v.k == dkind::list && all_scalars(v) && v.items.size() > 1) return;  // one line is enough
    std::size_t n = v.k == dkind::map ? v.items.size() : v.items.size();
    std::size_t limit = max_ == 0 ? n : std::min(n, v.k == dkind::map ? 2 * max_ : max_);
    for (std::size_t i = 0; i < limit; ++i) {
      std::string child;
      if (v.k == dkind::record) {
        child = p + "." + v.schema->names[i];
      } else if (v.k == dkind::map) {
        child = p + "[" + std::to_string(i / 2) + (i % 2 == 0 ? "].key" : "].value");
      } else if (v.k == dkind::list) {
        child = p + "[" + std::to_string(i) + "]";
      } else {
        child = p + "*";
      }
      value(v.items[i], child);
    }
    if (limit < n)
      line(v.items[limit].begin, v.end,
           p + ": ... (" + std::to_string((n - limit) / (v.k == dkind::map ? 2 : 1)) + " more)");
  }

  std::string take() { return std::move(out_); }

 private:
  std::size_t max_;
  std::string out_;
};

}  // namespace

std::string inspect(std::span<const std::byte> frame, const inspect_options& opt) {
  frame_view f = parse_frame(frame, opt.lim);
  bool has_schema = !f.schema.empty();
  std::string out;
  if (opt.fmt == inspect_options::format::raw) {
    raw_printer raw(opt.max_items);
    raw.line(0, 4, "magic 62 72 6e 01");
    raw.line(4, 5, "version " + std::to_string(f.header.version));
    std::uint8_t flags = f.header.flags;
    raw.line(5, 6,
             std::string("flags ") + (flags == 0   ? "0x00"
                                      : flags == 1 ? "0x01 (schema block)"
                                                   : "0x03 (schema block, type table)"));
    raw.line(6, 8, "reserved");
    raw.line(8, 16, "fingerprint " + hex64(f.header.fingerprint));
    raw.line(16, 24, "body size " + std::to_string(f.header.body_size));
    if (has_schema) {
      raw.line(24, 28, "schema size " + std::to_string(f.schema.size()));
      schema_node s = parse_schema(f.schema, 28);
      std::size_t schema_end = 28 + f.schema.size();
      raw.line(28, schema_end, "schema " + to_text(s));
      type_table types;
      if (!f.types.empty()) {
        types = parse_type_table(f.types, schema_end + 4);
        raw.line(schema_end, schema_end + 4, "type table size " + std::to_string(f.types.size()));
        std::string names;
        for (const auto& n : types.names)
          names += (names.empty() ? "" : ", ") + n;
        raw.line(schema_end + 4, f.body_offset, "type table: " + names);
      }
      raw.value(decode_dynamic(s, f.body, f.body_offset, opt.lim, &types), "");
    } else {
      raw.line(f.body_offset, frame.size(), "body (no schema in this frame)");
    }
    return raw.take();
  }
  if (!has_schema) {
    if (opt.fmt == inspect_options::format::json) {
      return "{\"fingerprint\":\"" + hex64(f.header.fingerprint) +
             "\",\"body_size\":" + std::to_string(f.header.body_size) + ",\"schema\":null}\n";
    }
    return "frame without schema: fingerprint " + hex64(f.header.fingerprint) + ", body " +
           std::to_string(f.header.body_size) + " bytes\n";
  }
  schema_node s = parse_schema(f.schema, 28);
  type_table types;
  if (!f.types.empty()) types = parse_type_table(f.types, 28 + f.schema.size() + 4);
  dynamic_value v = decode_dynamic(s, f.body, f.body_offset, opt.lim, &types);
  if (opt.fmt == inspect_options::format::json) {
    out = "{\"fingerprint\":\"" + hex64(f.header.fingerprint) + "\",\"schema\":";
    quote(out, to_text(s), true);
    out += ",\"value\":";
    json(v, out);
    out += "}\n";
    return out;
  }
  out = "# schema " + to_text(s) + "\n# fingerprint " + hex64(f.header.fingerprint) + ", " +
        std::to_string(frame.size()) + " bytes\n";
  out += text_printer(opt.max_items).run(v);
  return out;
}

}  // namespace brine
