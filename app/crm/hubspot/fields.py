"""Creating our property group and the six contact properties in a portal,
idempotently: what exists is left alone, what is missing is created, and a 409
(a concurrent install created it first) counts as existing."""

from hubspot.crm.properties import OptionInput, PropertyCreate, PropertyGroupCreate

from app.crm.base import FieldSetup
from app.crm.hubspot import errors, paths
from app.crm.hubspot.properties import (
    CONTURS_PROPERTIES,
    FIELD_CODES,
    GROUP_LABEL,
    GROUP_NAME,
    ContursProperty,
)
from app.crm.hubspot.sdk import AccountApis


def ensure_fields(apis: AccountApis) -> FieldSetup:
    """The `conturs` group and our properties, created where missing."""
    groups, _ = apis.call("properties_groups", "get_all", paths.CONTACTS)
    if GROUP_NAME not in {group.name for group in groups.results or []}:
        _create(
            apis,
            "properties_groups",
            property_group_create=PropertyGroupCreate(
                name=GROUP_NAME, label=GROUP_LABEL, display_order=-1
            ),
        )
    found, _ = apis.call("properties_core", "get_all", paths.CONTACTS, archived=False)
    present = {prop.name for prop in found.results or []}
    created: list[str] = []
    existing: list[str] = []
    for order, prop in enumerate(CONTURS_PROPERTIES):
        if prop.name in present:
            existing.append(prop.name)
        elif _create(
            apis, "properties_core", property_create=_create_body(prop, order)
        ):
            created.append(prop.name)
        else:
            existing.append(prop.name)
    return FieldSetup(created=created, existing=existing, codes=dict(FIELD_CODES))


def _create(apis: AccountApis, api: str, **body: object) -> bool:
    """Create a group or property; False when it turned out to exist already."""
    try:
        apis.call(api, "create", paths.CONTACTS, **body)
    except errors.AlreadyExists:
        return False
    return True


def _create_body(prop: ContursProperty, order: int) -> PropertyCreate:
    return PropertyCreate(
        name=prop.name,
        label=prop.label,
        type=prop.type,
        field_type=prop.field_type,
        group_name=GROUP_NAME,
        description=prop.description,
        display_order=order,
        form_field=False,
        options=[
            OptionInput(
                value=value,
                label=label,
                description=description,
                display_order=index,
                hidden=False,
            )
            for index, (value, label, description) in enumerate(prop.options)
        ],
    )
