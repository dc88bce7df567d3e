#!/usr/bin/env python3
"""Tests of python/brine_reader.py against files brine::dump wrote and against brine-inspect.

Usage: test_reader.py WRITE_SAMPLES BRINE_INSPECT PYTHON_DIR [unittest options]

write_samples (tests/python/write_samples.cpp) writes one file per kind of schema node into a
temporary directory; every file is read back and compared with the values hard-coded here, and
the reader's JSON with what brine-inspect --json prints. Hand-made frames cover the errors, and
truncated and randomly corrupted files must raise BrineError or give a value, nothing else.
"""

import io
import json
import math
import os
import random
import signal
import struct
import subprocess
import sys
import tempfile
import unittest
from fractions import Fraction

if len(sys.argv) >= 4 and not sys.argv[1].startswith("-"):
    WRITE_SAMPLES, INSPECT, PYTHON_DIR = sys.argv[1:4]
    del sys.argv[1:4]
else:  # run by hand from the source tree, after `ninja -C build`
    _root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    WRITE_SAMPLES = os.path.join(_root, "build", "tests", "python", "write_samples")
    INSPECT = os.path.join(_root, "build", "tools", "brine-inspect")
    PYTHON_DIR = os.path.join(_root, "python")
sys.path.insert(0, PYTHON_DIR)

import brine_reader as br  # noqa: E402
from brine_reader import BrineError, Derived, Variant  # noqa: E402

INF = math.inf
NAN = math.nan

# ---------------------------------------------------------------------------------------------
# What write_samples.cpp writes, as brine_reader returns it.

EXPECTED = {
    "int": 42,
    "text": "hello",
    "flag": True,
    "unit": None,
    "numbers": {
        "i8": -128, "u8": 255, "i16": -32768, "u16": 65535, "i32": -2147483648,
        "u32": 4294967295, "i64": -9223372036854775808, "u64": 18446744073709551615,
        "f32": 1.5, "f64": -0.25, "f80": 0.3333333333333333,
    },
    "floats": {
        "d": [0.0, -0.0, 1.5, 0.1, 1e300, 5e-324, INF, -INF, NAN],
        "f": [0.10000000149011612, 3.3999999521443642e38, 1.401298464324817e-45, -2.5],
        "ld": [0.3333333333333333, -2.5, INF, 0.0, INF, INF, -INF, NAN, 0.1, 0.0, -0.0],
    },
    "chars": {
        "yes": True, "no": False, "c": "A", "hi": "\ufffd", "c8": "z", "c16": "\u00e9",
        "lone": "\ufffd", "c32": "\U0001F600", "w": "\u2713", "b": 0xAB, "color": 5,
        "level": -3, "nothing": None,
    },
    "strings": {
        "s": 'h\u00e9llo "q" \\ \n\t\x01', "empty": "", "bad": "ok\ufffd", "u8": "\u00fcber",
        "u16": "\u03c0\U0001F600", "u16_lone": "a\ufffdb", "u32": "\U0001D11Ex",
        "w": "wide \u2713", "p": "/tmp/a b/c.txt",
    },
    "containers": {
        "ints": [1, -2, 3],
        "words": ["alpha", "beta"],
        "deq": [9223372036854775807, 0],
        "fwd": [7, 8, 9],
        "set": [1, 2, 3],
        "names": ["a", "b"],
        "multi": [1, 2, 2],
        "uset": "unordered",  # checked apart: its order is the hash table's
        "by_name": {"one": 1, "two": 2},
        "by_id": {1: "one", 2: "two"},
        "multimap": [("j", 0), ("k", 1), ("k", 2)],
        "hashed": {"x": 1, "y": 2, "z": 3},
        "by_pair": {(0, 5): "b", (1, 2): "a"},
        "by_list": [([], 0), ([1, 2], 3)],
        "arr": [4, 5, 6],
        "no_arr": [],
        "grid": [[1, 2], [3, 4]],
        "tup": (7, "seven", 7.5),
        "pair": ("yes", True),
        "empty_tuple": (),
        "nested": [[1], [], [2, 3]],
    },
    "structs": {
        "line": {"from": {"x": 0.0, "y": 1.0}, "to": {"x": 2.5, "y": -3.0}, "name": "diagonal"},
        "account": {"owner": "ann", "cents": 12345},
        "empty": None,
        "points": [{"x": 1.0, "y": 2.0}, {"x": 3.0, "y": 4.0}],
    },
    "choices": {
        "some": 5,
        "none": None,
        "name": "n",
        "point": {"x": 1.0, "y": 2.0},
        "v_int": Variant(0, 3),
        "v_str": Variant(1, "s"),
        "v_point": Variant(2, {"x": 0.5, "y": 0.25}),
        "v_unit": Variant(3, None),
        "by_variant": {Variant(0, 1): 10, Variant(1, "1"): 11},
    },
    "pointers": {"null_int": None, "one": 1, "point": {"x": 3.0, "y": 4.0}, "list": [9, 8]},
    "shared": {
        "a": {"x": 1.0, "y": 2.0}, "b": {"x": 1.0, "y": 2.0}, "c": {"x": 1.0, "y": 2.0},
        "null": None, "i": 5, "j": 5, "k": 5, "strs": ["hi", "hi", "hi", None],
    },
    "tree": {"v": 1, "kids": [{"v": 2, "kids": []}, {"v": 3, "kids": [{"v": 4, "kids": []}]}]},
    "times": {
        "ms": 1500, "secs": 2.5, "mins": -3, "thirds": 7, "precise": 0.5,
        "wall": 1700000000000000000, "wall_s": 1700000001, "mono": 123456789,
    },
    "complex": {"d": complex(1.5, -2.0), "f": complex(0.5, 0.25), "ld": complex(3.0, -0.5)},
    "bits": {
        "ten": [True, False, True, False, False, False, False, False, False, True],
        "zero": [],
        "sixteen": [True] + [False] * 14 + [True],
        "flags": [True, False, True, True, False, False, False, False, True],
        "no_flags": [],
    },
    "cfg": {"a": 7, "b": "seven"},
    "settings": {"name": "s", "cfg": {"a": 1, "b": ""},
                 "more": [{"a": 2, "b": "x"}, {"a": 3, "b": ""}]},
    "shapes": [Derived("shapes.Circle", {"label": "c", "r": 2.0}), {"label": "plain"}, None],
    "shared_shapes": [Derived("shapes.Circle", {"label": "shared", "r": 1.0}),
                      Derived("shapes.Circle", {"label": "shared", "r": 1.0}),
                      {"label": "p"}],
    "mixed": {"as_circle": {"label": "both", "r": 0.5}, "as_shape": {"label": "both", "r": 0.5}},
}

SCHEMAS = {
    "int": "i32",
    "numbers": "{i8: i8, u8: u8, i16: i16, u16: u16, i32: i32, u32: u32, i64: i64, u64: u64, "
               "f32: f32, f64: f64, f80: f80}",
    "chars": "{yes: bool, no: bool, c: char, hi: char, c8: char8, c16: char16, lone: char16, "
             "c32: char32, w: wchar, b: byte, color: enum<u8>, level: enum<i16>, nothing: unit}",
    "strings": "{s: string, empty: string, bad: string, u8: u8string, u16: u16string, "
               "u16_lone: u16string, u32: u32string, w: wstring, p: path}",
    "containers": "{ints: list<i32>, words: list<string>, deq: list<i64>, fwd: list<i32>, "
                  "set: set<i32>, names: set<string>, multi: multiset<i32>, uset: set<i32>, "
                  "by_name: map<string, i32>, by_id: map<i32, string>, "
                  "multimap: multimap<string, i32>, hashed: map<string, i32>, "
                  "by_pair: map<(i32, i32), string>, by_list: map<list<i32>, i32>, "
                  "arr: array<i32, 3>, no_arr: array<i32, 0>, grid: array<array<u8, 2>, 2>, "
                  "tup: (i32, string, f64), pair: (string, bool), empty_tuple: (), "
                  "nested: list<list<i32>>}",
    "structs": "{line: {from: {x: f64, y: f64}, to: {x: f64, y: f64}, name: string}, "
               "account: {owner: string, cents: i64}, empty: unit, points: list<{x: f64, y: f64}>}",
    "cycle": "shared_ptr<{v: i32, next: shared_ptr<^0>}>",
    "tree": "{v: i32, kids: list<^0>}",
    "times": "{ms: duration<i64, 1/1000>, secs: duration<f64, 1/1>, mins: duration<i64, 60/1>, "
             "thirds: duration<i32, 1/3>, precise: duration<f80, 1/1000>, "
             "wall: time_point<system_clock, duration<i64, 1/1000000000>>, "
             "wall_s: time_point<system_clock, duration<i64, 1/1>>, "
             "mono: time_point<steady_clock, duration<i64, 1/1000000000>>}",
    "complex": "{d: complex<f64>, f: complex<f32>, ld: complex<f80>}",
    "bits": "{ten: bitset<10>, zero: bitset<0>, sixteen: bitset<16>, flags: vector<bool>, "
            "no_flags: vector<bool>}",
    "cfg": "evolvable{a: i32, b: string}",
    "shapes": "list<unique_ptr<{label: string}>>",
    "mixed": "{as_circle: shared_ptr<{label: string, r: f64}>, as_shape: shared_ptr<{label: string}>}",
}


def same(a, b, path="$"):
    """Strict equality: same types (bool is not int, float is not int), NaN equals NaN and the
    sign of zero counts. Returns None or a description of the first difference."""
    if type(a) is not type(b):
        return f"{path}: {a!r} ({type(a).__name__}) != {b!r} ({type(b).__name__})"
    if isinstance(a, float):
        if math.isnan(a) and math.isnan(b):
            return None
        if a != b or math.copysign(1, a) != math.copysign(1, b):
            return f"{path}: {a!r} != {b!r}"
        return None
    if isinstance(a, complex):
        return same(a.real, b.real, path + ".real") or same(a.imag, b.imag, path + ".imag")
    if isinstance(a, (list, tuple)):
        if len(a) != len(b):
            return f"{path}: length {len(a)} != {len(b)}: {a!r} != {b!r}"
        for i, (x, y) in enumerate(zip(a, b)):
            d = same(x, y, f"{path}[{i}]")
            if d:
                return d
        return None
    if isinstance(a, dict):
        if list(a.keys()) != list(b.keys()) and set(a.keys()) != set(b.keys()):
            return f"{path}: keys {list(a)} != {list(b)}"
        for k in a:
            if k not in b:
                return f"{path}: key {k!r} missing"
            d = same(a[k], b[k], f"{path}[{k!r}]")
            if d:
                return d
        return None
    if isinstance(a, (Variant, Derived)):
        return same(tuple(vars(a).values()), tuple(vars(b).values()), path)
    return None if a == b else f"{path}: {a!r} != {b!r}"


class RecursionLimit:
    """Temporarily raises the recursion limit (json.loads of deep documents recurses)."""

    def __init__(self, limit):
        self.limit = limit

    def __enter__(self):
        self.old = sys.getrecursionlimit()
        sys.setrecursionlimit(max(self.old, self.limit))

    def __exit__(self, *exc):
        sys.setrecursionlimit(self.old)


# ---------------------------------------------------------------------------------------------
# Hand-made frames


def varint(v):
    out = bytearray()
    while v >= 0x80:
        out.append(v & 0x7F | 0x80)
        v >>= 7
    out.append(v)
    return bytes(out)


def frame(schema, body, types=None, fingerprint=None):
    flags = 1 | (2 if types is not None else 0)
    fp = br.fingerprint_of(schema) if fingerprint is None else fingerprint
    out = b"brn\x01" + bytes([1, flags, 0, 0]) + struct.pack("<QQ", fp, len(body))
    out += struct.pack("<I", len(schema)) + schema
    if types is not None:
        out += struct.pack("<I", len(types)) + types
    return out + body


def rebuild(data, schema=None, body=None):
    """The frame `data` with its schema or body replaced (header and fingerprint fixed up)."""
    f = br.parse_frame(data)
    types = f.types_bytes if f.has_types else None
    return frame(f.schema_bytes if schema is None else schema,
                 data[f.body_offset:] if body is None else body, types)


def fix_fingerprint(data):
    d = bytearray(data)
    if len(d) >= 28 and d[5] & 1:
        (n,) = struct.unpack_from("<I", d, 24)
        if 28 + n <= len(d):
            struct.pack_into("<Q", d, 8, br.fingerprint_of(bytes(d[28:28 + n])))
    return bytes(d)


def inspect_json(data):
    """(returncode, parsed JSON or None, stderr) of brine-inspect --json on the bytes."""
    r = subprocess.run([INSPECT, "--json", "-"], input=data, capture_output=True, timeout=60)
    doc = None
    if r.returncode == 0:
        with RecursionLimit(20000):
            doc = json.loads(r.stdout.decode("utf-8", "replace"))
    return r.returncode, doc, r.stderr.decode("utf-8", "replace")


def reader_json(data):
    with RecursionLimit(20000):
        return json.loads(br.to_json(data))


class Timeout:
    """Fails the test instead of hanging."""

    def __init__(self, seconds):
        self.seconds = seconds

    def __enter__(self):
        def expired(signum, frame_):
            raise AssertionError(f"timed out after {self.seconds} s")
        self.old = signal.signal(signal.SIGALRM, expired)
        signal.alarm(self.seconds)

    def __exit__(self, *exc):
        signal.alarm(0)
        signal.signal(signal.SIGALRM, self.old)


# ---------------------------------------------------------------------------------------------


class Samples(unittest.TestCase):
    """The files write_samples writes, read back."""

    tmp = None
    files = {}

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix="brine-python-")
        subprocess.run([WRITE_SAMPLES, cls.tmp.name], check=True, timeout=120)
        for name in os.listdir(cls.tmp.name):
            with open(os.path.join(cls.tmp.name, name), "rb") as f:
                cls.files[name] = f.read()

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def data(self, name):
        return self.files[name + ".brn"]

    def load(self, name):
        return br.load(os.path.join(self.tmp.name, name + ".brn"))

    def test_every_expected_value(self):
        for name, expected in EXPECTED.items():
            with self.subTest(name=name):
                value = self.load(name)
                if name == "containers":
                    self.assertEqual(sorted(value["uset"]), [10, 20, 30])
                    value["uset"] = "unordered"
                diff = same(value, expected)
                self.assertIsNone(diff, diff)

    def test_all_files_are_covered(self):
        names = {n.rsplit(".", 1)[0] for n in self.files}
        self.assertEqual(names - set(EXPECTED), {"cycle", "graph", "deep", "noschema",
                                                 "message_cfg"})

    def test_loads_and_file_objects_agree_with_load(self):
        for name in ("numbers", "containers", "shapes"):
            with open(os.path.join(self.tmp.name, name + ".brn"), "rb") as f:
                self.assertIsNone(same(br.load(f), br.loads(self.data(name))))
            self.assertIsNone(same(br.loads(bytearray(self.data(name))), self.load(name)))

    def test_stream_reads_one_frame_at_a_time(self):
        stream = io.BytesIO(self.data("int") + self.data("text") + self.data("cfg"))
        self.assertEqual(br.load(stream), 42)
        self.assertEqual(br.load(stream), "hello")
        self.assertEqual(br.load(stream), {"a": 7, "b": "seven"})
        with self.assertRaisesRegex(BrineError, "truncated stream"):
            br.load(stream)
        with self.assertRaisesRegex(BrineError, "truncated stream"):
            br.load(io.BytesIO(self.data("numbers")[:-1]))

    def test_shared_objects_are_one_python_object(self):
        v = self.load("shared")
        self.assertIs(v["a"], v["b"])
        self.assertIsNot(v["a"], v["c"])
        self.assertEqual(v["a"], v["c"])
        self.assertIs(v["strs"][0], v["strs"][1])
        v = self.load("shared_shapes")
        self.assertIs(v[0], v[1])
        self.assertIsInstance(v[0], Derived)
        # a shared_ptr<Shape> to an object first read as a shared_ptr<Circle>
        v = self.load("mixed")
        self.assertIs(v["as_circle"], v["as_shape"])

    def test_cycles_come_back_as_cycles(self):
        head = self.load("cycle")
        self.assertEqual(head["v"], 1)
        self.assertEqual(head["next"]["v"], 2)
        self.assertIs(head["next"]["next"], head)
        a, b, selfish, null = self.load("graph")
        self.assertIs(a["next"], b)
        self.assertIs(b["next"], a)
        self.assertIs(selfish["next"], selfish)
        self.assertEqual(selfish["v"], 3)
        self.assertIsNone(null)

    def test_512_deep_tree_reads_without_recursion(self):
        old = sys.getrecursionlimit()
        sys.setrecursionlimit(200)  # the reader must not depend on the limit
        try:
            tree = self.load("deep")
        finally:
            sys.setrecursionlimit(old)
        depth = 0
        while True:
            self.assertEqual(tree["v"], depth)
            depth += 1
            if not tree["kids"]:
                break
            self.assertEqual(len(tree["kids"]), 1)
            tree = tree["kids"][0]
        self.assertEqual(depth, 512)

    def test_one_level_deeper_than_max_depth_is_refused(self):
        data = self.data("deep")
        f = br.parse_frame(data)
        body = data[f.body_offset:]
        self.assertEqual(body[-1:], b"\x00")  # the innermost tree's empty kids
        deeper = rebuild(data, body=body[:-1] + b"\x01" + struct.pack("<i", 512) + b"\x00")
        with self.assertRaisesRegex(BrineError, r"max_depth \(512\)"):
            br.loads(deeper)
        with self.assertRaisesRegex(BrineError, r"max_depth \(512\)"):
            br.to_json(deeper)
        self.assertEqual(inspect_json(deeper)[0], 1)
        self.assertEqual(len(br.loads(deeper, max_depth=600)["kids"]), 1)

    def test_frames_without_schema(self):
        with self.assertRaisesRegex(BrineError, "carries no schema"):
            br.loads(self.files["noschema.frame"])
        self.assertEqual(json.loads(br.to_json(self.files["noschema.frame"])),
                         {"fingerprint": "0x1674a21007938991", "body_size": 4, "schema": None})
        # a message of a type with an evolvable record carries its schema
        self.assertEqual(br.loads(self.files["message_cfg.frame"]), {"a": 9, "b": "nine"})

    def test_schema_text_matches_brine(self):
        for name, text in SCHEMAS.items():
            with self.subTest(name=name):
                self.assertEqual(br.schema_text(self.data(name)), text)
        for name, data in self.files.items():
            with self.subTest(name=name):
                rc, doc, err = inspect_json(data)
                self.assertEqual(rc, 0, err)
                if name == "noschema.frame":
                    self.assertIsNone(doc["schema"])
                else:
                    self.assertEqual(br.schema_text(data), doc["schema"])

    def test_schema_tree(self):
        s = br.schema(self.data("times"))
        self.assertEqual(s.kind, "record")
        fields = dict(s.fields)
        self.assertEqual(fields["ms"].period, Fraction(1, 1000))
        self.assertEqual(fields["mins"].period, 60)
        self.assertEqual(fields["thirds"].period, Fraction(1, 3))
        self.assertEqual(fields["wall"].period, Fraction(1, 10**9))
        self.assertEqual(fields["wall"].clock, "system_clock")
        self.assertEqual(fields["mono"].clock, "steady_clock")
        self.assertEqual(fields["secs"].children[0].kind, "f64")
        tree = br.schema(self.data("tree"))
        ref = tree.children[1].children[0]
        self.assertEqual(ref.kind, "reference")
        self.assertIs(ref.target, tree)
        # the example of docs/wire-format.md, as raw schema bytes
        self.assertEqual(br.schema_text(bytes.fromhex("290201780b01790b")), "{x: f64, y: f64}")
        types = br.type_table(self.data("shapes"))
        self.assertEqual(list(types), ["shapes.Circle"])
        self.assertEqual(types["shapes.Circle"].text(), "{label: string, r: f64}")

    def test_json_matches_brine_inspect(self):
        for name, data in sorted(self.files.items()):
            with self.subTest(name=name):
                rc, doc, err = inspect_json(data)
                self.assertEqual(rc, 0, err)
                with RecursionLimit(20000):  # comparing deep documents recurses
                    self.assertEqual(reader_json(data), doc)

    def test_json_text_is_byte_for_byte_brine_inspects(self):
        for name, data in sorted(self.files.items()):
            if name == "strings.brn":
                continue  # brine-inspect copies invalid UTF-8 through; the reader writes U+FFFD
            with self.subTest(name=name):
                r = subprocess.run([INSPECT, "--json", "-"], input=data, capture_output=True,
                                   timeout=60)
                self.assertEqual(br.to_json(data), r.stdout.decode("utf-8"))

    def test_command_line(self):
        script = os.path.join(PYTHON_DIR, "brine_reader.py")
        path = os.path.join(self.tmp.name, "structs.brn")
        r = subprocess.run([sys.executable, script, path], capture_output=True, text=True,
                           timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertTrue(r.stdout.startswith("# schema " + SCHEMAS["structs"] + "\n"))
        self.assertIn("'diagonal'", r.stdout)
        r = subprocess.run([sys.executable, script, "--json", path], capture_output=True,
                           text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, br.to_json(self.data("structs")))
        r = subprocess.run([sys.executable, script, os.path.join(self.tmp.name, "deep.brn")],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        bad = os.path.join(self.tmp.name, "bad.bin")
        with open(bad, "wb") as f:
            f.write(self.data("structs")[:-1])
        try:
            r = subprocess.run([sys.executable, script, bad], capture_output=True, text=True,
                               timeout=60)
        finally:
            os.unlink(bad)
        self.assertEqual(r.returncode, 1)
        self.assertIn("frame size mismatch", r.stderr)

    # -- evolution: the file's schema against the data's fields --

    def test_evolvable_data_with_more_fields_than_the_schema(self):
        data = self.data("cfg")
        older = rebuild(data, schema=bytes([0x35, 1, 1]) + b"a" + bytes([0x06]))
        self.assertEqual(br.loads(older), {"a": 7})
        self.assertEqual(reader_json(older), inspect_json(older)[1])

    def test_evolvable_data_with_fewer_fields_than_the_schema(self):
        data = self.data("cfg")
        self.assertEqual(br.parse_frame(data).schema_bytes, b"\x35\x02\x01a\x06\x01b\x20\x0d")
        newer = rebuild(data, schema=b"\x35\x03\x01a\x06\x01b\x20\x0d\x01c\x06")
        self.assertEqual(br.schema_text(newer), "evolvable{a: i32, b: string, c: i32}")
        self.assertEqual(br.loads(newer), {"a": 7, "b": "seven"})
        self.assertEqual(reader_json(newer), inspect_json(newer)[1])

    # -- corruption --

    def test_every_truncation_is_refused(self):
        with Timeout(240):
            for name in ("numbers", "containers", "shared", "cycle", "shapes", "settings",
                         "strings", "choices", "floats", "times"):
                data = self.data(name)
                for n in range(len(data)):
                    with self.assertRaises(BrineError):
                        br.loads(data[:n])
                    with self.assertRaises(BrineError):
                        br.to_json(data[:n])

    def test_every_truncated_body_is_refused_or_read(self):
        # The header's body size follows the cut, so the walker itself meets the end.
        with Timeout(240):
            for name in ("numbers", "containers", "shared", "graph", "shapes", "settings",
                         "strings", "choices", "bits", "complex", "shared_shapes"):
                data = self.data(name)
                f = br.parse_frame(data)
                for n in range(f.body_size):
                    cut = rebuild(data, body=data[f.body_offset:f.body_offset + n])
                    for read in (br.loads, br.to_json):
                        try:
                            read(cut)
                        except BrineError:
                            pass

    def test_random_corruption_raises_brine_error_or_reads(self):
        rng = random.Random(20240601)
        names = sorted(n for n in self.files if n != "deep.brn")
        outcomes = {"value": 0, "error": 0}
        with Timeout(280):
            for _ in range(4000):
                d = bytearray(self.files[rng.choice(names)])
                for _ in range(rng.choice((1, 1, 2, 3))):
                    d[rng.randrange(len(d))] ^= rng.randrange(1, 256)
                d = bytes(d)
                if rng.random() < 0.5:
                    d = fix_fingerprint(d)  # so that the schema and body parsers see the change
                results = []
                for read in (br.loads, br.to_json):
                    try:
                        read(d)
                        results.append(None)
                        outcomes["value"] += 1
                    except BrineError as e:
                        self.assertIsInstance(e, ValueError)
                        self.assertRegex(str(e), r"^brine: .+ \(at byte \d+\)$")
                        results.append(str(e))
                        outcomes["error"] += 1
                # what JSON can show, Python values can too, but for the few limits of the
                # latter (and frames without schema)
                if results[0] is not None and results[1] is None:
                    self.assertRegex(results[0], "no schema|immutable")
                if results[1] is not None:
                    self.assertIsNotNone(results[0])
        self.assertGreater(outcomes["value"], 100)
        self.assertGreater(outcomes["error"], 1000)

    def test_corruption_agrees_with_brine_inspect(self):
        # Both refuse or both read, and then print the same JSON. (Offsets may differ: C++
        # gives schema errors relative to the schema block, the reader relative to the frame.)
        rng = random.Random(7)
        names = sorted(n for n in self.files if n != "deep.brn")
        disagreements = []
        with Timeout(280):
            for i in range(300):
                name = rng.choice(names)
                d = bytearray(self.files[name])
                f = br.parse_frame(bytes(d))
                start = f.body_offset if (rng.random() < 0.7 and f.body_size) else 0
                d[rng.randrange(start, len(d))] ^= rng.randrange(1, 256)
                d = fix_fingerprint(bytes(d))
                try:
                    mine = reader_json(d)
                except BrineError as e:
                    mine = e
                rc, doc, err = inspect_json(d)
                if rc not in (0, 1):
                    disagreements.append(f"{name} #{i}: brine-inspect exited with {rc}")
                elif (rc == 0) != (not isinstance(mine, BrineError)):
                    disagreements.append(f"{name} #{i}: inspect: {err.strip() or 'read'}; "
                                         f"reader: {mine if isinstance(mine, Exception) else 'read'}")
                elif rc == 0 and doc != mine:
                    disagreements.append(f"{name} #{i}: the JSON differs")
        self.assertEqual(disagreements, [])


class HandMade(unittest.TestCase):
    """Frames built here, for what a writer never produces."""

    def assertRefused(self, data, pattern, offset=None):
        for read in (br.loads, br.to_json):
            with self.assertRaises(BrineError) as cm:
                read(data)
            self.assertRegex(str(cm.exception), pattern)
            if offset is not None:
                self.assertEqual(cm.exception.offset, offset, str(cm.exception))

    def test_header_checks(self):
        good = frame(bytes([0x06]), struct.pack("<i", 5))
        self.assertEqual(br.loads(good), 5)
        self.assertRefused(good[:10], r"expected a 24-byte header, found 10 bytes", 0)
        self.assertRefused(b"xrn\x01" + good[4:], r"expected magic 62 72 6e 01, byte 0 is 0x78", 0)
        self.assertRefused(good[:4] + b"\x02" + good[5:], r"unsupported format version 2", 4)
        self.assertRefused(good[:5] + b"\x05" + good[6:], r"unknown frame flags 0x05", 5)
        self.assertRefused(good[:5] + b"\x02" + good[6:], r"a type table without a schema", 5)
        self.assertRefused(good[:6] + b"\x01" + good[7:], r"reserved header bytes", 6)
        self.assertRefused(good + b"\x00", r"frame size mismatch: the header says 33 bytes, "
                                           r"found 34", 33)
        self.assertRefused(frame(bytes([0x06]), b"\x05\x00\x00\x00", fingerprint=1),
                           r"does not hash to the header's fingerprint", 24)
        self.assertRefused(good[:16] + struct.pack("<Q", 1 << 40) + good[24:],
                           r"over limits::max_frame", 16)

    def test_schema_checks(self):
        self.assertRefused(frame(bytes([0x7F]), b"\x00"), r"malformed schema: unknown tag 127", 28)
        self.assertRefused(frame(bytes([0x21]), b"\x00"), r"malformed schema: truncated", 29)
        self.assertRefused(frame(bytes([0x06, 0x06]), b"\x00" * 4), r"trailing bytes", 29)
        self.assertRefused(frame(bytes([0x20, 0x06]), b"\x00"), r"a string of a non-character")
        self.assertRefused(frame(bytes([0x2E, 0x0B]), b"\x00" * 8), r"an enum of a non-integer")
        self.assertRefused(frame(bytes([0x2B, 0x00]), b"\x00"), r"a variant with no alternatives")
        self.assertRefused(frame(bytes([0x29, 0x01, 0x01]) + b"a" + bytes([0x34, 0x01]), b"\x00"),
                           r"a reference 1 levels out, with only 1 records around it", 32)
        self.assertRefused(frame(bytes([0x34, 0x00]), b"\x00"), r"with only 0 records")
        self.assertRefused(frame(bytes([0x28, 0x05, 0x06]), b"\x00"), r"count 5 is longer")
        self.assertRefused(frame(bytes([0x2A]) * 300 + bytes([0x06]), b"\x00"),
                           r"nested too deeply")

    def test_body_checks(self):
        i32 = struct.pack("<i", 1)

        def body(schema):  # where the body of frame(schema, ...) starts
            return 28 + len(schema)

        self.assertRefused(frame(bytes([0x01]), b"\x02"), r"expected a bool's tag \(0 to 1\), "
                                                           r"found 2", 29)
        self.assertRefused(frame(bytes([0x13]), b"\x01"), r"expected an empty value's tag")
        self.assertRefused(frame(bytes([0x2A, 0x06]), b"\x02" + i32),
                           r"expected an optional's tag \(0 to 1\), found 2")
        self.assertRefused(frame(bytes([0x2C, 0x06]), b"\x03" + i32),
                           r"expected a unique_ptr's tag \(0 to 2\), found 3")
        self.assertRefused(frame(bytes([0x2B, 0x02, 0x06, 0x0D]), varint(5) + i32),
                           r"expected a variant index below 2, found 5", body(b"1234"))
        self.assertRefused(frame(bytes([0x2D, 0x06]), varint(3 + 7)),
                           r"refers to an object at body position 7, where no object was read",
                           body(b"12"))
        self.assertRefused(frame(bytes([0x21, 0x08]), varint(1000) + b"\x00" * 8),
                           r"a list of 1000 elements needs at least 8000 bytes, found 8", 30)
        self.assertRefused(frame(bytes([0x21, 0x08]), b"\xff" * 9 + b"\x02"),
                           r"varint overflows 64 bits", 30)
        self.assertRefused(frame(bytes([0x21, 0x08]), b"\xff\xff"), r"truncated varint", 30)
        self.assertRefused(frame(bytes([0x21, 0x08]), b"\xff" * 9 + b"\x01"),
                           r"needs at least more than 2\^64 bytes")
        self.assertRefused(frame(bytes([0x20, 0x0F]), varint(2) + b"\x00\x00\x00"),
                           r"a string of 2 elements needs at least 4 bytes, found 3")
        self.assertRefused(frame(bytes([0x06]), i32 + b"\x00"), r"1 bytes after the value", 33)
        self.assertRefused(frame(bytes([0x22]), varint(3) + b"\x0f"), r"unused bits are not zero",
                           30)
        self.assertRefused(frame(bytes([0x32, 0x0C]), b"\x00\x10"), r"unused bits are not zero")
        self.assertRefused(frame(bytes([0x32, 0x00]), b"\x01"), r"an empty bitset's tag")
        self.assertRefused(frame(bytes([0x22]), varint(800)), r"vector<bool> longer than")
        self.assertRefused(frame(bytes([0x27, 0x10, 0x06]), b"\x00" * 60), r"array longer than")
        self.assertRefused(frame(bytes([0x06]), b"\x00\x00"), r"truncated input: expected 4 more "
                                                              r"bytes, found 2", 29)
        cfg = bytes([0x35, 0x01, 0x01]) + b"a" + bytes([0x06])
        self.assertRefused(frame(cfg, varint(1) + struct.pack("<I", 9) + i32),
                           r"evolvable record does not fit its input or field count", body(cfg))
        self.assertRefused(frame(cfg, varint(1) + struct.pack("<I", 3) + i32),
                           r"evolvable record does not match its fields", body(cfg))

    def test_duplicate_keys_are_refused(self):
        # The spec: unique keys must be unique. (brine-inspect does not check this.)
        i32 = struct.Struct("<i").pack
        self.assertRefused(frame(bytes([0x23, 0x06]), varint(2) + i32(1) + i32(1)),
                           r"duplicate key in a set", 30 + 1 + 4)
        self.assertRefused(frame(bytes([0x25, 0x20, 0x0D, 0x06]),
                                 varint(2) + b"\x01a" + i32(1) + b"\x01a" + i32(2)),
                           r"duplicate key in a map", 32 + 1 + 6)
        self.assertRefused(frame(bytes([0x23, 0x21, 0x06]), varint(2) + b"\x00\x00"),
                           r"duplicate key in a set")
        self.assertEqual(br.loads(frame(bytes([0x24, 0x06]), varint(2) + i32(1) + i32(1))),
                         [1, 1])
        # keys that differ in bytes but read as one Python value cannot share a dict: the
        # map comes back as a list of pairs
        self.assertEqual(br.loads(frame(bytes([0x25, 0x20, 0x0D, 0x06]),
                                        varint(3) + b"\x01a" + i32(0) + b"\x01\xfe" + i32(1) +
                                        b"\x01\xff" + i32(2))),
                         [("a", 0), ("\ufffd", 1), ("\ufffd", 2)])
        f80 = struct.pack("<QH", 1 << 63, 16383) + bytes(6)
        f80_next = struct.pack("<QH", 1 << 63 | 1, 16383) + bytes(6)
        self.assertEqual(br.loads(frame(bytes([0x25, 0x0C, 0x06]),
                                        varint(2) + f80 + i32(1) + f80_next + i32(2))),
                         [(1.0, 1), (1.0, 2)])

    def test_derived_types_need_the_type_table(self):
        schema = bytes([0x2C, 0x29, 0x01, 0x01]) + b"a" + bytes([0x06])
        body = b"\x02" + varint(4) + b"evil" + struct.pack("<i", 1)
        self.assertRefused(frame(schema, body), r'type "evil" is not in the frame\'s type table',
                           28 + len(schema) + 1)
        circle = bytes([0x29, 0x02, 0x01]) + b"a" + bytes([0x06, 0x01]) + b"b" + bytes([0x01])
        types = varint(1) + varint(4) + b"good" + varint(len(circle)) + circle
        self.assertRefused(frame(schema, body, types), r'type "evil" is not')
        body = b"\x02" + varint(4) + b"good" + struct.pack("<i", 1) + b"\x01"
        self.assertEqual(br.loads(frame(schema, body, types)), Derived("good", {"a": 1, "b": True}))
        self.assertRefused(frame(schema, body, types + b"\x00"),
                           r"trailing bytes after the type table")
        self.assertRefused(frame(schema, body, varint(1) + varint(4) + b"good" + varint(1) +
                                 b"\x7f"), r"type table: malformed schema: unknown tag 127")

    def test_references_in_a_derived_schema_start_from_its_root(self):
        # A derived node type {v: i32, next: unique_ptr<^0>} inside a record of another shape.
        node = bytes([0x29, 0x02, 0x01]) + b"v" + bytes([0x06, 0x04]) + b"next" + \
            bytes([0x2C, 0x34, 0x00])
        types = varint(1) + varint(1) + b"N" + varint(len(node)) + node
        schema = bytes([0x29, 0x01, 0x01]) + b"p" + bytes([0x2C, 0x13])
        body = b"\x02" + varint(1) + b"N" + struct.pack("<i", 1) + b"\x01" + \
            struct.pack("<i", 2) + b"\x00"
        data = frame(schema, body, types)
        self.assertEqual(br.loads(data), {"p": Derived("N", {"v": 1, "next": {"v": 2,
                                                                                "next": None}})})
        self.assertEqual(reader_json(data), inspect_json(data)[1])

    def test_a_cycle_through_a_tuple_has_no_python_value(self):
        # shared_ptr<tuple<{s: shared_ptr<tuple<^0>>}>> whose inner pointer is the outer one
        schema = bytes([0x2D, 0x28, 0x01, 0x29, 0x01, 0x01]) + b"s" + \
            bytes([0x2D, 0x28, 0x01, 0x34, 0x00])
        data = frame(schema, varint(1) + varint(3))
        with self.assertRaisesRegex(BrineError, "cycle through a tuple"):
            br.loads(data)
        self.assertEqual(reader_json(data), inspect_json(data)[1])
        # through a list, the container exists before its elements: a real cycle
        schema = bytes([0x2D, 0x21, 0x29, 0x01, 0x01]) + b"s" + bytes([0x2D, 0x21, 0x34, 0x00])
        value = br.loads(frame(schema, varint(1) + varint(1) + varint(3)))
        self.assertIs(value[0]["s"], value)

    def test_deep_chains_within_limits_need_no_recursion(self):
        # 512 records, each 254 optionals deep: ~130000 nested values within every limit.
        # (brine-inspect overflows its stack on this file: its walker recurses per value.)
        k = 254
        schema = bytes([0x29, 0x01, 0x01]) + b"f" + bytes([0x2A]) * k + bytes([0x34, 0x00])
        data = frame(schema, b"\x01" * (k * 511) + b"\x00")
        with Timeout(120):
            value = br.loads(data)
            text = br.to_json(data)
        levels = 0
        while value is not None:
            value = value["f"]
            levels += 1
        self.assertEqual(levels, 512)
        self.assertTrue(text.endswith('"value":' + '{"f":' * 512 + "null" + "}" * 513 + "\n"))
        self.assertRefused(frame(schema, b"\x01" * (k * 512) + b"\x00"), r"max_depth")

    def test_map_key_sizes_that_wrap_in_64_bits(self):
        # key min size 2^64-1 + value min size 1: brine-inspect computes the pair's minimum
        # as 0 and divides by it (SIGFPE); the reader saturates.
        schema = bytes([0x25, 0x27]) + varint((1 << 64) - 1) + bytes([0x03, 0x03])
        self.assertEqual(br.loads(frame(schema, b"\x00")), [])
        self.assertRefused(frame(schema, b"\x01"), r"a map of 1 elements needs at least "
                                                   r"18446744073709551615 bytes, found 0")

    def test_f80(self):
        def f80(sign, exp, mantissa):
            return struct.pack("<QH", mantissa, sign << 15 | exp)

        cases = [
            (f80(0, 16383, 1 << 63), 1.0, "1"),
            (f80(1, 16384, 3 << 62), -3.0, "-3"),
            (f80(0, 0, 0), 0.0, "0"),
            (f80(1, 0, 0), -0.0, "-0"),
            (f80(0, 0x7FFF, 1 << 63), INF, "inf"),
            (f80(1, 0x7FFF, 1 << 63), -INF, "-inf"),
            (f80(0, 0x7FFF, 3 << 62), NAN, "nan"),
            (f80(0, 0x7FFF, 0), NAN, "nan"),  # pseudo-infinity: invalid on the x87
            (f80(0, 16383, 1 << 62), NAN, "nan"),  # unnormal: invalid on the x87
            (f80(0, 0, 1 << 63), 0.0, "3.3621031431120935063e-4932"),  # pseudo-denormal
            (f80(0, 0, 1), 0.0, "4e-4951"),  # the smallest denormal
            (f80(0, 16383 + 1100, 1 << 63), INF, "1.3582985290493858493e+331"),
            (f80(0, 16383 - 2, 0xAAAAAAAAAAAAAAAB), 0.3333333333333333, "0.33333333333333333334"),
        ]
        for raw, value, text in cases:
            with self.subTest(raw=raw.hex()):
                self.assertIsNone(same(br.f80_to_float(raw), value))
                data = frame(bytes([0x0C]), raw + bytes(6))
                self.assertIsNone(same(br.loads(data), value))
                shown = br.to_json(data).split('"value":', 1)[1][:-2]
                self.assertEqual(shown, text if text[-1].isdigit() else f'"{text}"')
                self.assertEqual(reader_json(data), inspect_json(data)[1])

    def test_number_text_matches_brine_inspect(self):
        rng = random.Random(3)
        values = [0.1, 1 / 3, 1e-310, 123456789.0, 2.5e-5, 1e16, 1e21, -7.0, 5e-324]
        values += [rng.uniform(-1e6, 1e6) for _ in range(40)]
        values += [struct.unpack("<d", rng.randbytes(8))[0] for _ in range(40)]
        values = [v for v in values if math.isfinite(v)]
        f32 = [struct.unpack("<f", struct.pack("<f", v))[0] for v in values
               if abs(v) < 3e38]
        ld = [struct.pack("<QH", rng.getrandbits(64) | 1 << 63, rng.randrange(1, 0x7FFF))
              for _ in range(40)]
        schema = bytes([0x29, 0x03, 0x01]) + b"d" + bytes([0x21, 0x0B, 0x01]) + b"f" + \
            bytes([0x21, 0x0A, 0x01]) + b"l" + bytes([0x21, 0x0C])
        body = varint(len(values)) + struct.pack(f"<{len(values)}d", *values)
        body += varint(len(f32)) + struct.pack(f"<{len(f32)}f", *f32)
        body += varint(len(ld)) + b"".join(x + bytes(6) for x in ld)
        data = frame(schema, body)
        r = subprocess.run([INSPECT, "--json", "-"], input=data, capture_output=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(br.to_json(data), r.stdout.decode())


# ---------------------------------------------------------------------------------------------
# Random schemas with values that follow them


class RandomFrames:
    """Random schema trees (every node kind, references, registered types) and random values
    encoded by them, as brine would write them; then, optionally, a corrupted byte."""

    LEAVES = list(range(0x01, 0x14)) + [0x20, 0x33, 0x22, 0x32, 0x2E, 0x2F, 0x30, 0x31]
    INNER = [0x21, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28, 0x29, 0x29, 0x35, 0x2A, 0x2B, 0x2C,
             0x2D, 0x2D]
    ESCAPES = (0x21, 0x23, 0x24, 0x25, 0x26, 0x2A, 0x2C, 0x2D)  # may hold no value
    WIDTH = {0x01: 1, 0x02: 1, 0x03: 1, 0x04: 2, 0x05: 2, 0x06: 4, 0x07: 4, 0x08: 8, 0x09: 8,
             0x0A: 4, 0x0B: 8, 0x0C: 16, 0x0D: 1, 0x0E: 1, 0x0F: 2, 0x10: 4, 0x11: 4, 0x12: 1,
             0x13: 1}

    class Node:
        def __init__(self, tag):
            self.tag = tag
            self.kids = []
            self.names = []
            self.extent = 0
            self.target = None

    def __init__(self, seed):
        self.rng = random.Random(seed)

    def node(self, depth, records, escaped):
        """`escaped[i]`: a node that may hold nothing stands between records[i] and here, so a
        reference to it terminates."""
        r = self.rng
        if depth > 4 or r.random() < 0.3:
            ok = [i for i in range(len(records)) if escaped[i]]
            if ok and r.random() < 0.3:
                i = r.choice(ok)
                n = self.Node(0x34)
                n.extent = len(records) - 1 - i
                n.target = records[i]
                return n
            n = self.Node(r.choice(self.LEAVES))
            t = n.tag
            if t == 0x20:
                n.kids = [self.Node(r.choice(range(0x0D, 0x12)))]
            elif t == 0x32:
                n.extent = r.choice([0, 1, 7, 8, 9, 16, 30])
            elif t == 0x2E:
                n.kids = [self.Node(r.randrange(0x02, 0x0A))]
            elif t in (0x2F, 0x30):
                # (brine-inspect prints f32 counts at long double precision: not drawn here)
                d = self.Node(0x2F)
                d.kids = [self.Node(r.choice([0x02, 0x03, 0x04, 0x06, 0x08, 0x09, 0x0B, 0x0C]))]
                d.num, d.den = r.choice([(1, 1), (60, 1), (1, 1000), (-1, 3)])
                if t == 0x30:
                    n.extent = r.choice([0, 1, 2, 5])
                    n.kids = [d]
                else:
                    n = d
            elif t == 0x31:
                n.kids = [self.Node(r.choice([0x0A, 0x0B, 0x0C]))]
            return n
        n = self.Node(r.choice(self.INNER))
        t = n.tag
        inside = [True] * len(escaped) if t in self.ESCAPES else escaped
        if t in (0x21, 0x23, 0x24, 0x2A, 0x2C, 0x2D, 0x27):
            n.kids = [self.node(depth + 1, records, inside)]
            n.extent = r.choice([0, 1, 2, 3]) if t == 0x27 else 0
        elif t in (0x25, 0x26):
            n.kids = [self.node(depth + 1, records, inside) for _ in range(2)]
        elif t == 0x28:
            n.kids = [self.node(depth + 1, records, escaped) for _ in range(r.randrange(4))]
        elif t == 0x2B:  # alternative 0 ends the recursion; the others may recurse
            n.kids = [self.node(depth + 1, records, escaped)]
            n.kids += [self.node(depth + 1, records, [True] * len(escaped))
                       for _ in range(r.randrange(3))]
        else:
            for i in range(r.randrange(4)):
                n.names.append(r.choice(["a", "b", "long_name", "x_"]) + str(i))
                n.kids.append(self.node(depth + 1, records + [n], escaped + [False]))
        return n

    @staticmethod
    def schema(n):
        out = bytearray([n.tag])
        t = n.tag
        if t in (0x34, 0x32, 0x27, 0x30):
            out += varint(n.extent)
        if t in (0x28, 0x2B, 0x29, 0x35):
            out += varint(len(n.kids))
        for i, k in enumerate(n.kids):
            if t in (0x29, 0x35):
                out += varint(len(n.names[i])) + n.names[i].encode()
            out += RandomFrames.schema(k)
        if t == 0x2F:
            for v in (n.num, n.den):
                out += varint(((v << 1) ^ (v >> 63)) & ((1 << 64) - 1))
        return bytes(out)

    @staticmethod
    def pointers(n, seen=None):
        seen = set() if seen is None else seen
        n = n.target if n.tag == 0x34 else n
        if id(n) in seen:
            return False
        seen.add(id(n))
        return n.tag in (0x2C, 0x2D) or any(RandomFrames.pointers(k, seen) for k in n.kids)

    def value(self, n, depth=0):
        r, o, t = self.rng, self.out, n.tag
        self.budget -= 1
        small = self.budget < 0 or depth > 30
        if t == 0x34:
            return self.value(n.target, depth + 1)
        if t == 0x01:
            o.append(r.randrange(2))
        elif t == 0x13:
            o.append(0)
        elif t == 0x0C:
            o += struct.pack("<QH", r.getrandbits(64) | 1 << 63, r.randrange(1, 0x7FFF)) + bytes(6)
        elif t == 0x0A:
            o += struct.pack("<f", r.uniform(-1e5, 1e5))
        elif t == 0x0B:
            o += struct.pack("<d", r.choice([r.uniform(-1e9, 1e9), 0.1, -0.0]))
        elif t in (0x0D, 0x0E):
            o.append(r.randrange(0x20, 0x7F))
        elif t == 0x0F:
            o += struct.pack("<H", r.choice([0x41, 0xE9, 0x3C0]))
        elif t in (0x10, 0x11):
            o += struct.pack("<I", r.choice([0x41, 0x1F600]))
        elif t in self.WIDTH:
            o += r.randbytes(self.WIDTH[t])
        elif t in (0x20, 0x33):
            w = self.WIDTH[n.kids[0].tag] if t == 0x20 else 1
            text = r.choice(["", "ab", "h\u00e9llo", "\U0001F600x", 'q"\\\n'])
            b = text.encode({1: "utf-8", 2: "utf-16-le", 4: "utf-32-le"}[w])
            o += varint(len(b) // w) + b
        elif t in (0x22, 0x32):
            k = r.randrange(20) if t == 0x22 else n.extent
            if t == 0x22:
                o += varint(k)
            elif k == 0:
                o.append(0)
            bits = [r.randrange(2) for _ in range(k)]
            for i in range(0, k, 8):
                o.append(sum(b << j for j, b in enumerate(bits[i:i + 8])))
        elif t in (0x2E, 0x2F, 0x30):
            self.value(n.kids[0], depth)
        elif t == 0x31:
            self.value(n.kids[0], depth)
            self.value(n.kids[0], depth)
        elif t in (0x21, 0x24, 0x26):
            k = 0 if small else r.randrange(4)
            o += varint(k)
            for _ in range(k):
                for c in n.kids:
                    self.value(c, depth + 1)
        elif t in (0x23, 0x25):  # unique keys: leave out a key written twice
            k = 0 if small else r.randrange(4)
            at = len(o)
            o.append(0)  # the count, fixed below (< 128: one byte)
            keys, written = set(), 0
            for _ in range(k):
                start = len(o)
                saved = {key: list(v) for key, v in self.shared.items()}
                self.value(n.kids[0], depth + 1)
                key = bytes(o[start:])
                if key in keys or self.pointers(n.kids[0]):
                    del o[start:]
                    self.shared = saved
                    continue
                keys.add(key)
                written += 1
                if t == 0x25:
                    self.value(n.kids[1], depth + 1)
            o[at] = written
        elif t in (0x27, 0x28, 0x29):
            items = n.kids * n.extent if t == 0x27 else n.kids
            if not items:
                o.append(0)
            for c in items:
                self.value(c, depth + 1)
        elif t == 0x35:
            o += varint(len(n.kids)) + bytes(4)
            start = len(o)
            for c in n.kids:
                self.value(c, depth + 1)
            struct.pack_into("<I", o, start - 4, len(o) - start)
        elif t == 0x2A:
            present = not small and r.random() < 0.6
            o.append(int(present))
            if present:
                self.value(n.kids[0], depth + 1)
        elif t == 0x2B:
            i = 0 if small else r.randrange(len(n.kids))
            o += varint(i)
            self.value(n.kids[i], depth + 1)
        elif t in (0x2C, 0x2D):
            pointee = n.kids[0].target if n.kids[0].tag == 0x34 else n.kids[0]
            seen = self.shared.setdefault(id(pointee), []) if t == 0x2D else []
            if seen and r.random() < 0.5:
                o += varint(3 + r.choice(seen))
            elif small or r.random() < 0.2:
                o.append(0)
            else:
                derived = self.types and r.random() < 0.3
                seen.append(len(o))
                o.append(2 if derived else 1)
                if derived:
                    name = r.choice(sorted(self.types))
                    o += varint(len(name)) + name.encode()
                    self.value(self.types[name], depth + 1)
                else:
                    self.value(n.kids[0], depth + 1)
        else:
            raise AssertionError(hex(t))

    def frame(self, corrupt):
        r = self.rng
        self.types = {}
        table = None
        if r.random() < 0.3:
            for i in range(r.randrange(1, 3)):
                self.types[f"ns.T{i}"] = self.node(1, [], [])
            table = varint(len(self.types))
            for name, s in self.types.items():
                b = self.schema(s)
                table += varint(len(name)) + name.encode() + varint(len(b)) + b
        root = self.node(0, [], [])
        self.out, self.shared, self.budget = bytearray(), {}, 2000
        self.value(root)
        data = frame(self.schema(root), bytes(self.out), table)
        if corrupt:
            f = br.parse_frame(data)
            d = bytearray(data)
            start = f.body_offset if f.body_size and r.random() < 0.8 else 24
            d[r.randrange(start, len(d))] ^= r.randrange(1, 256)
            data = fix_fingerprint(bytes(d))
        return data


class Generated(unittest.TestCase):
    """Random schemas and values: the reader reads every valid one, and agrees with
    brine-inspect on valid and corrupted ones."""

    def test_random_schemas_agree_with_brine_inspect(self):
        gen = RandomFrames(20240602)
        problems = []
        read = 0
        with Timeout(280):
            for i in range(400):
                corrupt = i % 3 == 2
                data = gen.frame(corrupt)
                try:
                    mine = reader_json(data)
                except BrineError as e:
                    mine = e
                try:
                    br.loads(data)
                except BrineError as e:
                    if not isinstance(mine, BrineError) and "immutable" not in str(e):
                        problems.append(f"#{i}: loads refuses what to_json reads: {e}")
                if not corrupt and isinstance(mine, BrineError):
                    problems.append(f"#{i}: a valid frame is refused: {mine}")
                rc, doc, err = inspect_json(data)
                if rc not in (0, 1):
                    problems.append(f"#{i}: brine-inspect exited with {rc}")
                elif (rc == 0) != (not isinstance(mine, BrineError)):
                    problems.append(f"#{i}: inspect: {err.strip() or 'read'}; reader: "
                                    f"{mine if isinstance(mine, Exception) else 'read'}")
                elif rc == 0:
                    read += 1
                    with RecursionLimit(20000):
                        if doc != mine:
                            problems.append(f"#{i}: the JSON differs ({br.schema_text(data)})")
        self.assertEqual(problems, [])
        self.assertGreater(read, 250)


if __name__ == "__main__":
    unittest.main(verbosity=2)
