"""JSON Schema for schemas that users write: no I/O, and regular expressions that run in linear time.

A user's schema is JSON Schema draft 2020-12. Two things in the standard library of jsonschema are unsafe with
input from users, and both are closed here, as one validator class and one save-time check:

- References. jsonschema's default registry retrieves unknown `$ref` URIs over the network (and from `file:`).
  Here a schema's registry holds only the schema itself and the standard meta-schemas, and retrieves nothing, so
  a reference can only point inside the document (`#/$defs/name`, an anchor, an embedded `$id`). `check` resolves
  every `$ref` / `$dynamicRef` at save time and refuses any other with a message naming it.
- Regular expressions. `pattern`, `patternProperties` (and `additionalProperties` / `unevaluatedProperties`,
  which consult `patternProperties`) match with RE2, whose matching time is linear in the input, never with
  Python's backtracking `re`. `check` refuses patterns RE2 cannot compile (backreferences, lookaround) at save
  time.
"""

from collections.abc import Iterator
from functools import lru_cache

import jsonschema
import re2
import referencing
import referencing.exceptions
import referencing.jsonschema
from jsonschema import Draft202012Validator
from jsonschema._utils import extras_msg
from jsonschema.exceptions import ValidationError
from jsonschema_specifications import REGISTRY as SPECIFICATIONS

from .errors import MessageError

DIALECT = "https://json-schema.org/draft/2020-12/schema"

UNSUPPORTED_DIALECT = (
    'Unsupported "$schema" {value!r}: custom data schemas are JSON Schema draft 2020-12 ("$schema" may be '
    f"omitted or {DIALECT!r})."
)
EXTERNAL_REF = (
    "The reference {ref!r} does not resolve inside this schema: only references within the schema itself (such as "
    '"#/$defs/name") are allowed, and nothing is ever fetched.'
)
BAD_PATTERN = (
    "The regular expression {pattern!r} cannot be used: {detail}. Patterns run on RE2, a linear-time engine "
    "without backreferences or lookaround."
)


class SchemaProblem(MessageError):
    """The schema cannot be saved; `message` says why, `path` is the JSON path of the offending part if known."""

    def __init__(self, message: str, path: list | None = None) -> None:
        super().__init__(message)
        self.path = path or []


# --- regular expressions ---------------------------------------------------------------------------------------


def _re2_options() -> re2.Options:
    options = re2.Options()
    options.log_errors = False
    return options


_OPTIONS = _re2_options()


@lru_cache(maxsize=1024)
def compile_pattern(pattern: str) -> re2._Regexp:
    """The RE2 program of a pattern; raises re2.error for patterns RE2 does not support."""
    return re2.compile(pattern, _OPTIONS)


def _search(pattern: str, text: str) -> bool:
    try:
        program = compile_pattern(pattern)
    except re2.error as exc:  # a schema stored before patterns were checked at save time
        raise SchemaProblem(_bad_pattern_message(pattern, exc)) from None
    return program.search(text) is not None


def _pattern(validator, pattern, instance, schema):
    if validator.is_type(instance, "string") and not _search(pattern, instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


def _pattern_properties(validator, pattern_properties, instance, schema):
    if not validator.is_type(instance, "object"):
        return
    for pattern, subschema in pattern_properties.items():
        for key, value in instance.items():
            if _search(pattern, key):
                yield from validator.descend(value, subschema, path=key, schema_path=pattern)


def _additional(instance: dict, schema: dict) -> Iterator[str]:
    properties = schema.get("properties", {})
    patterns = list(schema.get("patternProperties", {}))
    for key in instance:
        if key not in properties and not any(_search(p, key) for p in patterns):
            yield key


def _additional_properties(validator, additional, instance, schema):
    # jsonschema's own keyword, with RE2 deciding which keys patternProperties covers.
    if not validator.is_type(instance, "object"):
        return
    extras = set(_additional(instance, schema))
    if validator.is_type(additional, "object"):
        for extra in extras:
            yield from validator.descend(instance[extra], additional, path=extra)
    elif not additional and extras:
        if "patternProperties" in schema:
            verb = "does" if len(extras) == 1 else "do"
            joined = ", ".join(repr(each) for each in sorted(extras))
            patterns = ", ".join(repr(each) for each in sorted(schema["patternProperties"]))
            yield ValidationError(f"{joined} {verb} not match any of the regexes: {patterns}")
        else:
            error = "Additional properties are not allowed (%s %s unexpected)"
            yield ValidationError(error % extras_msg(sorted(extras, key=str)))


def _is_valid(errors) -> bool:
    return next(errors, None) is None


def _evaluated_keys(validator, instance: dict, schema) -> list:
    """jsonschema's find_evaluated_property_keys_by_schema (draft 2020-12), with RE2 for patternProperties."""
    if validator.is_type(schema, "boolean"):
        return []
    keys: list = []
    for keyword in ("$ref", "$dynamicRef"):
        ref = schema.get(keyword)
        if ref is not None:
            resolved = validator._resolver.lookup(ref)
            evolved = validator.evolve(schema=resolved.contents, _resolver=resolved.resolver)
            keys.extend(_evaluated_keys(evolved, instance, resolved.contents))
    properties = schema.get("properties")
    if validator.is_type(properties, "object"):
        keys += properties.keys() & instance.keys()
    for keyword in ("additionalProperties", "unevaluatedProperties"):
        if (subschema := schema.get(keyword)) is not None:
            keys += (key for key, value in instance.items() if _is_valid(validator.descend(value, subschema)))
    for pattern in schema.get("patternProperties", {}):
        keys += (key for key in instance if _search(pattern, key))
    for key, subschema in schema.get("dependentSchemas", {}).items():
        if key in instance:
            keys += _evaluated_keys(validator, instance, subschema)
    for keyword in ("allOf", "oneOf", "anyOf"):
        for subschema in schema.get(keyword, []):
            if _is_valid(validator.descend(instance, subschema)):
                keys += _evaluated_keys(validator, instance, subschema)
    if "if" in schema:
        if _is_valid(validator.descend(instance, schema["if"])):
            keys += _evaluated_keys(validator, instance, schema["if"])
            if "then" in schema:
                keys += _evaluated_keys(validator, instance, schema["then"])
        elif "else" in schema:
            keys += _evaluated_keys(validator, instance, schema["else"])
    return keys


def _unevaluated_properties(validator, unevaluated, instance, schema):
    if not validator.is_type(instance, "object"):
        return
    evaluated = _evaluated_keys(validator, instance, schema)
    failed = [
        key
        for key in instance
        if key not in evaluated
        and not _is_valid(validator.descend(instance[key], unevaluated, path=key, schema_path=key))
    ]
    if failed:
        if unevaluated is False:
            error = "Unevaluated properties are not allowed (%s %s unexpected)"
            yield ValidationError(error % extras_msg(sorted(failed, key=str)))
        else:
            error = "Unevaluated properties are not valid under the given schema (%s %s unevaluated and invalid)"
            yield ValidationError(error % extras_msg(failed))


SafeValidator = jsonschema.validators.extend(
    Draft202012Validator,
    {
        "pattern": _pattern,
        "patternProperties": _pattern_properties,
        "additionalProperties": _additional_properties,
        "unevaluatedProperties": _unevaluated_properties,
    },
)


# --- references --------------------------------------------------------------------------------------------------

# The standard meta-schemas and nothing else, with referencing's default retrieval, which fetches nothing: a URI
# that is neither in the schema nor a meta-schema is unresolvable.
_NO_RETRIEVAL: referencing.Registry = SPECIFICATIONS


def validator(schema: dict) -> jsonschema.protocols.Validator:
    """A validator for a user's schema (with the date-time etc. format checker); resolves nothing outside it."""
    return SafeValidator(schema, registry=_NO_RETRIEVAL, format_checker=SafeValidator.FORMAT_CHECKER)


def _walk(resolver: referencing._core.Resolver, resource: referencing.Resource) -> Iterator[tuple]:
    """(resolver at this subschema, subschema) for the schema and every subschema, via the dialect's keywords
    (so a `"$ref"` inside `const`, `default` or `examples` data is not taken for a reference)."""
    stack = [(resolver, resource)]
    while stack:
        resolver, resource = stack.pop()
        yield resolver, resource.contents
        for sub in resource.subresources():
            stack.append((resolver.in_subresource(sub), sub))


def check(schema: dict) -> None:
    """Refuse, with a SchemaProblem, another dialect, a reference that does not resolve inside the schema and a
    pattern RE2 cannot run. Call it on a schema that SafeValidator.check_schema accepted."""
    check_dialect(schema)
    root = referencing.jsonschema.DRAFT202012.create_resource(schema)
    resolver = _NO_RETRIEVAL.resolver_with_root(root)
    for here, contents in _walk(resolver, root):
        if not isinstance(contents, dict):
            continue
        for keyword in ("$ref", "$dynamicRef"):
            ref = contents.get(keyword)
            if isinstance(ref, str):
                try:
                    here.lookup(ref)
                except referencing.exceptions.Unresolvable:
                    raise SchemaProblem(EXTERNAL_REF.format(ref=ref)) from None
        patterns = [contents["pattern"]] if isinstance(contents.get("pattern"), str) else []
        if isinstance(contents.get("patternProperties"), dict):
            patterns += list(contents["patternProperties"])
        for pattern in patterns:
            _check_pattern(pattern)


def check_dialect(schema: dict) -> None:
    """A SchemaProblem unless the schema is draft 2020-12 (or says nothing): SafeValidator applies no other."""
    dialect = schema.get("$schema") if isinstance(schema, dict) else None
    if dialect is not None and (not isinstance(dialect, str) or dialect.rstrip("#") != DIALECT):
        raise SchemaProblem(UNSUPPORTED_DIALECT.format(value=dialect), ["$schema"])


def _check_pattern(pattern: str) -> None:
    try:
        compile_pattern(pattern)
    except re2.error as exc:
        raise SchemaProblem(_bad_pattern_message(pattern, exc)) from None


def _bad_pattern_message(pattern: str, exc: re2.error) -> str:
    detail = exc.args[0].decode("utf-8", "replace") if exc.args and isinstance(exc.args[0], bytes) else str(exc)
    return BAD_PATTERN.format(pattern=pattern, detail=detail)

