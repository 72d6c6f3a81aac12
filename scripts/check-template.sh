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

# checkov again on the template as CloudFormation sees it after the SAM transform, so the
# generated Lambda functions, permissions and subscriptions are checked too. The transform
# runs locally: explicit roles mean no managed-policy lookups, so no credentials.
transformed=$(mktemp --suffix .json)
trap 'rm -f "$transformed"' EXIT
transform() {
  "$TOOLS/bin/python" - "$TEMPLATE" "$transformed" <<'PY'
import json, sys
from samcli.yamlhelper import yaml_parse
from samtranslator.translator.transform import transform

class NoManagedPolicies:
    def load(self):
        return {}

template = yaml_parse(open(sys.argv[1]).read())
for resource in template.get("Resources", {}).values():
    if resource.get("Type") == "AWS::Serverless::Function":
        # sam package would put an S3 URI here; the transform accepts nothing else.
        resource["Properties"]["CodeUri"] = "s3://placeholder/code.zip"
json.dump(transform(template, {}, NoManagedPolicies()), open(sys.argv[2], "w"), indent=1)
PY
}
checkov_transformed() {
  transform && "$TOOLS/bin/checkov" --file "$transformed" --framework cloudformation \
    --skip-download --compact --quiet
}
check "checkov (after the SAM transform)" checkov_transformed

if [ ${#failed[@]} -gt 0 ]; then
  printf "template checks FAILED:"; printf " [%s]" "${failed[@]}"; echo
  exit 1
fi
echo "template checks PASSED: cfn-lint, sam validate --lint, checkov (SAM and transformed)"
