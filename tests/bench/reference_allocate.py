#!/usr/bin/env python3
"""The reference design's documented allocate_port() algorithm (steps 1-10), as the reference scripts
do it: no lock, in-place rewrite. Used only as the benchmark's baseline."""
import json
import sys
from datetime import datetime, timezone


def allocate_port(registry_path, service_type, worktree_id, description=""):
    with open(registry_path) as f:  # 1. load
        registry = json.load(f)
    if service_type not in registry["ranges"]:  # 2. verify the service
        raise ValueError(f"Invalid service type: {service_type}")
    rng = registry["ranges"][service_type]  # 3. start and end
    allocated = {a["port"] for a in registry["allocations"]  # 4. allocated ports in range
                 if rng["start"] <= a["port"] <= rng["end"]}
    port = next((p for p in range(rng["start"], rng["end"] + 1)  # 5. first unallocated
                 if p not in allocated), None)
    if port is None:
        raise RuntimeError(f"No available ports in {service_type} range")
    now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    registry["allocations"].append({  # 6-7. record it
        "port": port, "worktree": worktree_id, "service": service_type,
        "allocated_at": now, "allocated_by": "bench@host", "description": description,
        "process_id": None, "health_status": "unknown",
    })
    registry["metadata"]["last_updated"] = now  # 8. metadata
    registry["metadata"]["total_allocations"] = len(registry["allocations"])
    with open(registry_path, "w") as f:  # 9. write back
        json.dump(registry, f, indent=2)
    return port  # 10.


if __name__ == "__main__":
    print(allocate_port(sys.argv[1], sys.argv[2], sys.argv[3]))
