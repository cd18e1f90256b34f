#!/usr/bin/env python3
"""What CalDAV costs the worker (#39): worker CPU per request of CalDAV's reads against their
JSON twins, through the product's nginx (IntegrationTests/stack.py: 2 processes x 4 threads,
SQLite, or PostgreSQL with TODO_TEST_POSTGRES).

A user with 100 tasks (made through the API, with due dates, tags and priorities); each round
runs every scenario for --duration seconds with wrk and reads the workers' CPU time from /proc:
  json-list      GET /api/{user}/tasks?limit=100                          (the reference)
  query          REPORT calendar-query, getetag + calendar-data, the 100 tasks
  propfind       PROPFIND Depth 1 on the calendar, getetag + getcontenttype, the 100 tasks
  json-get       GET /api/{user}/tasks/{id}                               (the reference)
  sync-empty     REPORT sync-collection with the current token: no changes
  sync-basic     the same with Basic and an app password (one more query: the digests)
  json-list-apps GET of a second user's 100 tasks, made by CalDAV PUTs as an app writes them
                 (zoned DUE with its VTIMEZONE, an alarm, X- properties)      (the reference)
  query-apps     calendar-query of those: each object merges the task with its kept text
Prints each round and the medians, with each CalDAV read's CPU over its reference's.
Usage: bench/caldav.py [--rounds 3] [--duration 5] [--connections 8] [--only SCENARIO ...]
"""
import argparse
import base64
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(REPO, "IntegrationTests"))
from stack import Stack, make_token  # noqa: E402

PAIRS = [("query", "json-list"), ("propfind", "json-list"), ("sync-empty", "json-get"), ("sync-basic", "json-get"),
         ("query-apps", "json-list-apps")]

# A task as the apps write one (tasks.org through DAVx5, Thunderbird): a zoned DUE with its
# VTIMEZONE, an alarm, and properties of their own, all kept and written back on every read.
APP_OBJECT = """BEGIN:VCALENDAR\r
VERSION:2.0\r
PRODID:+//IDN tasks.org//android-130800//EN\r
BEGIN:VTODO\r
DTSTAMP:20261201T080000Z\r
UID:{uid}\r
CREATED:20261201T080000Z\r
LAST-MODIFIED:20261201T080000Z\r
SUMMARY:app task {number}\r
DESCRIPTION:made in an app, with a note\r
PRIORITY:{priority}\r
STATUS:NEEDS-ACTION\r
CATEGORIES:phone,t{tag}\r
DUE;TZID=Europe/Berlin:202701{day:02d}T090000\r
X-APPLE-SORT-ORDER:{number}\r
X-TASKS-ORG-ORDER:{number}\r
BEGIN:VALARM\r
TRIGGER;RELATED=END:PT0S\r
ACTION:DISPLAY\r
DESCRIPTION:Default Tasks.org description\r
END:VALARM\r
END:VTODO\r
BEGIN:VTIMEZONE\r
TZID:Europe/Berlin\r
BEGIN:STANDARD\r
TZOFFSETFROM:+0200\r
TZOFFSETTO:+0100\r
DTSTART:19961027T030000\r
RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU\r
TZNAME:CET\r
END:STANDARD\r
BEGIN:DAYLIGHT\r
TZOFFSETFROM:+0100\r
TZOFFSETTO:+0200\r
DTSTART:19810329T020000\r
RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU\r
TZNAME:CEST\r
END:DAYLIGHT\r
END:VTIMEZONE\r
END:VCALENDAR\r
"""


def cpu_ticks(pids):
    total = 0
    for pid in pids:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=5)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--only", action="append", help="run only this scenario (again for more); for profiling one read")
    args = parser.parse_args()
    stack = Stack(processes=2, threads=4).start()
    scratch = tempfile.mkdtemp(prefix="todo-fcgi-caldav-bench-")
    try:
        user = "bench-caldav"
        token = make_token(user, lifetime=3600)
        ids = []
        for number in range(100):
            made = stack.request("POST", f"/api/{user}/tasks", token=token, body={
                "title": f"task {number}", "description": "seeded for the CalDAV benchmark", "priority": ["low", "medium", "high"][number % 3],
                "tags": ["bench", f"t{number % 5}"], "due_date": f"2027-01-{number % 28 + 1:02d}T09:00:00Z"})
            assert made.status == 201, made.body
            ids.append(made.json["id"])
        apps_user = "bench-caldav-apps"
        apps_token = make_token(apps_user, lifetime=3600)
        for number in range(100):
            uid = f"app-{number}-0f1e2d3c@tasks.org"
            made = stack.request("PUT", f"/dav/calendars/{apps_user}/tasks/{uid}.ics", content_type="text/calendar",
                                 headers={"Authorization": "Bearer " + apps_token, "If-None-Match": "*"},
                                 body=APP_OBJECT.format(uid=uid, number=number, priority=[9, 5, 1][number % 3], tag=number % 5,
                                                        day=number % 28 + 1).encode())
            assert made.status == 201, made.body
        password = stack.request("POST", f"/api/{user}/app-passwords", token=token, body={"name": "bench"}).json["password"]
        bearer = "Bearer " + token
        basic = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
        calendar = f"/dav/calendars/{user}/tasks/"
        first = stack.request("REPORT", calendar, body=b'<d:sync-collection xmlns:d="DAV:"><d:sync-token/><d:sync-level>1</d:sync-level>'
                              b'<d:prop><d:getetag/></d:prop></d:sync-collection>', content_type="application/xml",
                              headers={"Authorization": bearer})
        sync_token = re.search(rb"<D:sync-token>([^<]+)</D:sync-token>", first.body).group(1).decode()
        bodies = {
            "query": '<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><D:getetag/><C:calendar-data/>'
                     '</D:prop><C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VTODO"/></C:comp-filter></C:filter>'
                     '</C:calendar-query>',
            "propfind": '<d:propfind xmlns:d="DAV:"><d:prop><d:getetag/><d:getcontenttype/></d:prop></d:propfind>',
            "sync": f'<d:sync-collection xmlns:d="DAV:"><d:sync-token>{sync_token}</d:sync-token><d:sync-level>1</d:sync-level>'
                    '<d:prop><d:getetag/></d:prop></d:sync-collection>',
        }
        files = {}
        for name, text in bodies.items():
            files[name] = os.path.join(scratch, name + ".xml")
            with open(files[name], "w") as f:
                f.write(text)
        scenarios = {
            "json-list": ("GET", f"/api/{user}/tasks?limit=100", bearer, "", ""),
            "query": ("REPORT", calendar, bearer, "1", files["query"]),
            "propfind": ("PROPFIND", calendar, bearer, "1", files["propfind"]),
            "json-get": ("GET", f"/api/{user}/tasks/{ids[50]}", bearer, "", ""),
            "sync-empty": ("REPORT", calendar, bearer, "", files["sync"]),
            "sync-basic": ("REPORT", calendar, basic, "", files["sync"]),
            "json-list-apps": ("GET", f"/api/{apps_user}/tasks?limit=100", "Bearer " + apps_token, "", ""),
            "query-apps": ("REPORT", f"/dav/calendars/{apps_user}/tasks/", "Bearer " + apps_token, "1", files["query"]),
        }
        rounds = []
        for number in range(args.rounds):
            results = {}
            for name, (method, target, auth, depth, body) in scenarios.items():
                if args.only and name not in args.only:
                    continue
                env = dict(os.environ, METHOD=method, TARGET=target, AUTH=auth, DEPTH=depth, BODY_FILE=body)
                before = cpu_ticks(stack.worker_pids)
                out = subprocess.run(["wrk", "-t2", f"-c{args.connections}", f"-d{args.duration}s", "-s",
                                      os.path.join(REPO, "bench", "caldav.lua"), f"http://127.0.0.1:{stack.port}/"],
                                     env=env, capture_output=True, text=True, check=True).stdout
                after = cpu_ticks(stack.worker_pids)
                requests, non2xx = map(int, re.search(r"REQUESTS (\d+) NON2XX (\d+)", out).groups())
                if non2xx:
                    sys.exit(f"{name}: {non2xx} answers not 2xx")
                results[name] = ((after - before) * 1e6 / os.sysconf("SC_CLK_TCK") / requests, requests / args.duration)
            rounds.append(results)
            print(f"round {number + 1}: " + ", ".join(f"{n} {cpu:.0f} µs {rps:.0f}/s" for n, (cpu, rps) in results.items()),
                  file=sys.stderr)
        print(f"\n{os.environ.get('TODO_TEST_POSTGRES') and 'PostgreSQL' or 'SQLite'}, 100 tasks, medians of {args.rounds} rounds "
              f"of {args.duration} s, {args.connections} connections:\n")
        print("| scenario | worker CPU per request (µs) | req/s | CPU over its reference |")
        print("|---|---|---|---|")
        reference = dict((a, b) for a, b in PAIRS)
        for name in rounds[0]:
            cpu = statistics.median(r[name][0] for r in rounds)
            rps = statistics.median(r[name][1] for r in rounds)
            ratio = ""
            if name in reference and reference[name] in rounds[0]:
                ratio = f"{statistics.median(r[name][0] / r[reference[name]][0] for r in rounds):.2f}× {reference[name]}"
            print(f"| {name} | {cpu:.0f} | {rps:.0f} | {ratio} |")
    finally:
        stack.stop()
        subprocess.run(["rm", "-rf", scratch])


if __name__ == "__main__":
    main()
