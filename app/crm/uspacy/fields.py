"""Creating our six fields on a portal's leads and contacts, idempotently: what
exists is left alone, what is missing is created, and the code Uspacy returns is
the one kept. A field counts as existing when it has our code or one of our
names (a server that renamed the code is not asked for a second field); a
duplicate-code refusal (a concurrent setup created it first) is read as
existing once the field is seen."""

from collections.abc import Mapping
from typing import Any

from app.crm.base import FieldSetup
from app.crm.uspacy import contract, errors
from app.crm.uspacy.field_specs import (
    FIELD_SPECS,
    SCORED_TYPES,
    FieldSpec,
    label_options,
)
from app.crm.uspacy.portal import PortalApi

# Object type -> our field key -> the portal's field code.
FieldCodes = dict[str, dict[str, str]]
SORT_BASE = 1000


def ensure_fields(api: PortalApi, language: str) -> tuple[FieldSetup, FieldCodes]:
    """Our fields on leads and contacts, created where missing; the setup (for
    the services) and every type's codes (for the adapter's reads and writes)."""
    created: list[str] = []
    existing: list[str] = []
    codes: FieldCodes = {}
    for kind in SCORED_TYPES:
        present = _fields(api, kind)
        codes[kind] = {}
        for order, spec in enumerate(FIELD_SPECS):
            found = _matching(present, spec)
            if found is None:
                found, made = _create(api, kind, spec, order, language)
            else:
                made = False
            codes[kind][spec.key] = found
            (created if made else existing).append(f"{kind}.{found}")
    return FieldSetup(created=created, existing=existing, codes=flat(codes)), codes


def flat(codes: FieldCodes) -> dict[str, str]:
    """One code per field key where every type has the same code (as when the
    server keeps the codes we ask for); a key whose code differs by type is
    given per type instead, as `leads.score` and `contacts.score`."""
    keys = {key for per_type in codes.values() for key in per_type}
    out: dict[str, str] = {}
    for spec in FIELD_SPECS:
        if spec.key not in keys:
            continue
        seen = {kind: per_type.get(spec.key) for kind, per_type in codes.items()}
        if len(set(seen.values())) == 1:
            out[spec.key] = next(iter(seen.values())) or spec.code
        else:
            out.update({f"{kind}.{spec.key}": c for kind, c in seen.items() if c})
    return out


def _fields(api: PortalApi, kind: str) -> list[dict[str, Any]]:
    answer = api.call("GET", contract.FIELDS_PATH.format(kind=kind))
    rows = answer.get(contract.WRAPPER_KEY) if isinstance(answer, dict) else answer
    return [row for row in rows or [] if isinstance(row, dict)]


def _matching(present: list[dict[str, Any]], spec: FieldSpec) -> str | None:
    """The code of the portal's field that is ours for `spec`, if any."""
    names = set(spec.names.values())
    for row in present:
        if row.get("code") == spec.code:
            return spec.code
    for row in present:
        code = row.get("code")
        if isinstance(code, str) and code and row.get("name") in names:
            if not row.get("system_field"):
                return code
    return None


def _create(
    api: PortalApi, kind: str, spec: FieldSpec, order: int, language: str
) -> tuple[str, bool]:
    """Create the field; (its code, True), or (the code found, False) when a
    concurrent setup created it first."""
    try:
        answer = api.call(
            "POST",
            contract.FIELDS_PATH.format(kind=kind),
            body=create_body(spec, order, language),
        )
    except errors.Invalid as refused:
        if contract.DUPLICATE_CODE_KEY not in refused.keys:
            raise
        found = _matching(_fields(api, kind), spec)
        if found is None:
            raise
        return found, False
    return _returned_code(answer, spec), True


def create_body(spec: FieldSpec, order: int, language: str) -> dict[str, Any]:
    """The field as Uspacy's create call takes it."""
    body: dict[str, Any] = {
        "name": spec.name(language),
        "code": spec.code,
        "type": spec.type,
        **contract.FIELD_FLAGS,
        "sort": SORT_BASE + order,
    }
    if spec.type == "list":
        body["values"] = label_options(language)
    return body


def _returned_code(answer: Any, spec: FieldSpec) -> str:
    """The code in the create answer (wrapped or not); ours if it names none."""
    field: Mapping[str, Any] | None = answer if isinstance(answer, dict) else None
    if field is not None and isinstance(field.get(contract.WRAPPER_KEY), dict):
        field = field[contract.WRAPPER_KEY]
    code = field.get("code") if field is not None else None
    return code if isinstance(code, str) and code else spec.code
