#!/usr/bin/env bash
# A venv of PYTHON (no pip, no packages of its own) that reads VENV's packages: a second interpreter for
# the tests marked second_python without a second install of PyTorch. The two must share a minor version
# (the wheels are built for it); otherwise it says so and stops.
#   bash .ci/second_python.sh PYTHON VENV TARGET
set -euo pipefail
python=$1 venv=$2 target=$3
packages=$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_path("purelib"))')
version=$("$venv/bin/python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
rm -rf "$target"
"$python" -m venv --without-pip "$target"
"$target/bin/python" - "$packages" "$version" <<'PY'
import pathlib, platform, sys, sysconfig
packages, version = sys.argv[1], sys.argv[2]
if "%d.%d" % sys.version_info[:2] != version:
    sys.exit(f"second python: {sys.executable} is {platform.python_version()}, the venv's packages are for {version}")
# A .pth line that starts with "import" runs: addsitedir also reads the packages' own .pth files (the editable install).
pathlib.Path(sysconfig.get_path("purelib"), "course-packages.pth").write_text(f"import site; site.addsitedir({packages!r})\n")
PY
echo "second python: $("$target/bin/python" -c 'import platform, sys; print(sys.executable, platform.python_version())') with the packages of $venv"
