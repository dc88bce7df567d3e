// brine-shm: lists the current user's shm:// segments (participants, liveness, queued messages)
// and removes those nobody uses any more. Reads segments through brine::shm::inspect, which
// trusts nothing in them.

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "brine/error.hpp"
#include "segment.hpp"

namespace {

namespace shm = brine::shm;

// A segment whose places were never taken and that is younger than this is being set up: its
// maker has not joined yet. remove --stale leaves it alone.
constexpr std::int64_t setup_grace_seconds = 5;

std::string human_bytes(std::uint64_t n) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(n);
  int u = 0;
  while (v >= 1024 && u < 4) {
    v /= 1024;
    ++u;
  }
  char buf[32];
  if (u == 0)
    std::snprintf(buf, sizeof buf, "%llu B", static_cast<unsigned long long>(n));
  else
    std::snprintf(buf, sizeof buf, "%.1f %s", v, units[u]);
  return buf;
}

const char* pattern_name(std::uint32_t p) {
  switch (p) {
    case 1:
      return "push/pull";
    case 2:
      return "publish/subscribe";
  }
  return "unknown pattern";
}

const char* state_name(std::uint32_t s) {
  switch (s) {
    case 1:
      return "joining";
    case 2:
      return "open";
    case 3:
      return "closed";
    case 4:
      return "closing (keeps messages)";
  }
  return "?";
}

// "brine.<uid>.jobs", "shm://jobs" or "jobs": the OS name, or throws transport_error.
std::string os_name_of(const std::string& arg) {
  std::string prefix = "brine." + std::to_string(::geteuid()) + ".";
  if (arg.rfind(prefix, 0) == 0) return shm::os_name_for(arg.substr(prefix.size()));
  if (arg.rfind("shm://", 0) == 0) return shm::os_name_for(arg.substr(6));
  return shm::os_name_for(arg);
}

void print(const shm::segment_info& info) {
  using status = shm::segment_info::status;
  std::printf("shm://%s  (/dev/shm/%s)\n", info.name.c_str(), info.os_name.c_str());
  if (info.state != status::ok) {
    std::printf("  %s; %s, %s in memory\n", info.problem.c_str(),
                human_bytes(info.file_size).c_str(), human_bytes(info.bytes_used).c_str());
    return;
  }
  const shm::geometry& g = info.shape;
  std::printf("  %s, type fingerprint %016llx, %s (%s in memory)\n", pattern_name(info.pattern),
              static_cast<unsigned long long>(info.fingerprint),
              human_bytes(info.file_size).c_str(), human_bytes(info.bytes_used).c_str());
  std::printf("  %u senders x %u receivers, %u slots of %u bytes per ring\n", g.max_senders,
              g.max_receivers, g.slots, g.slot_size);
  if (info.participants.empty()) std::printf("  no participants\n");
  for (const auto& m : info.participants)
    std::printf("  %-8s %2u  pid %-8u %-7s %s\n",
                m.role == shm::side::sender ? "sender" : "receiver", m.index, m.pid,
                state_name(m.state), m.alive ? "alive" : "dead");
  std::printf("  queued: %llu messages in %llu slots",
              static_cast<unsigned long long>(info.queued_messages),
              static_cast<unsigned long long>(info.queued_slots));
  if (info.bad_rings != 0) std::printf(" (%u rings with positions out of range)", info.bad_rings);
  std::printf("\n");
}

// Whether nobody uses it any more: no live participant, and not a segment being set up.
bool stale(const shm::segment_info& info) {
  using status = shm::segment_info::status;
  bool young = info.age_seconds < setup_grace_seconds;
  if (info.state == status::not_ready) return !young;  // its maker died making it
  if (info.state != status::ok) return false;          // cannot tell who uses it
  return !info.in_use() && (info.ever_joined || !young);
}

int list() {
  std::vector<std::string> names = shm::list_segments();
  if (names.empty()) std::printf("no brine segments\n");
  for (const std::string& name : names) {
    try {
      print(shm::inspect(name));
    } catch (const brine::error& e) {
      std::printf("/dev/shm/%s\n  %s\n", name.c_str(), e.what());  // removed meanwhile
    }
  }
  return 0;
}

int remove_one(const std::string& arg, bool force) {
  std::string os_name = os_name_of(arg);
  shm::segment_info info;
  try {
    info = shm::inspect(os_name);
  } catch (const brine::error& e) {
    std::fprintf(stderr, "brine-shm: %s\n", e.what());
    return 1;
  }
  if (!force) {
    if (info.state != shm::segment_info::status::ok) {
      std::fprintf(stderr,
                   "brine-shm: shm://%s: %s; cannot tell whether it is in use (--force removes "
                   "it anyway)\n",
                   info.name.c_str(), info.problem.c_str());
      return 1;
    }
    if (info.in_use()) {
      std::string pids;
      for (const auto& m : info.participants)
        if (m.alive) pids += (pids.empty() ? "" : ", ") + std::to_string(m.pid);
      std::fprintf(stderr,
                   "brine-shm: shm://%s is in use by live process(es) %s; not removed (--force "
                   "removes it anyway)\n",
                   info.name.c_str(), pids.c_str());
      return 1;
    }
  }
  if (!shm::remove_segment(os_name)) {
    std::fprintf(stderr, "brine-shm: shm://%s: no such segment\n", info.name.c_str());
    return 1;
  }
  std::printf("removed shm://%s\n", info.name.c_str());
  return 0;
}

int remove_stale() {
  for (const std::string& name : shm::list_segments()) {
    shm::segment_info info;
    try {
      info = shm::inspect(name);
    } catch (const brine::error&) {
      continue;  // removed meanwhile
    }
    if (stale(info)) {
      if (shm::remove_segment(name)) std::printf("removed shm://%s\n", info.name.c_str());
    } else if (info.state != shm::segment_info::status::ok &&
               info.state != shm::segment_info::status::not_ready) {
      std::printf("kept shm://%s: %s\n", info.name.c_str(), info.problem.c_str());
    }
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"List and remove the current user's brine shared-memory (shm://) segments."};
  app.require_subcommand(1);
  app.add_subcommand("list",
                     "print each segment: channel, pattern, size, geometry, "
                     "participants (alive or dead) and queued messages");
  CLI::App* remove = app.add_subcommand(
      "remove",
      "remove a segment no live process uses (a process that has it open keeps its "
      "mapping, but later channels on that name make a new segment)");
  std::string name;
  bool force = false;
  bool stale_only = false;
  auto* name_opt =
      remove->add_option("name", name, "channel name: jobs, shm://jobs or brine.<uid>.jobs");
  auto* stale_flag =
      remove->add_flag("--stale", stale_only, "remove every segment without a live participant");
  remove->add_flag("--force", force, "remove NAME even if live processes use it")->needs(name_opt);
  name_opt->excludes(stale_flag);
  CLI11_PARSE(app, argc, argv);

  try {
    if (app.got_subcommand("list")) return list();
    if (stale_only) return remove_stale();
    if (name.empty()) {
      std::fprintf(stderr, "brine-shm: remove needs a NAME or --stale\n");
      return 2;
    }
    return remove_one(name, force);
  } catch (const brine::error& e) {
    std::fprintf(stderr, "brine-shm: %s\n", e.what());
    return 1;
  }
}
