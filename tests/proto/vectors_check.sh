#!/usr/bin/env bash
# Recomputes tests/vectors/{handshake,frames,identity-export}.json with the
# Python implementation and fails if they differ from the committed files.
# Exit 77 (skipped) without Python's `cryptography` module and an Argon2id
# (cryptography >= 44, or argon2-cffi: scripts/bootstrap installs Debian's).
set -u
py=${1:-python3}
"$py" -c 'import cryptography.hazmat.primitives.ciphers.aead' 2>/dev/null || {
  echo "python3 has no cryptography module: skipped"; exit 77; }
"$py" -c 'import cryptography.hazmat.primitives.kdf.argon2' 2>/dev/null ||
  "$py" -c 'import argon2.low_level' 2>/dev/null || {
  echo "python3 has no Argon2id (cryptography >= 44 or argon2-cffi): skipped"; exit 77; }
PYTHONDONTWRITEBYTECODE=1 exec "$py" "$PKC_SOURCE_DIR/tests/vectors/gen_proto.py" --check
