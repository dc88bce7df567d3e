// worker_pool: brine::pool maps a CPU-heavy function over worker processes, like Python's
// multiprocessing.Pool.map, and prints the speedup over running it in one process.

#include <brine/brine.hpp>

#include <algorithm>
#include <chrono>
#include <complex>
#include <cstdint>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

// One task: a row of the Mandelbrot set. Plain structs travel with no code written.
struct row_task {
  int y = 0;
  int width = 0;
  int height = 0;
  int max_iterations = 0;
};

struct row_result {
  int y = 0;
  std::vector<std::uint16_t> iterations;  // per pixel
  std::uint64_t inside = 0;               // pixels that never escaped
};

row_result render_row(const row_task& t) {
  if (t.width <= 0 || t.height <= 0) throw std::invalid_argument("empty image");
  row_result r{t.y, std::vector<std::uint16_t>(static_cast<std::size_t>(t.width)), 0};
  const double ci = -1.2 + 2.4 * t.y / t.height;
  for (int x = 0; x < t.width; ++x) {
    const std::complex<double> c(-2.1 + 3.0 * x / t.width, ci);
    std::complex<double> z = 0;
    int n = 0;
    while (n < t.max_iterations && std::norm(z) <= 4.0) {
      z = z * z + c;
      ++n;
    }
    r.iterations[static_cast<std::size_t>(x)] = static_cast<std::uint16_t>(n);
    r.inside += n == t.max_iterations;
  }
  return r;
}

int main(int argc, char** argv) {
  const int height = argc > 1 ? std::stoi(argv[1]) : 600;
  const int width = height * 3 / 2, max_iterations = 2000;
  const unsigned workers = std::max(2u, std::thread::hardware_concurrency());

  // The pool forks its workers now: make it before starting threads or opening channels.
  // Rows near the middle take far longer than those at the edges: small chunks keep every
  // worker busy to the end (the default, four chunks per worker, suits even tasks).
  brine::pool_options opts;
  opts.chunk_size = 4;
  brine::pool pool{workers, render_row, opts};

  std::vector<row_task> tasks;
  for (int y = 0; y < height; ++y)
    tasks.push_back({y, width, height, max_iterations});

  using clock = std::chrono::steady_clock;
  auto t0 = clock::now();
  std::vector<row_result> alone;
  for (const row_task& t : tasks)
    alone.push_back(render_row(t));
  double one = std::chrono::duration<double>(clock::now() - t0).count();

  t0 = clock::now();
  std::vector<row_result> rows = pool.map(tasks, [](std::size_t done, std::size_t total) {
    std::printf("\r  map: %zu of %zu rows", done, total);
    std::fflush(stdout);
  });
  double many = std::chrono::duration<double>(clock::now() - t0).count();
  std::printf("\n");

  // Results come back in input order, and equal to the single-process ones.
  std::uint64_t inside = 0;
  bool same = rows.size() == alone.size();
  for (std::size_t i = 0; same && i < rows.size(); ++i) {
    same = rows[i].y == static_cast<int>(i) && rows[i].iterations == alone[i].iterations;
    inside += rows[i].inside;
  }
  std::printf("Mandelbrot %dx%d, %d iterations at most: %llu pixels inside\n", width, height,
              max_iterations, static_cast<unsigned long long>(inside));
  std::printf("  one process:   %.2f s\n", one);
  std::printf("  %u workers:     %.2f s  (%.2fx faster; this machine has %u cores)\n", workers,
              many, one / many, std::thread::hardware_concurrency());
  std::printf("  results in order and equal to the single-process ones: %s\n", same ? "yes" : "NO");

  // One task at a time, with a future; a task's exception comes back as brine::remote_error.
  row_result r = pool.submit({0, 30, 20, 50}).get();
  std::printf("  submit: row %d of a small image, %zu pixels\n", r.y, r.iterations.size());
  try {
    pool.submit({0, 0, 0, 10}).get();
  } catch (const brine::remote_error& e) {
    std::printf("  a failing task: remote_error: %s\n", e.what());
  }
  return same ? 0 : 1;
}
