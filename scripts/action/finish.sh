#!/usr/bin/env bash
# Last step of the action: fail it when cargo tek did not succeed, now that the
# report has been written and posted.
#
# Environment:
#   TEK_STATUS     ok | failed | error | interrupted (from run.sh)
#   TEK_EXIT_CODE  exit code of cargo tek (from run.sh)
# Exit code: TEK_EXIT_CODE (0 when the status is ok).
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

status=${TEK_STATUS:-}
code=${TEK_EXIT_CODE:-}

if [[ -z $status || -z $code ]]; then
  tek_die "the run step recorded no outcome" 1
fi
[[ $code =~ ^[0-9]{1,3}$ ]] || tek_die "invalid exit code from the run step: '${code}'" 1

case "$status" in
  ok)
    [[ $code -eq 0 ]] || tek_die "status ok with exit code ${code}" 1
    exit 0
    ;;
  failed) tek_error "cargo tek: tasks failed; see the report" ;;
  interrupted) tek_error "cargo tek: run interrupted" ;;
  error) tek_error "cargo tek: error (exit ${code})" ;;
  *) tek_die "unknown status '${status}'" 1 ;;
esac
# Never turn a non-ok status into success.
if [[ $code -eq 0 ]]; then code=1; fi
exit "$code"
