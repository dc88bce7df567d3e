// The schema-driven decoder behind brine-inspect: same bounds and limits as the typed decoder.

#include "brine/dynamic.hpp"

#include <pthread.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <exception>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>

#include "brine/detail/wire.hpp"
#include "brine/error.hpp"

namespace brine {
namespace {

using tag = schema_tag;
using dkind = dynamic_value::kind;

void append_utf8(std::string& out, std::uint32_t c) {
  if (c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff)) c = 0xfffd;
  if (c < 0x80) {
    out += static_cast<char>(c);
  } else if (c < 0x800) {
    out += static_cast<char>(0xc0 | (c >> 6));
    out += static_cast<char>(0x80 | (c & 0x3f));
  } else if (c < 0x10000) {
    out += static_cast<char>(0xe0 | (c >> 12));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (c & 0x3f));
  } else {
    out += static_cast<char>(0xf0 | (c >> 18));
    out += static_cast<char>(0x80 | ((c >> 12) & 0x3f));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (c & 0x3f));
  }
}

std::size_t char_width(tag t) {
  switch (t) {
    case tag::utf16:
      return 2;
    case tag::utf32:
    case tag::wide:
      return 4;
    default:
      return 1;
  }
}

class walker {
 public:
  walker(std::span<const std::byte> body, std::size_t offset, const limits& lim,
         const type_table* types)
      : r_(body.data(), body.data() + body.size(), lim, offset),
        types_(types),
        body_(body.data()),
        body_offset_(offset) {}

  dynamic_value run(const schema_node& root) {
    dynamic_value v = value(root);
    if (r_.left() != 0) {
      r_.fail("the body has " + std::to_string(r_.left()) + " bytes after the value");
    }
    return v;
  }

 private:
  std::uint64_t fixed(std::size_t n) {
    std::uint64_t v = 0;
    r_.raw(&v, n);
    return v;
  }
  std::int64_t signed_fixed(std::size_t n) {
    std::uint64_t v = fixed(n);
    if (n < 8) {
      std::uint64_t sign = std::uint64_t{1} << (8 * n - 1);
      v = (v ^ sign) - sign;
    }
    return static_cast<std::int64_t>(v);
  }

  void number(const schema_node& n, dynamic_value& v) {
    switch (n.tag) {
      case tag::i8:
        v.k = dkind::integer;
        v.i = signed_fixed(1);
        break;
      case tag::i16:
        v.k = dkind::integer;
        v.i = signed_fixed(2);
        break;
      case tag::i32:
        v.k = dkind::integer;
        v.i = signed_fixed(4);
        break;
      case tag::i64:
        v.k = dkind::integer;
        v.i = signed_fixed(8);
        break;
      case tag::u8:
      case tag::byte:
        v.k = dkind::unsigned_integer;
        v.u = fixed(1);
        break;
      case tag::u16:
        v.k = dkind::unsigned_integer;
        v.u = fixed(2);
        break;
      case tag::u32:
        v.k = dkind::unsigned_integer;
        v.u = fixed(4);
        break;
      case tag::u64:
        v.k = dkind::unsigned_integer;
        v.u = fixed(8);
        break;
      case tag::f32: {
        float x;
        r_.raw(&x, 4);
        v.k = dkind::floating;
        v.f = x;
        break;
      }
      case tag::f64: {
        double x;
        r_.raw(&x, 8);
        v.k = dkind::floating;
        v.f = x;
        break;
      }
      case tag::f80: {
        long double x = 0;
        r_.raw(&x, 10);
        r_.take(6);
        v.k = dkind::floating;
        v.f = x;
        break;
      }
      case tag::char8:
      case tag::utf8:
      case tag::utf16:
      case tag::utf32:
      case tag::wide:
        v.k = dkind::character;
        v.u = fixed(char_width(n.tag));
        break;
      default:
        break;
    }
  }

  void text(tag char_tag, dynamic_value& v) {
    std::size_t w = char_width(char_tag);
    std::size_t count = r_.count(w, w, "string");
    const std::byte* p = r_.take(count * w);
    v.k = dkind::string;
    if (w == 1) {
      v.s.assign(reinterpret_cast<const char*>(p), count);
      return;
    }
    for (std::size_t i = 0; i < count; ++i) {
      std::uint32_t c = 0;
      std::memcpy(&c, p + i * w, w);
      if (w == 2 && c >= 0xd800 && c < 0xdc00 && i + 1 < count) {
        std::uint32_t lo = 0;
        std::memcpy(&lo, p + (i + 1) * w, w);
        if (lo >= 0xdc00 && lo < 0xe000) {
          c = 0x10000 + ((c - 0xd800) << 10) + (lo - 0xdc00);
          ++i;
        }
      }
      append_utf8(v.s, c);
    }
  }

  void bits(std::uint64_t n, dynamic_value& v) {
    std::size_t bytes = static_cast<std::size_t>(n / 8 + (n % 8 != 0));
    const std::byte* p = r_.take(bytes);
    v.k = dkind::bits;
    v.s.reserve(static_cast<std::size_t>(n));
    for (std::uint64_t i = 0; i < n; ++i) {
      v.s += ((static_cast<std::uint8_t>(p[i / 8]) >> (i % 8)) & 1) != 0 ? '1' : '0';
    }
    if (n % 8 != 0 && (static_cast<std::uint8_t>(p[n / 8]) >> (n % 8)) != 0) {
      r_.fail_at("unused bits are not zero", r_.offset() - 1);
    }
  }

  void elements(const schema_node& elem, std::size_t count, dynamic_value& v) {
    v.items.reserve(count);
    for (std::size_t i = 0; i < count; ++i)
      v.items.push_back(value(elem));
  }

  std::size_t counted(std::uint64_t min_wire, const char* what) {
    // min_wire >= 1 always (parse_schema saturates sums); the guard keeps a bug from dividing by 0.
    std::size_t m =
        min_wire == 0 || min_wire > SIZE_MAX ? SIZE_MAX : static_cast<std::size_t>(min_wire);
    return r_.count(m, sizeof(dynamic_value), what);
  }

  // A set or map whose keys repeat is refused, as brine::loads refuses it. Keys are compared by
  // their encodings: the encoder writes equal keys identically.
  void unique_keys(const dynamic_value& v, std::size_t stride) {
    std::set<std::string_view> seen;
    for (std::size_t i = 0; i < v.items.size(); i += stride) {
      const dynamic_value& key = v.items[i];
      std::string_view bytes(reinterpret_cast<const char*>(body_) + (key.begin - body_offset_),
                             key.end - key.begin);
      if (!seen.insert(bytes).second) r_.fail_at("duplicate key", key.begin);
    }
  }

  std::uint8_t tag_byte(std::uint8_t max, const char* what) {
    std::uint8_t b = r_.byte();
    if (b > max) {
      r_.fail_at(std::string("expected ") + what + " tag (0 to " + std::to_string(max) +
                     "), found " + std::to_string(b),
                 r_.offset() - 1);
    }
    return b;
  }

  // Bounds the walker's own recursion, one level per nested value: schemas may nest 256 levels
  // inside each record, so max_depth alone would not keep the stack small.
  static constexpr int max_nesting = 4096;  // decode_dynamic runs on a 256 MiB stack

  struct nesting_guard {
    walker& w;
    explicit nesting_guard(walker& self) : w(self) {
      if (++w.nesting_ > max_nesting) {
        w.r_.fail("values nest deeper than " + std::to_string(max_nesting) + " levels");
      }
    }
    ~nesting_guard() { --w.nesting_; }
    nesting_guard(const nesting_guard&) = delete;
    nesting_guard& operator=(const nesting_guard&) = delete;
  };

  dynamic_value value(const schema_node& n) {
    nesting_guard guard(*this);
    dynamic_value v;
    v.schema = &n;
    v.begin = r_.offset();
    switch (n.tag) {
      case tag::unit:
        tag_byte(0, "an empty value's");
        break;
      case tag::boolean:
        v.k = dkind::boolean;
        v.u = tag_byte(1, "a bool's");
        break;
      case tag::string:
        text(n.children[0].tag, v);
        break;
      case tag::path:
        text(tag::char8, v);
        break;
      case tag::bits: {
        std::size_t at = r_.offset();
        std::uint64_t count = r_.varint();
        if (count / 8 > r_.left()) r_.fail_at("a vector<bool> longer than the input", at);
        r_.charge(static_cast<std::size_t>(count / 8), at);
        bits(count, v);
        break;
      }
      case tag::bitset:
        if (n.extent == 0) {
          tag_byte(0, "an empty bitset's");
          v.k = dkind::bits;
        } else {
          if (n.extent / 8 > r_.left()) r_.fail("a bitset longer than the input");
          bits(n.extent, v);
        }
        break;
      case tag::sequence:
      case tag::set:
      case tag::multiset:
        v.k = dkind::list;
        elements(n.children[0], counted(n.children[0].min_wire, "list"), v);
        if (n.tag == tag::set) unique_keys(v, 1);
        break;
      case tag::map:
      case tag::multimap: {
        v.k = dkind::map;
        std::uint64_t a = n.children[0].min_wire;
        std::uint64_t b = n.children[1].min_wire;
        std::uint64_t pair_min = a > ~std::uint64_t{0} - b ? ~std::uint64_t{0} : a + b;
        std::size_t count = counted(pair_min, "map");
        r_.charge(count * sizeof(dynamic_value), r_.offset());  // two values per entry
        v.items.reserve(2 * count);
        for (std::size_t i = 0; i < count; ++i) {
          v.items.push_back(value(n.children[0]));
          v.items.push_back(value(n.children[1]));
        }
        if (n.tag == tag::map) unique_keys(v, 2);
        break;
      }
      case tag::array:
        v.k = dkind::list;
        if (n.extent == 0) {
          tag_byte(0, "an empty array's");
        } else {
          if (n.min_wire > r_.left()) r_.fail("an array longer than the input");
          r_.charge(static_cast<std::size_t>(n.extent) * sizeof(dynamic_value), r_.offset());
          elements(n.children[0], static_cast<std::size_t>(n.extent), v);
        }
        break;
      case tag::tuple:
      case tag::complex:
        v.k = dkind::list;
        if (n.tag == tag::complex) {
          v.items.push_back(value(n.children[0]));
          v.items.push_back(value(n.children[0]));
        } else if (n.children.empty()) {
          tag_byte(0, "an empty tuple's");
        } else {
          for (const auto& c : n.children)
            v.items.push_back(value(c));
        }
        break;
      case tag::record:
      case tag::evolvable:
        v.k = dkind::record;
        record(n, v);
        break;
      case tag::ref:
        return reference(n);
      case tag::optional:
        v.k = dkind::optional;
        if (tag_byte(1, "an optional's") == 1) v.items.push_back(value(n.children[0]));
        break;
      case tag::variant: {
        std::size_t at = r_.offset();
        v.k = dkind::variant;
        v.u = r_.varint();
        if (v.u >= n.children.size()) {
          r_.fail_at("expected a variant index below " + std::to_string(n.children.size()) +
                         ", found " + std::to_string(v.u),
                     at);
        }
        v.items.push_back(value(n.children[static_cast<std::size_t>(v.u)]));
        break;
      }
      case tag::unique: {
        v.k = dkind::pointer;
        std::uint8_t t = tag_byte(2, "a unique_ptr's");
        if (t == 1) v.items.push_back(value(n.children[0]));
        if (t == 2) derived(v);
        break;
      }
      case tag::shared: {
        std::size_t at = r_.offset();
        std::uint64_t position = r_.position();
        std::uint64_t t = r_.varint();
        if (t == 0) {
          v.k = dkind::null_shared;
        } else if (t == 1 || t == 2) {
          v.k = dkind::shared;
          v.u = position;
          objects_.push_back(position);
          if (t == 1) {
            v.items.push_back(value(n.children[0]));
          } else {
            derived(v);
          }
        } else {
          v.k = dkind::reference;
          v.u = t - 3;
          if (!std::binary_search(objects_.begin(), objects_.end(), v.u)) {
            r_.fail_at("a shared_ptr refers to an object at body position " + std::to_string(v.u) +
                           ", where no object was read",
                       at);
          }
        }
        break;
      }
      case tag::enumeration:
      case tag::duration:
      case tag::time_point: {
        const schema_node* num = &n.children[0];
        if (n.tag == tag::time_point) num = &num->children[0];
        number(*num, v);
        break;
      }
      default:
        number(n, v);
        break;
    }
    v.end = r_.offset();
    return v;
  }

  // Records lexically around the current node, innermost first: a reference counts out along
  // this chain, which is the chain of the schema tree, not the order in which values nest.
  struct context {
    const schema_node* record;
    const context* parent;
  };

  void record(const schema_node& n, dynamic_value& v) {
    // Like brine::loads, only records that can contain themselves count toward max_depth.
    if (n.recursive) r_.enter();
    context here{&n, ctx_};
    const context* saved = std::exchange(ctx_, &here);
    if (n.tag == tag::evolvable) {
      evolving_fields(n, v);
    } else {
      if (n.children.empty()) tag_byte(0, "an empty record's");
      for (const auto& c : n.children)
        v.items.push_back(value(c));
    }
    ctx_ = saved;
    if (n.recursive) r_.leave();
  }

  // The fields of an evolvable record present in both the data and the schema; the data's
  // further fields are skipped by length.
  void evolving_fields(const schema_node& n, dynamic_value& v) {
    std::size_t at = r_.offset();
    std::uint64_t count = r_.varint();
    std::uint32_t length = 0;
    r_.raw(&length, 4);
    if (length > r_.left() || count > length) {
      r_.fail_at("the length of an evolvable record does not fit its input or field count", at);
    }
    std::size_t end = r_.position() + length;
    for (std::size_t i = 0; i < n.children.size() && i < count; ++i) {
      v.items.push_back(value(n.children[i]));
    }
    if (r_.position() > end || (count <= n.children.size() && r_.position() != end)) {
      r_.fail_at("the length of an evolvable record does not match its fields", at);
    }
    r_.take(end - r_.position());
  }

  dynamic_value reference(const schema_node& n) {
    // parse_schema checked that the reference stays inside the records around it.
    const context* target = ctx_;
    for (std::uint64_t k = 0; k < n.extent; ++k)
      target = target->parent;
    const context* saved = std::exchange(ctx_, target->parent);
    dynamic_value v = value(*target->record);
    ctx_ = saved;
    return v;
  }

  // An object of a registered type: its name, then its value by the schema the file gives.
  void derived(dynamic_value& v) {
    std::size_t at = r_.offset();
    std::size_t n = r_.count(1, 1, "type name");
    v.s.assign(reinterpret_cast<const char*>(r_.take(n)), n);
    const schema_node* s = types_ != nullptr ? types_->find(v.s) : nullptr;
    if (s == nullptr) {
      std::string shown = v.s.size() > 80 ? v.s.substr(0, 80) + "..." : v.s;
      for (char& c : shown) {
        if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f) c = '?';
      }
      r_.fail_at("type \"" + shown + "\" is not in the frame's type table", at);
    }
    const context* saved = std::exchange(ctx_, nullptr);  // its references count from its root
    r_.enter();  // derived objects can nest without limit, as in brine::loads
    v.items.push_back(value(*s));
    r_.leave();
    ctx_ = saved;
  }

  detail::reader r_;
  const type_table* types_;
  const std::byte* body_;
  std::size_t body_offset_;
  int nesting_ = 0;
  const context* ctx_ = nullptr;
  std::vector<std::uint64_t> objects_;  // body positions of the shared objects read, ascending
};

}  // namespace

const schema_node* type_table::find(std::string_view name) const noexcept {
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (names[i] == name) return &schemas[i];
  }
  return nullptr;
}

type_table parse_type_table(std::span<const std::uint8_t> bytes, std::size_t offset) {
  auto data = reinterpret_cast<const std::byte*>(bytes.data());
  detail::reader r(data, data + bytes.size(), limits{}, offset);
  type_table t;
  std::size_t count = r.count(2, sizeof(schema_node), "type table");
  if (count == 0) r.fail("an empty type table");
  for (std::size_t i = 0; i < count; ++i) {
    std::size_t n = r.count(1, 1, "type name");
    t.names.emplace_back(reinterpret_cast<const char*>(r.take(n)), n);
    std::size_t len = r.count(1, 1, "schema");
    std::size_t at = r.offset();
    t.schemas.push_back(
        parse_schema({reinterpret_cast<const std::uint8_t*>(r.take(len)), len}, at));
  }
  if (r.left() != 0) r.fail("trailing bytes after the type table");
  return t;
}

namespace {

// The walker recurses once per nested value; it runs on a thread of its own with a large stack
// (reserved, not committed, memory), so that deep but legal files never overflow the caller's.
struct walk_job {
  const schema_node* schema;
  std::span<const std::byte> body;
  std::size_t offset;
  const limits* lim;
  const type_table* types;
  std::optional<dynamic_value> result;
  std::exception_ptr error;
};

void* run_walk(void* p) {
  auto* job = static_cast<walk_job*>(p);
  try {
    job->result.emplace(walker(job->body, job->offset, *job->lim, job->types).run(*job->schema));
  } catch (...) {
    job->error = std::current_exception();
  }
  return nullptr;
}

}  // namespace

dynamic_value decode_dynamic(const schema_node& schema, std::span<const std::byte> body,
                             std::size_t offset, const limits& lim, const type_table* types) {
  walk_job job{&schema, body, offset, &lim, types, std::nullopt, nullptr};
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, std::size_t{256} << 20);
  pthread_t thread;
  int rc = pthread_create(&thread, &attr, &run_walk, &job);
  pthread_attr_destroy(&attr);
  if (rc != 0) {
    run_walk(&job);  // no thread to be had: walk here
  } else {
    pthread_join(thread, nullptr);
  }
  if (job.error) std::rethrow_exception(job.error);
  return std::move(*job.result);
}

}  // namespace brine
