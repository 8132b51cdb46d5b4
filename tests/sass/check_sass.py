#!/usr/bin/env python3
"""Static SASS instruction budgets of zo's hot device code (the ctest `sass_budgets`, label `sass`).

Compiles the sources listed in budgets.json for the architecture given there with libzo's device
flags, disassembles them with cuobjdump, counts instructions per kernel and checks them against
the budgets. The rationale (roofline arithmetic) is in README.md beside this script.

Counting rule: every SASS instruction of the kernel except NOP and the final self-branch
(`BRA` to its own address after EXIT). A per-coordinate figure is
(count(kernel) - count(baseline kernel)) / coordinates: the probes of probes.cu do one Philox
block per thread without a loop, so their static count is the count executed per block.

Exit status: 0 all budgets met; 1 a budget exceeded, a kernel missing, or a compilation failed;
77 (ctest SKIP_RETURN_CODE) when nvcc or the disassembler is unavailable. When the CUDA toolkit
has no cuobjdump/nvdisasm, they are pip-installed from PyPI (nvidia-cuda-cuobjdump,
nvidia-cuda-nvdisasm) into --tools-dir once.

usage: check_sass.py --source-dir DIR --work-dir DIR [--tools-dir DIR] [--nvcc PATH]
                     [--budgets FILE] [--report FILE]
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys

SKIP = 77


def skip(message):
    print(f"SKIP: {message}")
    sys.exit(SKIP)


def find_nvcc(given):
    if given and os.path.isfile(given):
        return given
    for candidate in (shutil.which("nvcc"), "/usr/local/cuda/bin/nvcc"):
        if candidate and os.path.isfile(candidate):
            return candidate
    return None


def find_in(dirs, name):
    for d in dirs:
        if d and os.path.isfile(os.path.join(d, name)):
            return os.path.join(d, name)
    return None


def find_tools_in_tree(root):
    """cuobjdump and nvdisasm below a pip --target tree (nvidia/cu*/bin/)."""
    found = {}
    for dirpath, _, files in os.walk(root):
        for name in ("cuobjdump", "nvdisasm"):
            if name in files and name not in found:
                found[name] = os.path.join(dirpath, name)
    return found


def find_disassembler(nvcc, tools_dir):
    """(cuobjdump, directory holding nvdisasm) or None."""
    dirs = [os.path.dirname(nvcc)] + os.environ.get("PATH", "").split(os.pathsep)
    cuobjdump, nvdisasm = find_in(dirs, "cuobjdump"), find_in(dirs, "nvdisasm")
    if cuobjdump and nvdisasm:
        return cuobjdump, os.path.dirname(nvdisasm)
    if not tools_dir:
        return None
    found = find_tools_in_tree(tools_dir) if os.path.isdir(tools_dir) else {}
    if len(found) < 2:
        print(f"cuobjdump/nvdisasm not in the CUDA toolkit: pip-installing them into {tools_dir}")
        cmd = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
               "--target", tools_dir, "nvidia-cuda-cuobjdump", "nvidia-cuda-nvdisasm"]
        result = subprocess.run(cmd, capture_output=True, text=True)
        if result.returncode != 0:
            print(result.stdout + result.stderr)
            return None
        found = find_tools_in_tree(tools_dir)
    if len(found) < 2:
        return None
    for path in found.values():
        os.chmod(path, os.stat(path).st_mode | 0o111)
    return found["cuobjdump"], os.path.dirname(found["nvdisasm"])


def count_kernels(sass_text):
    """{mangled kernel name: {"count": n, "local": number of LDL/STL, "ops": {opcode: n}}}."""
    kernels = {}
    current = None
    for line in sass_text.splitlines():
        m = re.search(r"Function : (\S+)", line)
        if m:
            current = kernels.setdefault(m.group(1), {"count": 0, "local": 0, "ops": {}})
            continue
        m = re.match(r"\s+/\*([0-9a-f]{4,})\*/\s+(.*?)\s*;", line)
        if not m or current is None:
            continue
        address, text = int(m.group(1), 16), m.group(2).strip()
        text = re.sub(r"^@!?U?P\w+\s+", "", text)  # predicate
        opcode = text.split()[0]
        base = opcode.split(".")[0]
        if base == "NOP":
            continue
        if base == "BRA":
            target = re.search(r"BRA\s+(?:!?U?P\w+,\s*)?(?:`\()?0x([0-9a-f]+)", text)
            if target and int(target.group(1), 16) == address:
                continue  # the self-loop after EXIT
        current["count"] += 1
        current["ops"][base] = current["ops"].get(base, 0) + 1
        if base in ("LDL", "STL"):
            current["local"] += 1
    return kernels


def lookup(kernels, source, name):
    """The kernel of `source` whose (mangled) name is `name` or contains it."""
    table = kernels[source]
    if name in table:
        return name, table[name]
    matches = [k for k in table if name in k]
    if len(matches) != 1:
        shown = sorted(matches or table)
        more = f", ... {len(shown) - 8} more" if len(shown) > 8 else ""
        raise KeyError(f"{source}: {len(matches)} kernels match '{name}' "
                       f"({'matching' if matches else 'kernels'}: {', '.join(shown[:8])}{more})")
    return matches[0], table[matches[0]]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source-dir", required=True)
    parser.add_argument("--work-dir", required=True)
    parser.add_argument("--tools-dir")
    parser.add_argument("--nvcc")
    parser.add_argument("--budgets")
    parser.add_argument("--report")
    args = parser.parse_args()

    here = os.path.dirname(os.path.abspath(__file__))
    budgets_path = args.budgets or os.path.join(here, "budgets.json")
    with open(budgets_path) as f:
        budgets = json.load(f)

    nvcc = find_nvcc(args.nvcc)
    if not nvcc:
        skip("no nvcc (CUDA toolkit) found: the SASS budgets need it to compile the kernels")
    tools = find_disassembler(nvcc, args.tools_dir)
    if not tools:
        skip("no cuobjdump/nvdisasm in the CUDA toolkit, and installing them from PyPI "
             "(nvidia-cuda-cuobjdump, nvidia-cuda-nvdisasm) failed")
    cuobjdump, nvdisasm_dir = tools
    env = dict(os.environ)
    env["PATH"] = nvdisasm_dir + os.pathsep + env.get("PATH", "")

    os.makedirs(args.work_dir, exist_ok=True)
    src = os.path.abspath(args.source_dir)
    arch = budgets["arch"]
    includes = [f"-I{os.path.join(src, d)}" for d in budgets["include_dirs"]]
    kernels = {}
    for source, path in budgets["sources"].items():
        cubin = os.path.join(args.work_dir, f"{source}.cubin")
        cmd = [nvcc, f"-arch={arch}", "-cubin", *budgets["nvcc_flags"], *includes, "-o", cubin,
               os.path.join(src, path)]
        result = subprocess.run(cmd, capture_output=True, text=True)
        if result.returncode != 0:
            print(" ".join(cmd))
            print(result.stdout + result.stderr)
            print(f"FAIL: compiling {path} failed")
            return 1
        result = subprocess.run([cuobjdump, "-sass", cubin], capture_output=True, text=True,
                                env=env)
        if result.returncode != 0 or "Function :" not in result.stdout:
            print(result.stdout + result.stderr)
            skip(f"{cuobjdump} could not disassemble {cubin}")
        with open(os.path.join(args.work_dir, f"{source}.sass"), "w") as f:
            f.write(result.stdout)
        kernels[source] = count_kernels(result.stdout)

    failures = []
    report = {"arch": arch, "per_coordinate": [], "static": [], "local_memory": {}}
    print(f"SASS budgets for {arch} ({os.path.basename(nvcc)}: {nvcc})")
    print(f"{'what':66} {'measured':>9} {'budget':>9}")
    try:
        for b in budgets["per_coordinate"]:
            _, k = lookup(kernels, b["source"], b["kernel"])
            _, base = lookup(kernels, b["source"], b["baseline"])
            value = (k["count"] - base["count"]) / b["coordinates"]
            ok = value <= b["max"]
            print(f"{b['name'] + ' [instr/coordinate]':66} {value:9.2f} {b['max']:9.2f}"
                  f"{'' if ok else '  EXCEEDED'}")
            report["per_coordinate"].append({"name": b["name"], "value": value, "max": b["max"]})
            if not ok:
                failures.append(f"{b['name']}: {value:.2f} instructions per coordinate > {b['max']}")
        for b in budgets["static"]:
            _, k = lookup(kernels, b["source"], b["kernel"])
            ok = k["count"] <= b["max"]
            print(f"{b['name'] + ' [static instructions]':66} {k['count']:9d} {b['max']:9d}"
                  f"{'' if ok else '  EXCEEDED'}")
            report["static"].append({"name": b["name"], "value": k["count"], "max": b["max"]})
            if not ok:
                failures.append(f"{b['name']}: {k['count']} static instructions > {b['max']}")
    except KeyError as e:
        print(f"FAIL: {e.args[0]}")
        return 1
    for source in budgets["no_local_memory"]:
        for name, k in sorted(kernels[source].items()):
            report["local_memory"][name] = k["local"]
            if k["local"]:
                failures.append(f"{source}: {name} has {k['local']} local-memory loads/stores "
                                "(LDL/STL)")
        total = sum(k["local"] for k in kernels[source].values())
        print(f"{'local memory (LDL/STL) in the kernels of ' + source:66} {total:9d} {0:9d}"
              f"{'' if total == 0 else '  EXCEEDED'}")

    if args.report:
        with open(args.report, "w") as f:
            json.dump(report, f, indent=2)
    if failures:
        print("FAIL:")
        for failure in failures:
            print(f"  {failure}")
        print(f"(budgets: {budgets_path}; the disassembly is in {args.work_dir})")
        return 1
    print("all SASS budgets met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
