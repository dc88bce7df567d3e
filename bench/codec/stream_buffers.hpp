#pragma once

// Stream buffers over plain memory, for the peers whose archives write to streams (cereal,
// Boost.Serialization): an ostringstream would add its own growth and copying to every encode.

#include <algorithm>
#include <cstddef>
#include <streambuf>
#include <vector>

namespace brine::bench {

/// Writes into a vector it keeps between encodes; grows it only when an encoding outgrows it.
class output_buffer : public std::streambuf {
 public:
  explicit output_buffer(std::size_t capacity = 4096) : data_(capacity == 0 ? 1 : capacity) {
    rewind();
  }
  /// Starts a new encoding at the beginning of the buffer.
  void rewind() { setp(data_.data(), data_.data() + data_.size()); }
  const char* data() const noexcept { return pbase(); }
  std::size_t size() const noexcept { return static_cast<std::size_t>(pptr() - pbase()); }

 protected:
  std::streamsize xsputn(const char* s, std::streamsize n) override {
    if (epptr() - pptr() < n) grow(static_cast<std::size_t>(n));
    traits_type::copy(pptr(), s, static_cast<std::size_t>(n));
    advance(static_cast<std::size_t>(n));
    return n;
  }
  int_type overflow(int_type c) override {
    if (traits_type::eq_int_type(c, traits_type::eof())) return traits_type::not_eof(c);
    grow(1);
    *pptr() = traits_type::to_char_type(c);
    pbump(1);
    return c;
  }

 private:
  void grow(std::size_t extra) {
    std::size_t used = size();
    data_.resize(std::max(data_.size() * 2, used + extra));
    setp(data_.data(), data_.data() + data_.size());
    advance(used);
  }
  // pbump takes an int: step through counts over 2 GiB.
  void advance(std::size_t n) {
    while (n > 0) {
      auto step = static_cast<int>(std::min<std::size_t>(n, std::size_t{1} << 30));
      pbump(step);
      n -= static_cast<std::size_t>(step);
    }
  }

  std::vector<char> data_;
};

/// Reads from memory it does not own.
class input_buffer : public std::streambuf {
 public:
  void reset(const char* data, std::size_t size) {
    // streambuf wants char*; the get area is only ever read.
    char* p = const_cast<char*>(data);  // NOLINT(cppcoreguidelines-pro-type-const-cast): see above
    setg(p, p, p + size);
  }
};

}  // namespace brine::bench
