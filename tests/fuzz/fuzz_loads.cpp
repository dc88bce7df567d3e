// libFuzzer target: loads<T> of rich types, chosen by the first byte. Any input must decode or
// throw brine::decode_error; anything else (a crash, another exception, a leak) is a finding.

#include <cstddef>
#include <cstdint>
#include <span>

#include "fuzz_types.hpp"

BRINE_REGISTER(fuzz::Circle, "fuzz.Circle");
BRINE_REGISTER(fuzz::Polygon, "fuzz.Polygon");

namespace {

template <class T>
void try_load(std::span<const std::byte> bytes) {
  try {
    T v = brine::loads<T>(bytes);
    (void)brine::dumps(v);  // whatever decodes must encode again
  } catch (const brine::decode_error&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(data + 1), size - 1);
  switch (data[0] % 6) {
    case 0:
      try_load<std::vector<fuzz::Monster>>(bytes);
      break;
    case 1:
      try_load<fuzz::Graph>(bytes);
      break;
    case 2:
      try_load<std::vector<std::unique_ptr<fuzz::Shape>>>(bytes);
      break;
    case 3:
      try_load<fuzz::Tree>(bytes);
      break;
    case 4:
      try_load<fuzz::Config>(bytes);
      break;
    case 5:
      try_load<fuzz::Mixed>(bytes);
      break;
  }
  return 0;
}
