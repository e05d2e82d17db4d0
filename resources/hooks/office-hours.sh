#!/bin/sh
# Remote4D open-connection hook: refuse connections between 02:00 and 04:00 (server time),
# as in 4D's On Server Open Connection example. Any non-zero exit refuses; what it prints is
# the message the user sees.
cat >/dev/null   # the session info arrives on stdin; this hook does not need it
hour=$(date +%H)
if [ "$hour" -ge 2 ] && [ "$hour" -lt 4 ]; then
  echo "The server is in maintenance between 2 and 4 am; please connect later."
  exit 1
fi
exit 0
