"""The scoring method: the versioned data file that holds every weight, curve and check description."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from importlib import resources
from typing import Any

import yaml

CATEGORIES = ("popularity", "activity", "operational", "security", "quality")


@dataclass(frozen=True)
class CheckSpec:
    """One check as the method file documents it."""

    id: str
    category: str
    weight: float
    question: str
    motivation: str
    remediation: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Method:
    """The parsed method file with its version and content hash."""

    version: str
    weights_hash: str
    categories: dict[str, dict[str, Any]]
    checks: tuple[CheckSpec, ...]
    ranking: dict[str, Any] = field(default_factory=dict)

    @cached_property
    def veto_checks(self) -> frozenset[str]:
        """Ids of the checks whose failure sets their category's score to 0."""
        return frozenset(c.id for c in self.checks if c.params.get("veto"))

    @cached_property
    def required_categories(self) -> tuple[str, ...]:
        """Categories without whose score there is no overall score (`required_for_overall: true`)."""
        return tuple(name for name, c in self.categories.items() if c.get("required_for_overall"))

    @cached_property
    def category_weights(self) -> dict[str, float]:
        """Each category's weight in the overall score."""
        return {name: float(c["weight"]) for name, c in self.categories.items()}

    @cached_property
    def total_weight(self) -> float:
        """The categories' weights added up, in file order."""
        return sum(float(c["weight"]) for c in self.categories.values())

    @cached_property
    def prior(self) -> float:
        """The neutral value rankings assume for what no finding could read."""
        return float(self.ranking.get("prior", 5.0))

    def checks_in(self, category: str) -> tuple[CheckSpec, ...]:
        """The checks of one category, in file order."""
        return tuple(c for c in self.checks if c.category == category)

    def check(self, check_id: str) -> CheckSpec:
        """One check by id."""
        for spec in self.checks:
            if spec.id == check_id:
                return spec
        raise KeyError(check_id)


def parse_method(raw: bytes) -> Method:
    """Parse and validate a method file's bytes."""
    data = yaml.safe_load(raw)
    categories = data["categories"]
    if tuple(categories) != CATEGORIES:
        raise ValueError(f"method categories must be {CATEGORIES}, got {tuple(categories)}")
    checks = []
    seen = set()
    for item in data["checks"]:
        spec = CheckSpec(
            id=item["id"],
            category=item["category"],
            weight=float(item["weight"]),
            question=item["question"],
            motivation=item["motivation"],
            remediation=item["remediation"],
            params=item.get("params") or {},
        )
        if spec.category not in categories:
            raise ValueError(f"check {spec.id}: unknown category {spec.category}")
        if spec.id in seen:
            raise ValueError(f"check {spec.id} is defined twice")
        seen.add(spec.id)
        checks.append(spec)
    return Method(
        version=str(data["version"]),
        weights_hash=hashlib.sha256(raw).hexdigest(),
        categories=categories,
        checks=tuple(checks),
        ranking=dict(data.get("ranking") or {}),
    )


def read_data(name: str) -> bytes:
    """Bytes of a file in scoring/data."""
    return resources.files("whichmodel.scoring").joinpath("data", name).read_bytes()


@lru_cache(maxsize=1)
def load_method() -> Method:
    """The method shipped with this version of whichmodel."""
    return parse_method(read_data("method.yaml"))
