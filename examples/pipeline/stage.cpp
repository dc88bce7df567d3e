// wordcount-stage: counts the words of each document it receives and sends the counts on. Run
// several: the source spreads documents over them, the sink gathers from all of them.

#include "wordcount.hpp"

#include <fmt/core.h>
#include <unistd.h>

#include <cctype>

int main(int argc, char** argv) {
  CLI::App app{"word count: counts the words of each document"};
  std::string from, to;
  wordcount::curve_files curve;
  app.add_option("--from", from, "the source's address")->required();
  app.add_option("--to", to, "the sink's address")->required();
  curve.add_to(app);
  CLI11_PARSE(app, argc, argv);

  try {
    brine::channel_options opts = curve.options();
    opts.bind = false;  // both ends of a stage connect: stages come and go
    auto rx = brine::pull<wordcount::document>(from, opts);
    auto tx = brine::push<wordcount::counts>(to, opts);
    std::uint64_t documents = 0;
    for (const wordcount::document& d : rx) {  // ends when the source has closed
      wordcount::counts c{d.id, 0, {}};
      std::string word;
      for (char ch : d.text + " ") {
        if (std::isalpha(static_cast<unsigned char>(ch))) {
          word += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        } else if (!word.empty()) {
          ++c.per_word[word];
          ++c.words;
          word.clear();
        }
      }
      tx.send(c);
      ++documents;
    }
    tx.close();
    fmt::print("stage {}: counted {} documents\n", ::getpid(), documents);
  } catch (const std::exception& e) {
    fmt::print(stderr, "stage {}: {}\n", ::getpid(), e.what());
    return 1;
  }
}
