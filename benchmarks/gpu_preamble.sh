# Sourced by gpu_check.sh and gpu_claims.sh with their arguments: what both do first.
# Goes to the checkout's root, sets PY (PYTHON, else the course's .venv/bin/python when make built
# one, else python3) and DRY (1 for --dry-run), and refuses a real run where there is no CUDA GPU.
cd "$(dirname "${BASH_SOURCE[0]}")/.."
SCRIPT="benchmarks/$(basename "$0")"
PY="${PYTHON:-python3}"
[[ -z "${PYTHON:-}" && -x .venv/bin/python ]] && PY=.venv/bin/python
DRY=0
case "${1:-}" in
    --dry-run) DRY=1 ;;
    "") ;;
    *)
        echo "usage: bash $SCRIPT [--dry-run]" >&2
        exit 2
        ;;
esac
if ((!DRY)) && ! "$PY" -c "import sys, torch; sys.exit(not torch.cuda.is_available())"; then
    echo "error: no CUDA GPU here; bash $SCRIPT --dry-run checks the script on a CPU" >&2
    exit 1
fi
