"""The ``calls``, ``sdp``, ``ice`` and ``quality`` streams: WebRTC signaling through Parley,
and what the parties measure of their call."""

import asyncio
import logging
import time
from functools import partial
from typing import Any

from channels.db import database_sync_to_async
from djangochannelsrestframework.decorators import action
from djangochannelsrestframework.observer.model_observer import Action
from rest_framework.serializers import BaseSerializer

from calls import figures, selectors, services, turn
from calls.figures import Window
from calls.models import Call, Ice, QualitySample, Sdp
from calls.serializers import (
    CallCreateSerializer,
    CallMediaSerializer,
    CallSerializer,
    FiguresWindowSerializer,
    IceSerializer,
    QualityListSerializer,
    QualitySampleSerializer,
    SdpSerializer,
)
from consumers import groups
from consumers.contract import Argument, Own, Push, Shape, declare
from consumers.stream import Stream, data_arg, model_observer, object_id, parse, shared_trips

logger = logging.getLogger(__name__)
# A dashboard's figures are pushed at most this often, however often calls change.
FIGURES_PUSH_SECONDS = 1.0

PK = Argument("pk", "The call's id.")
CALL = Argument("call", "The call's id.")
COUNT = {"type": "integer", "minimum": 0}
SECONDS = {"type": ["number", "null"], "minimum": 0}


def object_schema(properties: dict[str, Any], description: str = "") -> dict[str, Any]:
    """A JSON Schema object whose properties are all there."""
    schema = {"type": "object", "properties": properties, "required": list(properties)}
    return {**schema, "description": description} if description else schema


TIMES = object_schema({"count": COUNT, **{p: SECONDS for p in figures.PERCENTILES}})
# What calls.figures.figures() answers (its keys come from there).
FIGURES = Shape(
    "Figures",
    object_schema(
        {
            "now": object_schema({"ringing": COUNT, "in_progress": COUNT}),
            "window": object_schema({
                "since": {"type": "string", "format": "date-time"},
                "until": {"type": "string", "format": "date-time"},
            }),
            "calls": COUNT,
            "outcomes": object_schema({name: COUNT for name in figures.OUTCOMES}),
            "answer_rate": {"type": ["number", "null"], "minimum": 0, "maximum": 1},
            **{name: TIMES for name in figures.TIMED},
        },
        "Calls now; the window's calls by outcome, answer rate, and the median and p90 of "
        "set-up time and duration, in seconds.",
    ),
)
# What calls.turn.ice_servers() answers: RTCConfiguration's iceServers, and their lifetime.
ICE_SERVER = {
    "type": "object",
    "properties": {
        "urls": {"type": "array", "items": {"type": "string"}},
        "username": {"type": "string"},
        "credential": {"type": "string"},
    },
    "required": ["urls"],
}
ICE_SERVERS = Shape(
    "IceServers",
    object_schema(
        {
            "ice_servers": {"type": "array", "items": ICE_SERVER},
            "ttl": {"type": "integer", "description": "Seconds the TURN credentials stay valid."},
        },
        "STUN/TURN servers for an RTCPeerConnection.",
    ),
)
CALL_CHANGED = Push(("create", "update"), CallSerializer, "A call was placed, or changed state.")
SAMPLE = Push(("create",), QualitySampleSerializer, "A party reported a quality sample.")


class CallPartyStream(Stream):
    """Shared by the three call streams: the call named by an argument, if I am a party."""

    def party_call(self, args: dict[str, Any], key: str = "call") -> Call:
        """The call ``args[key]`` if I am one of its two parties, else 404."""
        return selectors.call_get_for_party(user=self.user, pk=object_id(args, key))

    async def push_from_other_party(self, message: dict, action: str, request_ids: Any) -> None:
        """A party never gets its own SDP, candidates or samples echoed back; others never
        get any."""
        me = self.user.pk
        if me in message["parties"] and me != message["data"]["sender"]:
            await self.reply_push(action=action, data=message["data"], request_ids=request_ids)


class CallStream(CallPartyStream):
    """Calls: create (invite), accept, reject, hangup, list, retrieve, subscribe, ice_servers."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        # Figures subscriptions of this socket: request_id -> window (None: today).
        self.figures_feeds: dict[Any, Window | None] = {}
        self.figures_task: asyncio.Task | None = None
        self.figures_since = 0.0  # the earliest change the next push must include

    @declare(data=[CallCreateSerializer], reply=CallSerializer, status=(201, 200))
    @action()
    def create(self, data: Any = None, **kwargs: Any) -> tuple[Any, int]:
        """Ring a user. 201 for a new call (ringing, or busy at once); 200 for the call that
        already rings between the two (glare: accept that one)."""
        args = parse(CallCreateSerializer, data_arg(data))
        call, created = services.call_place(
            caller=self.user, callee_id=args["callee"], room_id=args.get("room")
        )
        return CallSerializer(call).data, 201 if created else 200

    # Named on the wire only: a method called ``accept`` would replace DCRF's own ``accept()``
    # (which accepts a WebSocket).
    @declare(arguments=[PK], reply=CallSerializer)
    @action(name="accept")
    def accept_call(self, **kwargs: Any) -> tuple[Any, int]:
        """Answer a ringing call (callee only)."""
        call = services.call_accept(call=self.party_call(kwargs, "pk"), user=self.user)
        return CallSerializer(call).data, 200

    @declare(arguments=[PK], reply=CallSerializer)
    @action()
    def reject(self, **kwargs: Any) -> tuple[Any, int]:
        """Decline a ringing call (callee only)."""
        call = services.call_reject(call=self.party_call(kwargs, "pk"), user=self.user)
        return CallSerializer(call).data, 200

    @declare(arguments=[PK], reply=CallSerializer)
    @action()
    def hangup(self, **kwargs: Any) -> tuple[Any, int]:
        """End the call; before it is answered, cancel (caller) or decline (callee)."""
        call = services.call_hangup(call=self.party_call(kwargs, "pk"), user=self.user)
        return CallSerializer(call).data, 200

    @declare(arguments=[FiguresWindowSerializer], reply=FIGURES)
    @action()
    def figures(self, **kwargs: Any) -> tuple[Any, int]:
        """Staff only: calls now, and a window's outcomes, answer rate, set-up and duration."""
        services.dashboard_check(user=self.user)
        return figures.figures(**parse(FiguresWindowSerializer, kwargs)), 200

    @declare(
        arguments=[FiguresWindowSerializer],
        status=201,
        pushes=[Push(("figures",), FIGURES, "The figures, at once and as calls change.")],
    )
    @action()
    async def subscribe_figures(self, request_id: Any, **kwargs: Any) -> tuple[Any, int]:
        """Staff only: the figures (of today, or of the window ``since``/``until``) pushed
        now, then again whenever a call changes, at most once per FIGURES_PUSH_SECONDS."""
        services.dashboard_check(user=self.user)  # no query: fine on the event loop
        window = parse(FiguresWindowSerializer, kwargs)["window"]
        await self.call_activity.subscribe(figures=True, request_id=request_id)
        self.figures_feeds[request_id] = window
        self.figures_changed()
        return None, 201

    @declare(status=204)
    @action()
    async def unsubscribe_figures(self, request_id: Any, **kwargs: Any) -> tuple[Any, int]:
        """Stop the figures subscription made with this request_id."""
        self.figures_feeds.pop(request_id, None)
        # The group is left once its last request id goes (DCRF counts them).
        await self.call_activity.unsubscribe(figures=True, request_id=request_id)
        return None, 204

    def figures_changed(self) -> None:
        """Calls changed: push fresh figures now, or once the current second is over (changes
        meanwhile share that one push, which counts the latest of them)."""
        self.figures_since = time.time()
        if self.figures_task is None or self.figures_task.done():
            self.figures_task = asyncio.create_task(self.push_figures())

    async def push_figures(self) -> None:
        try:
            while self.figures_since and self.figures_feeds:
                since, self.figures_since = self.figures_since, 0.0
                for request_id, window in list(self.figures_feeds.items()):
                    data = await database_sync_to_async(figures.figures)(
                        window=window, fresher_than=since
                    )
                    if request_id in self.figures_feeds:
                        await self.reply_push(
                            action="figures", data=data, request_ids=[request_id]
                        )
                await asyncio.sleep(FIGURES_PUSH_SECONDS)
        except Exception:  # the database or cache is down: the next change tries again
            logger.warning("Dashboard figures could not be computed", exc_info=True)
        finally:
            self.figures_since = 0.0

    def disconnect(self) -> None:
        super().disconnect()
        if self.figures_task is not None:
            self.figures_task.cancel()

    @declare(arguments=[PK, CallMediaSerializer], reply=CallSerializer)
    @action()
    def media(self, **kwargs: Any) -> tuple[Any, int]:
        """My client's media: ``state`` connected, or failed with a ``reason``."""
        report = parse(CallMediaSerializer, kwargs)
        call = services.call_media(call=self.party_call(kwargs, "pk"), user=self.user, **report)
        return CallSerializer(call).data, 200

    @declare(reply=CallSerializer(many=True))
    @action()
    def list(self, **kwargs: Any) -> tuple[Any, int]:
        """My calls, newest first (the last 100)."""
        return CallSerializer(selectors.calls_history(user=self.user), many=True).data, 200

    @declare(arguments=[PK], reply=CallSerializer)
    @action()
    def retrieve(self, **kwargs: Any) -> tuple[Any, int]:
        """One of my calls."""
        return CallSerializer(self.party_call(kwargs, "pk")).data, 200

    @declare(reply=ICE_SERVERS)
    @action()
    def ice_servers(self, **kwargs: Any) -> tuple[Any, int]:
        """STUN/TURN servers for RTCPeerConnection, with time-limited TURN credentials."""
        return turn.ice_servers(user_id=self.user.pk), 200

    @declare(status=201, pushes=[CALL_CHANGED])
    @action()
    async def subscribe_calls(self, request_id: Any, **kwargs: Any) -> tuple[Any, int]:
        """Pushes of every state change of my calls: the ring, accepted, ended…"""
        await self.call_activity.subscribe(user_id=self.user.pk, request_id=request_id)
        return None, 201

    @declare(status=204)
    @action()
    async def unsubscribe_calls(self, request_id: Any, **kwargs: Any) -> tuple[Any, int]:
        """Stop the subscription made with this request_id."""
        await self.call_activity.unsubscribe(user_id=self.user.pk, request_id=request_id)
        return None, 204

    @declare(status=201, pushes=[CALL_CHANGED])
    @action()
    async def subscribe_dashboard(self, request_id: Any, **kwargs: Any) -> tuple[Any, int]:
        """Staff only: state changes of all calls (parties, state, times; never SDP or ICE)."""
        services.dashboard_check(user=self.user)  # no query: fine on the event loop
        await self.call_activity.subscribe(dashboard=True, request_id=request_id)
        return None, 201

    @declare(reply=CallSerializer(many=True))
    @action()
    def dashboard(self, **kwargs: Any) -> tuple[Any, int]:
        """Staff only: the live calls and the last 100 calls, newest first (the snapshot the
        dashboard subscription then keeps current)."""
        services.dashboard_check(user=self.user)
        calls = selectors.calls_for_dashboard()
        return CallSerializer(calls, many=True).data, 200

    @declare(status=204)
    @action()
    async def unsubscribe_dashboard(self, request_id: Any, **kwargs: Any) -> tuple[Any, int]:
        """Stop the dashboard subscription made with this request_id."""
        await self.call_activity.unsubscribe(dashboard=True, request_id=request_id)
        return None, 204

    @model_observer(Call, static=True)
    async def call_activity(
        self,
        message: dict,
        observer: Any = None,
        subscribing_request_ids: Any = (),
        action: str = "",
        group: str = "",
        **kwargs: Any,
    ) -> None:
        """A call I am part of (or any call, on the dashboard) changed state."""
        if group == groups.observed(observer, groups.calls_figures()):
            if self.user.is_staff:
                self.figures_changed()
            return
        allowed = self.user.pk in message["parties"] or (
            self.user.is_staff and group == groups.observed(observer, groups.calls_dashboard())
        )
        if allowed:
            await self.reply_push(
                action=action, data=message["data"], request_ids=subscribing_request_ids
            )

    @call_activity.serializer
    def call_activity(self, instance: Call, action: Action, **kwargs: Any) -> dict:  # noqa: F811
        """Serialized once per change, in the writing process."""
        return {"data": CallSerializer(instance).data, "parties": list(instance.party_ids())}

    @call_activity.groups_for_signal
    def call_activity(self, instance: Call, **kwargs: Any) -> Any:  # noqa: F811
        yield groups.user_calls(instance.caller_id)
        yield groups.user_calls(instance.callee_id)
        yield groups.calls_dashboard()
        yield groups.calls_figures()

    @call_activity.groups_for_consumer
    def call_activity(  # noqa: F811
        self,
        user_id: int | None = None,
        dashboard: bool = False,
        figures: bool = False,
        **kwargs: Any,
    ) -> Any:
        if user_id is not None:
            yield groups.user_calls(user_id)
        if dashboard:
            yield groups.calls_dashboard()
        if figures:
            yield groups.calls_figures()


class SignalingStream(CallPartyStream):
    """What the sdp and ice streams share: list and subscribe on one call I am part of."""

    def stored(self, call: Call) -> Any:
        """This stream's messages on the call, oldest first."""
        raise NotImplementedError

    def observer(self) -> Any:
        """This stream's model observer."""
        raise NotImplementedError

    @declare(arguments=[CALL], reply=Own(many=True))
    @action()
    def list(self, **kwargs: Any) -> tuple[Any, int]:
        """Every message of this kind on the call, in order (for a late or returning party)."""
        return self.serializer_class(self.stored(self.party_call(kwargs)), many=True).data, 200

    @declare(
        arguments=[CALL],
        status=201,
        pushes=[Push(("create",), Own(), "The other party sent one.")],
    )
    @action()
    async def subscribe_call(self, request_id: Any, **kwargs: Any) -> tuple[Any, int]:
        """Pushes of the other party's messages on this call."""
        call = await database_sync_to_async(self.party_call)(kwargs)
        await self.observer().subscribe(call=call.pk, user_id=self.user.pk, request_id=request_id)
        return None, 201

    @declare(arguments=[CALL], status=204)
    @action()
    async def unsubscribe_call(self, request_id: Any, **kwargs: Any) -> tuple[Any, int]:
        """Stop the subscription made with this request_id."""
        call = object_id(kwargs, "call")
        await self.observer().unsubscribe(call=call, user_id=self.user.pk, request_id=request_id)
        return None, 204

    async def record(self, data: Any, service: Any, *names: str) -> tuple[Any, int]:
        """Store a message of this stream with ``service`` from the fields ``names`` of
        ``data``; its write shares a trip to the database thread with those sent meanwhile."""
        fields = data_arg(data)
        created = await shared_trips.run(
            partial(
                service,
                call_id=object_id(fields, "call"),
                sender=self.user,
                **{name: fields.get(name) for name in names},
            )
        )
        return serialized(created, self.serializer_class), 201


def signal_event(instance: Sdp | Ice | QualitySample, serializer: type[BaseSerializer]) -> dict:
    """An SDP's or candidate's push: its data, and the parties who may receive it. The data is
    kept on the row too: the sender's reply is the same JSON, serialized once."""
    instance._parley_data = data = serializer(instance).data  # type: ignore[union-attr]
    parties = selectors.call_parties(call_id=instance.call_id)
    return {"data": data, "parties": list(parties or ())}


def recipient(instance: Sdp | Ice | QualitySample) -> int:
    """The party an SDP or candidate is for: the other one."""
    parties = selectors.call_parties(call_id=instance.call_id) or (0, 0)
    return parties[1] if instance.sender_id == parties[0] else parties[0]


def serialized(instance: Sdp | Ice | QualitySample, serializer: type[BaseSerializer]) -> Any:
    """The row's data as its push carried it, or serialized now."""
    return getattr(instance, "_parley_data", None) or serializer(instance).data


class SdpStream(SignalingStream):
    """SDP: create (plus list, subscribe_call, unsubscribe_call from SignalingStream)."""

    serializer_class = SdpSerializer

    @declare(data=[CALL, SdpSerializer], reply=SdpSerializer, status=201)
    @action()
    async def create(self, data: Any = None, **kwargs: Any) -> tuple[Any, int]:
        """Send an offer or answer to the other party."""
        return await self.record(data, services.sdp_create, "type", "sdp")

    def stored(self, call: Call) -> Any:
        return selectors.sdps_of(call=call)

    def observer(self) -> Any:
        return self.sdp_activity

    @model_observer(Sdp, static=True)
    async def sdp_activity(
        self, message: dict, observer: Any = None, subscribing_request_ids: Any = (),
        action: str = "", **kwargs: Any,
    ) -> None:
        """The other party sent a session description."""
        await self.push_from_other_party(message, action, subscribing_request_ids)

    @sdp_activity.serializer
    def sdp_activity(self, instance: Sdp, action: Action, **kwargs: Any) -> dict:  # noqa: F811
        return signal_event(instance, SdpSerializer)

    @sdp_activity.groups_for_signal
    def sdp_activity(self, instance: Sdp, **kwargs: Any) -> Any:  # noqa: F811
        yield groups.call_signaling(instance.call_id, "sdp", to=recipient(instance))

    @sdp_activity.groups_for_consumer
    def sdp_activity(self, call: int, user_id: int, **kwargs: Any) -> Any:  # noqa: F811
        yield groups.call_signaling(call, "sdp", to=user_id)


class IceStream(SignalingStream):
    """ICE: create (plus list, subscribe_call, unsubscribe_call from SignalingStream)."""

    serializer_class = IceSerializer

    @declare(data=[CALL, IceSerializer], reply=IceSerializer, status=201)
    @action()
    async def create(self, data: Any = None, **kwargs: Any) -> tuple[Any, int]:
        """Trickle a candidate (empty candidate: end of candidates). Stored even if nobody
        listens yet: the other party fetches them with list."""
        return await self.record(
            data, services.ice_create, "candidate", "sdp_mid", "sdp_mline_index",
            "username_fragment",
        )

    def stored(self, call: Call) -> Any:
        return selectors.ice_of(call=call)

    def observer(self) -> Any:
        return self.ice_activity

    @model_observer(Ice, static=True)
    async def ice_activity(
        self, message: dict, observer: Any = None, subscribing_request_ids: Any = (),
        action: str = "", **kwargs: Any,
    ) -> None:
        """The other party trickled a candidate."""
        await self.push_from_other_party(message, action, subscribing_request_ids)

    @ice_activity.serializer
    def ice_activity(self, instance: Ice, action: Action, **kwargs: Any) -> dict:  # noqa: F811
        return signal_event(instance, IceSerializer)

    @ice_activity.groups_for_signal
    def ice_activity(self, instance: Ice, **kwargs: Any) -> Any:  # noqa: F811
        yield groups.call_signaling(instance.call_id, "ice", to=recipient(instance))

    @ice_activity.groups_for_consumer
    def ice_activity(self, call: int, user_id: int, **kwargs: Any) -> Any:  # noqa: F811
        yield groups.call_signaling(call, "ice", to=user_id)


class QualityStream(SignalingStream):
    """Call quality: create (report a sample), list, latest, subscribe_dashboard (plus
    subscribe_call and unsubscribe_call from SignalingStream: the other party's samples)."""

    serializer_class = QualitySampleSerializer

    def observer(self) -> Any:
        return self.quality_activity

    @declare(
        data=[CALL, QualitySampleSerializer], reply=QualitySampleSerializer, status=201
    )
    @action()
    def create(self, data: Any = None, **kwargs: Any) -> tuple[Any, int]:
        """Report what my client measured of the call's media (every few seconds)."""
        fields = data_arg(data)
        measures = parse(QualitySampleSerializer, fields)
        sample = services.quality_report(
            call=self.party_call(fields), user=self.user, **measures
        )
        return serialized(sample, QualitySampleSerializer), 201

    @declare(
        arguments=[CALL, QualityListSerializer], reply=QualitySampleSerializer(many=True)
    )
    @action()
    def list(self, **kwargs: Any) -> tuple[Any, int]:
        """The call's samples from both parties, oldest first (``last``: only the last few).
        Parties, and staff for any call."""
        call = selectors.call_get_for_viewer(user=self.user, pk=object_id(kwargs, "call"))
        samples = selectors.quality_of(call=call, **parse(QualityListSerializer, kwargs))
        return QualitySampleSerializer(samples, many=True).data, 200

    @declare(reply=QualitySampleSerializer(many=True))
    @action()
    def latest(self, **kwargs: Any) -> tuple[Any, int]:
        """Staff only: each party's latest sample of every call in progress."""
        services.dashboard_check(user=self.user)
        samples = selectors.quality_of_calls_in_progress()
        return QualitySampleSerializer(samples, many=True).data, 200

    @declare(status=201, pushes=[SAMPLE])
    @action()
    async def subscribe_dashboard(self, request_id: Any, **kwargs: Any) -> tuple[Any, int]:
        """Staff only: every sample of every call."""
        services.dashboard_check(user=self.user)
        await self.quality_activity.subscribe(dashboard=True, request_id=request_id)
        return None, 201

    @declare(status=204)
    @action()
    async def unsubscribe_dashboard(self, request_id: Any, **kwargs: Any) -> tuple[Any, int]:
        """Stop the dashboard subscription made with this request_id."""
        await self.quality_activity.unsubscribe(dashboard=True, request_id=request_id)
        return None, 204

    @model_observer(QualitySample, static=True, cascade=False)
    async def quality_activity(
        self,
        message: dict,
        observer: Any = None,
        subscribing_request_ids: Any = (),
        action: str = "",
        group: str = "",
        **kwargs: Any,
    ) -> None:
        """A party measured the call: the other party and staff dashboards see it."""
        if self.user.is_staff and group == groups.observed(
            observer, groups.calls_dashboard_quality()
        ):
            await self.reply_push(
                action=action, data=message["data"], request_ids=subscribing_request_ids
            )
        else:
            await self.push_from_other_party(message, action, subscribing_request_ids)

    @quality_activity.serializer
    def quality_activity(  # noqa: F811
        self, instance: QualitySample, action: Action, **kwargs: Any
    ) -> dict:
        return signal_event(instance, QualitySampleSerializer)

    @quality_activity.groups_for_signal
    def quality_activity(self, instance: QualitySample, **kwargs: Any) -> Any:  # noqa: F811
        yield groups.call_signaling(instance.call_id, "quality", to=recipient(instance))
        yield groups.calls_dashboard_quality()

    @quality_activity.groups_for_consumer
    def quality_activity(  # noqa: F811
        self,
        call: int | None = None,
        user_id: int | None = None,
        dashboard: bool = False,
        **kwargs: Any,
    ) -> Any:
        if call is not None and user_id is not None:
            yield groups.call_signaling(call, "quality", to=user_id)
        if dashboard:
            yield groups.calls_dashboard_quality()
