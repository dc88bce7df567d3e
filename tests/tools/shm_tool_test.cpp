// brine-shm as users run it, on real segments: `list` shows channels, their participants alive
// and dead and the messages queued; `remove` refuses a segment in use unless --force;
// `remove --stale` removes the segments of dead processes only; segments of another layout
// version, cut short or with a bad geometry are listed as such and never crash it.
// BRINE_SHM names the program (set by Meson).

#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "../channel/channel_test_util.hpp"
#include "brine/channel.hpp"
#include "run_command.hpp"

using namespace std::chrono_literals;

namespace {

using run_result = test::command_result;  // `out` holds stdout and stderr

run_result brine_shm(const std::string& args) {
  const char* tool = std::getenv("BRINE_SHM");
  REQUIRE(tool != nullptr);
  run_result r = test::run_command(std::string(tool) + " " + args + " 2>&1");
  REQUIRE(r.code != -1);
  return r;
}

std::string name_for(const std::string& what) {
  return "shmtool-" + std::to_string(::getpid()) + "-" + what;
}

std::string os_path(const std::string& name) {
  return "/dev/shm/brine." + std::to_string(::geteuid()) + "." + name;
}

bool exists(const std::string& name) { return std::filesystem::exists(os_path(name)); }

// The block of `list` output about `name`, from its line to the next segment's, with each run of
// spaces made one.
std::string block_of(const std::string& list, const std::string& name) {
  std::size_t at = list.find("shm://" + name + "  ");
  if (at == std::string::npos) return {};
  std::size_t end = list.find("\nshm://", at + 1);
  std::string block = list.substr(at, end == std::string::npos ? std::string::npos : end - at);
  std::string out;
  for (char c : block)
    if (c != ' ' || out.empty() || out.back() != ' ') out += c;
  return out;
}

// A file in /dev/shm that claims to be a segment: `bytes` long, starting with `head`.
void plant(const std::string& name, std::vector<std::uint8_t> head, std::size_t bytes) {
  head.resize(bytes, 0);
  std::ofstream f(os_path(name), std::ios::binary);
  f.write(reinterpret_cast<const char*>(head.data()), static_cast<std::streamsize>(head.size()));
  REQUIRE(f.good());
}

void put32(std::vector<std::uint8_t>& b, std::size_t at, std::uint32_t v) {
  std::memcpy(b.data() + at, &v, sizeof v);
}
void put64(std::vector<std::uint8_t>& b, std::size_t at, std::uint64_t v) {
  std::memcpy(b.data() + at, &v, sizeof v);
}

// The layout version this build writes (docs/transports.md).
constexpr std::uint32_t current_layout = 7;

// A segment header (docs/transports.md): magic, version, pattern, fingerprint, size, geometry
// (senders, receivers, slots, slot size), ready.
std::vector<std::uint8_t> header(std::uint32_t version, std::uint64_t size,
                                 std::uint32_t slot_size) {
  std::vector<std::uint8_t> b(64, 0);
  std::memcpy(b.data(), "brineshm", 8);
  put32(b, 8, version);
  put32(b, 12, 1);
  put64(b, 16, 0);
  put64(b, 24, size);
  put32(b, 32, 8);
  put32(b, 36, 8);
  put32(b, 40, 16);
  put32(b, 44, slot_size);
  put64(b, 48, 0);  // pool bytes (since layout version 3)
  put32(b, 56, 1);  // ready
  return b;
}

}  // namespace

TEST_CASE(
    "brine-shm: list shows participants, remove refuses live segments, --stale removes dead "
    "ones",
    "[tools][shm]") {
  std::string live = name_for("live"), stale = name_for("stale");
  brine::channel_options o;
  o.high_water_mark = 16;

  // A live channel: this process receives, a child sends three messages nobody reads yet.
  auto rx = brine::pull<std::uint64_t>("shm://" + live, o);
  pid_t sender = test::spawn([&] {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    auto tx = brine::push<std::uint64_t>("shm://" + live, o);
    for (std::uint64_t i = 0; i < 3; ++i)
      tx.send(i);
    ::pause();  // until killed
  });
  struct reap {
    pid_t pid;
    ~reap() {
      ::kill(pid, SIGKILL);
      test::wait_child(pid, 10s);
    }
  } reap_sender{sender};

  // A stale channel: its participants (one process, both ends) exit without closing it.
  pid_t quitter = test::spawn([&] {
    auto dead_rx = brine::pull<std::uint64_t>("shm://" + stale, o);
    auto tx = brine::push<std::uint64_t>("shm://" + stale, o);
    tx.send(7);
    ::_exit(0);
  });
  REQUIRE(test::wait_child(quitter, 20s) == 0);
  REQUIRE(exists(stale));

  std::string sender_line = "pid " + std::to_string(sender);
  std::string me = "pid " + std::to_string(::getpid());
  run_result r;
  for (int i = 0; i < 2000; ++i) {  // until the sender has queued its three messages
    r = brine_shm("list");
    if (block_of(r.out, live).find("queued: 3 messages in 3 slots") != std::string::npos) break;
    std::this_thread::sleep_for(10ms);
  }
  INFO(r.out);
  REQUIRE(r.code == 0);
  std::string b = block_of(r.out, live);
  REQUIRE_FALSE(b.empty());
  CHECK(b.find("push/pull") != std::string::npos);
  CHECK(b.find("8 senders x 8 receivers, 16 slots of 4096 bytes per ring") != std::string::npos);
  CHECK(b.find("sender 0 " + sender_line) != std::string::npos);
  CHECK(b.find("receiver 0 " + me) != std::string::npos);
  CHECK(b.find("alive") != std::string::npos);
  CHECK(b.find("dead") == std::string::npos);
  CHECK(b.find("queued: 3 messages in 3 slots") != std::string::npos);
  std::string s = block_of(r.out, stale);
  REQUIRE_FALSE(s.empty());
  CHECK(s.find("sender 0 pid " + std::to_string(quitter) + " open dead") != std::string::npos);
  CHECK(s.find("receiver 0 pid " + std::to_string(quitter) + " open dead") != std::string::npos);
  CHECK(s.find("queued: 1 messages in 1 slots") != std::string::npos);

  // Removing a segment in use is refused, and says why.
  r = brine_shm("remove shm://" + live);
  INFO(r.out);
  CHECK(r.code == 1);
  CHECK(r.out.find("in use") != std::string::npos);
  CHECK(exists(live));

  // --stale removes the dead one's segment and keeps the live one.
  r = brine_shm("remove --stale");
  INFO(r.out);
  CHECK(r.code == 0);
  CHECK(r.out.find("removed shm://" + stale) != std::string::npos);
  CHECK_FALSE(exists(stale));
  CHECK(exists(live));

  // The live channel still works.
  for (std::uint64_t i = 0; i < 3; ++i)
    REQUIRE(rx.recv_for(10s) == i);

  // --force removes even a live one.
  r = brine_shm("remove --force " + live);
  INFO(r.out);
  CHECK(r.code == 0);
  CHECK_FALSE(exists(live));
  rx.close();
}

TEST_CASE(
    "brine-shm: segments of another version, cut short or corrupt are listed, never read "
    "past their header",
    "[tools][shm]") {
  std::string old = name_for("old"), cut = name_for("cut"), bad = name_for("bad"),
              junk = name_for("junk");
  plant(old, header(1, 1 << 20, 4096), 4096);
  plant(cut, std::vector<std::uint8_t>{'b', 'r', 'i', 'n', 'e'}, 5);
  plant(bad, header(current_layout, std::uint64_t(1) << 40, 4096), 8192);  // claims 1 TiB in 8 KiB
  plant(junk, std::vector<std::uint8_t>(256, 0xab), 256);

  run_result r = brine_shm("list");
  INFO(r.out);
  REQUIRE(r.code == 0);
  CHECK(block_of(r.out, old)
            .find("layout version 1, this build reads version " + std::to_string(current_layout)) !=
        std::string::npos);
  CHECK(block_of(r.out, cut).find("too small") != std::string::npos);
  CHECK(block_of(r.out, bad).find("corrupt header") != std::string::npos);
  CHECK(block_of(r.out, junk).find("not a brine segment") != std::string::npos);

  // Nobody can tell who uses them: --stale keeps them, remove refuses, --force removes.
  r = brine_shm("remove --stale");
  INFO(r.out);
  CHECK(r.code == 0);
  CHECK(r.out.find("kept shm://" + old) != std::string::npos);
  CHECK(exists(old));
  CHECK(exists(bad));
  r = brine_shm("remove " + old);
  INFO(r.out);
  CHECK(r.code == 1);
  CHECK(r.out.find("cannot tell") != std::string::npos);
  for (const std::string& n : {old, cut, bad, junk}) {
    r = brine_shm("remove --force " + n);
    INFO(r.out);
    CHECK(r.code == 0);
    CHECK_FALSE(exists(n));
  }
  r = brine_shm("remove --force " + old);
  CHECK(r.code == 1);  // gone already
  CHECK(r.out.find("No such file") != std::string::npos);
}
