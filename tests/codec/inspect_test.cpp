// brine::inspect: any file as text, JSON or its layout, without the C++ type.

#include <catch2/catch.hpp>

#include <brine/brine.hpp>
#include <brine/inspect.hpp>

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <variant>
#include <vector>

namespace {

struct Layer {
  std::string name;
  std::vector<float> weights;
};

struct Model {
  std::string title;
  std::vector<Layer> layers;
  std::map<std::string, double> metrics;
  std::shared_ptr<std::string> author;
  std::shared_ptr<std::string> reviewer;
  std::optional<int> epochs;
  std::variant<int, std::string> tag;
};

Model sample() {
  auto who = std::make_shared<std::string>("ada");
  return {"mlp",
          {{"hidden", {0.5f, -1.25f}}, {"out", {2}}},
          {{"loss", 0.25}},
          who,
          who,
          3,
          std::string("best")};
}

template <class T>
std::vector<std::byte> file_bytes(const T& m) {
  std::ostringstream os;
  brine::dump(m, os);
  std::string s = os.str();
  std::vector<std::byte> out(s.size());
  std::memcpy(out.data(), s.data(), s.size());
  return out;
}

std::string show(const std::vector<std::byte>& b,
                 brine::inspect_options::format fmt = brine::inspect_options::format::text) {
  brine::inspect_options opt;
  opt.fmt = fmt;
  return brine::inspect(b, opt);
}

}  // namespace

TEST_CASE("inspect: text shows field names, sizes, values and shared references",
          "[codec][inspect]") {
  std::string t = show(file_bytes(sample()));
  CHECK_THAT(t, Catch::Contains("title: \"mlp\""));
  CHECK_THAT(t, Catch::Contains("layers: list[2]"));
  CHECK_THAT(t, Catch::Contains("weights: list[2] [0.5, -1.25]"));
  CHECK_THAT(t, Catch::Contains("\"loss\": 0.25"));
  CHECK_THAT(t, Catch::Contains("author: &"));
  CHECK_THAT(t, Catch::Contains("reviewer: *"));
  CHECK_THAT(t, Catch::Contains("epochs: 3"));
  CHECK_THAT(t, Catch::Contains("tag: <1> \"best\""));
}

TEST_CASE("inspect: JSON is one document with objects for records and string-keyed maps",
          "[codec][inspect]") {
  std::string j = show(file_bytes(sample()), brine::inspect_options::format::json);
  CHECK_THAT(j, Catch::StartsWith("{\"fingerprint\":\"0x"));
  CHECK_THAT(j, Catch::Contains("\"title\":\"mlp\""));
  CHECK_THAT(j, Catch::Contains("\"weights\":[0.5,-1.25]"));
  CHECK_THAT(j, Catch::Contains("\"metrics\":{\"loss\":0.25}"));
  CHECK_THAT(j, Catch::Contains("\"author\":{\"$id\":"));
  CHECK_THAT(j, Catch::Contains("\"reviewer\":{\"$ref\":"));
  CHECK_THAT(j, Catch::Contains("\"tag\":{\"index\":1,\"value\":\"best\"}"));
  int depth = 0;
  for (char c : j) {
    depth += c == '{' ? 1 : c == '}' ? -1 : 0;
    REQUIRE(depth >= 0);
  }
  CHECK(depth == 0);
}

TEST_CASE("inspect: a system_clock time point also shows as a UTC date in text",
          "[codec][inspect]") {
  using namespace std::chrono;
  auto at = sys_days{year{2026} / 11 / 27} + hours{17} + minutes{9} + seconds{34};
  auto text = [](const auto& v) {
    return show(file_bytes(v), brine::inspect_options::format::text);
  };
  CHECK_THAT(text(time_point_cast<nanoseconds>(at) + nanoseconds{108628199}),
             Catch::Contains("(2026-11-27 17:09:34.108628199 UTC)"));
  CHECK_THAT(text(time_point_cast<milliseconds>(at)),
             Catch::Contains("(2026-11-27 17:09:34.000 UTC)"));
  CHECK_THAT(text(time_point_cast<seconds>(at) - hours{24 * 365 * 57}),
             Catch::Contains("(1969-12-"));  // before the epoch
  CHECK_THAT(show(file_bytes(at), brine::inspect_options::format::json), !Catch::Contains("UTC"));
  CHECK_THAT(text(steady_clock::time_point{}), !Catch::Contains("UTC"));  // no date on this clock
  CHECK_THAT(text(time_point<system_clock, duration<double>>{}), !Catch::Contains("UTC"));
  CHECK_THAT(text(sys_seconds{seconds{400'000'000'000}}), !Catch::Contains("UTC"));  // year > 9999
}

TEST_CASE("inspect: raw mode lists the header and every value with its byte range",
          "[codec][inspect]") {
  auto bytes = file_bytes(sample());
  std::string r = show(bytes, brine::inspect_options::format::raw);
  CHECK_THAT(r, Catch::Contains("0..4"));
  CHECK_THAT(r, Catch::Contains("magic 62 72 6e 01"));
  CHECK_THAT(r, Catch::Contains("fingerprint 0x"));
  CHECK_THAT(r, Catch::Contains("$.layers[1].name = \"out\""));
  CHECK_THAT(r, Catch::Contains(".." + std::to_string(bytes.size())));
}

TEST_CASE("inspect: a frame without schema shows its header only", "[codec][inspect]") {
  std::string t = show(brine::dumps(sample()));
  CHECK_THAT(t, Catch::Contains("frame without schema"));
  CHECK_THAT(t, Catch::Contains("fingerprint 0x"));
}

TEST_CASE("inspect: long containers are cut after max_items", "[codec][inspect]") {
  std::ostringstream os;
  brine::dump(std::vector<int>(1000, 7), os);
  std::string s = os.str();
  std::vector<std::byte> b(s.size());
  std::memcpy(b.data(), s.data(), s.size());
  brine::inspect_options opt;
  opt.max_items = 10;
  CHECK_THAT(brine::inspect(b, opt), Catch::Contains("... (990 more)"));
}

TEST_CASE("inspect: every truncation and many corruptions give decode_error, never a crash",
          "[codec][inspect]") {
  auto bytes = file_bytes(sample());
  for (std::size_t n = 0; n < bytes.size(); ++n) {
    std::vector<std::byte> cut(bytes.begin(), bytes.begin() + static_cast<long>(n));
    CHECK_THROWS_AS(brine::inspect(cut), brine::decode_error);
  }
  std::uint32_t seed = 12345;
  for (int i = 0; i < 5000; ++i) {
    auto bad = bytes;
    seed = seed * 1664525u + 1013904223u;
    bad[seed % bad.size()] = static_cast<std::byte>(seed >> 24);
    for (auto fmt : {brine::inspect_options::format::text, brine::inspect_options::format::json,
                     brine::inspect_options::format::raw}) {
      try {
        (void)show(bad, fmt);
      } catch (const brine::decode_error& e) {
        CHECK(e.offset() <= bad.size());
      }
    }
  }
}

namespace {

// A file-style frame from raw schema and body bytes, as a hostile writer could make it.
std::vector<std::byte> handmade_frame(const std::vector<std::uint8_t>& schema,
                                      const std::vector<std::uint8_t>& body) {
  std::vector<std::byte> out(brine::frame_header_size);
  brine::frame_header h;
  h.flags = brine::frame_has_schema;
  h.fingerprint = brine::fingerprint_of(schema);
  h.body_size = body.size();
  brine::write_frame_header(out.data(), h);
  auto n = static_cast<std::uint32_t>(schema.size());
  for (int i = 0; i < 4; ++i)
    out.push_back(static_cast<std::byte>(n >> (8 * i)));
  for (auto b : schema)
    out.push_back(static_cast<std::byte>(b));
  for (auto b : body)
    out.push_back(static_cast<std::byte>(b));
  return out;
}

}  // namespace

// Regressions found by the Python reader's cross-check against brine-inspect.
TEST_CASE("inspect: a map whose key size overflows is refused, not a division by zero",
          "[codec][inspect]") {
  // map<array<u8, 2^64-1>, u8> with an empty body.
  std::vector<std::uint8_t> schema = {0x25, 0x27, 0xff, 0xff, 0xff, 0xff, 0xff,
                                      0xff, 0xff, 0xff, 0xff, 0x01, 0x03, 0x03};
  CHECK_THROWS_AS(show(handmade_frame(schema, {0x01})), brine::decode_error);
  CHECK_THAT(show(handmade_frame(schema, {0x00})), Catch::Contains("map[0]"));
}

TEST_CASE("inspect: values nested thousands deep inside records are refused, not a stack overflow",
          "[codec][inspect]") {
  // {f: optional<optional<...250...<^0>>>} repeated: each record nests 250 optionals.
  std::vector<std::uint8_t> schema = {0x29, 0x01, 0x01, 'f'};
  for (int i = 0; i < 250; ++i)
    schema.push_back(0x2a);
  schema.push_back(0x34);
  schema.push_back(0x00);
  std::vector<std::uint8_t> body;
  for (int level = 0; level < 100; ++level) {
    for (int i = 0; i < 250; ++i)
      body.push_back(0x01);
  }
  for (int i = 0; i < 250; ++i)
    body.push_back(0x01);
  body.back() = 0x00;  // the innermost optional is empty
  CHECK_THROWS_WITH(show(handmade_frame(schema, body)), Catch::Contains("nest deeper"));
}

TEST_CASE("inspect: repeated keys in a set are refused, as loads refuses them",
          "[codec][inspect]") {
  std::vector<std::uint8_t> schema = {0x23, 0x06};  // set<i32>
  std::vector<std::uint8_t> body = {0x02, 1, 0, 0, 0, 1, 0, 0, 0};
  CHECK_THROWS_WITH(show(handmade_frame(schema, body)), Catch::Contains("duplicate key"));
}
