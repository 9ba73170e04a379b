"""The Gateway API's HTTPRoute (gateway.networking.k8s.io/v1), as far as the chart uses it,
with the constraints of the v1 CRD's schema: unknown fields are errors, as with
kubernetes-validate's strict mode. (No CRD model of the Gateway API is packaged for
Python; these mirror the fields and limits of the v1 HTTPRoute CRD.)"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

Name = Annotated[str, StringConstraints(min_length=1, max_length=253)]
Hostname = Annotated[
    str,
    StringConstraints(
        min_length=1,
        max_length=253,
        pattern=r"^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$",
    ),
]
Port = Annotated[int, Field(ge=1, le=65535)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class ObjectMeta(BaseModel):
    model_config = ConfigDict(extra="allow")
    name: Name
    namespace: str


class ParentReference(Strict):
    group: str | None = None
    kind: str | None = None
    namespace: str | None = None
    name: Name
    sectionName: str | None = None
    port: Port | None = None


class PathMatch(Strict):
    type: Literal["Exact", "PathPrefix", "RegularExpression"] = "PathPrefix"
    value: Annotated[str, StringConstraints(pattern=r"^/", max_length=1024)] = "/"


class RouteMatch(Strict):
    path: PathMatch | None = None


class BackendRef(Strict):
    group: str | None = None
    kind: str | None = None
    name: Name
    namespace: str | None = None
    port: Port
    weight: int | None = None


class RouteRule(Strict):
    matches: Annotated[list[RouteMatch], Field(max_length=64)]
    backendRefs: Annotated[list[BackendRef], Field(max_length=16)]


class HTTPRouteSpec(Strict):
    parentRefs: Annotated[list[ParentReference], Field(min_length=1, max_length=32)]
    hostnames: Annotated[list[Hostname], Field(max_length=16)] | None = None
    rules: Annotated[list[RouteRule], Field(min_length=1, max_length=16)]


class HTTPRoute(Strict):
    apiVersion: Literal["gateway.networking.k8s.io/v1"]
    kind: Literal["HTTPRoute"]
    metadata: ObjectMeta
    spec: HTTPRouteSpec
