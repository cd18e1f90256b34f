"""CalDAV (Addendum v2.2) through the real stack: nginx (the product's configuration) ->
FastCGI -> todo-fcgi -> SQLite or PostgreSQL, with real clients written elsewhere: the python
`caldav` library, and vdirsyncer + todoman (Debian's packages; Debian names todoman's command
`todoman`). Each round trip is checked against the JSON API, and the reverse."""
import base64
import glob
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time

import caldav
import pytest

from stack import make_token


def app_password(stack, user, token, name="test"):
    response = stack.request("POST", f"/api/{user}/app-passwords", token=token, body={"name": name})
    assert response.status == 201, response.body
    return response.json["password"]


def tasks(stack, user, token, query=""):
    response = stack.request("GET", f"/api/{user}/tasks?limit=100{query}", token=token)
    assert response.status == 200, response.body
    return response.json


def basic(user, password):
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def test_python_caldav_discovers_creates_lists_completes_syncs_and_deletes(stack, user, token):
    password = app_password(stack, user, token)
    # Discovery from the well-known URL (RFC 6764): a 301 to /dav/, then the principal and its home.
    client = caldav.DAVClient(url=f"http://127.0.0.1:{stack.port}/.well-known/caldav", username=user, password=password)
    calendars = client.principal().calendars()
    assert [(str(c.url), c.get_display_name()) for c in calendars] == [
        (f"http://127.0.0.1:{stack.port}/dav/calendars/{user}/tasks/", "Tasks")]
    calendar = calendars[0]

    made = calendar.save_todo(summary="Buy milk", priority=1, categories=["shop", "home"])
    [task] = tasks(stack, user, token)
    assert task["title"] == "Buy milk" and task["priority"] == "high" and sorted(task["tags"]) == ["home", "shop"]
    assert task["uid"] == str(made.icalendar_component["uid"])

    # A task made in the web front end is in the calendar.
    web = stack.request("POST", f"/api/{user}/tasks", token=token, body={"title": "Call mum", "due_date": "2027-01-15"})
    assert web.status == 201
    listed = {str(todo.icalendar_component["summary"]): todo for todo in calendar.todos()}
    assert sorted(listed) == ["Buy milk", "Call mum"]
    assert str(listed["Call mum"].icalendar_component["due"].to_ical().decode()) == "20270115"

    # Completing in the app completes in the API; the completed task leaves the open list.
    listed["Buy milk"].complete()
    done = [t for t in tasks(stack, user, token) if t["title"] == "Buy milk"][0]
    assert done["completed"] is True and done["completed_at"] is not None
    assert [str(t.icalendar_component["summary"]) for t in calendar.todos()] == ["Call mum"]
    assert len(calendar.todos(include_completed=True)) == 2

    # Sync tokens: a first sync lists everything, a later one only what changed, on the API's numbering.
    first = calendar.objects_by_sync_token(load_objects=True)
    assert len(list(first)) == 2
    edited = stack.request("PATCH", f"/api/{user}/tasks/{web.json['id']}", token=token, body={"title": "Call mum today"},
                           content_type="application/merge-patch+json")
    assert edited.status == 200
    changed = calendar.objects_by_sync_token(sync_token=first.sync_token, load_objects=True)
    assert [str(o.icalendar_component["summary"]) for o in changed] == ["Call mum today"]

    # Deleting in the app deletes in the API, and the next sync says so.
    listed["Buy milk"].delete()
    assert [t["title"] for t in tasks(stack, user, token)] == ["Call mum today"]
    after_delete = calendar.objects_by_sync_token(sync_token=changed.sync_token, load_objects=False)
    assert [str(o.url).rsplit("/", 1)[-1] for o in after_delete] == [str(made.url).rsplit("/", 1)[-1]]


def test_vdirsyncer_and_todoman_sync_both_ways(stack, user, token):
    password = app_password(stack, user, token, "vdirsyncer")
    home = tempfile.mkdtemp()
    try:
        config = os.path.join(home, "vdirsyncer.conf")
        with open(config, "w") as f:
            f.write(f"""
[general]
status_path = "{home}/status/"

[pair tasks]
a = "local"
b = "remote"
collections = ["from b"]

[storage local]
type = "filesystem"
path = "{home}/calendars/"
fileext = ".ics"

[storage remote]
type = "caldav"
url = "http://127.0.0.1:{stack.port}/.well-known/caldav"
username = "{user}"
password = "{password}"
""")
        todoman_config = os.path.join(home, "todoman.py")
        with open(todoman_config, "w") as f:
            f.write(f'path = "{home}/calendars/*"\ndate_format = "%Y-%m-%d"\ntime_format = "%H:%M"\ndefault_list = "tasks"\n')
        env = dict(os.environ, HOME=home)

        def run(*args, stdin=None):
            result = subprocess.run(list(args), capture_output=True, text=True, env=env, input=stdin, timeout=120)
            assert result.returncode == 0, f"{args}: {result.stdout}{result.stderr}"
            return result.stdout

        def sync():
            run("vdirsyncer", "-c", config, "sync")

        run("vdirsyncer", "-c", config, "discover", stdin="y\n" * 5)
        sync()
        # A task made in todoman appears in the JSON API.
        run("todoman", "-c", todoman_config, "new", "-l", "tasks", "Water the plants")
        sync()
        assert [t["title"] for t in tasks(stack, user, token)] == ["Water the plants"]
        # A JSON change appears in todoman after the next sync.
        made = stack.request("POST", f"/api/{user}/tasks", token=token, body={"title": "Pay rent", "priority": "high"})
        assert made.status == 201
        sync()
        listed = json.loads(run("todoman", "--porcelain", "-c", todoman_config, "list"))
        assert sorted(t["summary"] for t in listed) == ["Pay rent", "Water the plants"]
        rent = [t for t in listed if t["summary"] == "Pay rent"][0]
        assert rent["priority"] in (1, 2, 3, 4)
        # `todoman done` completes it in the API.
        run("todoman", "-c", todoman_config, "done", str(rent["id"]))
        sync()
        [completed] = tasks(stack, user, token, "&status=completed")
        assert completed["title"] == "Pay rent" and completed["completed"] is True
        # A deletion in the API leaves the local calendar at the next sync.
        water = [t for t in tasks(stack, user, token) if t["title"] == "Water the plants"][0]
        assert stack.request("DELETE", f"/api/{user}/tasks/{water['id']}", token=token).status == 204
        sync()
        local = [open(path).read() for path in glob.glob(os.path.join(home, "calendars", "tasks", "*.ics"))]
        assert len(local) == 1 and "SUMMARY:Pay rent" in local[0]
    finally:
        shutil.rmtree(home, ignore_errors=True)


def test_a_caldav_write_wakes_a_waiting_sync_request(stack, user, token):
    password = app_password(stack, user, token)
    cursor = stack.request("GET", f"/api/{user}/tasks/changes", token=token).json["cursor"]
    answered = {}

    def wait():
        started = time.monotonic()
        response = stack.request("GET", f"/api/{user}/tasks/changes?since={cursor}&wait=20", token=token)
        answered["seconds"] = time.monotonic() - started
        answered["tasks"] = [t["title"] for t in response.json["tasks"]]

    waiter = threading.Thread(target=wait)
    waiter.start()
    time.sleep(0.5)
    body = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VTODO\r\nUID:wake-1\r\nSUMMARY:From an app\r\nEND:VTODO\r\nEND:VCALENDAR\r\n"
    put = stack.request("PUT", f"/dav/calendars/{user}/tasks/wake-1.ics", body=body.encode(), content_type="text/calendar",
                        headers={"Authorization": basic(user, password), "If-None-Match": "*"})
    assert put.status == 201
    waiter.join(30)
    assert answered["tasks"] == ["From an app"] and answered["seconds"] < 10


def test_through_nginx_refusals_keep_their_shapes(stack, user, token):
    password = app_password(stack, user, token)
    auth = {"Authorization": basic(user, password)}
    calendar = f"/dav/calendars/{user}/tasks/"
    # No credentials: 401 with both challenges, an XML body.
    refused = stack.request("PROPFIND", "/dav/", headers={"Depth": "0"})
    assert refused.status == 401 and refused.header("Content-Type").startswith("application/xml")
    assert "Basic" in refused.header("WWW-Authenticate")
    # Discovery needs none.
    assert stack.request("GET", "/.well-known/caldav").status == 301
    # XXE and billion laughs: 400, nothing fetched or expanded.
    xxe = b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]><d:propfind xmlns:d="DAV:">&x;</d:propfind>'
    answer = stack.request("PROPFIND", calendar, body=xxe, content_type="application/xml", headers=dict(auth, Depth="0"))
    assert answer.status == 400 and b"root:" not in answer.body
    # Over 64 KiB: nginx's own 413, in the API's JSON shape.
    big = stack.request("PUT", calendar + "big.ics", body=b"A" * 70_000, content_type="text/calendar", headers=auth)
    assert big.status == 413 and big.json["code"] == "payload_too_large"
    # Another user's calendar: 403; an event: 403 with its precondition.
    assert stack.request("PROPFIND", "/dav/calendars/someone-else/tasks/", headers=dict(auth, Depth="0")).status == 403
    event = b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:e\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    answer = stack.request("PUT", calendar + "e.ics", body=event, content_type="text/calendar", headers=auth)
    assert answer.status == 403 and b"supported-calendar-component" in answer.body
    assert tasks(stack, user, token) == []
    # The JSON API keeps its JSON everywhere else; an app password never opens it.
    assert stack.request("GET", f"/api/{user}/tasks", headers=auth).json["code"] == "missing_token"
