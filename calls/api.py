"""The REST twin of the ``calls``, ``sdp`` and ``ice`` streams: same serializers, services, rules.

A call placed or answered here rings and updates the parties' sockets like one placed there:
the pushes come from the model observers, whichever transport wrote.
"""

from collections.abc import Callable
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer

from calls import figures, selectors, services, turn
from calls.models import Call
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
from rooms.api import ID, me


class CallViewSet(viewsets.GenericViewSet):
    """My calls: ring, answer, decline, hang up; and the SDP and ICE of each, in order."""

    serializer_class = CallSerializer
    lookup_value_regex = ID
    # Its lists are bounded and answered whole (the last 100 calls, one call's signaling).
    pagination_class = None

    def get_queryset(self) -> Any:
        return selectors.calls_of(user=me(self.request))

    def get_object(self) -> Call:
        """The call in the URL if I am one of its two parties, else 404."""
        return selectors.call_get_for_party(user=me(self.request), pk=int(self.kwargs["pk"]))

    def list(self, request: Request) -> Response:
        """My calls, newest first (the last 100)."""
        return Response(CallSerializer(selectors.calls_history(user=me(request)), many=True).data)

    def retrieve(self, request: Request, pk: Any = None) -> Response:
        """One of my calls."""
        return Response(CallSerializer(self.get_object()).data)

    @extend_schema(request=CallCreateSerializer, responses={201: CallSerializer})
    def create(self, request: Request) -> Response:
        """Ring a user. 201 for a new call (ringing, or busy at once); 200 for the call that
        already rings between the two (glare: accept that one)."""
        args = CallCreateSerializer(data=request.data)
        args.is_valid(raise_exception=True)
        call, created = services.call_place(
            caller=me(request),
            callee_id=args.validated_data["callee"],
            room_id=args.validated_data.get("room"),
        )
        code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
        return Response(CallSerializer(call).data, status=code)

    @extend_schema(request=None, responses={200: CallSerializer})
    @action(detail=True, methods=["post"])
    def accept(self, request: Request, pk: Any = None) -> Response:
        """Answer a ringing call (callee only)."""
        call = services.call_accept(call=self.get_object(), user=me(request))
        return Response(CallSerializer(call).data)

    @extend_schema(request=None, responses={200: CallSerializer})
    @action(detail=True, methods=["post"])
    def reject(self, request: Request, pk: Any = None) -> Response:
        """Decline a ringing call (callee only)."""
        call = services.call_reject(call=self.get_object(), user=me(request))
        return Response(CallSerializer(call).data)

    @extend_schema(request=None, responses={200: CallSerializer})
    @action(detail=True, methods=["post"])
    def hangup(self, request: Request, pk: Any = None) -> Response:
        """End the call; before it is answered, cancel (caller) or decline (callee)."""
        call = services.call_hangup(call=self.get_object(), user=me(request))
        return Response(CallSerializer(call).data)

    @extend_schema(request=CallMediaSerializer, responses={200: CallSerializer})
    @action(detail=True, methods=["post"])
    def media(self, request: Request, pk: Any = None) -> Response:
        """My client's media: connected, or failed with a reason (the call then ends)."""
        report = CallMediaSerializer(data=request.data)
        report.is_valid(raise_exception=True)
        call = services.call_media(
            call=self.get_object(), user=me(request), **report.validated_data
        )
        return Response(CallSerializer(call).data)

    @extend_schema(
        request=QualitySampleSerializer,
        parameters=[QualityListSerializer],
        responses={200: QualitySampleSerializer(many=True), 201: QualitySampleSerializer},
    )
    @action(detail=True, methods=["get", "post"])
    def quality(self, request: Request, pk: Any = None) -> Response:
        """GET: the call's quality samples from both parties, oldest first (``last``: only the
        last few; parties, and staff for any call). POST: report what my client measured."""
        if request.method == "GET":
            call = selectors.call_get_for_viewer(user=me(request), pk=int(pk))
            window = QualityListSerializer(data=request.query_params)
            window.is_valid(raise_exception=True)
            samples = selectors.quality_of(call=call, **window.validated_data)
            return Response(QualitySampleSerializer(samples, many=True).data)
        measures = QualitySampleSerializer(data=request.data)
        measures.is_valid(raise_exception=True)
        sample = services.quality_report(
            call=self.get_object(), user=me(request), **measures.validated_data
        )
        return Response(QualitySampleSerializer(sample).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=SdpSerializer, responses={200: SdpSerializer(many=True), 201: SdpSerializer}
    )
    @action(detail=True, methods=["get", "post"])
    def sdp(self, request: Request, pk: Any = None) -> Response:
        """GET: every session description of the call, in order. POST: send an offer or
        answer to the other party."""
        return self.signaling(
            request, serializer=SdpSerializer, stored=selectors.sdps_of, send=services.sdp_create
        )

    @extend_schema(
        request=IceSerializer, responses={200: IceSerializer(many=True), 201: IceSerializer}
    )
    @action(detail=True, methods=["get", "post"])
    def ice(self, request: Request, pk: Any = None) -> Response:
        """GET: every candidate of the call, in order. POST: trickle a candidate (empty
        candidate: end of candidates)."""
        return self.signaling(
            request, serializer=IceSerializer, stored=selectors.ice_of, send=services.ice_create
        )

    def signaling(
        self,
        request: Request,
        *,
        serializer: type[BaseSerializer],
        stored: Callable[..., Any],
        send: Callable[..., Any],
    ) -> Response:
        """List (GET) or send (POST) one kind of signaling message on the call in the URL."""
        call = self.get_object()
        if request.method == "GET":
            return Response(serializer(stored(call=call), many=True).data)
        fields = serializer(data=request.data)
        fields.is_valid(raise_exception=True)
        created = send(call_id=call.pk, sender=me(request), **fields.validated_data)
        return Response(serializer(created).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    @action(detail=False, methods=["get"], url_path="ice-servers")
    def ice_servers(self, request: Request) -> Response:
        """STUN/TURN servers for RTCPeerConnection, with time-limited TURN credentials."""
        return Response(turn.ice_servers(user_id=me(request).pk))

    @extend_schema(parameters=[FiguresWindowSerializer], responses={200: OpenApiTypes.OBJECT})
    @action(detail=False, methods=["get"], url_path="figures")
    def figures(self, request: Request) -> Response:
        """Staff only: calls now, and a window's outcomes, answer rate, set-up and duration."""
        services.dashboard_check(user=me(request))
        window = FiguresWindowSerializer(data=request.query_params)
        window.is_valid(raise_exception=True)
        return Response(figures.figures(**window.validated_data))

    @extend_schema(responses={200: QualitySampleSerializer(many=True)})
    @action(detail=False, methods=["get"], url_path="live-quality")
    def live_quality(self, request: Request) -> Response:
        """Staff only: each party's latest quality sample of every call in progress."""
        services.dashboard_check(user=me(request))
        samples = selectors.quality_of_calls_in_progress()
        return Response(QualitySampleSerializer(samples, many=True).data)

    @extend_schema(responses={200: CallSerializer(many=True)})
    @action(detail=False, methods=["get"])
    def dashboard(self, request: Request) -> Response:
        """Staff only: the live calls and the last 100 calls, newest first."""
        services.dashboard_check(user=me(request))
        return Response(CallSerializer(selectors.calls_for_dashboard(), many=True).data)
