#!/usr/bin/env python3
"""Summarises the server's own latency histograms (GET /metrics) by route: requests, the share above
50 ms, and the bucket holding the median and the 99th percentile. With a second file taken before
the run, only the requests in between are counted (the histograms are cumulative).

Usage: route_latency.py METRICS_FILE [METRICS_BEFORE]   (standard library only)
"""
import collections
import re
import sys

line = re.compile(r'http_request_duration_seconds_bucket\{(?P<labels>.*)\} (?P<count>\S+)$')


def read(path):
    buckets = collections.defaultdict(dict)
    for text in open(path, encoding="utf-8"):
        m = line.search(text)
        if not m:
            continue
        labels = dict(re.findall(r'(\w+)="([^"]*)"', m["labels"]))
        route = f'{labels["method"]} {labels["route"]} {labels["status"]}'
        le = float("inf") if labels["le"] == "+Inf" else float(labels["le"])
        buckets[route][le] = buckets[route].get(le, 0) + float(m["count"])
    return buckets


buckets = read(sys.argv[1])
if len(sys.argv) > 2:
    for route, by_le in read(sys.argv[2]).items():
        for le, count in by_le.items():
            buckets[route][le] -= count


def bound(cumulative, total, share):
    for le, count in cumulative:
        if count >= share * total:
            return "> 10 s" if le == float("inf") else f"<= {le * 1000:g} ms"
    return "?"


print(f'{"route":<44} {"requests":>9} {">50 ms":>8}  {"p50":>10}  {"p99":>10}')
for route, by_le in sorted(buckets.items(), key=lambda kv: -max(kv[1].values())):
    cumulative = sorted(by_le.items())
    total = cumulative[-1][1]
    if total < 10:
        continue
    over = 1 - by_le.get(0.05, 0) / total
    print(f"{route:<44} {int(total):>9} {over:>8.1%}  {bound(cumulative, total, 0.5):>10}  {bound(cumulative, total, 0.99):>10}")
