#!/usr/bin/env python3
"""Baselines for the read-side commands, done the way the reference scripts do them: load the
whole registry with json.load, then look up, filter or group. Used only by the benchmark.

    reference_ops.py ensure REGISTRY SERVICE WORKTREE   # the held port (no write)
    reference_ops.py list REGISTRY WORKTREE             # one worktree's allocations
    reference_ops.py status REGISTRY                    # every allocation, grouped by service
"""
import json
import sys


def load(path):
    with open(path) as f:
        return json.load(f)


def main(op, path, *args):
    registry = load(path)
    if op == "ensure":
        service, worktree = args
        held = next(a for a in registry["allocations"] if a["service"] == service and a["worktree"] == worktree)
        print(held["port"])
    elif op == "list":
        (worktree,) = args
        for a in registry["allocations"]:
            if a["worktree"] == worktree:
                print(f"Port {a['port']} ({a['service']}): {a['description']}")
    elif op == "status":
        by_service = {}
        for a in registry["allocations"]:
            by_service.setdefault(a["service"], []).append(a)
        out = []
        for service, rng in registry["ranges"].items():
            held = by_service.get(service, [])
            out.append(f"{service}: {rng['start']}-{rng['end']} ({len(held)} allocated)")
            out.extend(f"  {a['port']}: {a['worktree']} - {a['description']}" for a in held)
        sys.stdout.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main(*sys.argv[1:])
