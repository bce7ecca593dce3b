"""Dependency audit behind `make audit`: pip-audit, without mistaking "could not check" for "clean".

pip-audit asks a vulnerability service about each pinned version. When the
service does not know a version or cannot be reached, pip-audit *skips* that
package and still prints "No known vulnerabilities found" with exit status 0,
even when every package was skipped. This wrapper runs pip-audit with PyPI's
service and, for what that skipped, with OSV's; it then lists every pin that
neither could check and calls the run PARTIAL (or NOT PERFORMED) instead of
clean.

Exit status: 1 when a known vulnerability affects a pin; 0 otherwise, or 2
with ``--strict`` (or ``AUDIT_STRICT=1``) when some pin could not be checked.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# face_recognition is installed with --no-deps (its `dlib` pin has no wheel),
# so its file is audited without resolving dependencies.
FILES = [("requirements.txt", []), ("requirements-nodeps.txt", ["--no-deps"])]
SERVICES = ("pypi", "osv")


def pip_audit(req: str, extra: list[str], service: str) -> list[dict] | str:
    """The dependencies pip-audit reports (each with ``vulns`` or ``skip_reason``), or its error text."""
    exe = Path(sys.executable).with_name("pip-audit")
    cmd = [str(exe), "-r", str(ROOT / req), "--vulnerability-service", service, "-f", "json",
           "--progress-spinner", "off", *extra]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    try:
        return json.loads(out.stdout)["dependencies"]
    except (json.JSONDecodeError, KeyError):
        lines = (out.stderr or out.stdout).strip().splitlines()
        return lines[-1][:200] if lines else f"pip-audit exited {out.returncode}"


def main() -> int:
    strict = "--strict" in sys.argv or os.environ.get("AUDIT_STRICT") == "1"
    checked: dict[str, str] = {}  # "name==version" -> service that checked it
    skipped: dict[str, str] = {}  # "name==version" -> last skip reason
    vulnerable: list[str] = []
    for req, extra in FILES:
        for service in SERVICES:
            deps = pip_audit(req, extra, service)
            if isinstance(deps, str):
                print(f"{service}: cannot audit {req}: {deps}")
                continue
            for dep in deps:
                version = dep.get("version") or dep.get("skip_reason", "").rpartition("(")[2].rstrip(")")
                pin = f"{dep['name']}=={version}"
                if "skip_reason" in dep:
                    if pin not in checked:
                        skipped[pin] = f"{service}: {dep['skip_reason']}"
                    continue
                checked[pin] = service
                skipped.pop(pin, None)
                for v in dep.get("vulns", []):
                    fixed = ", ".join(v.get("fix_versions") or []) or "no fix yet"
                    vulnerable.append(f"{pin}: {v['id']} (fixed in {fixed})")
            if not any(pin.startswith(f"{d['name']}==") for d in deps for pin in skipped):
                break  # nothing left for the next service

    print(f"checked: {len(checked)} pins" + (f" ({', '.join(sorted(set(checked.values())))})" if checked else ""))
    if skipped:
        print(f"NOT CHECKED: {len(skipped)} pins (no vulnerability data for them reachable from here)")
        for pin, why in sorted(skipped.items()):
            print(f"  {pin}: {why}")
    if vulnerable:
        print(f"KNOWN VULNERABILITIES: {len(set(vulnerable))}")
        for line in sorted(set(vulnerable)):
            print(f"  {line}")
        return 1
    if not checked:
        print("AUDIT NOT PERFORMED: no pin could be checked. Run `make audit` where PyPI's per-version JSON "
              "or api.osv.dev is reachable.")
        return 2 if strict else 0
    if skipped:
        print("No known vulnerability in the pins checked; this is a PARTIAL audit.")
        return 2 if strict else 0
    print("No known vulnerabilities found.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
