#!/bin/sh
# One-shot after the Temporal server is healthy: the namespace Roadbed runs in (ROADBED_TEMPORAL_NAMESPACE), and
# Roadbed's search attributes (roadbed/temporal.py SEARCH_ATTRIBUTES), so listing environments by service, team,
# golden path or environment works from the first request. Idempotent: existing ones are left alone. The worker also
# adds missing attributes at start (ensure_search_attributes); doing it here keeps the API's first query correct
# even before a worker has run.
set -eu
: "${TEMPORAL_ADDRESS:?}" "${NAMESPACE:?}"
attempts=30
until temporal operator cluster health --address "$TEMPORAL_ADDRESS" >/dev/null 2>&1; do
  attempts=$((attempts - 1))
  [ "$attempts" -gt 0 ] || { echo "Temporal at $TEMPORAL_ADDRESS did not become healthy" >&2; exit 1; }
  sleep 2
done

if temporal operator namespace describe --namespace "$NAMESPACE" --address "$TEMPORAL_ADDRESS" >/dev/null 2>&1; then
  echo "namespace $NAMESPACE exists"
else
  temporal operator namespace create --namespace "$NAMESPACE" --retention "${NAMESPACE_RETENTION:-720h}" --address "$TEMPORAL_ADDRESS"
fi

existing=$(temporal operator search-attribute list --namespace "$NAMESPACE" --address "$TEMPORAL_ADDRESS")
for name in RoadbedService RoadbedTeam RoadbedGoldenPath RoadbedEnvironment; do
  if printf '%s\n' "$existing" | grep -qw "$name"; then
    echo "search attribute $name exists"
  else
    temporal operator search-attribute create --namespace "$NAMESPACE" --name "$name" --type Keyword --address "$TEMPORAL_ADDRESS"
  fi
done
