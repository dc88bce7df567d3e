// User types: plain aggregates (nested, wide), BRINE_FIELDS classes, brine::adapter and
// brine::fields specialisations.

#include <catch2/catch.hpp>

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <variant>
#include <vector>

#include "codec_test_util.hpp"

using namespace codec_test;

namespace aggregate_types {

struct Point {
  double x, y;
  bool operator==(const Point&) const = default;
};

struct Address {
  std::string street;
  int number = 0;
  bool operator==(const Address&) const = default;
};

struct Person {
  std::string name;
  int age = 0;
  Address home;
  std::vector<Address> previous;
  std::optional<Address> work;
  std::map<std::string, Point> places;
  bool operator==(const Person&) const = default;
};

// Padding between the members: the wire has 1 + 8 bytes, not sizeof(Padded).
struct Padded {
  char c;
  double d;
  bool operator==(const Padded&) const = default;
};

struct Defaults {
  int a = 1;
  std::string b = "bee";
  std::vector<int> c = {1, 2, 3};
  bool operator==(const Defaults&) const = default;
};

// Fifty members of ten types, in a cycle.
struct Wide {
  int id;
  double ratio;
  std::string title;
  bool enabled;
  std::vector<int> counts;
  std::optional<std::int64_t> maybe_total;
  std::uint8_t level;
  std::map<std::string, int> index;
  std::variant<int, std::string> choice;
  std::array<std::int16_t, 3> triple;
  int width;
  double scale;
  std::string label;
  bool visible;
  std::vector<int> samples;
  std::optional<std::int64_t> maybe_size;
  std::uint8_t flags;
  std::map<std::string, int> attrs;
  std::variant<int, std::string> either;
  std::array<std::int16_t, 3> shorts;
  int height;
  double weight;
  std::string owner;
  bool locked;
  std::vector<int> ids;
  std::optional<std::int64_t> maybe_parent;
  std::uint8_t priority;
  std::map<std::string, int> tags;
  std::variant<int, std::string> pick;
  std::array<std::int16_t, 3> rgb;
  int depth;
  double offset;
  std::string path;
  bool active;
  std::vector<int> codes;
  std::optional<std::int64_t> maybe_limit;
  std::uint8_t mode;
  std::map<std::string, int> env;
  std::variant<int, std::string> kind;
  std::array<std::int16_t, 3> dims;
  int count;
  double factor;
  std::string comment;
  bool dirty;
  std::vector<int> refs;
  std::optional<std::int64_t> maybe_next;
  std::uint8_t state;
  std::map<std::string, int> meta;
  std::variant<int, std::string> tail;
  std::array<std::int16_t, 3> xyz;
  bool operator==(const Wide&) const = default;
};

constexpr std::array<std::string_view, 50> wide_names = {
    "id",          "ratio",      "title",  "enabled",    "counts",       "maybe_total", "level",
    "index",       "choice",     "triple", "width",      "scale",        "label",       "visible",
    "samples",     "maybe_size", "flags",  "attrs",      "either",       "shorts",      "height",
    "weight",      "owner",      "locked", "ids",        "maybe_parent", "priority",    "tags",
    "pick",        "rgb",        "depth",  "offset",     "path",         "active",      "codes",
    "maybe_limit", "mode",       "env",    "kind",       "dims",         "count",       "factor",
    "comment",     "dirty",      "refs",   "maybe_next", "state",        "meta",        "tail",
    "xyz"};
constexpr std::array<std::string_view, 10> wide_types = {"i32",
                                                         "f64",
                                                         "string",
                                                         "bool",
                                                         "list<i32>",
                                                         "optional<i64>",
                                                         "u8",
                                                         "map<string, i32>",
                                                         "variant<i32, string>",
                                                         "array<i16, 3>"};

// Private members named with BRINE_FIELDS; the trailing underscore is dropped in the schema.
class Account {
 public:
  Account() = default;
  Account(std::string owner, long cents) : owner_(std::move(owner)), cents_(cents) {}
  const std::string& owner() const { return owner_; }
  long cents() const { return cents_; }
  bool operator==(const Account&) const = default;
  BRINE_FIELDS(owner_, cents_)

 private:
  std::string owner_;
  long cents_ = 0;
};

// Only the named members travel; the cache is rebuilt by the reader.
class Cached {
 public:
  Cached() = default;
  explicit Cached(int v) : value_(v), cache_(std::to_string(v)) {}
  int value() const { return value_; }
  const std::string& cache() const { return cache_; }
  BRINE_FIELDS(value_)

 private:
  int value_ = 0;
  std::string cache_;
};

// No default constructor and no public data: only an adapter can carry it.
class Celsius {
 public:
  explicit Celsius(double d) : degrees_(d) {}
  double degrees() const { return degrees_; }

 private:
  double degrees_;
};

// Default-constructible, private members, stored as a pair.
class Rational {
 public:
  Rational() = default;
  Rational(std::int64_t n, std::int64_t d) : num_(n), den_(d) {}
  std::int64_t num() const { return num_; }
  std::int64_t den() const { return den_; }
  bool operator==(const Rational&) const = default;

 private:
  std::int64_t num_ = 0;
  std::int64_t den_ = 1;
};

// An aggregate with an adapter: the adapter wins.
struct Version {
  int major = 0, minor = 0, patch = 0;
  bool operator==(const Version&) const = default;
};

// A type one cannot edit that is not an aggregate (it has a constructor).
struct Legacy {
  Legacy() = default;
  Legacy(int i, std::string l) : id(i), label(std::move(l)) {}
  int id = 0;
  std::string label;
  bool operator==(const Legacy&) const = default;
};

struct Mixed {
  Account account;
  Rational share;
  Legacy legacy;
  Version version;
  std::vector<Rational> history;
  std::optional<Legacy> maybe;
  bool operator==(const Mixed&) const = default;
};

}  // namespace aggregate_types

using namespace aggregate_types;

template <>
struct brine::adapter<Celsius> {
  using wire_type = double;
  static double to_wire(const Celsius& c) { return c.degrees(); }
  static Celsius from_wire(double&& d) { return Celsius(d); }
};

template <>
struct brine::adapter<Rational> {
  using wire_type = std::pair<std::int64_t, std::int64_t>;
  static wire_type to_wire(const Rational& r) { return {r.num(), r.den()}; }
  static Rational from_wire(wire_type&& w) { return Rational(w.first, w.second); }
};

template <>
struct brine::adapter<Version> {
  using wire_type = std::string;
  static std::string to_wire(const Version& v) {
    return std::to_string(v.major) + "." + std::to_string(v.minor) + "." + std::to_string(v.patch);
  }
  static Version from_wire(std::string&& s) {
    Version v;
    auto dot1 = s.find('.');
    auto dot2 = s.find('.', dot1 + 1);
    v.major = std::stoi(s.substr(0, dot1));
    v.minor = std::stoi(s.substr(dot1 + 1, dot2 - dot1 - 1));
    v.patch = std::stoi(s.substr(dot2 + 1));
    return v;
  }
};

template <>
struct brine::fields<Legacy> {
  static auto tie(Legacy& l) { return std::tie(l.id, l.label); }
  static auto tie(const Legacy& l) { return std::tie(l.id, l.label); }
  static constexpr std::array<std::string_view, 2> names = {"id", "label"};
};

namespace {

// Types without linkage, declared in an unnamed namespace as programs often do (clang once
// refused to count the fields of a struct holding std::optional of such a type).
struct Local {
  int a = 0;
  std::string s;
  bool operator==(const Local&) const = default;
};
struct HoldsLocal {
  std::optional<Local> maybe;
  std::vector<Local> many;
  std::variant<int, Local> either;
  bool operator==(const HoldsLocal&) const = default;
};

Wide make_wide(int seed) {
  Wide w{};
  w.id = seed;
  w.ratio = seed / 7.0;
  w.title = "title " + std::to_string(seed);
  w.enabled = seed % 2 == 0;
  w.counts = {seed, seed + 1};
  w.maybe_total = seed * 1000000000LL;
  w.level = static_cast<std::uint8_t>(seed);
  w.index = {{"a", seed}, {"b", -seed}};
  w.choice = std::string("chosen");
  w.triple = {1, 2, static_cast<std::int16_t>(seed)};
  w.width = -seed;
  w.scale = 1e-300;
  w.label = std::string(100, 'L');
  w.visible = true;
  w.samples = {};
  w.maybe_size = std::nullopt;
  w.flags = 0xff;
  w.attrs = {};
  w.either = 17;
  w.shorts = {-1, -2, -3};
  w.height = 1 << 30;
  w.weight = -2.5;
  w.owner = "owner";
  w.locked = false;
  w.ids = {1, 2, 3, 4, 5, 6, 7, 8, 9};
  w.maybe_parent = -1;
  w.priority = 3;
  w.tags = {{"t", 1}};
  w.pick = std::string();
  w.rgb = {255, 128, 0};
  w.depth = 12;
  w.offset = 0.125;
  w.path = "/tmp/x";
  w.active = true;
  w.codes = {404, 500};
  w.maybe_limit = 0;
  w.mode = 2;
  w.env = {{"HOME", 1}, {"PATH", 2}};
  w.kind = 0;
  w.dims = {3, 4, 5};
  w.count = 99;
  w.factor = 3.5;
  w.comment = "last few";
  w.dirty = true;
  w.refs = {seed};
  w.maybe_next = 7;
  w.state = 1;
  w.meta = {{"k", seed}};
  w.tail = std::string("tail");
  w.xyz = {7, 8, 9};
  return w;
}

}  // namespace

TEST_CASE("aggregate: nested plain structs round-trip with no code", "[codec][aggregate]") {
  Person p;
  p.name = "Ada";
  p.age = 36;
  p.home = {"Main St", 1};
  p.previous = {{"Old Rd", 2}, {"", 0}};
  p.work = Address{"Work Ave", 3};
  p.places = {{"home", {1.5, 2.5}}, {"office", {-1, -2}}};
  check_roundtrip(p);
  check_roundtrip(Person{});
  check_roundtrip(std::vector<Person>{p, Person{}, p});
  CHECK(brine::schema_text<Address>() == "{street: string, number: i32}");
  CHECK(brine::schema_text<Person>() ==
        "{name: string, age: i32, home: {street: string, number: i32}, "
        "previous: list<{street: string, number: i32}>, "
        "work: optional<{street: string, number: i32}>, places: map<string, {x: f64, y: f64}>}");
}

TEST_CASE("aggregate: structs of types declared in an unnamed namespace round-trip",
          "[codec][aggregate]") {
  check_roundtrip(HoldsLocal{Local{1, "one"}, {Local{2, "two"}, Local{}}, Local{3, "three"}});
  check_roundtrip(HoldsLocal{});
  CHECK(brine::schema_text<HoldsLocal>() ==
        "{maybe: optional<{a: i32, s: string}>, many: list<{a: i32, s: string}>, "
        "either: variant<i32, {a: i32, s: string}>}");
}

TEST_CASE("aggregate: a padded struct travels field by field, without its padding",
          "[codec][aggregate]") {
  Padded p{'z', 2.5};
  check_roundtrip(p);
  CHECK(brine::dumps(p).size() == header_size + 1 + 8);
  CHECK(brine::dumps(Point{1, 2}).size() == header_size + 16);
  check_roundtrip(std::vector<Padded>{{'a', 1}, {'b', 2}});
}

TEST_CASE("aggregate: default member initializers do not get in the way", "[codec][aggregate]") {
  check_roundtrip(Defaults{});
  check_roundtrip(Defaults{5, "", {}});
}

TEST_CASE("aggregate: a 50-member struct round-trips and its schema lists the 50 names",
          "[codec][aggregate]") {
  for (int seed : {0, 1, 42})
    check_roundtrip(make_wide(seed));
  check_roundtrip(Wide{});

  std::string expected = "{";
  for (std::size_t i = 0; i < wide_names.size(); ++i) {
    if (i != 0) expected += ", ";
    expected += std::string(wide_names[i]) + ": " + std::string(wide_types[i % 10]);
  }
  expected += "}";
  CHECK(brine::schema_text<Wide>() == expected);
}

TEST_CASE("aggregate: BRINE_FIELDS carries private members under their public names",
          "[codec][aggregate]") {
  Account a("Grace", 123456789012L);
  Account back = roundtrip(a);
  CHECK(back == a);
  CHECK(back.owner() == "Grace");
  CHECK(back.cents() == 123456789012L);
  CHECK(brine::schema_text<Account>() == "{owner: string, cents: i64}");
  check_roundtrip(std::vector<Account>{a, Account{}});
}

TEST_CASE("aggregate: BRINE_FIELDS serializes only the members it names", "[codec][aggregate]") {
  Cached c(77);
  REQUIRE(c.cache() == "77");
  Cached back = roundtrip(c);
  CHECK(back.value() == 77);
  CHECK(back.cache().empty());
  CHECK(brine::schema_text<Cached>() == "{value: i32}");
}

TEST_CASE("aggregate: an adapter carries a class without default constructor or public members",
          "[codec][aggregate]") {
  Celsius c(21.5);
  auto bytes_c = brine::dumps(c);
  // Same wire as the wire_type, and the same schema and fingerprint.
  CHECK(body_of(bytes_c) == body_of(brine::dumps(21.5)));
  CHECK(brine::fingerprint<Celsius> == brine::fingerprint<double>);
  CHECK(brine::schema_text<Celsius>() == "f64");
  Celsius back(0);
  brine::loads_into(bytes_c, back);
  CHECK(back.degrees() == 21.5);
#ifdef BRINE_TEST_LOADS_WITHOUT_DEFAULT_CTOR
  // CORE BUG: loads<T> static_asserts is_default_constructible_v<T> even when T has an adapter,
  // so this does not compile; see the report.
  CHECK(brine::loads<Celsius>(bytes_c).degrees() == 21.5);
#endif
}

TEST_CASE("aggregate: an adapter for a default-constructible class works in containers",
          "[codec][aggregate]") {
  check_roundtrip(Rational(3, 4));
  check_roundtrip(std::vector<Rational>{{1, 2}, {-5, 7}, {}});
  check_roundtrip(std::optional<Rational>{Rational(9, 10)});
  check_roundtrip(std::map<std::string, Rational>{{"half", {1, 2}}});
  CHECK(brine::schema_text<Rational>() == "(i64, i64)");
}

TEST_CASE("aggregate: an adapter takes precedence over aggregate reflection",
          "[codec][aggregate]") {
  Version v{1, 22, 333};
  check_roundtrip(v);
  CHECK(body_of(brine::dumps(v)) == body_of(brine::dumps(std::string("1.22.333"))));
  CHECK(brine::schema_text<Version>() == "string");
}

TEST_CASE("aggregate: a brine::fields specialisation describes a type one cannot edit",
          "[codec][aggregate]") {
  check_roundtrip(Legacy(5, "five"));
  check_roundtrip(std::vector<Legacy>{{1, "a"}, {2, "b"}});
  CHECK(brine::schema_text<Legacy>() == "{id: i32, label: string}");
}

TEST_CASE("aggregate: all the ways of describing a type mix in one struct", "[codec][aggregate]") {
  Mixed m{Account("x", 1),
          Rational(2, 3),
          Legacy(4, "four"),
          Version{5, 6, 7},
          {Rational(1, 1), Rational(0, 1)},
          Legacy(8, "eight")};
  check_roundtrip(m);
  check_roundtrip(Mixed{});
  CHECK(brine::schema_text<Mixed>() ==
        "{account: {owner: string, cents: i64}, share: (i64, i64), "
        "legacy: {id: i32, label: string}, version: string, history: list<(i64, i64)>, "
        "maybe: optional<{id: i32, label: string}>}");
}
