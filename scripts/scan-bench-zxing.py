"""zxing-cpp on the frames `cargo bench --bench scan` wrote, and one table of all decoders.

Usage: scan-bench-zxing.py FOLDER (holding results.tsv and the frames as PGM).
Only the decode call is timed; reading the file into memory is not.
"""

import csv
import os
import sys
import time
from collections import defaultdict

import numpy
import zxingcpp

PEER = "zxing-cpp"


def read_pgm(path):
    with open(path, "rb") as file:
        data = file.read()
    # The header is four tokens, each ended by one whitespace byte; the pixels follow at once
    # and may themselves begin with bytes that look like whitespace.
    fields, position = [], 0
    while len(fields) < 4:
        end = position
        while data[end : end + 1] not in (b" ", b"\n", b"\t", b"\r"):
            end += 1
        if end > position:
            fields.append(data[position:end])
        position = end + 1
    magic, width, height, maxval = fields
    assert magic == b"P5" and maxval == b"255", path
    width, height = int(width), int(height)
    pixels = data[position : position + width * height]
    return numpy.frombuffer(pixels, dtype=numpy.uint8).reshape(height, width)


def zxing_read(image):
    started = time.perf_counter()
    found = zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)
    took = time.perf_counter() - started
    return (found[0].text if found else ""), took * 1000.0


def percentile(values, fraction):
    values = sorted(values)
    if not values:
        return 0.0
    return values[min(int(len(values) * fraction), len(values) - 1)]


def main():
    folder = sys.argv[1]
    with open(os.path.join(folder, "results.tsv"), newline="") as file:
        rows = list(csv.DictReader(file, delimiter="\t"))
    frames = {}
    for row in rows:
        frames.setdefault(row["frame"], row)
    for name, row in frames.items():
        text, ms = zxing_read(read_pgm(os.path.join(folder, name)))
        rows.append({**row, "decoder": PEER, "read": text, "ms": str(ms)})

    decoders = []
    for row in rows:
        if row["decoder"] not in decoders:
            decoders.append(row["decoder"])
    decoders.remove(PEER)
    decoders.insert(1, PEER)

    # (corpus, condition, decoder) -> [read, wrong, total, times]
    tallies = defaultdict(lambda: [0, 0, 0, []])
    order = []
    for row in rows:
        key = (row["corpus"], row["condition"])
        if key not in order:
            order.append(key)
        for condition in (row["condition"], "**overall**"):
            tally = tallies[(row["corpus"], condition, row["decoder"])]
            tally[0] += row["read"] == row["expected"]
            tally[1] += row["read"] not in ("", row["expected"])
            tally[2] += 1
            tally[3].append(float(row["ms"]))

    for corpus in dict.fromkeys(c for c, _ in order):
        conditions = [c for k, c in order if k == corpus] + ["**overall**"]
        print(f"\n{corpus} corpus")
        print(
            "| condition | "
            + " | ".join(f"{d} read | {d} p50 ms | {d} p95 ms" for d in decoders)
            + " |"
        )
        print("|---|" + "---|---|---|" * len(decoders))
        for condition in conditions:
            cells = []
            for decoder in decoders:
                read, wrong, total, times = tallies[(corpus, condition, decoder)]
                mark = f", **{wrong} wrong**" if wrong else ""
                cells.append(
                    f"{read}/{total}{mark} | {percentile(times, 0.5):.1f}"
                    f" | {percentile(times, 0.95):.1f}"
                )
            print(f"| {condition} | " + " | ".join(cells) + " |")
        ours = tallies[(corpus, "**overall**", decoders[0])]
        peer = tallies[(corpus, "**overall**", PEER)]
        median_ours, median_peer = percentile(ours[3], 0.5), percentile(peer[3], 0.5)
        print(
            f"{decoders[0]}: median {median_ours:.2f} ms, p95 {percentile(ours[3], 0.95):.2f} ms; "
            f"{PEER}: median {median_peer:.2f} ms, p95 {percentile(peer[3], 0.95):.2f} ms; "
            f"median ratio {median_ours / max(median_peer, 1e-9):.1f}x; "
            f"read {ours[0]} vs {peer[0]} of {ours[2]}"
        )
        below = []
        for condition in conditions[:-1]:
            mine = tallies[(corpus, condition, decoders[0])][0]
            theirs = tallies[(corpus, condition, PEER)][0]
            if mine < 0.9 * theirs:
                below.append(f"{condition} ({mine} vs {theirs})")
        if below:
            print("below 90 % of " + PEER + ": " + ", ".join(below))


if __name__ == "__main__":
    main()
