# Recipes for working on tasks-google. Run them through uv: `uv run just <recipe>`.

set shell := ["bash", "-euo", "pipefail", "-c"]

# List the recipes.
default:
    @just --list

# Lint, then run the whole suite in parallel on SQLite (the browser tests in tests/browser too:
# headless Chromium from Debian's chromium and chromium-driver packages), then the Django app's
# and the dashboard's tests on a throwaway PostgreSQL (row locks, concurrency, the dashboard's
# aggregate queries); between the two, the wheel as a user installs it (test-installed), on this
# Django and on Django 5.2 LTS. Last, the Django app's tests on the other Django versions
# (test-matrix). Extra arguments go to pytest.
[doc("Lint, every test on SQLite (browser tests too), the wheel in new projects, PostgreSQL, the Django matrix")]
test *args: lint
    pytest -n auto {{ args }}
    python -m tests.installed
    python -m tests.installed --django52
    python -m tests.postgres_server pytest -n auto tests/tasks_google tests/tui {{ args }}
    python -m tests.matrix {{ args }}

# The wheel installed in a new `django-admin startproject`, with the code the README and docs
# tell a user to paste and tests written as a user writes them (tests/installed/).
[doc("The wheel in a fresh startproject, set up and tested from the docs (--django52: on 5.2 LTS)")]
test-installed *args:
    python -m tests.installed {{ args }}

# The Django app's tests on Django 5.2 LTS + the django-tasks backport, and on Django 6.0, each in
# its own environment under .matrix/ (the development environment runs the newest Django).
[doc("The Django app's tests on Django 5.2 (+ django-tasks) and 6.0")]
test-matrix *args:
    python -m tests.matrix {{ args }}

# Only the Django app's and the dashboard's tests, on a throwaway PostgreSQL server.
test-postgres *args:
    python -m tests.postgres_server pytest -n auto tests/tasks_google tests/tui {{ args }}

# Check style and formatting without changing anything.
lint:
    ruff check .
    ruff format --check .

# Fix what ruff can fix and format the code.
fmt:
    ruff check --fix .
    ruff format .

# Run the example project against the local emulator (manage.py tasks_dev: the Cloud Tasks
# emulator + runserver, restarted on code changes), and enqueue a few demo tasks once it is up.
# Ports: DEV_PORT (8000), EMULATOR_PORT (8123; its control API on the next one). Ctrl-C stops all.
[doc("The emulator of all three services + the example project's runserver; demo tasks")]
dev:
    #!/usr/bin/env bash
    set -euo pipefail
    port="${DEV_PORT:-8000}"
    grpc="${EMULATOR_PORT:-8123}"
    data="${EMULATOR_DATA_DIR:-.emulator-data}"
    export CLOUD_TASKS_EMULATOR_HOST="127.0.0.1:${grpc}"
    export CLOUD_RUN_EMULATOR_HOST="127.0.0.1:${grpc}"
    export CLOUD_SCHEDULER_EMULATOR_HOST="127.0.0.1:${grpc}"
    export TASKS_GOOGLE_EMULATOR_URL="http://127.0.0.1:$((grpc + 1))"
    python example/manage.py migrate --noinput -v 0
    python example/manage.py tasks_dev "127.0.0.1:${port}" --emulator-port "${grpc}" \
        --data-dir "${data}" --queue default:max_attempts=5,min_backoff=1,max_backoff=10 &
    dev_pid=$!
    # Ctrl-C (or an error here) stops tasks_dev and everything it started; Ctrl-C exits with
    # tasks_dev's own status, 0 when it stopped cleanly.
    stop() {
        trap - EXIT INT TERM
        kill -INT "${dev_pid}" 2>/dev/null || true
        wait "${dev_pid}" 2>/dev/null
    }
    trap 'stop; exit' INT TERM
    trap 'status=$?; stop || true; exit "${status}"' EXIT
    # Wait for this tasks_dev's own app: once it has recorded its emulator (its ports were free),
    # the app on the port is its runserver, not another instance's. If it stops, it said why.
    python - "http://127.0.0.1:${port}/" "${dev_pid}" <<'PY'
    import json, sys, time, urllib.request
    from pathlib import Path
    import psutil
    from tasks_google.config.dev_emulator import DATA_DIR_NAME, RECORD_NAME
    url, pid = sys.argv[1], int(sys.argv[2])
    record = Path("example") / DATA_DIR_NAME / RECORD_NAME
    def running():
        try:
            return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
        except psutil.NoSuchProcess:
            return False
    deadline = time.monotonic() + 60
    while running():
        try:
            if json.loads(record.read_text())["pid"] == pid:
                urllib.request.urlopen(url, timeout=5)
                sys.exit(0)
        except (OSError, ValueError, KeyError):
            pass
        if time.monotonic() > deadline:
            sys.exit(f"the example app did not answer at {url} within 60 s")
        time.sleep(0.2)
    sys.exit(1)
    PY
    python example/manage.py enqueue_demo
    python example/manage.py schedule_tasks
    echo "Watch: http://127.0.0.1:${port}/ and http://127.0.0.1:$((grpc + 1))/v1/queues"
    wait "${dev_pid}"

# Benchmarks (figures, not pass/fail; docs/performance.md): the in-process emulator, the Cloud
# Tasks development loop and django-tasks-google 0.6.0's ProcessBackend for comparison, with one
# summary table; then the dashboard. `--only inprocess|devloop|dtg` (repeatable), `--tasks N`.
bench *args: && bench-tui
    python bench/run_all.py {{ args }}

# The dashboard's benchmark: first paint, refresh and memory with 1k, 10k and 100k executions.
bench-tui *args:
    python bench/tui_paint.py {{ args }}

# The dashboard of the example project's executions (manage.py tasks_tui), pointed at the
# emulator `just dev` runs (same EMULATOR_PORT); ? shows the keys, q quits.
[doc("The dashboard of the example project, on the emulator `just dev` runs")]
tui *args:
    #!/usr/bin/env bash
    set -euo pipefail
    grpc="${EMULATOR_PORT:-8123}"
    export CLOUD_TASKS_EMULATOR_HOST="${CLOUD_TASKS_EMULATOR_HOST:-127.0.0.1:${grpc}}"
    export CLOUD_RUN_EMULATOR_HOST="${CLOUD_RUN_EMULATOR_HOST:-127.0.0.1:${grpc}}"
    export CLOUD_SCHEDULER_EMULATOR_HOST="${CLOUD_SCHEDULER_EMULATOR_HOST:-127.0.0.1:${grpc}}"
    export TASKS_GOOGLE_EMULATOR_URL="${TASKS_GOOGLE_EMULATOR_URL:-http://127.0.0.1:$((grpc + 1))}"
    python example/manage.py tasks_tui {{ args }}
