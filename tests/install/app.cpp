// A user program built against an installed brine.
#include <brine/brine.hpp>

#include <cstdio>
#include <map>
#include <string>

struct Point {
  double x, y;
};

int main() {
  std::map<std::string, Point> m{{"origin", {0, 0}}, {"unit", {1, 1}}};
  auto back = brine::loads<std::map<std::string, Point>>(brine::dumps(m));
  std::printf("installed brine round-tripped %zu points\n", back.size());
  return back.size() == 2 && back["unit"].y == 1 ? 0 : 1;
}
