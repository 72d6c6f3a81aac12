#!/usr/bin/env bash
# Static checks of template.yaml, on a machine with only Python (no AWS account, no
# credentials, no network other than PyPI for the first install):
#   cfn-lint              CloudFormation and SAM schema and best-practice rules
#   sam validate --lint   the SAM transform itself, then cfn-lint on its output
#   checkov               security: encryption, public access, IAM wildcards, logging;
#                         every skipped check carries its reason in the resource's Metadata
# Exits non-zero when any of them fails. Called by scripts/test.sh; runs alone too.
set -uo pipefail
cd "$(dirname "$0")/.."

VENV=${VENV:-.venv}
TOOLS=${TRAILHOUND_TEMPLATE_VENV:-$VENV/template-tools}
TEMPLATE=${1:-template.yaml}

if [ ! -x "$TOOLS/bin/python" ]; then
  echo "==> creating $TOOLS"
  python3 -m venv "$TOOLS" || exit 1
fi
echo "==> installing template tools into $TOOLS"
"$TOOLS/bin/pip" install --quiet --disable-pip-version-check -r scripts/requirements-template.txt || exit 1

# sam needs a region but no credentials; keep it away from any real account and from
# telemetry, and checkov from its guideline download.
export AWS_DEFAULT_REGION=us-east-1 AWS_REGION=us-east-1 SAM_CLI_TELEMETRY=0
unset AWS_PROFILE

failed=()
check() {
  local name=$1
  shift
  echo "==> $name"
  if "$@"; then
    echo "PASS $name"
  else
    echo "FAIL $name"
    failed+=("$name")
  fi
}

check "cfn-lint" "$TOOLS/bin/cfn-lint" "$TEMPLATE"
check "sam validate --lint" "$TOOLS/bin/sam" validate --lint --template "$TEMPLATE"
check "checkov" "$TOOLS/bin/checkov" --file "$TEMPLATE" --framework cloudformation \
  --skip-download --compact --quiet

if [ ${#failed[@]} -gt 0 ]; then
  echo "template checks FAILED: ${failed[*]}"
  exit 1
fi
echo "template checks PASSED: cfn-lint, sam validate --lint, checkov"
