"""A compiled reading of a lenient contract, for the consumer's hot path (parse_message).

marshmallow's ``Schema.load`` spends most of its time on machinery around each field (error
stores, getters, hooks, partial loading): about 250 µs for an application.submitted. This
module walks a schema once and builds plain functions that do, per field, what marshmallow does
for valid data: the same type checks, the field's own validators (Length, OneOf, Email, URL...),
``load_default`` for a missing optional field, ``allow_none``; unknown keys are left out
(``unknown=EXCLUDE``, what consumers read with).

It never decides that data is invalid: anything it is not sure of (a value of another type than
JSON gives for the field, a failing validator, a missing required field) raises ``Unsure``,
and the caller loads the data with marshmallow, which returns the same result or raises its
own ValidationError with its messages. So it can only accept what marshmallow accepts, with the
same result (tests/shared/test_contracts.py compares the two on every contract). Schemas with
hooks (``validates_schema``, ``pre_load``...), renamed keys or fields it does not know are not
compiled (``compile_schema`` returns None): marshmallow reads those.
"""
from __future__ import annotations

import uuid
from typing import Any, Callable

from marshmallow import EXCLUDE, Schema, ValidationError, fields
from marshmallow.utils import missing


class Unsure(Exception):
    """The compiled reading cannot vouch for this data: let marshmallow read it."""


class NotCompilable(Exception):
    pass


Loader = Callable[[Any, dict], Any]  # (value, the enclosing data) -> the loaded value


def compile_schema(schema: Schema) -> Callable[[Any], dict] | None:
    """A function reading data as ``schema.load`` does for valid data (raising Unsure for
    anything else), or None if the schema has what this module does not do."""
    try:
        return _schema_loader(schema)
    except NotCompilable:
        return None


def _schema_loader(schema: Schema) -> Callable[[Any], dict]:
    if schema.many or schema.unknown != EXCLUDE or any(schema._hooks.values()) or schema.dict_class is not dict:
        raise NotCompilable(type(schema).__name__)
    steps = []
    for name, field in schema.load_fields.items():
        if field.attribute is not None or "." in name:
            raise NotCompilable(name)
        key = field.data_key if field.data_key is not None else name
        steps.append((key, name, field.required, field.load_default, _field_loader(field)))

    def load(data):
        if type(data) is not dict:
            raise Unsure
        out = {}
        for key, name, required, default, loader in steps:
            value = data.get(key, missing)
            if value is missing:
                if required:
                    raise Unsure
                if default is missing:
                    continue
                out[name] = default() if callable(default) else default
            else:
                out[name] = loader(value, data)
        return out
    return load


def _field_loader(field: fields.Field) -> Loader:
    """The loader of a present value: None as ``allow_none`` says, the conversion, validators."""
    if field.pre_load or field.post_load:
        raise NotCompilable(field.name)
    convert = _converter(field)
    validators = tuple(field.validators)
    allow_none = field.allow_none

    def load(value, data):
        if value is None:
            if allow_none:
                return None
            raise Unsure
        out = convert(value, data)
        for validator in validators:
            try:
                if validator(out) is False:
                    raise Unsure
            except ValidationError:
                raise Unsure from None
        return out
    return load


def _exactly(kind: type) -> Loader:
    def convert(value, _data):
        if type(value) is not kind:
            raise Unsure
        return value
    return convert


def _uuid(value, _data):
    if type(value) is not str:
        raise Unsure
    try:
        return uuid.UUID(value)
    except ValueError:
        raise Unsure from None


def _converter(field: fields.Field) -> Loader:
    kind = type(field)
    if kind in (fields.String, fields.Email, fields.Url):  # Email and Url: their check is a validator
        return _exactly(str)
    if kind is fields.Integer:  # JSON gives int; bool is refused by marshmallow too
        return _exactly(int)
    if kind is fields.Boolean:
        return _exactly(bool)
    if kind is fields.UUID:
        return _uuid
    if kind is fields.Nested:
        return _nested(field)
    if kind is fields.List:
        inner = _field_loader(field.inner)

        def convert_list(value, data):
            if type(value) is not list:
                raise Unsure
            return [inner(each, data) for each in value]
        return convert_list
    if kind is fields.Dict:
        return _mapping(field)
    if kind in (fields.AwareDateTime, fields.DateTime, fields.NaiveDateTime, fields.Date, fields.Float):
        return _marshmallows_own(field)
    raise NotCompilable(f"{field.name}: {kind.__name__}")


def _nested(field: fields.Nested) -> Loader:
    schema = field.schema
    if field.many or getattr(field, "unknown", None) not in (None, EXCLUDE) or getattr(field, "partial", None) is not None:
        raise NotCompilable(field.name)
    load = _schema_loader(schema)
    return lambda value, _data: load(value)


def _mapping(field: fields.Dict) -> Loader:
    keys = _field_loader(field.key_field) if field.key_field is not None else None
    values = _field_loader(field.value_field) if field.value_field is not None else None

    def convert(value, data):
        if type(value) is not dict:
            raise Unsure
        if keys is None and values is None:
            return dict(value)
        return {(keys(k, data) if keys else k): (values(v, data) if values else v) for k, v in value.items()}
    return convert


def _marshmallows_own(field: fields.Field) -> Loader:
    """A leaf whose parsing is marshmallow's own (dates and times, floats): its _deserialize, the
    validators run by the caller."""
    def convert(value, data):
        try:
            return field._deserialize(value, field.name, data)
        except ValidationError:
            raise Unsure from None
    return convert
