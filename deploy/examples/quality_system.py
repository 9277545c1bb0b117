#!/usr/bin/env python3
"""A quality system in 20 lines: follows the organisation's change feed with its API key, fetches
each deviation with the same key, and prints it under the organisation's own category. Keeps its
place in a file, so a restart goes on where it stopped and nothing is missed or read twice.

usage: SAMAVVIK_URL=https://samavvik.example SAMAVVIK_API_KEY=sav_… quality_system.py [--once]
"""
import json, os, sys, time, urllib.request

BASE, KEY = os.environ["SAMAVVIK_URL"].rstrip("/"), os.environ["SAMAVVIK_API_KEY"]
PLACE = os.environ.get("SAMAVVIK_CURSOR_FILE", "samavvik-cursor.txt")

def get(path):
    req = urllib.request.Request(BASE + path, headers={"Authorization": f"Bearer {KEY}"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.load(resp)

cursor = open(PLACE).read().strip() if os.path.exists(PLACE) else ""
while True:
    page = get("/api/v1/feed?limit=100" + (f"&after={cursor}" if cursor else ""))
    for event in page["items"]:
        d = get(f"/api/v1/deviations/{event['deviation_id']}")
        local = d["local_category"] or {"code": "-", "label": "(ikke koblet)"}
        print(f"{event['type']:<12} {d['reference']}  {local['code']:<12} {local['label']}  status {event['status']}")
        cursor = event["cursor"]
        open(PLACE, "w").write(cursor)  # after the work is done: at least once, never skipped
    if not page["items"]:
        if "--once" in sys.argv:
            break
        time.sleep(10)
