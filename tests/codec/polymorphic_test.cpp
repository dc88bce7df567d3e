// BRINE_REGISTER: polymorphic pointers round-trip as their derived types, and only registered
// names can be constructed.

#include <catch2/catch.hpp>

#include <brine/brine.hpp>

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace shapes {

struct Shape {
  virtual ~Shape() = default;
  virtual std::string kind() const = 0;
  std::string label;
};

struct Circle : Shape {
  double r = 0;
  std::string kind() const override { return "circle"; }
  BRINE_FIELDS(label, r)
};

struct FilledCircle : Circle {
  std::uint32_t rgb = 0;
  std::string kind() const override { return "filled"; }
  BRINE_FIELDS(label, r, rgb)
};

struct Group : Shape {
  std::vector<std::unique_ptr<Shape>> members;
  std::string kind() const override { return "group"; }
  BRINE_FIELDS(label, members)
};

struct Unregistered : Shape {
  int x = 0;
  std::string kind() const override { return "unregistered"; }
  BRINE_FIELDS(label, x)
};

// Registered, but not a Shape.
struct Animal {
  virtual ~Animal() = default;
  std::string name;
  BRINE_FIELDS(name)
};

struct Dog : Animal {
  int barks = 0;
  BRINE_FIELDS(name, barks)
};

}  // namespace shapes

BRINE_REGISTER(shapes::Circle, "shapes.Circle");
BRINE_REGISTER(shapes::FilledCircle, "shapes.FilledCircle");
BRINE_REGISTER(shapes::Group, "shapes.Group");
BRINE_REGISTER(shapes::Dog);

namespace {

using namespace shapes;

std::unique_ptr<Shape> circle(double r, std::string label = "") {
  auto c = std::make_unique<Circle>();
  c->r = r;
  c->label = std::move(label);
  return c;
}

// Replaces the type name in a frame (same length) to forge what a hostile peer could send.
std::vector<std::byte> rename(std::vector<std::byte> frame, std::string_view from,
                              std::string_view to) {
  REQUIRE(from.size() == to.size());
  std::string s(reinterpret_cast<const char*>(frame.data()), frame.size());
  auto at = s.find(from);
  REQUIRE(at != std::string::npos);
  std::memcpy(frame.data() + at, to.data(), to.size());
  return frame;
}

}  // namespace

TEST_CASE("polymorphic: unique_ptr<Base> comes back as the registered derived type",
          "[codec][polymorphic]") {
  std::vector<std::unique_ptr<Shape>> in;
  in.push_back(circle(2, "c"));
  auto f = std::make_unique<FilledCircle>();
  f->r = 1;
  f->rgb = 0xff0000;
  in.push_back(std::move(f));
  in.push_back(nullptr);
  auto out = brine::loads<std::vector<std::unique_ptr<Shape>>>(brine::dumps(in));
  REQUIRE(out.size() == 3);
  CHECK(out[0]->kind() == "circle");
  CHECK(dynamic_cast<Circle&>(*out[0]).r == 2);
  CHECK(out[0]->label == "c");
  CHECK(out[1]->kind() == "filled");
  CHECK(dynamic_cast<FilledCircle&>(*out[1]).rgb == 0xff0000);
  CHECK(out[2] == nullptr);
}

TEST_CASE("polymorphic: nested derived objects inside derived objects", "[codec][polymorphic]") {
  auto g = std::make_unique<Group>();
  g->label = "outer";
  auto inner = std::make_unique<Group>();
  inner->members.push_back(circle(3));
  g->members.push_back(std::move(inner));
  g->members.push_back(circle(4));
  std::unique_ptr<Shape> in = std::move(g);
  auto out = brine::loads<std::unique_ptr<Shape>>(brine::dumps(in));
  auto& outer = dynamic_cast<Group&>(*out);
  CHECK(outer.label == "outer");
  REQUIRE(outer.members.size() == 2);
  auto& nested = dynamic_cast<Group&>(*outer.members[0]);
  CHECK(dynamic_cast<Circle&>(*nested.members.at(0)).r == 3);
  CHECK(outer.members[1]->kind() == "circle");
}

TEST_CASE("polymorphic: shared_ptr<Base> and shared_ptr<Derived> to one object stay one object",
          "[codec][polymorphic]") {
  struct Scene {
    std::vector<std::shared_ptr<Shape>> all;
    std::shared_ptr<Circle> favourite;
    std::map<std::string, std::shared_ptr<Shape>> by_name;
  };
  auto fc = std::make_shared<FilledCircle>();
  fc->rgb = 7;
  Scene in;
  in.all = {fc, fc, nullptr};
  in.favourite = fc;
  in.by_name["x"] = fc;
  auto out = brine::loads<Scene>(brine::dumps(in));
  REQUIRE(out.all[0]);
  CHECK(out.all[0] == out.all[1]);
  CHECK(out.all[2] == nullptr);
  CHECK(static_cast<Shape*>(out.favourite.get()) == out.all[0].get());
  CHECK(out.by_name.at("x") == out.all[0]);
  CHECK(dynamic_cast<FilledCircle&>(*out.favourite).rgb == 7);
  CHECK(out.all[0].use_count() == 4);
}

TEST_CASE("polymorphic: encoding an unregistered derived type throws encode_error",
          "[codec][polymorphic]") {
  std::unique_ptr<Shape> p = std::make_unique<Unregistered>();
  CHECK_THROWS_AS(brine::dumps(p), brine::encode_error);
  std::shared_ptr<Shape> s = std::make_shared<Unregistered>();
  CHECK_THROWS_AS(brine::dumps(s), brine::encode_error);
}

TEST_CASE("polymorphic: an unknown type name is refused, naming it", "[codec][polymorphic]") {
  std::unique_ptr<Shape> p = circle(1);
  auto forged = rename(brine::dumps(p), "shapes.Circle", "shapes.Evilxx");
  try {
    (void)brine::loads<std::unique_ptr<Shape>>(forged);
    FAIL("no exception");
  } catch (const brine::decode_error& e) {
    CHECK_THAT(e.what(), Catch::Contains("shapes.Evilxx"));
    CHECK_THAT(e.what(), Catch::Contains("BRINE_REGISTER"));
  }
}

TEST_CASE("polymorphic: a registered type that is not derived from the pointer's type is refused",
          "[codec][polymorphic]") {
  std::unique_ptr<Shape> p = circle(1);
  // "shapes::Dog" (the default name: the macro argument as written) is registered but no Shape.
  auto frame = brine::dumps(p);
  std::string s(reinterpret_cast<const char*>(frame.data()), frame.size());
  auto at = s.find("shapes.Circle");
  REQUIRE(at != std::string::npos);
  // Rewrite the name length and the name: "shapes.Circle" (13) -> "shapes::Dog" (11).
  std::vector<std::byte> forged(frame.begin(), frame.begin() + static_cast<long>(at) - 1);
  forged.push_back(std::byte{11});
  for (char c : std::string("shapes::Dog"))
    forged.push_back(static_cast<std::byte>(c));
  forged.insert(forged.end(), frame.begin() + static_cast<long>(at + 13), frame.end());
  std::uint64_t body = forged.size() - brine::frame_header_size;
  std::memcpy(forged.data() + 16, &body, 8);
  CHECK_THROWS_WITH(brine::loads<std::unique_ptr<Shape>>(forged),
                    Catch::Contains("not derived from"));
}

TEST_CASE("polymorphic: a file lists the derived types' schemas for inspection",
          "[codec][polymorphic]") {
  std::ostringstream os;
  std::unique_ptr<Shape> p = circle(5, "round");
  brine::dump(p, os);
  std::string s = os.str();
  std::vector<std::byte> bytes(s.size());
  std::memcpy(bytes.data(), s.data(), s.size());
  auto f = brine::parse_frame(bytes);
  CHECK((f.header.flags & brine::frame_has_types) != 0);
  std::istringstream is(s);
  auto back = brine::load<std::unique_ptr<Shape>>(is);
  CHECK(dynamic_cast<Circle&>(*back).r == 5);
}

TEST_CASE("polymorphic: derived objects nested past max_depth are refused, not a stack overflow",
          "[codec][polymorphic]") {
  auto make_nest = [](int depth) {
    std::unique_ptr<Shape> top = circle(1);
    for (int i = 0; i < depth; ++i) {
      auto g = std::make_unique<Group>();
      g->members.push_back(std::move(top));
      top = std::move(g);
    }
    return top;
  };
  auto shallow = make_nest(100);
  auto frame = brine::dumps(shallow);
  CHECK_NOTHROW(brine::loads<std::unique_ptr<Shape>>(frame));
  brine::limits tight;
  tight.max_depth = 50;
  CHECK_THROWS_AS(brine::loads<std::unique_ptr<Shape>>(frame, tight), brine::decode_error);
  auto deep = make_nest(5000);
  CHECK_THROWS_AS(brine::dumps(deep), brine::encode_error);
  // Take the nest apart iteratively: its destructor would recurse 5000 deep.
  while (auto* g = dynamic_cast<Group*>(deep.get())) {
    std::unique_ptr<Shape> next = std::move(g->members.front());
    deep = std::move(next);
  }
}
