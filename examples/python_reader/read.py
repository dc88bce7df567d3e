#!/usr/bin/env python3
"""Reads the station log python_reader wrote, with brine_reader and Python's standard library:
no C++ types, no compiled module. Usage: read.py FILE [PYTHON_DIR]"""
import datetime
import os
import sys

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, sys.argv[2] if len(sys.argv) > 2 else os.path.join(here, "..", "..", "python"))
import brine_reader as br  # noqa: E402

path = sys.argv[1]
print("schema:", br.schema_text(open(path, "rb").read()))
log = br.load(path)  # a dict, as pickle.load would give

# Time points arrive as tick counts; the schema gives the period (a Fraction of seconds).
tree = br.schema(open(path, "rb").read())
at_node = tree.children[tree.names.index("readings")].children[0].children[0]
period = at_node.period


def when(ticks):
    return datetime.datetime.fromtimestamp(float(ticks * period), datetime.timezone.utc)


readings = log["readings"]
temps = [r["temperature_c"] for r in readings]
winds = [r["wind_ms"] for r in readings if r["wind_ms"] is not None]
print(f"station {log['station']!r} at {log['position']}, state {log['state']} (an enum: its value)")
print(f"metadata: {log['metadata']}")
print(f"{len(readings)} readings from {when(readings[0]['at']):%Y-%m-%d %H:%M} "
      f"to {when(readings[-1]['at']):%Y-%m-%d %H:%M} UTC")
print(f"temperature: min {min(temps):.2f}, max {max(temps):.2f}, mean {sum(temps) / len(temps):.3f} C")
print(f"wind: {len(winds)} of {len(readings)} readings (the others None), max {max(winds):.1f} m/s")

# The reader agrees with the writer.
assert abs(sum(temps) / len(temps) - log["mean_temperature_c"]) < 1e-4
assert len(readings) == 144 and len(winds) == 144 - 21
assert when(readings[0]["at"]) == datetime.datetime(2026, 11, 27, 6, 0, tzinfo=datetime.timezone.utc)
assert log["position"] == (56.7969, -5.0036) and log["state"] == 1
print("python agrees with C++: ok")
