#!/bin/sh
# Why a compose stack did not come up: for each of the project's containers that is unhealthy, exited or
# restarting, its state, its last health-check outputs and its last log lines. `make up` runs this when
# `docker compose up` fails, so the reason is on the screen, not behind `docker inspect`.
#   images/why-down.sh PROJECT
project=${1:?usage: why-down.sh PROJECT}
for id in $(docker ps -aq --filter "label=com.docker.compose.project=$project"); do
  state=$(docker inspect --format '{{.State.Status}}{{if .State.Health}} {{.State.Health.Status}}{{end}}' "$id")
  case "$state" in
    "running healthy" | running | "running starting" | created) continue ;;  # fine, or waiting its turn
  esac
  name=$(docker inspect --format '{{index .Config.Labels "com.docker.compose.service"}}' "$id")
  echo "── $name: $state"
  docker inspect --format '{{if .State.Health}}{{range .State.Health.Log}}{{.Output}}{{end}}{{end}}' "$id" \
    | grep -v '^$' | tail -n 2 | sed 's/^/   health: /'
  docker logs --tail 6 "$id" 2>&1 | sed 's/^/   log: /'
done
