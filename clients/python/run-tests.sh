#!/usr/bin/env bash
# Runs the Python client's tests with a venv at target/python-venv (created once):
# jsonschema (pinned) and this package installed into it; pip runs only when either is
# missing or at another version, so repeated runs are fast and work offline.
# The tests start the server binary at $TICKWIRE_BIN (default target/release/tickwire).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
venv="$root/target/python-venv"
py="$venv/bin/python"
jsonschema_version="4.23.0"
client_version="$(sed -n 's/^version = "\(.*\)"/\1/p' "$here/pyproject.toml")"

if [[ ! -x "$py" ]]; then
    python3 -m venv "$venv"
fi

installed() { # NAME VERSION: is NAME installed at VERSION in the venv?
    [[ "$("$py" -c "import importlib.metadata as m; print(m.version('$1'))" 2>/dev/null)" == "$2" ]]
}

if ! installed jsonschema "$jsonschema_version"; then
    "$py" -m pip install --quiet --disable-pip-version-check "jsonschema==$jsonschema_version"
fi
# The client is installed from the source tree on every change of its version; its
# modules are found from the tree first anyway (PYTHONPATH below), so edits count at once.
if ! installed tickwire "$client_version"; then
    "$py" -m pip install --quiet --disable-pip-version-check --no-deps "$here"
fi

cd "$root"
export TICKWIRE_BIN="${TICKWIRE_BIN:-target/release/tickwire}"
PYTHONPATH="$here${PYTHONPATH:+:$PYTHONPATH}" exec "$py" -m unittest discover -s "$here/tests" -t "$here/tests" "$@"
