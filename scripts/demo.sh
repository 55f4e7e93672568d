#!/usr/bin/env bash
# `make demo`: the seed's story on the local environment, end to end, with real output.
#   1. start the environment and deploy the OpenShift AI scenario (rhoai-demo)
#   2. back it up with the example plan into a local repository
#   3. the seed's disaster: workload objects, PVCs and the registry database deleted
#   4. restore, and ask the iris model for the seed's prediction
#   5. a recovery drill on the second cluster, with its audit record
set -euo pipefail
cd "$(dirname "$0")/.."
mlark=.venv/bin/mlark
state="${MLARK_DEV_HOME:-${XDG_STATE_HOME:-$HOME/.local/state}/mlark/dev}"
work="$state/demo"
mkdir -p "$work"
export MLARK_PASSWORD="${MLARK_PASSWORD:-demo-only-password}"
export MLARK_AUDIT_DIR="$work/audit"

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "1. local environment and the rhoai-demo scenario"
"$mlark" dev env up
"$mlark" dev scenario deploy rhoai-demo
export KUBECONFIG="$state/clusters/primary/kubeconfig"

step "2. backup of both namespaces as one restore point"
sed "s|repository: ./backups/rhoai-demo|repository: $work/repository|" examples/plans/rhoai-demo.yaml > "$work/plan.yaml"
[ -f "$work/repository/config" ] || "$mlark" repo init --repo "$work/repository"
"$mlark" plan validate "$work/plan.yaml"
"$mlark" backup create --plan "$work/plan.yaml"

step "3. the seed's disaster"
.venv/bin/python -c "
from mlark.kube.client import api_client
from mlark.dev.scenario.disaster import seed_disaster
seed_disaster(api_client('$KUBECONFIG'))
print('deleted: Notebook, DSPA, InferenceServices, ServingRuntimes, Workflow, StatefulSet, PVCs, ModelRegistry and its database')"

step "4. restore, then the seed's prediction"
"$mlark" restore create --from-backup latest --plan "$work/plan.yaml" --without-operators \
  --exclude rhoai-model-registries:PersistentVolumeClaim/model-catalog-postgres \
  --exclude rhoai-model-registries:Deployment.apps/model-catalog,model-catalog-postgres
# The restored predictor copies its model from S3 and loads it: ask until it answers.
.venv/bin/python -c "
from mlark.kube.client import api_client
from mlark.dev.scenario.predict import wait_for_prediction
prediction = wait_for_prediction(api_client('$KUBECONFIG'), print)
print('restored iris model predicts', prediction.classes, 'for the seed request (expected [0, 2])')"
"$mlark" dev scenario show rhoai-demo

step "5. recovery drill on the recovery cluster, recorded in the audit trail"
"$mlark" drill run --plan "$work/plan.yaml" --kubeconfig "$state/clusters/recovery/kubeconfig" --sandbox-suffix "" \
  --without-operators --storage-class-mapping ocs-storagecluster-ceph-rbd=standard \
  --storage-class-mapping ocs-storagecluster-cephfs=standard-rwx --exclude rhoai-demo:ObjectBucketClaim.objectbucket.io \
  --exclude rhoai-model-registries:PersistentVolumeClaim/model-catalog-postgres \
  --exclude rhoai-model-registries:Deployment.apps/model-catalog,model-catalog-postgres
"$mlark" audit verify
echo
echo "The environment keeps running: 'make env-down' stops it."
