// Writes the fuzzers' seed corpus: valid frames of every fuzzed type.
//   make_seeds DIR   writes DIR/loads/*, DIR/schema/*, DIR/inspect/*

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "fuzz_types.hpp"

BRINE_REGISTER(fuzz::Circle, "fuzz.Circle");
BRINE_REGISTER(fuzz::Polygon, "fuzz.Polygon");

namespace {

namespace fs = std::filesystem;

void write(const fs::path& p, const std::vector<std::byte>& bytes, int selector = -1) {
  std::ofstream f(p, std::ios::binary);
  if (selector >= 0) f.put(static_cast<char>(selector));
  f.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

template <class T>
void seed(const fs::path& dir, const std::string& name, int selector, const T& v) {
  write(dir / "loads" / (name + ".msg"), brine::dumps(v), selector);
  std::ostringstream file;
  brine::dump(v, file);
  std::string s = file.str();
  std::vector<std::byte> framed(s.size());
  std::memcpy(framed.data(), s.data(), s.size());
  write(dir / "loads" / (name + ".file"), framed, selector);
  write(dir / "inspect" / (name + ".file"), framed);
  auto schema = brine::schema_of<T>;
  std::vector<std::byte> sb(schema.size());
  std::memcpy(sb.data(), schema.data(), schema.size());
  write(dir / "schema" / (name + ".schema"), sb);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_seeds DIR\n");
    return 2;
  }
  fs::path dir = argv[1];
  for (const char* sub : {"loads", "schema", "inspect"})
    fs::create_directories(dir / sub);

  std::vector<fuzz::Monster> monsters(2);
  monsters[0] = {{1, 2, 3},          10,           20,         "orc",      {1, 2},
                 fuzz::Color::green, {{"axe", 3}}, {"bow", 2}, {{0, 0, 0}}};
  seed(dir, "monsters", 0, monsters);

  fuzz::Graph g;
  auto a = std::make_shared<fuzz::Node>();
  auto b = std::make_shared<fuzz::Node>();
  a->value = 1;
  b->value = 2;
  a->next = b;
  b->next = a;
  a->edges = {a, b, nullptr};
  g.nodes = {a, b};
  seed(dir, "graph", 1, g);

  std::vector<std::unique_ptr<fuzz::Shape>> shapes;
  auto c = std::make_unique<fuzz::Circle>();
  c->r = 2;
  auto p = std::make_unique<fuzz::Polygon>();
  p->points = {{0, 0}, {1, 1}};
  p->inner = std::make_unique<fuzz::Circle>();
  shapes.push_back(std::move(c));
  shapes.push_back(std::move(p));
  shapes.push_back(nullptr);
  seed(dir, "shapes", 2, shapes);

  fuzz::Tree t{1, {{2, {}, "leaf"}, {3, {{4, {}, {}}}, {}}}, "root"};
  seed(dir, "tree", 3, t);

  fuzz::Config cfg;
  cfg.weights = {{{"a", 1.5}}, {}};
  seed(dir, "config", 4, cfg);

  fuzz::Mixed m;
  m.v = std::string("hello");
  m.m = {{"x", 1L}, {"y", std::u16string(u"\u00e9t\u00e9")}};
  m.u = {{1, {"a", "b"}}};
  m.mm = {{1, {true, false}}, {1, {}}};
  m.bits = {true, false, true};
  m.flags.set(3);
  m.z = {1, -1};
  m.lists = {std::list<char>{'a'}, std::list<char>{}};
  m.ld = 1.25L;
  m.shapes.push_back(std::make_unique<fuzz::Circle>());
  m.shared_shape = std::make_shared<fuzz::Polygon>();
  seed(dir, "mixed", 5, m);
  return 0;
}
