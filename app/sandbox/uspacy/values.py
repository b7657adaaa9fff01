"""Checks of record writes against a portal's fields, as Uspacy's Laravel services
answer them: `422 {"errors": {"<code>": ["…"]}, "status": false}`.

Uspacy documents field codes and types, not its validation, so the rules are
ASSUMED and pick the stricter reading:
- an unknown code, or a read-only key (`id`, `created_at`, …), is refused;
- pipeline keys (`funnel_id`, `kanban_stage_id`, …) change only by move/stage;
- integer/user_id take JSON integers only (not "87", not 87.5, not true);
  float takes numbers; boolean takes true/false; datetime takes unix seconds;
- string-like types take strings; money takes `{currency, value}` with `value` a
  numeric string; list takes one option `value` (an array if `multiple`), label
  an array of option values; phone/email/social take `[{value, …}]`;
  entity_reference takes `{"id": n}` (an array of them if `multiple`);
- null clears a field unless it is `required`; a field with `editable: false`
  cannot be written.
Accepted list and label values are stored the way Uspacy reads them back:
`[{title, value, color, sort, selected: true}]`.
"""

from typing import Any

from app.sandbox.uspacy.catalog import PIPELINE, READ_ONLY

STRINGS = {"string", "textarea", "link", "utm", "customLink", "address"}
LOOSE = {"photo", "file", "document", "legal_details", "dateCheap"}


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _numeric_text(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        float(value)
    except ValueError:
        return False
    return True


def _items(value: Any) -> bool:
    return isinstance(value, list) and all(
        isinstance(item, dict) and isinstance(item.get("value"), str) for item in value
    )


def _reference(value: Any) -> bool:
    return isinstance(value, dict) and _is_int(value.get("id"))


def _type_problem(field: dict[str, Any], value: Any) -> str | None:
    kind, multiple = field["type"], field.get("multiple", False)
    options = {option["value"] for option in field.get("values") or []}
    code = field["code"]
    if kind in ("integer", "user_id"):
        ok = _is_int(value)
        expected = "an integer"
    elif kind == "float":
        ok = _is_int(value) or isinstance(value, float)
        expected = "a number"
    elif kind == "boolean":
        ok, expected = isinstance(value, bool), "true or false"
    elif kind == "datetime":
        ok, expected = _is_int(value) and value >= 0, "a unix time in seconds"
    elif kind in STRINGS:
        ok, expected = isinstance(value, str), "a string"
    elif kind == "money":
        ok = (
            isinstance(value, dict)
            and isinstance(value.get("currency"), str)
            and _numeric_text(value.get("value"))
        )
        expected = "{currency, value} with a numeric string value"
    elif kind in ("phone", "email", "social"):
        ok, expected = _items(value), "an array of {value}"
    elif kind in ("list", "label"):
        chosen = value if isinstance(value, list) else [value]
        ok = (isinstance(value, list) == (multiple or kind == "label")) and all(
            isinstance(v, str) and v in options for v in chosen
        )
        expected = f"one of the options {sorted(options)}"
    elif kind == "entity_reference":
        ok = (
            isinstance(value, list) and all(_reference(v) for v in value)
            if multiple
            else _reference(value)
        )
        expected = "{id}" + (" items in an array" if multiple else "")
    else:
        ok, expected = kind in LOOSE, "a value of a writable type"
    return None if ok else f"The {code} must be {expected}."


def problems(fields: dict[str, dict[str, Any]], values: dict[str, Any]) -> dict:
    """Laravel-style errors for a write, empty when it is acceptable."""
    found: dict[str, list[str]] = {}
    for code, value in values.items():
        field = fields.get(code)
        if code in READ_ONLY:
            found[code] = [f"The {code} field is read-only."]
        elif code in PIPELINE:
            found[code] = [f"The {code} field changes only by moving to a stage."]
        elif field is None:
            found[code] = [f"The field {code} does not exist."]
        elif not field.get("editable", True):
            found[code] = [f"The {code} field is not editable."]
        elif value is None or value == "" or value == []:
            if field.get("required"):
                found[code] = [f"The {code} field is required."]
        else:
            problem = _type_problem(field, value)
            if problem:
                found[code] = [problem]
    return found


def stored(fields: dict[str, dict[str, Any]], values: dict[str, Any]) -> dict:
    """Accepted values in the form Uspacy reads them back."""
    out = dict(values)
    for code, value in values.items():
        field = fields[code]
        if field["type"] in ("list", "label") and value not in (None, ""):
            chosen = value if isinstance(value, list) else [value]
            out[code] = [
                {**option, "selected": True}
                for option in field.get("values") or []
                if option["value"] in chosen
            ]
    return out


def missing_required(fields: dict[str, dict[str, Any]], values: dict) -> dict:
    """Errors for required custom fields a create leaves out."""
    return {
        code: [f"The {code} field is required."]
        for code, field in fields.items()
        if field.get("required") and values.get(code) in (None, "", [])
    }
