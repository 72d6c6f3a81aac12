#!/usr/bin/env bash
# The whole test suite, on a machine that has only Rust and Python:
#   1. a Python venv (.venv) with moto's server and the template linters,
#   2. moto's server on loopback as the AWS endpoint for the adapter and handler tests,
#   3. a check that shared/core depends on no AWS crate, and that neither the Lambdas
#      nor shared/core depend on the simulator, then cargo test over the whole workspace,
#   4. the template checks (scripts/check-template.sh) when template.yaml exists.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=${TRAILHOUND_VENV:-.venv}
PORT=${TRAILHOUND_MOTO_PORT:-5599}

if [ ! -x "$VENV/bin/python" ]; then
  echo "==> creating $VENV"
  python3 -m venv "$VENV"
fi
echo "==> installing test tools into $VENV"
"$VENV/bin/pip" install --quiet --disable-pip-version-check -r scripts/requirements-test.txt

mkdir -p target
echo "==> starting moto on 127.0.0.1:$PORT"
"$VENV/bin/moto_server" -H 127.0.0.1 -p "$PORT" >target/moto.log 2>&1 &
MOTO_PID=$!
trap 'kill $MOTO_PID 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  if "$VENV/bin/python" -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:$PORT/moto-api/')" 2>/dev/null; then
    break
  fi
  sleep 0.2
done

export TRAILHOUND_MOTO_ENDPOINT="http://127.0.0.1:$PORT"
export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_SESSION_TOKEN=testing
export AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
unset AWS_PROFILE

echo "==> shared/core stays free of AWS crates"
if cargo tree -p trailhound-core -e normal | grep -Ei 'aws|lambda'; then
  echo "trailhound-core depends on an AWS or Lambda crate (see above); it must not" >&2
  exit 1
fi

# The simulator (shared/simulate) is for the CLI and the tests: a Lambda that linked
# it would build and ship about 11,000 lines it never runs.
echo "==> the Lambdas and shared/core do not depend on the simulator"
for pkg in cloudtrail-ingest logs-ingest alert-notifier trailhound-core; do
  # captured first, so that a failing `cargo tree` (a renamed package) stops the script
  tree=$(cargo tree -p "$pkg" -e normal)
  if grep -F 'trailhound-simulate' <<<"$tree"; then
    echo "$pkg depends on trailhound-simulate (see above); it must not" >&2
    exit 1
  fi
done

echo "==> cargo test --workspace"
cargo test --workspace "$@"

# The README's first command is `cargo run --release -p trailhound -- demo`: the
# package has two binaries, so `cargo run` must still pick the CLI (default-run).
echo "==> cargo run -p trailhound resolves to the CLI"
cargo run -q -p trailhound -- --help >/dev/null

if [ -f template.yaml ] && [ -x scripts/check-template.sh ]; then
  echo "==> template checks"
  VENV="$VENV" scripts/check-template.sh
fi
