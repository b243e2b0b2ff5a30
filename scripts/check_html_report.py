#!/usr/bin/env python3
"""Checks what headless Chromium made of `runner report --html` (standard library only).

  check_html_report.py netlog NETLOG...
      Fails when the page fetched anything: a URL request in the page's own network partition
      (network_isolation_key of its file:// frame) whose URL is not file: or data:. Chromium's
      own background requests (update checks, network time, account lookups) are in other
      partitions; they are listed, not counted, and with --host-resolver-rules="MAP * ~NOTFOUND"
      none of them reaches the network either.

  check_html_report.py dom DOM --report-json JSON [--charts SWEEP=CHART[,CHART...]]... [--pictures SWEEP=N]...
      Fails unless the rendered DOM (chromium --dump-dom) has, for every sweep of JSON (the output
      of `runner report --format json` for the same results): its section, exactly as many
      summary rows (tr.config) as the JSON has rows, each given chart as a figure.chart whose
      inline SVG was parsed into elements (lines and text), and N embedded PNG pictures.

  check_html_report.py png FILE WIDTH HEIGHT
      Fails unless FILE is a PNG of that size that is not one flat colour (a blank screenshot).

Exit status: 0 when everything holds, 1 otherwise (every problem is printed), 2 on bad usage.
"""

import argparse
import json
import sys
import zlib
from html.parser import HTMLParser

ALLOWED_SCHEMES = ("file:", "data:", "about:", "blob:")


def netlog(paths):
    problems = []
    for path in paths:
        try:
            with open(path, encoding="utf-8") as f:
                log = json.load(f)
        except (OSError, ValueError) as e:
            problems.append(f"{path}: cannot read the net log: {e}")
            continue
        types = {v: k for k, v in log["constants"]["logEventTypes"].items()}
        page, background = set(), set()
        for event in log["events"]:
            params = event.get("params") or {}
            if types.get(event["type"]) != "URL_REQUEST_START_JOB" or "url" not in params:
                continue
            url = params["url"]
            if url.startswith(ALLOWED_SCHEMES):
                continue
            key = params.get("network_isolation_key", "")
            (page if key.startswith("file://") else background).add(url)
        if background:
            hosts = sorted({url.split("/")[2] for url in background if "//" in url})
            print(f"check_html_report: {path}: not the page's: {len(background)} background requests of the browser "
                  f"itself (to {', '.join(hosts)}), in other partitions")
        for url in sorted(page):
            problems.append(f"{path}: the page fetched {url}")
        if not page:
            print(f"check_html_report: ok {path}: the page fetched nothing")
    return problems


class Dom(HTMLParser):
    """Records sections, summary rows, charts (and whether their SVG has drawn elements), pictures."""

    VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack = []  # (tag, attrs)
        self.sections = []
        self.rows = {}
        self.charts = {}  # (sweep, chart) -> {"svg": bool, "drawn": int, "text": int}
        self.pictures = {}

    def sweep(self):
        for tag, attrs in reversed(self.stack):
            if tag == "section" and "sweep" in attrs.get("class", "").split():
                return attrs.get("data-sweep")
        return None

    def chart(self):
        for tag, attrs in reversed(self.stack):
            if tag == "figure" and "chart" in attrs.get("class", "").split():
                return self.charts.get((self.sweep(), attrs.get("data-chart")))
        return None

    def handle_starttag(self, tag, attrs):
        attrs = {k: v or "" for k, v in attrs}
        classes = attrs.get("class", "").split()
        if tag == "section" and "sweep" in classes:
            self.sections.append(attrs.get("data-sweep"))
        if tag == "tr" and "config" in classes:
            name = attrs.get("data-sweep")
            self.rows[name] = self.rows.get(name, 0) + 1
        if tag == "figure" and "chart" in classes:
            self.stack.append((tag, attrs))
            self.charts[(self.sweep(), attrs.get("data-chart"))] = {"svg": False, "drawn": 0, "text": 0}
            return
        chart = self.chart()
        if chart is not None:
            if tag == "svg":
                chart["svg"] = True
            elif tag in ("polyline", "path", "circle", "rect", "line", "polygon"):
                chart["drawn"] += 1
            elif tag == "text":
                chart["text"] += 1
        if tag == "img" and attrs.get("src", "").startswith("data:image/png;base64,"):
            name = self.sweep()
            self.pictures[name] = self.pictures.get(name, 0) + 1
        if tag not in self.VOID:
            self.stack.append((tag, attrs))

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in self.VOID and self.stack and self.stack[-1][0] == tag:
            self.stack.pop()

    def handle_endtag(self, tag):
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i][0] == tag:
                del self.stack[i:]
                return


def pairs(values, what):
    out = {}
    for v in values:
        name, sep, rest = v.partition("=")
        if not sep:
            raise SystemExit(f"check_html_report: {what} {v!r}: expected SWEEP=…")
        out[name] = rest
    return out


def dom(args):
    problems = []
    with open(args.dom, encoding="utf-8") as f:
        parser = Dom()
        parser.feed(f.read())
    with open(args.report_json, encoding="utf-8") as f:
        sweeps = json.load(f)
    charts = {k: [c for c in v.split(",") if c] for k, v in pairs(args.charts, "--charts").items()}
    pictures = {k: int(v) for k, v in pairs(args.pictures, "--pictures").items()}
    for sweep in sweeps:
        name, want = sweep["sweep"], len(sweep["rows"])
        if name not in parser.sections:
            problems.append(f"sweep {name}: no section in the DOM")
            continue
        got = parser.rows.get(name, 0)
        if got != want:
            problems.append(f"sweep {name}: {got} summary rows in the DOM, `runner report` has {want}")
        for chart in charts.get(name, []):
            found = parser.charts.get((name, chart))
            if found is None:
                problems.append(f"sweep {name}: no chart {chart!r} in the DOM")
            elif not found["svg"] or found["drawn"] < 5 or found["text"] < 3:
                problems.append(f"sweep {name}: chart {chart!r} has no drawn SVG ({found})")
        extra = sorted(c for (s, c) in parser.charts if s == name and c not in charts.get(name, []))
        if name in charts and extra:
            problems.append(f"sweep {name}: charts not expected: {extra}")
        if name in pictures and parser.pictures.get(name, 0) != pictures[name]:
            problems.append(f"sweep {name}: {parser.pictures.get(name, 0)} embedded pictures, expected {pictures[name]}")
        if not problems:
            n = len(charts.get(name, []))
            print(f"check_html_report: ok sweep {name}: {got} rows, {n} charts drawn, {parser.pictures.get(name, 0)} pictures")
    return problems


def png(path, width, height):
    """Size from the header; 'not blank' from the decoded first IDAT stream's variety of bytes."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        return [f"{path}: {e}"]
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        return [f"{path}: not a PNG"]
    w, h = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    problems = []
    if (w, h) != (width, height):
        problems.append(f"{path}: {w}x{h}, expected {width}x{height}")
    idat, i = b"", 8
    while i < len(data):
        n = int.from_bytes(data[i : i + 4], "big")
        if data[i + 4 : i + 8] == b"IDAT":
            idat += data[i + 8 : i + 8 + n]
        i += 12 + n
    raw = zlib.decompress(idat)
    if len(set(raw)) < 16:
        problems.append(f"{path}: looks blank ({len(set(raw))} distinct byte values)")
    if not problems:
        print(f"check_html_report: ok {path}: {w}x{h}, {len(data) // 1024} KiB")
    return problems


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0], epilog=__doc__.split("\n\n", 1)[1],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    n = sub.add_parser("netlog")
    n.add_argument("netlogs", nargs="+")
    d = sub.add_parser("dom")
    d.add_argument("dom")
    d.add_argument("--report-json", required=True)
    d.add_argument("--charts", action="append", default=[])
    d.add_argument("--pictures", action="append", default=[])
    p = sub.add_parser("png")
    p.add_argument("file")
    p.add_argument("width", type=int)
    p.add_argument("height", type=int)
    args = parser.parse_args(argv)
    if args.command == "netlog":
        problems = netlog(args.netlogs)
    elif args.command == "dom":
        problems = dom(args)
    else:
        problems = png(args.file, args.width, args.height)
    for problem in problems:
        print(f"check_html_report: FAILED: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
