"""Many clients at once, while environments come and go: no response is lost or mixed up."""

from __future__ import annotations

import random
import threading
import time
from typing import Any

import pytest
from botocore.config import Config

from tests.conftest import LOCAL_KEYS, ROOT, invoke, start_faaslab


def test_concurrent_clients_with_environment_churn(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    # keep-alive 0.3 s: environments expire between rounds, so cold starts (spares, new
    # cgroups) race with warm invokes and expiry — where a lost invocation once hid.
    fl = start_faaslab(
        ROOT / "benchmarks" / "functions" / "template.yaml",
        tmp_path_factory.mktemp("churn") / "s",
        "--keep-alive",
        "0.3",
    )
    problems: list[str] = []
    seen_envs: set[int] = set()
    try:
        import boto3

        def worker(k: int) -> None:
            # A lost invocation shows as a read timeout (10 s) rather than a hang.
            lam: Any = boto3.client(
                "lambda",
                endpoint_url=fl.url,
                region_name="us-east-1",
                config=Config(read_timeout=10, retries={"total_max_attempts": 1}),
                **LOCAL_KEYS,
            )
            for i in range(25):
                payload = {"client": k, "call": i, "nonce": random.random()}
                try:
                    r, out = invoke(lam, "echo", payload)
                except Exception as e:
                    problems.append(f"{payload}: {type(e).__name__}: {e}")
                    continue
                if out != payload or "FunctionError" in r:
                    problems.append(f"{payload} answered with {out}")

        for _ in range(4):
            threads = [threading.Thread(target=worker, args=(k,)) for k in range(8)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            seen_envs.add(len(fl.environments("echo")))
            time.sleep(random.uniform(0.2, 0.8))
    finally:
        assert fl.stop() == 0
    assert problems == []
    assert "Traceback" not in fl.log_path.read_text()  # no exception hidden in a task
    assert max(seen_envs) > 1  # the clients really ran side by side
