"""schemathesis hooks (SCHEMATHESIS_HOOKS=hooks, set by run.py).

Every valid Idempotency-Key schemathesis generates for a create is made unique. Hypothesis
reuses small values ("0", "A"), and a repeated key is, correctly, a replay of the first create:
the same body and Location even if that task was deleted since (docs/API.md), which the
stateful checks would read as "created resource not found". Replays, reuse with another body
(422) and concurrent duplicates are tested in IntegrationTests/test_tasks_v2.py; invalid keys
are left as generated, so negative testing still sends them.
"""
import re
import uuid

import schemathesis

VALID_KEY = re.compile(r"^[!-~]{1,255}$")


@schemathesis.hook("map_headers")
def unique_idempotency_keys(context, headers):
    operation = getattr(context, "operation", None)
    if headers and operation is not None and operation.label == "POST /api/{user_id}/tasks":
        key = headers.get("Idempotency-Key")
        if isinstance(key, str) and VALID_KEY.match(key):
            headers["Idempotency-Key"] = "st-" + uuid.uuid4().hex
    return headers


@schemathesis.hook("map_query")
def short_waits(context, query):
    """A sync with a valid cursor (the stateful phase follows the NextChanges link) and `wait`
    would hold each generated call up to 60 s: valid waits are cut to 1 s, so the run's time goes
    to many calls; invalid values are left as generated (they must still be 400)."""
    operation = getattr(context, "operation", None)
    if query and operation is not None and operation.label == "GET /api/{user_id}/tasks/changes":
        wait = query.get("wait")
        if isinstance(wait, int) and 0 < wait <= 60 or isinstance(wait, str) and wait.isdigit() and 0 < int(wait) <= 60:
            query["wait"] = 1
    return query
