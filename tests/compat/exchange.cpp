// Built once with GCC and once with clang by cross_compiler.sh: both builds must print the same
// fingerprints and read each other's frames.

#include <brine/brine.hpp>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace compat {

struct Vec3 {
  float x, y, z;
  bool operator==(const Vec3&) const = default;
};

enum class Color : std::uint8_t { red, green, blue };

struct Weapon {
  std::string name;
  std::int16_t damage;
  bool operator==(const Weapon&) const = default;
};

struct Monster {
  Vec3 pos;
  std::int16_t mana, hp;
  std::string name;
  std::vector<std::uint8_t> inventory;
  Color color;
  std::vector<Weapon> weapons;
  std::optional<Weapon> equipped;
  std::vector<Vec3> path;
  std::variant<std::monostate, int, std::string> tag;
  std::map<std::string, std::vector<double>> stats;
  bool operator==(const Monster&) const = default;
};

class Account {
 public:
  Account() = default;
  Account(std::string o, long c) : owner_(std::move(o)), cents_(c) {}
  bool operator==(const Account&) const = default;
  BRINE_FIELDS(owner_, cents_)

 private:
  std::string owner_;
  long cents_ = 0;
};

struct Tree {
  int value = 0;
  std::vector<Tree> children;
  std::shared_ptr<Tree> link;
  bool operator==(const Tree& o) const { return value == o.value && children == o.children; }
};

struct Payload {
  std::vector<Monster> monsters;
  Account account;
  Tree tree;
  bool operator==(const Payload&) const = default;
};

Payload sample() {
  Payload p;
  for (int i = 0; i < 3; ++i) {
    Monster m{{1.f * i, 2.f, 3.f},
              static_cast<std::int16_t>(i),
              7,
              "orc" + std::to_string(i),
              {1, 2, 3},
              Color::green,
              {{"axe", 5}, {"bow", 3}},
              Weapon{"axe", 5},
              {{0, 0, 0}, {1, 1, 1}},
              std::string("boss"),
              {{"speed", {1.5, 2.5}}}};
    p.monsters.push_back(m);
  }
  p.account = Account("ada", 1234);
  p.tree.value = 1;
  p.tree.children = {Tree{2, {}, nullptr}, Tree{3, {Tree{4, {}, nullptr}}, nullptr}};
  return p;
}

}  // namespace compat

namespace {

// Types in an anonymous namespace: GCC spells their names with braces ("{anonymous}").
struct Hidden {
  int alpha;
  std::vector<std::string> beta;
  compat::Vec3 gamma;
};

}  // namespace

template <class T>
void print(const char* name) {
  std::printf("%s %016llx %s\n", name, static_cast<unsigned long long>(brine::fingerprint<T>),
              brine::schema_text<T>().c_str());
}

int main(int argc, char** argv) {
  using namespace compat;
  if (argc == 2 && std::strcmp(argv[1], "print") == 0) {
    print<Vec3>("Vec3");
    print<Weapon>("Weapon");
    print<Monster>("Monster");
    print<Account>("Account");
    print<Tree>("Tree");
    print<Payload>("Payload");
    print<Hidden>("Hidden");
    print<std::map<std::string, std::vector<std::optional<long>>>>("map");
    return 0;
  }
  if (argc == 3 && std::strcmp(argv[1], "write") == 0) {
    brine::dump(sample(), argv[2]);
    return 0;
  }
  if (argc == 3 && std::strcmp(argv[1], "read") == 0) {
    Payload p = brine::load<Payload>(argv[2]);
    if (!(p == sample())) {
      std::fprintf(stderr, "decoded value differs from the sample\n");
      return 1;
    }
    return 0;
  }
  std::fprintf(stderr, "usage: exchange print | write FILE | read FILE\n");
  return 2;
}
