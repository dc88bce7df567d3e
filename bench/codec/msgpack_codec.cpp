// msgpack-cxx: pack into a reused sbuffer, unpack into a reused zone, convert.

#ifndef MSGPACK_NO_BOOST
#define MSGPACK_NO_BOOST  // nothing here needs msgpack's Boost adaptors
#endif
#include <msgpack.hpp>

#include <cstddef>
#include <memory>
#include <type_traits>

#include "codecs.hpp"

MSGPACK_ADD_ENUM(brine::bench::monster_color);

// Every struct of the cases as a msgpack array of its fields (what MSGPACK_DEFINE_ARRAY does
// inside a class).
namespace msgpack {
MSGPACK_API_VERSION_NAMESPACE(MSGPACK_DEFAULT_API_NS) {
  namespace adaptor {

  template <class T>
  struct pack<T, std::enable_if_t<brine::bench::has_fields<T>>> {
    template <class Stream>
    packer<Stream>& operator()(packer<Stream>& out, const T& v) const {
      brine::bench::visit_fields(
          v, [&](const auto&... f) { type::make_define_array(f...).msgpack_pack(out); });
      return out;
    }
  };

  template <class T>
  struct convert<T, std::enable_if_t<brine::bench::has_fields<T>>> {
    const msgpack::object& operator()(const msgpack::object& o, T& v) const {
      brine::bench::visit_fields(
          v, [&](auto&... f) { type::make_define_array(f...).msgpack_unpack(o); });
      return o;
    }
  };

  }  // namespace adaptor
}
}  // namespace msgpack

namespace brine::bench {
namespace {

template <class T>
class msgpack_codec final : public codec<T> {
 public:
  explicit msgpack_codec(const T& sample) : codec<T>("msgpack"), zone_(zone_chunk(sample)) {}

  std::size_t encode(const T& v) override {
    buffer_.clear();
    msgpack::pack(buffer_, v);
    return buffer_.size();
  }
  T decode() override {
    zone_.clear();
    msgpack::object o = msgpack::unpack(zone_, buffer_.data(), buffer_.size());
    T v{};
    o.convert(v);
    return v;
  }

  void decode_into(T& out) override {
    zone_.clear();
    msgpack::object o = msgpack::unpack(zone_, buffer_.data(), buffer_.size());
    o.convert(out);
  }

 private:
  // zone::clear() frees every chunk but the first. With the default 8 KiB first chunk (or a new
  // object_handle per decode, the usual idiom) glibc hands the chunks back to the kernel and
  // faults them in again on every decode: 6-8x the time on records and doubles. A first chunk
  // that holds a whole decode avoids that; it costs ~25% on map (a busier malloc for the
  // std::map nodes), a fair trade for msgpack overall.
  static std::size_t zone_chunk(const T& sample) {
    msgpack::sbuffer b;
    msgpack::pack(b, sample);
    msgpack::object_handle h = msgpack::unpack(b.data(), b.size());
    std::size_t need = zone_bytes(h.get());
    return need + need / 8 + 8192;
  }
  // Bytes unpack takes from the zone for `o`'s children and strings (8-byte aligned).
  static std::size_t zone_bytes(const msgpack::object& o) {
    auto aligned = [](std::size_t n) { return (n + 7) / 8 * 8; };
    std::size_t n = 0;
    switch (o.type) {
      case msgpack::type::ARRAY:
        n = aligned(o.via.array.size * sizeof(msgpack::object));
        for (const auto& e : o.via.array)
          n += zone_bytes(e);
        break;
      case msgpack::type::MAP:
        n = aligned(o.via.map.size * sizeof(msgpack::object_kv));
        for (const auto& kv : o.via.map)
          n += zone_bytes(kv.key) + zone_bytes(kv.val);
        break;
      case msgpack::type::STR:
        n = aligned(o.via.str.size);
        break;
      case msgpack::type::BIN:
        n = aligned(o.via.bin.size);
        break;
      default:
        break;
    }
    return n;
  }

  msgpack::sbuffer buffer_;
  msgpack::zone zone_;
};

}  // namespace

template <class T>
std::unique_ptr<codec<T>> make_msgpack_codec(const T& sample) {
  return std::make_unique<msgpack_codec<T>>(sample);
}

BRINE_BENCH_INSTANTIATE(make_msgpack_codec);

}  // namespace brine::bench
