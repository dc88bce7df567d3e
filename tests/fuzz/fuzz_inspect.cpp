// libFuzzer target: brine-inspect's reader (schema block, type table, dynamic decoder and the
// three renderings) on arbitrary frames.

#include <brine/error.hpp>
#include <brine/inspect.hpp>

#include <cstddef>
#include <cstdint>
#include <span>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(data), size);
  for (auto fmt : {brine::inspect_options::format::text, brine::inspect_options::format::json,
                   brine::inspect_options::format::raw}) {
    brine::inspect_options opt;
    opt.fmt = fmt;
    try {
      (void)brine::inspect(bytes, opt);
    } catch (const brine::decode_error&) {
      return 0;
    }
  }
  return 0;
}
