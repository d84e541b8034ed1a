#!/usr/bin/env python3
"""Checks the rooms of src/: no include cycle, no call cycle, arrows one way, files under a size.

    tools/check_layout.py [--cc gcc] [--max-lines 400] [-I dir ...] [-D name ...]

Run from the repository root. What it checks:
  1. The include graph, from the `#include "..."` lines of every file under src/ (resolved in
     src/, src/core/, src/vk/, include/): no cycle.
  2. The call graph: every .c file under src/ is compiled once more with gcc -O0 -fcallgraph-info
     (nothing inlined, every direct call an edge; objects go to a temporary directory). Calls are
     folded onto the files that define their callees: no cycle between files, and no cycle between
     functions of different files either (a function calling itself or a sibling in its own file
     is plain recursion, reported too). Calls through function pointers (the submission room
     calling back a recording, the caller's allocator) are not edges: they are how a lower room
     runs what a higher one hands it, without knowing it.
  3. The arrows: src/core/ calls and includes only src/core/; src/vk/ only src/core/ and src/vk/;
     the objects at src/ anything below them. Each may also use the public header and the tuning
     room's header (src/tuning.h: inline no-ops in a release build). The call graph is checked
     twice: as the release library is built, and as a tuning build (-DQ8CONV_TUNING, with
     src/tuning.c, which calls down into src/vk/ only).
  4. Every file under src/ has fewer than --max-lines lines.
Exit status 0 when everything holds; otherwise each violation is printed and the status is 1.
"""
import argparse
import collections
import os
import re
import subprocess
import sys
import tempfile

SEARCH = ["src", "src/core", "src/vk", "include"]


def room(path):
    if path.startswith("src/core/"):
        return "core"
    if path.startswith("src/vk/"):
        return "vk"
    if path.startswith("src/"):
        return "objects"
    if path.startswith("include/"):
        return "public"
    return "outside"


# What each room may use besides itself.
ALLOWED = {
    "core": {"public", "tuning"},
    "vk": {"core", "public", "tuning"},
    "objects": {"core", "vk", "public", "tuning"},
}


def room_of(path):
    return "tuning" if path.startswith("src/tuning.") else room(path)


def src_files():
    out = []
    for base, _, names in os.walk("src"):
        for n in names:
            if n.endswith((".c", ".h", ".def")):
                out.append(os.path.join(base, n))
    return sorted(out)


def resolve_include(name, including):
    for d in [os.path.dirname(including)] + SEARCH:
        p = os.path.normpath(os.path.join(d, name))
        if os.path.exists(p):
            return p
    return None


def cycles(graph):
    """Strongly connected components with more than one node, or a node with an edge to itself."""
    index, low, on, stack, out = {}, {}, set(), [], []
    counter = [0]
    sys.setrecursionlimit(100000)

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1 or v in graph.get(v, ()):
                out.append(sorted(comp))

    for v in list(graph):
        if v not in index:
            visit(v)
    return out


def include_graph(files):
    graph = collections.defaultdict(set)
    for f in files:
        for line in open(f, encoding="utf-8"):
            m = re.match(r'\s*#\s*include\s+"([^"]+)"', line)
            if m:
                target = resolve_include(m.group(1), f)
                if target:
                    graph[f].add(target)
    return graph


NODE = re.compile(r'node: \{ title: "([^"]+)" label: "[^\\"]*\\n([^:"]+):\d+:\d+"( shape : ellipse)?')
EDGE = re.compile(r'edge: \{ sourcename: "([^"]+)" targetname: "([^"]+)"')


def call_graph(cfiles, cc, includes, defines):
    """Function nodes 'file::name' and their direct calls, from gcc -fcallgraph-info."""
    defined = {}   # per TU: name -> defining file
    edges = []     # (tu, caller, callee name)
    with tempfile.TemporaryDirectory() as tmp:
        for i, f in enumerate(cfiles):
            obj = os.path.join(tmp, "%d.o" % i)
            cmd = [cc, "-std=c11", "-O0", "-c", f, "-o", obj, "-fcallgraph-info"]
            cmd += ["-I" + d for d in SEARCH + includes] + ["-D" + d for d in defines]
            r = subprocess.run(cmd, capture_output=True, text=True)
            if r.returncode != 0:
                sys.exit("check_layout: %s failed:\n%s" % (" ".join(cmd), r.stderr))
            text = open(os.path.join(tmp, "%d.ci" % i), encoding="utf-8").read()
            local = {}
            for name, where, external in NODE.findall(text):
                if not external:
                    local[name] = os.path.normpath(where)
            defined[f] = local
            for a, b in EDGE.findall(text):
                edges.append((f, a, b))
    # A name defined in no other way than static in one TU stays that TU's; globals are unique.
    globals_ = {}
    for f, local in defined.items():
        for name, where in local.items():
            globals_.setdefault(name, set()).add(where)
    graph = collections.defaultdict(set)
    for tu, a, b in edges:
        src = "%s::%s" % (defined[tu].get(a, tu), a)
        if b in defined[tu]:
            dst = "%s::%s" % (defined[tu][b], b)
        elif b in globals_ and len(globals_[b]) == 1:
            dst = "%s::%s" % (next(iter(globals_[b])), b)
        else:
            continue  # libc, pthread, Vulkan through volk's table: outside src/
        graph[src].add(dst)
    return graph


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cc", default="gcc")
    ap.add_argument("--max-lines", type=int, default=400)
    ap.add_argument("-I", dest="includes", action="append", default=[], help="extra include directory (volk.h's)")
    ap.add_argument("-D", dest="defines", action="append", default=["VK_NO_PROTOTYPES", "_XOPEN_SOURCE=700"])
    args = ap.parse_args()
    problems = []
    files = src_files()

    inc = include_graph(files)
    for c in cycles(inc):
        problems.append("include cycle: " + " -> ".join(c))
    for f, targets in inc.items():
        for t in targets:
            a, b = room_of(f), room_of(t)
            if a != b and a in ALLOWED and b not in ALLOWED[a]:
                problems.append("include against the arrows: %s (%s) -> %s (%s)" % (f, a, b, t))

    by_file = collections.defaultdict(set)
    calls = {}
    for build, extra in (("release", []), ("tuning", ["Q8CONV_TUNING"])):
        cfiles = [f for f in files if f.endswith(".c") and (extra or f != "src/tuning.c")]
        calls = call_graph(cfiles, args.cc, args.includes, args.defines + extra)
        for c in cycles(calls):
            problems.append("%s build: call cycle: %s" % (build, " -> ".join(c)))
        files_graph = collections.defaultdict(set)
        for a, targets in calls.items():
            fa = a.split("::")[0]
            for b in targets:
                fb = b.split("::")[0]
                if fa != fb:
                    files_graph[fa].add(fb)
                ra, rb = room_of(fa), room_of(fb)
                if ra != rb and ra in ALLOWED and rb not in ALLOWED[ra]:
                    problems.append("%s build: call against the arrows: %s -> %s" % (build, a, b))
        for c in cycles(files_graph):
            problems.append("%s build: call cycle between files: %s" % (build, " -> ".join(c)))
        if build == "release":
            by_file, release_calls = files_graph, calls
    calls = release_calls

    for f in files:
        n = sum(1 for _ in open(f, encoding="utf-8"))
        if n >= args.max_lines:
            problems.append("%s: %d lines (the limit is %d)" % (f, n, args.max_lines))

    for p in sorted(set(problems)):
        print(p)
    edges = sum(len(v) for v in calls.values())
    print("check_layout: %d files, %d include edges; release build: %d call edges from %d functions, %d between "
          "files (a tuning build checked too): %s" % (len(files), sum(len(v) for v in inc.values()), edges, len(calls),
                         sum(len(v) for v in by_file.values()), "FAILED" if problems else "no cycle, arrows one way"))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
