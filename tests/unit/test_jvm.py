"""Which JDK runs each Java runtime, and the JVM flags Lambda starts it with (no I/O)."""

from __future__ import annotations

from pathlib import Path

import pytest

from faaslab.functions.jvm import JavaUnavailable, Jdk, _major, choose_jdk, jvm_options

JDK17 = Jdk(Path("/usr/lib/jvm/java-17"), 17)
JDK25 = Jdk(Path("/usr/lib/jvm/jdk-25"), 25)


@pytest.mark.parametrize(
    ("version", "major"), [("17.0.15", 17), ("1.8.0_392", 8), ("21", 21), ("11.0.2+9", 11)]
)
def test_major_versions(version: str, major: int) -> None:
    assert _major(version) == major


def test_the_runtimes_own_jdk_without_a_note() -> None:
    assert choose_jdk("java17", (JDK17, JDK25)) == (JDK17, None)


def test_an_older_runtime_runs_on_the_oldest_newer_jdk_with_a_note() -> None:
    jdk, note = choose_jdk("java11", (JDK17, JDK25))
    assert jdk is JDK17
    assert note == (
        "java11 functions run on JDK 17 here (/usr/lib/jvm/java-17; no JDK 11 installed)"
    )


def test_a_newer_runtime_on_an_older_jdk_says_its_classes_fail() -> None:
    jdk, note = choose_jdk("java21", (JDK17,))
    assert jdk is JDK17
    assert note is not None and note.endswith("classes compiled for Java 21 fail to load")
    assert choose_jdk("java21", (JDK17, JDK25))[0] is JDK25


def test_no_jdk_at_all() -> None:
    with pytest.raises(JavaUnavailable, match="default-jdk-headless"):
        choose_jdk("java17", ())


def test_lambdas_memory_split_and_flags() -> None:
    # AWS's java11 at 256 MB: MaxHeapSize=222823k MaxMetaspaceSize=26214k
    # ReservedCodeCacheSize=13107k (heap 85%, metaspace 10%, code cache 5%), serial GC.
    flags = jvm_options("java11", 256)
    assert flags[:4] == [
        "-XX:MaxHeapSize=222823k",
        "-XX:MaxMetaspaceSize=26214k",
        "-XX:ReservedCodeCacheSize=13107k",
        "-XX:+UseSerialGC",
    ]
    assert "-XX:-TieredCompilation" in flags
    modern = jvm_options("java17", 512)
    assert "-XX:TieredStopAtLevel=1" in modern and "-XX:-TieredCompilation" not in modern
