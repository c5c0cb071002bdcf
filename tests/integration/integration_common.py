"""What the integration-test runners share: ctest's skip code, the two
outcomes a check can raise, and the /dev/kvm precondition."""
import os

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
