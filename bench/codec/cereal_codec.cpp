// cereal's BinaryOutputArchive / BinaryInputArchive over streams on reused memory.

#include <cereal/archives/binary.hpp>
#include <cereal/types/map.hpp>
#include <cereal/types/string.hpp>
#include <cereal/types/vector.hpp>

#include <cstddef>
#include <istream>
#include <memory>
#include <ostream>

#include "codecs.hpp"
#include "stream_buffers.hpp"

namespace brine::bench {

// Found by cereal through argument-dependent lookup.
template <class A>
void serialize(A& a, vec3& v) {
  visit_fields(v, a);
}
template <class A>
void serialize(A& a, weapon& v) {
  visit_fields(v, a);
}
template <class A>
void serialize(A& a, monster& v) {
  visit_fields(v, a);
}
template <class A>
void serialize(A& a, record& v) {
  visit_fields(v, a);
}

namespace {

template <class T>
class cereal_codec final : public codec<T> {
 public:
  explicit cereal_codec(const T&) : codec<T>("cereal") {}

  std::size_t encode(const T& v) override {
    out_.rewind();
    cereal::BinaryOutputArchive archive(out_stream_);
    archive(v);
    return out_.size();
  }
  T decode() override {
    in_.reset(out_.data(), out_.size());
    in_stream_.clear();
    cereal::BinaryInputArchive archive(in_stream_);
    T v{};
    archive(v);
    return v;
  }

  void decode_into(T& out) override {
    in_.reset(out_.data(), out_.size());
    in_stream_.clear();
    cereal::BinaryInputArchive archive(in_stream_);
    archive(out);
  }

 private:
  output_buffer out_;
  std::ostream out_stream_{&out_};
  input_buffer in_;
  std::istream in_stream_{&in_};
};

}  // namespace

template <class T>
std::unique_ptr<codec<T>> make_cereal_codec(const T& sample) {
  return std::make_unique<cereal_codec<T>>(sample);
}

BRINE_BENCH_INSTANTIATE(make_cereal_codec);

}  // namespace brine::bench
