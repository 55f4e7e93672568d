"""The first build of the control plane reports what it builds, how long so far and the usual
total while it runs: driven here by a real subprocess that takes a little while."""

from __future__ import annotations

import sys

from mlark.dev.toolchain.build import KUBERNETES, KUBERNETES_VERSION, build_message, describe, run_reporting

SLOW = [sys.executable, "-c", "import sys, time; time.sleep(1.2); print('out'); print('err', file=sys.stderr)"]


def test_a_running_build_is_reported_every_interval_with_its_output_kept() -> None:
    elapsed: list[float] = []
    result = run_reporting(SLOW, elapsed.append, every=0.25)
    assert result.returncode == 0 and result.stdout == "out\n" and result.stderr == "err\n"
    # 1.2 s at one report per 0.25 s: about four reports, each later than the one before.
    assert 3 <= len(elapsed) <= 6, elapsed
    assert elapsed == sorted(elapsed) and 0.2 < elapsed[0] < 0.6 and elapsed[-1] < 1.5


def test_a_failing_build_keeps_its_code_and_output() -> None:
    result = run_reporting([sys.executable, "-c", "import sys; print('no such package', file=sys.stderr); sys.exit(3)"],
                           lambda seconds: None, every=5)
    assert result.returncode == 3 and "no such package" in result.stderr


def test_the_message_names_the_component_the_time_so_far_and_the_expected_total() -> None:
    what = describe(KUBERNETES, "1 of 3")
    assert what == f"kube {KUBERNETES_VERSION} (kube-apiserver, kube-controller-manager, kube-scheduler; 1 of 3)"
    assert build_message(what, 134.6, 720) == f"building {what}: 2m 14s of about 12m 00s"
    assert build_message(what, 730, 720) == f"building {what}: 12m 10s, longer than the usual 12m 00s (a slower or busier machine)"
    assert build_message(what, 9, None) == f"building {what}: 9s so far"
