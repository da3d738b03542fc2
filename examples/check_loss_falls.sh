#!/usr/bin/env bash
# Runs an example that prints "... loss X" lines and checks the last loss is under a fifth of the
# first.   check_loss_falls.sh PROGRAM [ARGS...]
set -euo pipefail
out=$("$@")
echo "$out"
first=$(echo "$out" | awk '/loss/ {print $NF; exit}')
last=$(echo "$out" | awk '/loss/ {v=$NF} END {print v}')
awk -v f="$first" -v l="$last" 'BEGIN { if (l < f / 5) exit 0; print "loss did not fall: " f " -> " l; exit 1 }'
