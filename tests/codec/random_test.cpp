// Randomized round trips: thousands of generated values per type, from fixed seeds.

#include <catch2/catch.hpp>

#include <cstdint>
#include <deque>
#include <limits>
#include <list>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <unordered_map>
#include <variant>
#include <vector>

#include "codec_test_util.hpp"

using namespace codec_test;

namespace random_types {

struct Point {
  double x, y;
  bool operator==(const Point&) const = default;
};

struct Record {
  std::string name;
  std::optional<int> count;
  std::variant<std::monostate, std::int64_t, std::string, std::vector<Point>> payload;
  std::vector<std::string> tags;
  std::optional<std::u16string> note;
  bool flag = false;
  std::map<std::string, double> scores;
  bool operator==(const Record&) const = default;
};

}  // namespace random_types

using namespace random_types;

namespace {

constexpr int values_per_type = 1000;

class generator {
 public:
  explicit generator(std::uint32_t seed) : rng_(seed) {}

  std::size_t size(std::size_t max) {
    // Mostly small, sometimes empty, now and then long.
    std::uint32_t r = rng_() % 16;
    if (r == 0) return 0;
    if (r == 15) return std::uniform_int_distribution<std::size_t>(0, max * 8)(rng_);
    return std::uniform_int_distribution<std::size_t>(0, max)(rng_);
  }
  int integer() {
    switch (rng_() % 4) {
      case 0:
        return std::uniform_int_distribution<int>(-10, 10)(rng_);
      case 1:
        return rng_() % 2 == 0 ? std::numeric_limits<int>::min() : std::numeric_limits<int>::max();
      default:
        return static_cast<int>(rng_());
    }
  }
  double real() {
    switch (rng_() % 8) {
      case 0:
        return 0.0;
      case 1:
        return std::numeric_limits<double>::infinity() * (rng_() % 2 == 0 ? 1 : -1);
      case 2:
        return std::numeric_limits<double>::denorm_min();
      case 3:
        return std::numeric_limits<double>::max();
      default:
        return std::normal_distribution<double>(0, 1e6)(rng_);
    }
  }
  bool coin() { return (rng_() & 1) != 0; }
  std::string text(std::size_t max = 12) {
    std::string s(size(max), '\0');
    for (char& c : s)
      c = static_cast<char>(rng_());  // any byte, NUL included
    return s;
  }
  std::u16string text16(std::size_t max = 8) {
    std::u16string s(size(max), u'\0');
    for (char16_t& c : s)
      c = static_cast<char16_t>(rng_());
    return s;
  }
  std::vector<int> ints() {
    std::vector<int> v(size(20));
    for (int& x : v)
      x = integer();
    return v;
  }
  std::vector<double> reals() {
    std::vector<double> v(size(6));
    for (double& x : v)
      x = real();
    return v;
  }
  std::map<std::string, std::vector<double>> map_of_reals() {
    std::map<std::string, std::vector<double>> m;
    std::size_t n = size(5);
    for (std::size_t i = 0; i < n; ++i)
      m[text(6)] = reals();
    return m;
  }
  Record record() {
    Record r;
    r.name = text();
    if (coin()) r.count = integer();
    switch (rng_() % 4) {
      case 0:
        r.payload = std::monostate{};
        break;
      case 1:
        r.payload = static_cast<std::int64_t>(rng_()) << 31;
        break;
      case 2:
        r.payload = text();
        break;
      default: {
        std::vector<Point> pts(size(4));
        for (Point& p : pts)
          p = {real(), real()};
        r.payload = std::move(pts);
      }
    }
    std::size_t n = size(4);
    for (std::size_t i = 0; i < n; ++i)
      r.tags.push_back(text(5));
    if (coin()) r.note = text16();
    r.flag = coin();
    n = size(3);
    for (std::size_t i = 0; i < n; ++i)
      r.scores[text(4)] = real();
    return r;
  }
  using nested_t = std::vector<std::map<int, std::set<std::string>>>;
  nested_t nested() {
    nested_t v(size(4));
    for (auto& m : v) {
      std::size_t n = size(3);
      for (std::size_t i = 0; i < n; ++i) {
        auto& s = m[integer()];
        std::size_t k = size(3);
        for (std::size_t j = 0; j < k; ++j)
          s.insert(text(4));
      }
    }
    return v;
  }
  using nested2_t =
      std::unordered_map<std::string, std::deque<std::list<std::optional<std::u16string>>>>;
  nested2_t nested2() {
    nested2_t m;
    std::size_t n = size(3);
    for (std::size_t i = 0; i < n; ++i) {
      auto& d = m[text(3)];
      d.resize(size(3));
      for (auto& l : d) {
        std::size_t k = size(3);
        for (std::size_t j = 0; j < k; ++j) {
          l.push_back(coin() ? std::optional<std::u16string>(text16()) : std::nullopt);
        }
      }
    }
    return m;
  }

 private:
  std::mt19937 rng_;
};

// Round-trips `make()` values_per_type times; for types whose encoding is canonical (no
// unordered containers) the bytes of the copy must equal the original's too.
template <class Make>
void check_many(Make make, bool canonical) {
  for (int i = 0; i < values_per_type; ++i) {
    auto v = make();
    auto bytes_v = brine::dumps(v);
    REQUIRE(bytes_v.size() == brine::dumps_size(v));
    auto w = brine::loads<decltype(v)>(bytes_v);
    if (!(w == v)) {
      FAIL("value " << i << " did not round-trip (" << bytes_v.size() << " bytes)");
    }
    if (canonical) REQUIRE(brine::dumps(w) == bytes_v);
  }
  SUCCEED(values_per_type << " values round-tripped");
}

}  // namespace

TEST_CASE("random: 1000 vector<int> values round-trip", "[codec][random]") {
  generator g(20240601);
  check_many([&] { return g.ints(); }, true);
}

TEST_CASE("random: 1000 map<string, vector<double>> values round-trip", "[codec][random]") {
  generator g(7);
  check_many([&] { return g.map_of_reals(); }, true);
}

TEST_CASE("random: 1000 structs with optionals, variants and strings round-trip",
          "[codec][random]") {
  generator g(99);
  check_many([&] { return g.record(); }, true);
}

TEST_CASE("random: 1000 nested containers round-trip", "[codec][random]") {
  generator g(12345);
  check_many([&] { return g.nested(); }, true);
  generator h(54321);
  check_many([&] { return h.nested2(); }, false);
}

TEST_CASE("random: 1000 vectors of records round-trip", "[codec][random]") {
  generator g(31337);
  check_many(
      [&] {
        std::vector<Record> v(g.size(3));
        for (Record& r : v)
          r = g.record();
        return v;
      },
      true);
}
