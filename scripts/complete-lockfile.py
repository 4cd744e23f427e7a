#!/usr/bin/env python3
"""Adds lock entries for other platforms' optional native packages (chdb's engine, msgpackr-extract).

The registry mirror on our build machines serves only the linux-x64 builds, so `npm install`
writes a lock without the others, and `npm ci` then refuses the lock as out of sync. Run this
after any `npm install` that rewrites package-lock.json:  python3 scripts/complete-lockfile.py
The entries carry os/cpu, so npm skips them on other platforms and fetches them where they fit.
"""
import json, re, pathlib
path = pathlib.Path(__file__).resolve().parent.parent / 'package-lock.json'
lock = json.loads(path.read_text())
pk = lock['packages']
added = []
for meta in list(pk.values()):
    for name, ver in (meta.get('optionalDependencies') or {}).items():
        key = 'node_modules/' + name
        if key in pk:
            continue
        m = re.search(r'(darwin|linux|win32|freebsd)-(x64|arm64|arm|ia32)(-(gnu|musl))?$', name)
        if not m:
            continue
        entry = {"version": ver.lstrip('^~='), "cpu": [m.group(2)], "optional": True, "os": [m.group(1)]}
        if m.group(4):
            entry["libc"] = ["glibc" if m.group(4) == 'gnu' else 'musl']
        pk[key] = entry
        added.append(key)
lock['packages'] = dict(sorted(pk.items(), key=lambda kv: (kv[0] != '', kv[0])))
path.write_text(json.dumps(lock, indent=2) + '\n')
print('added', len(added), 'entries:', ', '.join(added) or 'none')
