// model_persistence: train a small model, save it with brine::dump, load it in another
// process to predict, look at the file with brine-inspect, then grow the model's struct by a
// field and still read the old file.
//
//   model_persistence [dir]            the whole walk-through, files in dir (default: temp)
//   model_persistence --predict FILE   the second process: loads FILE and predicts

#include <brine/brine.hpp>

#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

extern char** environ;

namespace fs = std::filesystem;

// Version 1 of the model, as first shipped. BRINE_EVOLVABLE: fields may be added at the end
// later, and files of either version stay readable by both.
namespace v1 {
struct model {
  BRINE_EVOLVABLE;
  std::vector<std::string> features;
  std::vector<double> mean, scale;  // standardisation of each feature
  std::vector<double> weights;
  double bias = 0;
  int epochs = 0;
  double train_accuracy = 0;
  std::chrono::system_clock::time_point trained_at;
};
}  // namespace v1

// Version 2 adds two fields at the end, with defaults for files that lack them.
namespace v2 {
struct model {
  BRINE_EVOLVABLE;
  std::vector<std::string> features;
  std::vector<double> mean, scale;
  std::vector<double> weights;
  double bias = 0;
  int epochs = 0;
  double train_accuracy = 0;
  std::chrono::system_clock::time_point trained_at;
  double threshold = 0.5;        // new: decision threshold
  std::string notes = "(none)";  // new: free text
};
}  // namespace v2

namespace {

struct sample {
  double x[2];
  int label;
};

// Two overlapping clouds of points: label 1 around (2, 1), label 0 around (0, -1).
std::vector<sample> make_data(std::size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> noise(0.0, 1.0);
  std::vector<sample> data;
  for (std::size_t i = 0; i < n; ++i) {
    int label = static_cast<int>(i % 2);
    data.push_back({{(label ? 2.0 : 0.0) + noise(rng), (label ? 1.0 : -1.0) + noise(rng)}, label});
  }
  return data;
}

template <class Model>
double probability(const Model& m, const double* x) {
  double z = m.bias;
  for (std::size_t j = 0; j < m.weights.size(); ++j)
    z += m.weights[j] * (x[j] - m.mean[j]) / m.scale[j];
  return 1.0 / (1.0 + std::exp(-z));
}

template <class Model>
double accuracy(const Model& m, const std::vector<sample>& data, double threshold = 0.5) {
  std::size_t right = 0;
  for (const sample& s : data)
    right += (probability(m, s.x) >= threshold) == (s.label == 1);
  return static_cast<double>(right) / static_cast<double>(data.size());
}

// Logistic regression by batch gradient descent on standardised features.
v1::model train(const std::vector<sample>& data, int epochs, double rate) {
  v1::model m;
  m.features = {"x", "y"};
  m.mean.assign(2, 0);
  m.scale.assign(2, 0);
  for (const sample& s : data)
    for (int j = 0; j < 2; ++j)
      m.mean[j] += s.x[j] / static_cast<double>(data.size());
  for (const sample& s : data)
    for (int j = 0; j < 2; ++j)
      m.scale[j] += std::pow(s.x[j] - m.mean[j], 2) / static_cast<double>(data.size());
  for (double& v : m.scale)
    v = std::sqrt(v);
  m.weights.assign(2, 0);
  for (int e = 0; e < epochs; ++e) {
    double grad[2] = {0, 0}, grad_bias = 0;
    for (const sample& s : data) {
      double err = probability(m, s.x) - s.label;
      for (int j = 0; j < 2; ++j)
        grad[j] += err * (s.x[j] - m.mean[j]) / m.scale[j];
      grad_bias += err;
    }
    for (int j = 0; j < 2; ++j)
      m.weights[j] -= rate * grad[j] / static_cast<double>(data.size());
    m.bias -= rate * grad_bias / static_cast<double>(data.size());
  }
  m.epochs = epochs;
  m.train_accuracy = accuracy(m, data);
  m.trained_at = std::chrono::system_clock::now();
  return m;
}

// The second process: knows the file and the struct, nothing else.
int predict(const fs::path& file) {
  auto m = brine::load<v1::model>(file);
  std::printf("  [process %d] loaded a model trained for %d epochs on features", ::getpid(),
              m.epochs);
  for (const std::string& f : m.features)
    std::printf(" %s", f.c_str());
  std::printf("\n");
  for (const auto& p : {std::pair{2.5, 1.5}, {-0.5, -1.2}, {1.0, 0.0}}) {
    double x[2] = {p.first, p.second};
    std::printf("  [process %d] p(label 1 | x=%5.2f, y=%5.2f) = %.3f\n", ::getpid(), x[0], x[1],
                probability(m, x));
  }
  double test = accuracy(m, make_data(2000, 99));  // data it never saw
  std::printf("  [process %d] accuracy on new data: %.3f\n", ::getpid(), test);
  return test > 0.85 ? 0 : 1;
}

int run(const std::string& program, std::vector<std::string> args) {
  args.insert(args.begin(), program);
  std::vector<char*> argv;
  for (std::string& a : args)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = -1;
  if (::posix_spawn(&pid, argv[0], nullptr, nullptr, argv.data(), environ) != 0) return -1;
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 3 && std::string(argv[1]) == "--predict") return predict(argv[2]);
  fs::path dir = argc > 1
                     ? fs::path(argv[1])
                     : fs::temp_directory_path() / ("brine-model-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const fs::path v1_file = dir / "model-v1.brine", v2_file = dir / "model-v2.brine";
  int failures = 0;

  // 1. Train and save.
  v1::model m = train(make_data(4000, 7), 300, 0.5);
  std::printf("trained: weights %.3f %.3f, bias %.3f, accuracy %.3f\n", m.weights[0], m.weights[1],
              m.bias, m.train_accuracy);
  brine::dump(m, v1_file);
  std::printf("saved %s (%ju bytes)\n\n", v1_file.c_str(),
              static_cast<std::uintmax_t>(fs::file_size(v1_file)));

  // 2. Another process loads it and predicts.
  std::printf("a second process loads it:\n");
  std::fflush(stdout);
  failures += run("/proc/self/exe", {"--predict", v1_file.string()}) != 0;

  // 3. The file describes itself: brine-inspect prints it without the C++ types.
  std::printf("\nbrine-inspect %s:\n", v1_file.filename().c_str());
  std::fflush(stdout);
  failures += run(BRINE_INSPECT_PATH, {v1_file.string()}) != 0;

  // 4. Version 2 of the program reads version 1's file: the new fields take their defaults.
  auto newer = brine::load<v2::model>(v1_file);
  std::printf("\nv2 reads the v1 file: threshold %.2f, notes \"%s\", accuracy %.3f (same model)\n",
              newer.threshold, newer.notes.c_str(),
              accuracy(newer, make_data(2000, 99), newer.threshold));
  failures += newer.weights != m.weights || newer.threshold != 0.5 || newer.notes != "(none)";

  // 5. And version 1 reads version 2's file: the fields it does not know are skipped.
  newer.threshold = 0.6;
  newer.notes = "threshold raised for fewer false alarms";
  brine::dump(newer, v2_file);
  auto older = brine::load<v1::model>(v2_file);
  std::printf("v1 reads the v2 file: %d epochs, weights %s\n", older.epochs,
              older.weights == m.weights ? "equal" : "DIFFERENT");
  failures += older.weights != m.weights;

  if (argc <= 1) fs::remove_all(dir);
  return failures == 0 ? 0 : 1;
}
