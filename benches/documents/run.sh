#!/usr/bin/env bash
# Document benchmark: upload and download speed of a 20 MiB PDF through motcua (release build) on its
# filesystem storage backend, against a plain copy of the same file on the same disk, and the server's
# extra memory while eight such uploads run at once. Prints one block of figures at the end with
# PASS/FAIL per target; exits 0 whatever the figures, non-zero when something broke (a failed HTTP call,
# a wrong size or SHA-256).
#
# Settings (environment): DOCS_RUNS (7, runs of each speed measurement, the median is reported),
# DOCS_CONCURRENT (8, uploads at once in the memory measurement),
# LOAD_BINARY (measure that build instead of building target/release/motcua, as benches/load does).
set -euo pipefail
export LC_ALL=C # $EPOCHREALTIME with a decimal point
cd "$(dirname "$0")/../.."
runs="${DOCS_RUNS:-7}"
concurrent="${DOCS_CONCURRENT:-8}"
size=$((20 * 1024 * 1024))
if [ "$runs" -lt 1 ] || [ "$concurrent" -lt 1 ]; then echo "DOCS_RUNS and DOCS_CONCURRENT must be at least 1" >&2; exit 1; fi

# A free port of the loopback interface.
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
# common.sh installs wrk (for the load benchmark) when it is missing; this benchmark drives the server
# with curl only, so a stand-in keeps it from installing anything.
command -v wrk > /dev/null || wrk() { echo "wrk is not used by the document benchmark" >&2; return 1; }
# Builds (or takes LOAD_BINARY), makes the scratch directory $work (removed at exit, with the server
# killed), start_server / stop_server / token.
. benches/load/common.sh
base="http://127.0.0.1:$port"
storage="$work/documents" # the service's storage directory; $work also holds the SQLite database
copies="$work/copies" # the ceiling's copies: beside the storage directory, on the same filesystem
mkdir -p "$storage" "$copies"
export MOTCUA_STORAGE_URL="file://$storage"
export MOTCUA_DOCUMENT_MAX_BYTES=$((25 * 1024 * 1024)) # headroom: the default limit is exactly 20 MiB

sampler=""
stop_sampler() { [ -n "$sampler" ] && { kill "$sampler" 2> /dev/null; wait "$sampler" 2> /dev/null || true; }; sampler=""; }
trap 'stop_sampler; cleanup' EXIT

# The file: a PDF header, then random bytes (incompressible, nothing for the sniffer but the header).
file="$work/bench.pdf"
{ printf '%%PDF-1.7\n'; head -c $((size - 9)) /dev/urandom; } > "$file"
[ "$(stat -c %s "$file")" -eq "$size" ]
file_sha=$(sha256sum "$file" | cut -d' ' -f1)

json_field() { python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"; }
fail() { echo "FAILED: $1" >&2; [ -f "${2:-}" ] && { echo "response body:" >&2; cat "$2" >&2; echo >&2; }; exit 1; }

upload() { # $1 = where the response goes; exits non-zero unless 201 (check_upload checks the answer)
  local status
  status=$(curl -sS -o "$1" -w '%{http_code}' --data-binary "@$file" -H 'Content-Type: application/pdf' \
    -H "Authorization: Bearer $tok" "$base/api/v1/dossiers/$code/documents?kind=submitted&file_name=bench.pdf") \
    || fail "upload: curl exited with $?" "$1"
  [ "$status" = 201 ] || fail "upload: HTTP $status (expected 201)" "$1"
}
check_upload() { # $1 = an upload's response
  [ "$(json_field "$1" size)" = "$size" ] || fail "upload: size $(json_field "$1" size), sent $size" "$1"
  [ "$(json_field "$1" sha256)" = "$file_sha" ] || fail "upload: SHA-256 differs from the file's" "$1"
}
download() { # $1 = document id, $2 = where the bytes go (on the same disk); sets $first_byte (s)
  local status
  status=$(curl -sS -o "$2" -w '%{http_code} %{time_starttransfer}' -H "Authorization: Bearer $tok" \
    "$base/api/v1/dossiers/$code/documents/$1/content") || fail "download of $1: curl exited with $?" "$2"
  first_byte=${status#* }; status=${status%% *}
  [ "$status" = 200 ] || fail "download of $1: HTTP $status (expected 200)" "$2"
}
check_download() { # $1 = downloaded file
  [ "$(stat -c %s "$1")" -eq "$size" ] || fail "download: $(stat -c %s "$1") bytes, expected $size"
  [ "$(sha256sum "$1" | cut -d' ' -f1)" = "$file_sha" ] || fail "download: SHA-256 differs from the upload's"
}
seconds() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.6f", b - a }'; }
speed() { awk -v s="$1" -v n="$size" 'BEGIN { printf "%.0f", n / 1048576 / s }'; } # MiB/s
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$server/stat"; } # the server's user + system CPU time
status_kb() { awk -v k="$1:" '$1 == k { print $2 }' "/proc/$server/status"; } # VmRSS, VmHWM (kB)
sample_rss() { # the server's VmRSS (kB), one line every ~20 ms, until killed or the server is gone
  local key value rest
  while [ -r "/proc/$server/status" ]; do
    while read -r key value rest; do [ "$key" = VmRSS: ] && { echo "$value"; break; }; done < "/proc/$server/status" || true
    sleep 0.02
  done
}

echo "motcua document benchmark: one ${size}-byte PDF, $runs runs of each speed measurement, $concurrent concurrent uploads"
echo "binary $binary, storage $MOTCUA_STORAGE_URL ($(df -T "$storage" | awk 'NR == 2 {print $2 " on " $1}')), port $port"
start_server "$work/motcua.db"
tok=$(token)
python3 benches/load/seed.py "$base" "$tok" 1 "$work/codes.txt" > /dev/null # units, a procedure, a dossier being processed
code=$(head -1 "$work/codes.txt")
echo "dossier $code"

# Warm-up (not measured): the first upload and download of the process.
upload "$work/warm.json"; check_upload "$work/warm.json"
download "$(json_field "$work/warm.json" id)" "$work/warm.pdf"; check_download "$work/warm.pdf"

# The three measurements interleaved, run by run, so that whatever else the machine does touches each alike.
# Ceiling: cp (coreutils) of the same file to a new file beside the storage directory, without fsync: the
# service writes through object_store's LocalFileSystem, which fsyncs only when built `with_fsync(true)`,
# and src/storage does not ask for it. Each copy, upload and download writes a new file, as uploads do.
# coreutils' cp copies inside the kernel (copy_file_range); dd bs=1M, a copy through user space in
# 1 MiB reads and writes as the service's 1 MiB parts, is measured too and shown beside it, for reference.
printf '%-5s %14s %14s %14s %14s\n' run "cp MiB/s" "dd MiB/s" "upload MiB/s" "download MiB/s"
: > "$work/times.txt"
for i in $(seq 1 "$runs"); do
  t0=$EPOCHREALTIME; cp "$file" "$copies/copy-$i.pdf"; t1=$EPOCHREALTIME
  copy=$(seconds "$t0" "$t1")
  t0=$EPOCHREALTIME; dd if="$file" of="$copies/dd-$i.pdf" bs=1M status=none; t1=$EPOCHREALTIME
  dd=$(seconds "$t0" "$t1")
  c0=$(cpu_ticks); t0=$EPOCHREALTIME; upload "$work/upload-$i.json"; t1=$EPOCHREALTIME; c1=$(cpu_ticks)
  up=$(seconds "$t0" "$t1"); check_upload "$work/upload-$i.json"; up_cpu=$((c1 - c0))
  id=$(json_field "$work/upload-$i.json" id)
  c0=$(cpu_ticks); t0=$EPOCHREALTIME; download "$id" "$work/download-$i.pdf"; t1=$EPOCHREALTIME; c1=$(cpu_ticks)
  down_cpu=$((c1 - c0))
  down=$(seconds "$t0" "$t1"); check_download "$work/download-$i.pdf" # every run, not only once
  printf '%s\n' "copy $copy" "dd $dd" "upload $up" "download $down" "first_byte $first_byte" "upload_cpu $up_cpu" \
    "download_cpu $down_cpu" >> "$work/times.txt"
  printf '%-5s %14s %14s %14s %14s\n' "$i" "$(speed "$copy")" "$(speed "$dd")" "$(speed "$up")" "$(speed "$down")"
done
echo "every upload answered the file's size and SHA-256 ($file_sha); every download had them"

# Memory: a fresh server process, one warm-up upload, then the baseline (VmRSS, VmHWM) and
# $concurrent uploads at once while VmRSS is sampled; the peak also counts VmHWM if it rose.
stop_server
start_server "$work/motcua.db"
tok=$(token)
upload "$work/warm2.json"; check_upload "$work/warm2.json"
sleep 1
rss_before=$(status_kb VmRSS); hwm_before=$(status_kb VmHWM)
sample_rss > "$work/rss.txt" & sampler=$!
sleep 0.1
pids=()
t0=$EPOCHREALTIME
for i in $(seq 1 "$concurrent"); do upload "$work/concurrent-$i.json" & pids+=($!); done
broken=0
for p in "${pids[@]}"; do wait "$p" || broken=1; done
t1=$EPOCHREALTIME
sleep 0.1
stop_sampler
hwm_after=$(status_kb VmHWM); rss_after=$(status_kb VmRSS)
[ "$broken" = 0 ] || fail "one of the $concurrent concurrent uploads failed (above)"
for i in $(seq 1 "$concurrent"); do check_upload "$work/concurrent-$i.json"; done
documents=$(curl -fsS -H "Authorization: Bearer $tok" "$base/api/v1/dossiers/$code/documents" \
  | python3 -c 'import json, sys; print(len(json.load(sys.stdin)["items"]))') || fail "listing the dossier's documents"
stored=$(find "$storage" -type f | wc -l)
stop_server

echo
python3 - "$work/times.txt" "$work/rss.txt" "$size" "$runs" "$concurrent" "$rss_before" "$hwm_before" "$hwm_after" \
  "$rss_after" "$(seconds "$t0" "$t1")" "$documents" "$stored" "$(getconf CLK_TCK)" <<'PY'
import statistics, sys
(times_file, rss_file, size, runs, concurrent, rss_before, hwm_before, hwm_after, rss_after, batch, documents,
 stored, ticks) = sys.argv[1:]
size, runs, concurrent = int(size), int(runs), int(concurrent)
rss_before, hwm_before, hwm_after, rss_after = map(int, (rss_before, hwm_before, hwm_after, rss_after))
times = {}
for line in open(times_file):
    kind, seconds = line.split()
    times.setdefault(kind, []).append(float(seconds))
mib = size / 1048576
speed = {kind: statistics.median(mib / s for s in times[kind]) for kind in ("copy", "dd", "upload", "download")}
ms = lambda kind, scale: statistics.median(times[kind]) * scale  # a median in milliseconds
cpu_ms = 1000 / int(ticks)
samples = [int(line) for line in open(rss_file) if line.strip()]
peak = max(samples + [rss_before])
if hwm_after > hwm_before:  # a peak between two samples
    peak = max(peak, hwm_after)
increase_mb = (peak - rss_before) * 1024 / 1e6
verdict = lambda ok: "PASS" if ok else "FAIL"
ceiling = speed["copy"]
print(f"== Figures: {mib:.0f} MiB PDF, median of {runs} runs, filesystem storage")
print(f"ceiling, cp on the same disk (no fsync)   {ceiling:7.0f} MiB/s")
for kind, label in (("upload", "upload, curl POST --data-binary"), ("download", "download, curl GET to a file")):
    ratio = speed[kind] / ceiling
    print(f"{label:<41} {speed[kind]:7.0f} MiB/s   ratio {ratio:.2f}   target >= 0.3   {verdict(ratio >= 0.3)}")
print(f"  for reference, dd bs=1M (user space)    {speed['dd']:7.0f} MiB/s   ratios to it: upload "
      f"{speed['upload'] / speed['dd']:.2f}, download {speed['download'] / speed['dd']:.2f}")
print(f"download SHA-256 = upload SHA-256         yes (every run)")
print(f"  server CPU per upload {ms('upload_cpu', cpu_ms):.0f} ms, per download {ms('download_cpu', cpu_ms):.0f} ms; "
      f"download's first byte after {ms('first_byte', 1000):.0f} ms (the SHA-256 check), "
      f"wall time upload {ms('upload', 1000):.0f} ms, download {ms('download', 1000):.0f} ms")
print(f"{concurrent} concurrent uploads                      {concurrent * mib / float(batch):7.0f} MiB/s in all, "
      f"{float(batch):.2f} s")
print(f"  server VmRSS before {rss_before / 1024:.1f} MiB, peak {peak / 1024:.1f} MiB ({len(samples)} samples ~20 ms), "
      f"after {rss_after / 1024:.1f} MiB; VmHWM {hwm_before / 1024:.1f} -> {hwm_after / 1024:.1f} MiB")
print(f"  peak RSS increase                       {increase_mb:7.1f} MB      target < 50 MB   {verdict(increase_mb < 50)}")
print(f"documents of the dossier {documents}, files in the storage directory {stored}")
PY
