#!/usr/bin/env bash
# Wall time and peak memory of `wirewatch run --once` over the 100 real
# feeds of ../shared/data/feeds/real, served from a loopback HTTP server.
#
#   scripts/measure-real-feeds.sh            # uses target/debug/wirewatch
#   PROFILE=release scripts/measure-real-feeds.sh
set -euo pipefail
cd "$(dirname "$0")/.."
profile=${PROFILE:-debug}
if [ "$profile" = release ]; then cargo build --release --quiet; else cargo build --quiet; fi
bin=target/$profile/wirewatch
feeds=$(cd ../shared/data/feeds/real && pwd)
work=$(mktemp -d)
trap 'kill $server 2>/dev/null || true; [ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
python3 -m http.server "$port" --bind 127.0.0.1 --directory "$feeds" >/dev/null 2>&1 &
server=$!
for _ in $(seq 50); do
    python3 - "$port" <<'PY' && break
import socket, sys
try:
    socket.create_connection(("127.0.0.1", int(sys.argv[1])), 0.2).close()
except OSError:
    sys.exit(1)
PY
    sleep 0.1
done

{
    printf '[database]\nurl = "sqlite://%s/w.db"\n[polling]\nmax_concurrent = 16\nmax_per_host = 16\n[http]\nlisten = ""\n' "$work"
    for f in "$feeds"/*; do
        name=$(basename "$f")
        [ "$name" = SOURCES.md ] && continue
        printf '[[feeds]]\nurl = "http://127.0.0.1:%s/%s"\nbackfill = "all"\n' "$port" "$name"
    done
    printf '[[console.rules]]\nspec = "country:Russia"\n[[console.rules]]\nspec = "keyword:UN Security Council"\n[[console.rules]]\nspec = "person:James Cleverly"\n'
} > "$work/real.toml"

/usr/bin/time -v "$bin" run --once --config "$work/real.toml" >"$work/stdout" 2>"$work/stderr" || true
grep -E "Elapsed \(wall clock\)|Maximum resident set size" "$work/stderr"
grep -E "single pass done" "$work/stderr" | tail -1 || true
echo "alerts printed: $(grep -c '^ALERT' "$work/stdout" || true)"
