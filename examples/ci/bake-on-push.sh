#!/usr/bin/env bash
# A CI job for every push: commit the services that changed and bake the images that contain
# them, through the team's shared bake service, so every runner uses one version manifest and
# one lock. The job needs only the checkout and Node; no shared file system.
#
#   BAKE_SERVICE        e.g. http://bake.internal:7878 (bake serve on the shared host)
#   BAKE_SERVICE_TOKEN  a write token from the service's --tokens file (a CI secret)
#   BAKE_ACTOR          who is acting, recorded with every write (e.g. "ci:$GITHUB_ACTOR")
set -euo pipefail
: "${BAKE_SERVICE:?set BAKE_SERVICE to the bake service URL}"
: "${BAKE_SERVICE_TOKEN:?set BAKE_SERVICE_TOKEN to a write token}"
bake() { ${BAKE_CLI:-npx --no-install bake} "$@"; }

# Uploads each service's committed tree; unchanged ones are recognised by their git tree id
# and create no new version.
bake --json commit --all > commits.json
changed=$(node -e 'const c=require("./commits.json").commits.filter(x=>x.created).map(x=>x.service);console.log(c.join(" "))')
echo "changed services: ${changed:-none}"

# Bake every image that contains a changed service. A build found stale at record time (another
# team committed meanwhile) is rebaked with the new vector; the output says so.
for recipe in recipes/*.yaml; do
  image=$(basename "$recipe" .yaml)
  for service in $changed; do
    if grep -Eq "services:.*\\b${service}\\b|^ *- *${service}\\b" "$recipe"; then
      bake build "$image"
      break
    fi
  done
done

# Hand the newest build to staging through the race gate: exit 3 means a race was caught (the
# message names the service, both versions, and who committed the newer one); fail the job.
if [ -n "${BAKE_RELEASE_ENV:-}" ]; then
  for image in ${BAKE_RELEASE_IMAGES:-}; do bake release "$image" --env "$BAKE_RELEASE_ENV"; done
fi
