#pragma once

// Cases only brine runs: the same records as an evolvable type, and shapes behind polymorphic
// pointers next to the same shapes in a variant. They show what evolution and polymorphism cost
// over plain types.

#include <brine/reflect.hpp>

#include <memory>
#include <string>
#include <type_traits>
#include <variant>
#include <vector>

#include "cases.hpp"

namespace brine::bench {

struct evolvable_record {
  BRINE_EVOLVABLE;
  std::int32_t id = 0;
  std::int64_t stamp = 0;
  double value = 0;
  std::string label;
  std::vector<float> samples;
  bool operator==(const evolvable_record&) const = default;
};
using evolvable_set = std::vector<evolvable_record>;

struct circle_value {
  std::string label;
  double r = 0;
  bool operator==(const circle_value&) const = default;
};
struct rect_value {
  std::string label;
  double w = 0, h = 0;
  bool operator==(const rect_value&) const = default;
};
using shape_variants = std::vector<std::variant<circle_value, rect_value>>;

struct shape {
  virtual ~shape() = default;
  std::string label;
  BRINE_FIELDS(label)
};
struct circle : shape {
  double r = 0;
  BRINE_FIELDS(label, r)
};
struct rect : shape {
  double w = 0, h = 0;
  BRINE_FIELDS(label, w, h)
};

struct shape_set {
  std::vector<std::unique_ptr<shape>> items;
  shape_set() = default;
  shape_set(const shape_set& o) { *this = o; }
  shape_set& operator=(const shape_set& o) {
    items.clear();
    for (const auto& s : o.items) {
      if (auto* c = dynamic_cast<const circle*>(s.get()))
        items.push_back(std::make_unique<circle>(*c));
      if (auto* r = dynamic_cast<const rect*>(s.get())) items.push_back(std::make_unique<rect>(*r));
    }
    return *this;
  }
  bool operator==(const shape_set& o) const {
    if (items.size() != o.items.size()) return false;
    for (std::size_t i = 0; i < items.size(); ++i) {
      auto* a = dynamic_cast<const circle*>(items[i].get());
      auto* b = dynamic_cast<const circle*>(o.items[i].get());
      if ((a == nullptr) != (b == nullptr)) return false;
      if (a != nullptr && (a->label != b->label || a->r != b->r)) return false;
      auto* x = dynamic_cast<const rect*>(items[i].get());
      auto* y = dynamic_cast<const rect*>(o.items[i].get());
      if (x != nullptr && (x->label != y->label || x->w != y->w || x->h != y->h)) return false;
    }
    return true;
  }
  BRINE_FIELDS(items)
};

template <class T>
inline constexpr bool brine_only =
    std::is_same_v<T, evolvable_set> || std::is_same_v<T, shape_variants> ||
    std::is_same_v<T, shape_set>;

/// The 10,000 records of make_records(), evolvable.
inline evolvable_set make_evolvable_records() {
  evolvable_set out;
  for (const record& r : make_records())
    out.push_back({r.id, r.stamp, r.value, r.label, r.samples});
  return out;
}

/// 1,000 shapes, circles and rectangles, in a variant.
inline shape_variants make_shape_variants() {
  generator g(5);
  shape_variants out;
  for (int i = 0; i < 1000; ++i) {
    if (g.integer(0, 1) == 0) {
      out.push_back(circle_value{g.text(3, 10), g.real(0.0, 10.0)});
    } else {
      out.push_back(rect_value{g.text(3, 10), g.real(0.0, 10.0), g.real(0.0, 10.0)});
    }
  }
  return out;
}

/// The same shapes as polymorphic objects behind unique_ptr<shape>.
inline shape_set make_shape_set() {
  shape_set out;
  for (const auto& v : make_shape_variants()) {
    if (auto* c = std::get_if<circle_value>(&v)) {
      auto p = std::make_unique<circle>();
      p->label = c->label;
      p->r = c->r;
      out.items.push_back(std::move(p));
    } else {
      const auto& r = std::get<rect_value>(v);
      auto p = std::make_unique<rect>();
      p->label = r.label;
      p->w = r.w;
      p->h = r.h;
      out.items.push_back(std::move(p));
    }
  }
  return out;
}

}  // namespace brine::bench
