// wordcount-sink: gathers the stages' counts (fan-in), checks that every document was counted
// once, and prints the most common words.

#include "wordcount.hpp"

#include <fmt/core.h>

#include <algorithm>

int main(int argc, char** argv) {
  CLI::App app{"word count: adds up the counts of every stage"};
  std::string url, endpoint_file;
  std::uint64_t documents = 0;
  std::size_t stages = 1, top = 10;
  wordcount::curve_files curve;
  app.add_option("--from", url, "address to bind, where the stages connect")->required();
  app.add_option("--stages", stages, "stages whose end of stream ends the input");
  app.add_option("--documents", documents, "documents the source sends (checked)")->required();
  app.add_option("--top", top, "words to print");
  app.add_option("--endpoint-file", endpoint_file, "write the bound address here");
  curve.add_to(app);
  CLI11_PARSE(app, argc, argv);

  try {
    brine::channel_options opts = curve.options();
    opts.bind = true;
    opts.expect_senders = stages;  // the stream ends once every stage has come and gone
    auto rx = brine::pull<wordcount::counts>(url, opts);
    wordcount::write_endpoint(endpoint_file, rx.endpoint());

    std::map<std::string, std::uint64_t> total;
    std::vector<int> seen(documents, 0);
    std::uint64_t words = 0, received = 0;
    for (const wordcount::counts& c : rx) {
      if (c.document < documents) ++seen[c.document];
      for (const auto& [w, n] : c.per_word)
        total[w] += n;
      words += c.words;
      ++received;
    }
    std::vector<std::pair<std::string, std::uint64_t>> ranked(total.begin(), total.end());
    std::sort(ranked.begin(), ranked.end(), [](auto& a, auto& b) { return a.second > b.second; });
    fmt::print("sink: {} documents, {} words, {} different\n", received, words, total.size());
    for (std::size_t i = 0; i < std::min(top, ranked.size()); ++i)
      fmt::print("  {:>2}. {:<8} {:>8}\n", i + 1, ranked[i].first, ranked[i].second);
    bool exact = received == documents &&
                 std::all_of(seen.begin(), seen.end(), [](int n) { return n == 1; });
    if (!exact) {
      fmt::print(stderr, "sink: expected each of {} documents once\n", documents);
      return 1;
    }
  } catch (const std::exception& e) {
    fmt::print(stderr, "sink: {}\n", e.what());
    return 1;
  }
}
