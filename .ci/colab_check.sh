#!/usr/bin/env bash
# make test-colab: a stand-in for Colab. Colab's own versions (colab/pip-freeze.txt) of the course's
# dependencies on Python 3.13; the course installed from a wheel (not editable) as the notebooks'
# `%pip install` does, failing if that would change any installed package; then every notebook
# run under nbval from a folder outside the checkout (the teacher edition at the quick profile's budgets,
# then the student edition at a tenth of them), and the widget tests against Colab's ipywidgets.
#
# Held fixed, at Colab's versions: every dependency of the course that Colab ships (torch 2.11.0,
# torchvision 0.26.0, numpy, pillow, matplotlib, ipywidgets 7.7.1, tqdm, tensorboard, PyYAML) and
# the test tools Colab has (pytest, nbclient, ipykernel); a package the install adds must come at
# Colab's version where Colab has it. Stood in for: Colab's Python 3.13.x by this machine's 3.13;
# Colab's torch 2.11.0+cu128 by PyPI's 2.11.0 (a CUDA 13 build, about 4 GB installed with its nvidia-*
# wheels, run on the CPU; no CPU-only 2.11.0 wheel is on PyPI); Colab's other ~700 packages are not
# installed; Colab's widget frontend is not run (nbval runs kernels; the widget tests send what
# ipywidgets 7's frontend sends). The venv takes about 5 GB and is removed once the check passes.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
start=$SECONDS
venv=$(realpath -m "${COLAB_VENV:-.venv-colab}")
python=
for candidate in ${COLAB_PYTHON:-python3.13 /root/.pyenv/versions/3.13*/bin/python3 /usr/bin/python3.13}; do
  if "$candidate" -c 'import sys; assert sys.version_info[:2] == (3, 13)' 2>/dev/null; then
    python=$(command -v "$candidate")
    break
  fi
done
if [ -z "$python" ]; then
  echo "colab: no Python 3.13 (Colab's) found; set COLAB_PYTHON=/path/to/python3.13" >&2
  exit 1
fi
unset LD_PRELOAD  # Colab has no tcmalloc
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Colab's versions as pip constraints: local labels (+cu128) dropped, since PyPI's torch 2.11.0 is
# the same release; entries installed from URLs skipped; and the CUDA runtime (nvidia-*, cuda-*)
# left to torch, because PyPI's torch 2.11.0 is built for CUDA 13 and Colab's for CUDA 12.8.
sed -nE 's/^([A-Za-z0-9._-]+)==([^+ ]+)(\+[^ ]*)?$/\1==\2/p' colab/pip-freeze.txt |
  grep -viE '^(nvidia-|cuda-)' >"$work/colab-constraints.txt"
# The course's dependencies that Colab ships, by name, from pyproject.toml.
dependencies=$("$python" - <<'EOF'
import re, tomllib
colab = {re.split(r"[=@ ]", line)[0].lower().replace("_", "-") for line in open("colab/pip-freeze.txt") if line[0] != "#"}
names = [re.split(r"[<>=!~ ;\[]", d)[0].lower() for d in tomllib.load(open("pyproject.toml", "rb"))["project"]["dependencies"]]
print(" ".join(name for name in names if name in colab))
EOF
)

echo "colab: $venv with Python $("$python" -c 'import platform; print(platform.python_version())') and Colab's $dependencies"
rm -rf "$venv"
"$python" -m venv "$venv"
pip=("$venv/bin/python" -m pip --quiet)
"${pip[@]}" install -c "$work/colab-constraints.txt" $dependencies
"${pip[@]}" freeze --all >"$work/before.txt"

echo "colab: the course from a wheel, as %pip install does in Colab"
"${pip[@]}" wheel --no-deps . -w "$work/wheel"
wheel=$(ls "$work"/wheel/alexnet_course-*.whl)
"${pip[@]}" install --dry-run --report "$work/report.json" "$wheel"
"${pip[@]}" install "$wheel"
"${pip[@]}" freeze --all >"$work/after.txt"
"$venv/bin/python" - "$work/before.txt" "$work/after.txt" "$work/report.json" "$work/colab-constraints.txt" <<'EOF'
import json, sys
def versions(path):
    lines = [line.strip() for line in open(path) if "==" in line]
    return {name.lower().replace("_", "-"): version for name, version in (line.split("==", 1) for line in lines)}
before, after = versions(sys.argv[1]), versions(sys.argv[2])
planned = {item["metadata"]["name"].lower().replace("_", "-"): item["metadata"]["version"] for item in json.load(open(sys.argv[3]))["install"]}
changed = sorted(f"{name} {before[name]} -> {after.get(name, 'removed')}" for name in before if after.get(name) != before[name])
changed += sorted(f"{name} {before[name]} -> {version} (planned)" for name, version in planned.items() if name in before)
colab = versions(sys.argv[4])  # a package Colab has that the stand-in lacks must come at Colab's version too
changed += sorted(f"{name} {colab[name]} -> {after[name]}" for name in after if name not in before and name in colab and after[name] != colab[name])
added = sorted(f"{name} {version}" for name, version in after.items() if name not in before)
print(f"colab: installing the course added {', '.join(added)}")
if changed:
    sys.exit("colab: FAILED, installing the course changes Colab's packages: " + "; ".join(sorted(set(changed))))
print(f"colab: none of the {len(before)} installed packages changed")
EOF

echo "colab: notebooks and widget tests from a folder outside the checkout"
# Test tools at Colab's versions where Colab has them (pytest, nbclient, ipykernel stay Colab's).
"${pip[@]}" install -c "$work/colab-constraints.txt" pytest nbval pytest-xdist
cp -r notebooks student tests/test_widgets.py "$work/"
cd "$work"
export PYDEVD_DISABLE_FILE_VALIDATION=1 ALEXNET_PROFILE=quick ALEXNET_CHECKS=strict ALEXNET_DATA_DIR=${ALEXNET_DATA_DIR:-$root/data} OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
"$venv/bin/python" -c 'import alexnet_lib, ipywidgets, torch; print("colab: alexnet_lib from", alexnet_lib.__file__, "| ipywidgets", ipywidgets.__version__, "| torch", torch.__version__)'
"$venv/bin/pytest" -p no:cacheprovider -q test_widgets.py
# As make test runs them: 01-04 (03 and 04 save the checkpoints 05 and 06 read), then the rest, two at a time.
nbval=("$venv/bin/pytest" -p no:cacheprovider -n 2 --dist loadfile --nbval-lax --nbval-current-env --durations=10)
"${nbval[@]}" notebooks/0[1-4]_*.ipynb
"${nbval[@]}" $(ls notebooks/*.ipynb | grep -v '^notebooks/0[1-4]_')
# The student edition, as Colab learners open it from its badge: stubs untouched, it must run to the end
# (a failed check prints its line), here with every time budget at a tenth (a slow, busy machine's
# stand-in, ALEXNET_TIME_SCALE), in an output folder of its own so that it trains its own checkpoints.
(
  export ALEXNET_TIME_SCALE=0.1 ALEXNET_OUTPUT_DIR="$work/student-outputs" && unset ALEXNET_CHECKS
  "${nbval[@]}" student/0[1-4]_*.ipynb
  "${nbval[@]}" $(ls student/*.ipynb | grep -v '^student/0[1-4]_')
)
cd "$root" && rm -rf "$venv"  # about 5 GB; kept when the check fails, to look into
echo "colab: passed in $(( (SECONDS - start) / 60 )) min $(( (SECONDS - start) % 60 )) s"
