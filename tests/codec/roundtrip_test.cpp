// Every type the codec supports comes back from loads(dumps(v)) exactly as it went in.

#include <catch2/catch.hpp>

#include <array>
#include <bit>
#include <bitset>
#include <chrono>
#include <cmath>
#include <complex>
#include <cstdint>
#include <cstring>
#include <deque>
#include <filesystem>
#include <forward_list>
#include <limits>
#include <list>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <span>
#include <string>
#include <tuple>
#include <unordered_map>
#include <unordered_set>
#include <variant>
#include <vector>

#include "codec_test_util.hpp"

using namespace codec_test;

namespace roundtrip_types {

struct Point {
  double x, y;
  bool operator==(const Point&) const = default;
};

struct Empty {
  bool operator==(const Empty&) const = default;
};

enum class color : std::uint8_t { red, green, blue = 200 };
enum class wide_enum : std::int64_t {
  lowest = std::numeric_limits<std::int64_t>::min(),
  highest = std::numeric_limits<std::int64_t>::max()
};
enum legacy { legacy_a, legacy_b, legacy_c = 5 };
enum legacy_fixed : unsigned { fixed_low = 1, fixed_high = 0x80000000u };

}  // namespace roundtrip_types

using namespace roundtrip_types;

namespace {

template <class T>
void check_integer_limits() {
  using lim = std::numeric_limits<T>;
  for (T v : {lim::min(), lim::max(), T{0}, T{1}, static_cast<T>(lim::max() / 3)}) {
    CHECK(roundtrip(v) == v);
  }
}

// Equal object representation, which is what "exactly" means for NaN payloads and -0.0.
template <class F>
bool same_bits(F a, F b) {
  if constexpr (std::is_same_v<F, long double>) {
    return std::memcmp(&a, &b, 10) == 0;  // the x87 value; the rest is padding
  } else {
    return std::memcmp(&a, &b, sizeof(F)) == 0;
  }
}

template <class F>
std::vector<F> float_specimens() {
  using lim = std::numeric_limits<F>;
  std::vector<F> v = {F(0),
                      -F(0),
                      F(1),
                      F(-1.5),
                      lim::min(),
                      lim::max(),
                      lim::lowest(),
                      lim::denorm_min(),
                      lim::epsilon(),
                      lim::infinity(),
                      -lim::infinity(),
                      lim::quiet_NaN(),
                      -lim::quiet_NaN(),
                      lim::signaling_NaN()};
  if constexpr (sizeof(F) == 4) {
    v.push_back(std::bit_cast<F>(std::uint32_t{0x7fc12345}));  // NaN with a payload
    v.push_back(std::bit_cast<F>(std::uint32_t{0xff800001}));  // negative signalling NaN
  } else if constexpr (sizeof(F) == 8) {
    v.push_back(std::bit_cast<F>(std::uint64_t{0x7ff8dead0000beefULL}));
    v.push_back(std::bit_cast<F>(std::uint64_t{0xfff0000000000001ULL}));
  }
  return v;
}

template <class F>
void check_float_bits() {
  for (F v : float_specimens<F>()) {
    F w = roundtrip(v);
    CHECK(same_bits(v, w));
  }
  // A vector of them takes the memcpy path; it must keep the bits too.
  std::vector<F> all = float_specimens<F>();
  std::vector<F> back = roundtrip(all);
  REQUIRE(back.size() == all.size());
  for (std::size_t i = 0; i < all.size(); ++i)
    CHECK(same_bits(all[i], back[i]));
}

std::vector<bool> random_bits(std::size_t n, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<bool> v(n);
  for (std::size_t i = 0; i < n; ++i)
    v[i] = (rng() & 1) != 0;
  return v;
}

}  // namespace

namespace {
struct pair_of_doubles {
  double a, b;
  bool operator==(const pair_of_doubles&) const = default;
};

// Decodes `v` from frames placed at every offset 0..15 in a buffer, into new vectors and into
// reused ones of other lengths: flat sequences are copied in bulk, through different paths for
// aligned and unaligned input.
template <class E>
void check_at_every_offset(const std::vector<E>& v) {
  std::vector<std::byte> frame = brine::dumps(v);
  for (std::size_t offset = 0; offset < 16; ++offset) {
    std::vector<std::byte> buf(offset, std::byte{0xAA});
    buf.insert(buf.end(), frame.begin(), frame.end());
    std::span<const std::byte> at(buf.data() + offset, frame.size());
    REQUIRE(brine::loads<std::vector<E>>(at) == v);
    std::vector<E> shorter(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2));
    brine::loads_into(at, shorter);
    REQUIRE(shorter == v);
    std::vector<E> longer(v.size() + 3);
    brine::loads_into(at, longer);
    REQUIRE(longer == v);
  }
}
}  // namespace

TEST_CASE("roundtrip: flat sequences decode exactly from aligned and unaligned input",
          "[codec][roundtrip]") {
  std::mt19937_64 rng(42);
  for (std::size_t n : {0u, 1u, 7u, 511u, 512u, 513u, 1024u, 1025u, 5000u}) {
    std::vector<std::uint8_t> bytes(n);
    std::vector<std::int64_t> longs(n);
    std::vector<float> floats(n);
    std::vector<pair_of_doubles> pairs(n);
    for (std::size_t i = 0; i < n; ++i) {
      bytes[i] = static_cast<std::uint8_t>(rng());
      longs[i] = static_cast<std::int64_t>(rng());
      floats[i] = static_cast<float>(rng() % 100000) / 7.0f;
      pairs[i] = {static_cast<double>(rng() % 1000) / 3.0, -static_cast<double>(i)};
    }
    check_at_every_offset(bytes);
    check_at_every_offset(longs);
    check_at_every_offset(floats);
    check_at_every_offset(pairs);
  }
}

TEST_CASE("roundtrip: every integer type keeps its min, max and zero", "[codec][roundtrip]") {
  check_integer_limits<signed char>();
  check_integer_limits<unsigned char>();
  check_integer_limits<char>();
  check_integer_limits<short>();
  check_integer_limits<unsigned short>();
  check_integer_limits<int>();
  check_integer_limits<unsigned>();
  check_integer_limits<long>();
  check_integer_limits<unsigned long>();
  check_integer_limits<long long>();
  check_integer_limits<unsigned long long>();
  check_integer_limits<std::int8_t>();
  check_integer_limits<std::uint8_t>();
  check_integer_limits<std::int16_t>();
  check_integer_limits<std::uint16_t>();
  check_integer_limits<std::int32_t>();
  check_integer_limits<std::uint32_t>();
  check_integer_limits<std::int64_t>();
  check_integer_limits<std::uint64_t>();
  check_integer_limits<std::size_t>();
}

TEST_CASE("roundtrip: every character type keeps its min and max", "[codec][roundtrip]") {
  check_integer_limits<wchar_t>();
  check_integer_limits<char8_t>();
  check_integer_limits<char16_t>();
  check_integer_limits<char32_t>();
  CHECK(roundtrip(L'\u00e9') == L'\u00e9');
  CHECK(roundtrip(U'\U0001F600') == U'\U0001F600');
}

TEST_CASE("roundtrip: an int32 is 4 little-endian bytes on the wire", "[codec][roundtrip]") {
  CHECK(body_of(brine::dumps(std::int32_t{0x01020304})) == b({4, 3, 2, 1}));
  CHECK(body_of(brine::dumps(std::int16_t{-2})) == b({0xfe, 0xff}));
  CHECK(body_of(brine::dumps(std::uint64_t{1})) == b({1, 0, 0, 0, 0, 0, 0, 0}));
}

TEST_CASE("roundtrip: float and double keep every bit: NaN payloads, -0.0, infinities",
          "[codec][roundtrip]") {
  check_float_bits<float>();
  check_float_bits<double>();
}

TEST_CASE("roundtrip: long double keeps its 80 bits and takes 16 bytes", "[codec][roundtrip]") {
  check_float_bits<long double>();
  long double pi = 3.14159265358979323846264338327950288L;
  CHECK(roundtrip(pi) == pi);
  bytes body = body_of(brine::dumps(pi));
  REQUIRE(body.size() == 16);
  CHECK(std::memcmp(body.data(), &pi, 10) == 0);
  for (std::size_t i = 10; i < 16; ++i)
    CHECK(body[i] == std::byte{0});
}

TEST_CASE("roundtrip: bool and std::byte", "[codec][roundtrip]") {
  CHECK(roundtrip(true) == true);
  CHECK(roundtrip(false) == false);
  CHECK(body_of(brine::dumps(true)) == b({1}));
  CHECK(body_of(brine::dumps(false)) == b({0}));
  for (int i : {0, 1, 0x7f, 0x80, 0xff}) {
    auto v = static_cast<std::byte>(i);
    CHECK(roundtrip(v) == v);
  }
}

TEST_CASE("roundtrip: scoped and unscoped enums keep their values", "[codec][roundtrip]") {
  CHECK(roundtrip(color::red) == color::red);
  CHECK(roundtrip(color::blue) == color::blue);
  CHECK(body_of(brine::dumps(color::blue)) == b({200}));
  CHECK(roundtrip(wide_enum::lowest) == wide_enum::lowest);
  CHECK(roundtrip(wide_enum::highest) == wide_enum::highest);
  CHECK(roundtrip(legacy_a) == legacy_a);
  CHECK(roundtrip(legacy_c) == legacy_c);
  CHECK(roundtrip(fixed_high) == fixed_high);
  check_roundtrip(std::vector<color>{color::green, color::blue, color::red});
}

TEST_CASE("roundtrip: strings of every character type", "[codec][roundtrip]") {
  check_roundtrip(std::string());
  check_roundtrip(std::string("hello"));
  check_roundtrip(std::string("embedded\0nul\xff", 13));
  check_roundtrip(std::string(10000, 'x'));
  check_roundtrip(std::string("caf\xc3\xa9 \xf0\x9f\x98\x80"));
  CHECK(body_of(brine::dumps(std::string("hi"))) == b({2, 'h', 'i'}));

  check_roundtrip(std::u8string());
  check_roundtrip(std::u8string(u8"caf\u00e9 \U0001F600"));
  check_roundtrip(std::u16string());
  check_roundtrip(std::u16string(u"surrogates \U0001F600 and \uffff"));
  check_roundtrip(std::u32string(U"\U0010FFFF\U0001F600"));
  check_roundtrip(std::u32string(300, U'z'));
  check_roundtrip(std::wstring());
  check_roundtrip(std::wstring(L"wide \u00e9\U0001F600"));
  // Lengths count characters, not bytes.
  CHECK(body_of(brine::dumps(std::u16string(u"ab"))) == b({2, 'a', 0, 'b', 0}));
}

TEST_CASE("roundtrip: C arrays, one- and two-dimensional, via loads_into", "[codec][roundtrip]") {
  int a[4] = {1, -2, 3, std::numeric_limits<int>::min()};
  int a_back[4] = {};
  brine::loads_into(brine::dumps(a), a_back);
  CHECK(std::equal(std::begin(a), std::end(a), std::begin(a_back)));

  double m[2][3] = {{1, 2, 3}, {-4, 5.5, -0.0}};
  double m_back[2][3] = {};
  auto mb = brine::dumps(m);
  CHECK(mb.size() == header_size + sizeof(m));
  brine::loads_into(mb, m_back);
  CHECK(std::memcmp(m, m_back, sizeof(m)) == 0);

  std::string s[3] = {"a", "", "ccc"};
  std::string s_back[3];
  brine::loads_into(brine::dumps(s), s_back);
  CHECK(std::equal(std::begin(s), std::end(s), std::begin(s_back)));

  Point p[2] = {{1, 2}, {3, 4}};
  Point p_back[2] = {};
  brine::loads_into(brine::dumps(p), p_back);
  CHECK(p_back[0] == p[0]);
  CHECK(p_back[1] == p[1]);
}

TEST_CASE("roundtrip: std::array, including empty and nested", "[codec][roundtrip]") {
  check_roundtrip(std::array<int, 5>{1, 2, 3, 4, 5});
  check_roundtrip(std::array<std::string, 2>{"x", "yz"});
  check_roundtrip(std::array<int, 0>{});
  CHECK(body_of(brine::dumps(std::array<int, 0>{})) == b({0}));
  check_roundtrip(std::array<std::array<short, 2>, 3>{{{1, 2}, {3, 4}, {5, 6}}});
  check_roundtrip(std::array<bool, 3>{true, false, true});
  check_roundtrip(std::array<std::optional<int>, 2>{std::nullopt, 7});
}

TEST_CASE("roundtrip: vector<bool> of lengths 0, 1, 7, 8, 9 and 1000", "[codec][roundtrip]") {
  for (std::size_t n : {0, 1, 7, 8, 9, 1000}) {
    CAPTURE(n);
    for (std::uint32_t seed : {1u, 2u, 3u}) {
      std::vector<bool> v = random_bits(n, seed);
      check_roundtrip(v);
      // Packed 8 to a byte after the length.
      CHECK(brine::dumps(v).size() == header_size + varint(n).size() + (n + 7) / 8);
    }
    check_roundtrip(std::vector<bool>(n, true));
    check_roundtrip(std::vector<bool>(n, false));
  }
  CHECK(body_of(brine::dumps(std::vector<bool>{true, false, true, true, false, false, false, false,
                                               true})) == b({9, 0x0d, 0x01}));
}

TEST_CASE("roundtrip: sequence containers", "[codec][roundtrip]") {
  check_roundtrip(std::vector<int>{});
  check_roundtrip(std::vector<int>{1, 2, 3});
  check_roundtrip(std::vector<std::string>{"a", "", "bcd"});
  check_roundtrip(std::vector<Point>{{1, 2}, {-3, 4.5}});
  check_roundtrip(std::vector<std::vector<int>>{{}, {1}, {2, 3}});
  check_roundtrip(std::deque<int>{5, 6, 7});
  check_roundtrip(std::deque<std::string>{"q", "r"});
  check_roundtrip(std::list<double>{1.5, -2.5});
  check_roundtrip(std::list<std::string>{});
  check_roundtrip(std::forward_list<int>{9, 8, 7, 6});
  check_roundtrip(std::forward_list<std::string>{"f", "l"});
  check_roundtrip(std::forward_list<int>{});
}

TEST_CASE("roundtrip: associative containers, ordered and unordered", "[codec][roundtrip]") {
  check_roundtrip(std::map<std::string, int>{{"a", 1}, {"b", 2}});
  check_roundtrip(std::map<int, std::vector<std::string>>{{1, {"x"}}, {-1, {}}});
  check_roundtrip(std::multimap<int, std::string>{{1, "a"}, {1, "b"}, {1, "a"}, {2, "c"}});
  check_roundtrip(std::unordered_map<std::string, double>{{"pi", 3.14}, {"e", 2.71}});
  check_roundtrip(std::unordered_multimap<int, int>{{1, 1}, {1, 2}, {3, 3}, {1, 1}});
  check_roundtrip(std::set<int>{3, 1, 2});
  check_roundtrip(std::set<std::string>{"b", "a"});
  check_roundtrip(std::multiset<int>{1, 1, 1, 2});
  check_roundtrip(std::unordered_set<std::string>{"x", "y", "z"});
  check_roundtrip(std::unordered_multiset<int>{4, 4, 5});
  check_roundtrip(std::map<int, int>{});
  check_roundtrip(std::unordered_set<int>{});
  // Multiplicity survives: the multiset keeps its three 1s.
  CHECK(roundtrip(std::multiset<int>{1, 1, 1}).count(1) == 3);
}

TEST_CASE("roundtrip: pair, tuple and the empty tuple", "[codec][roundtrip]") {
  check_roundtrip(std::pair<int, std::string>{7, "seven"});
  check_roundtrip(std::tuple<int, double, std::string, bool>{1, 2.5, "three", true});
  check_roundtrip(std::tuple<std::vector<int>, std::tuple<char, std::tuple<>>>{{1, 2}, {'c', {}}});
  check_roundtrip(std::tuple<>{});
  CHECK(body_of(brine::dumps(std::tuple<>{})) == b({0}));
}

TEST_CASE("roundtrip: optional, empty and full", "[codec][roundtrip]") {
  check_roundtrip(std::optional<int>{});
  check_roundtrip(std::optional<int>{42});
  check_roundtrip(std::optional<std::string>{"text"});
  check_roundtrip(std::optional<std::optional<int>>{});
  check_roundtrip(std::optional<std::optional<int>>{std::optional<int>{}});
  check_roundtrip(std::optional<std::optional<int>>{5});
  CHECK(roundtrip(std::optional<std::optional<int>>{std::optional<int>{}}).has_value());
  CHECK(body_of(brine::dumps(std::optional<int>{})) == b({0}));
  CHECK(body_of(brine::dumps(std::optional<std::uint8_t>{9})) == b({1, 9}));
}

TEST_CASE("roundtrip: variant comes back with each alternative and its index",
          "[codec][roundtrip]") {
  using V = std::variant<int, std::string, double, Point, std::monostate, std::vector<int>>;
  std::vector<V> all = {V{std::in_place_index<0>, -5},  V{std::in_place_index<1>, "s"},
                        V{std::in_place_index<2>, 2.5}, V{std::in_place_index<3>, Point{1, 2}},
                        V{std::in_place_index<4>},      V{std::in_place_index<5>, {1, 2}}};
  for (const V& v : all) {
    V w = roundtrip(v);
    CHECK(w.index() == v.index());
    CHECK(w == v);
  }
  // Two alternatives of one type: the index decides.
  using Twin = std::variant<int, int>;
  Twin t{std::in_place_index<1>, 9};
  Twin u = roundtrip(t);
  CHECK(u.index() == 1);
  CHECK(std::get<1>(u) == 9);
  CHECK(body_of(brine::dumps(t)) == b({1, 9, 0, 0, 0}));
}

TEST_CASE("roundtrip: monostate and empty structs are one zero byte", "[codec][roundtrip]") {
  check_roundtrip(std::monostate{});
  check_roundtrip(Empty{});
  CHECK(body_of(brine::dumps(std::monostate{})) == b({0}));
  CHECK(body_of(brine::dumps(Empty{})) == b({0}));
  check_roundtrip(std::vector<Empty>(3));
}

TEST_CASE("roundtrip: unique_ptr and shared_ptr, null and not", "[codec][roundtrip]") {
  CHECK(roundtrip(std::unique_ptr<int>{}) == nullptr);
  auto u = roundtrip(std::make_unique<std::string>("owned"));
  REQUIRE(u != nullptr);
  CHECK(*u == "owned");
  CHECK(body_of(brine::dumps(std::unique_ptr<int>{})) == b({0}));

  CHECK(roundtrip(std::shared_ptr<int>{}) == nullptr);
  auto s = roundtrip(std::make_shared<Point>(Point{3, 4}));
  REQUIRE(s != nullptr);
  CHECK(*s == Point{3, 4});
  CHECK(s.use_count() == 1);
  CHECK(body_of(brine::dumps(std::shared_ptr<int>{})) == b({0}));
  CHECK(body_of(brine::dumps(std::make_shared<std::uint8_t>(7))) == b({1, 7}));

  auto v = roundtrip(std::vector<std::unique_ptr<int>>{});
  CHECK(v.empty());
}

TEST_CASE("roundtrip: chrono durations of several periods and clock time points",
          "[codec][roundtrip]") {
  using namespace std::chrono;
  check_roundtrip(nanoseconds{-123456789012345});
  check_roundtrip(microseconds{42});
  check_roundtrip(milliseconds{std::numeric_limits<milliseconds::rep>::max()});
  check_roundtrip(seconds{-1});
  check_roundtrip(minutes{90});
  check_roundtrip(hours{24 * 365});
  check_roundtrip(duration<double>{1.25});
  check_roundtrip(duration<float, std::milli>{0.5f});
  check_roundtrip(duration<std::int32_t, std::ratio<1, 3>>{7});
  check_roundtrip(duration<std::int16_t, std::ratio<3600 * 24>>{-3});

  check_roundtrip(system_clock::now());
  check_roundtrip(steady_clock::now());
  check_roundtrip(system_clock::time_point{});
  check_roundtrip(time_point<system_clock, seconds>{seconds{1700000000}});
  check_roundtrip(time_point<steady_clock, milliseconds>{milliseconds{-5}});
}

TEST_CASE("roundtrip: complex numbers", "[codec][roundtrip]") {
  check_roundtrip(std::complex<float>{1.5f, -2.5f});
  check_roundtrip(std::complex<double>{-0.0, 1e300});
  check_roundtrip(std::complex<long double>{1.0L / 3, -7});
  check_roundtrip(std::vector<std::complex<double>>{{1, 2}, {3, 4}});
  auto nan = roundtrip(std::complex<double>{std::numeric_limits<double>::quiet_NaN(), -0.0});
  CHECK(std::isnan(nan.real()));
  CHECK(std::signbit(nan.imag()));
}

TEST_CASE("roundtrip: bitsets of 0, 1, 13, 64 and 200 bits", "[codec][roundtrip]") {
  check_roundtrip(std::bitset<0>{});
  check_roundtrip(std::bitset<1>{1});
  check_roundtrip(std::bitset<1>{0});
  check_roundtrip(std::bitset<13>{0x1abc});
  check_roundtrip(std::bitset<13>{}.set());
  check_roundtrip(std::bitset<64>{0x8000000000000001ULL});
  check_roundtrip(std::bitset<64>{}.set());
  std::bitset<200> big;
  for (std::size_t i = 0; i < 200; i += 3)
    big.set(i);
  big.set(199);
  check_roundtrip(big);
  check_roundtrip(std::bitset<200>{}.set());
  CHECK(body_of(brine::dumps(std::bitset<0>{})) == b({0}));
  CHECK(body_of(brine::dumps(std::bitset<13>{0x1001})) == b({0x01, 0x10}));
  CHECK(brine::dumps(big).size() == header_size + 25);
}

TEST_CASE("roundtrip: filesystem paths", "[codec][roundtrip]") {
  for (const char* s :
       {"", "/", "/usr/lib/x86_64-linux-gnu/libc.so.6", "a/b/../c", "dir/", "caf\xc3\xa9.txt"}) {
    std::filesystem::path p(s);
    CHECK(roundtrip(p).native() == p.native());
  }
}

TEST_CASE("roundtrip: deep nesting of containers, optionals and variants", "[codec][roundtrip]") {
  using Inner = std::variant<int, std::string, std::vector<Point>>;
  using Deep = std::map<std::string, std::vector<std::optional<Inner>>>;
  Deep d;
  d["empty"] = {};
  d["ints"] = {Inner{1}, std::nullopt, Inner{-2}};
  d["mixed"] = {Inner{std::string("s")}, Inner{std::vector<Point>{{1, 2}, {3, 4}}}, std::nullopt};
  d[""] = {Inner{std::vector<Point>{}}};
  check_roundtrip(d);

  using Deeper = std::vector<std::map<int, std::set<std::tuple<std::string, std::optional<char>>>>>;
  Deeper e = {{}, {{1, {{"a", 'x'}, {"b", std::nullopt}}}, {2, {}}}};
  check_roundtrip(e);

  std::unordered_map<std::string, std::list<std::deque<std::pair<int, std::u16string>>>> f = {
      {"k", {{{1, u"one"}}, {}, {{2, u"two"}, {3, u""}}}}};
  check_roundtrip(f);
}

TEST_CASE("roundtrip: loads_into replaces what the target held", "[codec][roundtrip]") {
  std::vector<int> v = {9, 9, 9, 9};
  brine::loads_into(brine::dumps(std::vector<int>{1}), v);
  CHECK(v == std::vector<int>{1});

  std::map<int, int> m = {{5, 5}};
  brine::loads_into(brine::dumps(std::map<int, int>{{1, 2}}), m);
  CHECK(m == std::map<int, int>{{1, 2}});

  std::optional<std::string> o = "old";
  brine::loads_into(brine::dumps(std::optional<std::string>{}), o);
  CHECK_FALSE(o.has_value());

  std::forward_list<std::string> fl = {"a", "b", "c"};
  brine::loads_into(brine::dumps(std::forward_list<std::string>{"z"}), fl);
  CHECK(fl == std::forward_list<std::string>{"z"});

  std::unordered_set<int> us = {1, 2, 3};
  brine::loads_into(brine::dumps(std::unordered_set<int>{4}), us);
  CHECK(us == std::unordered_set<int>{4});

  std::bitset<13> bs{0x1fff};
  brine::loads_into(brine::dumps(std::bitset<13>{1}), bs);
  CHECK(bs == std::bitset<13>{1});

  // Strings decoded over strings that are longer, as long, shorter within their capacity, and
  // shorter than needed: each path sets the length its own way.
  const std::string text = "a string longer than the small-string buffer";
  for (std::string old :
       {std::string(100, 'x'), std::string(text.size(), 'y'), std::string(3, 'z'), std::string()}) {
    old.reserve(old.size() + 10);
    brine::loads_into(brine::dumps(text), old);
    CHECK(old == text);
    brine::loads_into(brine::dumps(std::string("ab")), old);
    CHECK(old == "ab");
    brine::loads_into(brine::dumps(std::string()), old);
    CHECK(old.empty());
  }
  std::u16string wide = u"longer text in a reused wide string";
  brine::loads_into(brine::dumps(std::u16string(u"short")), wide);
  CHECK(wide == u"short");
}

TEST_CASE("roundtrip: encoding is deterministic", "[codec][roundtrip]") {
  std::map<std::string, std::vector<double>> m = {{"a", {1, 2}}, {"b", {}}};
  CHECK(brine::dumps(m) == brine::dumps(m));
  CHECK(brine::dumps(roundtrip(m)) == brine::dumps(m));
}

TEST_CASE("roundtrip: variants of small scalars compile and round-trip", "[codec]") {
  std::variant<int, bool> a = true;
  std::variant<int, char> b = 'z';
  CHECK(std::get<bool>(brine::loads<std::variant<int, bool>>(brine::dumps(a))));
  CHECK(std::get<char>(brine::loads<std::variant<int, char>>(brine::dumps(b))) == 'z');
  std::variant<int, bool> reused = 7;
  brine::loads_into(brine::dumps(a), reused);
  CHECK(std::get<bool>(reused));
}
