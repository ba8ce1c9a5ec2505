# Sourced by bin/serve, bin/test and bin/bench: create .venv on first use and
# reinstall when pyproject.toml changes, so that a fresh clone needs nothing but Python 3.11.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
extras="${RMT_EXTRAS:-test}"
python="${PYTHON:-python3}"
venv="$root/.venv"
stamp="$venv/.installed-$(sha256sum pyproject.toml | cut -c1-16)-${extras//,/_}"
if [ ! -f "$stamp" ]; then
    [ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --upgrade pip >/dev/null
    "$venv/bin/python" -m pip install --quiet -e ".[${extras}]"
    rm -f "$venv"/.installed-* && touch "$stamp"
fi
export PATH="$venv/bin:$PATH"
