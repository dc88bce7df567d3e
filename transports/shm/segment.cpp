// Segment creation, opening, validation, participants and futexes.

#include "segment.hpp"

#include <fcntl.h>
#include <linux/futex.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <boost/interprocess/mapped_region.hpp>
#include <boost/interprocess/shared_memory_object.hpp>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <new>
#include <sstream>
#include <thread>

#include "brine/error.hpp"

namespace bip = boost::interprocess;

namespace brine::shm {
namespace {

constexpr std::size_t header_bytes = 4096;
// Address space a segment may take (it is sparse: memory is used only where written).
constexpr std::size_t max_segment_bytes = std::size_t{1} << 40;

std::size_t round_up(std::size_t n, std::size_t to) { return (n + to - 1) / to * to; }

[[noreturn]] void fail(const std::string& name, const std::string& why) {
  throw transport_error("brine: shm://" + name + ": " + why);
}

struct proc_stat {
  char state = 0;                // field 3: 'R', 'S', ... 'Z' for a zombie, 'X' dead
  std::uint64_t start_time = 0;  // field 22: when it started, in clock ticks since boot
};

std::optional<proc_stat> stat_of(std::uint32_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(f, line)) return std::nullopt;
  std::size_t close = line.rfind(')');  // the command name may hold spaces and parentheses
  if (close == std::string::npos || close + 2 >= line.size()) return std::nullopt;
  std::istringstream rest(line.substr(close + 2));
  proc_stat st;
  std::string field;
  for (int i = 3; i <= 22; ++i) {
    if (!(rest >> field)) return std::nullopt;
    if (i == 3) st.state = field[0];
    if (i == 22) st.start_time = std::strtoull(field.c_str(), nullptr, 10);
  }
  return st;
}

std::uint64_t start_time_of(std::uint32_t pid) {
  std::optional<proc_stat> st = stat_of(pid);
  return st ? st->start_time : 0;
}

// Where the ring from sender `s` to receiver `r` starts: after the header page and the
// participants table, each ring rounded up to whole pages.
std::size_t ring_offset(const geometry& g, std::uint32_t s, std::uint32_t r) {
  std::size_t participants = std::size_t{g.max_senders + g.max_receivers} * sizeof(participant);
  std::size_t ring = round_up(sizeof(ring_header) + std::size_t{g.slots} * g.slot_size, 4096);
  return round_up(header_bytes + participants, 4096) +
         (std::size_t{s} * g.max_receivers + r) * ring;
}

// Where sender `s`'s pool starts: after every ring.
std::size_t pool_offset(const geometry& g, std::uint32_t s) {
  return ring_offset(g, g.max_senders, 0) + std::size_t{s} * g.pool_bytes;
}

bool geometry_ok(const geometry& g) {
  auto pow2 = [](std::uint32_t v) { return v != 0 && (v & (v - 1)) == 0; };
  return g.max_senders >= 1 && g.max_senders <= 64 && g.max_receivers >= 1 &&
         g.max_receivers <= 64 && pow2(g.slots) && g.slots <= (1u << 20) && g.slot_size >= 64 &&
         g.slot_size % 64 == 0 && g.slot_size <= (64u << 20) && g.pool_bytes % 4096 == 0 &&
         g.pool_bytes <= (std::uint64_t{1} << 34) && segment::size_for(g) <= max_segment_bytes;
}

}  // namespace

process_id process_id::self() {
  static const process_id me = [] {
    auto mine = static_cast<std::uint32_t>(::getpid());
    return process_id{mine, start_time_of(mine)};
  }();
  // After fork() the cached identity is the parent's.
  auto now = static_cast<std::uint32_t>(::getpid());
  if (now != me.pid) return process_id{now, start_time_of(now)};
  return me;
}

bool process_id::alive() const {
  if (pid == 0) return false;
  if (::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH) return false;
  std::optional<proc_stat> st = stat_of(pid);
  // A killed process stays a zombie until its parent reaps it, and kill(pid, 0) still succeeds
  // on it; it will never read or write again. Counting it alive would hang its peers for as long
  // as its parent does not reap it, and the parent may be one of those peers, blocked in recv.
  if (st && (st->state == 'Z' || st->state == 'X')) return false;
  return start_time == 0 || (st && st->start_time == start_time);
}

std::string os_name_for(const std::string& name) {
  if (name.empty() || name.size() > 200)
    throw transport_error("brine: shm://" + name + ": names are 1 to 200 characters");
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-';
    if (!ok)
      throw transport_error("brine: shm://" + name +
                            ": names may hold letters, digits, '.', '_' and '-' only");
  }
  return "brine." + std::to_string(::geteuid()) + "." + name;
}

std::size_t segment::size_for(const geometry& g) {
  std::size_t participants = std::size_t{g.max_senders + g.max_receivers} * sizeof(participant);
  std::size_t ring = sizeof(ring_header) + std::size_t{g.slots} * g.slot_size;
  return round_up(header_bytes + participants, 4096) +
         std::size_t{g.max_senders} * g.max_receivers * round_up(ring, 4096) +
         std::size_t{g.max_senders} * g.pool_bytes;
}

struct segment::impl {
  bip::shared_memory_object object;
  bip::mapped_region region;
};

segment::segment(const std::string& name, std::uint32_t pattern, std::uint64_t fingerprint,
                 const geometry& shape, unsigned permissions)
    : impl_(std::make_unique<impl>()), os_name_(os_name_for(name)) {
  if (!geometry_ok(shape)) fail(name, "invalid geometry");
  for (int attempt = 0;; ++attempt) {
    if (attempt == 5) fail(name, "could not open or create the segment (it keeps changing)");
    bool created = false;
    try {
      bip::permissions perm(static_cast<int>(permissions));
      impl_->object =
          bip::shared_memory_object(bip::create_only, os_name_.c_str(), bip::read_write, perm);
      impl_->object.truncate(static_cast<bip::offset_t>(size_for(shape)));
      created = true;
    } catch (const bip::interprocess_exception& e) {
      if (e.get_error_code() != bip::already_exists_error)
        fail(name, std::string("cannot create the segment: ") + e.what());
      try {
        impl_->object =
            bip::shared_memory_object(bip::open_only, os_name_.c_str(), bip::read_write);
      } catch (const bip::interprocess_exception& e2) {
        if (e2.get_error_code() == bip::not_found_error) continue;  // removed meanwhile
        fail(name, std::string("cannot open the segment: ") + e2.what());
      }
    }
    bip::offset_t actual = 0;
    if (!impl_->object.get_size(actual) || actual < static_cast<bip::offset_t>(header_bytes)) {
      if (!created) {
        // Still being sized by its creator, or left half-made by a crash.
        std::this_thread::sleep_for(std::chrono::milliseconds(20 * (attempt + 1)));
        if (attempt >= 3) bip::shared_memory_object::remove(os_name_.c_str());
        continue;
      }
    }
    struct stat st {};
    std::string path = "/dev/shm/" + os_name_;
    if (::stat(path.c_str(), &st) == 0 && st.st_uid != ::geteuid())
      fail(name, "the segment belongs to another user");
    impl_->region = bip::mapped_region(impl_->object, bip::read_write);
    base_ = static_cast<std::byte*>(impl_->region.get_address());
    size_ = impl_->region.get_size();
    header_ = reinterpret_cast<segment_header*>(base_);
    if (created) {
      // A fresh segment reads as zeros: atomics start at 0, every participant is free.
      new (header_) segment_header{};
      std::memcpy(header_->magic, segment_magic, sizeof segment_magic);
      header_->version = layout_version;
      header_->pattern = pattern;
      header_->fingerprint = fingerprint;
      header_->size = size_for(shape);
      header_->shape = shape;
      header_->ready.store(1, std::memory_order_release);
      set_shape(shape);
      return;
    }
    // Someone else made it: wait for it to be initialised, then trust nothing in it.
    auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(1);
    while (header_->ready.load(std::memory_order_acquire) != 1 &&
           std::chrono::steady_clock::now() < give_up)
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    if (header_->ready.load(std::memory_order_acquire) != 1) {
      bip::shared_memory_object::remove(os_name_.c_str());  // its creator died mid-way
      continue;
    }
    if (std::memcmp(header_->magic, segment_magic, sizeof segment_magic) != 0)
      fail(name, "not a brine segment (bad magic)");
    if (header_->version != layout_version)
      fail(name, "segment layout version " + std::to_string(header_->version) +
                     ", this build reads version " + std::to_string(layout_version));
    geometry g = header_->shape;
    if (!geometry_ok(g) || header_->size != size_for(g) || header_->size > size_)
      fail(name, "corrupt segment header (geometry does not fit the mapping)");
    if (header_->pattern != pattern)
      fail(name, "the segment is a channel of another pattern (push/pull vs publish/subscribe)");
    if (header_->fingerprint != fingerprint && header_->fingerprint != 0 && fingerprint != 0) {
      std::ostringstream os;
      os << "the segment carries type fingerprint " << std::hex << header_->fingerprint
         << ", this channel's type is " << fingerprint;
      throw type_mismatch("brine: shm://" + name + ": " + os.str());
    }
    // Stale: made by processes that have all died. Remove it and start afresh.
    bool anyone = false;
    for (std::uint32_t i = 0; i < g.max_senders + g.max_receivers; ++i) {
      participant& p = participants()[i];  // senders', then receivers
      std::uint32_t owner = p.owner.load(std::memory_order_acquire);
      if (owner != 0 && process_id{owner, p.start_time.load()}.alive()) anyone = true;
    }
    if (!anyone && header_->senders_ever.load() != 0) {
      impl_->region = bip::mapped_region();
      bip::shared_memory_object::remove(os_name_.c_str());
      continue;
    }
    set_shape(g);
    return;
  }
}

void segment::set_shape(const geometry& g) noexcept {
  static_assert(participants_offset == header_bytes);
  shape_ = g;
  rings_ = base_ + ring_offset(g, 0, 0);
  ring_bytes_ = ring_offset(g, 0, 1) - ring_offset(g, 0, 0);
}

segment::~segment() = default;

std::byte* segment::pool(std::uint32_t s) const noexcept { return base_ + pool_offset(shape_, s); }

std::optional<std::span<std::byte>> segment::chunk(std::uint32_t s, const chunk_ref& ref) const {
  const std::uint64_t pool_bytes = shape_.pool_bytes;
  if (pool_bytes == 0 || s >= shape_.max_senders) return std::nullopt;
  std::uint64_t at = ref.position % pool_bytes;
  if (at % chunk_align != 0 || ref.size > pool_bytes || chunk_bytes(ref.size) > pool_bytes - at)
    return std::nullopt;
  std::byte* p = pool(s) + at;
  chunk_ref written;
  std::memcpy(&written, p, sizeof written);
  if (written.position != ref.position || written.size != ref.size) return std::nullopt;
  return std::span<std::byte>(p + chunk_header_size, ref.size);
}

std::uint32_t segment::join(side s, bool open) {
  std::uint32_t n = s == side::sender ? shape_.max_senders : shape_.max_receivers;
  // A receiver first takes the place of a dead one, inheriting the messages queued toward it;
  // a sender first takes a free place. Either then takes what remains.
  bool dead_first = s == side::receiver;
  for (int pass = 0; pass < 2; ++pass) {
    bool want_dead = (pass == 0) == dead_first;
    for (std::uint32_t i = 0; i < n; ++i) {
      participant& p = s == side::sender ? sender(i) : receiver(i);
      std::uint32_t owner = p.owner.load(std::memory_order_acquire);
      bool dead = owner != 0 && !process_id{owner, p.start_time.load()}.alive();
      if (want_dead ? !dead : owner != 0) continue;
      if (!take(s, i, owner, open)) continue;
      if (s == side::sender) header_->senders_ever.fetch_add(1, std::memory_order_acq_rel);
      std::atomic<std::uint32_t>& high_mark =
          s == side::sender ? header_->senders_high : header_->receivers_high;
      std::uint32_t high = high_mark.load(std::memory_order_acquire);
      while (high < i + 1 &&
             !high_mark.compare_exchange_weak(high, i + 1, std::memory_order_acq_rel))
        ;
      return i;
    }
  }
  throw transport_error("brine: shm segment " + os_name_ + ": all " + std::to_string(n) +
                        (s == side::sender ? " sender" : " receiver") + " places are taken");
}

// A place's owner is its pid and its start time, two words written one after the other. So that
// nobody ever reads a new owner's pid with the old owner's start time (and takes a live process
// for a dead one whose pid was reused: the crash test's rare hang), a place is freed before it is
// taken, and a free place's start time is 0, which process_id::alive() reads as "pid only".
bool segment::take(side s, std::uint32_t index, std::uint32_t owner, bool open) {
  participant& p = s == side::sender ? sender(index) : receiver(index);
  process_id me = process_id::self();
  if (owner != 0) evict(s, index, owner);
  std::uint32_t free = 0;
  if (!p.owner.compare_exchange_strong(free, me.pid, std::memory_order_acq_rel)) return false;
  // Chunks the place's last owner kept (views) went with it.
  if (s == side::receiver)
    for (std::uint32_t k = 0; k < shape_.max_senders; ++k)
      ring(k, index).held_from.store(0, std::memory_order_release);
  p.start_time.store(me.start_time, std::memory_order_release);
  p.generation.fetch_add(1, std::memory_order_relaxed);
  p.sleeping.store(0, std::memory_order_relaxed);
  p.fences_for_wakers.store(0, std::memory_order_release);
  p.state.store(open ? state_open : state_joining, std::memory_order_release);
  return true;
}

void segment::evict(side s, std::uint32_t index, std::uint32_t owner) noexcept {
  // Only the owner (and its start time) change: a process may take the place between the
  // caller's look at the dead owner and this, and the state it then sets must stand (a place
  // without an owner is not open, whatever its state says). Should that process have taken it
  // already, zeroing the start time only makes its liveness a matter of its pid.
  participant& p = s == side::sender ? sender(index) : receiver(index);
  p.start_time.store(0, std::memory_order_release);
  p.owner.compare_exchange_strong(owner, 0, std::memory_order_acq_rel);
}

void segment::open(side s, std::uint32_t index) noexcept {
  participant& p = s == side::sender ? sender(index) : receiver(index);
  p.state.store(state_open, std::memory_order_release);
}

void segment::leave(side s, std::uint32_t index) noexcept {
  participant& p = s == side::sender ? sender(index) : receiver(index);
  p.state.store(state_closed, std::memory_order_release);
  p.start_time.store(0, std::memory_order_release);
  p.owner.store(0, std::memory_order_release);
}

void segment::unlink_if_unused() noexcept {
  for (std::uint32_t i = 0; i < shape_.max_senders + shape_.max_receivers; ++i) {
    participant& p = i < shape_.max_senders ? sender(i) : receiver(i - shape_.max_senders);
    std::uint32_t owner = p.owner.load(std::memory_order_acquire);
    if (owner != 0 && process_id{owner, p.start_time.load()}.alive()) return;
  }
  bip::shared_memory_object::remove(os_name_.c_str());
}

bool segment_info::in_use() const noexcept {
  return std::any_of(participants.begin(), participants.end(),
                     [](const member& m) { return m.alive; });
}

namespace {

// A whole shared-memory object mapped read-only, unmapped when it goes.
struct read_only_mapping {
  const std::byte* base = nullptr;
  std::size_t size = 0;
  read_only_mapping(int fd, std::size_t bytes) {
    void* p = ::mmap(nullptr, bytes, PROT_READ, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) return;
    base = static_cast<const std::byte*>(p);
    size = bytes;
  }
  ~read_only_mapping() {
    if (base) ::munmap(const_cast<std::byte*>(base), size);
  }
  read_only_mapping(const read_only_mapping&) = delete;
  read_only_mapping& operator=(const read_only_mapping&) = delete;
};

std::string user_prefix() { return "brine." + std::to_string(::geteuid()) + "."; }

// The tables of a mapped segment whose header has been checked against `bytes`.
void read_tables(segment_info& info, const std::byte* base) {
  const geometry& g = info.shape;
  const auto* table = reinterpret_cast<const participant*>(base + header_bytes);
  for (std::uint32_t i = 0; i < g.max_senders + g.max_receivers; ++i) {
    const participant& p = table[i];
    std::uint32_t owner = p.owner.load(std::memory_order_acquire);
    std::uint32_t state = p.state.load(std::memory_order_acquire);
    if (state != 0) info.ever_joined = true;
    if (owner == 0) continue;
    segment_info::member m;
    m.role = i < g.max_senders ? side::sender : side::receiver;
    m.index = i < g.max_senders ? i : i - g.max_senders;
    m.pid = owner;
    m.state = state;
    m.alive = process_id{owner, p.start_time.load(std::memory_order_relaxed)}.alive();
    info.participants.push_back(m);
  }
  for (std::uint32_t s = 0; s < g.max_senders; ++s) {
    for (std::uint32_t r = 0; r < g.max_receivers; ++r) {
      const std::byte* ring = base + ring_offset(g, s, r);
      const auto* rh = reinterpret_cast<const ring_header*>(ring);
      std::uint64_t head = rh->head.load(std::memory_order_acquire);
      auto slot_at = [&](std::uint64_t k) {
        return ring + sizeof(ring_header) + (k & (g.slots - 1)) * g.slot_size;
      };
      std::uint64_t tail = published_tail(rh->tail.load(std::memory_order_acquire), slot_at);
      if (head > tail || tail - head > g.slots) {
        ++info.bad_rings;
        continue;
      }
      info.queued_slots += tail - head;
      for (std::uint64_t k = head; k < tail; ++k) {
        slot_header h;
        std::memcpy(&h, slot_at(k), sizeof h);
        if ((h.flags & flag_continued) == 0) ++info.queued_messages;
      }
    }
  }
}

}  // namespace

segment_info inspect(const std::string& os_name) {
  segment_info info;
  info.os_name = os_name;
  std::string prefix = user_prefix();
  info.name = os_name.rfind(prefix, 0) == 0 ? os_name.substr(prefix.size()) : os_name;
  int fd = ::shm_open(("/" + os_name).c_str(), O_RDONLY | O_CLOEXEC, 0);
  if (fd < 0) throw transport_error("brine: shm segment " + os_name + ": " + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    int e = errno;
    ::close(fd);
    throw transport_error("brine: shm segment " + os_name + ": " + std::strerror(e));
  }
  info.file_size = static_cast<std::uint64_t>(st.st_size);
  info.bytes_used = static_cast<std::uint64_t>(st.st_blocks) * 512;
  info.age_seconds = static_cast<std::int64_t>(std::time(nullptr) - st.st_ctime);
  if (st.st_uid != ::geteuid()) {
    ::close(fd);
    info.problem = "owned by uid " + std::to_string(st.st_uid) + ", not by this user";
    return info;
  }
  if (info.file_size < sizeof(segment_header)) {
    ::close(fd);
    info.problem = "too small for a brine segment (" + std::to_string(info.file_size) + " bytes)";
    return info;
  }
  read_only_mapping map(fd, info.file_size);
  ::close(fd);
  if (!map.base)
    throw transport_error("brine: shm segment " + os_name +
                          ": cannot map it: " + std::strerror(errno));
  const auto* h = reinterpret_cast<const segment_header*>(map.base);
  if (std::memcmp(h->magic, segment_magic, sizeof segment_magic) != 0) {
    info.problem = "bad magic: not a brine segment";
    return info;
  }
  info.version = h->version;
  if (info.version != layout_version) {
    info.state = segment_info::status::other_version;
    info.problem = "layout version " + std::to_string(info.version) +
                   ", this build reads version " + std::to_string(layout_version);
    return info;
  }
  if (h->ready.load(std::memory_order_acquire) != 1) {
    info.state = segment_info::status::not_ready;
    info.problem = "not initialised (being made, or its maker died doing so)";
    return info;
  }
  info.pattern = h->pattern;
  info.fingerprint = h->fingerprint;
  info.shape = h->shape;
  // size_for() covers the header page, the participants table and every ring.
  if (!geometry_ok(info.shape) || h->size != segment::size_for(info.shape) || h->size > map.size) {
    info.state = segment_info::status::corrupt;
    info.problem = "corrupt header: its geometry does not fit the file";
    return info;
  }
  info.ever_joined = h->senders_ever.load(std::memory_order_relaxed) != 0;
  info.state = segment_info::status::ok;
  read_tables(info, map.base);
  return info;
}

std::vector<std::string> list_segments() {
  std::vector<std::string> names;
  std::string prefix = user_prefix();
  std::error_code ec;
  for (std::filesystem::directory_iterator it("/dev/shm", ec), end; !ec && it != end;
       it.increment(ec)) {
    std::string name = it->path().filename().string();
    if (name.size() > prefix.size() && name.rfind(prefix, 0) == 0) names.push_back(name);
  }
  std::sort(names.begin(), names.end());
  return names;
}

bool remove_segment(const std::string& os_name) {
  if (::shm_unlink(("/" + os_name).c_str()) == 0) return true;
  if (errno == ENOENT) return false;
  throw transport_error("brine: shm segment " + os_name +
                        ": cannot remove it: " + std::strerror(errno));
}

void futex_wait(std::atomic<std::uint32_t>& word, std::uint32_t expected,
                std::optional<std::chrono::nanoseconds> timeout) noexcept {
  timespec ts{};
  timespec* tsp = nullptr;
  if (timeout) {
    auto ns = std::max<std::int64_t>(0, timeout->count());
    ts.tv_sec = static_cast<time_t>(ns / 1'000'000'000);
    ts.tv_nsec = static_cast<long>(ns % 1'000'000'000);
    tsp = &ts;
  }
  ::syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&word), FUTEX_WAIT, expected, tsp, nullptr,
            0);
}

void futex_wake(std::atomic<std::uint32_t>& word) noexcept {
  ::syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&word), FUTEX_WAKE, INT32_MAX, nullptr,
            nullptr, 0);
}

}  // namespace brine::shm
