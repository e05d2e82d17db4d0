#!/usr/bin/env bash
# GUI benchmark: time from launch to the first frame (the window is mapped and painted), and
# memory at idle, for the real app under Xvfb in a private network namespace.
# Targets: first frame under 0.5 s, idle memory under 150 MB.
#   bench/gui.sh [BINARY]      (build it first: cargo build --release)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
bin=${1:-$here/target/release/remote4d}
runs=${RUNS:-5}
if [ "${GUI_BENCH_IN_NETNS:-}" != 1 ]; then
  flags=(--net); [ "$(id -u)" = 0 ] || flags+=(--map-root-user)
  exec unshare "${flags[@]}" env GUI_BENCH_IN_NETNS=1 bash "$0" "$bin"
fi
ip link set lo up
display=":$((60 + RANDOM % 15))"
Xvfb "$display" -screen 0 1280x800x24 -nolisten tcp -noreset >/dev/null 2>&1 &
xvfb=$!
trap 'kill $xvfb 2>/dev/null || true' EXIT
export DISPLAY=$display
for _ in $(seq 50); do xwininfo -root >/dev/null 2>&1 && break; sleep 0.1; done
times=()
for i in $(seq "$runs"); do
  home=$(mktemp -d)
  start=$(date +%s%N)
  REMOTE4D_HOME=$home "$bin" >/dev/null 2>&1 &
  app=$!
  # First frame: the window exists and has been painted (a pixel of the title differs from black).
  while :; do
    if wid=$(xdotool search --onlyvisible --name Remote4D 2>/dev/null | head -1) && [ -n "$wid" ]; then
      eval "$(xdotool getwindowgeometry --shell "$wid" 2>/dev/null)"
      px=$(import -window root -crop "1x1+$((X + WIDTH / 2))+$((Y + HEIGHT / 2))" -depth 8 txt:- 2>/dev/null | tail -1 | awk '{print $3}')
      [ -n "$px" ] && [ "$px" != "#000000" ] && break
    fi
    sleep 0.005
  done
  end=$(date +%s%N)
  times+=($(( (end - start) / 1000000 )))
  if [ "$i" = "$runs" ]; then
    sleep 3
    rss=$(awk '/VmRSS/ {print $2}' "/proc/$app/status")
    pss=$(awk '/^Pss:/ {s+=$2} END {print s}' "/proc/$app/smaps" 2>/dev/null || echo "?")
  fi
  kill "$app"; wait "$app" 2>/dev/null || true
  rm -rf "$home"
done
sorted=$(printf '%s\n' "${times[@]}" | sort -n)
median=$(echo "$sorted" | sed -n "$(( (runs + 1) / 2 ))p")
echo "launch to first frame: median ${median} ms of ${runs} runs (all: ${times[*]} ms; target < 500 ms)"
echo "memory at idle after 3 s: RSS $((rss / 1024)) MB, PSS $((pss / 1024)) MB (target < 150 MB)"
