#!/usr/bin/env python3
"""Folds `perf script` output into stacks and draws them as a flame graph (SVG), or prints the
folded stacks, or the functions with the largest inclusive share.

Usage:
  perf script -i perf.data | scripts/flamegraph.py --svg OUT.svg [--title T] [--thread NAME]
  perf script -i perf.data | scripts/flamegraph.py --top 30 [--thread NAME]
The width of a frame is its share of the samples; frames are sorted by name at each level, so the
order carries no meaning. Standard library only (Debian 12 has no flame graph package).
"""
import argparse
import collections
import html
import re
import sys


def fold(lines, thread=None):
    """perf script's records (a header line, then one frame a line, then a blank line) to stack counts."""
    stacks = collections.Counter()
    comm, frames = None, []
    for line in lines:
        line = line.rstrip("\n")
        if not line.strip():
            if comm is not None and frames and (thread is None or re.search(thread, comm)):
                stacks[";".join([comm] + list(reversed(frames)))] += 1
            comm, frames = None, []
            continue
        if comm is None:
            comm = line.split()[0] if line.split() else "?"
            continue
        parts = line.strip().split(None, 1)
        if len(parts) < 2:
            continue
        name = re.sub(r"\+0x[0-9a-f]+$", "", parts[1].rsplit(" (", 1)[0])
        frames.append(name or "?")
    if comm is not None and frames and (thread is None or re.search(thread, comm)):
        stacks[";".join([comm] + list(reversed(frames)))] += 1
    return stacks


def tree(stacks):
    root = {"n": 0, "kids": {}}
    for stack, count in stacks.items():
        node = root
        node["n"] += count
        for frame in stack.split(";"):
            node = node["kids"].setdefault(frame, {"n": 0, "kids": {}})
            node["n"] += count
    return root


def svg(root, title, width=1200, row=16):
    total = max(root["n"], 1)
    depth = [0]
    rects = []

    def walk(node, name, x, level):
        w = width * node["n"] / total
        if w < 1.0:
            return
        depth[0] = max(depth[0], level)
        rects.append((x, level, w, name, node["n"]))
        cx = x
        for kid_name in sorted(node["kids"]):
            kid = node["kids"][kid_name]
            walk(kid, kid_name, cx, level + 1)
            cx += width * kid["n"] / total

    walk(root, "all", 0, 0)
    height = (depth[0] + 1) * row + 40
    out = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="monospace" '
           'font-size="11">' % (width, height),
           '<text x="4" y="16" font-size="13">%s (%d samples)</text>' % (html.escape(title), total)]
    for x, level, w, name, n in rects:
        y = height - (level + 1) * row
        hue = 20 + (sum(name.encode()) % 40)
        label = name if len(name) * 6.5 < w else name[: max(0, int(w / 6.5) - 2)] + ".." if w > 20 else ""
        out.append('<g><title>%s: %d samples, %.1f%%</title><rect x="%.1f" y="%d" width="%.1f" height="%d" '
                   'fill="hsl(%d,80%%,60%%)" stroke="white" stroke-width="0.3"/><text x="%.1f" y="%d">%s</text></g>'
                   % (html.escape(name), n, 100.0 * n / total, x, y, w, row - 1, hue, x + 2, y + row - 4,
                      html.escape(label)))
    out.append("</svg>")
    return "\n".join(out)


def top(stacks, count):
    inclusive = collections.Counter()
    total = sum(stacks.values())
    for stack, n in stacks.items():
        for frame in set(stack.split(";")[1:]):
            inclusive[frame] += n
    for frame, n in inclusive.most_common(count):
        print("%5.1f%%  %s" % (100.0 * n / total, frame))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--svg", help="write the flame graph here")
    ap.add_argument("--title", default="refahd")
    ap.add_argument("--thread", help="only threads whose name matches this regular expression")
    ap.add_argument("--top", type=int, help="print the N functions with the largest inclusive share")
    ap.add_argument("--folded", action="store_true", help="print the folded stacks")
    a = ap.parse_args()
    stacks = fold(sys.stdin, a.thread)
    if not stacks:
        sys.exit("no samples (is the input `perf script` output?)")
    if a.folded:
        for stack, n in stacks.most_common():
            print(stack, n)
    if a.top:
        top(stacks, a.top)
    if a.svg:
        with open(a.svg, "w") as f:
            f.write(svg(tree(stacks), a.title))


if __name__ == "__main__":
    main()
