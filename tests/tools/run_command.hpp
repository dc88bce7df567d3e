#pragma once

// Running a command-line tool from a test: its exit code and what it printed.

#include <sys/wait.h>

#include <cstdio>
#include <string>

namespace test {

struct command_result {
  int code = -1;    // the exit code, 128 + the signal that ended it, or -1 if it did not start
  std::string out;  // its standard output
};

/// Runs `cmd` with the shell and waits for it.
inline command_result run_command(const std::string& cmd) {
  std::fflush(nullptr);
  command_result r;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) return r;
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0)
    r.out.append(buf, n);
  int status = ::pclose(p);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

}  // namespace test
