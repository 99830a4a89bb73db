"""What an action takes and answers, and what a subscription pushes, declared next to it.

``@declare(...)`` above an ``@action()`` states the action's arguments, the ``data`` of a
write, the reply's ``data`` and status, and, for a subscription, its pushes. Objects are named
by the serializers the stream itself uses; what no serializer makes (an object id, a deleted
row's key, a presence change) is an ``Argument`` or a ``Shape``. Nothing here runs when a frame
is handled: the AsyncAPI document (``project.asyncapi``), and the TypeScript declarations made
from it, read these declarations, so they describe the consumers as they are.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from rest_framework.serializers import ListSerializer, Serializer

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Argument:
    """An argument that no serializer reads, such as the object id ``pk``."""

    name: str
    description: str
    schema: dict[str, Any] = field(default_factory=lambda: {"type": "integer", "minimum": 1})
    required: bool = True


@dataclass(frozen=True)
class Shape:
    """A JSON object that no serializer makes: its component name and JSON Schema (which may
    point at serializers' components with ``{"$ref": UserSerializer}``)."""

    name: str
    schema: dict[str, Any]


@dataclass(frozen=True)
class Own:
    """The stream's own ``serializer_class``: actions that the sdp and ice streams share."""

    many: bool = False


# A part of a frame: a serializer (class, or instance such as ``RoomSerializer(many=True)``),
# a Shape, the stream's own serializer, or None (``data`` is null).
Part = type[Serializer] | Serializer | ListSerializer | Shape | Own | None


@dataclass(frozen=True)
class Push:
    """Frames a subscription sends: its push ``actions`` and their ``data``."""

    actions: tuple[str, ...]
    data: Part
    description: str
    status: int = 200


@dataclass(frozen=True)
class Contract:
    """One action's declaration (see ``declare``)."""

    arguments: tuple[Argument | Part, ...] = ()
    data: tuple[Argument | Part, ...] | None = None
    reply: Part = None
    statuses: tuple[int, ...] = (200,)
    pushes: tuple[Push, ...] = ()


def declare(
    *,
    arguments: Sequence[Argument | Part] = (),
    data: Sequence[Argument | Part] | None = None,
    reply: Part = None,
    status: int | Sequence[int] = 200,
    pushes: Sequence[Push] = (),
) -> Callable[[F], F]:
    """Declare an action: its top-level ``arguments``, the fields of a write's ``data``, the
    ``reply``'s data, its success ``status`` (or statuses) and the ``pushes`` it subscribes to."""
    statuses = (status,) if isinstance(status, int) else tuple(status)
    contract = Contract(
        arguments=tuple(arguments),
        data=None if data is None else tuple(data),
        reply=reply,
        statuses=statuses,
        pushes=tuple(pushes),
    )

    def mark(method: F) -> F:
        method.contract = contract  # type: ignore[attr-defined]
        return method

    return mark


def contract_of(stream: type, action: str) -> Contract | None:
    """The declaration of ``action`` on ``stream`` (a consumer class), if it has one."""
    method = getattr(stream, stream.available_actions[action])  # type: ignore[attr-defined]
    return getattr(method, "contract", None)
