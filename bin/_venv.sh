# Sourced by bin/serve, bin/test and bin/bench: create .venv on first use and reinstall when
# pyproject.toml changes, so that a fresh clone needs nothing but Python 3.11.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
# RMT_EXTRAS: comma-separated extras of pyproject.toml to install; unset means "test" (bin/test,
# bin/bench), and bin/serve sets it to "" (runtime dependencies only).
extras="${RMT_EXTRAS-test}"
python="${PYTHON:-python3}"
venv="$root/.venv"
digest="$(sha256sum pyproject.toml | cut -c1-16)"
# The stamp .installed-<digest>-<extras joined by _> records what the last install provided. An
# install satisfies a request when its pyproject.toml digest matches and its extras include every
# requested one, so a .venv installed by bin/test also serves bin/serve without reinstalling.
satisfied() {
    local stamp have want
    for stamp in "$venv/.installed-$digest-"*; do
        [ -f "$stamp" ] || continue
        have="_${stamp##*/.installed-"$digest"-}_"
        for want in ${extras//,/ }; do
            [[ "$have" == *"_${want}_"* ]] || continue 2
        done
        return 0
    done
    return 1
}
if ! satisfied; then
    echo "Installing the pinned dependencies${extras:+ (extras: $extras)} into .venv (first run, or pyproject.toml changed) ..." >&2
    [ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
    log="$venv/install.log"
    target="."
    [ -z "$extras" ] || target=".[${extras}]"
    if ! { "$venv/bin/python" -m pip install --upgrade pip && "$venv/bin/python" -m pip install -e "$target"; } >"$log" 2>&1; then
        cat "$log" >&2
        echo "Installing the dependencies failed; the log above is also in $log" >&2
        exit 1
    fi
    rm -f "$venv"/.installed-* && touch "$venv/.installed-$digest-${extras//,/_}"
fi
export PATH="$venv/bin:$PATH"
