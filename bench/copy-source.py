#!/usr/bin/env python3
"""A large SQLite task database for timing `todo-fcgi copy` (docs/BENCHMARKS.md, "copy"):
    python3 bench/copy-source.py PATH TASKS TODO_FCGI_BINARY
migrates PATH with the binary, then inserts TASKS tasks of 10,000 users (tags, descriptions,
due dates, all-day dates) straight into SQLite, with the derived columns the service writes."""
import sqlite3, sys, random, subprocess, os
path, n = sys.argv[1], int(sys.argv[2])
binary = sys.argv[3]
if os.path.exists(path): os.unlink(path)
subprocess.run([binary, "migrate", "--database", path], check=True, env=dict(os.environ, BETTER_AUTH_SECRET="x"*40), capture_output=True)
c = sqlite3.connect(path)
random.seed(7)
users = 10000
rows = []
for i in range(1, n + 1):
    u = f"user-{i % users}"
    title = f"Task {i} buy milk and bread"
    desc = None if i % 3 == 0 else f"Description of task {i} with some words"
    tags = ["home","work"][: i % 3]
    tagsjson = "[" + ",".join(f'"{t}"' for t in tags) + "]"
    tagkeys = "\x1f" + "".join(t + "\x1f" for t in tags)
    due = None if i % 2 else 1795000000000 + i * 60000
    allday = 1 if (due is not None and i % 4 == 0) else 0
    if allday: due = due - due % 86400000
    rows.append((i, u, title, title.lower(), desc, i % 5 == 0, 1795000000000 + i, 1795000000000 + i, i % 3, tagsjson, tagkeys,
                 title.lower() + "\n" + (desc or "").lower(), due, allday, None, None, 1795000000000 + i if i % 5 == 0 else None, None, 1, i))
c.executemany("""INSERT INTO tasks (id, user_id, title, title_key, description, completed, created_at, updated_at, priority, tags, tag_keys,
  search_text, due_date, due_all_day, recurrence_frequency, recurrence_interval, completed_at, next_task_id, version, change_seq)
  VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)""", rows)
c.execute("INSERT INTO task_sync (user_id, last_change, purged_through) SELECT user_id, max(change_seq), 0 FROM tasks GROUP BY user_id")
c.commit()
print(c.execute("select count(*) from tasks").fetchone())
