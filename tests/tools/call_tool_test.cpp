// brine-call as users run it, against a brine::server in this process: listing, calls over
// every transport, and the exit code of each way a call can fail. BRINE_CALL names the program
// (set by Meson). The tool runs through popen (a spawn: safe while the server's threads run).

#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "../channel/channel_test_util.hpp"
#include "brine/rpc.hpp"
#include "run_command.hpp"

using namespace std::chrono_literals;

namespace {

struct point {
  double x = 0;
  double y = 0;
  std::string label;
  BRINE_FIELDS(x, y, label)
};

struct settings {
  BRINE_EVOLVABLE;
  int port = 80;
  std::vector<std::string> hosts;
};

struct run_result {
  int code = -1;
  std::string out;
  std::string err;
};

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

// Runs brine-call with `args` (each quoted for the shell).
run_result brine_call(const std::vector<std::string>& args) {
  const char* tool = std::getenv("BRINE_CALL");
  REQUIRE(tool != nullptr);
  static std::atomic<int> counter{0};
  std::string err_path = "/tmp/brine-test-" + std::to_string(::getpid()) + "-call-" +
                         std::to_string(counter++) + ".err";
  std::string cmd = shell_quote(tool);
  for (const auto& a : args)
    cmd.append(" ").append(shell_quote(a));
  cmd.append(" 2>").append(shell_quote(err_path));
  test::command_result ran = test::run_command(cmd);
  REQUIRE(ran.code != -1);
  run_result r{ran.code, std::move(ran.out), {}};
  std::ifstream err(err_path);
  std::stringstream ss;
  ss << err.rdbuf();
  r.err = ss.str();
  ::unlink(err_path.c_str());
  UNSCOPED_INFO(cmd << "\nexit " << r.code << "\nstdout: " << r.out << "\nstderr: " << r.err);
  return r;
}

brine::rpc_options quick() {
  brine::rpc_options o;
  o.channel.connect_timeout = 5s;
  return o;
}

std::string url_for(const std::string& scheme) {
  static std::atomic<int> counter{0};
  if (scheme == "ipc") return test::ipc_url("call");
  if (scheme == "tcp") return "tcp://127.0.0.1:*";
  return "shm://brine-test-" + std::to_string(::getpid()) + "-call-" + std::to_string(counter++);
}

std::atomic<int> resets{0};

void offer(brine::server& srv) {
  srv.handle("add", [](int a, int b) { return a + b; });
  srv.handle("greet", [](const std::string& who) { return "hi " + who; });
  srv.handle("scale", [](const point& p, double f) {
    return point{p.x * f, p.y * f, p.label + "*"};
  });
  srv.handle("reset", [] { ++resets; });
  srv.handle("fail", [](const std::string& why) -> int { throw std::invalid_argument(why); });
  srv.handle("count", [](const std::map<std::string, int>& m) {
    int sum = 0;
    for (const auto& [k, v] : m)
      sum += v;
    return sum;
  });
  srv.handle("sum", [](const std::vector<int>& v) {
    int sum = 0;
    for (int x : v)
      sum += x;
    return sum;
  });
  srv.handle("configure", [](settings s) {
    s.port += 1;
    s.hosts.push_back("added");
    return s;
  });
}

}  // namespace

TEST_CASE("brine-call: lists methods and calls them over every transport", "[tools][call]") {
  std::string scheme = GENERATE(as<std::string>{}, "ipc", "shm", "tcp");
  brine::server srv(url_for(scheme), quick());
  offer(srv);
  srv.start(1);
  std::string url = srv.endpoint();
  INFO(url);

  run_result list = brine_call({url});
  CHECK(list.code == 0);
  CHECK(list.out.find("add") != std::string::npos);
  CHECK(list.out.find("int(int, int)") != std::string::npos);
  CHECK(list.out.find("(i32, i32) -> i32") != std::string::npos);
  CHECK(list.out.find("scale") != std::string::npos);
  CHECK(list.out.find("({x: f64, y: f64, label: string}, f64) -> {x: f64, y: f64, label: "
                      "string}") != std::string::npos);

  run_result add = brine_call({url, "add", "2", "3"});
  CHECK(add.code == 0);
  CHECK(add.out == "5\n");
  CHECK(add.err.empty());
  CHECK(brine_call({url, "add", "-7", "3"}).out == "-4\n");
  CHECK(brine_call({url, "add", "--args", "[40, 2]"}).out == "42\n");

  CHECK(brine_call({url, "greet", "bob"}).out == "\"hi bob\"\n");
  CHECK(brine_call({url, "greet", "\"b\\u00f6b\""}).out ==
        "\"hi b\xc3\xb6"
        "b\"\n");
  CHECK(brine_call({url, "greet", "42"}).out == "\"hi 42\"\n");
  CHECK(brine_call({url, "greet", "--", "--x"}).out == "\"hi --x\"\n");

  run_result scaled = brine_call({url, "scale", R"({"x": 1.5, "y": -2, "label": "p"})", "2"});
  CHECK(scaled.code == 0);
  CHECK(scaled.out == "{\"x\":3,\"y\":-4,\"label\":\"p*\"}\n");
  CHECK(brine_call({url, "count", R"({"a": 1, "b": 2})"}).out == "3\n");
  CHECK(brine_call({url, "sum", "[1,2,3]"}).out == "6\n");  // one argument, not three
  CHECK(brine_call({url, "sum", "--", "[]"}).out == "0\n");
  CHECK(brine_call({"--timeout", "5000", url, "add", "1", "--", "-2"}).out == "-1\n");

  // Evolvable records travel with their schema, both ways.
  run_result configured = brine_call({url, "configure", R"({"port": 8080, "hosts": ["h"]})"});
  CHECK(configured.code == 0);
  CHECK(configured.out == "{\"port\":8081,\"hosts\":[\"h\",\"added\"]}\n");

  int before = resets.load();
  run_result reset = brine_call({url, "reset"});
  CHECK(reset.code == 0);
  CHECK(reset.out == "null\n");
  CHECK(resets.load() == before + 1);
}

TEST_CASE("brine-call: a method that throws exits 1 with the exception on stderr",
          "[tools][call]") {
  brine::server srv(url_for("ipc"), quick());
  offer(srv);
  srv.start(1);
  run_result r = brine_call({srv.endpoint(), "fail", "no such thing"});
  CHECK(r.code == 1);
  CHECK(r.out.empty());
  CHECK(r.err.find("std::invalid_argument") != std::string::npos);
  CHECK(r.err.find("no such thing") != std::string::npos);
}

TEST_CASE("brine-call: usage, JSON and argument errors exit 2 and call nothing", "[tools][call]") {
  std::string scheme = GENERATE(as<std::string>{}, "ipc", "shm");
  brine::server srv(url_for(scheme), quick());
  offer(srv);
  srv.start(1);
  std::string url = srv.endpoint();
  int before = resets.load();

  SECTION("unknown method: the server's methods are listed") {
    run_result r = brine_call({url, "subtract", "1", "2"});
    CHECK(r.code == 2);
    CHECK(r.out.empty());
    CHECK(r.err.find("no method 'subtract'") != std::string::npos);
    CHECK(r.err.find("int(int, int)") != std::string::npos);
  }
  SECTION("wrong number of arguments") {
    run_result r = brine_call({url, "add", "1"});
    CHECK(r.code == 2);
    CHECK(r.err.find("add takes 2 arguments (i32, i32), got 1") != std::string::npos);
    CHECK(brine_call({url, "reset", "1"}).code == 2);
    CHECK(brine_call({url, "add", "--args", "[1, 2, 3]"}).code == 2);
  }
  SECTION("arguments of the wrong types name their path") {
    run_result r = brine_call({url, "add", "\"two\"", "3"});
    CHECK(r.code == 2);
    CHECK(r.err.find("args[0]: expected an integer, got \"two\"") != std::string::npos);
    r = brine_call({url, "add", "1", "4294967296"});
    CHECK(r.code == 2);
    CHECK(r.err.find("args[1]: expected an integer from -2147483648 to 2147483647") !=
          std::string::npos);
    r = brine_call({url, "scale", R"({"x": 1, "y": 2})", "2"});
    CHECK(r.code == 2);
    CHECK(r.err.find("args[0]: missing field \"label\"") != std::string::npos);
    r = brine_call({url, "scale", R"({"x": 1, "y": 2, "label": 7})", "2"});
    CHECK(r.err.find("args[0].label: expected a string, got 7") != std::string::npos);
  }
  SECTION("bad JSON") {
    run_result r = brine_call({url, "add", "{1", "2"});
    CHECK(r.code == 2);
    CHECK(r.err.find("args[0]: not JSON") != std::string::npos);
    CHECK(brine_call({url, "add", "--args", "[1,"}).code == 2);
    CHECK(brine_call({url, "add", "--args", "{\"a\": 1}"}).code == 2);
    CHECK(brine_call({url, "add", "1", "2", "--args", "[1, 2]"}).code == 2);
  }
  SECTION("bad options") {
    CHECK(brine_call({}).code == 2);
    CHECK(brine_call({url, "add", "1", "2", "--timeout", "soon"}).code == 2);
    CHECK(brine_call({url, "--no-such-option"}).code == 2);
  }
  CHECK(resets.load() == before);
}

TEST_CASE("brine-call: no server exits 3 once --timeout has passed", "[tools][call]") {
  std::string url = GENERATE(as<std::string>{}, "ipc", "shm");
  url = url_for(url);
  auto start = std::chrono::steady_clock::now();
  run_result r = brine_call({url, "add", "1", "2", "--timeout", "300"});
  auto took = std::chrono::steady_clock::now() - start;
  CHECK(r.code == 3);
  CHECK(r.out.empty());
  CHECK_FALSE(r.err.empty());
  CHECK(took < 5s);
  CHECK(brine_call({url, "--timeout", "300"}).code == 3);
}
