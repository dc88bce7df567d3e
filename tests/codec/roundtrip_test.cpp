#include <catch2/catch.hpp>

#include <brine/brine.hpp>

struct Point {
  double x, y;
};

TEST_CASE("codec: a point round-trips", "[codec]") {
  Point p{1.5, -2};
  auto b = brine::dumps(p);
  auto q = brine::loads<Point>(b);
  CHECK(q.x == 1.5);
  CHECK(q.y == -2);
  CHECK(brine::schema_text<Point>() == "{x: f64, y: f64}");
}
