#!/usr/bin/python3
"""The closing lines of scripts/test.sh: how many tests ran, failed and were
skipped, and for each skip its reason (the test's own skip message), read
from ctest's JUnit report (ctest --output-junit FILE)."""

import re
import sys
import xml.etree.ElementTree as ET


def skip_reason(case):
    text = "".join(e.text or "" for e in case.iter() if e.tag in ("system-out", "skipped"))
    for pattern in (r"Skipped\s*\n(.+)", r"skipped: (.+)", r"SKIPPED[^\n]*\n(.+)"):
        m = re.search(pattern, text)
        if m:
            return m.group(1).strip()
    for case_skip in case.iter("skipped"):
        if case_skip.get("message"):
            return case_skip.get("message")
    return "no reason printed"


def main(path):
    root = ET.parse(path).getroot()
    cases = list(root.iter("testcase"))
    skipped = [c for c in cases if c.get("status") == "notrun" or c.find("skipped") is not None]
    failed = [c for c in cases if c.find("failure") is not None or c.find("error") is not None]
    print(f"test summary: {len(cases)} tests, {len(cases) - len(skipped) - len(failed)} passed, "
          f"{len(failed)} failed, {len(skipped)} skipped")
    for c in skipped:
        print(f"  skipped {c.get('name')}: {skip_reason(c)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
