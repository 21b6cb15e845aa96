#!/usr/bin/env python3
"""Bytes sent between the processes of a benchmark, per workload (README, Performance: queue partitions).

Runs a command (Jobs.Bench), samples the TCP connections among its process tree with `ss -tinp` every 0.25 s, and
for each workload line the benchmark prints on stderr ("SYSTEM WORKLOAD: S s") reports the bytes sent per pair of
roles (seed, w1, w2, redis, client) over that workload's window. A connection's counter only grows, so the largest
value seen is kept; one opened and closed between two samples is missed (remoting's connections live for the run).

Usage: python3 tools/netsample.py OUT.json -- dotnet run -c Release --project Jobs.Bench -- --target cluster ...
"""
import json
import os
import re
import subprocess
import sys
import threading
import time

out = sys.argv[1]
cmd = sys.argv[sys.argv.index('--') + 1:]
proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True)
root = proc.pid
samples = []  # (t, {pair: bytes})
seen = {}     # (local, peer) -> (pair, max bytes_sent)
events = []   # (t_end, system, workload, seconds)
stop = False

def descendants():
    kids = {}
    for p in os.listdir('/proc'):
        if not p.isdigit():
            continue
        try:
            with open(f'/proc/{p}/stat') as f:
                ppid = int(f.read().rsplit(')', 1)[1].split()[1])
            kids.setdefault(ppid, []).append(int(p))
        except Exception:
            pass
    result, todo = set(), [root]
    while todo:
        p = todo.pop()
        result.add(p)
        todo.extend(kids.get(p, []))
    return result

def role(pid):
    try:
        with open(f'/proc/{pid}/cmdline') as f:
            c = f.read().split('\0')
    except Exception:
        return None
    if any('redis-server' in a for a in c):
        return 'redis'
    if any(a.endswith('Jobs.Seed.dll') for a in c):
        return 'seed'
    if '--hostname' in c:
        return c[c.index('--hostname') + 1]
    return 'client'


def sample():
    pids = descendants()
    roles = {p: role(p) for p in pids}
    text = subprocess.run(['ss', '-tinpH', 'state', 'established'], capture_output=True, text=True).stdout.split('\n')
    conns, owner = [], {}
    i = 0
    while i < len(text):
        parts = text[i].split()
        if len(parts) >= 5 and 'users:' in text[i]:
            local, peer = parts[2], parts[3]
            pm = re.search(r'pid=(\d+)', text[i])
            info = text[i + 1] if i + 1 < len(text) else ''
            bm = re.search(r'bytes_sent:(\d+)', info)
            if pm:
                pid = int(pm.group(1))
                owner[local] = pid
                conns.append((local, peer, pid, int(bm.group(1)) if bm else 0))
            i += 2
        else:
            i += 1
    for local, peer, pid, sent in conns:
        if pid not in pids or owner.get(peer) not in pids:
            continue
        pair = f'{roles[pid]}->{roles[owner[peer]]}'
        key = (local, peer)
        old = seen.get(key, (pair, 0))[1]
        seen[key] = (pair, max(old, sent))
    totals = {}
    for pair, b in seen.values():
        totals[pair] = totals.get(pair, 0) + b
    samples.append((time.time(), totals))

def sampler():
    while not stop:
        try:
            sample()
        except Exception as e:
            print('sample failed', e, file=sys.stderr)
        time.sleep(0.25)

t = threading.Thread(target=sampler, daemon=True)
t.start()
wl = re.compile(r'^(\S+) (\S+): ([0-9.]+) s$')
for line in proc.stderr:
    sys.stderr.write(line)
    m = wl.match(line.strip())
    if m:
        events.append((time.time(), m.group(1), m.group(2), float(m.group(3))))
proc.wait()
stop = True
t.join()

def at(ts):
    best = min(samples, key=lambda s: abs(s[0] - ts))
    return best[1]

report = []
for t_end, system, workload, secs in events:
    a, b = at(t_end - secs), at(t_end)
    delta = {k: b.get(k, 0) - a.get(k, 0) for k in set(a) | set(b)}
    report.append({'system': system, 'workload': workload, 'seconds': secs,
                   'bytes': {k: v for k, v in sorted(delta.items()) if v > 0}})
json.dump(report, open(out, 'w'), indent=1)
print(json.dumps(report, indent=1), file=sys.stderr)
sys.exit(proc.returncode)
