"""`make goldens`: regenerate every generated file by running each tools/gen_*.py
(one generator per module). Most write their own files (tests/goldens/,
tests/data/); those that print are given their output file here."""
import glob
import os
import subprocess
import sys

TOOLS = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(TOOLS)
PRINTS_TO = {"gen_unicode_fixes.py": "src/tokenizer/unicode_fixes.h"}


def main():
    failed = []
    for script in sorted(glob.glob(os.path.join(TOOLS, "gen_*.py"))):
        name = os.path.basename(script)
        print(f"== {name}", flush=True)
        out_path = PRINTS_TO.get(name)
        if out_path:
            with open(os.path.join(ROOT, out_path) + ".tmp", "wb") as out:
                rc = subprocess.run([sys.executable, script], cwd=ROOT, stdout=out).returncode
            if rc == 0:
                os.replace(os.path.join(ROOT, out_path) + ".tmp", os.path.join(ROOT, out_path))
        else:
            rc = subprocess.run([sys.executable, script], cwd=ROOT).returncode
        if rc != 0:
            failed.append(name)
    if failed:
        sys.exit("make goldens: failed: " + ", ".join(failed))


if __name__ == "__main__":
    main()
