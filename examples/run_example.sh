#!/usr/bin/env bash
# Runs an example end to end for the test suite.
#   run_example.sh resume DIR resume_minimal      120 steps, then resumed to 200, then a re-run does nothing
#   run_example.sh eval DIR eval_inference train_fashion_mnist
set -euo pipefail
mode=$1 dir=$2
rm -rf "$dir" && mkdir -p "$dir"
case $mode in
  resume)
    "$3" "$dir" 120 | tee "$dir/first.log"
    "$3" "$dir" 200 | tee "$dir/second.log"
    "$3" "$dir" 200 | tee "$dir/third.log"
    grep -q "done at step 120" "$dir/first.log"
    grep -q "resuming from .*ckpt-0000000120.pt at step 120" "$dir/second.log"
    grep -q "done at step 200" "$dir/second.log"
    grep -q "resuming from .*ckpt-0000000200.pt at step 200" "$dir/third.log"
    grep -q "done at step 200" "$dir/third.log" ;;
  eval)
    "$4" --run-dir "$dir/run" --train-subset 2048 --test-subset 200 --epochs 1 --log-every 100 > "$dir/train.log"
    ckpt=$(ls "$dir"/run/ckpt-*.pt | tail -1)
    "$3" "$ckpt" --count 8 | tee "$dir/eval.log"
    grep -q "of 8 right" "$dir/eval.log" ;;
esac
