#!/bin/sh
# Remote4D hook for open or close: append the session info (one JSON line) to a log file.
#   open_connection  = ["/usr/share/remote4d/hooks/log-connections.sh", "/var/log/remote4d/sessions.log"]
#   close_connection = ["/usr/share/remote4d/hooks/log-connections.sh", "/var/log/remote4d/sessions.log"]
log=${1:-/tmp/remote4d-sessions.log}
{ cat; echo; } >> "$log"
exit 0
