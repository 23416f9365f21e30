#!/usr/bin/env python3
"""Pastes the tables of bench/results/NAME.md into a Markdown template at
each `{{NAME}}` marker (the first comment line of each table file dropped):

    python3 bench/tools/assemble.py TEMPLATE > BENCHMARKS.md
"""

import os
import re
import sys

RESULTS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "results")


def table(name):
    with open(os.path.join(RESULTS, f"{name}.md")) as f:
        lines = f.read().splitlines()
    return "\n".join(l for l in lines if not l.startswith("<!--")).strip()


def main():
    with open(sys.argv[1]) as f:
        text = f.read()
    sys.stdout.write(re.sub(r"\{\{([\w-]+)\}\}", lambda m: table(m.group(1)), text))


if __name__ == "__main__":
    main()
