#!/usr/bin/env bash
# redis-py's own scripting and function tests, unchanged, against a running server:
#
#   scripts/redis-py-suite.sh PORT [PYTEST_ARGS...]
#
# e.g. scripts/redis-py-suite.sh 7460 --protocol=2
#
# The server on 127.0.0.1:PORT is whatever is being measured: a plain redis-server, one with
# the module loaded, or one with the module in takeover mode (tests/dropin_redispy.rs runs
# them all). Its databases are flushed by the tests (FLUSHDB, SCRIPT FLUSH, FUNCTION FLUSH):
# never point it at a server whose data matters.
#
# Everything is pinned and cached in the checkout's ignored .tools/redis-py/:
#   - a Python venv with redis-py and the test dependencies, installed with --require-hashes;
#   - redis-py's source distribution (the PyPI sdist, sha256-checked), of which only tests/
#     and pyproject.toml (pytest's settings: markers, asyncio_mode, timeout) are unpacked.
# Only python3 (3.11 or newer, with venv and ensurepip: Debian's python3 and python3-venv,
# which `make deps` installs) is needed; the first run downloads from PyPI.
#
# Selection: tests/test_scripting.py, tests/test_function.py and their asyncio variants, less
# the tests marked onlycluster (deselected, as redis-py's own CI does for a standalone server).
# The protocol is redis-py's default (RESP3) unless --protocol=2 is passed.
# Exit status: pytest's (0 all passed, 1 some failed, 2-5 pytest could not run them).
set -euo pipefail

REDISPY_VERSION=8.2.0
SDIST_URL=https://files.pythonhosted.org/packages/10/8a/408dd829367bb62972bd5d91bd8cc283c24c8344f80a880d4b3901ce43fd/redis-${REDISPY_VERSION}.tar.gz
SDIST_SHA256=58b1493d83ba8f0e3ffe6bd781194ca5c01c91267ae03d29c1087b0b3c7d79c9
TEST_FILES=(
    tests/test_scripting.py
    tests/test_function.py
    tests/test_asyncio/test_scripting.py
    tests/test_asyncio/test_function.py
)

# Every package of the venv, each to one file by its hash (all pure-Python wheels, so the same
# set installs on any CPython >= 3.11). pytest-timeout serves pyproject's `timeout = 30`;
# coverage is there only because pyproject's filterwarnings names one of its warnings (without
# it every test adds a PytestConfigWarning); typing_extensions is pytest-asyncio's on < 3.13;
# async-timeout is redis's own on CPython < 3.11.3 (Debian 12's python3 is 3.11.2).
REQUIREMENTS="redis==${REDISPY_VERSION} --hash=sha256:4ff649f10fae5e7e97798fb2a84e84a0a66e98310d75cad2b5a572ce0f9f15a7
async-timeout==5.0.1 ; python_full_version < '3.11.3' --hash=sha256:39e3809566ff85354557ec2398b55e096c8364bacac9405a7a1fa429e77fe76c
pytest==9.2.0 --hash=sha256:07acdcf88ec174f907dc01af70bf52d49b014bbab03faeeade31c96b18c2e588
pytest-asyncio==1.5.0 --hash=sha256:557f255ee03cc84f84a8d5f438bc9c6e0f714bf86970ae743c7ecb5a38d7e07d
pytest-timeout==2.4.0 --hash=sha256:c42667e5cdadb151aeb5b26d114aff6bdf5a907f176a007a30b940d3d865b5c2
packaging==26.4 --hash=sha256:81383611a09c1bc0b08b76e0fd5829d7c6824c65b27a6aee339da133f4233ea2
iniconfig==2.3.1 --hash=sha256:9121e2c1fdb355232495be3194c8dfe87ccc2d5dee45947b78e68f499790d7a7
pluggy==1.7.0 --hash=sha256:7dd7b0d8832ba3cb632c306926ded123429211b83641b35dc5c41ad2d34f9bec
pygments==2.21.0 --hash=sha256:2363c69b61c4a97c838da3b130dcd6468f4848992b21a82f2a63ec34377137d9
typing-extensions==4.16.0 --hash=sha256:481caa481374e813c1b176ada14e97f1f67a4539ce9cfeb3f350d78d6370c2e8
coverage==7.11.0 --hash=sha256:4b7589765348d78fb4e5fb6ea35d07564e387da2fc5efff62e0222971f155f68"

die() {
    echo "redis-py-suite: $*" >&2
    exit 2
}

[ $# -ge 1 ] || die "usage: $0 PORT [PYTEST_ARGS...]"
PORT=$1
shift
[[ $PORT =~ ^[0-9]+$ ]] && [ "$PORT" -ge 1 ] && [ "$PORT" -le 65535 ] || die "not a port: '$PORT'"

command -v python3 >/dev/null 2>&1 || die "python3 not found: run 'make deps' (apt-get install python3 python3-venv)"
python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' ||
    die "redis ${REDISPY_VERSION} needs Python 3.11 or newer; python3 is $(python3 -V 2>&1)"
python3 -c 'import venv, ensurepip' 2>/dev/null ||
    die "python3 has no venv/ensurepip: run 'make deps' (apt-get install python3-venv)"

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TOOLS=$ROOT/.tools/redis-py
VENV=$TOOLS/venv
SUITE=$TOOLS/redis-${REDISPY_VERSION}
mkdir -p "$TOOLS"

# Set up once; concurrent runs (parallel cargo tests) wait for the first one.
setup() {
    local stamp req
    req=$(printf '%s\n' "$REQUIREMENTS")
    # A venv belongs to the python3 that made it: another one (PATH, upgrade) makes a new venv.
    stamp=$({ printf '%s\n' "$req"; command -v python3; python3 -VV; } | sha256sum | cut -d' ' -f1)
    if [ "$(cat "$VENV/.pinned" 2>/dev/null || true)" != "$stamp" ]; then
        echo "redis-py-suite: creating $VENV (redis ${REDISPY_VERSION}, pytest, pinned by hash)" >&2
        rm -rf "$VENV"
        python3 -m venv "$VENV" || die "python3 -m venv failed: run 'make deps' (python3-venv)"
        printf '%s\n' "$req" >"$TOOLS/requirements.txt"
        # --no-deps with every dependency listed: nothing unpinned comes in.
        "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-input \
            --require-hashes --no-deps --only-binary :all: -r "$TOOLS/requirements.txt" >&2 ||
            die "pip install failed (PyPI reachable?)"
        "$VENV/bin/python" -m pip check >&2 || die "pip check failed: a pinned dependency is missing"
        printf '%s' "$stamp" >"$VENV/.pinned"
    fi

    if [ ! -f "$SUITE/.complete" ]; then
        local tarball=$TOOLS/redis-${REDISPY_VERSION}.tar.gz
        if ! { [ -f "$tarball" ] && echo "$SDIST_SHA256  $tarball" | sha256sum -c --quiet - >/dev/null 2>&1; }; then
            echo "redis-py-suite: downloading the redis ${REDISPY_VERSION} sdist" >&2
            "$VENV/bin/python" - "$SDIST_URL" "$tarball.part" <<'EOF' || die "sdist download failed"
import shutil, sys, urllib.request
with urllib.request.urlopen(sys.argv[1], timeout=120) as r, open(sys.argv[2], "wb") as f:
    shutil.copyfileobj(r, f)
EOF
            echo "$SDIST_SHA256  $tarball.part" | sha256sum -c --quiet - || die "sdist sha256 mismatch"
            mv "$tarball.part" "$tarball"
        fi
        # Only tests/ and pyproject.toml: the sdist's redis/ would shadow the installed wheel.
        local tmp=$SUITE.tmp
        rm -rf "$tmp" "$SUITE"
        mkdir -p "$tmp"
        tar -xzf "$tarball" -C "$tmp" --strip-components=1 \
            "redis-${REDISPY_VERSION}/tests" "redis-${REDISPY_VERSION}/pyproject.toml"
        local f
        for f in "${TEST_FILES[@]}" tests/conftest.py tests/test_asyncio/conftest.py; do
            [ -f "$tmp/$f" ] || die "the redis ${REDISPY_VERSION} sdist has no $f"
        done
        touch "$tmp/.complete"
        mv "$tmp" "$SUITE"
    fi
}

if command -v flock >/dev/null 2>&1; then
    exec 9>"$TOOLS/.lock"
    flock 9
    setup
    flock -u 9
    exec 9>&-
else
    setup
fi

# A clear message rather than every test erroring on a refused connection.
"$VENV/bin/python" - "$PORT" <<'EOF' || die "no server answers PING on 127.0.0.1:$PORT"
import sys, redis
try:
    redis.Redis(host="127.0.0.1", port=int(sys.argv[1]), socket_timeout=10).ping()
except redis.RedisError as e:
    sys.exit(f"redis-py-suite: {e}")
EOF

cd "$SUITE"
url=redis://127.0.0.1:$PORT
status=0
# --redis-mod-url: conftest reads INFO modules from it (default localhost:6479, a stranger's).
# -p no:cacheprovider: nothing written into the suite's directory. -rfEs: why each test
# failed, errored or was skipped, above the summary line. -W: pyproject's `capture = "yes"`
# is no ini option pytest knows, a PytestConfigWarning in every run that says nothing of the
# server.
"$VENV/bin/python" -m pytest -p no:cacheprovider -q -rfEs -m 'not onlycluster' \
    -W ignore::pytest.PytestConfigWarning \
    --redis-url="$url" --redis-mod-url="$url" "$@" "${TEST_FILES[@]}" || status=$?
exit "$status"
