// Writes one sample file per kind of schema node with brine::dump into the directory given on
// the command line; tests/python/test_reader.py reads them back with python/brine_reader.py and
// compares with brine-inspect. Keep the values in step with the expectations there.

#include <brine/brine.hpp>

#include <array>
#include <bitset>
#include <chrono>
#include <complex>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <forward_list>
#include <fstream>
#include <limits>
#include <list>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <variant>
#include <vector>

namespace fs = std::filesystem;

namespace samples {

struct Numbers {
  std::int8_t i8;
  std::uint8_t u8;
  std::int16_t i16;
  std::uint16_t u16;
  std::int32_t i32;
  std::uint32_t u32;
  std::int64_t i64;
  std::uint64_t u64;
  float f32;
  double f64;
  long double f80;
};

struct Floats {
  std::vector<double> d;
  std::vector<float> f;
  std::vector<long double> ld;
};

enum class Color : std::uint8_t { red = 1, green = 5 };
enum Level : std::int16_t { low = -3, high = 300 };

struct Chars {
  bool yes;
  bool no;
  char c;
  char hi;
  char8_t c8;
  char16_t c16;
  char16_t lone;
  char32_t c32;
  wchar_t w;
  std::byte b;
  Color color;
  Level level;
  std::monostate nothing;
};

struct Strings {
  std::string s;
  std::string empty;
  std::string bad;
  std::u8string u8;
  std::u16string u16;
  std::u16string u16_lone;
  std::u32string u32;
  std::wstring w;
  fs::path p;
};

struct Containers {
  std::vector<int> ints;
  std::list<std::string> words;
  std::deque<std::int64_t> deq;
  std::forward_list<int> fwd;
  std::set<int> set;
  std::set<std::string> names;
  std::multiset<int> multi;
  std::unordered_set<int> uset;
  std::map<std::string, int> by_name;
  std::map<int, std::string> by_id;
  std::multimap<std::string, int> multimap;
  std::unordered_map<std::string, int> hashed;
  std::map<std::pair<int, int>, std::string> by_pair;
  std::map<std::vector<int>, int> by_list;
  std::array<int, 3> arr;
  std::array<int, 0> no_arr;
  std::array<std::array<std::uint8_t, 2>, 2> grid;
  std::tuple<int, std::string, double> tup;
  std::pair<std::string, bool> pair;
  std::tuple<> empty_tuple;
  std::vector<std::vector<int>> nested;
};

struct Point {
  double x, y;
};

struct Line {
  Point from, to;
  std::string name;
};

class Account {
 public:
  Account() = default;
  Account(std::string owner, std::int64_t cents) : owner_(std::move(owner)), cents_(cents) {}
  BRINE_FIELDS(owner_, cents_)

 private:
  std::string owner_;
  std::int64_t cents_ = 0;
};

struct Empty {};

struct Structs {
  Line line;
  Account account;
  Empty empty;
  std::vector<Point> points;
};

struct Choices {
  std::optional<int> some;
  std::optional<int> none;
  std::optional<std::string> name;
  std::optional<Point> point;
  std::variant<int, std::string, Point, std::monostate> v_int;
  std::variant<int, std::string, Point, std::monostate> v_str;
  std::variant<int, std::string, Point, std::monostate> v_point;
  std::variant<int, std::string, Point, std::monostate> v_unit;
  std::map<std::variant<int, std::string>, int> by_variant;
};

struct Pointers {
  std::unique_ptr<int> null_int;
  std::unique_ptr<int> one;
  std::unique_ptr<Point> point;
  std::unique_ptr<std::vector<int>> list;
};

struct Shared {
  std::shared_ptr<Point> a, b, c, null;
  std::shared_ptr<int> i, j, k;
  std::vector<std::shared_ptr<std::string>> strs;
};

struct Node {
  int v;
  std::shared_ptr<Node> next;
};

struct Tree {
  int v;
  std::vector<Tree> kids;
};

struct Times {
  std::chrono::milliseconds ms;
  std::chrono::duration<double> secs;
  std::chrono::minutes mins;
  std::chrono::duration<std::int32_t, std::ratio<1, 3>> thirds;
  std::chrono::duration<long double, std::milli> precise;
  std::chrono::system_clock::time_point wall;
  std::chrono::time_point<std::chrono::system_clock, std::chrono::seconds> wall_s;
  std::chrono::steady_clock::time_point mono;
};

struct Complexes {
  std::complex<double> d;
  std::complex<float> f;
  std::complex<long double> ld;
};

struct Bits {
  std::bitset<10> ten;
  std::bitset<0> zero;
  std::bitset<16> sixteen;
  std::vector<bool> flags;
  std::vector<bool> no_flags;
};

struct Cfg {
  BRINE_EVOLVABLE;
  int a = 1;
  std::string b;
};

struct Settings {
  std::string name;
  Cfg cfg;
  std::vector<Cfg> more;
};

struct Shape {
  virtual ~Shape() = default;
  BRINE_FIELDS(label)
  std::string label;
};

struct Circle : Shape {
  double r = 0;
  BRINE_FIELDS(label, r)
};

struct Mixed {
  std::shared_ptr<Circle> as_circle;
  std::shared_ptr<Shape> as_shape;
};

}  // namespace samples

BRINE_REGISTER(samples::Circle, "shapes.Circle");

namespace {

using namespace samples;

template <class T>
void put(const fs::path& dir, const char* name, const T& v) {
  brine::dump(v, dir / (std::string(name) + ".brn"));
}

void put_frame(const fs::path& dir, const char* name, const std::vector<std::byte>& frame) {
  std::ofstream out(dir / (std::string(name) + ".frame"), std::ios::binary);
  out.write(reinterpret_cast<const char*>(frame.data()),
            static_cast<std::streamsize>(frame.size()));
}

std::unique_ptr<Shape> circle(std::string label, double r) {
  auto c = std::make_unique<Circle>();
  c->label = std::move(label);
  c->r = r;
  return c;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: write_samples DIRECTORY\n");
    return 2;
  }
  fs::path dir = argv[1];
  fs::create_directories(dir);
  constexpr double inf = std::numeric_limits<double>::infinity();
  constexpr double nan = std::numeric_limits<double>::quiet_NaN();
  constexpr long double linf = std::numeric_limits<long double>::infinity();

  put(dir, "int", 42);
  put(dir, "text", std::string("hello"));
  put(dir, "flag", true);
  put(dir, "unit", std::monostate{});

  put(dir, "numbers",
      Numbers{-128, 255, -32768, 65535, std::numeric_limits<std::int32_t>::min(), 4294967295u,
              std::numeric_limits<std::int64_t>::min(), std::numeric_limits<std::uint64_t>::max(),
              1.5f, -0.25, 1.0L / 3});

  put(dir, "floats",
      Floats{{0.0, -0.0, 1.5, 0.1, 1e300, 5e-324, inf, -inf, nan},
             {0.1f, 3.4e38f, 1e-45f, -2.5f},
             {1.0L / 3, -2.5L, 1e4000L, std::numeric_limits<long double>::denorm_min(),
              std::numeric_limits<long double>::max(), linf, -linf,
              std::numeric_limits<long double>::quiet_NaN(), 0.1L, 0.0L, -0.0L}});

  put(dir, "chars",
      Chars{true,
            false,
            'A',
            static_cast<char>(0xe9),
            u8'z',
            u'\u00e9',
            static_cast<char16_t>(0xd800),
            U'\U0001F600',
            L'\u2713',
            std::byte{0xab},
            Color::green,
            low,
            {}});

  put(dir, "strings",
      Strings{"h\xc3\xa9llo \"q\" \\ \n\t\x01", "", std::string("ok\xff", 3), u8"\u00fcber",
              u"\u03c0\U0001F600", std::u16string{u'a', static_cast<char16_t>(0xd800), u'b'},
              U"\U0001D11Ex", L"wide \u2713", fs::path("/tmp/a b/c.txt")});

  {
    Containers c;
    c.ints = {1, -2, 3};
    c.words = {"alpha", "beta"};
    c.deq = {std::numeric_limits<std::int64_t>::max(), 0};
    c.fwd = {7, 8, 9};
    c.set = {3, 1, 2};
    c.names = {"b", "a"};
    c.multi = {2, 1, 2};
    c.uset = {10, 20, 30};
    c.by_name = {{"one", 1}, {"two", 2}};
    c.by_id = {{2, "two"}, {1, "one"}};
    c.multimap = {{"k", 1}, {"k", 2}, {"j", 0}};
    c.hashed = {{"x", 1}, {"y", 2}, {"z", 3}};
    c.by_pair = {{{1, 2}, "a"}, {{0, 5}, "b"}};
    c.by_list = {{{1, 2}, 3}, {{}, 0}};
    c.arr = {4, 5, 6};
    c.grid = {{{1, 2}, {3, 4}}};
    c.tup = {7, "seven", 7.5};
    c.pair = {"yes", true};
    c.nested = {{1}, {}, {2, 3}};
    put(dir, "containers", c);
  }

  {
    Structs s;
    s.line = {{0, 1}, {2.5, -3}, "diagonal"};
    s.account = Account("ann", 12345);
    s.points = {{1, 2}, {3, 4}};
    put(dir, "structs", s);
  }

  {
    Choices c;
    c.some = 5;
    c.name = "n";
    c.point = Point{1, 2};
    c.v_int = 3;
    c.v_str = std::string("s");
    c.v_point = Point{0.5, 0.25};
    c.v_unit = std::monostate{};
    c.by_variant = {{1, 10}, {std::string("1"), 11}};
    put(dir, "choices", c);
  }

  {
    Pointers p;
    p.one = std::make_unique<int>(1);
    p.point = std::make_unique<Point>(Point{3, 4});
    p.list = std::make_unique<std::vector<int>>(std::vector<int>{9, 8});
    put(dir, "pointers", p);
  }

  {
    Shared s;
    s.a = std::make_shared<Point>(Point{1, 2});
    s.b = s.a;
    s.c = std::make_shared<Point>(Point{1, 2});
    s.i = std::make_shared<int>(5);
    s.j = s.i;
    s.k = std::make_shared<int>(5);
    auto hi = std::make_shared<std::string>("hi");
    s.strs = {hi, hi, std::make_shared<std::string>("hi"), nullptr};
    put(dir, "shared", s);
  }

  {
    auto a = std::make_shared<Node>();
    auto b = std::make_shared<Node>();
    a->v = 1;
    b->v = 2;
    a->next = b;
    b->next = a;
    put(dir, "cycle", a);
    auto self = std::make_shared<Node>();
    self->v = 3;
    self->next = self;
    put(dir, "graph", std::vector<std::shared_ptr<Node>>{a, b, self, nullptr});
    b->next.reset();  // break the cycles, or they leak
    self->next.reset();
  }

  put(dir, "tree", Tree{1, {Tree{2, {}}, Tree{3, {Tree{4, {}}}}}});

  {
    Tree deep{0, {}};
    Tree* at = &deep;
    for (int i = 1; i < 512; ++i) {  // 512 nested records: exactly limits::max_depth
      at->kids.push_back(Tree{i, {}});
      at = &at->kids.back();
    }
    put(dir, "deep", deep);
  }

  {
    using namespace std::chrono;
    Times t;
    t.ms = milliseconds(1500);
    t.secs = duration<double>(2.5);
    t.mins = minutes(-3);
    t.thirds = duration<std::int32_t, std::ratio<1, 3>>(7);
    t.precise = duration<long double, std::milli>(0.5L);
    t.wall = system_clock::time_point(seconds(1700000000));
    t.wall_s = time_point<system_clock, seconds>(seconds(1700000001));
    t.mono = steady_clock::time_point(nanoseconds(123456789));
    put(dir, "times", t);
  }

  put(dir, "complex", Complexes{{1.5, -2.0}, {0.5f, 0.25f}, {3.0L, -0.5L}});

  {
    Bits b;
    b.ten = std::bitset<10>(0b1000000101);
    b.sixteen = std::bitset<16>(0x8001);
    b.flags = {true, false, true, true, false, false, false, false, true};
    put(dir, "bits", b);
  }

  put(dir, "cfg", Cfg{7, "seven"});
  put(dir, "settings", Settings{"s", Cfg{}, {Cfg{2, "x"}, Cfg{3, ""}}});

  {
    std::vector<std::unique_ptr<Shape>> shapes;
    shapes.push_back(circle("c", 2.0));
    auto plain = std::make_unique<Shape>();
    plain->label = "plain";
    shapes.push_back(std::move(plain));
    shapes.push_back(nullptr);
    put(dir, "shapes", shapes);

    std::shared_ptr<Shape> c = circle("shared", 1.0);
    auto p = std::make_shared<Shape>();
    p->label = "p";
    put(dir, "shared_shapes", std::vector<std::shared_ptr<Shape>>{c, c, p});

    auto cc = std::make_shared<Circle>();
    cc->label = "both";
    cc->r = 0.5;
    put(dir, "mixed", Mixed{cc, cc});
  }

  // Frames from dumps: no schema block, unless the type holds an evolvable record.
  put_frame(dir, "noschema", brine::dumps(42));
  put_frame(dir, "message_cfg", brine::dumps(Cfg{9, "nine"}));
  return 0;
}
