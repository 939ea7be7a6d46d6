#!/usr/bin/env bash
# Recomputes tests/vectors/{handshake,frames,identity-export}.json with the
# Python implementation and fails if they differ from the committed files.
# Exit 77 (skipped) without Python's `cryptography` module.
set -u
py=${1:-python3}
"$py" -c 'import cryptography.hazmat.primitives.kdf.argon2' 2>/dev/null || {
  echo "python3 has no cryptography module (with Argon2id): skipped"; exit 77; }
PYTHONDONTWRITEBYTECODE=1 exec "$py" "$PKC_SOURCE_DIR/tests/vectors/gen_proto.py" --check
