"""`make goldens`: regenerate every golden file by running each tools/gen_*.py
(one generator per module, each writing its own tests/goldens/ files)."""
import glob
import os
import subprocess
import sys

TOOLS = os.path.dirname(os.path.abspath(__file__))


def main():
    failed = []
    for script in sorted(glob.glob(os.path.join(TOOLS, "gen_*.py"))):
        print(f"== {os.path.basename(script)}", flush=True)
        if subprocess.run([sys.executable, script], cwd=os.path.dirname(TOOLS)).returncode != 0:
            failed.append(os.path.basename(script))
    if failed:
        sys.exit("make goldens: failed: " + ", ".join(failed))


if __name__ == "__main__":
    main()
