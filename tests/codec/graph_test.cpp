// Object graphs: shared_ptr aliasing, cycles and DAGs come back with the same shape; recursive
// trees through vector and unique_ptr.

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "codec_test_util.hpp"

using namespace codec_test;

namespace graph_types {

struct Point {
  double x, y;
  bool operator==(const Point&) const = default;
};

struct Node {
  int v = 0;
  std::shared_ptr<Node> next;
};

struct Dag {
  std::string name;
  std::vector<std::shared_ptr<Dag>> kids;
};

struct Tree {
  int v = 0;
  std::vector<Tree> kids;
  bool operator==(const Tree&) const = default;
};

struct UTree {
  std::string label;
  std::unique_ptr<UTree> left, right;
};

struct Pair {
  std::shared_ptr<Point> a;
  std::shared_ptr<Point> b;
  std::shared_ptr<const Point> c;
};

// Counts live instances, so a test can see objects a decode left behind.
class Counted {
 public:
  Counted() { live().insert(this); }
  Counted(const Counted&) = delete;
  Counted& operator=(const Counted&) = delete;
  Counted& operator=(Counted&&) noexcept = default;
  ~Counted() { live().erase(this); }
  static std::set<Counted*>& live() {
    static std::set<Counted*> s;
    return s;
  }
  std::shared_ptr<Counted>& next() { return next_; }
  BRINE_FIELDS(v_, next_)

 private:
  int v_ = 0;
  std::shared_ptr<Counted> next_;
};

}  // namespace graph_types

using namespace graph_types;

namespace {

// Breaks every cycle through `next` reachable from `start`, so LeakSanitizer stays quiet.
void break_cycle(const std::shared_ptr<Node>& start) {
  std::vector<std::shared_ptr<Node>> seen;
  for (auto p = start; p && std::find(seen.begin(), seen.end(), p) == seen.end(); p = p->next) {
    seen.push_back(p);
  }
  for (auto& p : seen)
    p->next.reset();
}

// Breaks the cycles of its roots at the end of a test, even one that failed; holds them weakly so
// that use counts stay as the test sees them.
struct cycle_guard {
  std::vector<std::weak_ptr<Node>> roots;
  ~cycle_guard() {
    for (auto& r : roots)
      break_cycle(r.lock());
  }
};

std::shared_ptr<Node> ring(int n) {
  auto first = std::make_shared<Node>();
  first->v = 0;
  auto last = first;
  for (int i = 1; i < n; ++i) {
    last->next = std::make_shared<Node>();
    last = last->next;
    last->v = i;
  }
  last->next = first;
  return first;
}

Tree make_tree(int depth, int fan, int& counter) {
  Tree t;
  t.v = counter++;
  if (depth > 0) {
    for (int i = 0; i < fan; ++i)
      t.kids.push_back(make_tree(depth - 1, fan, counter));
  }
  return t;
}

std::unique_ptr<UTree> make_utree(int depth, const std::string& label) {
  auto t = std::make_unique<UTree>();
  t->label = label;
  if (depth > 0) {
    t->left = make_utree(depth - 1, label + "L");
    if (depth % 2 == 0) t->right = make_utree(depth - 1, label + "R");
  }
  return t;
}

bool same_utree(const UTree* a, const UTree* b) {
  if (!a || !b) return a == b;
  return a->label == b->label && same_utree(a->left.get(), b->left.get()) &&
         same_utree(a->right.get(), b->right.get());
}

}  // namespace

TEST_CASE("graph: two shared_ptrs to one object come back pointing to one object",
          "[codec][graph]") {
  auto p = std::make_shared<Point>(Point{1, 2});
  auto q = std::make_shared<Point>(Point{3, 4});
  Pair in{p, p, q};
  Pair out = roundtrip(in);
  REQUIRE(out.a);
  CHECK(out.a.get() == out.b.get());
  CHECK(out.a.use_count() == 2);
  CHECK(*out.a == Point{1, 2});
  REQUIRE(out.c);
  CHECK(out.c.get() != out.a.get());
  CHECK(out.c.use_count() == 1);
  CHECK(*out.c == Point{3, 4});
  // The second reference is a one-byte back-reference, not a second copy.
  CHECK(brine::dumps(in).size() == header_size + (1 + 16) + 1 + (1 + 16));

  // Aliasing holds across containers too.
  std::vector<std::shared_ptr<std::string>> v;
  auto s = std::make_shared<std::string>("shared");
  for (int i = 0; i < 5; ++i)
    v.push_back(s);
  v.push_back(nullptr);
  v.push_back(std::make_shared<std::string>("other"));
  auto w = roundtrip(v);
  REQUIRE(w.size() == 7);
  for (int i = 1; i < 5; ++i)
    CHECK(w[i].get() == w[0].get());
  CHECK(w[0].use_count() == 5);
  CHECK(*w[0] == "shared");
  CHECK(w[5] == nullptr);
  CHECK(w[6].get() != w[0].get());
  CHECK(*w[6] == "other");
}

TEST_CASE("graph: shared objects in different parts of a value stay shared", "[codec][graph]") {
  auto shared = std::make_shared<Point>(Point{5, 6});
  std::map<std::string, std::shared_ptr<Point>> m = {{"a", shared}, {"b", shared}};
  auto in = std::make_pair(m, std::vector<std::shared_ptr<Point>>{shared});
  auto out = roundtrip(in);
  CHECK(out.first.at("a").get() == out.first.at("b").get());
  CHECK(out.second.at(0).get() == out.first.at("a").get());
  CHECK(out.second.at(0).use_count() == 3);
}

TEST_CASE("graph: a cycle comes back as a cycle", "[codec][graph]") {
  cycle_guard guard;
  auto in = ring(3);
  guard.roots.push_back(in);
  auto out = roundtrip(in);
  guard.roots.push_back(out);
  REQUIRE(out);
  REQUIRE(out->next);
  REQUIRE(out->next->next);
  CHECK(out->v == 0);
  CHECK(out->next->v == 1);
  CHECK(out->next->next->v == 2);
  CHECK(out->next->next->next.get() == out.get());
  CHECK(out.get() != in.get());
  // `out` and the last node's `next` own the first node.
  CHECK(out.use_count() == 2);
  CHECK(out->next.use_count() == 1);
}

TEST_CASE("graph: a self-loop comes back as a self-loop", "[codec][graph]") {
  cycle_guard guard;
  auto in = std::make_shared<Node>();
  in->v = 42;
  in->next = in;
  guard.roots.push_back(in);
  auto out = roundtrip(in);
  guard.roots.push_back(out);
  REQUIRE(out);
  CHECK(out->v == 42);
  CHECK(out->next.get() == out.get());
  CHECK(out.use_count() == 2);
  // New object, its fields, then a back-reference to the object whose tag is at position 0.
  CHECK(body_of(brine::dumps(in)) == b({1, 42, 0, 0, 0, 3}));
}

TEST_CASE("graph: a long ring of 400 nodes comes back whole", "[codec][graph]") {
  cycle_guard guard;
  auto in = ring(400);
  guard.roots.push_back(in);
  auto out = roundtrip(in);
  guard.roots.push_back(out);
  auto p = out;
  for (int i = 0; i < 400; ++i) {
    REQUIRE(p);
    CHECK(p->v == i);
    p = p->next;
  }
  CHECK(p.get() == out.get());
}

TEST_CASE("graph: a DAG with diamond sharing inside a vector keeps its shape", "[codec][graph]") {
  auto bottom = std::make_shared<Dag>(Dag{"bottom", {}});
  auto left = std::make_shared<Dag>(Dag{"left", {bottom}});
  auto right = std::make_shared<Dag>(Dag{"right", {bottom}});
  auto top = std::make_shared<Dag>(Dag{"top", {left, right}});
  std::vector<std::shared_ptr<Dag>> in = {top, bottom, right, left};

  auto out = roundtrip(in);
  REQUIRE(out.size() == 4);
  auto& t = out[0];
  REQUIRE(t->kids.size() == 2);
  CHECK(t->name == "top");
  CHECK(t->kids[0]->name == "left");
  CHECK(t->kids[1]->name == "right");
  CHECK(t->kids[0].get() == out[3].get());
  CHECK(t->kids[1].get() == out[2].get());
  CHECK(t->kids[0]->kids.at(0).get() == t->kids[1]->kids.at(0).get());
  CHECK(t->kids[0]->kids[0].get() == out[1].get());
  CHECK(out[1]->name == "bottom");
  // bottom: out[1], left->kids[0], right->kids[0].
  CHECK(out[1].use_count() == 3);
}

TEST_CASE("graph: a recursive tree through vector<Tree> round-trips", "[codec][graph]") {
  int counter = 0;
  Tree in = make_tree(5, 3, counter);
  REQUIRE(counter == 364);
  check_roundtrip(in);
  check_roundtrip(Tree{});
  CHECK(brine::schema_text<Tree>() == "{v: i32, kids: list<^0>}");
}

TEST_CASE("graph: a recursive tree through unique_ptr round-trips", "[codec][graph]") {
  auto in = make_utree(8, "r");
  auto out = roundtrip(in);
  CHECK(same_utree(in.get(), out.get()));
  CHECK(brine::schema_text<UTree>() ==
        "{label: string, left: unique_ptr<^0>, right: unique_ptr<^0>}");
}

TEST_CASE("graph: a recursive shared_ptr type has a schema with a back edge", "[codec][graph]") {
  CHECK(brine::schema_text<Node>() == "{v: i32, next: shared_ptr<^0>}");
  CHECK(brine::schema_text<std::shared_ptr<Node>>() ==
        "shared_ptr<{v: i32, next: shared_ptr<^0>}>");
  CHECK(brine::schema_text<Dag>() == "{name: string, kids: list<shared_ptr<^0>>}");
}

TEST_CASE("graph: a decode that fails after building a cycle leaves no object behind",
          "[codec][graph]") {
  // The reader's memo builds the cycle and the decode then throws: unless the decoder breaks the
  // cycle, each such hostile frame leaks memory.
  REQUIRE(Counted::live().empty());
  auto self = std::make_shared<Counted>();
  self->next() = self;
  bytes good = brine::dumps(self);
  self->next().reset();
  self.reset();
  REQUIRE(Counted::live().empty());

  bytes body = body_of(good);
  body.push_back(std::byte{0});  // a trailing byte: the value decodes, then the frame is refused
  CHECK_THROWS_AS(brine::loads<std::shared_ptr<Counted>>(with_body(good, body)),
                  brine::decode_error);
  std::size_t leaked = Counted::live().size();
  // Free what leaked, so LeakSanitizer reports the test, not the process.
  std::vector<std::shared_ptr<Counted>> hold;
  for (Counted* c : std::vector<Counted*>(Counted::live().begin(), Counted::live().end())) {
    hold.push_back(std::move(c->next()));
  }
  hold.clear();
  CHECK(leaked == 0);
}
