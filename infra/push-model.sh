#!/usr/bin/env bash
# Sign and upload a trained model to the stack's model bucket, or roll a source's model back.
#
#   infra/push-model.sh MODEL_FILE [SOURCE]     sign and upload to models/SOURCE/model.bin
#                                               (SOURCE: cloudtrail (default), vpcflow or
#                                               access_log) with `trailhound model push`
#   infra/push-model.sh --rollback [SOURCE]     make the previous version of that object the
#                                               current one again (the bucket is versioned; the
#                                               signature is metadata and is copied with it)
#
# The functions load only models signed with the stack's key and revalidate the object's ETag
# every MODEL_REFRESH_SECONDS (300 by default), so a push or roll-back takes effect within
# minutes without a deploy. BUCKET overrides the stack output ModelBucketName and
# MODEL_SIGNING_KEY_PARAMETER the output ModelSigningKeyParameter; STACK (default trailhound)
# names the stack; TRAILHOUND names the CLI binary (default: `trailhound` on PATH, else
# `cargo run --release -p trailhound`). This script is a wrapper: the CLI does the signing.
set -euo pipefail
cd "$(dirname "$0")/.."

STACK=${STACK:-trailhound}
rollback=""
if [ "${1:-}" = "--rollback" ]; then
  rollback=1
  shift
fi
if [ -z "$rollback" ] && [ $# -lt 1 ]; then
  sed -n '2,17p' "$0"
  exit 2
fi

output() {
  aws cloudformation describe-stacks --stack-name "$STACK" \
    --query "Stacks[0].Outputs[?OutputKey=='$1'].OutputValue" --output text
}
if [ -z "${BUCKET:-}" ]; then
  BUCKET=$(output ModelBucketName)
fi

if [ -n "$rollback" ]; then
  source=${1:-cloudtrail}
  key="models/$source/model.bin"
  previous=$(aws s3api list-object-versions --bucket "$BUCKET" --prefix "$key" \
    --query "Versions[?Key=='$key' && IsLatest==\`false\`] | sort_by(@, &LastModified) | [-1].VersionId" \
    --output text)
  if [ -z "$previous" ] || [ "$previous" = "None" ]; then
    echo "no earlier version of s3://$BUCKET/$key to roll back to" >&2
    exit 1
  fi
  echo "==> s3://$BUCKET/$key: restoring version $previous as the current one"
  aws s3api copy-object --bucket "$BUCKET" --key "$key" \
    --copy-source "$BUCKET/$key?versionId=$previous" >/dev/null
  echo "==> done; the functions pick it up within MODEL_REFRESH_SECONDS"
  exit 0
fi

model=$1
source=${2:-cloudtrail}
[ -f "$model" ] || { echo "no such model file: $model" >&2; exit 1; }

if [ -n "${TRAILHOUND:-}" ]; then
  cli=("$TRAILHOUND")
elif command -v trailhound >/dev/null 2>&1; then
  cli=(trailhound)
else
  cli=(cargo run --quiet --release -p trailhound --)
fi
if [ -z "${MODEL_SIGNING_KEY_PARAMETER:-}" ]; then
  MODEL_SIGNING_KEY_PARAMETER=$(output ModelSigningKeyParameter)
fi
echo "==> ${cli[*]} model push $model --bucket $BUCKET --source $source --signing-key-parameter $MODEL_SIGNING_KEY_PARAMETER"
"${cli[@]}" model push "$model" --bucket "$BUCKET" --source "$source" \
  --signing-key-parameter "$MODEL_SIGNING_KEY_PARAMETER"
