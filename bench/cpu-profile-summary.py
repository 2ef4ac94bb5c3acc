#!/usr/bin/env python3
"""Summary of a V8 .cpuprofile (from `node --cpu-prof`): where the main thread's samples fall.

    python3 bench/cpu-profile-summary.py FILE.cpuprofile [--top 30]

Prints the sample count, then the share of samples by script (self time), by function (self
time, the function's own code) and by function inclusive (the function and what it called),
each function named as (name, script, line). Standard library only: it runs on the GPU machine
beside bench/host-profile.ts --gpu as well as here.
"""
import argparse
import collections
import json
import os


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("profile")
    parser.add_argument("--top", type=int, default=30)
    args = parser.parse_args()
    with open(args.profile) as f:
        profile = json.load(f)
    nodes = {node["id"]: node for node in profile["nodes"]}
    parent = {}
    for node in profile["nodes"]:
        for child in node.get("children", []):
            parent[child] = node["id"]
    samples = profile["samples"]
    total = len(samples)

    def frame(node_id):
        call = nodes[node_id]["callFrame"]
        script = call["url"].split("/.device/")[-1] if call["url"] else ""
        return (call["functionName"] or "(anonymous)", os.path.basename(script), call["lineNumber"])

    self_by_frame = collections.Counter()
    self_by_script = collections.Counter()
    inclusive = collections.Counter()
    for node_id in samples:
        self_by_frame[frame(node_id)] += 1
        self_by_script[frame(node_id)[1]] += 1
        seen = set()
        walk = node_id
        while walk is not None:
            key = frame(walk)
            if key not in seen:  # a recursive function counts once per sample
                seen.add(key)
                inclusive[key] += 1
            walk = parent.get(walk)

    print(f"samples {total}")
    for title, counter in (("by script, self", self_by_script), ("self", self_by_frame), ("inclusive", inclusive)):
        print(f"-- {title}")
        for key, count in counter.most_common(args.top):
            print(f"{100 * count / total:5.1f}% {key}")


if __name__ == "__main__":
    main()
