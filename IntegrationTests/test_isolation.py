"""User isolation for every method, and concurrent writers through several worker processes."""
import threading

from stack import make_token


def test_users_never_see_or_change_each_others_tasks(stack, user):
    alice, bob = user + "-a", user + "-b"
    ta, tb = make_token(alice), make_token(bob)
    task = stack.request("POST", f"/api/{alice}/tasks", ta, {"title": "alice's"}).json
    own = f"/api/{bob}/tasks/{task['id']}"
    theirs = f"/api/{alice}/tasks/{task['id']}"
    # Bob through his own path: not found, never forbidden (existence does not leak).
    assert stack.request("GET", own, tb).is_error("task_not_found")
    assert stack.request("PUT", own, tb, {"title": "bob was here"}).is_error("task_not_found")
    assert stack.request("PATCH", own + "/complete", tb).is_error("task_not_found")
    assert stack.request("DELETE", own, tb).is_error("task_not_found")
    # Bob through Alice's path: forbidden for every method.
    for method, path, body in [("GET", f"/api/{alice}/tasks", None), ("POST", f"/api/{alice}/tasks", {"title": "x"}),
                               ("GET", theirs, None), ("PUT", theirs, {"title": "x"}), ("DELETE", theirs, None),
                               ("PATCH", theirs + "/complete", None)]:
        assert stack.request(method, path, tb, body).is_error("forbidden"), (method, path)
    assert stack.request("GET", f"/api/{bob}/tasks", tb).json == []
    assert stack.request("GET", theirs, ta).json == task


def test_v2_routes_keys_and_cursors_never_reach_another_user(stack, user):
    """The task model v2 attack matrix: merge PATCH, conditional requests, recurrence, filters,
    idempotency keys and sync cursors, each tried by Bob against Alice's data."""
    alice, bob = user + "-a", user + "-b"
    ta, tb = make_token(alice), make_token(bob)
    body = b'{"title":"alice secret","tags":["private"],"due_date":"2026-01-01T00:00:00Z","recurrence":{"frequency":"daily"}}'
    created = stack.request("POST", f"/api/{alice}/tasks", ta, body, headers={"Idempotency-Key": "alice-key"})
    task = created.json
    own = f"/api/{bob}/tasks/{task['id']}"
    # Through his own path, Alice's task does not exist for Bob, whatever the headers say.
    assert stack.request("PATCH", own, tb, {"title": "bob"}).is_error("task_not_found")
    assert stack.request("PATCH", own, tb, {"title": "bob"}, headers={"If-Match": "*"}).is_error("task_not_found")
    assert stack.request("PUT", own, tb, {"title": "bob"}, headers={"If-Match": '"1"'}).is_error("task_not_found")
    assert stack.request("DELETE", own, tb, headers={"If-Match": '"1"'}).is_error("task_not_found")
    assert stack.request("GET", own, tb, headers={"If-None-Match": '"1"'}).is_error("task_not_found")
    assert stack.request("PATCH", own + "/complete", tb).is_error("task_not_found")
    # Through Alice's path: forbidden, the new routes included.
    theirs = f"/api/{alice}/tasks"
    for method, path in [("PATCH", f"{theirs}/{task['id']}"), ("GET", f"{theirs}/changes"), ("GET", f"{theirs}?q=secret")]:
        assert stack.request(method, path, tb, {"title": "x"} if method == "PATCH" else None).is_error("forbidden"), path
    # Filters and search see only Bob's own tasks.
    for query in ("q=secret", "tag=private", "has_due=true", "sort=due_date"):
        assert stack.request("GET", f"/api/{bob}/tasks?{query}", tb).json == [], query
    # Alice's key with Alice's exact body is a new key for Bob: a task of his, never her replay.
    replay = stack.request("POST", f"/api/{bob}/tasks", tb, body, headers={"Idempotency-Key": "alice-key"})
    assert replay.status == 201 and replay.header("Idempotent-Replayed") is None
    assert replay.json["user_id"] == bob and replay.json["id"] != task["id"]
    # Alice's cursor is no cursor for Bob, and his sync holds only his task.
    cursor = stack.request("GET", f"{theirs}/changes", ta).json["cursor"]
    assert stack.request("GET", f"/api/{bob}/tasks/changes?since={cursor}", tb).is_error("invalid_cursor")
    assert [t["id"] for t in stack.request("GET", f"/api/{bob}/tasks/changes", tb).json["tasks"]] == [replay.json["id"]]
    # Completing Bob's copy spawns his next occurrence, never touching Alice's.
    done = stack.request("PATCH", f"/api/{bob}/tasks/{replay.json['id']}/complete", tb).json
    assert stack.request("GET", f"/api/{bob}/tasks/{done['next_task_id']}", tb).json["user_id"] == bob
    assert stack.request("GET", f"{theirs}/{task['id']}", ta).json == task


def test_concurrent_writers_lose_nothing(stack, user):
    writers, per_writer = 8, 40
    token = make_token(user)
    statuses, created = [], []
    lock = threading.Lock()

    def write(n):
        for i in range(per_writer):
            response = stack.request("POST", f"/api/{user}/tasks", token, {"title": f"w{n}-{i}"})
            with lock:
                statuses.append(response.status)
                if response.status == 201:
                    created.append(response.json["id"])
            if i % 4 == 0 and response.status == 201:
                patched = stack.request("PATCH", f"/api/{user}/tasks/{response.json['id']}/complete", token)
                with lock:
                    statuses.append(patched.status)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [s for s in statuses if s >= 500] == []
    assert len(created) == writers * per_writer == len(set(created))
    listed = stack.request("GET", f"/api/{user}/tasks?limit=1000", token)
    assert listed.header("X-Total-Count") == str(writers * per_writer)
    assert sorted(t["id"] for t in listed.json) == sorted(created)
    done = stack.request("GET", f"/api/{user}/tasks?status=completed&limit=1000", token)
    assert done.header("X-Total-Count") == str(writers * (per_writer // 4))
