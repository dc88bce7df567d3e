// Push/pull in one process and across processes: delivery, end of stream, fan shapes.

#include <catch2/catch.hpp>
#include <cstdint>
#include <map>
#include <numeric>
#include <string>
#include <vector>

#include "brine/channel.hpp"
#include "channel_test_util.hpp"

using namespace std::chrono_literals;

namespace {

struct job {
  std::uint64_t id = 0;
  std::string name;
  std::vector<double> data;
};

job make_job(std::uint64_t id) {
  return job{id, "job-" + std::to_string(id), std::vector<double>(id % 7, double(id))};
}

}  // namespace

TEST_CASE("pull: receives what one pusher sent, in order, then ends", "[channel][zmq]") {
  for (std::string url :
       {test::ipc_url("order"), test::inproc_url("order"), std::string("tcp://127.0.0.1:*")}) {
    CAPTURE(url);
    auto rx = brine::pull<job>(url);
    auto tx = brine::push<job>(rx.endpoint());
    for (std::uint64_t i = 0; i < 100; ++i)
      tx.send(make_job(i));
    tx.close();
    std::uint64_t next = 0;
    for (job& j : rx) {
      REQUIRE(j.id == next);
      REQUIRE(j.name == "job-" + std::to_string(next));
      REQUIRE(j.data.size() == next % 7);
      ++next;
    }
    REQUIRE(next == 100);
    REQUIRE(rx.done());
    REQUIRE_THROWS_AS(rx.recv(), brine::channel_closed);
  }
}
