#!/usr/bin/env bash
# Replay historical CloudTrail files from S3 through the pipeline: for every object under
# the given dates, send the ingest queue the same S3 ObjectCreated notification that S3
# would have sent, so cloudtrail-ingest scores it like a new file. Findings have
# deterministic ids, so replaying a day twice stores and alerts nothing twice.
#
#   infra/backfill.sh [options] DATE [DATE...]
#     DATE              YYYY/MM/DD, YYYY/MM or YYYY: the date part of CloudTrail keys
#                       ([PREFIX/]AWSLogs/[ORG_ID/]ACCOUNT/CloudTrail/REGION/YYYY/MM/DD/...)
#     --bucket B        trail bucket (default: stack output TrailBucket)
#     --key-prefix P    the trail's S3 key prefix, P/AWSLogs/ (default: stack output
#                       TrailFilesPrefix, else none)
#     --queue-url U     ingest queue (default: stack output CloudTrailQueueUrl)
#     --account ID      only this account's files (default: every account in the bucket)
#     --region R        only this region's files (repeatable; default: every region)
#     --dry-run         list the objects, send nothing
#
#   e.g. infra/backfill.sh 2024/03/01 2024/03/02      two days, all accounts and regions
#        infra/backfill.sh --region eu-west-1 2024/02  one month of one region
#
# Needs the AWS CLI and python3. STACK (default trailhound) names the stack.
set -euo pipefail

STACK=${STACK:-trailhound}
bucket="" queue_url="" account="" dry_run="" key_prefix="" regions=() dates=()
while [ $# -gt 0 ]; do
  case "$1" in
    --bucket) bucket=$2; shift ;;
    --queue-url) queue_url=$2; shift ;;
    --key-prefix) key_prefix=$2; shift ;;
    --account) account=$2; shift ;;
    --region) regions+=("$2"); shift ;;
    --dry-run) dry_run=1 ;;
    -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
    -*) echo "unknown option: $1 (see --help)" >&2; exit 2 ;;
    *)
      [[ "$1" =~ ^[0-9]{4}(/[0-9]{2}(/[0-9]{2})?)?$ ]] || { echo "not a date prefix: $1 (YYYY[/MM[/DD]])" >&2; exit 2; }
      dates+=("$1") ;;
  esac
  shift
done
[ ${#dates[@]} -gt 0 ] || { sed -n '2,22p' "$0"; exit 2; }

output() {
  aws cloudformation describe-stacks --stack-name "$STACK" \
    --query "Stacks[0].Outputs[?OutputKey=='$1'].OutputValue" --output text
}
[ -n "$bucket" ] || bucket=$(output TrailBucket)
[ -n "$queue_url" ] || [ -n "$dry_run" ] || queue_url=$(output CloudTrailQueueUrl)
if [ -n "$key_prefix" ]; then
  awslogs="${key_prefix%/}/AWSLogs/"
else
  awslogs=$(output TrailFilesPrefix 2>/dev/null || true)
  case "$awslogs" in ""|None) awslogs=AWSLogs/ ;; esac
fi

# Folders directly under a prefix ("a/b/" -> "a/b/c/" ...).
folders() {
  aws s3api list-objects-v2 --bucket "$bucket" --prefix "$1" --delimiter / \
    --query "CommonPrefixes[].Prefix" --output text | tr '\t' '\n' | grep -v '^None$' || true
}

# AWSLogs/ACCOUNT/CloudTrail/ and, for organisation trails, AWSLogs/ORG/ACCOUNT/CloudTrail/
# (each under the key prefix, if any).
trail_roots() {
  local top
  for top in $(folders "$awslogs"); do
    if [[ "${top#"$awslogs"}" =~ ^o-[a-z0-9]+/$ ]]; then
      for acct in $(folders "$top"); do echo "${acct}CloudTrail/"; done
    else
      echo "${top}CloudTrail/"
    fi
  done | { if [ -n "$account" ]; then grep "/$account/CloudTrail/$"; else cat; fi; }
}

prefixes=()
for root in $(trail_roots); do
  for region_dir in $(folders "$root"); do
    region=${region_dir%/}; region=${region##*/}
    if [ ${#regions[@]} -gt 0 ] && [[ ! " ${regions[*]} " =~ " $region " ]]; then continue; fi
    for d in "${dates[@]}"; do prefixes+=("${region_dir}${d}/"); done
  done
done
[ ${#prefixes[@]} -gt 0 ] || { echo "no CloudTrail folders found in s3://$bucket/$awslogs" >&2; exit 1; }

sent=0
for prefix in "${prefixes[@]}"; do
  listing=$(aws s3api list-objects-v2 --bucket "$bucket" --prefix "$prefix" \
    --query "Contents[].[Key,Size,ETag]" --output text | grep -v '^None$' || true)
  [ -n "$listing" ] || continue
  count=$(grep -c . <<<"$listing")
  echo "==> $prefix: $count objects"
  if [ -n "$dry_run" ]; then
    cut -f1 <<<"$listing"
    continue
  fi
  # Batches of 10 (SQS's limit), each entry an S3 event notification with one record. S3
  # URL-encodes keys in notifications; CloudTrail keys hold no character it would change.
  while IFS= read -r batch; do
    aws sqs send-message-batch --queue-url "$queue_url" --entries "$batch" \
      --query "Failed[].[Id,Message]" --output text | grep -v '^None$' >&2 || true
  done < <(BUCKET="$bucket" python3 -c '
import json, os, sys
from datetime import datetime, timezone
bucket = os.environ["BUCKET"]
now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")
rows = [line.split("\t") for line in sys.stdin.read().splitlines() if line.strip()]
for start in range(0, len(rows), 10):
    entries = []
    for i, (key, size, etag) in enumerate(rows[start:start + 10]):
        record = {
            "eventVersion": "2.1", "eventSource": "aws:s3", "eventTime": now,
            "eventName": "ObjectCreated:Put", "awsRegion": os.environ.get("AWS_REGION", ""),
            "userIdentity": {"principalId": "trailhound-backfill"},
            "requestParameters": {"sourceIPAddress": "127.0.0.1"}, "responseElements": {},
            "s3": {"s3SchemaVersion": "1.0", "configurationId": "trailhound-backfill",
                   "bucket": {"name": bucket, "arn": "arn:aws:s3:::" + bucket,
                              "ownerIdentity": {"principalId": "trailhound-backfill"}},
                   "object": {"key": key, "size": int(size), "eTag": etag.strip("\"")}},
        }
        entries.append({"Id": str(i), "MessageBody": json.dumps({"Records": [record]})})
    print(json.dumps(entries))
' <<<"$listing")
  sent=$((sent + count))
done
[ -n "$dry_run" ] || echo "==> queued $sent objects on $queue_url; watch the dashboard and the dead-letter queue"
