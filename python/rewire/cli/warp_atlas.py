"""``rewire warp-atlas``: a label atlas carried onto a reference grid through transform files."""
from __future__ import annotations

import sys

import numpy as np

from .._core import parse_transform_argument
from .._files import check_output_file
from ..transforms import warp_atlas


def run(args) -> int:
    check_output_file(args.output)
    chain = []
    for text, inverted in args.transforms:
        path, bracket = parse_transform_argument(text)
        chain.append(f"[{path},1]" if bracket or inverted else path)
    labels, _ = warp_atlas(args.atlas, args.reference, chain, interpolation=args.interpolation, sigma=args.sigma, alpha=args.alpha,
                           output=args.output, threads=args.threads)
    regions = np.unique(labels[labels != 0]).size
    print(f"{args.output}: {regions} region(s), {int(np.count_nonzero(labels))} labelled voxels of {labels.size}",
          file=sys.stderr)
    return 0
