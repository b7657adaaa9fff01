"""Our contact properties in HubSpot, as data: the `conturs` group and the six
properties the score is written to. Salespeople meet them in contact records,
lists, views, reports and workflows, so labels and descriptions speak to them;
the manifest and the docs list them from here.
"""

from dataclasses import dataclass

GROUP_NAME = "conturs"
GROUP_LABEL = "Conturs lead score"
# Enumeration values equal their labels: workflows, exports and the API then all
# show the same word.
LABEL_OPTIONS = ("Hot", "Warm", "Cool", "Cold")


@dataclass(frozen=True, slots=True)
class ContursProperty:
    """One custom contact property: our field `key` and HubSpot's definition."""

    key: str
    name: str
    label: str
    type: str
    field_type: str
    description: str
    options: tuple[tuple[str, str, str], ...] = ()  # (value, label, description)

    def definition(self, display_order: int) -> dict[str, object]:
        """The property as HubSpot's create call takes it (camelCase JSON)."""
        body: dict[str, object] = {
            "name": self.name,
            "label": self.label,
            "type": self.type,
            "fieldType": self.field_type,
            "groupName": GROUP_NAME,
            "description": self.description,
            "displayOrder": display_order,
            "formField": False,
        }
        if self.options:
            body["options"] = [
                {"value": v, "label": lbl, "description": d, "displayOrder": i}
                for i, (v, lbl, d) in enumerate(self.options)
            ]
        return body


CONTURS_PROPERTIES: tuple[ContursProperty, ...] = (
    ContursProperty(
        key="score",
        name="conturs_score",
        label="Lead score (Conturs)",
        type="number",
        field_type="number",
        description=(
            "How ready this contact is to buy, from 0 to 100: the higher, the "
            "sooner to follow up. Conturs updates it whenever the contact "
            "changes; 'Why this score (Conturs)' gives the reasons."
        ),
    ),
    ContursProperty(
        key="label",
        name="conturs_label",
        label="Lead temperature (Conturs)",
        type="enumeration",
        field_type="select",
        description=(
            "The lead score in one word: Hot (80–100), Warm (60–79), Cool (40–59) "
            "or Cold (0–39), unless your admin set other thresholds. Call Hot "
            "leads first."
        ),
        options=(
            ("Hot", "Hot", "Ready to talk: follow up today."),
            ("Warm", "Warm", "Interested: follow up this week."),
            ("Cool", "Cool", "Some interest: keep nurturing."),
            ("Cold", "Cold", "Little sign of interest yet."),
        ),
    ),
    ContursProperty(
        key="top_factors",
        name="conturs_top_factors",
        label="Top score factors (Conturs)",
        type="string",
        field_type="text",
        description=(
            "The few things that raised this contact's score the most, strongest "
            "first, such as lead status, job title or email engagement."
        ),
    ),
    ContursProperty(
        key="explanation",
        name="conturs_explanation",
        label="Why this score (Conturs)",
        type="string",
        field_type="textarea",
        description=(
            "The score explained in plain words: what speaks for this contact and "
            "what is missing (for example no phone number or no recent activity)."
        ),
    ),
    ContursProperty(
        key="method",
        name="conturs_method",
        label="Scoring method (Conturs)",
        type="string",
        field_type="text",
        description=(
            "Which weights produced the score: learned from your own won and lost "
            "deals, taken from similar companies, or the standard ones."
        ),
    ),
    ContursProperty(
        key="scored_at",
        name="conturs_scored_at",
        label="Lead score updated (Conturs)",
        type="datetime",
        field_type="date",
        description="When Conturs last calculated this contact's lead score.",
    ),
)

FIELD_CODES: dict[str, str] = {p.key: p.name for p in CONTURS_PROPERTIES}
CONTURS_PROPERTY_NAMES: tuple[str, ...] = tuple(p.name for p in CONTURS_PROPERTIES)
