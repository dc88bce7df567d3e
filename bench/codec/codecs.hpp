#pragma once

// The serializers brine-bench-codec compares. Each lives in its own source file, compiled in only
// when its library was found, behind one interface: encode into a buffer the codec owns and
// reuses, decode the last encoding into a new value or over an old one.

#include <cstddef>
#include <memory>
#include <string>
#include <utility>

#include "brine_cases.hpp"
#include "cases.hpp"

namespace brine::bench {

/// One serializer's view of values of type T.
template <class T>
class codec {
 public:
  explicit codec(std::string name) : name_(std::move(name)) {}
  virtual ~codec() = default;
  codec(const codec&) = delete;
  codec& operator=(const codec&) = delete;

  const std::string& name() const noexcept { return name_; }

  /// Encodes `v` into this codec's buffer, replacing the last encoding; returns its size.
  virtual std::size_t encode(const T& v) = 0;
  /// Decodes the last encoding into a new value.
  virtual T decode() = 0;
  /// Decodes the last encoding over an existing value, reusing its memory where the codec can
  /// (as cpp_serializers_benchmark measures: "deserialize on top of old object").
  virtual void decode_into(T& out) = 0;

  /// Whether encode_alloc means anything for this codec.
  virtual bool has_encode_alloc() const { return false; }
  /// Encodes `v` into newly allocated memory and frees it (brine::dumps).
  virtual void encode_alloc(const T&) {}

 private:
  std::string name_;
};

// Each factory takes a sample value to size its buffers once, outside the timed loops.
template <class T>
std::unique_ptr<codec<T>> make_brine_codec(const T& sample);
#if BRINE_BENCH_HAVE_CEREAL
template <class T>
std::unique_ptr<codec<T>> make_cereal_codec(const T& sample);
#endif
#if BRINE_BENCH_HAVE_MSGPACK
template <class T>
std::unique_ptr<codec<T>> make_msgpack_codec(const T& sample);
#endif
#if BRINE_BENCH_HAVE_BOOST
template <class T>
std::unique_ptr<codec<T>> make_boost_codec(const T& sample);
#endif

// Explicitly instantiated, for every case type, in the file that defines FACTORY.
#define BRINE_BENCH_INSTANTIATE(FACTORY)                                    \
  template std::unique_ptr<codec<monster_set>> FACTORY(const monster_set&); \
  template std::unique_ptr<codec<record_set>> FACTORY(const record_set&);   \
  template std::unique_ptr<codec<double_set>> FACTORY(const double_set&);   \
  template std::unique_ptr<codec<record_map>> FACTORY(const record_map&)

}  // namespace brine::bench
