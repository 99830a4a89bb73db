"""Pushes handed to the channel layer; a push that cannot be delivered is logged, never silent."""

import logging
from functools import partial
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db.models import Model
from djangochannelsrestframework.observer.model_observer import ModelObserver

logger = logging.getLogger("parley.delivery")


class DeliveredModelObserver(ModelObserver):
    """DCRF's model observer; a failed group send is logged instead of escaping into on_commit.

    DCRF lets the exception propagate out of the commit hook, so the write's own reply failed
    after the write had committed, and the other groups of the event got nothing.
    """

    def __init__(self, *args: Any, cascade: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # cascade=False: rows deleted because their parent was (a room's messages) push
        # nothing; the parent's own event stands for them, instead of one push per row.
        self.cascade = cascade

    def post_delete_receiver(self, instance: Model, **kwargs: Any) -> None:
        origin = kwargs.get("origin")
        cascaded = origin is not None and not isinstance(origin, type(instance))
        if cascaded and not self.cascade:
            return
        # Serializers may say why the row went (e.g. its room was deleted).
        instance._parley_cascade_origin = origin if cascaded else None  # type: ignore[attr-defined]
        super().post_delete_receiver(instance, **kwargs)

    def send_prepared_messages(self, instance: Model) -> None:
        state = self.get_observer_state(instance)
        messages, state.pending_messages = state.pending_messages, []
        layer = get_channel_layer()
        for message in messages:
            try:
                async_to_sync(layer.group_send)(message["group"], message)
            except Exception:
                logger.warning(
                    "Push %s (%s) to group %s could not be delivered",
                    message.get("type"),
                    message.get("action"),
                    message["group"],
                    exc_info=True,
                )


def model_observer(model: type[Model], **kwargs: Any) -> Any:
    """``@model_observer(Model)`` as in DCRF, delivering through ``DeliveredModelObserver``.

    ``cascade=False`` leaves out rows deleted by a cascade from another model.
    """
    return partial(DeliveredModelObserver, model_cls=model, **kwargs)


async def group_send(group: str, message: dict[str, Any]) -> None:
    """Send an event to a group; if the layer refuses it, say so at WARNING."""
    try:
        await get_channel_layer().group_send(group, message)
    except Exception:
        logger.warning(
            "Event %s to group %s could not be delivered",
            message.get("type"),
            group,
            exc_info=True,
        )
