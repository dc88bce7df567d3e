// Untrusted bytes: every truncation and tens of thousands of random corruptions of valid frames
// either decode or throw brine::decode_error; nothing else, and never a crash (run under ASan).

#include <catch2/catch.hpp>

#include <array>
#include <bitset>
#include <chrono>
#include <complex>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <tuple>
#include <unordered_map>
#include <variant>
#include <vector>

#include "codec_test_util.hpp"

using namespace codec_test;

namespace safety_types {

struct Point {
  double x, y;
};

struct Empty {};

enum class color : std::uint16_t { red, green, blue };

struct Inner {
  std::string name;
  std::vector<Point> pts;
  std::optional<std::int32_t> maybe;
  bool flag = false;
};

// A bit of everything, but no recursive shared_ptr (a cycle a corruption builds would leak; see
// graph_test) and no unscoped enum (see hostile_test).
struct Rich {
  std::uint32_t id = 0;
  std::string title;
  std::u16string wide;
  std::vector<Inner> items;
  std::map<std::string, std::optional<int>> table;
  std::set<std::int64_t> keys;
  std::unordered_map<int, std::string> lookup;
  std::variant<std::monostate, int, std::string, Point> choice;
  std::vector<bool> bits;
  std::bitset<13> mask;
  long double ld = 0;
  std::tuple<char, std::array<std::uint16_t, 3>> tup;
  std::shared_ptr<Point> sp1;
  std::shared_ptr<Point> sp2;
  std::unique_ptr<std::string> up;
  color c = color::red;
  std::chrono::milliseconds dur{};
  std::complex<double> z;
  std::filesystem::path path;
  std::multimap<int, int> mm;
  std::deque<std::byte> raw;
  Empty e;
};

struct Tree {
  int v = 0;
  std::vector<Tree> kids;
};

struct List {
  std::uint8_t v = 0;
  std::unique_ptr<List> next;
};

}  // namespace safety_types

using namespace safety_types;

namespace {

Rich make_rich() {
  Rich r;
  r.id = 0xdeadbeef;
  r.title = "a title";
  r.wide = u"w\u00e9de";
  r.items = {{"first", {{1, 2}, {3, 4}}, 5, true}, {"", {}, std::nullopt, false}};
  r.table = {{"one", 1}, {"none", std::nullopt}, {"two", 2}};
  r.keys = {-1, 0, 1LL << 40};
  r.lookup = {{1, "x"}, {2, "yy"}};
  r.choice = std::string("chosen");
  r.bits = {true, false, true, true, false, true, false, false, true, true, true};
  r.mask = 0x1555;
  r.ld = 1.0L / 3;
  r.tup = {'t', {1, 2, 0xffff}};
  r.sp1 = std::make_shared<Point>(Point{7, 8});
  r.sp2 = r.sp1;
  r.up = std::make_unique<std::string>("unique");
  r.c = color::blue;
  r.dur = std::chrono::milliseconds(1234);
  r.z = {1.5, -2.5};
  r.path = "/a/b";
  r.mm = {{1, 1}, {1, 2}};
  r.raw = {std::byte{1}, std::byte{0xff}};
  return r;
}

Tree make_tree(int depth) {
  Tree t{depth, {}};
  if (depth > 0) t.kids = {make_tree(depth - 1), make_tree(depth - 1)};
  return t;
}

std::unique_ptr<List> make_list(int n) {
  std::unique_ptr<List> head;
  for (int i = 0; i < n; ++i) {
    auto node = std::make_unique<List>();
    node->v = static_cast<std::uint8_t>(i);
    node->next = std::move(head);
    head = std::move(node);
  }
  return head;
}

using Graph = std::vector<std::shared_ptr<std::map<std::string, std::vector<int>>>>;

Graph make_graph() {
  auto a = std::make_shared<std::map<std::string, std::vector<int>>>();
  (*a)["k"] = {1, 2, 3};
  auto c = std::make_shared<std::map<std::string, std::vector<int>>>();
  return {a, nullptr, a, c, a, c};
}

using Containers = std::tuple<std::vector<std::string>, std::map<int, std::set<std::string>>,
                              std::optional<std::vector<std::optional<std::u32string>>>,
                              std::variant<std::vector<int>, std::wstring, std::bitset<70>>>;

Containers make_containers() {
  return {{"alpha", "", "gamma"},
          {{1, {"a", "b"}}, {2, {}}},
          std::vector<std::optional<std::u32string>>{U"x", std::nullopt, U""},
          std::wstring(L"wide")};
}

// A frame of type T and the name to report it by.
struct specimen {
  std::string name;
  bytes frame;
  outcome (*decode)(std::span<const std::byte>, std::string*);
};

template <class T>
specimen make_specimen(std::string name, const T& v) {
  return {std::move(name), brine::dumps(v),
          [](std::span<const std::byte> f, std::string* what) { return try_loads<T>(f, what); }};
}

std::vector<specimen> specimens() {
  std::vector<specimen> s;
  s.push_back(make_specimen("Rich", make_rich()));
  s.push_back(make_specimen("Tree", make_tree(3)));
  s.push_back(make_specimen("List", make_list(6)));
  s.push_back(make_specimen("Graph", make_graph()));
  s.push_back(make_specimen("Containers", make_containers()));
  return s;
}

}  // namespace

TEST_CASE("safety: the specimens decode intact", "[codec][safety]") {
  for (const specimen& s : specimens()) {
    CAPTURE(s.name);
    std::string what;
    CHECK(s.decode(s.frame, &what) == outcome::decoded);
  }
}

TEST_CASE("loads: a truncated frame throws decode_error at every cut", "[codec][safety]") {
  for (const specimen& s : specimens()) {
    CAPTURE(s.name);
    for (std::size_t n = 0; n < s.frame.size(); ++n) {
      CAPTURE(n);
      std::span<const std::byte> prefix(s.frame.data(), n);
      std::string what;
      outcome o = s.decode(prefix, &what);
      CAPTURE(what);
      REQUIRE(o == outcome::decode_error);
    }
  }
}

TEST_CASE("loads: a body cut short, with the header's size fixed up, throws decode_error",
          "[codec][safety]") {
  for (const specimen& s : specimens()) {
    CAPTURE(s.name);
    bytes body = body_of(s.frame);
    for (std::size_t n = 0; n < body.size(); ++n) {
      CAPTURE(n);
      bytes cut = with_body(s.frame, std::span<const std::byte>(body.data(), n));
      std::string what;
      outcome o = s.decode(cut, &what);
      CAPTURE(what);
      REQUIRE(o == outcome::decode_error);
    }
  }
}

TEST_CASE("loads: a truncated frame's decode_error points inside the bytes given",
          "[codec][safety]") {
  bytes f = brine::dumps(make_rich());
  for (std::size_t n = 0; n < f.size(); ++n) {
    CAPTURE(n);
    bytes cut = with_body(f, std::span<const std::byte>(f.data() + header_size,
                                                        n > header_size ? n - header_size : 0));
    auto e = decode_failure<Rich>(cut);
    CHECK(e.offset() <= cut.size());
  }
}

TEST_CASE("loads: 30000 random corruptions of valid frames decode or throw decode_error",
          "[codec][safety]") {
  constexpr int per_specimen = 6000;
  std::mt19937 rng(0xb21e);
  auto pick = [&](std::size_t n) {
    return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng);
  };
  constexpr std::array<int, 9> interesting = {0x00, 0x01, 0x02, 0x03, 0x7f, 0x80, 0xfe, 0xff, 0x40};

  int decoded = 0, refused = 0, total = 0;
  for (const specimen& s : specimens()) {
    CAPTURE(s.name);
    const bytes body = body_of(s.frame);
    for (int i = 0; i < per_specimen; ++i) {
      bytes f = s.frame;
      int kind = static_cast<int>(rng() % 10);
      // Most corruptions stay inside the body, where the header cannot catch them.
      std::size_t lo = (rng() % 5 == 0) ? 0 : header_size;
      auto at = [&] { return lo + pick(f.size() - lo); };
      switch (kind) {
        case 0:
        case 1:  // one random byte
          f[at()] = static_cast<std::byte>(rng());
          break;
        case 2:
        case 3:  // one bit
          f[at()] ^= static_cast<std::byte>(1u << (rng() % 8));
          break;
        case 4:
        case 5: {  // several bytes
          int n = 2 + static_cast<int>(rng() % 7);
          for (int k = 0; k < n; ++k)
            f[at()] = static_cast<std::byte>(rng());
          break;
        }
        case 6:  // an interesting value
          f[at()] = static_cast<std::byte>(interesting[pick(interesting.size())]);
          break;
        case 7: {  // a byte inserted into the body, size fixed up
          bytes nb = body;
          nb.insert(nb.begin() + static_cast<std::ptrdiff_t>(pick(nb.size() + 1)),
                    static_cast<std::byte>(rng()));
          f = with_body(s.frame, nb);
          break;
        }
        case 8: {  // a byte removed from the body, size fixed up
          bytes nb = body;
          nb.erase(nb.begin() + static_cast<std::ptrdiff_t>(pick(nb.size())));
          f = with_body(s.frame, nb);
          break;
        }
        default: {  // a run of bytes overwritten with one value
          std::size_t start = header_size + pick(body.size());
          std::size_t len = 1 + pick(8);
          auto val = static_cast<std::byte>(interesting[pick(interesting.size())]);
          for (std::size_t k = start; k < f.size() && k < start + len; ++k)
            f[k] = val;
          break;
        }
      }
      std::string what;
      outcome o = s.decode(f, &what);
      ++total;
      if (o == outcome::decoded) ++decoded;
      if (o == outcome::decode_error) ++refused;
      if (o == outcome::other_exception) {
        CAPTURE(i, kind, what);
        FAIL("a corrupt frame threw something other than brine::decode_error");
      }
    }
  }
  CHECK(total == 5 * per_specimen);
  CHECK(refused > total / 2);  // most corruptions are caught
  CHECK(decoded > 0);          // and some (a changed number) are simply other values
  SUCCEED(decoded << " corrupt frames decoded, " << refused << " refused");
}

TEST_CASE(
    "loads: every single-byte value at every body position decodes or throws "
    "decode_error",
    "[codec][safety]") {
  // Exhaustive over a small but varied frame: 256 values at each position.
  using Small =
      std::tuple<std::optional<std::string>, std::variant<bool, std::vector<std::int16_t>>,
                 std::map<std::uint8_t, bool>, std::vector<bool>>;
  Small v{std::string("ab"),
          std::vector<std::int16_t>{1, -1},
          {{1, true}, {2, false}},
          {true, false, true}};
  bytes f = brine::dumps(v);
  int count = 0;
  for (std::size_t at = header_size; at < f.size(); ++at) {
    for (int value = 0; value < 256; ++value) {
      bytes g = f;
      g[at] = static_cast<std::byte>(value);
      std::string what;
      outcome o = try_loads<Small>(g, &what);
      ++count;
      if (o == outcome::other_exception) {
        CAPTURE(at, value, what);
        FAIL("threw something other than brine::decode_error");
      }
    }
  }
  CHECK(count == 256 * static_cast<int>(f.size() - header_size));
}
