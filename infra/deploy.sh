#!/usr/bin/env bash
# Build and deploy the trailhound stack with AWS SAM.
#
#   infra/deploy.sh                      sam build + sam deploy (uses samconfig.toml if present,
#                                        otherwise --guided asks for every parameter once)
#   infra/deploy.sh --guided             force the guided prompts
#   infra/deploy.sh --connect-bucket     after deploying with TrailBucketName=<existing bucket>:
#                                        add the stack's queue to that bucket's event
#                                        notifications, keeping the ones already there
#   infra/deploy.sh -- ARGS...           extra arguments for sam deploy
#                                        (e.g. -- --parameter-overrides AlertEmail=sec@example.com)
#
# Needs: sam (pip install aws-sam-cli), cargo-lambda (pip install cargo-lambda; it brings
# zig through the ziglang package), the rustup target aarch64-unknown-linux-gnu, and AWS
# credentials. STACK (default trailhound) and AWS_REGION pick the stack.
#
# Before deploying, the model signing key is created when missing: 256 random bits as 64 hex
# characters in the SSM SecureString MODEL_SIGNING_KEY_PARAMETER (default
# /trailhound/model-signing-key; it must match the stack parameter ModelSigningKeyParameterName).
# CloudFormation cannot create SecureString parameters, hence this step. An existing key is
# never replaced: rotate it with infra/push-model.sh --rotate-key.
set -euo pipefail
cd "$(dirname "$0")/.."

STACK=${STACK:-trailhound}
guided=""
connect=""
extra=()
while [ $# -gt 0 ]; do
  case "$1" in
    --guided) guided=1 ;;
    --connect-bucket) connect=1 ;;
    --) shift; extra=("$@"); break ;;
    -h|--help) sed -n '2,23p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done

need() { command -v "$1" >/dev/null 2>&1 || { echo "missing $1: $2" >&2; exit 1; }; }

output() {
  aws cloudformation describe-stacks --stack-name "$STACK" \
    --query "Stacks[0].Outputs[?OutputKey=='$1'].OutputValue" --output text
}

connect_bucket() {
  need aws "install the AWS CLI"
  need python3 "python3 merges the notification configuration"
  local bucket queue_arn current merged prefix
  bucket=$(output TrailBucket)
  queue_arn=$(output CloudTrailQueueArn)
  # PREFIX/AWSLogs/ with the stack parameter TrailKeyPrefix (organization trails write
  # AWSLogs/o-.../ACCOUNT/, which the same prefix covers); AWSLogs/ for older stacks.
  prefix=$(output TrailFilesPrefix)
  case "$prefix" in ""|None) prefix=AWSLogs/ ;; esac
  echo "==> adding $queue_arn to the event notifications of s3://$bucket (keys $prefix*.json.gz)"
  current=$(aws s3api get-bucket-notification-configuration --bucket "$bucket" --output json)
  # put-bucket-notification-configuration replaces the whole configuration: merge, never overwrite.
  merged=$(QUEUE_ARN="$queue_arn" KEY_PREFIX="$prefix" python3 -c '
import json, os, sys
conf = json.loads(sys.stdin.read() or "{}")
conf.pop("ResponseMetadata", None)
queues = conf.setdefault("QueueConfigurations", [])
arn = os.environ["QUEUE_ARN"]
if any(q.get("QueueArn") == arn for q in queues):
    sys.exit(3)
queues.append({"Id": "trailhound-cloudtrail", "QueueArn": arn, "Events": ["s3:ObjectCreated:*"],
               "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": os.environ["KEY_PREFIX"]},
                                                  {"Name": "suffix", "Value": ".json.gz"}]}}})
print(json.dumps(conf))
' <<<"$current") || {
    [ $? -eq 3 ] && { echo "==> s3://$bucket already notifies that queue"; return 0; }
    return 1
  }
  aws s3api put-bucket-notification-configuration --bucket "$bucket" \
    --notification-configuration "$merged"
  echo "==> s3://$bucket now notifies trailhound; S3 sent a test event that cloudtrail-ingest skips"
}

# Creates the model signing key parameter if it does not exist yet; never overwrites it.
ensure_signing_key() {
  need aws "install the AWS CLI"
  local parameter=${MODEL_SIGNING_KEY_PARAMETER:-/trailhound/model-signing-key} err
  if err=$(aws ssm get-parameter --name "$parameter" --query Parameter.Type --output text 2>&1 >/dev/null); then
    echo "==> model signing key: $parameter exists"
    return 0
  fi
  case "$err" in
    *ParameterNotFound*) ;;
    *) echo "cannot check the model signing key $parameter: $err" >&2; return 1 ;;
  esac
  echo "==> model signing key: creating $parameter (SSM SecureString, 256 random bits)"
  # The key reaches the AWS CLI through a file (file://), never on a command line ps can show.
  local file
  file=$(mktemp)
  trap 'rm -f "$file"' RETURN
  od -An -tx1 -N32 /dev/urandom | tr -d ' \n' >"$file"
  [ "$(wc -c <"$file")" -eq 64 ] || { echo "could not read 32 random bytes" >&2; return 1; }
  aws ssm put-parameter --name "$parameter" --type SecureString \
    --description "trailhound model signing key (HMAC-SHA256, 64 hex characters)" \
    --value "file://$file" >/dev/null
}

if [ -n "$connect" ]; then
  connect_bucket
  exit 0
fi

need sam "pip install aws-sam-cli"
need cargo "install Rust with rustup"
cargo lambda --help >/dev/null 2>&1 || { echo "missing cargo-lambda: pip install cargo-lambda" >&2; exit 1; }

ensure_signing_key

echo "==> sam build (cargo lambda, arm64)"
sam build --parallel

deploy_args=(--stack-name "$STACK" --capabilities CAPABILITY_IAM --resolve-s3)
if [ -n "$guided" ] || [ ! -f samconfig.toml ]; then
  deploy_args+=(--guided)
fi
echo "==> sam deploy ${deploy_args[*]} ${extra[*]}"
sam deploy "${deploy_args[@]}" "${extra[@]}"

echo "==> stack outputs"
aws cloudformation describe-stacks --stack-name "$STACK" --query "Stacks[0].Outputs" --output table || true
