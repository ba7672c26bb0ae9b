#!/usr/bin/env python3
"""Start-up benchmark: how long `import rewire`, `rewire --version` and `rewire --help` take in a fresh
interpreter, next to the bare interpreter, numpy and nilearn's import.

    python benchmarks/startup.py [--repeats 15] [--quick]

Every measurement is one fresh process, timed from outside (``time.perf_counter`` around
``subprocess.run``, so interpreter start-up, imports and exit are all counted); the commands run in round
robin, ``--repeats`` times each, and the median is kept (the minimum and maximum are in the JSON). rewire
is the working tree's package (``python/``, with the dev build's ``_core`` copied beside it), run through
the ``rewire`` console script installed next to this interpreter (it imports ``rewire.cli`` from
``PYTHONPATH``; without the script, ``python -c "from rewire.cli import main; main()"`` does the same).
Each row also records which heavy modules (numpy, pandas, the extension ``rewire._core``) the command
loaded. Results: benchmarks/results/startup.json and startup.md (``--quick``: startup-quick.*).
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shlex
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PYTHON = sys.executable

#: Targets (issue 11, point 8), in seconds.
TARGETS = {"import rewire": 0.2, "rewire --version": 0.15, "rewire --help": 0.15}
#: Modules whose presence after a command says what it paid for.
HEAVY = ("numpy", "pandas", "scipy", "rewire._core", "rewire.cli.extract")


def rewire_command(*args: str) -> list:
    script = shutil.which("rewire", path=str(Path(PYTHON).parent))
    if script:
        return [script, *args]
    return [PYTHON, "-c", "import sys; from rewire.cli import main; sys.exit(main())", *args]


def commands() -> dict:
    return {
        "python (bare interpreter)": [PYTHON, "-c", "pass"],
        "import rewire": [PYTHON, "-c", "import rewire"],
        "rewire --version": rewire_command("--version"),
        "rewire --help": rewire_command("--help"),
        "import numpy": [PYTHON, "-c", "import numpy"],
        "import nilearn": [PYTHON, "-c", "import nilearn"],
        "import nilearn.signal, nilearn.maskers": [PYTHON, "-c", "import nilearn.signal, nilearn.maskers"],
    }


def environment() -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "python")] + [p for p in [env.get("PYTHONPATH")] if p])
    env.pop("PYTHONSTARTUP", None)
    return env


def timed(command: list, env: dict) -> float:
    start = time.perf_counter()
    done = subprocess.run(command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"{shlex.join(command)} failed: {done.stderr.decode(errors='replace')}")
    return elapsed


def loaded(command: list, env: dict) -> list:
    """The heavy modules the command imports (read with an atexit hook in the same interpreter)."""
    probe = ("import atexit, sys\n"
             f"atexit.register(lambda: sys.__stderr__.write('MODULES ' + ' '.join(m for m in {HEAVY!r} "
             "if m in sys.modules) + '\\n'))\n")
    if command[0] == PYTHON and command[1] == "-c":
        code = probe + command[2]
        argv = command[3:]
    else:  # the console script: run its entry point under the probe
        code = probe + "import sys; from rewire.cli import main\ntry:\n    main()\nexcept SystemExit:\n    pass"
        argv = command[1:]
    done = subprocess.run([PYTHON, "-c", code, *argv], env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True)
    for line in done.stderr.splitlines():
        if line.startswith("MODULES"):
            return line.split()[1:]
    raise RuntimeError(f"no module list from {shlex.join(command)}: {done.stderr}")


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2 ** 30
    return f"{cpu}, {os.cpu_count()} cores, {memory:.1f} GiB; {platform.platform()}"


def versions(env: dict) -> dict:
    code = ("import json, rewire, numpy, nilearn, platform; print(json.dumps(dict(rewire=rewire.__version__, "
            "numpy=numpy.__version__, nilearn=nilearn.__version__, python=platform.python_version())))")
    return json.loads(subprocess.run([PYTHON, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True,
                                     check=True).stdout)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15, help="runs of each command (default 15)")
    parser.add_argument("--quick", action="store_true", help="5 runs each")
    args = parser.parse_args()
    repeats = 5 if args.quick else args.repeats

    env = environment()
    cases = commands()
    started = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    load_start = os.getloadavg()
    for command in cases.values():  # warm the page cache: the first start of anything is disk-bound
        timed(command, env)
    times = {name: [] for name in cases}
    for _ in range(repeats):
        for name, command in cases.items():
            times[name].append(timed(command, env))
    rows = []
    for name, command in cases.items():
        row = dict(command=name, argv=shlex.join(command), median_s=statistics.median(times[name]),
                   min_s=min(times[name]), max_s=max(times[name]), runs=times[name],
                   modules=loaded(command, env), target_s=TARGETS.get(name))
        rows.append(row)
        print(f"{name:<40} median {row['median_s'] * 1e3:6.1f} ms  (min {row['min_s'] * 1e3:.1f}, max "
              f"{row['max_s'] * 1e3:.1f})  loads: {', '.join(row['modules']) or '-'}", flush=True)
    load_end = os.getloadavg()

    command = "python " + " ".join(shlex.quote(a) for a in [os.path.relpath(__file__, ROOT)] + sys.argv[1:])
    report = dict(benchmark="startup", date=started, command=command, machine=machine(),
                  load_average_start=load_start, load_average_end=load_end, versions=versions(env),
                  repeats=repeats, targets=TARGETS, rows=rows)
    stem = "startup-quick" if args.quick else "startup"
    out_dir = HERE / "results"
    out_dir.mkdir(exist_ok=True)
    (out_dir / f"{stem}.json").write_text(json.dumps(report, indent=1) + "\n")

    by_name = {row["command"]: row for row in rows}
    v = report["versions"]
    lines = [
        "# Start-up: `import rewire`, `rewire --version`, `rewire --help` (and nilearn's import)",
        "",
        f"- date: {started}",
        f"- command: `{command}`",
        f"- machine: {machine()}",
        f"- load average at start / end: {', '.join(f'{x:.2f}' for x in load_start)} / "
        f"{', '.join(f'{x:.2f}' for x in load_end)}",
        f"- versions: rewire {v['rewire']}, Python {v['python']}, numpy {v['numpy']}, nilearn {v['nilearn']}",
        f"- each time: one fresh process, timed from outside (start-up, imports and exit); median of {repeats} "
        "runs in round robin after one untimed run of each",
        "",
        "| command | median s | min s | max s | target s | heavy modules loaded |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for row in rows:
        target = "" if row["target_s"] is None else f"{row['target_s']:.2f}"
        lines.append(f"| `{row['command']}` | {row['median_s']:.3f} | {row['min_s']:.3f} | {row['max_s']:.3f} | "
                     f"{target} | {', '.join(row['modules']) or '-'} |")
    verdicts = [f"{name}: {by_name[name]['median_s']:.3f} s ≤ {limit} s "
                f"**{'met' if by_name[name]['median_s'] <= limit else 'missed'}**" for name, limit in TARGETS.items()]
    lines += ["", "Targets: " + "; ".join(verdicts) + ".", "",
              "`import rewire` loads nothing but the package's `__init__` (public names are imported on first use, "
              "PEP 562); `--version` and `--help` build the parser from the extension's option defaults "
              "(`rewire._core`, no numpy) and import a verb's module only when that verb runs."]
    (out_dir / f"{stem}.md").write_text("\n".join(lines) + "\n")
    print(f"wrote {out_dir / (stem + '.json')} and {stem}.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
