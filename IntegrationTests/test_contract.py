"""Every contract row of docs/API.md, through nginx -> FastCGI -> todo-fcgi -> SQLite."""
import re
import time

from stack import make_token

TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")


def create(stack, user, token, **fields):
    response = stack.request("POST", f"/api/{user}/tasks", token, fields or {"title": "t"})
    assert response.status == 201, response.body
    return response.json


def test_health_checks_the_database(stack):
    response = stack.request("GET", "/health")
    assert response.status == 200
    assert response.json == {"status": "ok"}
    assert response.header("Content-Type") == "application/json"


def test_create_returns_201_location_and_task(stack, user, token):
    response = stack.request("POST", f"/api/{user}/tasks", token, {"title": "  Buy milk ", "description": "2 l"})
    assert response.status == 201
    task = response.json
    assert set(task) == {"id", "user_id", "title", "description", "completed", "created_at", "updated_at",
                         "priority", "tags", "due_date", "recurrence", "completed_at", "next_task_id", "version", "uid"}
    assert task["title"] == "Buy milk" and task["description"] == "2 l" and task["completed"] is False
    assert task["user_id"] == user
    assert TIMESTAMP.match(task["created_at"]) and task["created_at"] == task["updated_at"]
    assert response.header("Location") == f"/api/{user}/tasks/{task['id']}"
    assert stack.request("GET", response.header("Location"), token).json == task


def test_list_returns_tasks_with_total_count(stack, user, token):
    ids = [create(stack, user, token, title=f"t{i}")["id"] for i in range(3)]
    response = stack.request("GET", f"/api/{user}/tasks", token)
    assert response.status == 200
    assert [t["id"] for t in response.json] == ids
    assert response.header("X-Total-Count") == "3"
    page = stack.request("GET", f"/api/{user}/tasks?limit=1&offset=1&order=desc", token)
    assert [t["id"] for t in page.json] == [ids[1]]
    assert page.header("X-Total-Count") == "3"


def test_list_filters_and_sorts(stack, user, token):
    create(stack, user, token, title="b", completed=True)
    create(stack, user, token, title="A")
    create(stack, user, token, title="c")
    titles = lambda r: [t["title"] for t in r.json]  # noqa: E731
    assert titles(stack.request("GET", f"/api/{user}/tasks?sort=title", token)) == ["A", "b", "c"]
    assert titles(stack.request("GET", f"/api/{user}/tasks?status=pending&sort=title&order=desc", token)) == ["c", "A"]
    assert titles(stack.request("GET", f"/api/{user}/tasks?status=completed", token)) == ["b"]


def test_get_put_patch_delete(stack, user, token):
    task = create(stack, user, token, title="Old", description="d")
    path = f"/api/{user}/tasks/{task['id']}"
    assert stack.request("GET", path, token).json == task

    time.sleep(0.002)
    put = stack.request("PUT", path, token, {"title": "New"})
    assert put.status == 200
    # v2 §0: PUT changes only the fields it is given; the description stays.
    assert put.json["title"] == "New" and put.json["description"] == "d" and put.json["completed"] is False
    assert put.json["updated_at"] > task["updated_at"] and put.json["created_at"] == task["created_at"]

    patched = stack.request("PATCH", path + "/complete", token, {"completed": True})
    assert patched.status == 200 and patched.json["completed"] is True
    assert patched.json["updated_at"] > put.json["updated_at"]
    toggled = stack.request("PATCH", path + "/complete", token)
    assert toggled.status == 200 and toggled.json["completed"] is False

    deleted = stack.request("DELETE", path, token)
    assert deleted.status == 204 and deleted.body == b""
    assert stack.request("GET", path, token).is_error("task_not_found")


def test_put_accepts_the_object_it_got(stack, user, token):
    task = create(stack, user, token, title="Echo")
    task["title"] = "Echoed"
    response = stack.request("PUT", f"/api/{user}/tasks/{task['id']}", token, task)
    assert response.status == 200 and response.json["title"] == "Echoed"


def test_ids_are_never_reused(stack, user, token):
    first = create(stack, user, token)["id"]
    assert stack.request("DELETE", f"/api/{user}/tasks/{first}", token).status == 204
    assert create(stack, user, token)["id"] > first


def test_head_on_list(stack, user, token):
    response = stack.request("HEAD", f"/api/{user}/tasks", token)
    assert response.status == 200 and response.body == b""


def test_user_id_with_encoded_slash_and_unicode(stack):
    user = "team/é"
    token = make_token(user)
    response = stack.request("POST", "/api/team%2F%C3%A9/tasks", token, {"title": "x"})
    assert response.status == 201, response.body
    assert response.json["user_id"] == user
    assert response.header("Location").startswith("/api/team%2F%C3%A9/tasks/")
    assert stack.request("GET", response.header("Location"), token).status == 200
