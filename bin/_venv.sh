# Sourced by bin/serve, bin/test and bin/bench: create .venv on first use and reinstall when
# pyproject.toml changes, so that a fresh clone needs nothing but Python 3.11.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
extras="${RMT_EXTRAS:-test}"
python="${PYTHON:-python3}"
venv="$root/.venv"
stamp="$venv/.installed-$(sha256sum pyproject.toml | cut -c1-16)-${extras//,/_}"
if [ ! -f "$stamp" ]; then
    echo "Installing the pinned dependencies into .venv (first run, or pyproject.toml changed) ..." >&2
    [ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
    log="$venv/install.log"
    if ! { "$venv/bin/python" -m pip install --upgrade pip && "$venv/bin/python" -m pip install -e ".[${extras}]"; } >"$log" 2>&1; then
        cat "$log" >&2
        echo "Installing the dependencies failed; the log above is also in $log" >&2
        exit 1
    fi
    rm -f "$venv"/.installed-* && touch "$stamp"
fi
export PATH="$venv/bin:$PATH"
