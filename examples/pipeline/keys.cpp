// wordcount-keys: makes a CURVE key pair for across_machines: NAME.keys (both keys, readable
// by its owner only; keep it on the host that uses it) and NAME.pub (the public key, to copy
// to the other hosts).

#include <brine/brine.hpp>

#include <fmt/core.h>
#include <sys/stat.h>

#include <cstdio>
#include <fstream>
#include <string>

int main(int argc, char** argv) {
  if (argc != 2) {
    fmt::print(stderr, "usage: {} NAME   (writes NAME.keys and NAME.pub)\n", argv[0]);
    return 2;
  }
  const std::string name = argv[1];
  try {
    brine::curve_keys k = brine::curve_keypair();
    ::umask(077);
    std::ofstream(name + ".keys") << k.public_key << "\n" << k.secret_key << "\n";
    ::umask(022);
    std::ofstream(name + ".pub") << k.public_key << "\n";
    fmt::print("{}.keys and {}.pub written; public key {}\n", name, name, k.public_key);
  } catch (const brine::error& e) {
    fmt::print(stderr, "wordcount-keys: {}\n", e.what());
    return 1;
  }
}
