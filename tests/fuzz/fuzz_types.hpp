#pragma once

// Rich types for the decoder fuzzers and their seed corpus: graphs, polymorphic pointers,
// variants, maps, evolvable records, recursion.

#include <brine/brine.hpp>

#include <array>
#include <bitset>
#include <chrono>
#include <complex>
#include <cstdint>
#include <deque>
#include <list>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <variant>
#include <vector>

namespace fuzz {

struct Vec3 {
  float x, y, z;
};

struct Weapon {
  std::string name;
  std::int16_t damage;
};

enum class Color : std::uint8_t { red, green, blue };

struct Monster {
  Vec3 pos;
  std::int16_t mana, hp;
  std::string name;
  std::vector<std::uint8_t> inventory;
  Color color;
  std::vector<Weapon> weapons;
  Weapon equipped;
  std::vector<Vec3> path;
};

struct Node {
  int value = 0;
  std::shared_ptr<Node> next;
  std::vector<std::shared_ptr<Node>> edges;
};

// Holds its nodes; breaks the cycles they may form so that nothing leaks.
struct Graph {
  std::vector<std::shared_ptr<Node>> nodes;
  Graph() = default;
  Graph(const Graph&) = delete;
  Graph& operator=(const Graph&) = delete;
  Graph(Graph&&) = default;
  Graph& operator=(Graph&&) = default;
  ~Graph() {
    std::vector<std::shared_ptr<Node>> all;
    std::set<Node*> seen;
    std::vector<std::shared_ptr<Node>> todo = nodes;
    while (!todo.empty()) {
      auto n = std::move(todo.back());
      todo.pop_back();
      if (!n || !seen.insert(n.get()).second) continue;
      todo.push_back(n->next);
      todo.insert(todo.end(), n->edges.begin(), n->edges.end());
      all.push_back(std::move(n));
    }
    for (auto& n : all) {
      n->next.reset();
      n->edges.clear();
    }
  }
  BRINE_FIELDS(nodes)
};

struct Shape {
  virtual ~Shape() = default;
  std::string label;
  BRINE_FIELDS(label)
};

struct Circle : Shape {
  double r = 0;
  BRINE_FIELDS(label, r)
};

struct Polygon : Shape {
  std::vector<std::pair<double, double>> points;
  std::unique_ptr<Shape> inner;
  BRINE_FIELDS(label, points, inner)
};

struct Tree {
  int v = 0;
  std::vector<Tree> kids;
  std::optional<std::string> tag;
};

struct Config {
  BRINE_EVOLVABLE;
  int port = 80;
  std::string host = "localhost";
  std::vector<std::map<std::string, double>> weights;
};

struct Mixed {
  std::variant<std::monostate, int, std::string, std::vector<double>, Tree> v;
  std::map<std::string, std::variant<long, std::u16string>> m;
  std::unordered_map<int, std::set<std::string>> u;
  std::multimap<int, std::deque<bool>> mm;
  std::vector<bool> bits;
  std::bitset<13> flags;
  std::chrono::system_clock::time_point when;
  std::complex<double> z;
  std::array<std::list<char>, 2> lists;
  long double ld = 0;
  std::vector<std::unique_ptr<Shape>> shapes;
  std::shared_ptr<Shape> shared_shape;
  Config config;
};

}  // namespace fuzz
