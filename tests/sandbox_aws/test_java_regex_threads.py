"""compile_java is called from the sandbox's server threads at once (moto's model checks, the Atlas API)."""

from __future__ import annotations

import threading
import warnings

from atlasiam_sandbox.java_regex import compile_java


def test_concurrent_first_compiles_leave_the_process_warning_filters_as_they_were() -> None:
    """``catch_warnings`` saves and restores the process-global filter list: two threads interleaving it could
    leave the temporary "error" filter in place for good, and every later warning (any thread's) would raise."""
    before = list(warnings.filters)
    start = threading.Barrier(8)

    def compile_many(worker: int) -> None:
        start.wait()
        for i in range(1500):
            assert compile_java(f"^t{worker}x{i}[a-z]{{1,{i + 1}}}$") is not None  # distinct: no cache hit

    threads = [threading.Thread(target=compile_many, args=(w,)) for w in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert warnings.filters == before


def test_a_pattern_re_warns_about_still_counts_as_untranslatable() -> None:
    assert compile_java("[[a-z]--b]") is None  # "Possible set difference": FutureWarning in re
    assert compile_java("[a-z]+") is not None
