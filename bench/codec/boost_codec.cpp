// Boost.Serialization's binary archives, without their header, on stream buffers over reused
// memory; the structs are marked untracked and unversioned, its fastest setting.

#include <boost/archive/binary_iarchive.hpp>
#include <boost/archive/binary_oarchive.hpp>
#include <boost/serialization/level.hpp>
#include <boost/serialization/map.hpp>
#include <boost/serialization/string.hpp>
#include <boost/serialization/tracking.hpp>
#include <boost/serialization/vector.hpp>

#include <cstddef>
#include <memory>

#include "codecs.hpp"
#include "stream_buffers.hpp"

namespace brine::bench {

// Found by Boost through argument-dependent lookup.
template <class A>
void serialize(A& a, vec3& v, unsigned /*version*/) {
  visit_fields(v, [&](auto&... f) { ((a & f), ...); });
}
template <class A>
void serialize(A& a, weapon& v, unsigned /*version*/) {
  visit_fields(v, [&](auto&... f) { ((a & f), ...); });
}
template <class A>
void serialize(A& a, monster& v, unsigned /*version*/) {
  visit_fields(v, [&](auto&... f) { ((a & f), ...); });
}
template <class A>
void serialize(A& a, record& v, unsigned /*version*/) {
  visit_fields(v, [&](auto&... f) { ((a & f), ...); });
}

}  // namespace brine::bench

#define BRINE_BENCH_BOOST_PLAIN(T)                                         \
  BOOST_CLASS_IMPLEMENTATION(T, boost::serialization::object_serializable) \
  BOOST_CLASS_TRACKING(T, boost::serialization::track_never)

BRINE_BENCH_BOOST_PLAIN(brine::bench::vec3)
BRINE_BENCH_BOOST_PLAIN(brine::bench::weapon)
BRINE_BENCH_BOOST_PLAIN(brine::bench::monster)
BRINE_BENCH_BOOST_PLAIN(brine::bench::record)

namespace brine::bench {
namespace {

template <class T>
class boost_codec final : public codec<T> {
 public:
  explicit boost_codec(const T&) : codec<T>("boost") {}

  std::size_t encode(const T& v) override {
    out_.rewind();
    boost::archive::binary_oarchive archive(out_, boost::archive::no_header);
    archive << v;
    return out_.size();
  }
  T decode() override {
    in_.reset(out_.data(), out_.size());
    boost::archive::binary_iarchive archive(in_, boost::archive::no_header);
    T v{};
    archive >> v;
    return v;
  }

  void decode_into(T& out) override {
    in_.reset(out_.data(), out_.size());
    boost::archive::binary_iarchive archive(in_, boost::archive::no_header);
    archive >> out;
  }

 private:
  output_buffer out_;
  input_buffer in_;
};

}  // namespace

template <class T>
std::unique_ptr<codec<T>> make_boost_codec(const T& sample) {
  return std::make_unique<boost_codec<T>>(sample);
}

BRINE_BENCH_INSTANTIATE(make_boost_codec);

}  // namespace brine::bench
