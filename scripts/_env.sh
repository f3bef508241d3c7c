# Shared by scripts/demo and scripts/test: find Python >= 3.12 and make the venv.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
VENV="${DIZHI_VENV:-$ROOT/.venv}"

find_python() {
  for candidate in "${PYTHON:-}" python3.13 python3.12 python3; do
    [ -n "$candidate" ] || continue
    if command -v "$candidate" >/dev/null 2>&1 &&
      "$candidate" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' 2>/dev/null; then
      command -v "$candidate"; return 0
    fi
  done
  if command -v pyenv >/dev/null 2>&1; then
    for v in $(pyenv versions --bare | grep -E '^3\.1[2-9]' | sort -rV); do
      echo "$(pyenv root)/versions/$v/bin/python3"; return 0
    done
  fi
  echo "Dizhi needs Python 3.12 or newer (Django 6.1); none found. Set PYTHON=/path/to/python3.12." >&2
  return 1
}

ensure_venv() {
  local extras="$1"
  if [ ! -x "$VENV/bin/python" ]; then
    "$(find_python)" -m venv "$VENV"
  fi
  local stamp="$VENV/.dizhi-installed-$extras"
  if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    "$VENV/bin/python" -m pip install -q --upgrade pip
    # Editable: the checkout is the installed package (pip install . copies it, for production).
    "$VENV/bin/python" -m pip install -q -e ".${extras:+[$extras]}"
    touch "$stamp"
  fi
  export PATH="$VENV/bin:$PATH"
}
