// Evolvable records across versions, with frames and files frozen under tests/data/evolution
// by an older build. Set BRINE_WRITE_TEST_DATA=1 to write them again (only when the format
// changes on purpose).

#include <catch2/catch.hpp>

#include <brine/brine.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace v1 {

struct Point {
  BRINE_EVOLVABLE;
  double x = 0, y = 0;
  bool operator==(const Point&) const = default;
};

struct Config {
  BRINE_EVOLVABLE;
  int port = 80;
  std::string host = "localhost";
  std::vector<Point> points;
  bool operator==(const Config&) const = default;
};

}  // namespace v1

namespace v2 {

struct Point {
  BRINE_EVOLVABLE;
  double x = 0, y = 0;
  std::string label = "unnamed";
  bool operator==(const Point&) const = default;
};

struct Config {
  BRINE_EVOLVABLE;
  int port = 80;
  std::string host = "localhost";
  std::vector<Point> points;
  std::map<std::string, double> limits{{"cpu", 1.0}};
  std::shared_ptr<std::string> owner;
  std::shared_ptr<std::string> also_owner;
  bool operator==(const Config& o) const {
    return port == o.port && host == o.host && points == o.points && limits == o.limits &&
           (owner ? o.owner && *owner == *o.owner : !o.owner);
  }
};

}  // namespace v2

// Incompatible changes of v1::Config: each must be refused.
namespace changed_type {
struct Config {
  BRINE_EVOLVABLE;
  long port = 80;  // was int
  std::string host;
  std::vector<v1::Point> points;
};
}  // namespace changed_type

namespace reordered {
struct Config {
  BRINE_EVOLVABLE;
  std::string host;  // swapped with port
  int port = 80;
  std::vector<v1::Point> points;
};
}  // namespace reordered

namespace removed_middle {
struct Config {
  BRINE_EVOLVABLE;
  int port = 80;
  std::vector<v1::Point> points;  // host removed
};
}  // namespace removed_middle

namespace {

namespace fs = std::filesystem;

const fs::path data_dir = fs::path(BRINE_TEST_DATA) / "evolution";

v1::Config sample_v1() { return {8080, "old.example", {{1, 2}, {3, 4}}}; }

v2::Config sample_v2() {
  v2::Config c;
  c.port = 9090;
  c.host = "new.example";
  c.points = {{5, 6, "a"}, {7, 8, "b"}};
  c.limits = {{"cpu", 2.5}, {"mem", 512}};
  c.owner = std::make_shared<std::string>("ada");
  c.also_owner = c.owner;
  return c;
}

std::vector<std::byte> read_bytes(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::string s((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  std::vector<std::byte> out(s.size());
  std::memcpy(out.data(), s.data(), s.size());
  return out;
}

void write_bytes(const fs::path& p, const std::vector<std::byte>& b) {
  std::ofstream f(p, std::ios::binary);
  f.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
}

struct write_data_once {
  write_data_once() {
    if (std::getenv("BRINE_WRITE_TEST_DATA") == nullptr) return;
    fs::create_directories(data_dir);
    write_bytes(data_dir / "config_v1.frame", brine::dumps(sample_v1()));
    write_bytes(data_dir / "config_v2.frame", brine::dumps(sample_v2()));
    brine::dump(sample_v1(), data_dir / "config_v1.brine");
    brine::dump(sample_v2(), data_dir / "config_v2.brine");
  }
} const writer;

}  // namespace

TEST_CASE("evolution: a newer version reads an older frame and keeps its defaults",
          "[codec][evolution]") {
  auto c = brine::loads<v2::Config>(read_bytes(data_dir / "config_v1.frame"));
  CHECK(c.port == 8080);
  CHECK(c.host == "old.example");
  REQUIRE(c.points.size() == 2);
  CHECK(c.points[1].x == 3);
  CHECK(c.points[1].label == "unnamed");
  CHECK(c.limits == std::map<std::string, double>{{"cpu", 1.0}});
  CHECK(c.owner == nullptr);
}

TEST_CASE("evolution: an older version reads a newer frame and skips the new fields",
          "[codec][evolution]") {
  auto c = brine::loads<v1::Config>(read_bytes(data_dir / "config_v2.frame"));
  CHECK(c == v1::Config{9090, "new.example", {{5, 6}, {7, 8}}});
}

TEST_CASE("evolution: files of either version load in the other", "[codec][evolution]") {
  CHECK(brine::load<v1::Config>(data_dir / "config_v2.brine") ==
        v1::Config{9090, "new.example", {{5, 6}, {7, 8}}});
  auto c = brine::load<v2::Config>(data_dir / "config_v1.brine");
  CHECK(c.host == "old.example");
  CHECK(c.points.at(0).label == "unnamed");
  CHECK(brine::load<v2::Config>(data_dir / "config_v2.brine") == sample_v2());
}

TEST_CASE("evolution: the frozen bytes are what this build writes", "[codec][evolution]") {
  CHECK(read_bytes(data_dir / "config_v1.frame") == brine::dumps(sample_v1()));
  CHECK(read_bytes(data_dir / "config_v2.frame") == brine::dumps(sample_v2()));
}

TEST_CASE("evolution: shared objects after skipped fields keep their identity",
          "[codec][evolution]") {
  auto c = brine::loads<v2::Config>(brine::dumps(sample_v2()));
  REQUIRE(c.owner);
  CHECK(c.owner == c.also_owner);
}

TEST_CASE("evolution: a changed field type is a type_mismatch naming both schemas",
          "[codec][evolution]") {
  auto frame = read_bytes(data_dir / "config_v1.frame");
  try {
    (void)brine::loads<changed_type::Config>(frame);
    FAIL("no exception");
  } catch (const brine::type_mismatch& e) {
    std::string what = e.what();
    CHECK_THAT(what, Catch::Contains("port: i64"));
    CHECK_THAT(what, Catch::Contains("port: i32"));
  }
}

TEST_CASE("evolution: reordered fields and a field removed from the middle are refused",
          "[codec][evolution]") {
  auto frame = read_bytes(data_dir / "config_v1.frame");
  CHECK_THROWS_AS(brine::loads<reordered::Config>(frame), brine::type_mismatch);
  CHECK_THROWS_AS(brine::loads<removed_middle::Config>(frame), brine::type_mismatch);
  CHECK_THROWS_AS(brine::load<reordered::Config>(data_dir / "config_v2.brine"),
                  brine::type_mismatch);
}

TEST_CASE("evolution: a non-evolvable struct that changed is a type_mismatch",
          "[codec][evolution]") {
  struct A {
    int x;
  };
  struct B {
    int x;
    int y;
  };
  CHECK_THROWS_AS(brine::loads<B>(brine::dumps(A{1})), brine::type_mismatch);
}

TEST_CASE("evolution: a corrupt field count or length is a decode_error", "[codec][evolution]") {
  auto frame = brine::dumps(v1::Point{1, 2});
  // header 24, schema block, then the body: varint count, u32 length, two doubles.
  std::size_t body = frame.size() - (1 + 4 + 16);
  auto bad_length = frame;
  bad_length[body + 1] = std::byte{15};
  CHECK_THROWS_AS(brine::loads<v1::Point>(bad_length), brine::decode_error);
  auto bad_count = frame;
  bad_count[body] = std::byte{30};  // more fields than bytes
  CHECK_THROWS_AS(brine::loads<v1::Point>(bad_count), brine::decode_error);
  auto fewer = frame;
  fewer[body] = std::byte{1};  // one field announced, sixteen bytes of fields
  CHECK_THROWS_AS(brine::loads<v1::Point>(fewer), brine::decode_error);
}

TEST_CASE("evolution: frames of evolvable types carry their schema, others do not",
          "[codec][evolution]") {
  auto with = brine::dumps(v1::Point{});
  CHECK((static_cast<std::uint8_t>(with[5]) & brine::frame_has_schema) != 0);
  struct Plain {
    double x;
  };
  auto without = brine::dumps(Plain{});
  CHECK(static_cast<std::uint8_t>(without[5]) == 0);
  CHECK(without.size() == brine::frame_header_size + 8);
  CHECK(brine::dumps_size(v1::Point{}) == with.size());
}
