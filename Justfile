# Recipes for working on tasks-google. Run them through uv: `uv run just <recipe>`.

set shell := ["bash", "-euo", "pipefail", "-c"]

# List the recipes.
default:
    @just --list

# Lint, then run the whole test suite in parallel (extra arguments go to pytest).
test *args: lint
    pytest -n auto {{ args }}

# Check style and formatting without changing anything.
lint:
    ruff check .
    ruff format --check .

# Fix what ruff can fix and format the code.
fmt:
    ruff check --fix .
    ruff format .
