// python_reader: writes a weather station's log with brine::dump, for read.py to read in
// Python without the C++ types.
//
//   python_reader FILE

#include <brine/brine.hpp>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>
#include <optional>
#include <string>
#include <vector>

struct reading {
  std::chrono::system_clock::time_point at;
  float temperature_c = 0;
  float humidity = 0;            // 0..1
  std::optional<float> wind_ms;  // the anemometer is sometimes down
};

enum class status { ok, degraded, offline };

struct station_log {
  std::string station;
  std::pair<double, double> position;  // latitude, longitude
  status state = status::ok;
  std::map<std::string, std::string> metadata;
  std::vector<reading> readings;
  double mean_temperature_c = 0;  // for the reader to check against its own sum
};

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s FILE\n", argv[0]);
    return 2;
  }
  using namespace std::chrono;
  station_log log{"Ben Nevis summit",
                  {56.7969, -5.0036},
                  status::degraded,
                  {{"operator", "Met Office"}, {"elevation_m", "1345"}},
                  {},
                  0};
  auto start = sys_days{year{2026} / 11 / 27} + hours{6};
  double sum = 0;
  for (int i = 0; i < 24 * 6; ++i) {  // every ten minutes for a day
    reading r;
    r.at = start + minutes{10 * i};
    r.temperature_c = static_cast<float>(-4.0 + 3.0 * std::sin(i / 24.0));
    r.humidity = static_cast<float>(0.8 + 0.15 * std::cos(i / 10.0));
    if (i % 7 != 3) r.wind_ms = static_cast<float>(12.0 + (i % 11));
    sum += r.temperature_c;
    log.readings.push_back(r);
  }
  log.mean_temperature_c = sum / static_cast<double>(log.readings.size());
  brine::dump(log, argv[1]);
  std::printf("wrote %s: %zu readings from %s, mean %.3f C\n", argv[1], log.readings.size(),
              log.station.c_str(), log.mean_temperature_c);
}
