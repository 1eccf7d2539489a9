"""Write the figures of results/bench_*.json into the README's benchmark table (between its bench markers).

    python bench/update_readme.py        # `make bench` runs it after the benchmarks
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
import readable  # noqa: E402

START, END = "<!-- bench:start -->", "<!-- bench:end -->"


def throughput_rows(figures: dict) -> list[str]:
    where = f"{figures['device']}, {figures['threads']} threads, torch {figures['torch'].split('+')[0]}"
    return [f"| DCGAN training, batch {figures['batch']} ({where}), {name} | {rate:.0f} images/s | "
            f"{figures['ratio'][name]:.2f}x |" for name, rate in figures["median"].items()]


def memory_rows(figures: dict) -> list[str]:
    return [f"| peak memory of DCGAN training, batch {figures['batch']}, {precision} (fresh process; "
            f"median of {figures['repeats']}; bench/memory.py) | {peak:.0f} MiB, of which training "
            f"{figures['median_training_mib'][precision]:.0f} MiB | |"
            for precision, peak in figures["median_peak_mib"].items()]


def readable_rows(figures: dict) -> list[str]:
    rows = []
    for name, result in figures["results"].items():
        if result["seconds"] is not None:
            figure = f"{result['seconds']:.0f} s"
        else:
            best = readable.best_check(result["checks"])
            figure = (f"not within {figures['budget']:.0f} s (best {best['confident']:.1%} confident, "
                      f"{best['classes']} classes)")
        rows.append(f"| time to readable digits (course classifier: >= 80 % of 2,000 confident, >= 9 classes over "
                    f"5 %; CPU, {figures['threads']} threads; bench/readable.py), {name} | {figure} | |")
    return rows


def grading_rows(figures: dict) -> list[str]:
    rows = [f"| grading one student (the solution) through the grading command, {assignment} (median of "
            f"{figures['repeats']}; bench/grading.py) | {run['median_seconds']:.1f} s, peak "
            f"{run['median_peak_gib']:.2f} GiB | |" for assignment, run in figures["students"].items()]
    one_class = figures["class"]
    if one_class:
        rows.append(f"| grading a class of {one_class['size']} ({one_class['assignment']}, half solved), one job, "
                    f"then {one_class['jobs']} (bench/grading.py) | {one_class['serial']:.0f} s, then "
                    f"{one_class['parallel']:.0f} s; grades identical: {one_class['identical']} | "
                    f"{one_class['serial'] / one_class['parallel']:.2f}x |")
    return rows


def table() -> str:
    rows = ["| benchmark (`make bench`; medians of repeated runs) | figure | ratio to the baseline of the same run "
            "(the tutorial loop; one grading job) |",
            "|---|---|---|"]
    path = ROOT / "results" / "bench_throughput.json"
    if path.exists():
        figures = json.loads(path.read_text())
        rows += throughput_rows(figures)
        rows.append(f"| (measured over {figures['repeats']} repeats of {figures['steps']} rounds; "
                    "bench/throughput.py) | | |")
    path = ROOT / "results" / "bench_readable.json"
    if path.exists():
        rows += readable_rows(json.loads(path.read_text()))
    path = ROOT / "results" / "bench_memory.json"
    if path.exists():
        rows += memory_rows(json.loads(path.read_text()))
    path = ROOT / "results" / "bench_grading.json"
    if path.exists():
        rows += grading_rows(json.loads(path.read_text()))
    return "\n".join(rows)


def main() -> int:
    readme = ROOT / "README.md"
    text = readme.read_text()
    if START not in text or END not in text:
        print(f"error: README.md has no {START} ... {END} section to fill", file=sys.stderr)
        return 2
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    readme.write_text(f"{head}{START}\n{table()}\n{END}{tail}")
    print("README.md: benchmark table updated")
    return 0


if __name__ == "__main__":
    sys.exit(main())
