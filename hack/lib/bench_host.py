"""hack/bench's look at the host: the cgroups and mounts a run may leave, the machine, the
runtimes' versions, and two breakdowns of hull (resident memory by mapping, --debug phases)."""

import os
import platform
import re
import statistics
import subprocess
import time

CGROOT = "/sys/fs/cgroup"
DEVNULL = subprocess.DEVNULL


def find_cgroups(tag):
    """Cgroup directories anywhere in the host's hierarchies whose name holds `tag`."""
    found = []
    with open("/proc/self/mountinfo") as f:
        # "... mountpoint opts ... - fstype source ..."
        cgmounts = {l.split()[4] for l in f
                    if l.split(" - ", 1)[1].split()[0] in ("cgroup", "cgroup2")}
    for ctrl in sorted(os.listdir(CGROOT)):
        base = os.path.join(CGROOT, ctrl)
        if base not in cgmounts:
            continue
        for dirpath, dirnames, _ in os.walk(base):
            if dirpath.count("/") - base.count("/") >= 4:
                dirnames[:] = []
            for d in dirnames:
                if tag in d:
                    found.append(os.path.join(dirpath, d))
    return found


def host_leaks(tag, work):
    leaks = [f"cgroup {c}" for c in find_cgroups(tag)]
    with open("/proc/self/mountinfo") as f:
        leaks += [f"mount {l.split()[4]}" for l in f if work in l or tag in l]
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            with open(f"/proc/{p}/cgroup") as f:
                if tag in f.read():
                    leaks.append(f"process {p}")
        except OSError:
            pass
    return leaks


def mountpoint(path):
    with open("/proc/self/mountinfo") as f:
        return any(l.split()[4] == path for l in f)


def cgroup_mode():
    host = "v2" if os.path.exists(os.path.join(CGROOT, "cgroup.controllers")) else "v1"
    if host == "v1" and mountpoint(os.path.join(CGROOT, "unified")):
        host = "hybrid"
    return host


def rss_breakdown(rt, cid, bundle):
    """Where `create`'s resident memory is, by mapping, at the moment it exits: the process is
    held at its exit_group under strace (syscall-entry delay) while /proc/<pid>/smaps is read."""
    held = subprocess.Popen(
        ["strace", "-qq", "-o", "/dev/null", "-e", "trace=exit_group",
         "-e", "inject=exit_group:delay_enter=1500000"] + rt.cmd("create", "--bundle", bundle, cid),
        stdin=DEVNULL, stdout=DEVNULL, stderr=rt.errlog)
    out = None
    deadline = time.time() + 10
    while time.time() < deadline and out is None:
        time.sleep(0.002)
        try:
            with open(f"/proc/{held.pid}/task/{held.pid}/children") as f:
                kids = f.read().split()
            if not kids:
                continue
            pid = kids[0]
            with open(f"/proc/{pid}/syscall") as f:
                if f.read().split()[0] != "231":  # exit_group
                    continue
            per = {}
            name = None
            with open(f"/proc/{pid}/smaps") as f:
                for l in f:
                    parts = l.split()
                    if "-" in parts[0] and len(parts) >= 5:
                        path = parts[5] if len(parts) > 5 else "[anon]"
                        name = os.path.basename(path) if path.startswith("/") else path
                        # Both run from a detached read-only bind of their binary: path "/".
                        name = name or f"{rt.name} binary"
                    elif parts[0] == "Rss:":
                        per[name] = per.get(name, 0) + int(parts[1])
            out = sorted(([k, v] for k, v in per.items() if v), key=lambda x: -x[1])
        except (OSError, IndexError):
            continue
    held.wait()
    rt.call("delete", "--force", cid)
    return out


PHASE_RE = re.compile(r"phase (.+?): (\d+)us \(at (\d+)us\)")


def phase_breakdown(hull, tag, work, bundle, rounds, res):
    """create/start/delete with --debug: hull's own account of where the time goes. The
    first run is shown as logged; medians per phase over `rounds` runs go in a table."""
    runs = []
    for r in range(rounds):
        cid = f"{tag}-hull-dbg{r}"
        lines = []
        for a in (["create", "--bundle", bundle, cid], ["start", cid],
                  ["delete", "--force", cid]):
            logf = os.path.join(work, "debug.log")
            if os.path.exists(logf):
                os.unlink(logf)
            hull.call("--debug", "--log", logf, *a)
            with open(logf) as f:
                for l in f:
                    m = PHASE_RE.search(l)
                    if m:
                        lines.append((a[0], m.group(1), int(m.group(2)), int(m.group(3))))
        runs.append(lines)
    res["phases"] = [f"{cmd}: phase {name}: {us}us (at {at}us)" for cmd, name, us, at in runs[0]]
    order, per = [], {}
    for lines in runs:
        for cmd, name, us, _ in lines:
            k = (cmd, name)
            if k not in per:
                order.append(k)
                per[k] = []
            per[k].append(us)
    res["phase_medians"] = [[cmd, name, statistics.median(per[(cmd, name)]), len(per[(cmd, name)])]
                            for cmd, name in order]


def version(b):
    try:
        out = subprocess.run([b, "--version"], stdout=subprocess.PIPE, stderr=DEVNULL,
                             text=True).stdout
        return out.splitlines()[0].strip()
    except (OSError, IndexError):
        return "?"


def machine_info():
    model = "?"
    with open("/proc/cpuinfo") as f:
        for l in f:
            if l.startswith("model name"):
                model = l.split(":", 1)[1].strip()
                break
    mem = "?"
    with open("/proc/meminfo") as f:
        for l in f:
            if l.startswith("MemTotal"):
                mem = f"{int(l.split()[1]) // (1024 * 1024)} GiB"
    osname = "?"
    try:
        with open("/etc/os-release") as f:
            for l in f:
                if l.startswith("PRETTY_NAME="):
                    osname = l.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    return {"cpu": model, "cpus": os.cpu_count(), "mem": mem, "os": osname,
            "kernel": platform.release(), "load": os.getloadavg()}
