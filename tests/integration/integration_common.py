"""What the integration-test runners share: ctest's skip code, the two
outcomes a check can raise, the /dev/kvm precondition, and the verdict
line a runner ends with."""
import os
import subprocess

SKIP = 77  # ctest SKIP_RETURN_CODE (see CMakeLists.txt here)


class Skip(Exception):
    """The test cannot run here; printed as "SKIPPED: <reason>"."""


class Failure(Exception):
    """The test ran and failed."""


def require_kvm():
    """Raise Skip unless /dev/kvm can be opened read-write."""
    try:
        fd = os.open("/dev/kvm", os.O_RDWR | os.O_CLOEXEC)
    except OSError as error:
        raise Skip(f"/dev/kvm not available: /dev/kvm: {error.strerror}")
    os.close(fd)


def run_and_report(test, *args):
    """Runs test(*args) and prints the verdict ctest's log shows: "PASSED"
    (returns 0), "FAILED: <why>" (1) or "SKIPPED: <why>" (SKIP). A
    subprocess timeout nobody caught fails the test, naming the command."""
    try:
        test(*args)
    except Skip as reason:
        print(f"SKIPPED: {reason}")
        return SKIP
    except Failure as reason:
        print(f"FAILED: {reason}")
        return 1
    except subprocess.TimeoutExpired as expired:
        print(f"FAILED: timed out: {' '.join(map(str, expired.cmd))}")
        return 1
    print("PASSED")
    return 0
