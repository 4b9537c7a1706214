#!/usr/bin/env bash
# Runs plio: wait for the database (bounded), create it if missing, migrate, seed, serve.
# From a checkout it builds the release binary first; in the container it uses the installed
# binary. Configuration comes from the environment or ./.env (see .env.example).
set -euo pipefail
cd "$(dirname "$0")"

if [ -n "${PLIO_BIN:-}" ]; then
    BIN="$PLIO_BIN"
elif [ -f Cargo.toml ] && command -v cargo >/dev/null 2>&1; then
    echo "entrypoint: building the release binary (cargo build --release)..." >&2
    cargo build --release --locked --quiet --bin plio
    BIN=./target/release/plio
elif command -v plio >/dev/null 2>&1; then
    BIN=plio
else
    echo "entrypoint: no plio binary found (install Rust and run from the checkout, or set PLIO_BIN)" >&2
    exit 1
fi

"$BIN" db wait --timeout "${DB_WAIT_SECONDS:-60}"
"$BIN" db create
"$BIN" migrate
"$BIN" seed
exec "$BIN" serve
