"""A SCIM filter (parsed by scim2-models) as a database query where it can be one.

Identity providers look people up by `userName eq "..."` (Okta, Entra) or `externalId eq
"..."` before they create them: those, and the other comparisons on the columns we keep,
become a WHERE clause. Any other filter is evaluated by the library itself on the
organization's resources (`ScimFilter.match`), so every filter the RFC allows answers
correctly, only more slowly."""

import uuid

from django.db.models import Q
from scim2_models import ScimFilter
from scim2_models.path import (
    CompareOperator,
    Comparison,
    FilterVisitor,
    LogicalExpr,
    LogicalOperator,
    Not,
    Present,
    ValuePath,
)

from .protocol import UserResource

CORE_USER_URN = str(UserResource.__schema__).casefold()

# userName is caseExact false (RFC 7643 4.1.1): compared without case; externalId is
# caseExact true.
STRING_LOOKUPS = {
    "username": (
        "user_name",
        {
            CompareOperator.eq: "iexact",
            CompareOperator.co: "icontains",
            CompareOperator.sw: "istartswith",
            CompareOperator.ew: "iendswith",
        },
    ),
    "externalid": (
        "external_id",
        {
            CompareOperator.eq: "exact",
            CompareOperator.co: "contains",
            CompareOperator.sw: "startswith",
            CompareOperator.ew: "endswith",
        },
    ),
}


class NotIndexed(Exception):
    """The filter names something only the library can evaluate."""


class QueryVisitor(FilterVisitor[Q]):
    def _column(self, attr_path) -> str:
        if attr_path.sub_attr or (attr_path.uri and attr_path.uri.casefold() != CORE_USER_URN):
            raise NotIndexed
        return attr_path.attr.casefold()

    def visit_comparison(self, node: Comparison) -> Q:
        name = self._column(node.attr_path)
        if name in STRING_LOOKUPS and isinstance(node.value, str):
            column, lookups = STRING_LOOKUPS[name]
            if node.op in lookups:
                return Q(**{f"{column}__{lookups[node.op]}": node.value})
        if name == "id" and node.op == CompareOperator.eq and isinstance(node.value, str):
            try:
                return Q(pk=uuid.UUID(node.value))
            except ValueError:
                return Q(pk__in=[])  # no resource has an id that is not one of ours
        if name == "active" and node.op == CompareOperator.eq and isinstance(node.value, bool):
            return Q(active=node.value)
        raise NotIndexed

    def visit_present(self, node: Present) -> Q:
        name = self._column(node.attr_path)
        if name in ("username", "id", "active"):
            return Q()  # always there
        if name == "externalid":
            return ~Q(external_id="")
        raise NotIndexed

    def visit_not(self, node: Not) -> Q:
        raise NotIndexed  # the RFC's "not" over a missing value is the library's to say

    def visit_logical_expr(self, node: LogicalExpr) -> Q:
        parts = [self.visit(term) for term in node.terms]
        combined = parts[0]
        for part in parts[1:]:
            combined = combined & part if node.op == LogicalOperator.and_ else combined | part
        return combined

    def visit_value_path(self, node: ValuePath) -> Q:
        raise NotIndexed


def as_query(filter_: ScimFilter) -> Q | None:
    """The filter as a WHERE clause, or None when only the library can evaluate it."""
    try:
        return QueryVisitor().visit(filter_.ast)
    except NotIndexed:
        return None
