#!/usr/bin/env python3
"""Merges the JSON of brine's four benchmarks into one report: REPORT.md with the tables (brine
and each peer from the same run, with ratios) and PNG plots. Usage:

    report.py RESULTS_DIR        reads codec.json channels.json shm.json rpc.json there,
                                 writes RESULTS_DIR/REPORT.md and RESULTS_DIR/*.png

bench/report runs the benchmarks and then this; run it alone to redraw from saved JSON."""

import json
import os
import re
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

BENCHES = ["codec", "channels", "shm", "rpc"]


def load(directory):
    data = {}
    for b in BENCHES:
        path = os.path.join(directory, b + ".json")
        if os.path.exists(path):
            with open(path) as f:
                data[b] = json.load(f)
    return data


class Results:
    """One benchmark's results: value(case, impl, metric) or None."""

    def __init__(self, doc):
        self.doc = doc
        self.values = {}
        for r in doc["results"] if doc else []:
            self.values[(r["case"], r["impl"], r["metric"])] = r["value"]

    def value(self, case, impl, metric):
        return self.values.get((case, impl, metric))

    def cases(self):
        return unique(k[0] for k in self.values)

    def impls(self, case=None):
        return unique(k[1] for k in self.values if case is None or k[0] == case)


def unique(items):
    seen = []
    for i in items:
        if i not in seen:
            seen.append(i)
    return seen


def size_bytes(name):
    m = re.fullmatch(r"(\d+)(B|KiB|MiB)", name)
    if not m:
        return None
    return int(m.group(1)) * {"B": 1, "KiB": 1024, "MiB": 1024 * 1024}[m.group(2)]


def size_name(n):
    for unit, scale in (("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= scale and n % scale == 0:
            return f"{n // scale} {unit}"
    return f"{n} B"


def fmt(v, digits=3):
    if v is None:
        return "–"
    if v == 0:
        return "0"
    if abs(v) >= 100000:
        return f"{v:,.0f}"
    if abs(v) >= 100:
        return f"{v:.0f}"
    return f"{v:.{digits}g}"


def ratio(a, b):
    """a / b as "1.23×"; callers order it so that above 1× brine is ahead."""
    if a is None or b is None or b == 0:
        return "–"
    return f"{a / b:.2f}×"


def table(header, rows):
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(out) + "\n"


# ---- codec ---------------------------------------------------------------------------------

def codec_section(r, out_dir):
    md = ["## Serialization (bench/codec)\n",
          "Median time to encode into a reused buffer and to decode into a reused value; bytes "
          "is the encoded size (brine's includes its 24-byte frame header). In brackets, the peer's "
          "time over brine's: above 1× brine is faster, below it is slower.\n"]
    peers = [i for i in ["cereal", "msgpack", "boost", "memcpy"] if i in r.impls()]
    header = ["case", "brine encode ns", "brine decode ns", "brine bytes"]
    for p in peers:
        header += [f"{p} encode", f"{p} decode", f"{p} bytes"]
    rows = []
    for case in r.cases():
        be, bd = r.value(case, "brine", "encode_ns"), r.value(case, "brine", "decode_ns")
        row = [case, fmt(be), fmt(bd), fmt(r.value(case, "brine", "bytes"))]
        for p in peers:
            pe, pd = r.value(case, p, "encode_ns"), r.value(case, p, "decode_ns")
            if pe is None:
                row += ["–", "–", "–"]
                continue
            row += [f"{fmt(pe)} ({ratio(pe, be)})", f"{fmt(pd)} ({ratio(pd, bd)})",
                    fmt(r.value(case, p, "bytes"))]
        rows.append(row)
    md.append(table(header, rows))

    cases = r.cases()
    impls = ["brine"] + peers
    fig, axes = plt.subplots(1, 2, figsize=(13, 4.8), sharey=True)
    width = 0.8 / len(impls)
    for ax, metric, title in [(axes[0], "encode_ns", "encode"), (axes[1], "decode_ns", "decode")]:
        for k, impl in enumerate(impls):
            xs = [i + k * width for i in range(len(cases))]
            ys = [r.value(c, impl, metric) or 0 for c in cases]
            ax.bar(xs, ys, width, label=impl)
        ax.set_xticks([i + width * (len(impls) - 1) / 2 for i in range(len(cases))])
        ax.set_xticklabels(cases, rotation=20)
        ax.set_yscale("log")
        ax.set_title(f"codec: {title} time per case (median, lower is better)")
        ax.grid(axis="y", which="both", alpha=0.3)
    axes[0].set_ylabel("ns")
    axes[1].legend()
    fig.tight_layout()
    fig.savefig(os.path.join(out_dir, "codec.png"), dpi=110)
    plt.close(fig)
    md.append("\n![codec time per case](codec.png)\n")
    return "\n".join(md)


# ---- transports: latency and throughput against size -------------------------------------

def series(channels, shm):
    """(label, bench results, impl name, style) for every transport and peer."""
    s = []
    if shm:
        s += [("brine shm://", shm, "brine", "o-"),
              ("brine shm:// busy-poll", shm, "brine-busy", "o:"),
              ("brine shm:// loan", shm, "brine-loan", "v-"),
              ("brine shm:// loan, busy-poll", shm, "brine-loan-busy", "v:"),
              ("floor (spin, one cache line)", shm, "floor", "k:"),
              ("floor+copy", shm, "floor+copy", "k--"),
              ("Boost message_queue", shm, "boost-mq", "s-"),
              ("cppzmq PUSH/PULL ipc (shm bench)", shm, "cppzmq", "^-"),
              ("iceoryx (busy-poll)", shm, "iceoryx", "D-")]
    if channels:
        s += [("brine ipc:// (ZeroMQ)", channels, "brine", "o--"),
              ("brine ipc:// loan and view", channels, "brine-view", "v--"),
              ("cppzmq ipc (channels bench)", channels, "cppzmq", "^--")]
    return s


def plot_against_size(all_series, metric, ylabel, title, path):
    fig, ax = plt.subplots(figsize=(10.5, 5.5))
    for label, res, impl, style in all_series:
        pts = sorted((size_bytes(c), res.value(c, impl, metric)) for c in res.cases()
                     if size_bytes(c) and res.value(c, impl, metric))
        if pts:
            ax.plot([p[0] for p in pts], [p[1] for p in pts], style, label=label)
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ticks = sorted({size_bytes(c) for _, res, _, _ in all_series for c in res.cases() if size_bytes(c)})
    ax.set_xticks(ticks)
    ax.set_xticklabels([c for t in ticks for c in [size_name(t)]], rotation=30)
    ax.minorticks_off()
    ax.set_xlabel("message size")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(which="both", alpha=0.3)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def transport_section(channels, shm, out_dir):
    md = ["## Transports (bench/shm, bench/channels)\n",
          "Two processes; latency is a ping-pong round trip (median and p99), throughput one way. "
          "`floor` is two processes spinning on one shared cache line, the hardware's limit; "
          "`floor+copy` also copies the message each way. \"brine ahead by\" is the peer's round trip "
          "over brine's, or brine's messages per second over the peer's: above 1× brine is ahead, "
          "below 1× behind. `brine-loan` sends loans and receives views: only an 8-byte counter of "
          "each message is written and read, nothing is copied, so its MB/s is message size × "
          "msg/s, not bytes moved.\n"]
    if shm:
        md.append("### Shared memory: brine `shm://` beside the floor, Boost.Interprocess, ZeroMQ "
                  "and iceoryx\n")
        rows = []
        for case in [c for c in shm.cases() if size_bytes(c)]:
            b_rtt = shm.value(case, "brine", "rtt_median_us")
            b_tp = shm.value(case, "brine", "msgs_per_s")
            for impl in shm.impls(case):
                rtt = shm.value(case, impl, "rtt_median_us")
                tp = shm.value(case, impl, "msgs_per_s")
                rows.append([case, impl, fmt(rtt), fmt(shm.value(case, impl, "rtt_p99_us")),
                             ratio(rtt, b_rtt) if not impl.startswith("brine") else "",
                             fmt(tp), fmt(shm.value(case, impl, "MB_per_s")),
                             ratio(b_tp, tp) if not impl.startswith("brine") else ""])
        md.append(table(["size", "impl", "RTT median µs", "RTT p99 µs", "brine ahead by",
                         "msg/s", "MB/s", "brine ahead by"], rows))
        idle = [[impl, fmt(shm.value("idle", impl, "idle_cpu_percent")),
                 fmt(shm.value("idle", impl, "wake_us"))] for impl in shm.impls("idle")]
        if idle:
            md.append("\nAn idle receiver blocked in `recv` (CPU use while nothing arrives, and "
                      "the one-way time of the message that wakes it):\n")
            md.append(table(["impl", "CPU %", "wake µs"], idle))
    if channels:
        md.append("\n### ZeroMQ: brine channels over `ipc://` beside raw cppzmq\n")
        md.append("`brine` sends and receives typed values (encoding on send, decoding into a "
                  "reused value on receive); `brine-view` copies the bytes once into a loan and "
                  "receives views in place, as raw cppzmq copies them once into each message and "
                  "never reads them out.\n")
        rows = []
        z = "cppzmq"
        for case in [c for c in channels.cases() if size_bytes(c)]:
            for b in [i for i in channels.impls(case) if i.startswith("brine")]:
                rows.append([case, b,
                             fmt(channels.value(case, b, "rtt_median_us")),
                             fmt(channels.value(case, z, "rtt_median_us")),
                             ratio(channels.value(case, z, "rtt_median_us"),
                                   channels.value(case, b, "rtt_median_us")),
                             fmt(channels.value(case, b, "msgs_per_s")),
                             fmt(channels.value(case, z, "msgs_per_s")),
                             ratio(channels.value(case, b, "msgs_per_s"),
                                   channels.value(case, z, "msgs_per_s"))])
        md.append(table(["size", "impl", "brine RTT µs", "cppzmq RTT µs", "brine ahead by",
                         "brine msg/s", "cppzmq msg/s", "brine ahead by"], rows))
    s = series(channels, shm)
    plot_against_size(s, "rtt_median_us", "round trip, median (µs)",
                      "latency against message size (lower is better)",
                      os.path.join(out_dir, "latency.png"))
    plot_against_size(s, "msgs_per_s", "messages per second, one way",
                      "throughput against message size (higher is better)",
                      os.path.join(out_dir, "throughput.png"))
    md.append("\n![latency against size](latency.png)\n\n![throughput against size](throughput.png)\n")
    return "\n".join(md)


# ---- rpc and pool --------------------------------------------------------------------------

def rpc_section(r, out_dir):
    md = ["## RPC and the process pool (bench/rpc)\n",
          "One client, one call at a time: `add(int, int)` and a call echoing 64 KiB. Peers: raw "
          "cppzmq REQ/REP moving the same bytes without serialization, and Python 3's "
          "`multiprocessing` Pipe with pickle.\n"]
    rows = []
    for case in ["add", "64KiB"]:
        base = r.value(case, "brine shm", "round_trip_ns")
        for impl in r.impls(case):
            v = r.value(case, impl, "round_trip_ns")
            if v is None:
                continue
            rows.append([case, impl, fmt(v / 1000), fmt((r.value(case, impl, "round_trip_p99_ns") or 0) / 1000),
                         ratio(v, base) if not impl.startswith("brine shm") else ""])
    md.append(table(["call", "implementation", "median µs", "p99 µs", "brine shm ahead by"], rows))
    calls = [[impl, fmt(r.value("add", impl, "calls_per_s"))]
             for impl in r.impls("add") if r.value("add", impl, "calls_per_s")]
    if calls:
        md.append("\nSynchronous calls per second:\n")
        md.append(table(["clients", "calls/s"], calls))
    pool = [[impl, fmt(r.value("pool_map", impl, "tasks_per_s"))] for impl in r.impls("pool_map")]
    if pool:
        md.append("\n`map` of small tasks over worker processes:\n")
        md.append(table(["pool", "tasks/s"], pool))

    impls = [i for i in r.impls("add") if r.value("add", i, "round_trip_ns")]
    if impls:
        fig, ax = plt.subplots(figsize=(9, 4.5))
        width = 0.38
        for k, case in enumerate(["add", "64KiB"]):
            ys = [(r.value(case, i, "round_trip_ns") or 0) / 1000 for i in impls]
            ax.barh([y + k * width for y in range(len(impls))], ys, width, label=case)
        ax.set_yticks([y + width / 2 for y in range(len(impls))])
        ax.set_yticklabels(impls)
        ax.set_xscale("log")
        ax.set_xlim(left=1)
        ax.set_xlabel("round trip, median (µs)")
        ax.set_title("one call at a time (lower is better)")
        ax.grid(axis="x", which="both", alpha=0.3)
        ax.legend()
        fig.tight_layout()
        fig.savefig(os.path.join(out_dir, "rpc.png"), dpi=110)
        plt.close(fig)
        md.append("\n![rpc round trips](rpc.png)\n")
    return "\n".join(md)


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    out_dir = sys.argv[1]
    data = load(out_dir)
    if not data:
        sys.exit(f"report.py: no benchmark JSON in {out_dir}")
    first = next(iter(data.values()))
    md = ["# brine benchmark report\n",
          f"- date: {min(d['date'] for d in data.values())} (UTC, start of the first benchmark)",
          f"- machine: {first['machine']}",
          "- made by `bench/report` (release build); every peer was measured in the same run as "
          "brine, alternating with it. Medians and p99 over many repetitions; on a shared "
          "machine compare ratios, not absolute figures.\n"]
    if "codec" in data:
        md.append(codec_section(Results(data["codec"]), out_dir))
    if "shm" in data or "channels" in data:
        md.append(transport_section(Results(data.get("channels")) if "channels" in data else None,
                                    Results(data.get("shm")) if "shm" in data else None, out_dir))
    if "rpc" in data:
        md.append(rpc_section(Results(data["rpc"]), out_dir))
    with open(os.path.join(out_dir, "REPORT.md"), "w") as f:
        f.write("\n".join(md))
    print(f"wrote {os.path.join(out_dir, 'REPORT.md')}")


if __name__ == "__main__":
    main()
