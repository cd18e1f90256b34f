"""Task model v2 (../shared/contract/tasks-v2.md) end to end through nginx, on whichever backend
the pass runs (SQLite, then PostgreSQL): each test names the contract section it holds."""
import json
import re
import threading
import time

import pytest

from stack import make_token

V2_FIELDS = {"id", "user_id", "title", "description", "completed", "created_at", "updated_at", "priority", "tags",
             "due_date", "recurrence", "completed_at", "next_task_id", "version", "uid"}
TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")


def create(stack, user, token, body, headers=None):
    response = stack.request("POST", f"/api/{user}/tasks", token, body, headers=headers)
    assert response.status == 201, response.body
    return response.json


def patch(stack, user, token, task_id, body, content_type="application/merge-patch+json", headers=None):
    return stack.request("PATCH", f"/api/{user}/tasks/{task_id}", token, body, content_type=content_type, headers=headers)


# --- §0 changes to v1 ----------------------------------------------------------------------------

def test_s0_unknown_body_fields_are_ignored_at_any_depth_on_every_write(stack, user, token):
    task = create(stack, user, token, {"title": "t", "priority_id": 3, "due_date": "2026-12-24T18:00:00Z",
                                       "recurrence": {"frequency": "weekly", "every": "monday"}, "extra": {"a": [1]}})
    assert set(task) == V2_FIELDS and task["recurrence"] == {"frequency": "weekly", "interval": 1}
    for method, path, body in (("PUT", f"/api/{user}/tasks/{task['id']}", {"title": "u", "colour": "red"}),
                               ("PATCH", f"/api/{user}/tasks/{task['id']}", {"title": "v", "colour": "red"}),
                               ("PATCH", f"/api/{user}/tasks/{task['id']}/complete", {"completed": True, "colour": "red"})):
        response = stack.request(method, path, token, body)
        assert response.status == 200, (method, path, response.body)
        assert b"colour" not in response.body and set(response.json) == V2_FIELDS


def test_s0_read_only_fields_echoed_back_are_ignored_but_keep_their_types(stack, user, token):
    task = create(stack, user, token, {"title": "echo"})
    echoed = dict(task, title="echoed", id=999, user_id="mallory", version=77, created_at="x", next_task_id=None)
    response = stack.request("PUT", f"/api/{user}/tasks/{task['id']}", token, echoed)
    assert response.status == 200 and response.json["title"] == "echoed"
    assert response.json["user_id"] == user and response.json["id"] == task["id"] and response.json["version"] == 2
    for bad in ({"version": "2"}, {"next_task_id": "x"}, {"completed_at": 5}, {"id": 0}):
        assert stack.request("PUT", f"/api/{user}/tasks/{task['id']}", token, dict(bad, title="x")).is_error("validation_error"), bad


def test_s0_unknown_list_parameters_are_ignored(stack, user, token):
    create(stack, user, token, {"title": "one"})
    response = stack.request("GET", f"/api/{user}/tasks?search=&page=2&status=all", token)
    assert response.status == 200 and len(response.json) == 1
    assert stack.request("GET", f"/api/{user}/tasks?status=all&status=all", token).is_error("invalid_query")
    assert stack.request("GET", f"/api/{user}/tasks?limit=", token).is_error("invalid_query")


def test_s0_put_updates_only_given_fields_and_null_clears_or_resets(stack, user, token):
    task = create(stack, user, token, {"title": "t", "description": "keep me", "priority": "high", "tags": ["a"],
                                       "due_date": "2026-12-24T18:00:00Z"})
    kept = stack.request("PUT", f"/api/{user}/tasks/{task['id']}", token, {"title": "renamed"}).json
    assert kept["description"] == "keep me" and kept["priority"] == "high" and kept["tags"] == ["a"]
    assert kept["due_date"] == "2026-12-24T18:00:00.000Z"
    cleared = stack.request("PUT", f"/api/{user}/tasks/{task['id']}", token,
                            {"description": None, "priority": None, "tags": None, "due_date": None}).json
    assert cleared["description"] is None and cleared["priority"] == "medium" and cleared["tags"] == [] and cleared["due_date"] is None
    empty = stack.request("PUT", f"/api/{user}/tasks/{task['id']}", token, {})
    assert empty.status == 200 and empty.json["version"] == cleared["version"] + 1
    assert stack.request("PUT", f"/api/{user}/tasks/{task['id']}", token, {"title": None}).is_error("validation_error")
    assert stack.request("PUT", f"/api/{user}/tasks/{task['id']}", token, {"completed": None}).is_error("validation_error")


# --- §1 the Task object ----------------------------------------------------------------------------

def test_s1_new_fields_are_validated_and_returned(stack, user, token):
    task = create(stack, user, token, {"title": "t", "priority": "low", "tags": ["  Work ", "home", "Ünïcode"],
                                       "due_date": "2026-03-01T10:30:00.123456+02:00",
                                       "recurrence": {"frequency": "monthly", "interval": 2}})
    assert task["priority"] == "low" and task["tags"] == ["Work", "home", "Ünïcode"]
    assert task["due_date"] == "2026-03-01T08:30:00.123Z"
    assert task["recurrence"] == {"frequency": "monthly", "interval": 2}
    assert task["completed_at"] is None and task["next_task_id"] is None and task["version"] == 1
    for bad in ({"priority": "urgent"}, {"tags": ["a", "A"]}, {"tags": [str(i) for i in range(11)]}, {"tags": ["x" * 51]},
                {"tags": ["bad\u0001"]}, {"due_date": "2026-02-29"}, {"due_date": "2026-03-01T10:30Z"},
                {"due_date": "2026-03-01T10:30:00"}, {"due_date": "10000-01-01T00:00:00Z"},
                {"recurrence": {"frequency": "daily"}}, {"due_date": "2026-03-01T10:30:00Z", "recurrence": {"frequency": "hourly"}},
                {"due_date": "2026-03-01T10:30:00Z", "recurrence": {"frequency": "daily", "interval": 366}}):
        response = stack.request("POST", f"/api/{user}/tasks", token, dict(bad, title="t"))
        assert response.is_error("validation_error"), (bad, response.body)


def test_s1_recurrence_needs_a_due_date_after_the_write(stack, user, token):
    task = create(stack, user, token, {"title": "t", "due_date": "2026-03-01T10:30:00Z", "recurrence": {"frequency": "daily"}})
    assert patch(stack, user, token, task["id"], {"due_date": None}).is_error("validation_error")
    assert patch(stack, user, token, task["id"], {"due_date": None, "recurrence": None}).status == 200


# --- §2 writes: PATCH merge --------------------------------------------------------------------------

def test_s2_merge_patch_changes_given_fields_and_an_unchanged_patch_changes_nothing(stack, user, token):
    task = create(stack, user, token, {"title": "t", "description": "d", "tags": ["a", "b"]})
    changed = patch(stack, user, token, task["id"], {"tags": ["c"], "priority": "high"})
    assert changed.status == 200 and changed.json["tags"] == ["c"] and changed.json["description"] == "d"
    assert changed.json["version"] == 2 and changed.header("ETag") == '"2"'
    same = patch(stack, user, token, task["id"], {"tags": ["c"], "priority": "high", "title": "t"})
    assert same.status == 200 and same.json["version"] == 2 and same.json["updated_at"] == changed.json["updated_at"]
    assert patch(stack, user, token, task["id"], {}).json["version"] == 2
    assert patch(stack, user, token, task["id"], {"title": None}).is_error("validation_error")
    assert patch(stack, user, token, task["id"], {"completed": None}).is_error("validation_error")
    assert patch(stack, user, token, task["id"], {"priority": None}).json["priority"] == "medium"
    assert patch(stack, user, token, task["id"], {"tags": "c"}).is_error("validation_error")


def test_s2_patch_takes_merge_patch_or_json_and_needs_a_body(stack, user, token):
    task = create(stack, user, token, {"title": "t"})
    assert patch(stack, user, token, task["id"], {"title": "a"}, content_type="application/json").status == 200
    assert patch(stack, user, token, task["id"], {"title": "b"}, content_type="application/merge-patch+json; charset=utf-8").status == 200
    response = patch(stack, user, token, task["id"], {"title": "c"}, content_type="text/plain")
    assert response.status == 415 and response.is_error("unsupported_media_type")
    assert stack.request("PATCH", f"/api/{user}/tasks/{task['id']}", token).is_error("invalid_json")
    assert patch(stack, user, token, task["id"], b"", content_type="application/merge-patch+json").is_error("invalid_json")
    assert patch(stack, user, token, task["id"], b"[]").is_error("invalid_json")
    wrong = stack.request("POST", f"/api/{user}/tasks/{task['id']}", token, {"title": "x"})
    assert wrong.status == 405 and wrong.header("Allow") == "GET, HEAD, PUT, PATCH, DELETE"


def test_s2_completing_sets_completed_at_once_and_uncompleting_clears_it(stack, user, token):
    task = create(stack, user, token, {"title": "t"})
    done = stack.request("PATCH", f"/api/{user}/tasks/{task['id']}/complete", token, {"completed": True}).json
    assert TIMESTAMP.match(done["completed_at"]) and done["completed_at"] == done["updated_at"]
    time.sleep(0.01)
    again = stack.request("PUT", f"/api/{user}/tasks/{task['id']}", token, {"completed": True}).json
    assert again["completed_at"] == done["completed_at"] and again["version"] == done["version"] + 1
    undone = stack.request("PATCH", f"/api/{user}/tasks/{task['id']}/complete", token, {"completed": False}).json
    assert undone["completed_at"] is None
    created_done = create(stack, user, token, {"title": "born done", "completed": True})
    assert created_done["completed_at"] == created_done["created_at"]


# --- §3 recurring tasks --------------------------------------------------------------------------------

@pytest.mark.parametrize("due,recurrence,next_due", [
    ("2026-01-31T09:00:00Z", {"frequency": "monthly"}, "2026-02-28T09:00:00.000Z"),
    ("2028-01-31T09:00:00Z", {"frequency": "monthly"}, "2028-02-29T09:00:00.000Z"),
    ("2028-02-29T23:30:00Z", {"frequency": "yearly"}, "2029-02-28T23:30:00.000Z"),
    ("2026-12-31T00:00:00Z", {"frequency": "monthly", "interval": 2}, "2027-02-28T00:00:00.000Z"),
    ("2026-03-28T22:15:00Z", {"frequency": "daily", "interval": 3}, "2026-03-31T22:15:00.000Z"),
    ("2020-01-01T08:00:00Z", {"frequency": "weekly", "interval": 2}, "2020-01-15T08:00:00.000Z"),
])
def test_s3_completing_a_recurring_task_creates_its_next_occurrence(stack, user, token, due, recurrence, next_due):
    task = create(stack, user, token, {"title": "rent", "description": "d", "priority": "high", "tags": ["home"],
                                       "due_date": due, "recurrence": recurrence})
    done = stack.request("PATCH", f"/api/{user}/tasks/{task['id']}/complete", token)
    assert done.status == 200 and done.json["completed"] is True and done.json["version"] == 2
    next_id = done.json["next_task_id"]
    assert isinstance(next_id, int) and next_id > task["id"]
    nxt = stack.request("GET", f"/api/{user}/tasks/{next_id}", token).json
    assert nxt["due_date"] == next_due
    assert (nxt["title"], nxt["description"], nxt["priority"], nxt["tags"]) == ("rent", "d", "high", ["home"])
    assert nxt["recurrence"] == done.json["recurrence"] and nxt["completed"] is False and nxt["version"] == 1
    assert nxt["created_at"] == nxt["updated_at"] and nxt["next_task_id"] is None
    # Un-completing and completing again creates nothing more; deleting leaves the next alone.
    stack.request("PATCH", f"/api/{user}/tasks/{task['id']}/complete", token, {"completed": False})
    again = stack.request("PATCH", f"/api/{user}/tasks/{task['id']}/complete", token, {"completed": True}).json
    assert again["next_task_id"] == next_id
    assert stack.request("GET", f"/api/{user}/tasks", token).header("X-Total-Count") == "2"
    assert stack.request("DELETE", f"/api/{user}/tasks/{task['id']}", token).status == 204
    assert stack.request("GET", f"/api/{user}/tasks/{next_id}", token).status == 200


def test_s3_a_write_that_completes_and_changes_the_due_date_spawns_from_the_new_values(stack, user, token):
    task = create(stack, user, token, {"title": "t", "due_date": "2026-01-01T00:00:00Z", "recurrence": {"frequency": "daily"}})
    done = patch(stack, user, token, task["id"], {"completed": True, "due_date": "2026-06-01T12:00:00Z",
                                                  "recurrence": {"frequency": "weekly"}}).json
    nxt = stack.request("GET", f"/api/{user}/tasks/{done['next_task_id']}", token).json
    assert nxt["due_date"] == "2026-06-08T12:00:00.000Z" and nxt["recurrence"] == {"frequency": "weekly", "interval": 1}
    assert done["version"] == 2


# --- §4 versions and preconditions ---------------------------------------------------------------------

def test_s4_etag_if_none_match_and_if_match(stack, user, token):
    task = create(stack, user, token, {"title": "t"})
    path = f"/api/{user}/tasks/{task['id']}"
    got = stack.request("GET", path, token)
    assert got.header("ETag") == '"1"'
    for value in ('"1"', 'W/"1"', '"7", "1"', "*"):
        cached = stack.request("GET", path, token, headers={"If-None-Match": value})
        assert cached.status == 304 and cached.body == b"" and cached.header("ETag") == '"1"', value
    assert stack.request("GET", path, token, headers={"If-None-Match": '"2"'}).status == 200
    assert stack.request("HEAD", path, token, headers={"If-None-Match": '"1"'}).status == 304
    stale = stack.request("PUT", path, token, {"title": "x"}, headers={"If-Match": '"2"'})
    assert stale.status == 412 and stale.is_error("precondition_failed")
    for refused in ('W/"1"', "1", "garbage"):
        assert stack.request("PATCH", path, token, {"title": "x"}, headers={"If-Match": refused}).status == 412, refused
    assert stack.request("GET", path, token).json["title"] == "t"  # nothing changed
    ok = stack.request("PUT", path, token, {"title": "x"}, headers={"If-Match": '"5", "1"'})
    assert ok.status == 200 and ok.header("ETag") == '"2"'
    assert stack.request("PATCH", path + "/complete", token, headers={"If-Match": '"1"'}).status == 412
    assert stack.request("PATCH", path + "/complete", token, headers={"If-Match": "*"}).header("ETag") == '"3"'
    assert stack.request("DELETE", path, token, headers={"If-Match": '"2"'}).status == 412
    assert stack.request("DELETE", path, token, headers={"If-Match": '"3"'}).status == 204
    # A task that does not exist is 404 whatever the conditional headers say.
    assert stack.request("GET", path, token, headers={"If-None-Match": "*"}).status == 404
    assert stack.request("PUT", path, token, {"title": "x"}, headers={"If-Match": "*"}).status == 404
    assert stack.request("DELETE", path, token, headers={"If-Match": '"3"'}).status == 404


def test_s4_validation_comes_before_the_precondition(stack, user, token):
    task = create(stack, user, token, {"title": "t"})
    response = stack.request("PUT", f"/api/{user}/tasks/{task['id']}", token, {"title": ""}, headers={"If-Match": '"9"'})
    assert response.is_error("validation_error")


# --- §5 idempotent creates ---------------------------------------------------------------------------

def test_s5_a_replay_returns_the_stored_response_and_creates_nothing(stack, user, token):
    body = json.dumps({"title": "once", "tags": ["x"]}).encode()
    first = stack.request("POST", f"/api/{user}/tasks", token, body, headers={"Idempotency-Key": "key-1"})
    assert first.status == 201 and first.header("Idempotent-Replayed") is None
    # The task changes afterwards; the replay still returns the stored response.
    stack.request("PATCH", f"/api/{user}/tasks/{first.json['id']}", token, {"title": "changed"})
    again = stack.request("POST", f"/api/{user}/tasks", token, body, headers={"Idempotency-Key": "key-1"})
    assert again.status == 201 and again.body == first.body and again.header("Location") == first.header("Location")
    assert again.header("Idempotent-Replayed") == "true" and again.header("ETag") == '"1"'
    assert stack.request("GET", f"/api/{user}/tasks", token).header("X-Total-Count") == "1"
    reused = stack.request("POST", f"/api/{user}/tasks", token, json.dumps({"title": "once", "tags": ["x"]}, indent=1).encode(),
                           headers={"Idempotency-Key": "key-1"})
    assert reused.status == 422 and reused.is_error("idempotency_key_reused")


def test_s5_keys_are_per_user_and_failures_store_nothing(stack, user, token):
    other = user + "-other"
    body = {"title": "same"}
    a = stack.request("POST", f"/api/{user}/tasks", token, body, headers={"Idempotency-Key": "shared"})
    b = stack.request("POST", f"/api/{other}/tasks", make_token(other), body, headers={"Idempotency-Key": "shared"})
    assert a.status == b.status == 201 and a.json["id"] != b.json["id"] and b.header("Idempotent-Replayed") is None
    bad = stack.request("POST", f"/api/{user}/tasks", token, {"title": ""}, headers={"Idempotency-Key": "k2"})
    assert bad.is_error("validation_error")
    good = stack.request("POST", f"/api/{user}/tasks", token, {"title": "ok"}, headers={"Idempotency-Key": "k2"})
    assert good.status == 201 and good.header("Idempotent-Replayed") is None


@pytest.mark.parametrize("key", ["a" * 256, "has space", "tab\there", "é"], ids=["too-long", "space", "tab", "non-ascii"])
def test_s5_a_malformed_key_is_400(stack, user, token, key):
    response = stack.request("POST", f"/api/{user}/tasks", token, {"title": "t"}, headers={"Idempotency-Key": key})
    assert response.is_error("invalid_idempotency_key"), response.body
    assert stack.request("GET", f"/api/{user}/tasks", token).json == []
    # 255 visible characters is the longest key.
    assert stack.request("POST", f"/api/{user}/tasks", token, {"title": "t"}, headers={"Idempotency-Key": "~" * 255}).status == 201


def test_s5_concurrent_duplicates_create_exactly_one_task(stack, user, token):
    body = json.dumps({"title": "race"}).encode()
    results = []

    def send():
        response = stack.request("POST", f"/api/{user}/tasks", token, body, headers={"Idempotency-Key": "race-key"})
        results.append(response)

    threads = [threading.Thread(target=send) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert stack.request("GET", f"/api/{user}/tasks", token).header("X-Total-Count") == "1"
    statuses = sorted(r.status for r in results)
    assert set(statuses) <= {201, 409}, statuses
    created = [r for r in results if r.status == 201]
    assert len({r.json["id"] for r in created}) == 1
    assert sum(1 for r in created if r.header("Idempotent-Replayed") is None) == 1
    assert all(r.is_error("idempotency_key_in_use") for r in results if r.status == 409)


# --- §6 listing: filters, search, sort -----------------------------------------------------------------

def test_s6_filters_search_and_sorts(stack, user, token):
    specs = [
        {"title": "Buy milk", "description": "2 litres, semi-skimmed", "priority": "high", "tags": ["Shop", "home"],
         "due_date": "2026-01-10T10:00:00Z"},
        {"title": "Write report", "description": "Quarterly MILK figures", "priority": "low", "tags": ["work"],
         "due_date": "2026-01-05T10:00:00Z"},
        {"title": "Ölwechsel", "priority": "medium", "tags": ["car"]},
        {"title": "Call mum", "description": None, "priority": "high", "tags": ["home"], "due_date": "2026-02-01T00:00:00Z"},
    ]
    ids = [create(stack, user, token, spec)["id"] for spec in specs]
    stack.request("PATCH", f"/api/{user}/tasks/{ids[3]}/complete", token)

    def listed(query):
        response = stack.request("GET", f"/api/{user}/tasks?{query}", token)
        assert response.status == 200, (query, response.body)
        return [task["id"] for task in response.json], int(response.header("X-Total-Count"))

    assert listed("q=milk") == ([ids[0], ids[1]], 2)
    assert listed("q=MILK+semi") == ([ids[0]], 1)
    assert listed("q=%C3%B6lwechsel") == ([ids[2]], 1)  # Unicode lowercase
    assert listed("q=milk+report") == ([ids[1]], 1)
    assert listed("priority=high") == ([ids[0], ids[3]], 2)
    assert listed("priority=low,medium") == ([ids[1], ids[2]], 2)
    assert listed("tag=HOME") == ([ids[0], ids[3]], 2)
    assert listed("tag=home&tag=shop") == ([ids[0]], 1)
    assert listed("tag=hom") == ([], 0)
    assert listed("has_due=false") == ([ids[2]], 1)
    assert listed("has_due=true&status=pending") == ([ids[0], ids[1]], 2)
    assert listed("due_before=2026-01-10T10:00:00Z") == ([ids[1]], 1)
    assert listed("due_after=2026-01-10T10:00:00Z") == ([ids[0], ids[3]], 2)
    assert listed("due_after=2026-01-06T00:00:00%2B01:00&due_before=2026-01-31T00:00:00Z") == ([ids[0]], 1)
    assert listed("sort=due_date") == ([ids[1], ids[0], ids[3], ids[2]], 4)
    assert listed("sort=due_date&order=desc") == ([ids[3], ids[0], ids[1], ids[2]], 4)
    assert listed("sort=priority") == ([ids[1], ids[2], ids[0], ids[3]], 4)
    assert listed("sort=priority&order=desc") == ([ids[3], ids[0], ids[2], ids[1]], 4)
    assert listed("sort=priority&limit=1&offset=1") == ([ids[2]], 4)
    for bad in ("q=", "q=%20", "priority=urgent", "tag=", "due_before=2026-01-32", "has_due=1", "sort=due",
                "q=" + "+".join("t" * 11), "&".join(f"tag=t{i}" for i in range(11)), "q=a&q=b"):
        assert stack.request("GET", f"/api/{user}/tasks?{bad}", token).is_error("invalid_query"), bad


# --- §7 incremental sync -----------------------------------------------------------------------------

def sync(stack, user, token, since=None, limit=None):
    query = "&".join(f"{k}={v}" for k, v in (("since", since), ("limit", limit)) if v is not None)
    response = stack.request("GET", f"/api/{user}/tasks/changes" + (f"?{query}" if query else ""), token)
    assert response.status == 200, response.body
    body = response.json
    assert set(body) == {"tasks", "deleted", "cursor", "has_more"}
    return body


def test_s7_sync_returns_every_change_once_in_order_with_deletions(stack, user, token):
    first = sync(stack, user, token)
    assert first["tasks"] == [] and first["deleted"] == [] and first["has_more"] is False
    a = create(stack, user, token, {"title": "a"})
    b = create(stack, user, token, {"title": "b"})
    c = create(stack, user, token, {"title": "c"})
    everything = sync(stack, user, token)
    assert [t["id"] for t in everything["tasks"]] == [a["id"], b["id"], c["id"]] and everything["deleted"] == []
    cursor = everything["cursor"]
    assert sync(stack, user, token, since=cursor) == {"tasks": [], "deleted": [], "cursor": cursor, "has_more": False}
    patch(stack, user, token, a["id"], {"title": "a2"})
    patch(stack, user, token, a["id"], {"title": "a3"})
    stack.request("DELETE", f"/api/{user}/tasks/{b['id']}", token)
    d = create(stack, user, token, {"title": "d"})
    stack.request("DELETE", f"/api/{user}/tasks/{d['id']}", token)
    changes = sync(stack, user, token, since=cursor)
    assert [t["id"] for t in changes["tasks"]] == [a["id"]] and changes["tasks"][0]["title"] == "a3"
    assert changes["deleted"] == [b["id"], d["id"]]
    # A merge PATCH that changes nothing is not a change.
    patch(stack, user, token, c["id"], {"title": "c"})
    assert sync(stack, user, token, since=changes["cursor"])["tasks"] == []


def test_s7_paging_with_limit_and_has_more(stack, user, token):
    ids = [create(stack, user, token, {"title": f"t{i}"})["id"] for i in range(5)]
    seen, cursor, pages = [], None, 0
    while True:
        page = sync(stack, user, token, since=cursor, limit=2)
        seen += [t["id"] for t in page["tasks"]]
        cursor, pages = page["cursor"], pages + 1
        if not page["has_more"]:
            break
        assert pages < 10
    assert seen == ids


def test_s7_bad_cursors_and_other_users_cursors_are_400(stack, user, token):
    create(stack, user, token, {"title": "mine"})
    cursor = sync(stack, user, token)["cursor"]
    other = user + "-b"
    for bad in ("garbage", cursor[:-2], "MTAwMDAwMDAwMC5hYmNkZWYwMTIzNDU2Nzg5", cursor):
        response = stack.request("GET", f"/api/{other}/tasks/changes?since={bad}", make_token(other))
        assert response.status == 400 and response.is_error("invalid_cursor"), (bad, response.body)
    assert stack.request("GET", f"/api/{user}/tasks/changes?limit=0", token).is_error("invalid_query")
    assert stack.request("GET", f"/api/{user}/tasks/changes?limit=1001", token).is_error("invalid_query")
    assert stack.request("GET", f"/api/{user}/tasks/changes?unknown=1", token).status == 200
    assert stack.request("POST", f"/api/{user}/tasks/changes", token, {}).status == 405
    # Another user's changes never appear.
    assert sync(stack, other, make_token(other))["tasks"] == []


# --- Addendum v2.1 §10: due dates as front ends send them --------------------------------------------

def test_s10_an_empty_due_date_from_a_form_is_no_date(stack, user, token):
    """Before: `"due_date": ""` (an HTML form's empty date field) was 400, so such a front end
    could create or edit no task at all."""
    task = create(stack, user, token, {"title": "from a form", "description": "", "due_date": ""})
    assert task["due_date"] is None
    dated = patch(stack, user, token, task["id"], {"due_date": "2026-12-24T18:00:00Z"}).json
    assert dated["due_date"] == "2026-12-24T18:00:00.000Z"
    for method, content_type in (("PUT", "application/json"), ("PATCH", "application/merge-patch+json")):
        cleared = stack.request(method, f"/api/{user}/tasks/{task['id']}", token, {"due_date": ""}, content_type=content_type)
        assert cleared.status == 200 and cleared.json["due_date"] is None, method
        assert patch(stack, user, token, task["id"], {"due_date": "2026-12-24T18:00:00Z"}).status == 200
    refused = stack.request("POST", f"/api/{user}/tasks", token, {"title": "x", "due_date": "", "recurrence": {"frequency": "daily"}})
    assert refused.status == 400 and refused.is_error("validation_error")


def test_s10_an_all_day_date_is_stored_and_returned_as_a_date_everywhere(stack, user, token):
    """Before: `"due_date": "2027-03-01"` (what `<input type="date">` gives) was 400."""
    body = {"title": "party", "due_date": "2027-03-01"}
    first = stack.request("POST", f"/api/{user}/tasks", token, body, headers={"Idempotency-Key": "all-day"})
    assert first.status == 201 and first.json["due_date"] == "2027-03-01", first.body
    replay = stack.request("POST", f"/api/{user}/tasks", token, body, headers={"Idempotency-Key": "all-day"})
    assert replay.body == first.body
    task_id = first.json["id"]
    assert stack.request("GET", f"/api/{user}/tasks/{task_id}", token).json["due_date"] == "2027-03-01"
    assert stack.request("GET", f"/api/{user}/tasks", token).json[0]["due_date"] == "2027-03-01"
    assert sync(stack, user, token)["tasks"][0]["due_date"] == "2027-03-01"
    # A date and the instant at its midnight are different due dates; a date to itself is no change.
    timed = patch(stack, user, token, task_id, {"due_date": "2027-03-01T00:00:00Z"}).json
    assert timed["due_date"] == "2027-03-01T00:00:00.000Z" and timed["version"] == 2
    dated = stack.request("PUT", f"/api/{user}/tasks/{task_id}", token, {"due_date": "2027-03-02"}).json
    assert dated["due_date"] == "2027-03-02" and dated["version"] == 3
    assert patch(stack, user, token, task_id, {"due_date": "2027-03-02"}).json["version"] == 3
    for bad in ("2027-02-29", "2027-3-1", "2027-03-01T00:00", "1969-12-31", "2027-03-01Z"):
        refused = stack.request("POST", f"/api/{user}/tasks", token, {"title": "x", "due_date": bad})
        assert refused.status == 400 and refused.is_error("validation_error"), bad


def test_s10_all_day_tasks_sort_and_filter_at_their_days_midnight_and_first_at_a_tie(stack, user, token):
    def new(due):
        return create(stack, user, token, {"title": due or "none", "due_date": due})["id"]
    timed = new("2027-03-01T00:00:00Z")
    all_day = new("2027-03-01")
    earlier = new("2027-02-28T23:59:59.999Z")
    later = new("2027-03-01T01:00:00+01:00")  # the same instant as `timed`, written in another zone
    all_day_too = new("2027-03-01")
    none = new(None)

    def ids(query):
        response = stack.request("GET", f"/api/{user}/tasks?{query}", token)
        assert response.status == 200, (query, response.body)
        return [task["id"] for task in response.json]
    assert ids("sort=due_date") == [earlier, all_day, all_day_too, timed, later, none]
    assert ids("sort=due_date&order=desc") == [all_day_too, all_day, later, timed, earlier, none]
    assert ids("sort=due_date&due_after=2027-03-01") == [all_day, all_day_too, timed, later]
    assert ids("sort=due_date&due_before=2027-03-01") == [earlier]
    assert ids("sort=due_date&due_before=2027-03-01T00:00:00.001Z&limit=2&offset=2") == [all_day_too, timed]
    for bad in ("due_after=2027-02-30", "due_before=2027-3-1", "due_after="):
        response = stack.request("GET", f"/api/{user}/tasks?{bad}", token)
        assert response.status == 400 and response.is_error("invalid_query"), bad


def test_s10_a_recurring_all_day_task_recurs_as_a_date(stack, user, token):
    task = create(stack, user, token, {"title": "rent", "due_date": "2028-01-31", "recurrence": {"frequency": "monthly"}})
    done = stack.request("PATCH", f"/api/{user}/tasks/{task['id']}/complete", token)
    assert done.status == 200
    following = stack.request("GET", f"/api/{user}/tasks/{done.json['next_task_id']}", token).json
    assert following["due_date"] == "2028-02-29" and following["completed"] is False
    assert following["recurrence"] == {"frequency": "monthly", "interval": 1}
