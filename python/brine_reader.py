#!/usr/bin/env python3
"""Read brine files and frames in Python, with the standard library only.

brine (the C++ library in this repository) writes values as *frames*; ``brine::dump`` writes a
frame with a schema block, so a file can be read without the C++ type that wrote it. This module
follows docs/wire-format.md and the same safety rules as brine's own decoders: every length is
checked against the bytes left before anything is allocated, records nest at most ``max_depth``
(512) deep, and malformed input raises :class:`BrineError` (a ``ValueError``) naming what was
expected, what was found and the byte offset in the frame. The walker is iterative, so no input
can exhaust Python's recursion limit.

    >>> import brine_reader
    >>> value = brine_reader.load("points.brn")
    >>> brine_reader.schema_text(open("points.brn", "rb").read())
    'list<{x: f64, y: f64}>'

How values map to Python:

* integers, enums, ``std::byte`` -> ``int``; ``f32``/``f64``/``f80`` -> ``float``; ``bool`` -> ``bool``
* character types -> a ``str`` of one character (code units that are no character -> U+FFFD)
* strings and paths -> ``str`` (UTF-8, UTF-16 and UTF-32 decoded; invalid units -> U+FFFD)
* ``std::monostate`` and empty structs -> ``None``
* list, set, multiset, array -> ``list``; tuple and pair -> ``tuple``; complex -> ``complex``
* map -> ``dict``, or a list of ``(key, value)`` pairs when the key type does not map to a
  hashable Python value (lists, records, pointers); multimap -> list of ``(key, value)`` pairs
* record and evolvable record -> ``dict`` of field name to value (an evolvable record: the fields
  present in both the data and the schema)
* optional and ``unique_ptr`` -> ``None`` or the value; variant -> :class:`Variant`
* an object of a registered derived type behind a pointer -> :class:`Derived`
* ``shared_ptr`` -> ``None`` or the value; every reference to one shared object is the same
  Python object, cycles included
* ``vector<bool>`` and ``bitset`` -> list of ``bool``
* duration and time point -> their tick count (``int`` or ``float``); the period is in the schema
  (:attr:`SchemaNode.period`)
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import pprint
import struct
import sys
from fractions import Fraction
from typing import Any, BinaryIO, Dict, List, Optional, Tuple, Union

__all__ = [
    "BrineError",
    "Variant",
    "Derived",
    "SchemaNode",
    "Frame",
    "load",
    "loads",
    "to_json",
    "schema",
    "schema_text",
    "parse_schema",
    "parse_frame",
    "type_table",
    "fingerprint_of",
    "MAX_DEPTH",
    "MAX_FRAME",
]

MAX_DEPTH = 512  # brine::limits::max_depth: nesting of records
MAX_FRAME = 1 << 30  # brine::limits::max_frame
SCHEMA_MAX_DEPTH = 256  # nesting of schema nodes parse_schema accepts
HEADER_SIZE = 24
MAGIC = b"brn\x01"
FORMAT_VERSION = 1
FLAG_SCHEMA = 0x01
FLAG_TYPES = 0x02
BACKREF_BASE = 3  # shared_ptr tags from 3 up are back-references
_U64 = (1 << 64) - 1


class BrineError(ValueError):
    """Bytes that are not a valid brine frame or value. ``offset`` is the byte offset in the
    frame (or stream) where reading failed, or None."""

    def __init__(self, message: str, offset: Optional[int] = None):
        self.message = message
        self.offset = offset
        text = "brine: " + message
        if offset is not None:
            text += f" (at byte {offset})"
        super().__init__(text)


@dataclasses.dataclass(frozen=True)
class Variant:
    """A ``std::variant``: the alternative's index and its value."""

    index: int
    value: Any


@dataclasses.dataclass(frozen=True, eq=True)
class Derived:
    """An object of a registered derived type (``BRINE_REGISTER``) read through a pointer to its
    base: the registered name and the value, read by the schema the file's type table gives."""

    type_name: str
    value: Any


# ---------------------------------------------------------------------------------------------
# Schema

# Tags (docs/wire-format.md, Schema).
BOOL = 0x01
I8, U8, I16, U16, I32, U32, I64, U64 = range(0x02, 0x0A)
F32, F64, F80 = 0x0A, 0x0B, 0x0C
CHAR, CHAR8, CHAR16, CHAR32, WCHAR = range(0x0D, 0x12)
BYTE = 0x12
UNIT = 0x13
STRING = 0x20
LIST = 0x21
BITS = 0x22
SET = 0x23
MULTISET = 0x24
MAP = 0x25
MULTIMAP = 0x26
ARRAY = 0x27
TUPLE = 0x28
RECORD = 0x29
OPTIONAL = 0x2A
VARIANT = 0x2B
UNIQUE = 0x2C
SHARED = 0x2D
ENUM = 0x2E
DURATION = 0x2F
TIME_POINT = 0x30
COMPLEX = 0x31
BITSET = 0x32
PATH = 0x33
REF = 0x34
EVOLVABLE = 0x35

_KIND_NAMES = {
    BOOL: "bool", I8: "i8", U8: "u8", I16: "i16", U16: "u16", I32: "i32", U32: "u32",
    I64: "i64", U64: "u64", F32: "f32", F64: "f64", F80: "f80", CHAR: "char", CHAR8: "char8",
    CHAR16: "char16", CHAR32: "char32", WCHAR: "wchar", BYTE: "byte", UNIT: "unit",
    STRING: "string", LIST: "list", BITS: "vector<bool>", SET: "set", MULTISET: "multiset",
    MAP: "map", MULTIMAP: "multimap", ARRAY: "array", TUPLE: "tuple", RECORD: "record",
    OPTIONAL: "optional", VARIANT: "variant", UNIQUE: "unique_ptr", SHARED: "shared_ptr",
    ENUM: "enum", DURATION: "duration", TIME_POINT: "time_point", COMPLEX: "complex",
    BITSET: "bitset", PATH: "path", REF: "reference", EVOLVABLE: "evolvable",
}

_FIXED_WIDTH = {
    BOOL: 1, I8: 1, U8: 1, CHAR: 1, CHAR8: 1, BYTE: 1, UNIT: 1,
    I16: 2, U16: 2, CHAR16: 2,
    I32: 4, U32: 4, F32: 4, CHAR32: 4, WCHAR: 4,
    I64: 8, U64: 8, F64: 8,
    F80: 16,
}
_INTEGERS = frozenset(range(I8, U64 + 1))
_NUMBERS = frozenset(range(I8, F80 + 1))  # what a duration may count in
_CHARS = frozenset(range(CHAR, WCHAR + 1))
_STRUCT_FMT = {I8: "b", U8: "B", I16: "h", U16: "H", I32: "i", U32: "I", I64: "q", U64: "Q",
               F32: "f", F64: "d", CHAR: "B", CHAR8: "B", CHAR16: "H", CHAR32: "I", WCHAR: "I",
               BYTE: "B"}
_STRUCTS = {t: struct.Struct("<" + f) for t, f in _STRUCT_FMT.items()}
_PLAIN = frozenset(range(I8, F64 + 1)) | {BYTE}  # read as they are: one struct format each
_STRING_NAMES = {CHAR: "string", CHAR8: "u8string", CHAR16: "u16string", CHAR32: "u32string",
                 WCHAR: "wstring"}
_CHAR_WIDTH = {CHAR: 1, CHAR8: 1, CHAR16: 2, CHAR32: 4, WCHAR: 4}
_TEXT_CODEC = {1: "utf-8", 2: "utf-16-le", 4: "utf-32-le"}
# Nodes read without descending into other nodes (no recursion, no shared objects).
_SCALARS = frozenset(_FIXED_WIDTH) | {STRING, PATH, BITS, BITSET, ENUM, DURATION, TIME_POINT,
                                      COMPLEX}


def _sat_add(a: int, b: int) -> int:
    return min(a + b, _U64)


def _sat_mul(a: int, b: int) -> int:
    return min(a * b, _U64)


class SchemaNode:
    """One node of a parsed schema (docs/wire-format.md lists the tags and their parameters).

    ``tag`` is the tag byte and ``kind`` its name (``"i32"``, ``"record"``, ``"list"``, ...).
    ``extent`` is an array's extent, a bitset's bits, a time point's clock id or a reference's
    levels out; ``num``/``den`` a duration's period in seconds per tick; ``names`` a record's
    field names, one per child; ``min_wire`` the fewest bytes a value takes; ``target`` the
    record a reference stands for."""

    __slots__ = ("tag", "extent", "num", "den", "names", "children", "min_wire", "target",
                 "recursive", "scalar", "flat", "packed", "_hashable", "_pointers")

    def __init__(self, tag: int):
        self.tag = tag
        self.recursive = False  # a record that a reference inside it points back to
        self.extent = 0
        self.num = 0
        self.den = 0
        self.names: List[str] = []
        self.children: List[SchemaNode] = []
        self.min_wire = 1
        self.target: Optional[SchemaNode] = None
        self.scalar = tag in _SCALARS  # read in place, without a generator
        self.flat = 0  # a record read in place: nesting of such records in it, from 1
        self.packed: Optional[struct.Struct] = None  # a record of plain numbers: their layout
        self._hashable: Optional[bool] = None
        self._pointers: Optional[bool] = None

    @property
    def kind(self) -> str:
        return _KIND_NAMES.get(self.tag, f"tag {self.tag}")

    @property
    def fields(self) -> List[Tuple[str, "SchemaNode"]]:
        """A record's (name, node) pairs."""
        return list(zip(self.names, self.children))

    @property
    def period(self) -> Optional[Fraction]:
        """Seconds per tick of a duration or time point, else None."""
        node = self.children[0] if self.tag == TIME_POINT else self
        if node.tag != DURATION:
            return None
        return Fraction(node.num, node.den) if node.den != 0 else None

    @property
    def clock(self) -> Optional[str]:
        """A time point's clock: "system_clock", "steady_clock" or "clock N"."""
        if self.tag != TIME_POINT:
            return None
        return {1: "system_clock", 2: "steady_clock"}.get(self.extent, f"clock {self.extent}")

    def text(self) -> str:
        """The schema as brine's C++ ``to_text`` renders it."""
        return render(self)

    def __repr__(self) -> str:
        return f"SchemaNode({self.text()!r})"

    # A value of this node maps to a hashable Python value with value semantics (a dict key).
    def hashable(self) -> bool:
        if self._hashable is None:
            t = self.tag
            if self.scalar:
                h = t not in (BITS, BITSET, RECORD)
            elif t in (TUPLE, VARIANT):
                h = all(c.hashable() for c in self.children)
            elif t == OPTIONAL:
                h = self.children[0].hashable()
            else:  # containers and records (lists, dicts), pointers (identity), references
                h = False
            self._hashable = h
        return self._hashable

    # A value of this node may hold a pointer (whose identity, not value, C++ compares).
    def has_pointers(self) -> bool:
        if self._pointers is None:
            seen = set()
            todo = [self]
            found = False
            while todo and not found:
                n = todo.pop()
                if n.tag == REF:
                    n = n.target
                if id(n) in seen:
                    continue
                seen.add(id(n))
                if n.tag in (UNIQUE, SHARED):
                    found = True
                todo.extend(n.children)
            self._pointers = found
        return self._pointers


class _SchemaParser:
    """Parses untrusted schema bytes, as brine's C++ parse_schema does (same checks)."""

    def __init__(self, data: bytes, base: int, what: str = "malformed schema"):
        self.s = data
        self.at = 0
        self.base = base  # offset of the schema bytes in the frame, for messages
        self.what = what
        self.records: List[SchemaNode] = []  # records around the node being parsed

    def fail(self, message: str):
        raise BrineError(f"{self.what}: {message}", self.base + self.at)

    def run(self) -> SchemaNode:
        root = self.node(0)
        if self.at != len(self.s):
            self.fail("trailing bytes after the schema")
        return root

    def byte(self) -> int:
        if self.at >= len(self.s):
            self.fail("truncated")
        b = self.s[self.at]
        self.at += 1
        return b

    def varint(self) -> int:
        v = 0
        for shift in range(0, 64, 7):
            b = self.byte()
            if shift == 63 and b > 1:
                self.fail("varint overflows 64 bits")
            v |= (b & 0x7F) << shift
            if b < 0x80:
                return v
        self.fail("varint too long")

    def zigzag(self) -> int:
        v = self.varint()
        return (v >> 1) ^ -(v & 1)

    def small_count(self) -> int:
        n = self.varint()
        if n > len(self.s) - self.at:
            self.fail(f"count {n} is longer than the schema")
        return n

    def node(self, depth: int) -> SchemaNode:
        if depth > SCHEMA_MAX_DEPTH:
            self.fail("nested too deeply")
        at = self.at
        t = self.byte()
        n = SchemaNode(t)

        def child_kind_error(message):
            self.at = at + 1
            self.fail(message)

        if t in _FIXED_WIDTH:
            n.min_wire = _FIXED_WIDTH[t]
        elif t in (PATH, BITS):
            pass
        elif t == STRING:
            n.children.append(self.node(depth + 1))
            if n.children[0].tag not in _CHARS:
                child_kind_error("a string of a non-character type")
        elif t in (LIST, SET, MULTISET, OPTIONAL, UNIQUE, SHARED):
            n.children.append(self.node(depth + 1))
        elif t == ENUM:
            n.children.append(self.node(depth + 1))
            if n.children[0].tag not in _INTEGERS:
                child_kind_error("an enum of a non-integer type")
            n.min_wire = n.children[0].min_wire
        elif t == COMPLEX:
            n.children.append(self.node(depth + 1))
            if n.children[0].tag not in (F32, F64, F80):
                child_kind_error("a complex of a non-floating-point type")
            n.min_wire = 2 * n.children[0].min_wire
        elif t in (MAP, MULTIMAP):
            n.children.append(self.node(depth + 1))
            n.children.append(self.node(depth + 1))
        elif t == ARRAY:
            n.extent = self.varint()
            n.children.append(self.node(depth + 1))
            n.min_wire = 1 if n.extent == 0 else _sat_mul(n.extent, n.children[0].min_wire)
        elif t in (TUPLE, VARIANT):
            count = self.small_count()
            for _ in range(count):
                n.children.append(self.node(depth + 1))
            if t == TUPLE:
                total = 0
                for c in n.children:
                    total = _sat_add(total, c.min_wire)
                n.min_wire = max(1, total)
            elif not n.children:
                self.fail("a variant with no alternatives")
        elif t in (RECORD, EVOLVABLE):
            count = self.small_count()
            total = 0
            self.records.append(n)
            for _ in range(count):
                length = self.small_count()
                n.names.append(self.s[self.at:self.at + length].decode("utf-8", "replace"))
                self.at += length
                c = self.node(depth + 1)
                n.children.append(c)
                total = _sat_add(total, c.min_wire)
            self.records.pop()
            n.min_wire = 5 if t == EVOLVABLE else max(1, total)
            if t == RECORD and all(c.scalar for c in n.children):
                # Only numbers, text and small such records: no pointers, no references, so
                # it is read in place (faster than through a generator).
                n.flat = 1 + max((c.flat for c in n.children), default=0)
                n.scalar = n.flat <= 4
                if n.children and all(c.tag in _PLAIN for c in n.children):
                    n.packed = struct.Struct("<" + "".join(_STRUCT_FMT[c.tag]
                                                           for c in n.children))
        elif t == DURATION:
            n.children.append(self.node(depth + 1))
            if n.children[0].tag not in _NUMBERS:
                child_kind_error("a duration of a non-number type")
            n.num = self.zigzag()
            n.den = self.zigzag()
            n.min_wire = n.children[0].min_wire
        elif t == TIME_POINT:
            n.extent = self.varint()
            n.children.append(self.node(depth + 1))
            if n.children[0].tag != DURATION:
                child_kind_error("a time point of a non-duration type")
            n.min_wire = n.children[0].min_wire
        elif t == BITSET:
            n.extent = self.varint()
            n.min_wire = 1 if n.extent == 0 else (n.extent + 7) // 8
        elif t == REF:
            n.extent = self.varint()
            if n.extent >= len(self.records):
                self.at = at
                self.fail(f"a reference {n.extent} levels out, with only {len(self.records)} "
                          "records around it")
            n.target = self.records[-1 - n.extent]
            n.target.recursive = True
        else:
            self.at = at
            self.fail(f"unknown tag {t}")
        return n


def parse_schema(data: bytes, *, offset: int = 0) -> SchemaNode:
    """Parses schema bytes into a tree. ``offset`` (where the bytes stand in their frame) only
    shifts the offsets in error messages. Raises BrineError if they are malformed, nest deeper
    than 256 levels, or a reference points outside its records."""
    return _SchemaParser(bytes(data), offset).run()


def render(node: SchemaNode) -> str:
    """Renders a schema tree exactly as brine's C++ ``to_text``/``schema_text`` do."""
    out: List[str] = []
    _render(node, out)
    return "".join(out)


def _render(n: SchemaNode, out: List[str]) -> None:
    t = n.tag
    if t in _FIXED_WIDTH or t in (PATH, BITS):
        out.append(_KIND_NAMES[t])
    elif t == STRING:
        out.append(_STRING_NAMES[n.children[0].tag])
    elif t in (LIST, SET, MULTISET, OPTIONAL, UNIQUE, SHARED, ENUM, COMPLEX):
        out.append(_KIND_NAMES[t] + "<")
        _render(n.children[0], out)
        out.append(">")
    elif t in (MAP, MULTIMAP, TUPLE, VARIANT):
        opening, closing = {MAP: ("map<", ">"), MULTIMAP: ("multimap<", ">"),
                            TUPLE: ("(", ")"), VARIANT: ("variant<", ">")}[t]
        out.append(opening)
        for i, c in enumerate(n.children):
            if i:
                out.append(", ")
            _render(c, out)
        out.append(closing)
    elif t == ARRAY:
        out.append("array<")
        _render(n.children[0], out)
        out.append(f", {n.extent}>")
    elif t in (RECORD, EVOLVABLE):
        if t == EVOLVABLE:
            out.append("evolvable")
        out.append("{")
        for i, (name, c) in enumerate(zip(n.names, n.children)):
            if i:
                out.append(", ")
            out.append(name + ": ")
            _render(c, out)
        out.append("}")
    elif t == DURATION:
        out.append("duration<")
        _render(n.children[0], out)
        out.append(f", {n.num}/{n.den}>")
    elif t == TIME_POINT:
        out.append({1: "time_point<system_clock, ", 2: "time_point<steady_clock, "}.get(
            n.extent, f"time_point<clock {n.extent}, "))
        _render(n.children[0], out)
        out.append(">")
    elif t == BITSET:
        out.append(f"bitset<{n.extent}>")
    elif t == REF:
        out.append(f"^{n.extent}")


def fingerprint_of(schema_bytes: bytes) -> int:
    """The 64-bit fingerprint of schema bytes: FNV-1a and the finaliser of the spec."""
    h = 0xCBF29CE484222325
    for b in schema_bytes:
        h ^= b
        h = (h * 0x100000001B3) & _U64
    h ^= h >> 30
    h = (h * 0xBF58476D1CE4E5B9) & _U64
    h ^= h >> 27
    h = (h * 0x94D049BB133111EB) & _U64
    h ^= h >> 31
    return h


# ---------------------------------------------------------------------------------------------
# Frames


@dataclasses.dataclass
class Frame:
    """A parsed frame: header fields, the schema and type table blocks (bytes, possibly empty)
    and where the body lies in ``data``."""

    data: bytes
    version: int
    flags: int
    fingerprint: int
    body_size: int
    schema_bytes: bytes
    schema_offset: int
    types_bytes: bytes
    types_offset: int
    body_offset: int

    @property
    def has_schema(self) -> bool:
        return bool(self.flags & FLAG_SCHEMA)

    @property
    def has_types(self) -> bool:
        return bool(self.flags & FLAG_TYPES)


def _read_header(data: bytes, max_frame: int) -> Tuple[int, int, int, int]:
    if len(data) < HEADER_SIZE:
        raise BrineError(f"truncated frame: expected a {HEADER_SIZE}-byte header, found "
                         f"{len(data)} bytes", 0)
    for i in range(4):
        if data[i] != MAGIC[i]:
            raise BrineError(f"not a brine frame: expected magic 62 72 6e 01, byte {i} is "
                             f"0x{data[i]:02x}", i)
    version, flags = data[4], data[5]
    if version != FORMAT_VERSION:
        raise BrineError(f"unsupported format version {version} (this reader reads version "
                         f"{FORMAT_VERSION})", 4)
    if flags & ~(FLAG_SCHEMA | FLAG_TYPES):
        raise BrineError(f"unknown frame flags 0x{flags:02x}", 5)
    if flags & FLAG_TYPES and not flags & FLAG_SCHEMA:
        raise BrineError("a type table without a schema block", 5)
    if data[6] != 0 or data[7] != 0:
        raise BrineError("reserved header bytes 6-7 are not zero", 6)
    fingerprint, body_size = struct.unpack_from("<QQ", data, 8)
    if body_size > max_frame:
        raise BrineError(f"body of {body_size} bytes is over limits::max_frame ({max_frame})", 16)
    return version, flags, fingerprint, body_size


def parse_frame(data: bytes, *, max_frame: int = MAX_FRAME) -> Frame:
    """Parses and checks a whole frame: header, block sizes, total size, and that the schema
    block hashes to the header's fingerprint. The body is not read."""
    data = bytes(data)
    version, flags, fingerprint, body_size = _read_header(data, max_frame)
    at = HEADER_SIZE
    blocks = {}
    for flag, what in ((FLAG_SCHEMA, "schema block"), (FLAG_TYPES, "type table")):
        if not flags & flag:
            blocks[flag] = (b"", at)
            continue
        if len(data) < at + 4:
            raise BrineError(f"truncated frame: expected a 4-byte {what} length", at)
        (n,) = struct.unpack_from("<I", data, at)
        if n > max_frame or len(data) - at - 4 < n:
            raise BrineError(f"truncated frame: the {what} says {n} bytes, found "
                             f"{len(data) - at - 4}", at)
        blocks[flag] = (data[at + 4:at + 4 + n], at + 4)
        at += 4 + n
    expected = at + body_size
    if len(data) != expected:
        raise BrineError(f"frame size mismatch: the header says {expected} bytes, found "
                         f"{len(data)}", min(len(data), expected))
    schema_bytes, schema_offset = blocks[FLAG_SCHEMA]
    if flags & FLAG_SCHEMA and fingerprint_of(schema_bytes) != fingerprint:
        raise BrineError("the schema block does not hash to the header's fingerprint",
                         HEADER_SIZE)
    types_bytes, types_offset = blocks[FLAG_TYPES]
    return Frame(data, version, flags, fingerprint, body_size, schema_bytes, schema_offset,
                 types_bytes, types_offset, at)


def _read_frame_from(stream: BinaryIO, max_frame: int) -> bytes:
    """Reads exactly one frame from a binary stream, leaving the stream just after it."""
    buf = bytearray()

    def read_some(n: int) -> None:
        step = 1 << 20  # grow in steps: a hostile size costs only the bytes that arrive
        while n > 0:
            chunk = min(n, step)
            got = stream.read(chunk)
            if got is None:
                got = b""
            buf.extend(got)
            if len(got) != chunk:
                raise BrineError(f"truncated stream: expected {n} more bytes", len(buf))
            n -= chunk

    read_some(HEADER_SIZE)
    _, flags, _, body_size = _read_header(bytes(buf), max_frame)
    for flag in (FLAG_SCHEMA, FLAG_TYPES):
        if not flags & flag:
            continue
        at = len(buf)
        read_some(4)
        (n,) = struct.unpack_from("<I", buf, at)
        if n > max_frame:
            raise BrineError("block of the frame over limits::max_frame", at)
        read_some(n)
    read_some(body_size)
    return bytes(buf)


def _parse_type_table(data: bytes, base: int) -> Dict[bytes, SchemaNode]:
    """The type table block: registered type names (bytes) -> their schemas."""
    r = _Cursor(data, 0, len(data), base)
    table: Dict[bytes, SchemaNode] = {}
    count = r.count(2, "type table")
    for _ in range(count):
        n = r.count(1, "type name")
        name = r.take(n)
        length = r.count(1, "schema")
        body = r.take(length)
        node = _SchemaParser(body, base + r.pos - length, "type table: malformed schema").run()
        table.setdefault(name, node)  # the first of two entries of one name wins, as in C++
    if r.pos != len(data):
        r.fail("trailing bytes after the type table")
    return table


# ---------------------------------------------------------------------------------------------
# Numbers


def _f80_parts(b: bytes) -> Tuple[int, int, int]:
    """(sign, biased exponent, 64-bit mantissa) of the x87 extended format's 10 bytes."""
    mantissa = int.from_bytes(b[0:8], "little")
    se = b[8] | (b[9] << 8)
    return se >> 15, se & 0x7FFF, mantissa


def _f80_exact(exp: int, mantissa: int) -> Optional[Tuple[int, int]]:
    """A finite f80's magnitude as (integer, binary exponent), or None for inf/NaN. Like the
    x87, unnormals (integer bit clear, exponent not 0) and pseudo-infinities are invalid (NaN);
    pseudo-denormals (exponent 0, integer bit set) are read as denormals."""
    if exp == 0x7FFF:
        return None
    if exp == 0:
        return mantissa, 1 - 16383 - 63
    if not mantissa >> 63:
        return None  # unnormal
    return mantissa, exp - 16383 - 63


def _f80_is_inf(exp: int, mantissa: int) -> bool:
    return exp == 0x7FFF and mantissa == 1 << 63


def f80_to_float(b: bytes) -> float:
    """Decodes the 10 bytes of an x87 80-bit extended value into the nearest float (values
    beyond float's range become infinities, tiny ones zero)."""
    sign, exp, mantissa = _f80_parts(b)
    exact = _f80_exact(exp, mantissa)
    if exact is None:
        x = math.inf if _f80_is_inf(exp, mantissa) else math.nan
    else:
        m, e = exact
        try:
            x = float(m << e) if e >= 0 else m / (1 << -e)  # both correctly rounded
        except OverflowError:
            x = math.inf
    return -x if sign and not math.isnan(x) else x


def _floor_log2(x: Fraction) -> int:
    a, b = x.numerator, x.denominator
    e = a.bit_length() - b.bit_length()
    if (a << -e if e < 0 else a) < (b << e if e > 0 else b):
        e -= 1
    return e


def _round_half_even(x: Fraction) -> int:
    q, r = divmod(x.numerator, x.denominator)
    twice = 2 * r
    if twice > x.denominator or (twice == x.denominator and q & 1):
        q += 1
    return q


# (mantissa bits, exponent of the smallest denormal's unit, exponent limit) of f32, f64, f80.
_BINARY_FORMATS = {F32: (24, -149, 128), F64: (53, -1074, 1024), F80: (64, -16445, 16384)}


def _round_binary(y: Fraction, tag: int) -> Optional[Fraction]:
    """The positive rational y rounded to the nearest value of a binary format (ties to even),
    or None if it rounds to infinity."""
    bits, emin, emax = _BINARY_FORMATS[tag]
    e = max(_floor_log2(y) - (bits - 1), emin)
    scaled = y / (Fraction(2) ** e)
    n = _round_half_even(scaled)
    value = Fraction(n) * Fraction(2) ** e
    if value >= Fraction(2) ** emax:
        return None
    return value


def _format_g(x: Fraction, precision: int) -> str:
    """C's "%.{precision}g" of a non-negative exact rational (correctly rounded)."""
    if x == 0:
        return "0"
    p = precision
    e10 = math.floor(_floor_log2(x) * 0.30102999566398120)  # estimate, then exact steps
    while x >= Fraction(10) ** (e10 + 1):
        e10 += 1
    while x < Fraction(10) ** e10:
        e10 -= 1
    digits = _round_half_even(x / Fraction(10) ** (e10 - p + 1))
    if digits >= 10 ** p:
        digits //= 10
        e10 += 1
    s = str(digits)
    if -4 <= e10 < p:
        if e10 >= 0:
            text = s[:e10 + 1] + "." + s[e10 + 1:]
        else:
            text = "0." + "0" * (-e10 - 1) + s
        if "." in text:
            text = text.rstrip("0").rstrip(".")
        return text
    mant = s[0] + "." + s[1:]
    mant = mant.rstrip("0").rstrip(".")
    return f"{mant}e{'-' if e10 < 0 else '+'}{abs(e10):02d}"


def _decimal_fraction(text: str) -> Fraction:
    return Fraction(text)


def number_text(value: Union[float, Tuple[int, int, int]], tag: int) -> str:
    """The shortest "%g" text that reads back as the same value at the precision of ``tag``
    (F32, F64 or F80), as brine-inspect prints numbers. An f80 is given as _f80_parts."""
    if tag == F80:
        sign, exp, mantissa = value
        exact = _f80_exact(exp, mantissa)
        if exact is None:
            if _f80_is_inf(exp, mantissa):
                return "-inf" if sign else "inf"
            return "nan"
        m, e = exact
        x = Fraction(m) * Fraction(2) ** e
        neg = "-" if sign else ""
        text = "0"
        for p in range(1, 22):
            text = _format_g(x, p)
            if x == 0 or _round_binary(_decimal_fraction(text), F80) == x:
                break
        return neg + text
    x = float(value)
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "-inf" if x < 0 else "inf"
    text = ""
    for p in range(1, 22):
        text = "%.*g" % (p, x)
        if tag == F64:
            if float(text) == x:
                break
        else:
            y = Fraction(text)
            if y == 0:
                same = x == 0
            else:
                r = _round_binary(abs(y), F32)
                same = r is not None and (r if y > 0 else -r) == Fraction(x)
            if same:
                break
    return text


_JSON_ESCAPES = {i: "\\u%04x" % i for i in range(0x20)}
_JSON_ESCAPES.update({ord('"'): '\\"', ord("\\"): "\\\\", ord("\n"): "\\n", ord("\t"): "\\t",
                      ord("\r"): "\\r"})


def _quote(s: str) -> str:
    return '"' + s.translate(_JSON_ESCAPES) + '"'


def _char_of(unit: int, width: int) -> str:
    """One code unit of a character type as a Python character (U+FFFD if it is none)."""
    if width == 1:
        return chr(unit) if unit < 0x80 else "\ufffd"
    if 0xD800 <= unit <= 0xDFFF or unit > 0x10FFFF:
        return "\ufffd"
    return chr(unit)


# ---------------------------------------------------------------------------------------------
# The body walker


class _Cursor:
    """Bounds-checked reading of ``data[pos:end]``; offsets in messages are ``base + pos``."""

    __slots__ = ("d", "pos", "end", "base")

    def __init__(self, data: bytes, pos: int, end: int, base: int = 0):
        self.d = data
        self.pos = pos
        self.end = end
        self.base = base

    def offset(self) -> int:
        return self.base + self.pos

    def fail(self, message: str, at: Optional[int] = None):
        raise BrineError(message, self.base + (self.pos if at is None else at))

    def left(self) -> int:
        return self.end - self.pos

    def take(self, n: int) -> bytes:
        if self.end - self.pos < n:
            self.fail(f"truncated input: expected {n} more bytes, found {self.end - self.pos}")
        p = self.pos
        self.pos = p + n
        return self.d[p:p + n]

    def byte(self) -> int:
        if self.pos >= self.end:
            self.fail("truncated input: expected 1 more bytes, found 0")
        b = self.d[self.pos]
        self.pos += 1
        return b

    def varint(self) -> int:
        p = self.pos
        d = self.d
        if p < self.end and d[p] < 0x80:
            self.pos = p + 1
            return d[p]
        at = p
        v = 0
        for shift in range(0, 64, 7):
            if p >= self.end:
                self.fail("truncated varint: the input ends inside it", at)
            b = d[p]
            p += 1
            if shift == 63 and b > 1:
                self.fail("varint overflows 64 bits", at)
            v |= (b & 0x7F) << shift
            if b < 0x80:
                self.pos = p
                return v
        self.fail("varint longer than 10 bytes", at)  # pragma: no cover - unreachable

    def count(self, min_wire: int, what: str) -> int:
        """A count of elements that each take at least min_wire bytes, refused before anything
        is allocated if the bytes left cannot hold them."""
        at = self.pos
        n = self.varint()
        left = self.end - self.pos
        if n > left // min_wire:
            need = n * min_wire
            shown = "more than 2^64" if need > _U64 else str(need)
            self.fail(f"a {what} of {n} elements needs at least {shown} bytes, found {left}", at)
        return n

    def tag_byte(self, maximum: int, what: str) -> int:
        b = self.byte()
        if b > maximum:
            self.fail(f"expected {what} tag (0 to {maximum}), found {b}", self.pos - 1)
        return b


class _Shared:
    """A shared object read so far: its Python value (set as soon as its container exists, so
    that a cycle can refer to it) and whether it is complete."""

    __slots__ = ("obj", "done")

    def __init__(self):
        self.obj: Any = None
        self.done = False


class _Walker(_Cursor):
    """Reads a body by its schema. Iterative: each non-scalar value is a generator that yields
    (node, slot) for the child values it needs; walk() drives them with an explicit stack.

    In JSON mode nothing is returned: the JSON text brine-inspect prints is appended to
    self.out in reading order."""

    def __init__(self, frame_data: bytes, body_offset: int, body_end: int,
                 types: Dict[bytes, SchemaNode], json_mode: bool, max_depth: int):
        super().__init__(frame_data, body_offset, body_end, 0)
        self.body = body_offset
        self.types = types
        self.js = json_mode
        self.out: List[str] = []
        self.max_depth = max_depth
        self.depth = 0
        self.objects: Dict[int, _Shared] = {}  # body position of a shared object's tag -> it
        self.scalar_py = {t: self._py_number for t in _SCALARS}
        for t in _PLAIN:
            self.scalar_py[t] = self._plain_reader(_STRUCTS[t])
        self.scalar_py.update({STRING: self._py_string, PATH: self._py_path,
                               BITS: self._py_vector_bool, BITSET: self._py_bitset,
                               COMPLEX: self._py_complex, RECORD: self._flat_record})
        self.gens = {LIST: self._g_list, SET: self._g_list, MULTISET: self._g_list,
                     ARRAY: self._g_list, MAP: self._g_map, MULTIMAP: self._g_map,
                     TUPLE: self._g_tuple, RECORD: self._g_record, EVOLVABLE: self._g_record,
                     OPTIONAL: self._g_optional, VARIANT: self._g_variant,
                     UNIQUE: self._g_unique, SHARED: self._g_shared}

    # -- driver --

    def run(self, root: SchemaNode):
        v = self.walk(root)
        if self.pos != self.end:
            self.fail(f"the body has {self.end - self.pos} bytes after the value")
        return v

    def scalar(self, node: SchemaNode):
        if self.js:
            self.out.append(self._js_scalar(node))
            return None
        return self.scalar_py[node.tag](node)

    def walk(self, root: SchemaNode):
        if root.tag == REF:
            root = root.target
        if root.scalar:
            return self.scalar(root)
        stack = [self.gens[root.tag](root, None)]
        send = None
        gens = self.gens
        while stack:
            try:
                node, slot = stack[-1].send(send)
            except StopIteration as done:
                stack.pop()
                send = done.value
                continue
            if node.tag == REF:
                node = node.target
            if node.scalar:  # generators read scalar children themselves; kept for safety
                send = self.scalar(node)
            else:
                stack.append(gens[node.tag](node, slot))
                send = None
        return send

    # -- scalars, Python values --

    def _fixed(self, tag: int):
        s = _STRUCTS[tag]
        if self.end - self.pos < s.size:
            self.fail(f"truncated input: expected {s.size} more bytes, found "
                      f"{self.end - self.pos}")
        (v,) = s.unpack_from(self.d, self.pos)
        self.pos += s.size
        return v

    def _number(self, node: SchemaNode):
        """The number of a number node, or the count of an enum, duration or time point."""
        t = node.tag
        if t == ENUM:
            node = node.children[0]
        elif t == DURATION:
            node = node.children[0]
        elif t == TIME_POINT:
            node = node.children[0].children[0]
        t = node.tag
        if t == F80:
            return f80_to_float(self.take(16)[:10])
        return self._fixed(t)

    def _plain_reader(self, s: struct.Struct):
        size = s.size
        unpack = s.unpack_from

        def read(node):
            p = self.pos
            if self.end - p < size:
                self.fail(f"truncated input: expected {size} more bytes, found {self.end - p}")
            self.pos = p + size
            return unpack(self.d, p)[0]
        return read

    def _py_number(self, node: SchemaNode):
        t = node.tag
        if t == BOOL:
            return self.tag_byte(1, "a bool's") == 1
        if t == UNIT:
            self.tag_byte(0, "an empty value's")
            return None
        if t in _CHARS:
            return _char_of(self._fixed(t), _CHAR_WIDTH[t])
        return self._number(node)

    def _text(self, char_tag: int) -> str:
        w = _CHAR_WIDTH[char_tag]
        n = self.count(w, "string")
        return self.take(n * w).decode(_TEXT_CODEC[w], "replace")

    def _py_string(self, node: SchemaNode) -> str:
        return self._text(node.children[0].tag)

    def _py_path(self, node: SchemaNode) -> str:
        return self._text(CHAR)

    def _bits(self, n: int) -> List[bool]:
        p = self.take((n + 7) // 8)
        bits = [bool(p[i >> 3] >> (i & 7) & 1) for i in range(n)]
        if n % 8 and p[n // 8] >> (n % 8):
            self.fail("unused bits are not zero", self.pos - 1)
        return bits

    def _py_vector_bool(self, node: SchemaNode) -> List[bool]:
        at = self.pos
        n = self.varint()
        if n // 8 > self.end - self.pos:
            self.fail("a vector<bool> longer than the input", at)
        return self._bits(n)

    def _py_bitset(self, node: SchemaNode) -> List[bool]:
        if node.extent == 0:
            self.tag_byte(0, "an empty bitset's")
            return []
        if node.extent // 8 > self.end - self.pos:
            self.fail("a bitset longer than the input")
        return self._bits(node.extent)

    def _py_complex(self, node: SchemaNode) -> complex:
        c = node.children[0]
        re = self._number(c)
        im = self._number(c)
        return complex(re, im)

    def _flat_record(self, node: SchemaNode):
        """A record of scalars (SchemaNode.flat), as _g_record would read it."""
        # Only scalars inside: never recursive, so it does not count toward max_depth.
        if not node.children:
            self.tag_byte(0, "an empty record's")
        if self.js:
            parts = [_quote(name) + ":" + self._js_scalar(c)
                     for name, c in zip(node.names, node.children)]
            result = "{" + ",".join(parts) + "}"
        elif node.packed is not None and self.end - self.pos >= node.packed.size:
            result = dict(zip(node.names, node.packed.unpack_from(self.d, self.pos)))
            self.pos += node.packed.size
        else:  # (also a packed record cut short: field by field, for the exact message)
            py = self.scalar_py
            result = {name: py[c.tag](c) for name, c in zip(node.names, node.children)}
        return result

    # -- scalars, JSON text --

    def _js_float(self, node: SchemaNode) -> str:
        if node.tag == F80:
            text = number_text(_f80_parts(self.take(16)[:10]), F80)
        else:
            text = number_text(self._fixed(node.tag), node.tag)
        return text if text not in ("nan", "inf", "-inf") else '"' + text + '"'

    def _js_scalar(self, node: SchemaNode) -> str:
        t = node.tag
        if t in (ENUM, DURATION, TIME_POINT):
            num = node.children[0]
            if t == TIME_POINT:
                num = num.children[0]
            return self._js_scalar(num)
        if t in (F32, F64, F80):
            return self._js_float(node)
        if t in _CHARS:
            unit = self._fixed(t)
            if unit < 0x80:
                return _quote(chr(unit))
            return f'"U+{unit:04X}"'
        if t == BOOL:
            return "true" if self.tag_byte(1, "a bool's") else "false"
        if t == UNIT:
            self.tag_byte(0, "an empty value's")
            return "null"
        if t == STRING:
            return _quote(self._py_string(node))
        if t == PATH:
            return _quote(self._py_path(node))
        if t == BITS:
            return _quote("".join("1" if b else "0" for b in self._py_vector_bool(node)))
        if t == BITSET:
            return _quote("".join("1" if b else "0" for b in self._py_bitset(node)))
        if t == RECORD:
            return self._flat_record(node)
        if t == COMPLEX:
            c = node.children[0]
            re = self._js_float(c)
            im = self._js_float(c)
            return f"[{re},{im}]"
        return str(self._fixed(t))

    # -- values that hold other values (generators) --

    def _child(self, node: SchemaNode):
        """Reads a scalar child in place; for others the caller must yield (node, slot)."""
        if self.js:
            self.out.append(self._js_scalar(node))
            return None
        return self.scalar_py[node.tag](node)

    def _g_list(self, node: SchemaNode, slot: Optional[_Shared]):
        c = node.children[0]
        js = self.js
        out = self.out
        if node.tag == ARRAY:
            if node.extent == 0:
                self.tag_byte(0, "an empty array's")
                n = 0
            else:
                if node.min_wire > self.end - self.pos:
                    self.fail("an array longer than the input")
                n = node.extent
        else:
            n = self.count(c.min_wire, "list")
        unique = node.tag == SET and not c.has_pointers()
        seen = set() if unique else None
        if js:
            out.append("[")
            result = None
        else:
            result = []
            if slot is not None:
                slot.obj = result
            fmt = _STRUCT_FMT.get(c.tag)
            if fmt is not None and c.tag not in _CHARS and (not unique or c.tag in _INTEGERS):
                # Fixed-width numbers: one unpack (the count check guarantees the bytes).
                size = _FIXED_WIDTH[c.tag]
                if n * size > self.end - self.pos:
                    self.fail(f"truncated input: expected {n * size} more bytes, found "
                              f"{self.end - self.pos}")
                values = struct.unpack_from(f"<{n}{fmt}", self.d, self.pos)
                if unique and len(set(values)) != n:
                    first = set()
                    for i, v in enumerate(values):
                        if v in first:
                            self.fail("duplicate key in a set", self.pos + i * size)
                        first.add(v)
                self.pos += n * size
                result.extend(values)
                return result
            if c.packed is not None and not unique and self.depth < self.max_depth:
                # Records of plain numbers, likewise (min_wire is their size).
                end = self.pos + n * c.packed.size
                names = c.names
                result.extend(dict(zip(names, t))
                              for t in c.packed.iter_unpack(self.d[self.pos:end]))
                self.pos = end
                return result
        for i in range(n):
            if js and i:
                out.append(",")
            start = self.pos
            if c.scalar:
                v = self._child(c)
            else:
                v = yield (c, None)
            if unique:
                raw = self.d[start:self.pos]
                if raw in seen:
                    self.fail("duplicate key in a set", start)
                seen.add(raw)
            if not js:
                result.append(v)
        if js:
            out.append("]")
        return result

    def _g_map(self, node: SchemaNode, slot: Optional[_Shared]):
        k, c = node.children
        js = self.js
        out = self.out
        n = self.count(_sat_add(k.min_wire, c.min_wire), "map")
        unique = node.tag == MAP
        check_raw = unique and not k.has_pointers()
        seen = set() if check_raw else None
        as_dict = unique and k.hashable()
        string_keys = k.tag == STRING
        if js:
            out.append("{" if string_keys else "[")
            result = None
        else:
            result = {} if as_dict else []
            if slot is not None:
                slot.obj = result
        for i in range(n):
            if js:
                if i:
                    out.append(",")
                if not string_keys:
                    out.append("[")
            start = self.pos
            if k.scalar:
                key = self._child(k)
            else:
                key = yield (k, None)
            key_end = self.pos
            if js:
                out.append(":" if string_keys else ",")
            if c.scalar:
                v = self._child(c)
            else:
                v = yield (c, None)
            if js and not string_keys:
                out.append("]")
            if check_raw:
                raw = self.d[start:key_end]
                if raw in seen:
                    self.fail("duplicate key in a map", start)
                seen.add(raw)
            if not js:
                if as_dict:
                    if key in result:
                        # Keys that differ in their bytes (checked above) but not as Python
                        # values: long doubles that round to one float, text with invalid
                        # units. A dict cannot hold both: the map becomes a list of pairs.
                        pairs = list(result.items())
                        if slot is not None and slot.obj is result:
                            slot.obj = pairs
                        result = pairs
                        as_dict = False
                        result.append((key, v))
                    else:
                        result[key] = v
                else:
                    result.append((key, v))
        if js:
            out.append("}" if string_keys else "]")
        return result

    def _g_tuple(self, node: SchemaNode, slot: Optional[_Shared]):
        js = self.js
        out = self.out
        if js:
            out.append("[")
        items = []
        if not node.children:
            self.tag_byte(0, "an empty tuple's")
        for i, c in enumerate(node.children):
            if js and i:
                out.append(",")
            if c.scalar:
                v = self._child(c)
            else:
                v = yield (c, None)
            items.append(v)
        if js:
            out.append("]")
            return None
        return tuple(items)

    def _g_record(self, node: SchemaNode, slot: Optional[_Shared]):
        # As in brine::loads, only records that can hold themselves count toward max_depth.
        counted = node.recursive
        if counted:
            self.depth += 1
            if self.depth > self.max_depth:
                self.fail(f"value nests deeper than limits::max_depth ({self.max_depth})")
        js = self.js
        out = self.out
        names = node.names
        children = node.children
        if js:
            out.append("{")
            result = None
        else:
            result = {}
            if slot is not None:
                slot.obj = result
        evolvable = node.tag == EVOLVABLE
        if evolvable:
            at = self.pos
            count = self.varint()
            length = struct.unpack("<I", self.take(4))[0]
            if length > self.end - self.pos or count > length:
                self.fail("the length of an evolvable record does not fit its input or field "
                          "count", at)
            end = self.pos + length
            n = min(count, len(children))
        else:
            if not children:
                self.tag_byte(0, "an empty record's")
            n = len(children)
        for i in range(n):
            c = children[i]
            if js:
                if i:
                    out.append(",")
                out.append(_quote(names[i]) + ":")
            if c.scalar:
                v = self._child(c)
            else:
                v = yield (c, None)
            if not js:
                result[names[i]] = v
        if evolvable:
            if self.pos > end or (count <= len(children) and self.pos != end):
                self.fail("the length of an evolvable record does not match its fields", at)
            self.pos = end  # skips the fields this schema does not know
        if js:
            out.append("}")
        if counted:
            self.depth -= 1
        return result

    def _g_optional(self, node: SchemaNode, slot: Optional[_Shared]):
        if self.tag_byte(1, "an optional's") == 0:
            if self.js:
                self.out.append("null")
            return None
        c = node.children[0]
        if c.scalar:
            return self._child(c)
        return (yield (c, slot))  # the optional's Python value is its content's

    def _g_variant(self, node: SchemaNode, slot: Optional[_Shared]):
        at = self.pos
        index = self.varint()
        if index >= len(node.children):
            self.fail(f"expected a variant index below {len(node.children)}, found {index}", at)
        c = node.children[index]
        if self.js:
            self.out.append(f'{{"index":{index},"value":')
            if c.scalar:
                self._child(c)
            else:
                yield (c, None)
            self.out.append("}")
            return None
        result = Variant(index, None)
        if slot is not None:
            slot.obj = result
        v = self._child(c) if c.scalar else (yield (c, None))
        object.__setattr__(result, "value", v)
        return result

    def _type_name(self) -> Tuple[bytes, SchemaNode]:
        at = self.pos
        n = self.count(1, "type name")
        name = self.take(n)
        s = self.types.get(name)
        if s is None:
            shown = name[:80].decode("latin-1")
            shown = "".join(ch if 0x20 <= ord(ch) < 0x7F else "?" for ch in shown)
            if len(name) > 80:
                shown += "..."
            self.fail(f'type "{shown}" is not in the frame\'s type table', at)
        return name, s

    def _derived(self, slot: Optional[_Shared], prefix: str):
        """An object of a registered type: its name, then its value by its own schema."""
        self.depth += 1  # derived objects can nest without limit: they count toward max_depth
        if self.depth > self.max_depth:
            self.fail(f"value nests deeper than limits::max_depth ({self.max_depth})")
        try:
            return (yield from self._derived_value(slot, prefix))
        finally:
            self.depth -= 1

    def _derived_value(self, slot: Optional[_Shared], prefix: str):
        raw, s = self._type_name()
        name = raw.decode("utf-8", "replace")
        if self.js:
            self.out.append(prefix + '"$type":' + _quote(name) + ',"value":')
            if s.scalar:
                self._child(s)
            else:
                yield (s, None)
            self.out.append("}")
            return None
        result = Derived(name, None)
        if slot is not None:
            slot.obj = result
        v = self._child(s) if s.scalar else (yield (s, None))
        object.__setattr__(result, "value", v)
        return result

    def _g_unique(self, node: SchemaNode, slot: Optional[_Shared]):
        t = self.tag_byte(2, "a unique_ptr's")
        if t == 0:
            if self.js:
                self.out.append("null")
            return None
        if t == 1:
            c = node.children[0]
            if c.scalar:
                return self._child(c)
            return (yield (c, slot))
        return (yield from self._derived(slot, "{"))

    def _g_shared(self, node: SchemaNode, slot: Optional[_Shared]):
        at = self.pos
        position = self.pos - self.body
        t = self.varint()
        js = self.js
        if t == 0:
            if js:
                self.out.append("null")
            return None
        if t in (1, 2):
            entry = _Shared()
            self.objects[position] = entry
            if t == 1:
                c = node.children[0]
                if js:
                    self.out.append(f'{{"$id":{position},"value":')
                if c.scalar:
                    v = self._child(c)
                else:
                    v = yield (c, entry)
                if js:
                    self.out.append("}")
            else:
                v = yield from self._derived(entry, f'{{"$id":{position},')
            entry.obj = v
            entry.done = True
            return v
        target = t - BACKREF_BASE
        entry = self.objects.get(target)
        if entry is None:
            self.fail(f"a shared_ptr refers to an object at body position {target}, where no "
                      "object was read", at)
        if js:
            self.out.append(f'{{"$ref":{target}}}')
            return None
        if not entry.done and entry.obj is None:
            self.fail(f"a shared_ptr refers to the object at body position {target}, which "
                      "contains it and has no Python value before it is complete (a cycle "
                      "through a tuple or an immutable value)", at)
        return entry.obj


# ---------------------------------------------------------------------------------------------
# Public API


def _bytes_of(source) -> bytes:
    """Frame bytes from bytes-like data, a path, or a binary file object."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        return bytes(source)
    if hasattr(source, "read"):
        data = source.read()
        if isinstance(data, str):
            raise TypeError("brine_reader: open the file in binary mode ('rb')")
        return bytes(data)
    with open(source, "rb") as f:
        return f.read()


class _Parsed:
    __slots__ = ("frame", "schema", "types")

    def __init__(self, frame: Frame, root: Optional[SchemaNode], types):
        self.frame = frame
        self.schema = root
        self.types = types


def _parse(data: bytes, max_frame: int, need_schema: bool) -> _Parsed:
    frame = parse_frame(data, max_frame=max_frame)
    if not frame.has_schema:
        if need_schema:
            raise BrineError(
                "the frame carries no schema (flags bit 0 is clear: it was written by "
                "brine::dumps or a channel, not brine::dump), so it cannot be read without its "
                f"C++ type; its type's fingerprint is 0x{frame.fingerprint:016x}", 5)
        return _Parsed(frame, None, {})
    root = _SchemaParser(frame.schema_bytes, frame.schema_offset).run()
    types = _parse_type_table(frame.types_bytes, frame.types_offset) if frame.has_types else {}
    return _Parsed(frame, root, types)


def loads(data: bytes, *, max_depth: int = MAX_DEPTH, max_frame: int = MAX_FRAME):
    """Reads one frame (all of ``data``) by the schema it carries and returns its value as
    Python objects (see the module's documentation for the mapping).
    Raises BrineError for malformed data or a frame without a schema block."""
    p = _parse(_bytes_of(data), max_frame, True)
    f = p.frame
    return _Walker(f.data, f.body_offset, len(f.data), p.types, False, max_depth).run(p.schema)


def load(path_or_file, *, max_depth: int = MAX_DEPTH, max_frame: int = MAX_FRAME):
    """Reads a file written by brine::dump: a path (the file must hold exactly one frame) or a
    binary file object (one frame is read from it; the stream is left just after it)."""
    if hasattr(path_or_file, "read"):
        data = _read_frame_from(path_or_file, max_frame)
    else:
        data = _bytes_of(path_or_file)
    return loads(data, max_depth=max_depth, max_frame=max_frame)


def to_json(data, *, max_depth: int = MAX_DEPTH, max_frame: int = MAX_FRAME) -> str:
    """The frame as the JSON document ``brine-inspect --json`` prints (with its newline):
    {"fingerprint": ..., "schema": ..., "value": ...}. Maps with string keys are objects, other
    maps arrays of [key, value]; variants {"index", "value"}; shared objects {"$id", "value"} and
    references {"$ref"}; derived objects {"$type", "value"}; characters beyond ASCII "U+n"
    (decimal); bits strings of 0 and 1; NaN and infinities strings."""
    if hasattr(data, "read"):
        data = _read_frame_from(data, max_frame)
    p = _parse(_bytes_of(data), max_frame, False)
    f = p.frame
    fp = f'"0x{f.fingerprint:016x}"'
    if p.schema is None:
        return f'{{"fingerprint":{fp},"body_size":{f.body_size},"schema":null}}\n'
    w = _Walker(f.data, f.body_offset, len(f.data), p.types, True, max_depth)
    w.out.append(f'{{"fingerprint":{fp},"schema":{_quote(render(p.schema))},"value":')
    w.run(p.schema)
    w.out.append("}\n")
    return "".join(w.out)


def schema(data) -> SchemaNode:
    """The parsed schema tree of a frame (bytes, a path or a binary file), or of raw schema
    bytes (which never start with the frame magic). Raises BrineError if there is none."""
    raw = _bytes_of(data)
    if raw[:1] != MAGIC[:1]:
        return parse_schema(raw)
    return _parse(raw, MAX_FRAME, True).schema


def schema_text(data) -> str:
    """The schema of a frame (or raw schema bytes, or a SchemaNode) rendered exactly as brine's
    C++ schema_text does, e.g. ``{x: f64, y: f64}``."""
    if isinstance(data, SchemaNode):
        return render(data)
    return render(schema(data))


def type_table(data) -> Dict[str, SchemaNode]:
    """The registered derived types a file's type table describes: name -> schema."""
    p = _parse(_bytes_of(data), MAX_FRAME, False)
    return {k.decode("utf-8", "replace"): v for k, v in p.types.items()}


# ---------------------------------------------------------------------------------------------
# Command line


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        prog="brine_reader.py",
        description="Print a brine file or frame (from brine::dump) as Python values or JSON.")
    parser.add_argument("file", help="the file; - for stdin")
    parser.add_argument("--json", action="store_true",
                        help="print one JSON document, as brine-inspect --json does")
    parser.add_argument("--schema", action="store_true", help="print the schema only")
    args = parser.parse_args(argv)
    try:
        if args.file == "-":
            data = sys.stdin.buffer.read()
        else:
            with open(args.file, "rb") as f:
                data = f.read()
    except OSError as e:
        print(f"brine_reader: cannot open {args.file}: {e.strerror}", file=sys.stderr)
        return 1
    try:
        if args.json:
            sys.stdout.write(to_json(data))
        elif args.schema:
            print(schema_text(data))
        else:
            frame = parse_frame(data)
            if not frame.has_schema:
                print(f"frame without schema: fingerprint 0x{frame.fingerprint:016x}, body "
                      f"{frame.body_size} bytes")
                return 0
            value = loads(data)
            print("# schema " + schema_text(data))
            old = sys.getrecursionlimit()
            sys.setrecursionlimit(max(old, 20000))  # pprint recurses into deep values
            try:
                pprint.pprint(value, sort_dicts=False)
            finally:
                sys.setrecursionlimit(old)
    except BrineError as e:
        print(f"brine_reader: {args.file}: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
