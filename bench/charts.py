"""Shared by bench/run.py and bench/gallery.py for `--docs`: the CPU's name,
a table written between two markers of a doc, and the bar chart of
speed-ups over numpy drawn next to it."""
import os


def cpu_name():
    try:
        return [l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")][0]
    except (OSError, IndexError):
        return ""


def write_between(path, begin, end, lines):
    """Replaces the text from `begin` to `end` (markers included) with lines."""
    doc = open(path).read()
    a, b = doc.index(begin), doc.index(end) + len(end)
    open(path, "w").write(doc[:a] + "\n".join(lines) + doc[b:])


def draw_speedups(svg, salt, labels, speedups, threads, who):
    """A horizontal bar per workload and thread count: speedups[t] is a list
    of (row, numpy time / tnsc time). Without matplotlib, says so."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        import matplotlib.ticker
    except ImportError:
        print(f"{who}: matplotlib is not installed (scripts/deps.sh --bench); no chart drawn")
        return
    matplotlib.rcParams["svg.hashsalt"] = salt   # stable ids: small diffs
    fig, ax = plt.subplots(figsize=(9, 0.42 * len(labels) + 1.4))
    h = 0.8 / len(threads)
    for k, t in enumerate(threads):
        rows = speedups[t]
        ax.barh([i + (k - (len(threads) - 1) / 2) * h for i, _ in rows], [sp for _, sp in rows], height=h,
                label=f"{t} thread{'s' if t > 1 else ''}")
    ax.axvline(1.0, color="black", linewidth=0.8)
    ax.set_xscale("log")
    times = matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}×")
    ax.xaxis.set_major_formatter(times)
    ax.xaxis.set_minor_formatter(matplotlib.ticker.FuncFormatter(
        lambda v, _: f"{v:g}×" if any(abs(v - x) < 1e-6 for x in (0.5, 2, 3, 5)) else ""))
    ax.set_yticks(range(len(labels)))
    ax.set_yticklabels(labels)
    ax.invert_yaxis()
    ax.set_xlabel("speed-up of tnsc over numpy (numpy time / tnsc time; > 1: tnsc faster)")
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(svg, metadata={"Date": None})
    print(f"{who}: drew {os.path.relpath(svg)}")
