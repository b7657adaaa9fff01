"""Value checks of `HubSpotStore`: properties must exist and be writable, values
must fit their types, deal stages must belong to a pipeline, and contacts are
found by email case-insensitively, as HubSpot does."""

from typing import Any

from app.sandbox.hubspot.model import Account, Record, ValidationFailed
from app.sandbox.hubspot.values import InvalidValue, normalize


class ValidationMixin:
    """Validation methods of `HubSpotStore`."""

    def validate(
        self, account: Account, otype: str, values: dict[str, Any], trusted: bool
    ) -> dict[str, str]:
        """Normalise values; raise ValidationFailed listing every bad one."""
        if not isinstance(values, dict):
            raise ValidationFailed(
                [
                    InvalidValue(
                        "properties", "INVALID_INPUT", "properties must be an object"
                    )
                ]
            )
        problems, clean = [], {}
        for name, value in values.items():
            definition = account.properties[otype].get(name)
            if definition is None or definition["archived"]:
                problems.append(
                    InvalidValue(
                        name,
                        "PROPERTY_DOESNT_EXIST",
                        f'Property "{name}" does not exist',
                    )
                )
                continue
            if definition["modificationMetadata"]["readOnlyValue"] and not trusted:
                problems.append(
                    InvalidValue(
                        name,
                        "READ_ONLY_VALUE",
                        f'"{name}" is a read only property; its value cannot be set.',
                    )
                )
                continue
            try:
                clean[name] = normalize(definition, value)
            except InvalidValue as problem:
                problems.append(problem)
        if otype == "deals":
            self._check_stage(account, clean, problems)
        if clean.get("associatedcompanyid"):
            self._check_company(account, clean["associatedcompanyid"], problems)
        if problems:
            raise ValidationFailed(problems)
        return clean

    def _check_stage(self, account: Account, clean: dict, problems: list) -> None:
        stage = clean.get("dealstage")
        if stage and account.pipeline_of_stage(stage) is None:
            problems.append(
                InvalidValue(
                    "dealstage",
                    "INVALID_OPTION",
                    f"{stage} was not one of the allowed "
                    "options: the stages of the deal's pipeline",
                )
            )

    def _check_company(self, account: Account, company_id: str, problems: list) -> None:
        # [guess] HubSpot's answer to a primary company that does not exist is
        # unpublished; refusing it is the stricter choice.
        company = account.objects["companies"].get(company_id)
        if company is None or company.archived:
            problems.append(
                InvalidValue(
                    "associatedcompanyid",
                    "INVALID_OBJECT_ID",
                    f"{company_id} is not the id of an existing company.",
                )
            )

    def find_by_email(self, account: Account, email: str) -> Record | None:
        """The live contact with this email (case-insensitive)."""
        record_id = account.emails.get(str(email).lower())
        if record_id is None:
            return None
        record = account.objects["contacts"].get(record_id)
        return None if record is None or record.archived else record
