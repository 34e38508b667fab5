"""How fast `tunebook --help` answers (target: under 1 s), next to a bare Python start and an `import torch`.

Run: python benchmarks/bench_cli.py [--repeats 7]. Prints medians and ratios; the commands run interleaved."""
import argparse, statistics, subprocess, sys, time
from pathlib import Path

def timed(cmd) -> float:
    t0 = time.perf_counter(); subprocess.run(cmd, check=True, capture_output=True); return time.perf_counter() - t0

def main():
    ap = argparse.ArgumentParser(); ap.add_argument('--repeats', type=int, default=7); args = ap.parse_args()
    bin_dir = Path(sys.executable).parent
    cmds = {'python -c pass': [sys.executable, '-c', 'pass'],
            'tunebook --help': [str(bin_dir/'tunebook'), '--help'],
            'import torch': [sys.executable, '-c', 'import torch']}
    times = {k: [] for k in cmds}
    for _ in range(args.repeats):
        for k, c in cmds.items(): times[k].append(timed(c))
    med = {k: statistics.median(v) for k, v in times.items()}
    print(f"{'command':28s} {'median s':>9s} {'vs python':>10s}")
    for k, v in med.items(): print(f"{k:28s} {v:9.3f} {v / med['python -c pass']:9.1f}x")
    ok = med['tunebook --help'] < 1.0
    print(f"\ntunebook --help: {med['tunebook --help']:.3f} s (target < 1 s): {'PASS' if ok else 'FAIL'}; "
          f"{med['import torch'] / med['tunebook --help']:.1f}x faster than importing torch")

if __name__ == '__main__': main()
