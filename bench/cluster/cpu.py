#!/usr/bin/env python3
"""CPU seconds (user + system) per process group on this machine, from /proc/PID/stat:
the YouMeYou instances, the Socket.IO nodes, the load client, PostgreSQL and the Redis on
port 6379. `cpu.py` prints a snapshot as JSON; `cpu.py BEFORE_JSON LABEL` prints what each
group used since that snapshot (run.sh wraps every fan-out with it)."""
import json
import os
import sys

TICK = os.sysconf("SC_CLK_TCK")


def snapshot():
    groups = {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
            with open(f"/proc/{pid}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        cpu = (int(fields[11]) + int(fields[12])) / TICK
        if "cluster_bench serve" in cmd:
            group = "youmeyou"
        elif "node" in cmd and "server.mjs" in cmd:
            group = "socketio"
        elif "cluster_bench fanout" in cmd:
            group = "client"
        elif cmd.startswith("postgres"):
            group = "postgres"
        elif "redis-server" in cmd and ":6379" in cmd:
            group = "redis"
        else:
            continue
        groups[group] = groups.get(group, 0.0) + cpu
    return groups


if __name__ == "__main__":
    now = snapshot()
    if len(sys.argv) < 3:
        print(json.dumps(now))
    else:
        before = json.loads(sys.argv[1])
        used = {g: round(now.get(g, 0.0) - before.get(g, 0.0), 2) for g in sorted(set(now) | set(before))}
        print(json.dumps({"bench": "cpu-seconds", "label": sys.argv[2], **used}))
