#include "brine/detail/registry.hpp"

#include <map>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <typeindex>
#include <unordered_map>
#include <utility>
#include <vector>

#include "brine/error.hpp"

namespace brine::detail {
namespace {

struct registry {
  std::shared_mutex mutex;
  std::unordered_map<std::type_index, poly_entry> by_type;
  std::unordered_map<std::string_view, const poly_entry*> by_name;
  std::map<std::pair<const poly_entry*, std::type_index>, std::ptrdiff_t> offsets;
};

registry& the_registry() {
  static registry r;
  return r;
}

}  // namespace

void register_entry(const poly_entry& e) {
  registry& r = the_registry();
  std::unique_lock lock(r.mutex);
  auto named = r.by_name.find(e.name);
  if (named != r.by_name.end()) {
    if (*named->second->type == *e.type) return;  // the same registration seen twice
    throw error("brine: BRINE_REGISTER name \"" + std::string(e.name) + "\" is taken by two types");
  }
  auto [it, added] = r.by_type.try_emplace(std::type_index(*e.type), e);
  if (!added) {
    throw error("brine: type registered twice, as \"" + std::string(it->second.name) + "\" and \"" +
                std::string(e.name) + "\"");
  }
  r.by_name.emplace(it->second.name, &it->second);
}

const poly_entry* find_entry_for_type(const std::type_info& t) noexcept {
  registry& r = the_registry();
  std::shared_lock lock(r.mutex);
  auto it = r.by_type.find(std::type_index(t));
  return it == r.by_type.end() ? nullptr : &it->second;
}

const poly_entry& entry_for_type(const std::type_info& t) {
  const poly_entry* e = find_entry_for_type(t);
  if (e == nullptr) {
    throw encode_error(std::string("brine: cannot encode an object of dynamic type ") + t.name() +
                       " through a pointer to its base: register it with BRINE_REGISTER");
  }
  return *e;
}

const poly_entry* entry_for_name(std::string_view name) noexcept {
  registry& r = the_registry();
  std::shared_lock lock(r.mutex);
  auto it = r.by_name.find(name);
  return it == r.by_name.end() ? nullptr : it->second;
}

std::ptrdiff_t base_offset(const poly_entry& e, const std::type_info& base, void* sample,
                           std::ptrdiff_t (*probe)(const poly_entry&, void*)) {
  registry& r = the_registry();
  auto key = std::make_pair(&e, std::type_index(base));
  {
    std::shared_lock lock(r.mutex);
    auto it = r.offsets.find(key);
    if (it != r.offsets.end()) return it->second;
  }
  std::ptrdiff_t off = probe(e, sample);
  std::unique_lock lock(r.mutex);
  r.offsets.emplace(key, off);
  return off;
}

}  // namespace brine::detail

namespace brine::detail {

std::vector<std::uint8_t> type_table(const std::vector<const poly_entry*>& types) {
  std::vector<std::uint8_t> out;
  auto varint = [&](std::uint64_t v) {
    while (v >= 0x80) {
      out.push_back(static_cast<std::uint8_t>(v | 0x80));
      v >>= 7;
    }
    out.push_back(static_cast<std::uint8_t>(v));
  };
  varint(types.size());
  for (const poly_entry* e : types) {
    varint(e->name.size());
    out.insert(out.end(), e->name.begin(), e->name.end());
    varint(e->schema.size());
    out.insert(out.end(), e->schema.begin(), e->schema.end());
  }
  return out;
}

}  // namespace brine::detail
