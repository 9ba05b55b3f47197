#!/usr/bin/env python3
"""Every citation of the contract resolves inside the repository.

Code and docs cite the contract as "docs/SPEC.md section N" (or "sections N and M",
"sections N–M"); this fails, naming each line, when docs/SPEC.md has no "## N." heading
for a cited N, or when a line cites a SPEC's section without naming docs/SPEC.md. Reads the files git tracks. Standard library only; run by scripts/test.sh.
"""

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CITATION = re.compile(r"docs/SPEC\.md`?,? sections? ((?:\d+(?:\s*(?:–|-|,|and)\s*)?)+)")
# A citation of a SPEC that does not name the repository's own docs/SPEC.md.
ELSEWHERE = re.compile(r"(?<!docs/)\bSPEC(?:\.md)?`? sections? \d")


def main() -> int:
    spec = (ROOT / "docs" / "SPEC.md").read_text()
    sections = {int(n) for n in re.findall(r"^## (\d+)\.", spec, re.MULTILINE)}
    files = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    problems = []
    cited = 0
    for name in files:
        path = ROOT / name
        if path.suffix not in {".rs", ".md", ".sh", ".py", ".ts", ".js", ".toml"}:
            continue
        try:
            text = path.read_text()
        except (OSError, UnicodeDecodeError):
            continue
        for number, line in enumerate(text.splitlines(), 1):
            if ELSEWHERE.search(line):
                problems.append(f"{name}:{number}: cite the contract as docs/SPEC.md section N: {line.strip()}")
            for match in CITATION.finditer(line):
                numbers = [int(n) for n in re.findall(r"\d+", match.group(1))]
                cited += 1
                for n in numbers:
                    if n not in sections:
                        problems.append(f"{name}:{number}: docs/SPEC.md has no section {n}: {line.strip()}")
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        print(f"citations: {len(problems)} citation(s) of docs/SPEC.md do not resolve", file=sys.stderr)
        return 1
    print(f"citations: {cited} citations of docs/SPEC.md, each to a section it has")
    return 0


if __name__ == "__main__":
    sys.exit(main())
