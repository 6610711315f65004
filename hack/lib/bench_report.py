"""hack/bench's report: the tables, the issue-18 targets, docs/benchmarks.md and the plot
docs/benchmarks-scaling.svg, from the result.json one run of hack/bench wrote."""

import math
import os

COLORS = {"hull": "#1f77b4", "runc": "#d62728", "crun": "#2ca02c", "unshare": "#7f7f7f",
          "nsenter": "#7f7f7f"}


def med(d, *path):
    for p in path:
        if d is None:
            return None
        d = d.get(p)
    return d["median"] if isinstance(d, dict) and "median" in d else d


def ms(s):
    return f"{s * 1000:.1f} ms" if s is not None else "—"


def ratio(a, b):
    return f"{a / b:.2f}×" if a and b else "—"


def table(header, rows):
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(out)


def time_table(sec, keys, names, floor=None):
    """Rows `measure | hull wall/CPU | runc | crun | [floor] | hull/crun wall, CPU | ...`."""
    header = ["measure (median)"] + [f"{n} wall / CPU" for n in names]
    if floor:
        header.append(f"{floor} wall / CPU")
    header += ["hull/crun wall", "hull/crun CPU", "hull/runc wall"]
    if floor:
        header.append(f"hull/{floor} wall")
    rows = []
    for key, label in keys:
        cells = [label]
        for n in names + ([floor] if floor else []):
            w, c = med(sec.get(n), key, "wall"), med(sec.get(n), key, "cpu")
            cells.append(f"{ms(w)} / {ms(c)}" if w is not None else "—")
        hw, hc = med(sec["hull"], key, "wall"), med(sec["hull"], key, "cpu")
        cells += [ratio(hw, med(sec["crun"], key, "wall")), ratio(hc, med(sec["crun"], key, "cpu")),
                  ratio(hw, med(sec["runc"], key, "wall"))]
        if floor:
            # The floor is one program: it compares with the whole, not with a step.
            whole = key in ("total", "run", "exec")
            fw = med(sec.get(floor), key, "wall") or med(sec.get(floor), "run", "wall")
            cells.append(ratio(hw, fw) if whole else "")
        rows.append(cells)
    return table(header, rows)


def growth(res, rt, var, base="base", what="cpu"):
    """Extra median time of `run` with bundle `var` over the plain one."""
    s = res["series"][rt]
    a, b = med(s, var, what), med(s, base, what)
    return None if a is None or b is None else a - b


def targets(res, runtimes):
    lc, ex, par = res["lifecycle"], res["exec"], res["parallel"]
    out = []

    def t(name, value, limit, shown=None, le=True):
        ok = value is not None and (value <= limit if le else value >= limit)
        out.append((name, ok, shown if shown is not None else
                    (f"{value:.2f}×" if value is not None else "—")))

    def r(sec, a, b, key, what):
        x, y = med(sec.get(a), key, what), med(sec.get(b), key, what)
        return x / y if x and y else None

    floor_run = med(lc["unshare"], "run", "wall")
    for key, label in (("run", "run"), ("total", "create+start+delete")):
        t(f"{label} wall ≤ 0.4× crun", r(lc, "hull", "crun", key, "wall"), 0.4)
        t(f"{label} CPU ≤ 0.6× crun", r(lc, "hull", "crun", key, "cpu"), 0.6)
        hw = med(lc["hull"], key, "wall")
        t(f"{label} wall ≤ 1.6× the unshare floor", hw / floor_run, 1.6)
    t("exec wall ≤ 0.5× crun", r(ex, "hull", "crun", "exec", "wall"), 0.5)
    t("exec CPU ≤ 0.5× crun", r(ex, "hull", "crun", "exec", "cpu"), 0.5)
    t("exec wall ≤ 1.3× the nsenter floor", r(ex, "hull", "nsenter", "exec", "wall"), 1.3)
    t("exec CPU ≤ 1.3× the nsenter floor", r(ex, "hull", "nsenter", "exec", "cpu"), 1.3)
    for n in (100, 400):
        h, c = growth(res, "hull", f"mounts{n}"), growth(res, "crun", f"mounts{n}")
        t(f"extra CPU per mount ≤ 0.6× crun's ({n} mounts)", h / c if h and c and c > 0 else None,
          0.6, f"{ratio(h, c)} ({h / n * 1e6:.1f} vs {c / n * 1e6:.1f} µs)" if h and c else "—")
    per_mount = growth(res, "hull", "mounts400") / 400
    m100 = growth(res, "hull", "masked100")
    t("100 masked paths cost ≤ 20 mounts", m100 / (20 * per_mount) if per_mount > 0 else None,
      1.0, f"{m100 * 1e3:.2f} ms vs {20 * per_mount * 1e3:.2f} ms")
    lst = med(res["list"], "list", "wall")
    t(f"list with {res['list']['n']} containers < 50 ms", lst, 0.050, ms(lst))
    top = str(max(int(n) for n in par))
    hw, cw = med(par[top]["hull"], "wall"), med(par[top]["crun"], "wall")
    fails, cfails = par[top]["hull"]["failures"], par[top]["crun"]["failures"]
    # A peer whose containers failed was fast at failing: no ratio against it.
    ok = fails == 0 and cfails == 0 and hw is not None and cw is not None and hw <= 0.5 * cw
    shown = ratio(hw, cw) if cfails == 0 else f"— (crun failed {cfails})"
    out.append((f"{top} in parallel: 0 failures, wall ≤ 0.5× crun", ok,
                f"{shown}, hull {fails} failures"))
    e1, e10 = growth(res, "hull", "env1000"), growth(res, "hull", "env10000")
    lin = e10 / (10 * e1) if e1 and e1 > 0 else None
    t("env: 10,000 entries cost ≤ 1.5× ten times 1,000 (linear)", lin, 1.5,
      f"+{e1 * 1e3:.2f} ms (1k), +{e10 * 1e3:.2f} ms (10k): {lin:.2f}" if lin else "—")
    sc_h, sc_c = growth(res, "hull", "seccomp"), growth(res, "crun", "seccomp")
    out.append(("Docker's seccomp profile measured", sc_h is not None,
                f"+{sc_h * 1e3:.2f} ms CPU (crun +{sc_c * 1e3:.2f} ms)"))
    rss = med(res["rss_kb"]["hull"], "create")
    t("create peak RSS ≤ 2.0 MB", rss / 1024 if rss else None, 2.0,
      f"{rss / 1024:.2f} MB" if rss else "—")
    size = res["size"]["hull"]
    out.append(("static binary ≤ 3 MB", size <= 3_000_000 and res["hull_stripped"],
                f"{size:,} bytes"))
    return out


def series_table(res, runtimes):
    names = [("base", "run (default config)"), ("mounts100", "+100 tmpfs mounts"),
             ("mounts400", "+400 tmpfs mounts"), ("masked20", "+20 masked directories"),
             ("masked100", "+100 masked directories"), ("env1000", "+1,000 env entries"),
             ("env10000", "+10,000 env entries"), ("seccomp", "+Docker's seccomp profile")]
    rows = []
    for key, label in names:
        cells = [label]
        for rt in runtimes:
            s = res["series"][rt]
            cells.append(f"{ms(med(s, key, 'wall'))} / {ms(med(s, key, 'cpu'))}")
        for rt in runtimes:
            g = growth(res, rt, key)
            cells.append("—" if key == "base" else f"{g * 1e3:+.2f} ms")
        cells.append(ratio(med(res["series"]["hull"], key, "cpu"),
                           med(res["series"]["crun"], key, "cpu")))
        rows.append(cells)
    header = (["`run` of"] + [f"{rt} wall / CPU" for rt in runtimes]
              + [f"{rt} extra CPU" for rt in runtimes] + ["hull/crun CPU"])
    return table(header, rows)


def svg(res, runtimes, path):
    """Two panels: CPU time of `run` against extra mounts; wall time of N parallel
    create+start+delete against N (log scale)."""
    W, H, P = 420, 300, 50
    parts = []

    def panel(x0, title, xlabel, ylabel, series, xs_log):
        allx = [x for _, pts in series for x, _ in pts]
        ally = [y for _, pts in series for _, y in pts]
        fx = (lambda v: math.log10(v)) if xs_log else (lambda v: v)
        xmin, xmax = fx(min(allx)), fx(max(allx))
        ymax = max(ally) * 1.1 or 1
        px = lambda v: x0 + P + (fx(v) - xmin) / ((xmax - xmin) or 1) * (W - 1.5 * P)
        py = lambda v: H - P + 10 - v / ymax * (H - 1.7 * P)
        parts.append(f'<text x="{x0 + W / 2}" y="18" text-anchor="middle" font-size="14" '
                     f'font-weight="bold">{title}</text>')
        parts.append(f'<line x1="{x0 + P}" y1="{H - P + 10}" x2="{x0 + W - P / 2}" '
                     f'y2="{H - P + 10}" stroke="black"/>')
        parts.append(f'<line x1="{x0 + P}" y1="{H - P + 10}" x2="{x0 + P}" y2="{P * 0.7}" '
                     f'stroke="black"/>')
        for i in range(5):
            v = ymax * i / 4
            parts.append(f'<text x="{x0 + P - 4}" y="{py(v) + 4:.1f}" text-anchor="end" '
                         f'font-size="10">{v:.0f}</text>')
            parts.append(f'<line x1="{x0 + P}" y1="{py(v):.1f}" x2="{x0 + W - P / 2}" '
                         f'y2="{py(v):.1f}" stroke="#ddd"/>')
        for v in sorted(set(allx)):
            parts.append(f'<text x="{px(v):.1f}" y="{H - P + 24}" text-anchor="middle" '
                         f'font-size="10">{v}</text>')
        parts.append(f'<text x="{x0 + W / 2}" y="{H - 8}" text-anchor="middle" '
                     f'font-size="11">{xlabel}</text>')
        parts.append(f'<text x="{x0 + 12}" y="{H / 2}" text-anchor="middle" font-size="11" '
                     f'transform="rotate(-90 {x0 + 12} {H / 2})">{ylabel}</text>')
        for k, (name, pts) in enumerate(series):
            c = COLORS.get(name, "black")
            d = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in pts)
            parts.append(f'<polyline points="{d}" fill="none" stroke="{c}" stroke-width="2"/>')
            for x, y in pts:
                parts.append(f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="3" fill="{c}"/>')
            parts.append(f'<text x="{x0 + P + 8}" y="{P * 0.7 + 14 * k + 10}" font-size="11" '
                         f'fill="{c}">{name}</text>')

    mounts = [(rt, [(n, med(res["series"][rt], k, "cpu") * 1e3)
                    for n, k in ((0, "base"), (100, "mounts100"), (400, "mounts400"))])
              for rt in runtimes]
    panel(0, "run: CPU time against mounts", "extra tmpfs mounts", "CPU ms (median)",
          mounts, False)
    par = res["parallel"]
    ns = sorted(int(n) for n in par)
    # A size where a runtime's containers failed is no point of its line.
    pseries = [(rt, [(n, med(par[str(n)][rt], "wall") * 1e3) for n in ns
                     if par[str(n)][rt]["failures"] == 0]) for rt in runtimes]
    panel(W, "N in parallel: wall time", "N containers (create+start+delete)",
          "wall ms (median)", pseries, True)
    doc = (f'<svg xmlns="http://www.w3.org/2000/svg" width="{2 * W}" height="{H}" '
           f'viewBox="0 0 {2 * W} {H}" font-family="sans-serif">\n'
           f'<rect width="100%" height="100%" fill="white"/>\n' + "\n".join(parts) + "\n</svg>\n")
    with open(path, "w") as f:
        f.write(doc)


def report(res, args, repo, runtimes):
    lc, ex, rss, par = res["lifecycle"], res["exec"], res["rss_kb"], res["parallel"]
    m = res["machine"]
    life = time_table(lc, [("total", "create+start+delete"), ("create", "  create"),
                           ("start", "  start"), ("delete", "  delete --force"),
                           ("run", "run")], runtimes, "unshare")
    exe = time_table(ex, [("exec", "exec /bin/true")], runtimes, "nsenter")
    grow = series_table(res, runtimes)
    lst = res["list"]
    ltab = table(["hull, containers", "command", "wall", "CPU"],
                 [[lst["n"], k, ms(med(lst, k, "wall")), ms(med(lst, k, "cpu"))]
                  for k in ("list", "list -q")])
    mb = lambda kb: f"{kb / 1024:.2f} MB" if kb else "—"
    rows = [[f"peak RSS {s}"] + [mb(med(rss[n], s)) for n in runtimes]
            + [ratio(med(rss["hull"], s), med(rss["crun"], s))] for s in ("create", "start", "exec")]
    for n, v in sorted(par.items(), key=lambda x: int(x[0])):
        fails = "/".join(str(v[r]["failures"]) for r in runtimes)
        valid = v["hull"]["failures"] == 0 and v["crun"]["failures"] == 0
        rows.append([f"N={n} in parallel, wall (failures {fails})"]
                    + [ms(med(v[r], "wall")) if v[r]["failures"] == 0 else
                       f"({ms(med(v[r], 'wall'))}, failed)" for r in runtimes]
                    + [ratio(med(v["hull"], "wall"), med(v["crun"], "wall")) if valid else "—"])
    for n, v in sorted(par.items(), key=lambda x: int(x[0])):
        # /proc/stat counts in 10 ms ticks: meaningful for the larger N only.
        if "machine" not in v["hull"] or int(n) < 50:
            continue
        rows.append([f"N={n}: CPU per container, runtime / whole machine"]
                    + [f"{ms(med(v[r], 'cpu'))} / {ms(med(v[r], 'machine'))}" for r in runtimes]
                    + [f"{ratio(med(v['hull'], 'cpu'), med(v['crun'], 'cpu'))} / "
                       f"{ratio(med(v['hull'], 'machine'), med(v['crun'], 'machine'))}"])
    rows.append(["binary size"] + [f"{res['size'][n] / 1e6:.2f} MB" for n in runtimes]
                + [ratio(res["size"]["hull"], res["size"]["crun"])])
    other = table(["measure (median)"] + runtimes + ["hull/crun"], rows)
    tg = targets(res, runtimes)
    ttable = table(["target (issue 18)", "met", "measured"],
                   [[n, "yes" if ok else "**no**", v] for n, ok, v in tg])
    P = table(["command", "phase", "median µs"],
              [[c, n, f"{u:.0f}"] for c, n, u, _ in res["phase_medians"]])
    names = []
    for rows_ in res["rss_map"].values():
        for k, _ in rows_ or []:
            if k not in names:
                names.append(k)
    mrows = [[k] + [dict(map(tuple, r or [])).get(k, 0) for r in res["rss_map"].values()]
             for k in names]
    mrows.append(["**total**"] + [sum(v for _, v in r or []) for r in res["rss_map"].values()])
    mtable = table(["mapping"] + [f"{n} KB" for n in res["rss_map"]], mrows)
    for t in (life, exe, grow, ltab, other, ttable, P):
        print("\n" + t)
    if args.no_docs:
        return
    svg(res, runtimes, os.path.join(repo, "docs", "benchmarks-scaling.svg"))
    v = res["versions"]
    a = res["args"]
    met = sum(1 for _, ok, _ in tg if ok)
    doc = f"""# Benchmarks: hull against runc, crun and the kernel's floors

Produced by `sudo hack/bench` (the numbers below are from its last run; re-run it to refresh
this file and the plot). Quote the **ratios**: absolute times move with the machine and its
load.

- date: {res['date']}; hull at `{res['git']}`
- machine: {m['cpu']}, {m['cpus']} CPUs, {m['mem']}; {m['os']}; kernel {m['kernel']};
  load average {m['load'][0]:.2f} at the start, {m['load_end'][0]:.2f} at the end (the
  machine is shared with other work and QEMU guests)
- cgroups: host {res['host_cgroups']}; benchmark {res['bench_cgroups']} (crun 1.8 refuses
  hybrid hosts, so every runtime runs this way, for fairness)
- runtimes: hull (`target/hull`, static, from hack/build.sh), {v['runc']}, {v['crun']}
- config: `hull spec`'s default with ociVersion 1.0.2 (crun 1.8 refuses newer): read-only
  busybox rootfs, the default mounts, masked and read-only paths, all namespaces but user
  (pid, network, ipc, uts, mount, cgroup), a cgroup named after the container id; process
  `/bin/true`
- floors: `unshare -mpuin -f true` (the namespaces alone: what any `run` must pay) next to
  `run` and create+start+delete, `nsenter -a -t PID true` (into the exec container's
  namespaces) next to `exec`, in the same rounds
- method: every round runs each runtime (and the floor) once, in rotating order;
  {a['rounds']} rounds for lifecycle, `run` and exec, {a['series_rounds']} for each cost-growth
  bundle, {a['rss_rounds']} for RSS, {a['par_rounds']} per parallel size (one fewer from
  N=100); the figures are medians. CPU time is user+system of the command and its
  children, from getrusage; for create+start+delete it includes the container's init
  (reaped by the benchmark, a child subreaper). A failing command stops the run (a runtime
  refusing the config would look fast); state roots (`--root`) on a tmpfs; starting any
  program from the harness costs {ms(med(res, 'spawn_baseline'))} (included in every time)
- left behind after the run: {'nothing' if not res['leaks'] else '; '.join(res['leaks'])}

## Targets (issue 18): {met} of {len(tg)} met

{ttable}

"100 masked paths cost ≤ 20 mounts": the extra CPU time of 100 masked directories against
20 times hull's own extra CPU time per tmpfs mount (from the 400-mount bundle).

## Lifecycle and `run`

{life}

"create+start+delete" is the three commands one after another (what an engine does); `run`
does the same in one process. The floor column compares with `unshare -mpuin -f true`.

## exec

{exe}

## Cost growth

`run` of the default bundle with more in it (the extra CPU is over the default bundle's
median; {a['series_rounds']} rounds):

{grow}

![CPU time of run against extra mounts; wall time of N parallel containers against N](benchmarks-scaling.svg)

`list` with {lst['n']} created containers ({a['series_rounds']} rounds):

{ltab}

## Memory, parallel runs, size

{other}

Parallel: N containers created, started and deleted at once (N threads, each running the
three commands), wall time from release to the last delete; failures per runtime, summed
over rounds (hull/runc/crun). CPU per container: the runtime's commands and the containers'
inits (getrusage), and the whole machine's busy time over the same interval (/proc/stat:
adds what the kernel does for the containers in its own threads, such as tearing down
their network namespaces, and anything else running), divided by N.

## Where `create`'s resident memory is

Resident set of one `create` (hull, crun) by mapping, read from `/proc/<pid>/smaps` while the
process is held at its `exit_group` (so at its peak).

{mtable}

## Where hull's milliseconds go

`hull --debug` logs each phase with its own duration (µs); phases named `init: ...` ran in
the container's init and are reported to `create` with its Ready message. Medians over
{a['phase_rounds']} create/start/delete runs (`start`'s `exec wait` is only measured under
`--debug`):

{P}

One run as logged:

```
{chr(10).join(res['phases'])}
```
"""
    # A hand-written "## Analysis" section (reading of the figures) survives re-runs.
    path = os.path.join(repo, "docs", "benchmarks.md")
    try:
        with open(path) as f:
            old = f.read()
        if "\n## Analysis" in old:
            doc += "\n## Analysis" + old.split("\n## Analysis", 1)[1]
    except OSError:
        pass
    with open(path, "w") as f:
        f.write(doc)
    print("bench: wrote docs/benchmarks.md and docs/benchmarks-scaling.svg")
