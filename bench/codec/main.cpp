// brine-bench-codec: encode and decode time and encoded size of brine and its peers (cereal,
// msgpack-cxx, Boost.Serialization, when found at build time) on four data sets, with memcpy of
// brine's encoded size as the floor.

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "brine_cases.hpp"
#include "cases.hpp"
#include "codecs.hpp"
#include "common/cli.hpp"
#include "common/harness.hpp"

namespace brine::bench {
namespace {

constexpr std::string_view case_names[] = {"monster",   "records", "doubles", "map",
                                           "evolvable", "variant", "poly"};

struct row {
  std::string impl;
  timing encode;
  timing decode;      // over a reused value
  timing decode_new;  // into a new value
  std::optional<timing> encode_alloc;
  std::size_t bytes = 0;
};

[[noreturn]] void fail(const std::string& what) {
  std::fprintf(stderr, "brine-bench-codec: %s\n", what.c_str());
  std::exit(EXIT_FAILURE);
}

std::string ns_text(double ns) {
  char text[32];
  std::snprintf(text, sizeof text, ns < 100 ? "%.1f" : "%.0f", ns);
  return text;
}

std::string ratio_text(double peer, double brine) {
  if (brine <= 0) return "-";
  char text[32];
  std::snprintf(text, sizeof text, "%.2f", peer / brine);
  return text;
}

void print_header() {
  std::printf("%-8s %-8s %11s %11s %11s %11s %11s %11s %9s %7s %7s %7s\n", "case", "impl",
              "encode ns", "enc p99 ns", "decode ns", "dec p99 ns", "dec new ns", "enc alloc ns",
              "bytes", "enc x", "dec x", "new x");
}

void print_rows(std::string_view case_name, const std::vector<row>& rows) {
  const row& brine = rows.front();
  for (const row& r : rows) {
    bool is_brine = &r == &brine;
    std::printf(
        "%-8.*s %-8s %11s %11s %11s %11s %11s %11s %9zu %7s %7s %7s\n",
        static_cast<int>(case_name.size()), case_name.data(), r.impl.c_str(),
        ns_text(r.encode.median_ns).c_str(), ns_text(r.encode.p99_ns).c_str(),
        ns_text(r.decode.median_ns).c_str(), ns_text(r.decode.p99_ns).c_str(),
        ns_text(r.decode_new.median_ns).c_str(),
        r.encode_alloc ? ns_text(r.encode_alloc->median_ns).c_str() : "-", r.bytes,
        is_brine ? "1.00" : ratio_text(r.encode.median_ns, brine.encode.median_ns).c_str(),
        is_brine ? "1.00" : ratio_text(r.decode.median_ns, brine.decode.median_ns).c_str(),
        is_brine ? "1.00" : ratio_text(r.decode_new.median_ns, brine.decode_new.median_ns).c_str());
  }
  std::fflush(stdout);
}

template <class T>
std::vector<std::unique_ptr<codec<T>>> make_codecs(const T& value) {
  std::vector<std::unique_ptr<codec<T>>> out;
  out.push_back(make_brine_codec(value));
  if constexpr (brine_only<T>) return out;
#if BRINE_BENCH_HAVE_CEREAL
  out.push_back(make_cereal_codec(value));
#endif
#if BRINE_BENCH_HAVE_MSGPACK
  out.push_back(make_msgpack_codec(value));
#endif
#if BRINE_BENCH_HAVE_BOOST
  out.push_back(make_boost_codec(value));
#endif
  return out;
}

// Encodes and decodes once, checking the value comes back whole, so that no codec is timed
// doing less than the others.
template <class T>
void verify(std::string_view case_name, codec<T>& c, const T& value) {
  std::size_t n = c.encode(value);
  if (n == 0) fail(std::string(case_name) + "/" + c.name() + ": encoded to 0 bytes");
  if (!(c.decode() == value)) {
    fail(std::string(case_name) + "/" + c.name() + ": the decoded value differs from the original");
  }
  T reused = value;  // decoding over a value must replace it, whatever it held
  c.decode_into(reused);
  if (!(reused == value)) {
    fail(std::string(case_name) + "/" + c.name() + ": decoding over a value gave another value");
  }
}

// memcpy of `bytes` between preallocated buffers: what any encoding of that size costs at least.
row measure_memcpy(std::size_t bytes, const measure_options& opt) {
  std::vector<std::byte> a(bytes, std::byte{1});
  std::vector<std::byte> b(bytes);
  row r{"memcpy", {}, {}, {}, std::nullopt, bytes};
  r.encode = measure(
      [&] {
        std::memcpy(b.data(), a.data(), bytes);
        do_not_optimize(b.data());
      },
      opt);
  r.decode = measure(
      [&] {
        std::memcpy(a.data(), b.data(), bytes);
        do_not_optimize(a.data());
      },
      opt);
  r.decode_new = r.decode;
  if (a != b) fail("memcpy: copies differ");
  return r;
}

template <class T>
void run_case(std::string_view case_name, const T& value, const measure_options& opt,
              json_report& report) {
  std::vector<row> rows;
  for (auto& c : make_codecs(value)) {
    verify(case_name, *c, value);
    row r;
    r.impl = c->name();
    r.bytes = c->encode(value);
    r.encode = measure([&] { return c->encode(value); }, opt);
    T reused = value;
    r.decode = measure([&] { c->decode_into(reused); }, opt);
    if (!(reused == value))
      fail(std::string(case_name) + "/" + c->name() + ": decode_into drifted");
    r.decode_new = measure([&] { return c->decode(); }, opt);
    if (c->has_encode_alloc()) r.encode_alloc = measure([&] { c->encode_alloc(value); }, opt);
    rows.push_back(std::move(r));
  }
  rows.push_back(measure_memcpy(rows.front().bytes, opt));

  print_rows(case_name, rows);
  std::string name(case_name);
  for (const row& r : rows) {
    report.add_timing(name, r.impl, "encode", r.encode);
    report.add_timing(name, r.impl, "decode", r.decode);
    report.add_timing(name, r.impl, "decode_new", r.decode_new);
    if (r.encode_alloc) {
      report.add(name, r.impl, "encode_alloc_ns", std::round(r.encode_alloc->median_ns * 10) / 10,
                 "ns");
    }
    report.add(name, r.impl, "bytes", static_cast<double>(r.bytes), "bytes");
  }
}

void run(const config& cfg) {
  measure_options opt = cfg.quick ? measure_options::quick() : measure_options{};
  json_report report("codec");
  std::printf("brine-bench-codec  %s  %s%s\n", report.date().c_str(), report.machine().c_str(),
              cfg.quick ? "  (--quick: few repetitions, numbers are rough)" : "");
  std::printf("peers:");
#if BRINE_BENCH_HAVE_CEREAL
  std::printf(" cereal");
#endif
#if BRINE_BENCH_HAVE_MSGPACK
  std::printf(" msgpack");
#endif
#if BRINE_BENCH_HAVE_BOOST
  std::printf(" boost");
#endif
  std::printf(" memcpy; enc x / dec x = impl time / brine time (median)\n\n");
  print_header();

  auto wanted = [&](std::string_view name) { return cfg.wants(std::string(name)); };
  if (wanted("monster")) run_case("monster", make_monsters(), opt, report);
  if (wanted("records")) run_case("records", make_records(), opt, report);
  if (wanted("doubles")) run_case("doubles", make_doubles(), opt, report);
  if (wanted("map")) run_case("map", make_record_map(), opt, report);
  if (wanted("evolvable")) run_case("evolvable", make_evolvable_records(), opt, report);
  if (wanted("variant")) run_case("variant", make_shape_variants(), opt, report);
  if (wanted("poly")) run_case("poly", make_shape_set(), opt, report);

  if (!cfg.json.empty()) {
    report.write(cfg.json);
    std::printf("\nwrote %s\n", cfg.json.c_str());
  }
}

}  // namespace
}  // namespace brine::bench

int main(int argc, char** argv) {
  using namespace brine::bench;
  config cfg;
  if (int rc = parse_command_line(
          argc, argv, "encode/decode time and size of brine and its peers", "case",
          std::vector<std::string>(std::begin(case_names), std::end(case_names)), cfg);
      rc >= 0)
    return rc;
  try {
    run(cfg);
  } catch (const std::exception& e) {
    fail(e.what());
  }
  return 0;
}
