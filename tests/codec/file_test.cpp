// dump/load with files and streams: round trips, the file layout, atomic replacement, failures.

#include <catch2/catch.hpp>

#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "codec_test_util.hpp"

using namespace codec_test;
namespace fs = std::filesystem;

namespace file_types {

struct Point {
  double x, y;
  bool operator==(const Point&) const = default;
};

struct Model {
  std::string name;
  std::map<std::string, std::vector<Point>> layers;
  std::vector<double> weights;
  bool operator==(const Model&) const = default;
};

struct Other {
  int a = 0;
};

using List = codec_test::Chain;

}  // namespace file_types

using namespace file_types;

namespace {

// A fresh directory for one test, removed with everything in it at the end.
class temp_dir {
 public:
  temp_dir() {
    static std::atomic<int> counter{0};
    path_ = fs::temp_directory_path() / ("brine-codec-file-test-" + std::to_string(::getpid()) +
                                         "-" + std::to_string(counter++));
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  ~temp_dir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }
  fs::path operator/(const std::string& name) const { return path_ / name; }
  std::set<std::string> listing() const {
    std::set<std::string> names;
    for (const auto& e : fs::directory_iterator(path_))
      names.insert(e.path().filename().string());
    return names;
  }

 private:
  fs::path path_;
};

Model make_model() {
  return {"model", {{"in", {{1, 2}, {3, 4}}}, {"out", {}}}, {0.5, -0.25, 1e10}};
}

bytes read_all(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::string s((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  bytes out(s.size());
  std::memcpy(out.data(), s.data(), s.size());
  return out;
}

void write_all(const fs::path& p, const bytes& data) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
}

inline std::unique_ptr<List> make_list(int n) { return codec_test::make_chain(n); }

void unwind(std::unique_ptr<List>& list) {
  while (list)
    list = std::move(list->next);
}

}  // namespace

TEST_CASE("file: dump then load gives the value back", "[codec][file]") {
  temp_dir dir;
  Model m = make_model();
  brine::dump(m, dir / "model.brine");
  CHECK(brine::load<Model>(dir / "model.brine") == m);
  CHECK(dir.listing() == std::set<std::string>{"model.brine"});

  brine::dump(std::string("text"), dir / "s");
  CHECK(brine::load<std::string>(dir / "s") == "text");
  brine::dump(std::vector<bool>{true, false}, dir / "vb");
  CHECK(brine::load<std::vector<bool>>(dir / "vb") == std::vector<bool>{true, false});
}

TEST_CASE("file: a dumped file starts with the magic, has the schema flag and block",
          "[codec][file]") {
  temp_dir dir;
  Point p{1, 2};
  brine::dump(p, dir / "p");
  bytes f = read_all(dir / "p");
  REQUIRE(f.size() >= header_size + 4);
  CHECK(std::memcmp(f.data(), brine::frame_magic, 4) == 0);
  CHECK(f[4] == std::byte{brine::format_version});
  CHECK((static_cast<std::uint8_t>(f[5]) & brine::frame_has_schema) != 0);
  CHECK(read_u64(f, fingerprint_at) == brine::fingerprint<Point>);
  std::uint32_t n;
  std::memcpy(&n, f.data() + header_size, 4);
  REQUIRE(n == brine::schema_of<Point>.size());
  CHECK(std::memcmp(f.data() + header_size + 4, brine::schema_of<Point>.data(), n) == 0);
  CHECK(read_u64(f, body_size_at) == 16);
  CHECK(f.size() == header_size + 4 + n + 16);
  // The file is a frame: loads reads it as well.
  CHECK(brine::loads<Point>(f) == p);
}

TEST_CASE("file: dump replaces an existing file", "[codec][file]") {
  temp_dir dir;
  brine::dump(std::string("old"), dir / "f");
  brine::dump(std::string("new"), dir / "f");
  CHECK(brine::load<std::string>(dir / "f") == "new");
  CHECK(dir.listing() == std::set<std::string>{"f"});
}

TEST_CASE("file: load of a missing file throws io_error", "[codec][file]") {
  temp_dir dir;
  try {
    (void)brine::load<Model>(dir / "missing.brine");
    FAIL("load of a missing file succeeded");
  } catch (const brine::io_error& e) {
    CHECK(std::string(e.what()).find("missing.brine") != std::string::npos);
  }
  CHECK_THROWS_AS(brine::load<Model>(dir / "no" / "such" / "dir"), brine::io_error);
}

TEST_CASE("file: load of a directory throws io_error", "[codec][file]") {
  temp_dir dir;
  CHECK_THROWS_AS(brine::load<Model>(dir.path()), brine::io_error);
}

TEST_CASE("file: load of an empty, truncated or padded file throws decode_error", "[codec][file]") {
  temp_dir dir;
  brine::dump(make_model(), dir / "m");
  bytes f = read_all(dir / "m");

  write_all(dir / "empty", {});
  CHECK_THROWS_AS(brine::load<Model>(dir / "empty"), brine::decode_error);
  for (std::size_t n : {std::size_t{10}, header_size, header_size + 3, f.size() - 1}) {
    write_all(dir / "cut", bytes(f.begin(), f.begin() + static_cast<std::ptrdiff_t>(n)));
    CHECK_THROWS_AS(brine::load<Model>(dir / "cut"), brine::decode_error);
  }
  bytes padded = f;
  padded.push_back(std::byte{0});
  write_all(dir / "padded", padded);
  CHECK_THROWS_AS(brine::load<Model>(dir / "padded"), brine::decode_error);
}

TEST_CASE("file: load of a file of another type throws type_mismatch", "[codec][file]") {
  temp_dir dir;
  brine::dump(Other{5}, dir / "o");
  CHECK_THROWS_AS(brine::load<Model>(dir / "o"), brine::type_mismatch);
  CHECK(brine::load<Other>(dir / "o").a == 5);
}

TEST_CASE("file: load honours limits", "[codec][file]") {
  temp_dir dir;
  brine::dump(std::string(5000, 'x'), dir / "big");
  brine::limits lim;
  lim.max_frame = 1000;
  CHECK_THROWS_AS(brine::load<std::string>(dir / "big", lim), brine::decode_error);
  lim = {};
  lim.max_alloc = 100;
  CHECK_THROWS_AS(brine::load<std::string>(dir / "big", lim), brine::decode_error);
}

TEST_CASE("file: a dump into a nonexistent directory throws io_error and creates nothing",
          "[codec][file]") {
  temp_dir dir;
  CHECK_THROWS_AS(brine::dump(make_model(), dir / "nope" / "m.brine"), brine::io_error);
  CHECK(dir.listing().empty());
}

TEST_CASE("file: a dump whose encode throws leaves the old file intact and no temporary file",
          "[codec][file]") {
  temp_dir dir;
  auto target = dir / "list.brine";
  auto small = make_list(3);
  brine::dump(small, target);
  bytes before = read_all(target);

  auto deep = make_list(10000);
  CHECK_THROWS_AS(brine::dump(deep, target), brine::encode_error);
  unwind(deep);

  CHECK(dir.listing() == std::set<std::string>{"list.brine"});
  CHECK(read_all(target) == before);
  auto back = brine::load<std::unique_ptr<List>>(target);
  REQUIRE(back);
  CHECK(back->v == 2);
}

TEST_CASE("file: a dump that cannot rename leaves the old contents and no temporary file",
          "[codec][file]") {
  temp_dir dir;
  // The target is a non-empty directory: the temporary file is written, the rename fails.
  fs::create_directories(dir / "target" / "inside");
  CHECK_THROWS_AS(brine::dump(make_model(), dir / "target"), brine::io_error);
  CHECK(dir.listing() == std::set<std::string>{"target"});
  CHECK(fs::is_directory(dir / "target" / "inside"));
}

TEST_CASE("stream: dump to an ostringstream and load from an istringstream", "[codec][file]") {
  std::ostringstream out;
  Model m = make_model();
  brine::dump(m, out);
  std::istringstream in(out.str());
  CHECK(brine::load<Model>(in) == m);
  CHECK(in.peek() == std::char_traits<char>::eof());
}

TEST_CASE("stream: two frames back to back in one stream load one after the other",
          "[codec][file]") {
  std::ostringstream out;
  Model m = make_model();
  brine::dump(m, out);
  brine::dump(std::vector<int>{1, 2, 3}, out);
  // A frame from dumps (no schema block) can follow too.
  bytes raw = brine::dumps(std::string("raw"));
  out.write(reinterpret_cast<const char*>(raw.data()), static_cast<std::streamsize>(raw.size()));

  std::istringstream in(out.str());
  CHECK(brine::load<Model>(in) == m);
  CHECK(brine::load<std::vector<int>>(in) == std::vector<int>{1, 2, 3});
  CHECK(brine::load<std::string>(in) == "raw");
  // Nothing is left: one more load fails with a brine error.
  CHECK_THROWS_AS(brine::load<std::string>(in), brine::error);
}

TEST_CASE("stream: a stream that ends inside a frame throws decode_error", "[codec][file]") {
  std::ostringstream out;
  brine::dump(make_model(), out);
  std::string s = out.str();
  for (std::size_t n :
       {std::size_t{0}, std::size_t{5}, header_size, header_size + 2, s.size() / 2, s.size() - 1}) {
    CAPTURE(n);
    std::istringstream in(s.substr(0, n));
    CHECK_THROWS_AS(brine::load<Model>(in), brine::decode_error);
  }
}

TEST_CASE("stream: a header claiming a huge body fails without allocating it", "[codec][file]") {
  std::ostringstream out;
  brine::dump(std::string("x"), out);
  std::string s = out.str();
  std::uint64_t huge = std::uint64_t{1} << 29;  // under max_frame, far over what is there
  std::memcpy(s.data() + body_size_at, &huge, 8);
  std::istringstream in(s);
  CHECK_THROWS_AS(brine::load<std::string>(in), brine::decode_error);
}

TEST_CASE("stream: dump to a failed stream throws io_error", "[codec][file]") {
  std::ofstream bad;  // never opened
  CHECK_THROWS_AS(brine::dump(make_model(), bad), brine::io_error);
  std::ostringstream broken;
  broken.setstate(std::ios::badbit);
  CHECK_THROWS_AS(brine::dump(1, broken), brine::io_error);
}
