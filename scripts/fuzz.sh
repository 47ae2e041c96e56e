#!/usr/bin/env bash
# `make fuzz`: builds the libFuzzer targets (Sources/filmd-fuzz) with AddressSanitizer and runs
# each for FUZZ_SECONDS (default 60), side by side, over a copy of fuzz/corpus (the repo is not
# written). A crash, sanitizer report, leak or timeout fails the run and prints the reproducer.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${FUZZ_SECONDS:-60}
scratch=.build-fuzz
targets=(json head)

# libFuzzer ships with the toolchain's clang. SwiftPM's `main` for an executable takes the
# place of libFuzzer's, so the driver is exported for FuzzMain.swift to find and start.
# C targets get coverage and ASan too (guard.c above all); libevent and SQLite from Debian do not.
echo "fuzz: building filmd-fuzz (libFuzzer + AddressSanitizer) in $scratch"
scripts/swift-build-locked build --scratch-path "$scratch" --product filmd-fuzz \
    -Xswiftc -sanitize=fuzzer,address -Xcc -fsanitize=fuzzer-no-link,address \
    -Xlinker --export-dynamic-symbol=LLVMFuzzerRunDriver > "/tmp/filmd-fuzz-build.$$.log" 2>&1 \
    || { grep -v "Cannot export local symbol" "/tmp/filmd-fuzz-build.$$.log" | tail -40; exit 1; }
rm -f "/tmp/filmd-fuzz-build.$$.log"
echo "fuzz: built in ${SECONDS}s (waiting for the build lock included)"
binary=$scratch/debug/filmd-fuzz

work=$(mktemp -d /tmp/filmd-fuzz.XXXXXX)
# The Swift runtime's own backtracer waits on a crash; libFuzzer and ASan report it instead.
export SWIFT_BACKTRACE=enable=no
pids=()
for target in "${targets[@]}"; do
    cp -r "fuzz/corpus/$target" "$work/$target"
    dict=(); [ -f "fuzz/$target.dict" ] && dict=(-dict="fuzz/$target.dict")
    FILMD_FUZZ_TARGET=$target "$binary" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
        -max_len=4096 -print_final_stats=1 "${dict[@]}" -artifact_prefix="$work/$target-" "$work/$target" \
        > "$work/$target.log" 2>&1 &
    pids+=($!)
done

failed=0
for i in "${!targets[@]}"; do
    target=${targets[$i]}
    if wait "${pids[$i]}"; then
        done_line=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$work/$target.log" | tail -1)
        rate=$(sed -n 's/^stat::average_exec_per_sec:[[:space:]]*//p' "$work/$target.log")
        echo "fuzz $target: ${seconds}s, ${rate} exec/s, ${done_line}"
    else
        failed=1
        echo "fuzz $target: FAILED"
        grep -v -E '^(INFO|#[0-9]+)' "$work/$target.log" | tail -60
        for artifact in "$work/$target"-*; do
            [ -e "$artifact" ] || continue
            echo "reproducer $artifact ($(stat -c %s "$artifact") bytes):"
            od -An -c "$artifact" | head -40
            echo "replay: FILMD_FUZZ_TARGET=$target $binary $artifact"
        done
    fi
done
if [ "$failed" -ne 0 ]; then echo "fuzz: failed; logs and reproducers in $work"; exit 1; fi
rm -rf "$work"
echo "fuzz: no crash, sanitizer report, leak or timeout"
