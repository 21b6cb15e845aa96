#!/usr/bin/env bash
# Runs the whole test suite: installs what the tests need when it is missing, then `dotnet test`.
set -euo pipefail
cd "$(dirname "$0")"

need=()
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
# The dashboard specs drive Debian's Chromium through Playwright; Playwright never downloads a browser of its own.
[ -x "${JOBS_CHROMIUM:-/usr/bin/chromium}" ] || need+=(chromium)
if [ ${#need[@]} -gt 0 ]; then
  echo "Installing ${need[*]} ..."
  export DEBIAN_FRONTEND=noninteractive
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi

export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
dotnet build ActorJobs.sln -c Release -nologo -v quiet
dotnet test ActorJobs.sln -c Release --no-build -nologo --logger "console;verbosity=normal" "$@"
