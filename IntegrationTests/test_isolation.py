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
