// brine-bench-rpc: round-trip latency of brine RPC calls against raw cppzmq REQ/REP with
// pre-serialized bytes and Python's multiprocessing Pipe; calls per second with 1 and 8 clients;
// brine::pool map throughput against Python's Pool.map. Servers run in processes of their own;
// over ipc:// brine and raw ZeroMQ take turns in rounds, each with a fresh server and client.

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>
#include <zmq.hpp>

#include "brine/channel.hpp"
#include "brine/pool.hpp"
#include "brine/rpc.hpp"
#include "common/cli.hpp"
#include "common/harness.hpp"

namespace {

using namespace std::chrono_literals;
namespace bb = brine::bench;

constexpr std::size_t big = 64 * 1024;

template <class Fn>
pid_t spawn(Fn fn) {
  std::fflush(nullptr);
  pid_t pid = ::fork();
  if (pid != 0) return pid;
  int code = 0;
  try {
    fn();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "brine-bench-rpc: child: %s\n", e.what());
    code = 1;
  }
  brine::shutdown();
  ::_exit(code);
}

void finish(pid_t pid) {
  ::kill(pid, SIGTERM);
  ::waitpid(pid, nullptr, 0);
}

std::string ipc(const std::string& what) {
  return "ipc:///tmp/brine-bench-rpc-" + std::to_string(::getpid()) + "-" + what + ".sock";
}

void brine_server(const std::string& url, brine::rpc_options opts = {}) {
  brine::server srv(url, opts);
  srv.handle("add", [](int a, int b) { return a + b; });
  srv.handle("size", [](const std::vector<std::byte>& v) { return v.size(); });
  srv.handle("stop", [&srv] { srv.stop(); });
  srv.serve();
}

// A REP peer that answers every request with the same few bytes.
void zmq_server(const std::string& url) {
  ::zmq::context_t ctx;
  ::zmq::socket_t rep(ctx, ::zmq::socket_type::rep);
  rep.bind(url);
  std::vector<std::byte> reply = brine::dumps(5);
  for (;;) {
    ::zmq::message_t m;
    if (!rep.recv(m)) continue;
    rep.send(::zmq::buffer(reply.data(), reply.size()), ::zmq::send_flags::none);
  }
}

const char* python_script = R"PY(
import multiprocessing as mp, pickle, sys, time

def echo(conn):
    while True:
        msg = conn.recv()
        if msg is None:
            return
        conn.send(msg[0] + msg[1] if isinstance(msg, tuple) else len(msg))

def work(x):
    return x * x + 1

def pipe(arg, n):
    a, b = mp.Pipe()
    p = mp.Process(target=echo, args=(b,))
    p.start()
    for _ in range(100):
        a.send(arg); a.recv()
    ts = []
    for _ in range(n):
        t0 = time.perf_counter_ns(); a.send(arg); a.recv(); ts.append(time.perf_counter_ns() - t0)
    a.send(None); p.join()
    ts.sort()
    return ts[len(ts) // 2], ts[min(len(ts) - 1, int(len(ts) * 0.99))]

if __name__ == "__main__":
    mp.set_start_method("fork")
    n = int(sys.argv[1]); tasks = int(sys.argv[2]); workers = int(sys.argv[3])
    print("pipe_add %d %d" % pipe((2, 3), n))
    print("pipe_64KiB %d %d" % pipe(bytes(65536), n))
    with mp.Pool(workers) as pool:
        pool.map(work, range(tasks))
        t = None
        for _ in range(5):
            t0 = time.perf_counter_ns(); pool.map(work, range(tasks)); d = time.perf_counter_ns() - t0
            t = d if t is None else min(t, d)
    print("pool_map %d 0" % (tasks * 1e9 / t))
)PY";

// One round of ipc:// round trips between a server and a client forked for it alone, brine's
// or raw ZeroMQ's. Over ipc:// on two CPUs, where the scheduler puts each process's thread and
// its ZeroMQ I/O thread decides much of a round trip (both on one CPU, or every hand-over
// crossing between CPUs: 74 against 141 us here), and that placement, once drawn, lasts as long
// as the processes do. Fresh processes each round draw it afresh for both alike. Returns the
// client's round-trip times in ns (empty if the round failed).
std::vector<double> ipc_round(bool brine_side, bool large, std::size_t warmup, std::size_t calls) {
  static int round = 0;
  std::string url = ipc("round" + std::to_string(round++));
  pid_t server = spawn([&] {
    if (brine_side) {
      brine_server(url);
    } else {
      zmq_server(url);
    }
  });
  int out[2];
  if (::pipe(out) != 0) throw std::runtime_error("pipe failed");
  pid_t client = spawn([&] {
    ::close(out[0]);
    std::vector<std::byte> payload(large ? big : 0, std::byte{7});
    std::vector<double> ns;
    ns.reserve(calls);
    auto timed = [&](auto&& call) {
      for (std::size_t i = 0; i < warmup + calls; ++i) {
        auto t0 = bb::bench_clock::now();
        bb::do_not_optimize(call());
        std::chrono::duration<double, std::nano> d = bb::bench_clock::now() - t0;
        if (i >= warmup) ns.push_back(d.count());
      }
    };
    if (brine_side) {
      brine::client cli(url);
      if (large) {
        timed([&] { return cli.call<std::size_t>("size", payload); });
      } else {
        timed([&] { return cli.call<int>("add", 2, 3); });
      }
      cli.call("stop");
    } else {
      ::zmq::context_t ctx;
      ::zmq::socket_t req(ctx, ::zmq::socket_type::req);
      req.connect(url);
      std::vector<std::byte> bytes = large
                                         ? brine::dumps(std::tuple<std::vector<std::byte>>(payload))
                                         : brine::dumps(std::tuple<int, int>(2, 3));
      timed([&] {
        req.send(::zmq::buffer(bytes.data(), bytes.size()), ::zmq::send_flags::none);
        ::zmq::message_t r;
        (void)req.recv(r);
        return r.size();
      });
    }
    std::size_t n = ns.size();
    FILE* to = ::fdopen(out[1], "w");
    bool sent = to != nullptr && std::fwrite(&n, sizeof n, 1, to) == 1 &&
                std::fwrite(ns.data(), sizeof(double), n, to) == n;
    if (to == nullptr || std::fclose(to) != 0 || !sent)
      throw std::runtime_error("cannot hand the figures back");
  });
  ::close(out[1]);
  std::vector<double> ns;
  std::size_t n = 0;
  if (FILE* from = ::fdopen(out[0], "r")) {
    if (std::fread(&n, sizeof n, 1, from) == 1 && n <= calls) {
      ns.resize(n);
      if (std::fread(ns.data(), sizeof(double), n, from) != n) ns.clear();
    }
    std::fclose(from);
  } else {
    ::close(out[0]);
  }
  int status = 0;
  ::waitpid(client, &status, 0);
  bool stopped = brine_side && WIFEXITED(status) && WEXITSTATUS(status) == 0;
  if (stopped) {
    ::waitpid(server, nullptr, 0);  // stopped by the client's last call
  } else {
    finish(server);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) ns.clear();
  }
  std::remove(url.substr(6).c_str());
  return ns;
}

struct python_figures {
  bool ok = false;
  double add_ns = 0, add_p99 = 0, big_ns = 0, big_p99 = 0, pool_per_s = 0;
};

python_figures run_python(std::size_t n, std::size_t tasks, unsigned workers) {
  python_figures f;
  std::string path = "/tmp/brine-bench-rpc-" + std::to_string(::getpid()) + ".py";
  {
    std::ofstream os(path);
    os << python_script;
  }
  std::string cmd = "python3 " + path + " " + std::to_string(n) + " " + std::to_string(tasks) +
                    " " + std::to_string(workers) + " 2>/dev/null";
  FILE* p = ::popen(cmd.c_str(), "r");
  if (p != nullptr) {
    char name[64];
    double a = 0, b = 0;
    int found = 0;
    while (std::fscanf(p, "%63s %lf %lf", name, &a, &b) == 3) {
      std::string k = name;
      if (k == "pipe_add") f.add_ns = a, f.add_p99 = b, ++found;
      if (k == "pipe_64KiB") f.big_ns = a, f.big_p99 = b, ++found;
      if (k == "pool_map") f.pool_per_s = a, ++found;
    }
    f.ok = ::pclose(p) == 0 && found == 3;
  }
  std::remove(path.c_str());
  return f;
}

struct row {
  std::string what;
  std::string impl;
  bb::timing t;
};

void print_latency(const std::vector<row>& rows) {
  std::printf("\nround trip (one client, one call at a time)\n");
  std::printf("%-10s %-30s %12s %12s\n", "call", "implementation", "median us", "p99 us");
  for (const row& r : rows)
    std::printf("%-10s %-30s %12.2f %12.2f\n", r.what.c_str(), r.impl.c_str(), r.t.median_ns / 1000,
                r.t.p99_ns / 1000);
}

}  // namespace

int main(int argc, char** argv) {
  bb::config cfg;
  if (int rc = bb::parse_command_line(argc, argv, "brine RPC and pool benchmark", "case",
                                      {"latency", "throughput", "pool", "python"}, cfg);
      rc >= 0)
    return rc;
  bb::measure_options m = cfg.quick ? bb::measure_options::quick() : bb::measure_options{};
  m.min_sample = std::chrono::nanoseconds(0);  // one call per sample: p99 means something
  bb::json_report report("rpc");
  std::vector<row> rows;
  std::vector<row> ipc_rows;
  std::printf("brine-bench-rpc: %s\n", report.machine().c_str());

  // Over ipc://, brine and raw ZeroMQ take turns in rounds of fresh process pairs (see
  // ipc_round), before this process starts threads of its own.
  if (cfg.wants("latency")) {
    std::size_t rounds = cfg.quick ? 1 : 6;
    std::size_t calls = cfg.quick ? 50 : 2'000;
    for (bool large : {false, true}) {
      std::vector<double> brine_ns, zmq_ns;
      for (std::size_t r = 0; r < rounds; ++r) {
        for (int k = 0; k < 2; ++k) {
          bool brine_side = (r + static_cast<std::size_t>(k)) % 2 == 0;
          std::vector<double> got = ipc_round(brine_side, large, calls / 10, calls);
          auto& to = brine_side ? brine_ns : zmq_ns;
          to.insert(to.end(), got.begin(), got.end());
        }
      }
      if (brine_ns.empty() || zmq_ns.empty()) throw std::runtime_error("an ipc:// round failed");
      ipc_rows.push_back({large ? "64KiB" : "add", "brine ipc", bb::summarize(brine_ns)});
      ipc_rows.push_back(
          {large ? "64KiB" : "add", "cppzmq REQ/REP ipc (raw bytes)", bb::summarize(zmq_ns)});
    }
  }

  // Every server runs in a process forked before this one starts threads of its own.
  std::string brine_url = ipc("brine");
  std::string shm_url = "shm://brine-bench-rpc-" + std::to_string(::getpid());
  pid_t brine_pid = spawn([&] { brine_server(brine_url); });
  pid_t shm_pid = spawn([&] { brine_server(shm_url); });
  // The busy-polling server would keep a core busy through every other measurement: it waits,
  // asleep on a pipe, until its own turn comes.
  brine::rpc_options busy;
  busy.channel.shm_busy_poll = true;
  std::string busy_url = shm_url + "-busy";
  int go[2];
  if (::pipe(go) != 0) throw std::runtime_error("pipe failed");
  pid_t busy_pid = spawn([&] {
    ::close(go[1]);
    char c;
    if (::read(go[0], &c, 1) == 1) brine_server(busy_url, busy);
  });
  ::close(go[0]);

  if (cfg.wants("latency")) {
    std::vector<std::byte> payload(big, std::byte{7});
    {
      brine::client shm(shm_url);
      rows.push_back(
          {"add", "brine shm", bb::measure([&] { return shm.call<int>("add", 2, 3); }, m)});
      rows.push_back({"64KiB", "brine shm",
                      bb::measure([&] { return shm.call<std::size_t>("size", payload); }, m)});
    }
    {
      if (::write(go[1], "g", 1) != 1) throw std::runtime_error("pipe write failed");
      brine::client shm(busy_url, busy);
      rows.push_back({"add", "brine shm busy-poll",
                      bb::measure([&] { return shm.call<int>("add", 2, 3); }, m)});
      rows.push_back({"64KiB", "brine shm busy-poll",
                      bb::measure([&] { return shm.call<std::size_t>("size", payload); }, m)});
      shm.call("stop");
    }
    rows.insert(rows.end(), ipc_rows.begin(), ipc_rows.end());
  }

  python_figures py;
  std::size_t pool_tasks = cfg.quick ? 5'000 : 100'000;
  if (cfg.wants("python")) py = run_python(cfg.quick ? 200 : 5'000, pool_tasks, 2);
  if (py.ok) {
    bb::timing a, b;
    a.median_ns = py.add_ns, a.p99_ns = py.add_p99;
    b.median_ns = py.big_ns, b.p99_ns = py.big_p99;
    rows.push_back({"add", "python3 multiprocessing Pipe", a});
    rows.push_back({"64KiB", "python3 multiprocessing Pipe", b});
  }
  for (const row& r : rows)
    report.add_timing(r.what, r.impl, "round_trip", r.t);
  print_latency(rows);

  if (cfg.wants("throughput")) {
    std::printf("\ncalls per second (add, synchronous calls)\n");
    for (const std::string& url : {brine_url, shm_url})
      for (int clients : {1, 8}) {
        auto per_client = cfg.quick ? 200 : 20'000;
        auto t0 = bb::bench_clock::now();
        std::vector<std::thread> threads;
        for (int c = 0; c < clients; ++c)
          threads.emplace_back([&] {
            brine::client cli(url);
            for (int i = 0; i < per_client; ++i)
              bb::do_not_optimize(cli.call<int>("add", i, c));
          });
        for (auto& t : threads)
          t.join();
        double s = std::chrono::duration<double>(bb::bench_clock::now() - t0).count();
        double rate = clients * per_client / s;
        std::string impl = std::string(url == shm_url ? "brine shm" : "brine ipc") + ", " +
                           std::to_string(clients) + " client" + (clients == 1 ? "" : "s");
        std::printf("%-24s %12.0f calls/s\n", impl.c_str(), rate);
        report.add("add", impl, "calls_per_s", rate, "1/s");
      }
  }
  for (const std::string& url : {brine_url, shm_url})  // a clean exit removes its segments
    brine::client(url).call("stop");
  ::close(go[1]);  // the busy server, if it never ran, ends here
  ::waitpid(busy_pid, nullptr, 0);
  ::waitpid(brine_pid, nullptr, 0);
  ::waitpid(shm_pid, nullptr, 0);
  std::remove(brine_url.substr(6).c_str());

  if (cfg.wants("pool")) {
    std::vector<long> in(pool_tasks);
    for (std::size_t i = 0; i < in.size(); ++i)
      in[i] = static_cast<long>(i);
    brine::pool pool{2, [](long x) { return x * x + 1; }};
    // As for Python: one map of the same size warms up (memory, allocators), then the best of
    // five.
    std::vector<long> out = pool.map(in);
    double s = 1e9;
    for (int round = 0; round < 5; ++round) {
      auto t0 = bb::bench_clock::now();
      out = pool.map(in);
      s = std::min(s, std::chrono::duration<double>(bb::bench_clock::now() - t0).count());
    }
    double rate = static_cast<double>(in.size()) / s;
    std::printf("\npool.map of %zu small tasks, 2 workers (best of 5)\n", in.size());
    std::printf("%-30s %14.0f tasks/s\n", "brine::pool", rate);
    report.add("pool_map", "brine::pool", "tasks_per_s", rate, "1/s");
    if (py.ok) {
      std::printf("%-30s %14.0f tasks/s   (brine %.1fx)\n", "python3 Pool.map", py.pool_per_s,
                  rate / py.pool_per_s);
      report.add("pool_map", "python3 Pool.map", "tasks_per_s", py.pool_per_s, "1/s");
    }
    if (out.size() != in.size() || out.back() != in.back() * in.back() + 1) {
      std::fprintf(stderr, "brine-bench-rpc: pool.map gave wrong results\n");
      return 1;
    }
  }
  if (!py.ok && cfg.wants("python")) std::printf("\n(python3 not found: no Python figures)\n");

  if (!cfg.json.empty()) report.write(cfg.json);
  return 0;
}
