"""Our six fields on Uspacy leads and contacts, as data: the code we ask for,
the field type, names in English and Ukrainian, and the options of the label
list. Salespeople see these names on lead and contact cards, in list columns and
filters, so they speak to them.

A portal gets one language (Uspacy takes one `name` per field); the other
language's name still identifies the field, so changing a portal's language
never creates a second field.
"""

from dataclasses import dataclass

LANGUAGES = ("uk", "en")
DEFAULT_LANGUAGE = "uk"
# Option `value`s are what we write and read; titles are what people see.
LABEL_VALUES = {"Hot": "hot", "Warm": "warm", "Cool": "cool", "Cold": "cold"}
LABEL_TITLES = {
    "en": {"hot": "Hot", "warm": "Warm", "cool": "Cool", "cold": "Cold"},
    "uk": {
        "hot": "Гарячий",
        "warm": "Теплий",
        "cool": "Прохолодний",
        "cold": "Холодний",
    },
}
LABEL_COLORS = {
    "hot": "#e53935",
    "warm": "#fb8c00",
    "cool": "#29b6f6",
    "cold": "#90a4ae",
}


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """One of our fields: our key (app.crm.base.FIELD_KEYS), the code we ask
    Uspacy for, its field type, and its name per language."""

    key: str
    code: str
    type: str
    names: dict[str, str]

    def name(self, language: str) -> str:
        """The field's name in `language` (ValueError for another language)."""
        if language not in self.names:
            raise ValueError(f"field names exist in {', '.join(LANGUAGES)}")
        return self.names[language]


FIELD_SPECS: tuple[FieldSpec, ...] = (
    FieldSpec(
        "score",
        "conturs_score",
        "integer",
        {"en": "Lead score (Conturs)", "uk": "Оцінка ліда (Conturs)"},
    ),
    FieldSpec(
        "label",
        "conturs_label",
        "list",
        {"en": "Lead temperature (Conturs)", "uk": "Температура ліда (Conturs)"},
    ),
    FieldSpec(
        "top_factors",
        "conturs_top_factors",
        "string",
        {"en": "Top score factors (Conturs)", "uk": "Головні чинники оцінки (Conturs)"},
    ),
    FieldSpec(
        "explanation",
        "conturs_explanation",
        "textarea",
        {"en": "Why this score (Conturs)", "uk": "Чому така оцінка (Conturs)"},
    ),
    FieldSpec(
        "method",
        "conturs_method",
        "string",
        {"en": "Scoring method (Conturs)", "uk": "Спосіб оцінювання (Conturs)"},
    ),
    FieldSpec(
        "scored_at",
        "conturs_scored_at",
        "datetime",
        {"en": "Lead score updated (Conturs)", "uk": "Оцінку оновлено (Conturs)"},
    ),
)
# The entity types our fields live on (our `object_type`s, Uspacy's tables).
SCORED_TYPES = ("leads", "contacts")
DEFAULT_CODES: dict[str, str] = {spec.key: spec.code for spec in FIELD_SPECS}


def label_options(language: str) -> list[dict[str, object]]:
    """The label list's options, Hot first, titled in `language`."""
    titles = LABEL_TITLES[language]
    return [
        {
            "title": titles[value],
            "value": value,
            "color": LABEL_COLORS[value],
            "sort": order,
            "selected": False,
        }
        for order, value in enumerate(LABEL_VALUES.values(), start=1)
    ]
