#!/usr/bin/env bash
# Runs the whole test suite: installs what the tests need when it is missing, then `dotnet test`.
set -euo pipefail
cd "$(dirname "$0")"

need=()
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
# The dashboard specs drive Debian's Chromium through Playwright; Playwright never downloads a browser of its own.
[ -x "${JOBS_CHROMIUM:-/usr/bin/chromium}" ] || need+=(chromium)
# Schedule entries read cron expressions in IANA time zones (Europe/Berlin, America/New_York) from the system's tzdata.
[ -f /usr/share/zoneinfo/Europe/Berlin ] || need+=(tzdata)
# The chaos spec puts each node in a network namespace of its own (`ip netns`), and falls back to loopback without it.
command -v ip >/dev/null 2>&1 || need+=(iproute2)
if [ ${#need[@]} -gt 0 ]; then
  echo "Installing ${need[*]} ..."
  export DEBIAN_FRONTEND=noninteractive
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi

export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
dotnet build ActorJobs.sln -c Release -nologo -v quiet
mkdir -p TestResults
log=TestResults/test.log
rc=0
dotnet test ActorJobs.sln -c Release --no-build -nologo --logger "console;verbosity=normal" "$@" 2>&1 | tee "$log" || rc=$?

# A failure's message scrolls past among hundreds of passing lines; repeat each one, with its message, at the end.
if [ "$rc" -ne 0 ]; then
  echo
  echo "==== failed tests (messages; full output in $log) ===="
  awk '/^  Failed /{show=1; n=0} /^  Stack Trace:/{show=0} show && n++ < 40' "$log"
fi
exit "$rc"
