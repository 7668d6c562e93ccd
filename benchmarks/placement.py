"""CPU placement on or off (faaslab/placement.py): the same warm invoke, A/B, in one run.

    .venv/bin/python benchmarks/placement.py [--rounds 8] [--requests 800] [--seconds 2]

Two `faaslab up` processes serve the benchmark template, one with `--no-cpu-placement`.
Each round measures the echo floor (before and after), both faaslabs' sequential warm
p50, and both throughputs with 8 clients; the medians over rounds are printed. Rounds
interleave the two so a noisy minute hits both.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path

from invoke import INVOKE, latencies, pct, start_echo, start_faaslab, throughput


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--rounds", type=int, default=8)
    ap.add_argument("--requests", type=int, default=800, help="sequential requests per block")
    ap.add_argument("--seconds", type=float, default=2.0, help="throughput run length")
    args = ap.parse_args()
    state = Path(tempfile.mkdtemp(prefix="faaslab-placement-"))
    echo, echo_port = start_echo()
    on, on_port = start_faaslab(state / "on")
    off, off_port = start_faaslab(state / "off", "--no-cpu-placement")
    ratios: dict[str, list[float]] = {"on": [], "off": []}
    rates: dict[str, list[float]] = {"on": [], "off": []}
    try:
        for port in (on_port, off_port):
            latencies(port, INVOKE, 300)  # warm up
        for i in range(args.rounds):
            floor = pct(latencies(echo_port, INVOKE, args.requests), 0.5)
            p_on = pct(latencies(on_port, INVOKE, args.requests), 0.5)
            p_off = pct(latencies(off_port, INVOKE, args.requests), 0.5)
            floor = (floor + pct(latencies(echo_port, INVOKE, args.requests), 0.5)) / 2
            rates["on"].append(throughput(on_port, INVOKE, 8, args.seconds))
            rates["off"].append(throughput(off_port, INVOKE, 8, args.seconds))
            ratios["on"].append(p_on / floor)
            ratios["off"].append(p_off / floor)
            print(
                f"round {i + 1}: floor {floor:.0f} us | placement on {p_on:.0f} us "
                f"({p_on / floor:.2f}x), {rates['on'][-1]:.0f}/s | off {p_off:.0f} us "
                f"({p_off / floor:.2f}x), {rates['off'][-1]:.0f}/s",
                flush=True,
            )
    finally:
        for p in (echo, on, off):
            p.terminate()
            p.wait(20)
    for mode in ("on", "off"):
        print(
            f"placement {mode}: warm p50 median {statistics.median(ratios[mode]):.2f}x the floor, "
            f"throughput median {statistics.median(rates[mode]):.0f} invokes/s"
        )


if __name__ == "__main__":
    main()
