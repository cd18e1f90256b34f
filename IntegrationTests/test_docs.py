"""The docs name real things: every file, Swift test, Python test and bench/run.py option that
docs/SECURITY.md and docs/BENCHMARKS.md point at exists, so each claim can be followed to its
code and each figure to a command that reproduces it."""
import os
import re
import subprocess

from stack import BINARY, REPO
import pytest

pytestmark = pytest.mark.single_backend

EXTENSIONS = (".swift", ".py", ".sh", ".conf", ".c", ".lua", ".yaml", ".service", ".template")


def read(path):
    with open(os.path.join(REPO, path), encoding="utf-8") as f:
        return f.read()


def tracked_files():
    out = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True).stdout
    return out.split()


def code_spans(text):
    return re.findall(r"`([^`\n]+)`", text)


def test_security_md_names_existing_files_and_tests():
    """Each row of the threat table: its code column names files that exist, its tests column tests that exist."""
    files = tracked_files()
    swift_tests = "\n".join(read(f) for f in files if f.startswith("Tests/") and f.endswith(".swift"))
    python_tests = "\n".join(read(f) for f in files if f.startswith("IntegrationTests/") and f.endswith(".py"))
    rows = [line.split(" | ") for line in read("docs/SECURITY.md").splitlines()
            if line.startswith("| ") and line.count(" | ") >= 2 and not line.startswith("| ---")]
    assert len(rows) > 10
    missing = []
    for cells in rows:
        for span in code_spans(" | ".join(cells[1:])):
            word = span.split()[0]
            if word.endswith(EXTENSIONS) and not word.startswith(".") and not any(f == word or f.endswith("/" + word) for f in files):
                missing.append(f"file {word}")
        for span in code_spans(cells[-1]):
            word = span.split()[0]
            if re.fullmatch(r"test_\w+", word) and not re.search(rf"def {word}\(", python_tests):
                missing.append(f"pytest {word}")
            elif re.fullmatch(r"[a-z]+[A-Z]\w*", word) and not re.search(rf"func {word}\(", swift_tests):
                missing.append(f"Swift test {word}")
            elif re.fullmatch(r"[A-Z]\w*Tests", word) and not re.search(rf"(struct|class) {word}\b", swift_tests):
                missing.append(f"Swift suite {word}")
    assert missing == []


def test_benchmarks_md_commands_use_options_that_exist():
    help_text = subprocess.run(["python3", os.path.join(REPO, "bench", "run.py"), "--help"],
                               capture_output=True, text=True, check=True).stdout
    text = read("docs/BENCHMARKS.md")
    # What follows bench/run.py or bench/run.sh on a line (the command's own arguments).
    commands = [re.split(r"bench/run\.(?:py|sh)", line, maxsplit=1)[1] for line in text.splitlines()
                if re.search(r"bench/run\.(py|sh)", line)]
    assert commands
    unknown = sorted({option for line in commands for option in re.findall(r"(?<![\w-])--[a-z][a-z-]*", line)
                      if option not in help_text})
    assert unknown == []
    # argparse wraps the help at hyphens too ("complete-" / "nokeep"): such a break is no space.
    unwrapped = " ".join(re.sub(r"-\n\s+", "-", help_text).split())
    known = set(re.search(r"from: ([a-z, -]+?) \(default", unwrapped).group(1).split(", "))
    used = {s for line in commands for m in re.findall(r"--scenarios[ =]([a-z,-]+)", line) for s in m.split(",")}
    assert "list" in known and used - known == set()


def test_openapi_declares_x_request_id_on_every_response_with_the_rule_nginx_applies():
    """Contract §12: every answer carries X-Request-ID, so the spec says so on each response, with
    the pattern of the one rule (`todo-fcgi nginx-maps` writes nginx's map from it)."""
    import yaml
    spec = yaml.safe_load(read("docs/openapi.yaml"))
    shared = spec["components"]["responses"]
    undeclared = []
    for path, item in spec["paths"].items():
        assert {"$ref": "#/components/parameters/RequestId"} in item.get("parameters", []), path
        for method, operation in item.items():
            if method == "parameters":
                continue
            for status, response in operation["responses"].items():
                if "$ref" in response:
                    response = shared[response["$ref"].rsplit("/", 1)[1]]
                if "X-Request-ID" not in response.get("headers", {}):
                    undeclared.append(f"{method.upper()} {path} {status}")
    assert undeclared == []
    header = spec["components"]["headers"]["X-Request-ID"]
    maps = subprocess.run([BINARY, "nginx-maps"], capture_output=True, text=True, check=True).stdout
    nginx_rule = re.search(r'"~(\^[^"]+)\\z" \$http_x_request_id;', maps).group(1)
    assert header["required"] is True and header["schema"]["pattern"] == nginx_rule + "$"
