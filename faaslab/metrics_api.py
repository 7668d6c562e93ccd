"""CloudWatch metrics (GetMetricStatistics, GetMetricData, ListMetrics) over the samples
faaslab keeps: `AWS/RDS` from the clusters' monitor (state.py's metrics table), `AWS/Lambda` as
functions/metrics.py counts invocations. Sources
are small objects (`MetricSource`), so another namespace is one more of them.

Statistics are computed as CloudWatch computes them from its datapoints: per period,
aligned to StartTime; Sum, Average, Minimum, Maximum, SampleCount and percentiles (pNN).
Metric math expressions are refused in AWS's words rather than evaluated wrongly.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from faaslab.awsapi.dispatch import Call, Output, ServiceApi
from faaslab.awsapi.errors import ApiError
from faaslab.functions.metrics import ACCOUNT, LambdaMetrics
from faaslab.statistics import Point, StatisticError, periods, statistic

Sample = tuple[float, float]  # (epoch seconds, value)
MAX_DATAPOINTS = 1440  # GetMetricStatistics' limit per call


@dataclass(frozen=True)
class Series:
    """One metric of a source: its name, dimensions and unit."""

    name: str
    dimensions: tuple[tuple[str, str], ...]
    unit: str


class MetricSource(Protocol):
    namespace: str

    def series(self) -> list[Series]: ...

    def points(self, series: Series, start: float, end: float) -> list[Point]: ...


class ClusterMetrics:
    """`AWS/RDS` per DBClusterIdentifier, as the clusters' monitor sampled them."""

    namespace = "AWS/RDS"
    UNITS = {
        "ServerlessDatabaseCapacity": "Count",
        "ACUUtilization": "Percent",
        "CPUUtilization": "Percent",
        "DatabaseConnections": "Count",
        "Queries": "Count/Second",
    }

    def __init__(
        self,
        identifiers: Callable[[], Sequence[str]],
        read: Callable[[str, str, float], list[Sample]],
    ) -> None:
        self.identifiers = identifiers
        self.read = read

    def series(self) -> list[Series]:
        return [
            Series(name, (("DBClusterIdentifier", ident),), unit)
            for ident in self.identifiers()
            for name, unit in self.UNITS.items()
        ]

    def points(self, series: Series, start: float, end: float) -> list[Point]:
        ident = dict(series.dimensions)["DBClusterIdentifier"]
        return [Point.sample(t, v) for t, v in self.read(ident, series.name, start) if t < end]


class FunctionMetrics:
    """`AWS/Lambda`, per FunctionName and account-wide (no dimension), as counted by
    functions/metrics.py."""

    namespace = "AWS/Lambda"
    UNITS = {
        "Invocations": "Count",
        "Errors": "Count",
        "Throttles": "Count",
        "Duration": "Milliseconds",
        "ConcurrentExecutions": "Count",
    }

    def __init__(self, counted: LambdaMetrics, functions: Callable[[], Sequence[str]]) -> None:
        self.counted = counted
        self.functions = functions

    def series(self) -> list[Series]:
        names = sorted(set(self.functions()) | set(self.counted.functions()))
        per_fn = [
            Series(metric, (("FunctionName", fn),), unit)
            for fn in names
            for metric, unit in self.UNITS.items()
        ]
        return per_fn + [Series(m, (), unit) for m, unit in self.UNITS.items()]

    def points(self, series: Series, start: float, end: float) -> list[Point]:
        fn = dict(series.dimensions).get("FunctionName", ACCOUNT)
        return self.counted.points(fn, series.name, start, end)


def _invalid(message: str) -> ApiError:
    return ApiError("InvalidParameterValue", message)


def _dims(raw: list[dict[str, str]] | None) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((d["Name"], d["Value"]) for d in raw or []))


def _statistic(points: list[Point], stat: str) -> float:
    try:
        return statistic(points, stat)
    except StatisticError as e:
        raise _invalid(str(e)) from None


def _when(t: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(t, dt.UTC)


class MetricsApi:
    def __init__(self, sources: list[MetricSource]) -> None:
        self.sources = {s.namespace: s for s in sources}

    def api(self) -> ServiceApi:
        return ServiceApi(
            "cloudwatch",
            {
                "ListMetrics": self.list_metrics,
                "GetMetricStatistics": self.get_metric_statistics,
                "GetMetricData": self.get_metric_data,
            },
        )

    def _find(self, namespace: str, name: str, dims: tuple[tuple[str, str], ...]) -> Series | None:
        source = self.sources.get(namespace)
        if source is None:
            return None
        return next((s for s in source.series() if s.name == name and s.dimensions == dims), None)

    def list_metrics(self, call: Call) -> Output:
        p = call.params
        wanted = _dims(p.get("Dimensions"))
        out = []
        for namespace, source in sorted(self.sources.items()):
            if p.get("Namespace") not in (None, namespace):
                continue
            for s in source.series():
                if p.get("MetricName") not in (None, s.name):
                    continue
                if any(d not in s.dimensions for d in wanted):
                    continue
                out.append(
                    {
                        "Namespace": namespace,
                        "MetricName": s.name,
                        "Dimensions": [{"Name": k, "Value": v} for k, v in s.dimensions],
                    }
                )
        return {"Metrics": out}

    def get_metric_statistics(self, call: Call) -> Output:
        p = call.params
        stats = list(p.get("Statistics") or []) + list(p.get("ExtendedStatistics") or [])
        if not stats:
            raise _invalid("Either Statistics or ExtendedStatistics must be given.")
        start, end = p["StartTime"].timestamp(), p["EndTime"].timestamp()
        period = p["Period"]
        if period < 1 or (period >= 60 and period % 60):
            raise _invalid("The parameter Period must be 1, 5, 10, 30 or a multiple of 60.")
        if (end - start) / period > MAX_DATAPOINTS:
            raise _invalid(
                f"You have requested up to {int((end - start) / period)} datapoints, which "
                f"exceeds the limit of {MAX_DATAPOINTS}."
            )
        series = self._find(p["Namespace"], p["MetricName"], _dims(p.get("Dimensions")))
        points = []
        if series is not None and p.get("Unit") in (None, series.unit):
            source = self.sources[p["Namespace"]]
            buckets = periods(source.points(series, start, end), start, period)
            for t, group in sorted(buckets.items()):
                point: dict[str, Any] = {"Timestamp": _when(t), "Unit": series.unit}
                for stat in p.get("Statistics") or []:
                    point[stat] = _statistic(group, stat)
                ext = {s: _statistic(group, s) for s in p.get("ExtendedStatistics") or []}
                if ext:
                    point["ExtendedStatistics"] = ext
                points.append(point)
        return {"Label": p["MetricName"], "Datapoints": points}

    def get_metric_data(self, call: Call) -> Output:
        p = call.params
        start, end = p["StartTime"].timestamp(), p["EndTime"].timestamp()
        results = []
        for q in p["MetricDataQueries"]:
            if "Expression" in q:
                raise _invalid(
                    f"faaslab does not evaluate metric math expressions ({q['Expression']}): "
                    "ask for each metric with MetricStat."
                )
            stat = q["MetricStat"]
            metric = stat["Metric"]
            series = self._find(
                metric.get("Namespace", ""),
                metric.get("MetricName", ""),
                _dims(metric.get("Dimensions")),
            )
            stamps: list[dt.datetime] = []
            values: list[float] = []
            if series is not None:
                source = self.sources[metric["Namespace"]]
                buckets = periods(source.points(series, start, end), start, stat["Period"])
                ordered = sorted(buckets.items(), reverse=p.get("ScanBy") != "TimestampAscending")
                for t, group in ordered:
                    stamps.append(_when(t))
                    values.append(_statistic(group, stat["Stat"]))
            if q.get("ReturnData", True):
                results.append(
                    {
                        "Id": q["Id"],
                        "Label": q.get("Label") or metric.get("MetricName", ""),
                        "Timestamps": stamps,
                        "Values": values,
                        "StatusCode": "Complete",
                    }
                )
        return {"MetricDataResults": results, "Messages": []}
