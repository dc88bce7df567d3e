#pragma once

// The data sets of brine-bench-codec. Each is generated from a fixed seed, so every codec in a
// run, and every run, sees the same values.

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace brine::bench {

// The Monster data set of cpp_serializers_benchmark.
struct vec3 {
  float x, y, z;
  bool operator==(const vec3&) const = default;
};

enum class monster_color : std::uint8_t { red, green, blue };

struct weapon {
  std::string name;
  std::int16_t damage;
  bool operator==(const weapon&) const = default;
};

struct monster {
  vec3 pos;
  std::int16_t mana;
  std::int16_t hp;
  std::string name;
  std::vector<std::uint8_t> inventory;
  monster_color color;
  std::vector<weapon> weapons;
  weapon equipped;
  std::vector<vec3> path;
  bool operator==(const monster&) const = default;
};

struct record {
  std::int32_t id;
  std::int64_t stamp;
  double value;
  std::string label;
  std::vector<float> samples;
  bool operator==(const record&) const = default;
};

using monster_set = std::vector<monster>;
using record_set = std::vector<record>;
using double_set = std::vector<double>;
using record_map = std::map<std::string, record>;

// One list of fields per struct, so the peers' serialize functions cannot drift apart from the
// structs or from each other.
template <class V, class T>
concept same_struct = std::same_as<std::remove_const_t<V>, T>;

template <same_struct<vec3> V, class F>
decltype(auto) visit_fields(V& v, F&& f) {
  return f(v.x, v.y, v.z);
}
template <same_struct<weapon> V, class F>
decltype(auto) visit_fields(V& v, F&& f) {
  return f(v.name, v.damage);
}
template <same_struct<monster> V, class F>
decltype(auto) visit_fields(V& v, F&& f) {
  return f(v.pos, v.mana, v.hp, v.name, v.inventory, v.color, v.weapons, v.equipped, v.path);
}
template <same_struct<record> V, class F>
decltype(auto) visit_fields(V& v, F&& f) {
  return f(v.id, v.stamp, v.value, v.label, v.samples);
}

struct ignore_fields {
  template <class... F>
  void operator()(F&...) const noexcept {}
};

// A named functor, not a lambda: clang 14 mishandles lambdas in requires-expressions.
template <class T>
concept has_fields = requires(T& v) {
  visit_fields(v, ignore_fields{});
};

class generator {
 public:
  explicit generator(std::uint32_t seed) : rng_(seed) {}

  template <class I>
  I integer(I lo, I hi) {
    return static_cast<I>(std::uniform_int_distribution<long long>(lo, hi)(rng_));
  }
  template <class F>
  F real(F lo, F hi) {
    return std::uniform_real_distribution<F>(lo, hi)(rng_);
  }
  std::string text(std::size_t lo, std::size_t hi) {
    std::string s(integer(lo, hi), ' ');
    for (char& c : s)
      c = static_cast<char>('a' + integer(0, 25));
    return s;
  }

  vec3 point() {
    return {real(-1000.0f, 1000.0f), real(-1000.0f, 1000.0f), real(-1000.0f, 1000.0f)};
  }
  weapon arm() { return {text(1, 10), integer<std::int16_t>(0, 1000)}; }

  monster beast() {
    monster m{};
    m.pos = point();
    m.mana = integer<std::int16_t>(0, 1000);
    m.hp = integer<std::int16_t>(0, 1000);
    m.name = text(1, 10);
    m.inventory.resize(integer<std::size_t>(1, 10));
    for (auto& item : m.inventory)
      item = integer<std::uint8_t>(0, 255);
    m.color = static_cast<monster_color>(integer(0, 2));
    m.weapons.resize(integer<std::size_t>(1, 10));
    for (auto& w : m.weapons)
      w = arm();
    m.equipped = arm();
    m.path.resize(integer<std::size_t>(1, 10));
    for (auto& p : m.path)
      p = point();
    return m;
  }

  record entry(std::int32_t id) {
    record r{};
    r.id = id;
    r.stamp = integer<std::int64_t>(1'600'000'000'000'000'000, 1'800'000'000'000'000'000);
    r.value = real(-1e6, 1e6);
    r.label = text(5, 15);
    r.samples.resize(integer<std::size_t>(0, 8));
    for (float& s : r.samples)
      s = real(-1.0f, 1.0f);
    return r;
  }

 private:
  std::mt19937 rng_;
};

/// 50 monsters, every list and name 1-10 elements long.
inline monster_set make_monsters() {
  generator g(1);
  monster_set out;
  for (int i = 0; i < 50; ++i)
    out.push_back(g.beast());
  return out;
}

/// 10,000 records with 5-15 character labels and 0-8 samples.
inline record_set make_records() {
  generator g(2);
  record_set out;
  out.reserve(10'000);
  for (std::int32_t i = 0; i < 10'000; ++i)
    out.push_back(g.entry(i));
  return out;
}

/// 8 MiB of doubles.
inline double_set make_doubles() {
  generator g(3);
  double_set out((std::size_t{8} << 20) / sizeof(double));
  for (double& d : out)
    d = g.real(-1e9, 1e9);
  return out;
}

/// 10,000 records keyed by distinct 8-16 character strings.
inline record_map make_record_map() {
  generator g(4);
  record_map out;
  for (std::int32_t i = 0; out.size() < 10'000; ++i) {
    std::string key = g.text(8, 16);  // before entry(): argument order is unspecified
    out.emplace(std::move(key), g.entry(i));
  }
  return out;
}

}  // namespace brine::bench
