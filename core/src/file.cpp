// Files and streams for dump/load.

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <istream>
#include <ostream>
#include <random>
#include <string>

#include "brine/codec.hpp"

namespace brine::detail {
namespace {

[[noreturn]] void throw_io(const std::string& what, const std::filesystem::path& path, int err) {
  throw io_error("brine: " + what + " " + path.string() + ": " + std::strerror(err));
}

class fd_guard {
 public:
  explicit fd_guard(int fd) noexcept : fd_(fd) {}
  fd_guard(const fd_guard&) = delete;
  fd_guard& operator=(const fd_guard&) = delete;
  ~fd_guard() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const noexcept { return fd_; }
  int release() noexcept { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

void write_all(int fd, const std::byte* p, std::size_t n, const std::filesystem::path& path) {
  while (n > 0) {
    ssize_t w = ::write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      throw_io("cannot write", path, errno);
    }
    p += w;
    n -= static_cast<std::size_t>(w);
  }
}

}  // namespace

void write_file_atomic(const std::filesystem::path& path, std::span<const std::byte> bytes) {
  std::filesystem::path dir = path.has_parent_path() ? path.parent_path() : ".";
  std::random_device rd;
  std::filesystem::path tmp = path;
  tmp += ".brine.tmp" + std::to_string(::getpid()) + "." + std::to_string(rd());
  fd_guard fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
  if (fd.get() < 0) throw_io("cannot create", tmp, errno);
  try {
    write_all(fd.get(), bytes.data(), bytes.size(), tmp);
    if (::fsync(fd.get()) != 0) throw_io("cannot flush", tmp, errno);
    if (::close(fd.release()) != 0) throw_io("cannot close", tmp, errno);
    if (::rename(tmp.c_str(), path.c_str()) != 0) throw_io("cannot rename onto", path, errno);
  } catch (...) {
    ::unlink(tmp.c_str());
    throw;
  }
  // Make the rename itself durable; a failure here leaves a complete file, so it is not an error.
  fd_guard d(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (d.get() >= 0) ::fsync(d.get());
}

void write_stream(std::ostream& os, std::span<const std::byte> bytes) {
  os.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  if (!os) throw io_error("brine: cannot write the frame to the stream");
}

std::vector<std::byte> read_file(const std::filesystem::path& path, const limits& lim) {
  fd_guard fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) throw_io("cannot open", path, errno);
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) throw_io("cannot stat", path, errno);
  auto size = static_cast<std::size_t>(st.st_size);
  if (size > lim.max_frame + frame_header_size + (std::size_t{1} << 32)) {
    throw decode_error("file of " + std::to_string(size) + " bytes is over limits::max_frame", 0);
  }
  std::vector<std::byte> out(size);
  std::size_t got = 0;
  while (got < size) {
    ssize_t r = ::read(fd.get(), out.data() + got, size - got);
    if (r < 0) {
      if (errno == EINTR) continue;
      throw_io("cannot read", path, errno);
    }
    if (r == 0) break;
    got += static_cast<std::size_t>(r);
  }
  out.resize(got);
  return out;
}

std::vector<std::byte> read_frame_from(std::istream& is, const limits& lim) {
  auto read_some = [&](std::vector<std::byte>& buf, std::size_t n) {
    // Grow in steps, so a hostile size costs only as much memory as bytes actually arrive.
    constexpr std::size_t step = std::size_t{1} << 20;
    while (n > 0) {
      std::size_t chunk = n < step ? n : step;
      std::size_t at = buf.size();
      buf.resize(at + chunk);
      is.read(reinterpret_cast<char*>(buf.data() + at), static_cast<std::streamsize>(chunk));
      auto got = static_cast<std::size_t>(is.gcount());
      if (got != chunk) {
        throw decode_error("truncated stream: expected " + std::to_string(n) + " more bytes",
                           at + got);
      }
      n -= chunk;
    }
  };
  std::vector<std::byte> buf;
  read_some(buf, frame_header_size);
  frame_header h = read_frame_header(buf, lim);
  for (auto flag : {frame_has_schema, frame_has_types}) {
    if ((h.flags & flag) == 0) continue;
    std::size_t at = buf.size();
    read_some(buf, 4);
    std::uint32_t n;
    std::memcpy(&n, buf.data() + at, 4);
    if (n > lim.max_frame) throw decode_error("block of the frame over limits::max_frame", at);
    read_some(buf, n);
  }
  read_some(buf, static_cast<std::size_t>(h.body_size));
  return buf;
}

}  // namespace brine::detail
