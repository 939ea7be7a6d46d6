#!/usr/bin/env bash
# Recomputes tests/vectors/dnsrec.json with the Python implementation
# (tests/vectors/gen_dnsrec.py) and fails if it differs from the committed
# file. Exit 77 (skipped) without Python's `cryptography` module.
set -u
py=${1:-python3}
"$py" -c 'import cryptography.hazmat.primitives.asymmetric.ed25519' 2>/dev/null || {
  echo "python3 has no cryptography module: skipped"; exit 77; }
PYTHONDONTWRITEBYTECODE=1 exec "$py" "$PKC_SOURCE_DIR/tests/vectors/gen_dnsrec.py" --check
