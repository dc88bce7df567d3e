#pragma once

// The command line every brine benchmark takes: --json FILE, --quick, --case NAME...

#include <CLI/CLI.hpp>
#include <algorithm>
#include <string>
#include <vector>

namespace brine::bench {

/// What the shared command line asks for.
struct config {
  std::string json;
  bool quick = false;
  std::vector<std::string> cases;

  /// Whether case `name` is to run (all when no --case was given).
  bool wants(const std::string& name) const {
    return cases.empty() || std::find(cases.begin(), cases.end(), name) != cases.end();
  }
};

/// Parses the command line into `cfg`. Returns -1 to go on, else the exit code (after --help
/// or a bad argument, with CLI11's message printed).
inline int parse_command_line(int argc, char** argv, const std::string& what,
                              const std::string& case_kind, std::vector<std::string> case_names,
                              config& cfg) {
  CLI::App app(what);
  app.add_option("--json", cfg.json, "also write the results as JSON to FILE")->type_name("FILE");
  app.add_flag("--quick", cfg.quick, "few repetitions (smoke test; numbers are rough)");
  app.add_option("--case", cfg.cases, "run only this " + case_kind + "; repeatable")
      ->type_name(case_kind == "size" ? "SIZE" : "NAME")
      ->check(CLI::IsMember(std::move(case_names)));
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  return -1;
}

}  // namespace brine::bench
