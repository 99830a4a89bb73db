"""Serializer speed: DRF builds a ModelSerializer's fields from its model on every instance."""

from typing import Any

from rest_framework import serializers

# The body of DRF's ``Serializer.fields`` (a cached_property): build and bind the fields.
_build_fields = serializers.Serializer.fields.func  # type: ignore[attr-defined]


class FieldsBuiltOnce:
    """For output, a serializer's fields are built once per class instead of per instance.

    DRF introspects the model each time a serializer is made: about 270 µs of the 300 µs a
    message with its author took to serialize, paid for every push, reply and list item. Parley's
    output fields keep no per-instance state (no context, hyperlinks or request-dependent
    fields), so one set, bound to a blank instance, serves them all. A serializer given
    ``data=`` (input) builds its own, as DRF does. Not for a serializer that validates input
    without ``data=`` of its own (the child of a ``many=True`` input, a writable nested one):
    none of Parley's does.
    """

    @property
    def fields(self) -> Any:
        if hasattr(self, "initial_data"):
            fields = self.__dict__.get("_input_fields")
            if fields is None:
                fields = self.__dict__["_input_fields"] = _build_fields(self)
            return fields
        cls = type(self)
        fields = cls.__dict__.get("_output_fields")
        if fields is None:
            # Two threads may both build it the first time; either result is the same.
            fields = _build_fields(cls())
            cls._output_fields = fields  # type: ignore[attr-defined]
        return fields
