"""Counting checks for the Python halves of tests/oracle/check_*.sh.

  checks = Checks("check_report", "report-oracle")
  checks(ok, "what was expected")   # prints "check_report: FAILED: ..." when not ok
  checks.finish()                   # "report-oracle: N passed, N failed", exit 1 on a failure
"""
import sys


class Checks:
    def __init__(self, script, oracle):
        self.script, self.oracle = script, oracle
        self.passed = self.failed = 0

    def __call__(self, ok, what):
        if ok:
            self.passed += 1
        else:
            self.failed += 1
            print(f"{self.script}: FAILED: {what}")

    def finish(self):
        print(f"{self.oracle}: {self.passed} passed, {self.failed} failed")
        sys.exit(1 if self.failed else 0)
