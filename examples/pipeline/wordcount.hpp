#pragma once
// What flows through the word-count pipeline, and the options its three programs share.

#include <brine/brine.hpp>

#include <CLI/CLI.hpp>

#include <cstdint>
#include <fstream>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace wordcount {

struct document {
  std::uint64_t id = 0;
  std::string title;
  std::string text;
};

struct counts {
  std::uint64_t document = 0;
  std::uint64_t words = 0;
  std::map<std::string, std::uint32_t> per_word;
};

/// CURVE key files given on the command line (across_machines): none of them means plain tcp.
struct curve_files {
  std::string keys;                // this program's key pair (wordcount-keys writes it)
  std::string server_key;          // connecting side: the public key file of the side it joins
  std::vector<std::string> allow;  // binding side: public key files of the clients let in

  void add_to(CLI::App& app) {
    app.add_option("--keys", keys, "this program's CURVE key pair file (NAME.keys)");
    app.add_option("--server-key", server_key, "public key file (NAME.pub) of the server to join");
    app.add_option("--allow", allow, "public key files of the clients allowed in");
  }

  /// Channel options with CURVE set when a key file was given.
  brine::channel_options options() const {
    brine::channel_options opts;
    if (keys.empty()) return opts;
    brine::curve_options c;
    std::ifstream in(keys);
    if (!std::getline(in, c.keys.public_key) || !std::getline(in, c.keys.secret_key))
      throw std::runtime_error("cannot read a key pair from " + keys);
    if (!server_key.empty()) c.server_key = read_public(server_key);
    for (const std::string& f : allow)
      c.allowed_clients.push_back(read_public(f));
    opts.curve = c;
    return opts;
  }

 private:
  static std::string read_public(const std::string& file) {
    std::ifstream in(file);
    std::string key;
    if (!std::getline(in, key)) throw std::runtime_error("cannot read a public key from " + file);
    return key;
  }
};

/// Writes a channel's real address (the port the system chose for tcp://host:*) to `file`, for
/// the script that starts the programs.
inline void write_endpoint(const std::string& file, const std::string& endpoint) {
  if (file.empty()) return;
  std::string tmp = file + ".tmp";
  std::ofstream(tmp) << endpoint << "\n";
  std::rename(tmp.c_str(), file.c_str());
}

}  // namespace wordcount
