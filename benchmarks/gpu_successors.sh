#!/usr/bin/env bash
# Notebook 08's successors on one GPU (issue 22): batch norm for LRN, global average pooling for fc6-fc8,
# ZFNet's smaller first filters, VGG's two 3x3 for one 5x5, and a residual 16-layer net against its plain
# twin, each against the paper's part at the AlexNet claims' full size (alexnet_lib/claims.py, SUCCESSORS),
# each record and plot filed as results/claims/NAME-full-DEVICE.json/.png. The loop is gpu_claims.sh's.
#
#   bash benchmarks/gpu_successors.sh             # on one H100/H200: the records under results/claims/ (commit them)
#   bash benchmarks/gpu_successors.sh --dry-run   # anywhere, on a CPU too: tiny runs, records under outputs/ only
#   PYTHON=python3 bash benchmarks/gpu_successors.sh   # the interpreter (default: .venv/bin/python, else python3)
#
# Sizing, by arithmetic on gpu_claims.sh's yardstick (no GPU has run this yet): the paper net at 227 px,
# 5 epochs on 15,000 images, 3 seeds, 2 arms: 5 experiments x 6 runs x 75,000 = 2.25 M training images.
# Per image, against the paper net's 1.14 G multiply-adds (alexnet_lib.summary): batch norm and GAP about
# the same, ZFNet +9% (conv1's 7x7 at stride 2 gives 112x112 maps), VGG's pair +13%, the 8 extra 3x3
# convs of both 16-layer arms +70%: about 2.6 M paper-net images -> 2.9 min at ~15,000 img/s (5.4 min at
# 8,000); evaluation ~0.4 min; start-up 5 processes x ~15 s and 30 runs x ~5 s: ~3.8 min. About 7 min in
# all at the yardstick, ~9.6 min at 8,000 img/s; the script prints the total and warns above 9 minutes.
set -euo pipefail
CLAIMS=(batch_norm gap_head zfnet_filters vgg_stack residual)
source "$(dirname "$0")/gpu_claims.sh" "$@"
