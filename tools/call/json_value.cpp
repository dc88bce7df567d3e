// Parsing JSON into brine_call::json_value with nlohmann::json's SAX parser.

#include "json_value.hpp"

#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>

namespace brine_call {
namespace {

// nlohmann's parser, reading numbers that are not 64-bit integers as long double: an f80 value
// beyond double's range ("1e+4000") is then still a number, not an overflow. Only the parser
// is used; the raw text of every number is kept.
using parser_json = nlohmann::basic_json<std::map, std::vector, std::string, bool, std::int64_t,
                                         std::uint64_t, long double>;

// Builds the tree with a stack of the open arrays and objects (nlohmann's parser does not
// recurse either, so no input can overflow the stack; the depth limit bounds what the encoder
// and the tree's destructor recurse through).
class builder {
 public:
  using number_integer_t = parser_json::number_integer_t;
  using number_unsigned_t = parser_json::number_unsigned_t;
  using number_float_t = parser_json::number_float_t;
  using string_t = parser_json::string_t;
  using binary_t = parser_json::binary_t;

  bool null() { return add(json_value{}) != nullptr; }

  bool boolean(bool b) {
    json_value v;
    v.t = json_value::type::boolean;
    v.b = b;
    return add(std::move(v)) != nullptr;
  }

  bool number_integer(number_integer_t i) {
    json_value v;
    v.t = json_value::type::integer;
    v.i = i;
    // nlohmann reads non-negative integers as unsigned, so an integer 0 was written "-0".
    v.text = i == 0 ? "-0" : std::to_string(i);
    return add(std::move(v)) != nullptr;
  }

  bool number_unsigned(number_unsigned_t u) {
    json_value v;
    v.t = json_value::type::unsigned_integer;
    v.u = u;
    v.text = std::to_string(u);
    return add(std::move(v)) != nullptr;
  }

  bool number_float(number_float_t, const string_t& text) {
    json_value v;
    v.t = json_value::type::floating;
    v.text = text;
    return add(std::move(v)) != nullptr;
  }

  bool string(string_t& s) {
    json_value v;
    v.t = json_value::type::string;
    v.text = std::move(s);
    return add(std::move(v)) != nullptr;
  }

  bool binary(binary_t&) { return false; }  // JSON text has no binary values

  bool start_object(std::size_t) { return open(json_value::type::object); }
  bool key(string_t& k) {
    key_ = std::move(k);
    return true;
  }
  bool end_object() {
    stack_.pop_back();
    return true;
  }
  bool start_array(std::size_t) { return open(json_value::type::array); }
  bool end_array() {
    stack_.pop_back();
    return true;
  }

  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception& e) {
    error_ = e.what();
    // "[json.exception.parse_error.101] parse error at line 1, ...": the bracket is noise here.
    if (!error_.empty() && error_[0] == '[') {
      std::size_t end = error_.find("] ");
      if (end != std::string::npos) error_.erase(0, end + 2);
    }
    return false;
  }

  json_value take() { return std::move(root_); }
  const std::string& error() const { return error_; }

 private:
  json_value* add(json_value v) {
    if (stack_.empty()) {
      root_ = std::move(v);
      return &root_;
    }
    json_value& top = *stack_.back();
    if (top.t == json_value::type::object) top.keys.push_back(std::move(key_));
    // Only the innermost open container grows, so the pointers on the stack stay valid.
    top.items.push_back(std::move(v));
    return &top.items.back();
  }

  bool open(json_value::type t) {
    if (stack_.size() >= max_json_depth) {
      error_ = "arrays and objects nest deeper than " + std::to_string(max_json_depth) + " levels";
      return false;
    }
    json_value v;
    v.t = t;
    stack_.push_back(add(std::move(v)));
    return true;
  }

  json_value root_;
  std::vector<json_value*> stack_;
  std::string key_;
  std::string error_;
};

void append_escaped(std::string& out, std::string_view s) {
  out += '"';
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '\r') {
      out += "\\r";
    } else if (u < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", u);
      out += buf;
    } else {
      out += c;
    }
  }
  out += '"';
}

// Renders into `out` until it holds `budget` characters; returns false once cut.
bool render(const json_value& v, std::string& out, std::size_t budget) {
  if (out.size() > budget) return false;
  using type = json_value::type;
  switch (v.t) {
    case type::null:
      out += "null";
      break;
    case type::boolean:
      out += v.b ? "true" : "false";
      break;
    case type::integer:
    case type::unsigned_integer:
    case type::floating:
      out += v.text;
      break;
    case type::string:
      append_escaped(out, v.text);
      break;
    case type::array:
    case type::object: {
      bool object = v.t == type::object;
      out += object ? '{' : '[';
      for (std::size_t k = 0; k < v.items.size(); ++k) {
        if (k != 0) out += ',';
        if (object) {
          append_escaped(out, v.keys[k]);
          out += ':';
        }
        if (!render(v.items[k], out, budget)) return false;
      }
      out += object ? '}' : ']';
      break;
    }
  }
  return out.size() <= budget;
}

}  // namespace

const json_value* json_value::find(std::string_view key) const noexcept {
  for (std::size_t k = 0; k < keys.size(); ++k) {
    if (keys[k] == key) return &items[k];
  }
  return nullptr;
}

json_value parse_json(std::string_view text) {
  builder b;
  bool ok = false;
  try {
    ok = parser_json::sax_parse(text, &b);
  } catch (const nlohmann::json::exception& e) {
    throw input_error(std::string("not JSON: ") + e.what());
  }
  if (!ok) throw input_error("not JSON: " + (b.error().empty() ? "parse error" : b.error()));
  return b.take();
}

std::string describe(const json_value& v, std::size_t budget) {
  std::string out;
  if (!render(v, out, budget) || out.size() > budget) {
    // Cut at a character boundary, not inside a UTF-8 sequence.
    std::size_t n = budget;
    while (n > 0 && (static_cast<unsigned char>(out[n]) & 0xc0) == 0x80)
      --n;
    out.resize(n);
    out += "...";
  }
  return out;
}

std::string json_string(std::string_view s) {
  std::string out;
  append_escaped(out, s);
  return out;
}

}  // namespace brine_call
