#!/usr/bin/env bash
# Run the unittest suite under the oldest and the newest supported CPython installed here
# (besides the one of .venv, which `make test` has just run), each in its own venv
# (.venv-3.X). Looks for pythonX.Y on PATH and in pyenv's versions; a version that is
# not installed is skipped and named. Exits non-zero if a suite fails.
# The oldest one runs with the C unmasker hidden (GODOT_WS_NO_SPEEDUPS=1): the whole
# suite then covers wsproto's pure-Python path too.
set -uo pipefail
cd "$(dirname "$0")/.."
SUPPORTED="3.9 3.10 3.11 3.12 3.13"
MAIN=$(.venv/bin/python -c 'import sys; print("%d.%d" % sys.version_info[:2])')

find_python() {  # an interpreter for version $1 that really runs (pyenv shims may not)
    local v=$1 c
    for c in "$(command -v "python$v" 2>/dev/null)" \
             "${PYENV_ROOT:-$HOME/.pyenv}"/versions/"$v".*/bin/"python$v" \
             /usr/bin/"python$v" /usr/local/bin/"python$v"; do
        if [ -n "$c" ] && [ -x "$c" ] &&
           [ "$("$c" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)" = "$v" ]; then
            echo "$c"; return 0
        fi
    done
    return 1
}

found=()
for v in $SUPPORTED; do
    if p=$(find_python "$v"); then found+=("$v"); declare "PY_${v/./_}=$p"
    else echo "python$v: not installed, skipped"; fi
done
[ ${#found[@]} -gt 0 ] || { echo "no supported CPython found"; exit 1; }
picks=("${found[0]}")
[ "${found[-1]}" != "${found[0]}" ] && picks+=("${found[-1]}")

status=0
summary="python$MAIN (.venv): passed"
for v in "${picks[@]}"; do
    if [ "$v" = "$MAIN" ]; then continue; fi
    var="PY_${v/./_}"; py=${!var}
    venv=".venv-$v"
    if [ ! -f "$venv/.installed-stamp" ] || [ setup.cfg -nt "$venv/.installed-stamp" ] ||
       [ pyproject.toml -nt "$venv/.installed-stamp" ]; then
        "$py" -m venv "$venv" && "$venv/bin/python" -m pip install -q -e '.[test]' &&
            touch "$venv/.installed-stamp" || { echo "python$v: venv setup failed"; exit 1; }
    fi
    hidden=0; label=""
    if [ "$v" = "${picks[0]}" ]; then hidden=1; label=" without the C unmasker"; fi
    echo "== the suite under python$v$label ($("$venv/bin/python" -VV | head -1))"
    if GODOT_WS_NO_SPEEDUPS=$hidden "$venv/bin/python" -m unittest discover -s tests -t . -p 'test_*.py'; then
        summary+=", python$v$label: passed"
    else
        summary+=", python$v$label: FAILED"; status=1
    fi
done
echo "Python versions: $summary"
exit $status
