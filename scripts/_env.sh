# Shared by scripts/demo.sh and scripts/test.sh: create .venv and install the project into it.
# Usage: SETUP_EXTRAS=test source scripts/_env.sh   (run from the repository root)

_need_root_or_sudo() {
  if [ "$(id -u)" = 0 ]; then "$@"
  elif command -v sudo >/dev/null 2>&1; then sudo "$@"
  else return 1
  fi
}

apt_install() {
  # apt_install PACKAGE... : install Debian packages (as root, or through sudo).
  export DEBIAN_FRONTEND=noninteractive
  _need_root_or_sudo apt-get update -qq &&
    _need_root_or_sudo apt-get install -y -qq "$@" >/dev/null
}

PYTHON=${PYTHON:-python3}
if ! command -v "$PYTHON" >/dev/null 2>&1; then
  echo "error: $PYTHON not found; install Python 3.10 or newer (Debian: apt-get install python3)" >&2
  exit 1
fi
if [ ! -x .venv/bin/python ]; then
  if ! "$PYTHON" -m venv .venv >/dev/null 2>&1; then
    # Debian's python3 ships venv separately.
    rm -rf .venv
    echo "installing python3-venv (Debian ships venv separately)..."
    apt_install python3-venv || {
      echo "error: '$PYTHON -m venv' failed; install the python3-venv package and run this again" >&2
      exit 1
    }
    "$PYTHON" -m venv .venv
  fi
fi
echo "setting up .venv (the first run downloads the packages; later runs take seconds)..."
if ! { .venv/bin/python -m pip install --upgrade pip &&
       .venv/bin/python -m pip install -e ".${SETUP_EXTRAS:+[$SETUP_EXTRAS]}"; } >.venv/setup.log 2>&1; then
  tail -n 30 .venv/setup.log >&2
  echo "error: installing the Python packages failed; the full log is .venv/setup.log" >&2
  exit 1
fi
