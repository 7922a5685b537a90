#!/bin/bash
# Fixity over a bucket as a Slurm job array (issue 16): one array task per shard.
#
#   sbatch --array=1-16 deploy/slurm-verify.sh s3://archive/packages /shared/fixity-ledger
#
# Slurm sets SLURM_ARRAY_TASK_ID, _MIN, _MAX, _STEP and _COUNT in every task; `--shard auto` turns them into
# shard (ID-MIN)/STEP+1 of COUNT. Arrays with holes (--array=1,4,9) are refused: use a range. Each task
# appends to its own ledger part (part-I-of-N.jsonl) in the shared ledger folder; afterwards
#   dangan ledger report /shared/fixity-ledger s3://archive/packages
# merges the parts and lists packages never checked. The ledger folder may be in the bucket as well
# (s3://archive/fixity: one part object per shard). Credentials: the standard AWS variables or
# ~/.aws/credentials of the submitting user (never on the command line).
#SBATCH --job-name=dangan-verify
#SBATCH --cpus-per-task=2
#SBATCH --mem=512M
#SBATCH --time=24:00:00
#SBATCH --output=dangan-verify-%A_%a.log
set -euo pipefail

URL=${1:?usage: sbatch --array=1-N slurm-verify.sh s3://bucket/prefix LEDGER_DIR}
LEDGER=${2:?usage: sbatch --array=1-N slurm-verify.sh s3://bucket/prefix LEDGER_DIR}
mkdir -p "$LEDGER"

# Exit codes: 0 all good, 1 damage found (recorded in the ledger), 2 the run could not finish (retry it).
exec dangan verify --shard auto --json --quiet \
  --ledger "$LEDGER" "$URL" >"verify-${SLURM_ARRAY_JOB_ID:-0}-${SLURM_ARRAY_TASK_ID:-0}.json"
