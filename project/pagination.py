"""Pages of lists that grow without bound (rooms, members): an id cursor and a bounded limit.

``after`` is the last id a client holds; a page is at most ``limit`` (≤ ``LIST_MAX_LIMIT``)
items in id order, so paging never skips or repeats one while others are added, as offsets
would. The socket's ``list`` and ``members`` and the REST lists read the same arguments.
"""

from typing import Any, TypeVar

from django.conf import settings
from django.db.models import Model, QuerySet
from rest_framework import serializers
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.request import Request
from rest_framework.utils.urls import remove_query_param, replace_query_param

M = TypeVar("M", bound=Model)
MAX_LIMIT: int = settings.PARLEY["LIST_MAX_LIMIT"]


class PageSerializer(serializers.Serializer):
    """The arguments of a page: the id cursor ``after`` and ``limit``."""

    after = serializers.IntegerField(min_value=0, required=False, allow_null=True)
    limit = serializers.IntegerField(min_value=1, max_value=MAX_LIMIT, default=MAX_LIMIT)


def after_cursor(queryset: QuerySet[M], after: int | None) -> QuerySet[M]:
    """``queryset`` in id order, from the first id above ``after`` (from the start if None)."""
    if after is not None:
        queryset = queryset.filter(pk__gt=after)
    return queryset.order_by("pk")


def page_of(queryset: QuerySet[M], *, after: int | None = None, limit: int = MAX_LIMIT) -> list[M]:
    """Up to ``limit`` objects of ``queryset`` with an id above ``after``, in id order."""
    return list(after_cursor(queryset, after)[:limit])


class IdCursorPagination(LimitOffsetPagination):
    """DRF's ``{count, next, previous, results}`` pages, with the id cursor as well.

    ``after`` narrows the list to ids above it (``count`` is what remains) and ``next`` links
    carry it instead of an offset. ``limit`` and ``offset`` still work as in DRF, so existing
    clients keep theirs; a ``limit`` over the maximum is cut to it, as DRF does.
    """

    max_limit = MAX_LIMIT

    def paginate_queryset(
        self, queryset: QuerySet, request: Request, view: Any = None
    ) -> list | None:
        page = PageSerializer(data={"after": request.query_params.get("after")})
        page.is_valid(raise_exception=True)
        queryset = after_cursor(queryset, page.validated_data.get("after"))
        self.page = super().paginate_queryset(queryset, request, view) or []
        return self.page

    def get_next_link(self) -> str | None:
        url = super().get_next_link()
        if url is None or not self.page:
            return None
        url = remove_query_param(url, self.offset_query_param)
        return replace_query_param(url, "after", self.page[-1].pk)

    def get_schema_operation_parameters(self, view: Any) -> list[dict]:
        after = {
            "name": "after",
            "required": False,
            "in": "query",
            "description": "Only objects with an id above this one (the last id of a page).",
            "schema": {"type": "integer", "minimum": 0},
        }
        return [*super().get_schema_operation_parameters(view), after]
