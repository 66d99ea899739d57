#!/usr/bin/env python3
"""Checks that a PNG screenshot is a real frame, not a blank one: it decodes (stdlib only),
has the expected size, and shows many colours with no single colour covering almost all of it."""
import struct
import sys
import zlib
from collections import Counter


def decode(path):
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, header = 8, b"", None
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        body = data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    width, height, depth, colour, _, _, interlace = header
    assert depth == 8 and colour in (2, 6) and interlace == 0, f"unsupported PNG {header}"
    bpp = 4 if colour == 6 else 3
    raw = zlib.decompress(idat)
    stride = width * bpp
    rows, prev = [], bytearray(stride)
    for y in range(height):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        for x in range(stride):
            a = line[x - bpp] if x >= bpp else 0
            b = prev[x]
            c = prev[x - bpp] if x >= bpp else 0
            if f == 1:
                line[x] = (line[x] + a) & 255
            elif f == 2:
                line[x] = (line[x] + b) & 255
            elif f == 3:
                line[x] = (line[x] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[x] = (line[x] + pred) & 255
        rows.append(bytes(line))
        prev = line
    return width, height, bpp, rows


def main():
    path, min_w, min_h = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    width, height, bpp, rows = decode(path)
    assert width >= min_w and height >= min_h, f"{width}x{height} is smaller than {min_w}x{min_h}"
    colours = Counter()
    for y in range(0, height, 2):
        row = rows[y]
        for x in range(0, width, 2):
            colours[row[x * bpp : x * bpp + 3]] += 1
    total = sum(colours.values())
    top = colours.most_common(1)[0][1] / total
    print(f"{path}: {width}x{height}, {len(colours)} colours, the commonest covers {top:.0%}")
    assert len(colours) >= 50, "too few colours: a blank or broken frame"
    assert top < 0.9, "one colour covers almost everything: a blank frame"


if __name__ == "__main__":
    main()
