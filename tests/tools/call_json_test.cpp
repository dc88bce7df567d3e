// brine-call's JSON encoder: what brine::inspect prints for a value, encoded back by the value's
// schema, gives exactly the bytes of brine::dumps; input that does not fit the schema is a
// brine::error naming the path of the value at fault, and never a crash.

#include <catch2/catch.hpp>

#include <brine/brine.hpp>
#include <brine/inspect.hpp>

#include <array>
#include <bitset>
#include <chrono>
#include <cmath>
#include <complex>
#include <cstdint>
#include <deque>
#include <filesystem>
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
#include <variant>
#include <vector>

#include "json_encode.hpp"
#include "json_value.hpp"

// A named namespace: brine counts an aggregate's fields through a conversion operator it never
// defines, which clang rejects for an std::optional<U> member when U has internal linkage.
namespace call_json_test {

struct person {
  std::string name;
  int age = 0;
  bool operator==(const person&) const = default;
};

class account {
 public:
  account() = default;
  account(std::string owner, long cents) : owner_(std::move(owner)), cents_(cents) {}
  bool operator==(const account&) const = default;
  BRINE_FIELDS(owner_, cents_)

 private:
  std::string owner_;
  long cents_ = 0;
};

struct empty {
  bool operator==(const empty&) const = default;
};

struct config {
  BRINE_EVOLVABLE;
  int port = 80;
  std::string host = "localhost";
  std::vector<person> admins;
  bool operator==(const config&) const = default;
};

struct evolvable_empty {
  BRINE_EVOLVABLE;
  bool operator==(const evolvable_empty&) const = default;
};

struct team {
  std::string title;
  std::vector<person> members;
  std::map<std::string, account> accounts;
  std::optional<person> lead;
  std::array<int, 3> scores{};
  bool operator==(const team&) const = default;
};

enum class color : std::uint8_t { red = 1, green = 2, blue = 250 };
enum class offset : std::int64_t { low = std::numeric_limits<std::int64_t>::min(), high = 7 };

struct node {
  int value = 0;
  std::unique_ptr<node> next;
};

struct cycle {
  int value = 0;
  std::shared_ptr<cycle> self;
};

// Eleven values deep per record: the record, eight optionals, the pointer and the reference.
struct far_node {
  std::optional<std::optional<std::optional<std::optional<
      std::optional<std::optional<std::optional<std::optional<std::unique_ptr<far_node>>>>>>>>>
      next;
};

std::unique_ptr<node> chain(int n) {
  std::unique_ptr<node> head;
  for (int i = n; i > 0; --i) {
    auto p = std::make_unique<node>();
    p->value = i;
    p->next = std::move(head);
    head = std::move(p);
  }
  return head;
}

// What brine-inspect --json prints as the value of `v`.
template <class T>
std::string inspect_json(const T& v) {
  brine::inspect_options opt;
  opt.fmt = brine::inspect_options::format::json;
  opt.max_items = 0;
  return brine_call::inspect_value(brine::inspect(brine::detail::dumps_described(v), opt));
}

template <class T>
std::vector<std::byte> encode(const std::string& json) {
  return brine_call::encode_frame(brine::schema_of<T>, brine_call::parse_json(json));
}

// inspect's JSON of `v`, encoded back, is dumps(v), and loads it as `v`; returns the copy.
template <class T>
T json_roundtrip(const T& v) {
  std::string json = inspect_json(v);
  INFO("JSON: " << json);
  std::vector<std::byte> frame = encode<T>(json);
  REQUIRE(frame == brine::dumps(v));
  return brine::loads<T>(frame);
}

template <class T>
void check(const T& v) {
  CHECK(json_roundtrip(v) == v);
}

// The message of the brine::error that encoding `json` as a T throws.
template <class T>
std::string error_of(const std::string& json, std::string_view root = "$") {
  try {
    brine_call::encode_frame(brine::schema_of<T>, brine_call::parse_json(json), root);
  } catch (const brine::error& e) {
    return e.what();
  }
  FAIL("no error for " << json);
  return {};
}

}  // namespace call_json_test

using namespace call_json_test;
using namespace std::string_literals;

TEST_CASE("call json: integers at their limits come back as dumps wrote them", "[tools][call]") {
  check(std::int8_t{-128});
  check(std::int8_t{127});
  check(std::uint8_t{255});
  check(std::int16_t{-32768});
  check(std::uint16_t{65535});
  check(std::int32_t{std::numeric_limits<std::int32_t>::min()});
  check(std::uint32_t{std::numeric_limits<std::uint32_t>::max()});
  check(std::numeric_limits<std::int64_t>::min());
  check(std::numeric_limits<std::int64_t>::max());
  check(std::numeric_limits<std::uint64_t>::max());
  check(std::uint64_t{0});
  check(std::byte{0xab});
  check(true);
  check(false);
  check(color::blue);
  check(offset::low);
  check(std::monostate{});
}

TEST_CASE("call json: floats come back bit for bit, -0, infinities and NaN included",
          "[tools][call]") {
  check(0.1f);
  check(-0.0f);
  check(std::numeric_limits<float>::denorm_min());
  check(std::numeric_limits<float>::max());
  check(16777217.0f);
  check(0.1);
  check(1e300);
  check(-0.0);
  check(std::numeric_limits<double>::denorm_min());
  check(std::numeric_limits<double>::max());
  check(3.141592653589793);
  check(1.0);
  check(-std::numeric_limits<double>::infinity());
  check(std::numeric_limits<float>::infinity());
  check(0.1L);
  check(-0.0L);
  check(std::numeric_limits<long double>::max());
  check(std::numeric_limits<long double>::denorm_min());
  check(1e4000L);
  CHECK(std::isnan(json_roundtrip(std::numeric_limits<double>::quiet_NaN())));
  CHECK(std::isnan(json_roundtrip(std::numeric_limits<long double>::quiet_NaN())));
  check(std::complex<double>(1.5, -2));
}

TEST_CASE("call json: characters and strings of every width, unicode included", "[tools][call]") {
  check('A');
  check('\0');
  check('"');
  check(static_cast<char>(0xe9));
  check(char8_t{0x7f});
  check(char16_t{0xd800});
  check(u'é');
  check(U'\U0001F600');
  check(L'ß');
  check(std::string());
  check(std::string("h\xc3\xa9llo \xe2\x9c\x93 \xf0\x9f\x98\x80"));
  check("quote\" backslash\\ newline\n tab\t nul \0 \x01 del \x7f"s);
  check(std::u8string(u8"caf\u00e9"));
  check(std::u16string(u"\U0001F600 \u00e9 z"));
  check(std::u32string(U"\U0001F600 \u00e9"));
  check(std::wstring(L"w\u00e9de"));
  check(std::filesystem::path("/tmp/dir/file name.txt"));
}

TEST_CASE("call json: containers, nested, in the order dumps wrote them", "[tools][call]") {
  check(std::vector<int>{1, -2, 3});
  check(std::vector<int>{});
  check(std::vector<std::vector<std::string>>{{"a", "b"}, {}, {"c"}});
  check(std::deque<double>{0.5, 2});
  check(std::list<std::string>{"x", "y"});
  check(std::map<std::string, std::vector<int>>{{"b", {1}}, {"a", {2, 3}}, {"", {}}});
  check(std::map<int, std::string>{{3, "three"}, {-1, "minus one"}});
  check(std::unordered_map<std::string, int>{{"one", 1}, {"two", 2}, {"three", 3}, {"four", 4}});
  check(std::multimap<std::string, int>{{"k", 1}, {"k", 2}, {"j", 0}});
  check(std::multimap<int, int>{{1, 1}, {1, 2}});
  check(std::set<int>{5, 1, 3});
  check(std::unordered_set<std::string>{"p", "q", "r", "s"});
  check(std::multiset<int>{2, 2, 1});
  check(std::map<std::tuple<int, std::string>, std::set<char>>{{{1, "a"}, {'x', 'y'}}});
  check(std::map<std::u16string, int>{{u"k\u00e9y", 1}});
  check(std::array<int, 3>{7, 8, 9});
  check(std::array<int, 0>{});
  check(std::tuple<int, std::string, double>{1, "two", 3.5});
  check(std::tuple<>{});
  check(std::pair<std::string, bool>{"yes", true});
  check(std::vector<bool>{true, false, true, true, false, false, false, true, true, false, true});
  check(std::vector<bool>{});
  check(std::bitset<10>(0b1000000101));
  check(std::bitset<64>(0x8000000000000001ULL));
  check(std::bitset<0>());
}

TEST_CASE("call json: records by field name, evolvable ones with their schema block",
          "[tools][call]") {
  check(person{"ada", 36});
  check(account{"bob", -12345});
  check(empty{});
  check(evolvable_empty{});
  team t{"core",
         {{"ada", 36}, {"alan", 41}},
         {{"ops", {"ops", 100}}, {"dev", {"dev", 7}}},
         person{"grace", 85},
         {1, 2, 3}};
  check(t);
  t.lead.reset();
  check(t);
  config c;
  c.admins = {{"root", 0}};
  check(c);  // its frame carries a schema block, as dumps writes one for evolvable records
  check(std::vector<config>{config{}, c});
  CHECK((brine::detail::message_has_schema<config> && !brine::detail::message_has_schema<team>));

  // Records without fields, which no C++ type has (empty structs are units) but the format
  // allows: one 0 byte, or an evolvable record's count and length.
  const std::vector<std::uint8_t> plain{0x29, 0x00}, evolving{0x35, 0x00};
  auto body_of = [](const std::vector<std::byte>& frame) {
    return brine::parse_frame(frame).body.size();
  };
  auto empty_record = brine_call::encode_frame(plain, brine_call::parse_json("{}"));
  CHECK(body_of(empty_record) == 1);
  CHECK(brine::parse_frame(empty_record).schema.empty());
  auto empty_evolvable = brine_call::encode_frame(evolving, brine_call::parse_json("{}"));
  CHECK(body_of(empty_evolvable) == 5);
  CHECK(brine::parse_frame(empty_evolvable).schema.size() == 2);
  CHECK_THROWS_WITH(brine_call::encode_frame(plain, brine_call::parse_json(R"({"x": 1})")),
                    "$: unknown field \"x\" (the record has no fields)");
}

TEST_CASE("call json: optional, variant and pointers", "[tools][call]") {
  check(std::optional<int>{});
  check(std::optional<int>{0});
  check(std::optional<std::string>{"s"});
  check(std::variant<int, std::string, person>{person{"v", 1}});
  check(std::variant<int, std::string, person>{std::string("text")});
  check(std::variant<std::monostate, int>{});

  auto up = json_roundtrip(std::make_unique<int>(42));
  REQUIRE(up);
  CHECK(*up == 42);
  CHECK(json_roundtrip(std::unique_ptr<person>()) == nullptr);
  CHECK(json_roundtrip(std::shared_ptr<std::string>()) == nullptr);

  // Two pointers to one object: {"$id": n, "value": ...}, then {"$ref": n}.
  auto shared = std::make_shared<std::string>("shared");
  auto pair = json_roundtrip(std::pair{shared, shared});
  REQUIRE(pair.first);
  CHECK(*pair.first == "shared");
  CHECK(pair.first == pair.second);

  // A recursive type, through references in its schema.
  auto list = json_roundtrip(chain(50));
  int n = 0;
  for (const node* p = list.get(); p != nullptr; p = p->next.get())
    CHECK(p->value == ++n);
  CHECK(n == 50);

  // A cycle: the object refers to itself from inside its own value.
  auto ring = std::make_shared<cycle>();
  ring->value = 9;
  ring->self = ring;
  auto back = json_roundtrip(ring);
  ring->self.reset();
  REQUIRE(back);
  CHECK(back->value == 9);
  CHECK(back->self == back);
  back->self.reset();

  // A plain value stands for a new object, as a hand-written argument would give it.
  auto plain = brine::loads<std::shared_ptr<int>>(encode<std::shared_ptr<int>>("5"));
  REQUIRE(plain);
  CHECK(*plain == 5);
}

TEST_CASE("call json: durations and time points", "[tools][call]") {
  using namespace std::chrono;
  check(milliseconds(-1500));
  check(duration<double>(2.25));
  check(nanoseconds(std::numeric_limits<std::int64_t>::max()));
  check(system_clock::time_point(microseconds(1700000000123456)));
  check(steady_clock::time_point(nanoseconds(42)));
  check(time_point<system_clock, duration<double>>(duration<double>(0.5)));
}

TEST_CASE("call json: hand-written JSON in other spellings is accepted", "[tools][call]") {
  CHECK(encode<char>("\"U+0041\"") == brine::dumps('A'));
  CHECK(encode<char32_t>("128512") == brine::dumps(U'\U0001F600'));
  CHECK(encode<std::bitset<3>>("[true, false, true]") == brine::dumps(std::bitset<3>(0b101)));
  CHECK(encode<double>("1e2") == brine::dumps(100.0));
  CHECK(encode<float>("\"Infinity\"") == brine::dumps(std::numeric_limits<float>::infinity()));
  CHECK(encode<std::map<std::string, int>>("[[\"a\", 1]]") ==
        brine::dumps(std::map<std::string, int>{{"a", 1}}));
  CHECK(encode<person>(R"({"age": 3, "name": "x"})") == brine::dumps(person{"x", 3}));
}

TEST_CASE("call json: a value of the wrong JSON type names its path", "[tools][call]") {
  using args = std::tuple<int, person>;
  CHECK(error_of<args>(R"([1, {"name": 3, "age": 1}])", "args") ==
        "args[1].name: expected a string, got 3");
  CHECK(error_of<int>("\"7\"") == "$: expected an integer, got \"7\"");
  CHECK(error_of<int>("1.5") == "$: expected an integer, got 1.5");
  CHECK(error_of<bool>("1") == "$: expected true or false, got 1");
  CHECK(error_of<std::monostate>("0") == "$: expected null, got 0");
  CHECK(error_of<double>("\"fast\"").find("$: expected a number") == 0);
  CHECK(error_of<std::vector<int>>(R"({"a": 1})") == "$: expected an array, got {\"a\":1}");
  CHECK(error_of<std::vector<std::string>>(R"(["a", null])") ==
        "$[1]: expected a string, got null");
  CHECK(error_of<std::map<std::string, int>>(R"({"k": true})") ==
        "$[\"k\"]: expected an integer, got true");
  CHECK(error_of<std::map<int, int>>("[[1, 2], [3]]") ==
        "$[1]: expected a [key, value] pair, got [3]");
  CHECK(error_of<char>("\"ab\"").find("$: expected a one-character string") == 0);
  CHECK(error_of<char>("\"\xc3\xa9\"").find("below U+0080") != std::string::npos);
  CHECK(error_of<char16_t>("\"U+10000\"").find("does not fit 2 bytes") != std::string::npos);
  CHECK(error_of<std::vector<bool>>("\"0102\"").find("$: expected a string of 0s and 1s") == 0);
  CHECK(error_of<std::variant<int, std::string>>(R"({"index": 2, "value": 1})") ==
        "$.index: expected an alternative index from 0 to 1, got 2");
  CHECK(error_of<std::variant<int, std::string>>(R"({"index": 1, "value": 1})") ==
        "$.value: expected a string, got 1");
  CHECK(error_of<std::variant<int, std::string>>("3").find("$: expected an object {\"index\"") ==
        0);
  CHECK(error_of<std::optional<person>>(R"({"name": "a", "age": "old"})") ==
        "$.age: expected an integer, got \"old\"");
  CHECK(error_of<std::shared_ptr<int>>(R"({"$ref": 0})") ==
        "$: {\"$ref\": 0} refers to no object before it");
  CHECK(error_of<std::pair<std::shared_ptr<int>, std::shared_ptr<long>>>(
            R"([{"$id": 0, "value": 1}, {"$ref": 0}])") ==
        "$[1]: {\"$ref\": 0} refers to an object of another type");
  CHECK(error_of<std::unique_ptr<int>>(R"({"$type": "circle", "value": 1})")
            .find("registered derived types") != std::string::npos);
}

TEST_CASE("call json: integers out of range name their range", "[tools][call]") {
  CHECK(error_of<std::int8_t>("300") == "$: expected an integer from -128 to 127, got 300");
  CHECK(error_of<std::int8_t>("-129") == "$: expected an integer from -128 to 127, got -129");
  CHECK(error_of<std::uint16_t>("-1") == "$: expected an integer from 0 to 65535, got -1");
  CHECK(error_of<std::int64_t>("9223372036854775808") ==
        "$: expected an integer from -9223372036854775808 to 9223372036854775807, got "
        "9223372036854775808");
  CHECK(error_of<std::uint64_t>("18446744073709551616") ==
        "$: expected an integer from 0 to 18446744073709551615, got 18446744073709551616");
  CHECK(error_of<std::vector<std::uint8_t>>("[1, 256]") ==
        "$[1]: expected an integer from 0 to 255, got 256");
  CHECK(error_of<color>("-1") == "$: expected an integer from 0 to 255, got -1");
  CHECK(error_of<float>("1e39") == "$: the number 1e39 is too large for f32");
}

TEST_CASE("call json: missing and unknown record fields are named", "[tools][call]") {
  CHECK(error_of<person>(R"({"name": "a"})") == "$: missing field \"age\"");
  CHECK(error_of<person>(R"({"name": "a", "age": 1, "email": "x"})") ==
        "$: unknown field \"email\" (fields: name, age)");
  CHECK(error_of<account>(R"({"owner_": "a", "cents": 1})") == "$: missing field \"owner\"");
  CHECK(error_of<team>(R"({"title": "t", "members": [{"name": "a"}], "accounts": {},
                            "lead": null, "scores": [1, 2, 3]})") ==
        "$.members[0]: missing field \"age\"");
  CHECK(error_of<empty>("{}") == "$: expected null, got {}");  // an empty struct is a unit
  CHECK(error_of<config>(R"({"port": 1, "host": "h"})") == "$: missing field \"admins\"");
}

TEST_CASE("call json: fixed lengths are checked", "[tools][call]") {
  CHECK(error_of<std::array<int, 3>>("[1, 2]") ==
        "$: expected an array of 3 elements, got 2: [1,2]");
  CHECK(error_of<std::tuple<int, int>>("[1, 2, 3]") ==
        "$: expected an array of 2 elements, got 3: [1,2,3]");
  CHECK(error_of<std::tuple<>>("[1]") == "$: expected an array of 0 elements, got 1: [1]");
  CHECK(error_of<std::complex<float>>("[1]") == "$: expected an array of 2 elements, got 1: [1]");
  CHECK(error_of<std::bitset<4>>("\"101\"") == "$: expected 4 bits, got 3");
  CHECK(error_of<team>(R"({"title": "t", "members": [], "accounts": {}, "lead": null,
                            "scores": [1]})") ==
        "$.scores: expected an array of 3 elements, got 1: [1]");
}

TEST_CASE("call json: repeated set elements and map keys are refused", "[tools][call]") {
  CHECK(error_of<std::set<int>>("[1, 2, 1]") == "$[2]: duplicate element");
  CHECK(error_of<std::map<std::string, int>>(R"({"a": 1, "a": 2})") == "$[\"a\"]: duplicate key");
  CHECK(error_of<std::map<int, int>>("[[1, 1], [1, 2]]") == "$[1][0]: duplicate key");
  CHECK(encode<std::multiset<int>>("[1, 1]") == brine::dumps(std::multiset<int>{1, 1}));
}

TEST_CASE("call json: bad JSON text is an error, however it is bad", "[tools][call]") {
  for (const char* text : {"", "{", "[1,]", "{bad}", "nul", "1 2", "\"\\ud800\"", "1e99999",
                           "[\"\xff\"]", "{\"a\" 1}", "01"}) {
    INFO(text);
    CHECK_THROWS_AS(brine_call::parse_json(text), brine_call::input_error);
    CHECK_THROWS_AS(brine_call::parse_json(text), brine::error);
  }
  // Deep nesting is refused by the parser, not by the stack.
  std::string deep(200'000, '[');
  CHECK_THROWS_WITH(brine_call::parse_json(deep), Catch::Contains("nest deeper"));
  std::string ok = std::string(5000, '[') + std::string(5000, ']');
  CHECK_NOTHROW(brine_call::parse_json(ok));
  CHECK_THROWS_AS(encode<std::vector<int>>(ok), brine::error);
}

TEST_CASE("call json: recursion is bounded as dumps bounds it", "[tools][call]") {
  // 400 nodes encode; 600 recursive records are deeper than limits::max_depth (512), which
  // dumps refuses too.
  std::string json = inspect_json(chain(400));
  CHECK(encode<std::unique_ptr<node>>(json) == brine::dumps(chain(400)));
  std::string deep;
  for (int i = 0; i < 600; ++i)
    deep += "{\"value\":1,\"next\":";
  deep += "null" + std::string(600, '}');
  CHECK_THROWS_WITH(encode<std::unique_ptr<node>>(deep), Catch::Contains("max_depth"));
  // Values that nest through fewer records, each a long way down, are bounded by the nesting
  // brine::inspect reads (4096 values).
  deep.clear();
  for (int i = 0; i < 400; ++i)
    deep += "{\"next\":";
  deep += "null" + std::string(400, '}');
  CHECK_THROWS_WITH(encode<std::unique_ptr<far_node>>(deep), Catch::Contains("4096"));
}

TEST_CASE("call json: the document inspect prints gives up its value", "[tools][call]") {
  CHECK(brine_call::inspect_value(
            "{\"fingerprint\":\"0x0\",\"schema\":\"{a: \\\"x\\\"}\",\"value\":{\"a\":1}}\n") ==
        "{\"a\":1}");
  CHECK_THROWS_AS(brine_call::inspect_value("{\"schema\":null}"), brine::error);
}
