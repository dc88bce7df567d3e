// brine-inspect: prints any brine file or frame as text, JSON or its byte layout, without the
// C++ types that wrote it.

#include <brine/error.hpp>
#include <brine/inspect.hpp>

#include <CLI/CLI.hpp>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <string>
#include <vector>

int main(int argc, char** argv) {
  CLI::App app{"Print a brine file or frame as readable text, without its C++ type."};
  std::string path;
  bool json = false;
  bool raw = false;
  std::size_t max_items = 64;
  app.add_option("file", path,
                 "brine file (from brine::dump) or frame (from brine::dumps); - for stdin")
      ->required();
  auto* json_flag = app.add_flag("--json", json, "print the value as one JSON document");
  app.add_flag("--raw", raw, "print the frame's byte layout, like pickletools.dis")
      ->excludes(json_flag);
  app.add_option("--max-items", max_items, "elements shown per container (0: all)")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  std::vector<std::byte> bytes;
  {
    std::ifstream file;
    std::istream* in = &std::cin;
    if (path != "-") {
      file.open(path, std::ios::binary);
      if (!file) {
        std::fprintf(stderr, "brine-inspect: cannot open %s: %s\n", path.c_str(),
                     std::strerror(errno));
        return 1;
      }
      in = &file;
    }
    std::string data((std::istreambuf_iterator<char>(*in)), std::istreambuf_iterator<char>());
    bytes.resize(data.size());
    std::memcpy(bytes.data(), data.data(), data.size());
  }

  brine::inspect_options opt;
  opt.fmt = json  ? brine::inspect_options::format::json
            : raw ? brine::inspect_options::format::raw
                  : brine::inspect_options::format::text;
  opt.max_items = json ? 0 : max_items;
  try {
    std::fputs(brine::inspect(bytes, opt).c_str(), stdout);
  } catch (const brine::decode_error& e) {
    std::fprintf(stderr, "brine-inspect: %s: %s\n", path.c_str(), e.what());
    return 1;
  }
  return 0;
}
