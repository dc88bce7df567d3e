// pickle_basics: Python's pickle walk-through, in C++ with brine.
//
//   pickle.dumps / pickle.loads   ->  brine::dumps / brine::loads<T>
//   pickle.dump / pickle.load     ->  brine::dump / brine::load<T>

#include <brine/brine.hpp>

#include <unistd.h>
#include <cstdio>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

// A plain struct: nothing to write.
struct Layer {
  std::string name;
  std::vector<float> weights;
  float bias = 0;
};

// A class with private state names its fields once.
class Model {
 public:
  Model() = default;
  Model(std::string name, std::vector<Layer> layers)
      : name_(std::move(name)), layers_(std::move(layers)) {}
  const std::string& name() const { return name_; }
  const std::vector<Layer>& layers() const { return layers_; }
  std::map<std::string, double>& metrics() { return metrics_; }
  const std::map<std::string, double>& metrics() const { return metrics_; }

  BRINE_FIELDS(name_, layers_, metrics_)

 private:
  std::string name_;
  std::vector<Layer> layers_;
  std::map<std::string, double> metrics_;
};

int main(int argc, char** argv) {
  // 1. A dict-like object to bytes and back.
  std::map<std::string, std::vector<int>> scores{{"ada", {90, 95}}, {"linus", {70, 88, 93}}};
  std::vector<std::byte> bytes = brine::dumps(scores);
  auto back = brine::loads<std::map<std::string, std::vector<int>>>(bytes);
  std::printf("dumps/loads: %zu entries in %zu bytes, equal: %s\n", back.size(), bytes.size(),
              back == scores ? "yes" : "no");

  // 2. A custom class to a file and back. dump writes a temporary file and renames it.
  Model model("tiny-mlp", {{"hidden", {0.5f, -1.25f, 2.0f}, 0.1f}, {"out", {1.0f, -0.5f}, -0.2f}});
  model.metrics()["accuracy"] = 0.93;
  model.metrics()["loss"] = 0.21;
  std::filesystem::path path = argc > 1 ? std::filesystem::path(argv[1])
                                        : std::filesystem::temp_directory_path() /
                                              ("model-" + std::to_string(::getpid()) + ".brine");
  brine::dump(model, path);
  Model loaded = brine::load<Model>(path);
  std::printf("dump/load: %s with %zu layers, accuracy %.2f, file %ju bytes\n",
              loaded.name().c_str(), loaded.layers().size(), loaded.metrics().at("accuracy"),
              static_cast<std::uintmax_t>(std::filesystem::file_size(path)));
  std::printf("schema: %s\n", brine::schema_text<Model>().c_str());

  // 3. Loading bytes from a stranger is safe: only the named type can come out, lengths are
  //    checked before anything is allocated, and every failure is a brine::decode_error.
  try {
    brine::loads<Model>(bytes);  // the bytes of a map, read as a Model
  } catch (const brine::type_mismatch& e) {
    std::printf("wrong type refused: %s\n", e.what());
  }
  std::vector<std::byte> hostile = brine::dumps(std::string("hello"));
  hostile[24] = std::byte{0xff};  // the string's length now claims far more than the frame holds
  try {
    brine::loads<std::string>(hostile);
  } catch (const brine::decode_error& e) {
    std::printf("corrupt bytes refused: %s\n", e.what());
  }

  // 4. Limits bound what a decode may do; the defaults (1 GiB per frame and per decode, 512
  //    levels of nesting) suit trusted peers. Tighten them for input from strangers.
  brine::limits strict;
  strict.max_alloc = 1024;  // bytes a decode may allocate
  std::vector<std::byte> big = brine::dumps(std::vector<double>(1000, 1.0));
  try {
    brine::loads<std::vector<double>>(big, strict);
  } catch (const brine::decode_error& e) {
    std::printf("over the limit refused: %s\n", e.what());
  }

  // What brine does not do: it does not authenticate. Bytes that decode are a valid value of
  // the type, not a value from someone you trust; over a network use CURVE (docs/security.md).

  if (argc <= 1) std::filesystem::remove(path);
  bool ok =
      back == scores && loaded.layers().size() == 2 && loaded.layers()[0].weights[1] == -1.25f;
  return ok ? 0 : 1;
}
