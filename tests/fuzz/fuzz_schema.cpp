// libFuzzer target: the schema parser, renderer and compatibility check on arbitrary bytes.

#include <brine/brine.hpp>
#include <brine/schema_tree.hpp>

#include <cstddef>
#include <cstdint>
#include <span>

#include "fuzz_types.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::span<const std::uint8_t> bytes(data, size);
  try {
    brine::schema_node n = brine::parse_schema(bytes);
    (void)brine::to_text(n);
    (void)brine::detail::compatible(brine::fingerprint_of(bytes), bytes,
                                    brine::fingerprint<fuzz::Config>,
                                    brine::schema_of<fuzz::Config>);
  } catch (const brine::decode_error&) {
  }
  return 0;
}
