// brine itself: dumps_to into a reused buffer, dumps (allocating) for comparison, loads<T> and
// loads_into.

#include <brine/codec.hpp>
#include <brine/register.hpp>

#include <cstddef>
#include <memory>
#include <span>
#include <vector>

#include "codecs.hpp"
#include "common/harness.hpp"

BRINE_REGISTER(brine::bench::circle, "bench.circle");
BRINE_REGISTER(brine::bench::rect, "bench.rect");

namespace brine::bench {
namespace {

template <class T>
class brine_codec final : public codec<T> {
 public:
  explicit brine_codec(const T& sample) : codec<T>("brine"), buffer_(brine::dumps_size(sample)) {}

  std::size_t encode(const T& v) override {
    size_ = brine::dumps_to(v, buffer_);
    return size_;
  }
  T decode() override { return brine::loads<T>(std::span<const std::byte>(buffer_.data(), size_)); }
  void decode_into(T& out) override {
    brine::loads_into(std::span<const std::byte>(buffer_.data(), size_), out);
  }
  bool has_encode_alloc() const override { return true; }
  void encode_alloc(const T& v) override {
    std::vector<std::byte> frame = brine::dumps(v);
    do_not_optimize(frame.data());
  }

 private:
  std::vector<std::byte> buffer_;
  std::size_t size_ = 0;
};

}  // namespace

template <class T>
std::unique_ptr<codec<T>> make_brine_codec(const T& sample) {
  return std::make_unique<brine_codec<T>>(sample);
}

BRINE_BENCH_INSTANTIATE(make_brine_codec);
template std::unique_ptr<codec<evolvable_set>> make_brine_codec(const evolvable_set&);
template std::unique_ptr<codec<shape_variants>> make_brine_codec(const shape_variants&);
template std::unique_ptr<codec<shape_set>> make_brine_codec(const shape_set&);

}  // namespace brine::bench
