// wordcount-source: makes documents and pushes them to the stages (fan-out: each document goes
// to exactly one stage).

#include "wordcount.hpp"

#include <fmt/core.h>

#include <chrono>
#include <cmath>
#include <random>

int main(int argc, char** argv) {
  CLI::App app{"word count: sends documents to the stages"};
  std::string url, endpoint_file;
  std::uint64_t documents = 2000;
  std::size_t stages = 1;
  wordcount::curve_files curve;
  app.add_option("--to", url, "address to bind, where the stages connect")->required();
  app.add_option("--documents", documents, "documents to send");
  app.add_option("--stages", stages, "stages to wait for before the first document");
  app.add_option("--endpoint-file", endpoint_file, "write the bound address here");
  curve.add_to(app);
  CLI11_PARSE(app, argc, argv);

  static const char* vocabulary[] = {
      "the",   "of",    "and",  "to",    "in",   "a",     "is",    "that",    "for",
      "it",    "as",    "was",  "with",  "be",   "by",    "on",    "not",     "he",
      "this",  "are",   "or",   "his",   "from", "at",    "which", "but",     "have",
      "an",    "had",   "they", "you",   "were", "their", "one",   "all",     "we",
      "can",   "her",   "has",  "there", "been", "if",    "more",  "when",    "will",
      "would", "who",   "so",   "no",    "ship", "sea",   "whale", "captain", "harpoon",
      "deck",  "ocean", "wind", "storm", "sail", "crew",  "boat",  "island",  "shore",
  };
  constexpr std::size_t words = std::size(vocabulary);

  try {
    brine::channel_options opts = curve.options();
    opts.bind = true;  // the stages connect here
    auto tx = brine::push<wordcount::document>(url, opts);
    wordcount::write_endpoint(endpoint_file, tx.endpoint());
    if (!tx.wait_peers(stages, std::chrono::seconds(30))) {
      fmt::print(stderr, "source: {} stages did not connect within 30 s\n", stages);
      return 1;
    }
    std::mt19937 rng(42);
    // Zipf-like: the word of rank r comes up about 1/r as often as the first.
    std::vector<double> weights;
    for (std::size_t r = 1; r <= words; ++r)
      weights.push_back(1.0 / static_cast<double>(r));
    std::discrete_distribution<std::size_t> pick(weights.begin(), weights.end());
    std::uint64_t total = 0;
    for (std::uint64_t id = 0; id < documents; ++id) {
      wordcount::document d{id, fmt::format("chapter {}", id + 1), {}};
      std::size_t n = 200 + id % 300;
      for (std::size_t i = 0; i < n; ++i) {
        d.text += vocabulary[pick(rng)];
        d.text += i % 17 == 16 ? ".\n" : " ";
      }
      total += n;
      tx.send(d);
    }
    tx.close();  // end of stream: each stage's loop ends after its last document
    fmt::print("source: sent {} documents, {} words\n", documents, total);
  } catch (const std::exception& e) {
    fmt::print(stderr, "source: {}\n", e.what());
    return 1;
  }
}
