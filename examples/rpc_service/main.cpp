// rpc_service: a key-value service, several clients, timeouts and remote errors.
//
//   rpc_service                 starts the service as a second process, then runs four clients
//   rpc_service --serve URL     runs the service alone, until a client calls "shutdown"

#include <brine/brine.hpp>

#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <future>
#include <map>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

using namespace std::chrono_literals;

namespace {

int serve(const std::string& url) {
  std::mutex mutex;  // handlers run in two threads at once
  std::map<std::string, std::string> store;
  std::map<std::string, std::int64_t> counters;
  std::promise<void> shutdown;

  brine::server srv{url};
  srv.handle("put", [&](const std::string& key, const std::string& value) {
    std::lock_guard lock(mutex);
    store[key] = value;
  });
  srv.handle("get", [&](const std::string& key) {
    std::lock_guard lock(mutex);
    auto it = store.find(key);
    if (it == store.end()) throw std::out_of_range("no key '" + key + "'");
    return it->second;
  });
  srv.handle("keys", [&] {
    std::lock_guard lock(mutex);
    std::vector<std::string> keys;
    for (const auto& [k, v] : store)
      keys.push_back(k);
    return keys;
  });
  srv.handle("incr", [&](const std::string& key, std::int64_t by) {
    std::lock_guard lock(mutex);
    return counters[key] += by;
  });
  srv.handle("slow", [](int ms) {
    std::this_thread::sleep_for(std::chrono::milliseconds(ms));
    return ms;
  });
  srv.handle("shutdown", [&] { shutdown.set_value(); });
  srv.start(2);                  // two handler threads, and one that moves the messages
  shutdown.get_future().wait();  // until a client calls "shutdown"
  srv.stop();                    // finishes the calls taken, sends their replies
  return 0;
}

// Starts this program again as the service.
pid_t start_service(const std::string& url) {
  std::string self = "/proc/self/exe", flag = "--serve", where = url;
  char* argv[] = {self.data(), flag.data(), where.data(), nullptr};
  pid_t pid = -1;
  if (int rc = ::posix_spawn(&pid, argv[0], nullptr, nullptr, argv, environ); rc != 0)
    throw std::runtime_error("cannot start the service");
  return pid;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 3 && std::string(argv[1]) == "--serve") return serve(argv[2]);

  const std::string url = "ipc:///tmp/brine-kv-" + std::to_string(::getpid()) + ".sock";
  pid_t service = start_service(url);

  // Four clients in four threads, each with its own connection, calling at once. (One client
  // may also be shared by many threads.)
  std::vector<std::thread> clients;
  for (int c = 0; c < 4; ++c)
    clients.emplace_back([&url, c] {
      brine::client kv{url};  // waits for the service to come up (rpc_options::channel)
      for (int i = 0; i < 250; ++i) {
        kv.call("put", "client" + std::to_string(c) + ".key" + std::to_string(i),
                "value " + std::to_string(i));
        kv.call<std::int64_t>("incr", std::string("hits"), std::int64_t{1});
      }
    });
  for (std::thread& t : clients)
    t.join();

  brine::client kv{url};
  int failures = 0;
  auto expect = [&failures](bool ok, const char* what) {
    std::printf("  %-58s %s\n", what, ok ? "ok" : "FAILED");
    failures += !ok;
  };

  std::printf("methods of the service (from the server itself):\n");
  for (const brine::method_info& m : kv.methods())
    std::printf("  %-9s %s\n", m.name.c_str(), m.signature.c_str());

  std::printf("calls:\n");
  expect(kv.call<std::vector<std::string>>("keys").size() == 1000,
         "4 clients x 250 puts: 1000 keys");
  expect(kv.call<std::int64_t>("incr", std::string("hits"), std::int64_t{0}) == 1000,
         "incr from 4 threads at once: 1000, none lost");
  expect(kv.call<std::string>("get", "client2.key7") == "value 7", "get client2.key7");

  // Many calls in flight on one client: futures.
  std::vector<std::future<std::int64_t>> futures;
  for (int i = 0; i < 1000; ++i)
    futures.push_back(kv.async_call<std::int64_t>("incr", std::string("async"), std::int64_t{1}));
  std::int64_t last = 0;
  for (auto& f : futures)
    last = std::max(last, f.get());
  expect(last == 1000, "1000 async calls in flight on one client");

  std::printf("errors:\n");
  try {
    kv.call<std::string>("get", "nope");
    expect(false, "a handler's exception comes back");
  } catch (const brine::remote_error& e) {
    std::printf("    %s\n", e.what());
    expect(e.type() == "std::out_of_range",
           "a handler's exception: remote_error std::out_of_range");
  }
  try {
    kv.call_for<int>(100ms, "slow", 2000);
    expect(false, "a slow call times out");
  } catch (const brine::timeout_error& e) {
    std::printf("    %s\n", e.what());
    expect(true, "slow(2000) with a 100 ms timeout: timeout_error");
  }
  expect(kv.call<int>("slow", 10) == 10, "the service still answers while a slow call runs");
  try {
    kv.call<int>("get", "client0.key1");  // the server's get returns a string
    expect(false, "wrong result type is refused");
  } catch (const brine::type_mismatch& e) {
    std::printf("    %s\n", e.what());
    expect(true, "calling get for an int: type_mismatch, the handler never ran");
  }
  try {
    kv.call("delete", "client0.key1");
    expect(false, "an unknown method is refused");
  } catch (const brine::remote_error& e) {
    std::printf("    %s\n", e.what());
    expect(true, "an unknown method: remote_error listing the methods");
  }

  kv.call("shutdown");
  int status = 0;
  ::waitpid(service, &status, 0);
  expect(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the service stopped when asked");
  return failures == 0 ? 0 : 1;
}
