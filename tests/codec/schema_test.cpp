// Schemas and fingerprints: the text each type renders to, which types share a wire layout, and
// type_mismatch when a frame of one type is read as another.

#include <catch2/catch.hpp>

#include <array>
#include <bitset>
#include <chrono>
#include <complex>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <forward_list>
#include <list>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <tuple>
#include <unordered_map>
#include <unordered_set>
#include <variant>
#include <vector>

#include "codec_test_util.hpp"

using namespace codec_test;

namespace schema_types {

struct Point {
  double x, y;
  bool operator==(const Point&) const = default;
};

class Account {
 public:
  BRINE_FIELDS(owner_, cents_)

 private:
  std::string owner_;
  long cents_ = 0;
};

struct Empty {};

enum class color : std::uint8_t { red, green };

struct XY {
  int x, y;
};
struct XZ {
  int x, z;
};
struct YX {
  int y, x;
};
struct XYLong {
  long x, y;
};
struct XYUnsigned {
  unsigned x, y;
};

}  // namespace schema_types

namespace {

// GCC renders names in an unnamed namespace as "{anonymous}::...".
struct Hidden {
  double x, y;
};
struct HiddenOther {
  double a, b;
};

}  // namespace

using namespace schema_types;

template <class T>
static std::string text() {
  return brine::schema_text<T>();
}

TEST_CASE("schema: numbers, characters and other scalars render by wire type", "[codec][schema]") {
  CHECK(text<bool>() == "bool");
  CHECK(text<std::int8_t>() == "i8");
  CHECK(text<std::uint8_t>() == "u8");
  CHECK(text<std::int16_t>() == "i16");
  CHECK(text<std::uint16_t>() == "u16");
  CHECK(text<int>() == "i32");
  CHECK(text<unsigned>() == "u32");
  CHECK(text<long long>() == "i64");
  CHECK(text<std::uint64_t>() == "u64");
  CHECK(text<float>() == "f32");
  CHECK(text<double>() == "f64");
  CHECK(text<long double>() == "f80");
  CHECK(text<char>() == "char");
  CHECK(text<char8_t>() == "char8");
  CHECK(text<char16_t>() == "char16");
  CHECK(text<char32_t>() == "char32");
  CHECK(text<wchar_t>() == "wchar");
  CHECK(text<std::byte>() == "byte");
  CHECK(text<color>() == "enum<u8>");
  CHECK(text<std::monostate>() == "unit");
  CHECK(text<Empty>() == "unit");
  CHECK(text<std::filesystem::path>() == "path");
}

TEST_CASE("schema: strings and containers render with their element types", "[codec][schema]") {
  CHECK(text<std::string>() == "string");
  CHECK(text<std::u8string>() == "u8string");
  CHECK(text<std::u16string>() == "u16string");
  CHECK(text<std::u32string>() == "u32string");
  CHECK(text<std::wstring>() == "wstring");
  CHECK(text<std::vector<int>>() == "list<i32>");
  CHECK(text<std::vector<bool>>() == "vector<bool>");
  CHECK(text<std::set<int>>() == "set<i32>");
  CHECK(text<std::multiset<int>>() == "multiset<i32>");
  CHECK(text<std::map<std::string, std::vector<double>>>() == "map<string, list<f64>>");
  CHECK(text<std::multimap<int, char>>() == "multimap<i32, char>");
  CHECK(text<std::array<int, 3>>() == "array<i32, 3>");
  CHECK(text<int[2][3]>() == "array<array<i32, 3>, 2>");
  CHECK(text<std::tuple<int, bool>>() == "(i32, bool)");
  CHECK(text<std::pair<int, bool>>() == "(i32, bool)");
  CHECK(text<std::tuple<>>() == "()");
  CHECK(text<std::optional<int>>() == "optional<i32>");
  CHECK(text<std::variant<int, std::string>>() == "variant<i32, string>");
  CHECK(text<std::unique_ptr<int>>() == "unique_ptr<i32>");
  CHECK(text<std::shared_ptr<Point>>() == "shared_ptr<{x: f64, y: f64}>");
  CHECK(text<std::complex<float>>() == "complex<f32>");
  CHECK(text<std::bitset<13>>() == "bitset<13>");
}

TEST_CASE("schema: durations and time points name their period and clock", "[codec][schema]") {
  using namespace std::chrono;
  CHECK(text<milliseconds>() == "duration<i64, 1/1000>");
  CHECK(text<seconds>() == "duration<i64, 1/1>");
  CHECK(text<hours>() == "duration<i64, 3600/1>");
  CHECK(text<duration<double>>() == "duration<f64, 1/1>");
  CHECK(text<duration<std::int32_t, std::ratio<1, 3>>>() == "duration<i32, 1/3>");
  CHECK(text<system_clock::time_point>() ==
        "time_point<system_clock, duration<i64, 1/1000000000>>");
  CHECK(text<steady_clock::time_point>() ==
        "time_point<steady_clock, duration<i64, 1/1000000000>>");
}

TEST_CASE("schema: structs render as records with field names", "[codec][schema]") {
  CHECK(text<Point>() == "{x: f64, y: f64}");
  CHECK(text<Account>() == "{owner: string, cents: i64}");
  CHECK(text<std::vector<Point>>() == "list<{x: f64, y: f64}>");
  CHECK(text<std::map<std::string, std::vector<std::optional<
                                       std::variant<int, std::string, std::vector<Point>>>>>>() ==
        "map<string, list<optional<variant<i32, string, list<{x: f64, y: f64}>>>>>");
}

TEST_CASE("schema: the schema bytes are the documented encoding", "[codec][schema]") {
  auto bytes_of = [](auto s) { return std::vector<std::uint8_t>(s.begin(), s.end()); };
  CHECK(bytes_of(brine::schema_of<int>) == std::vector<std::uint8_t>{0x06});
  CHECK(bytes_of(brine::schema_of<std::vector<std::string>>) ==
        std::vector<std::uint8_t>{0x21, 0x20, 0x0d});
  CHECK(bytes_of(brine::schema_of<Point>) ==
        std::vector<std::uint8_t>{0x29, 2, 1, 'x', 0x0b, 1, 'y', 0x0b});
  CHECK(brine::fingerprint<Point> == brine::fingerprint_of(brine::schema_of<Point>));
}

TEST_CASE("schema: malformed schema bytes throw decode_error", "[codec][schema]") {
  auto render = [](std::vector<std::uint8_t> s) { return brine::schema_text(s); };
  CHECK_THROWS_AS(render({}), brine::decode_error);
  CHECK_THROWS_AS(render({0xff}), brine::decode_error);
  CHECK_THROWS_AS(render({0x21}), brine::decode_error);             // list of nothing
  CHECK_THROWS_AS(render({0x29, 1, 5, 'x'}), brine::decode_error);  // name runs off the end
  CHECK_THROWS_AS(render({0x06, 0x06}), brine::decode_error);       // trailing bytes
  CHECK_THROWS_AS(render({0x29, 0xff, 0xff, 0xff, 0x0f}), brine::decode_error);
  std::vector<std::uint8_t> deep(100000, 0x2a);  // optional<optional<...
  deep.push_back(0x06);
  CHECK_THROWS_AS(render(deep), brine::decode_error);
}

TEST_CASE("fingerprint: containers with one wire layout share a fingerprint", "[codec][schema]") {
  CHECK(brine::fingerprint<std::vector<int>> == brine::fingerprint<std::list<int>>);
  CHECK(brine::fingerprint<std::vector<int>> == brine::fingerprint<std::deque<int>>);
  CHECK(brine::fingerprint<std::vector<int>> == brine::fingerprint<std::forward_list<int>>);
  CHECK(brine::fingerprint<std::set<int>> == brine::fingerprint<std::unordered_set<int>>);
  CHECK(brine::fingerprint<std::multiset<int>> == brine::fingerprint<std::unordered_multiset<int>>);
  CHECK(brine::fingerprint<std::map<int, int>> == brine::fingerprint<std::unordered_map<int, int>>);
  CHECK(brine::fingerprint<std::pair<int, bool>> == brine::fingerprint<std::tuple<int, bool>>);
  CHECK(brine::fingerprint<std::array<int, 3>> == brine::fingerprint<int[3]>);
  CHECK(brine::fingerprint<long> == brine::fingerprint<long long>);
}

TEST_CASE("fingerprint: sequences, sets and maps can be read as each other's kin",
          "[codec][schema]") {
  std::vector<int> v = {3, 1, 2};
  auto f = brine::dumps(v);
  CHECK(brine::loads<std::list<int>>(f) == std::list<int>{3, 1, 2});
  CHECK(brine::loads<std::deque<int>>(f) == std::deque<int>{3, 1, 2});
  CHECK(brine::loads<std::forward_list<int>>(f) == std::forward_list<int>{3, 1, 2});
  CHECK(brine::loads<std::vector<int>>(brine::dumps(std::list<int>{3, 1, 2})) == v);
  CHECK(brine::loads<std::vector<int>>(brine::dumps(std::deque<int>{3, 1, 2})) == v);
  CHECK(brine::loads<std::vector<int>>(brine::dumps(std::forward_list<int>{3, 1, 2})) == v);

  std::set<std::string> s = {"a", "b"};
  CHECK(brine::loads<std::unordered_set<std::string>>(brine::dumps(s)) ==
        std::unordered_set<std::string>{"a", "b"});
  std::unordered_map<std::string, int> um = {{"x", 1}, {"y", 2}};
  CHECK(brine::loads<std::map<std::string, int>>(brine::dumps(um)) ==
        std::map<std::string, int>{{"x", 1}, {"y", 2}});
}

TEST_CASE("fingerprint: different field names, field order or types differ", "[codec][schema]") {
  std::vector<std::uint64_t> fps = {
      brine::fingerprint<XY>,
      brine::fingerprint<XZ>,
      brine::fingerprint<YX>,
      brine::fingerprint<XYLong>,
      brine::fingerprint<XYUnsigned>,
      brine::fingerprint<std::tuple<int, int>>,
      brine::fingerprint<std::vector<int>>,
      brine::fingerprint<std::vector<unsigned>>,
      brine::fingerprint<std::set<int>>,
      brine::fingerprint<std::multiset<int>>,
      brine::fingerprint<std::map<int, int>>,
      brine::fingerprint<std::multimap<int, int>>,
      brine::fingerprint<std::optional<int>>,
      brine::fingerprint<std::unique_ptr<int>>,
      brine::fingerprint<std::shared_ptr<int>>,
      brine::fingerprint<std::string>,
      brine::fingerprint<std::vector<char>>,
      brine::fingerprint<std::chrono::milliseconds>,
      brine::fingerprint<std::chrono::microseconds>,
      brine::fingerprint<std::chrono::system_clock::time_point>,
      brine::fingerprint<std::chrono::steady_clock::time_point>,
      brine::fingerprint<std::array<int, 3>>,
      brine::fingerprint<std::array<int, 4>>,
      brine::fingerprint<std::bitset<13>>,
      brine::fingerprint<std::bitset<14>>,
      brine::fingerprint<color>,
      brine::fingerprint<std::uint8_t>,
      brine::fingerprint<std::variant<int, long>>,
      brine::fingerprint<std::variant<long, int>>,
      brine::fingerprint<Point>,
      brine::fingerprint<Account>,
  };
  std::set<std::uint64_t> distinct(fps.begin(), fps.end());
  CHECK(distinct.size() == fps.size());
}

TEST_CASE("type_mismatch: reading a Point frame as an Account names both types and schemas",
          "[codec][schema]") {
  auto frame = brine::dumps(Point{1, 2});
  (void)brine::dumps(schema_types::Account{});  // the process has now seen both types
  try {
    (void)brine::loads<Account>(frame);
    FAIL("loads<Account> of a Point frame succeeded");
  } catch (const brine::type_mismatch& e) {
    std::string what = e.what();
    CAPTURE(what);
    CHECK(what.find("Point") != std::string::npos);
    CHECK(what.find("Account") != std::string::npos);
    CHECK(what.find("{x: f64, y: f64}") != std::string::npos);
    CHECK(what.find("{owner: string, cents: i64}") != std::string::npos);
    // Expected type first, found type second.
    CHECK(what.find("Account") < what.find("Point"));
  }
  // type_mismatch is a decode_error, and a brine::error.
  CHECK_THROWS_AS(brine::loads<Point>(brine::dumps(Account{})), brine::decode_error);
  CHECK_THROWS_AS(brine::loads<Point>(brine::dumps(Account{})), brine::error);
  CHECK_THROWS_AS(brine::loads<std::vector<unsigned>>(brine::dumps(std::vector<int>{})),
                  brine::type_mismatch);
}

TEST_CASE("type_mismatch: a frame from a stream carries its schema into the message",
          "[codec][schema]") {
  std::stringstream ss;
  brine::dump(std::map<std::string, XZ>{}, ss);
  try {
    (void)brine::load<Point>(ss);
    FAIL("load<Point> of a map frame succeeded");
  } catch (const brine::type_mismatch& e) {
    std::string what = e.what();
    CAPTURE(what);
    CHECK(what.find("{x: f64, y: f64}") != std::string::npos);
    CHECK(what.find("map<string, {x: i32, z: i32}>") != std::string::npos);
  }
}

TEST_CASE("type_mismatch: a fingerprint nobody knows is reported in hex", "[codec][schema]") {
  auto frame = brine::dumps(Point{1, 2});
  write_u64(frame, fingerprint_at, 0x0123456789abcdefULL);
  try {
    (void)brine::loads<Point>(frame);
    FAIL("loads accepted an unknown fingerprint");
  } catch (const brine::type_mismatch& e) {
    std::string what = e.what();
    CAPTURE(what);
    CHECK(what.find("0123456789abcdef") != std::string::npos);
    CHECK(what.find("Point") != std::string::npos);
  }
}

TEST_CASE("schema: field names of a struct in an unnamed namespace are its own",
          "[codec][schema]") {
  // GCC spells the namespace "{anonymous}", a brace a careless name parser stops at.
  CHECK(text<Hidden>() == "{x: f64, y: f64}");
  CHECK(brine::fingerprint<Hidden> != brine::fingerprint<HiddenOther>);
}

TEST_CASE("schema: type names in messages read as people write them", "[codec][schema]") {
  using brine::detail::readable_type_name;
  CHECK(readable_type_name("std::__cxx11::basic_string<char>") == "std::string");
  CHECK(readable_type_name("std::vector<std::vector<std::__cxx11::basic_string<char> > >") ==
        "std::vector<std::vector<std::string>>");
  CHECK(readable_type_name("std::map<long int, long unsigned int>") ==
        "std::map<long, unsigned long>");
  CHECK(readable_type_name("std::tuple<long long int, short unsigned int, short int>") ==
        "std::tuple<long long, unsigned short, short>");
  CHECK(readable_type_name("std::basic_string_view<char>") == "std::string_view");
  CHECK(readable_type_name("int(double, double)") == "int(double, double)");
  std::string what;
  try {
    brine::loads<std::vector<long>>(brine::dumps(std::string("x")));
  } catch (const brine::type_mismatch& e) {
    what = e.what();
  }
  CHECK(what.find("expected std::vector<long> ") != std::string::npos);
  CHECK(what.find("found std::string ") != std::string::npos);
}
