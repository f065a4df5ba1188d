#!/usr/bin/env python3
"""Lists the C++ functions of compiler/, runtime/ and tools/ longer than a limit.

Usage: scripts/function-lengths.py [--limit N] [--top K] [DIR ...]

A function is a brace block opened by something that reads as a definition
(`name(...) [const] [override] [-> T] {`, constructors with initialiser lists
included) at namespace or class level; lambdas and nested blocks count toward the
function that holds them. Its length runs from the line of its name to its closing
brace. Prints the longest ones and exits 1 when any is over the limit (default 100):
`make check` keeps every function short enough to read in one go.
"""
import argparse
import pathlib
import re
import sys

CONTROL = re.compile(r"\b(if|for|while|switch|catch|do|else)\s*(\(|$)")
NOT_FUNCTION = re.compile(r"\b(class|struct|namespace|enum|union)\b|=\s*$|\breturn\b")


def strip(text):
    """Removes comments, strings and character literals, keeping line breaks."""
    out, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append("\n" * text.count("\n", i, j))
            i = j
        elif text.startswith('R"', i):
            m = re.match(r'R"([^(]*)\(', text[i:])
            end = text.find(")" + m.group(1) + '"', i) if m else -1
            j = n if end < 0 else end + len(m.group(1)) + 2
            out.append('""' + "\n" * text.count("\n", i, j))
            i = j
        elif c in "\"'":
            j = i + 1
            while j < n and text[j] != c:
                j += 2 if text[j] == "\\" else 1
            out.append(c + c)
            i = j + 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def functions(path):
    text = strip(path.read_text(errors="replace"))
    depth_kinds = []  # per open brace: "ns" (namespace/class level), "fn", or "in"
    header_start = 0  # index just after the last ; { } at a scope level
    results = []
    for i, c in enumerate(text):
        if c == "{":
            inside = any(k in ("fn", "in") for k in depth_kinds)
            head = text[header_start:i].strip()
            kind = "in"
            if not inside:
                if head.endswith(")") or re.search(r"\)\s*(const|override|final|noexcept|\s)*$", head) \
                        or re.search(r"->\s*[\w:<>, ]+$", head) or re.search(r"\)\s*:\s*.*\)\s*$", head, re.S):
                    if not CONTROL.search(head.split("(")[0] + "(") and not NOT_FUNCTION.search(head.split("(")[0]):
                        kind = "fn"
                if kind != "fn":
                    kind = "ns"
            if kind == "fn":
                name = re.findall(r"([~\w:]+)\s*\(", head)
                start_line = text.count("\n", 0, header_start + len(text[header_start:i]) - len(text[header_start:i].lstrip())) + 1
                depth_kinds.append(("fn", name[0] if name else "?", start_line))
            else:
                depth_kinds.append((kind,))
            header_start = i + 1
        elif c == "}":
            if depth_kinds:
                top = depth_kinds.pop()
                if top[0] == "fn":
                    end_line = text.count("\n", 0, i) + 1
                    results.append((end_line - top[2] + 1, top[1], top[2]))
            header_start = i + 1
        elif c == ";" and not any(k[0] in ("fn", "in") for k in depth_kinds):
            header_start = i + 1
        elif c == "#" and (i == 0 or text[i - 1] == "\n"):
            header_start = text.find("\n", i) + 1 if text.find("\n", i) >= 0 else len(text)
    return results


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--limit", type=int, default=100)
    parser.add_argument("--top", type=int, default=5)
    parser.add_argument("dirs", nargs="*", default=["compiler", "runtime", "tools"])
    args = parser.parse_args()
    root = pathlib.Path(__file__).resolve().parent.parent
    found = []
    for d in args.dirs:
        for path in sorted((root / d).rglob("*")):
            if path.suffix in (".cpp", ".h", ".cc", ".in") and path.is_file():
                for length, name, line in functions(path):
                    found.append((length, f"{path.relative_to(root)}:{line}", name))
    found.sort(reverse=True)
    for length, where, name in found[: args.top]:
        print(f"{length:4d} lines  {name}  ({where})")
    over = [f for f in found if f[0] > args.limit]
    print(f"{len(found)} functions, {len(over)} over {args.limit} lines")
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
