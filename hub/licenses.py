"""License ids -> license classes, and how restrictive each class is.

The classes follow what a user must do to ship the model: permissive (attribution at most), copyleft (share
alike), responsible-AI use restrictions (the OpenRAIL family), custom/community terms written by one vendor
(Llama, Gemma, ...), non-commercial, and unknown (no license, `unknown`, or `other` with nothing to read).
"""

from __future__ import annotations

PERMISSIVE = "permissive"
COPYLEFT = "copyleft"
RESPONSIBLE_AI = "responsible-ai"
CUSTOM = "custom"
NON_COMMERCIAL = "non-commercial"
UNKNOWN = "unknown"

LICENSE_CLASSES = (PERMISSIVE, COPYLEFT, RESPONSIBLE_AI, CUSTOM, NON_COMMERCIAL, UNKNOWN)

# Higher = fewer obligations. A derivative whose class ranks above its base's claims more freedom than the
# base granted it, which is the mismatch the license-consistency check reports.
FREEDOM_RANK = {NON_COMMERCIAL: 0, CUSTOM: 1, RESPONSIBLE_AI: 2, COPYLEFT: 3, PERMISSIVE: 4}

_BY_ID = {
    PERMISSIVE: (
        "apache-2.0 mit bsd bsd-2-clause bsd-3-clause bsd-3-clause-clear isc unlicense cc0-1.0 cc-by-2.0 "
        "cc-by-2.5 cc-by-3.0 cc-by-4.0 afl-3.0 bsl-1.0 zlib wtfpl pddl odc-by artistic-2.0 ecl-2.0 ms-pl "
        "postgresql ncsa openrail-permissive apple-ascl"
    ),
    COPYLEFT: (
        "gpl gpl-2.0 gpl-3.0 lgpl lgpl-2.1 lgpl-3.0 lgpl-lr agpl-3.0 mpl-2.0 epl-1.0 epl-2.0 eupl-1.1 eupl-1.2 "
        "cc-by-sa-3.0 cc-by-sa-4.0 gfdl osl-3.0 odbl cdla-sharing-1.0 lppl-1.3c"
    ),
    RESPONSIBLE_AI: (
        "openrail openrail++ creativeml-openrail-m bigscience-openrail-m bigscience-bloom-rail-1.0 bigcode-openrail-m"
    ),
    CUSTOM: "llama2 llama3 llama3.1 llama3.2 llama3.3 llama4 gemma c-uda cdla-permissive-1.0 cdla-permissive-2.0",
    NON_COMMERCIAL: (
        "cc-by-nc-2.0 cc-by-nc-3.0 cc-by-nc-4.0 cc-by-nc-nd-3.0 cc-by-nc-nd-4.0 cc-by-nc-sa-2.0 cc-by-nc-sa-3.0 "
        "cc-by-nc-sa-4.0 cc-by-nd-4.0 fair-noncommercial-research-license "
        # Research-only vendor terms: no commercial use at all.
        "deepfloyd-if-license intel-research apple-amlr h-research"
    ),
}
CLASS_OF_ID = {lid: cls for cls, ids in _BY_ID.items() for lid in ids.split()}


def classify_license(license_id: str | None, license_name: str | None = None) -> str:
    """Return the license class of a Hub license id.

    `other` is common on the Hub: the real terms live in `license_name` / `license_link`. A named custom
    license is `custom`, unless its name says it forbids commercial use.
    """
    if not license_id:
        return UNKNOWN
    lid = license_id.strip().lower()
    if lid in CLASS_OF_ID:
        return CLASS_OF_ID[lid]
    if lid.startswith(("cc-by-nc", "cc-by-nd")) or "noncommercial" in lid or "non-commercial" in lid:
        return NON_COMMERCIAL
    if lid.startswith(("llama", "gemma")):
        return CUSTOM
    if "openrail" in lid or lid.endswith("-rail-1.0"):
        return RESPONSIBLE_AI
    if lid == "other":
        name = (license_name or "").lower()
        if not name or name in ("other", "license", "unknown"):
            return UNKNOWN
        if any(word in name for word in ("non-commercial", "noncommercial", "research", "nc-")):
            return NON_COMMERCIAL
        return CUSTOM
    return UNKNOWN


# ------------------------------------------------------------------------------------------ commercial use
# Whether the license lets a business use the model, from the license id and its class alone (the same two
# values the store keeps as columns, so search filters and score cards agree):
#   yes                  permissive: attribution at most;
#   yes-with-conditions  copyleft (share alike), the OpenRAIL family (use restrictions), CC BY-ND (no
#                        derivatives), and vendor terms known to allow it (Llama: 700M monthly users, acceptable
#                        use policy; Gemma: prohibited use policy; CDLA-Permissive: data terms);
#   no                   non-commercial and research-only terms;
#   unknown              no license, `unknown`, or vendor terms (`other`) whose text whichmodel cannot read.
# A derivative whose base has a stricter class takes the base's answer (`commercial_of_class`).
COMMERCIAL_YES = "yes"
COMMERCIAL_CONDITIONS = "yes-with-conditions"
COMMERCIAL_NO = "no"
COMMERCIAL_UNKNOWN = "unknown"
COMMERCIAL_VALUES = (COMMERCIAL_YES, COMMERCIAL_CONDITIONS, COMMERCIAL_NO, COMMERCIAL_UNKNOWN)
# Vendor (custom) license ids, and id prefixes, whose terms allow commercial use under conditions.
COMMERCIAL_CUSTOM_IDS = ("cdla-permissive-1.0", "cdla-permissive-2.0")
COMMERCIAL_CUSTOM_PREFIXES = ("llama", "gemma")
# Non-commercial-class ids that do allow commercial use: CC BY-ND forbids sharing derivatives, not business use.
COMMERCIAL_NO_DERIVATIVES_PREFIX = "cc-by-nd"
_CLASS_COMMERCIAL = {PERMISSIVE: COMMERCIAL_YES, COPYLEFT: COMMERCIAL_CONDITIONS, RESPONSIBLE_AI: COMMERCIAL_CONDITIONS,
                     CUSTOM: COMMERCIAL_CONDITIONS, NON_COMMERCIAL: COMMERCIAL_NO}  # fmt: skip
_CONDITIONS = {
    COPYLEFT: "share alike: derivatives you distribute must carry the same license",
    RESPONSIBLE_AI: "use-based restrictions (OpenRAIL): the listed harmful uses are forbidden, also downstream",
    "llama": "Meta's community license: over 700M monthly active users need Meta's permission; acceptable use "
    "policy; attribution",
    "gemma": "Gemma terms of use: prohibited use policy, passed on to downstream users",
    COMMERCIAL_NO_DERIVATIVES_PREFIX: "no derivatives: the model may be used but modified versions not shared",
    "cdla": "CDLA-Permissive data terms: attribution, no restriction on results",
}


def commercial_use(license_id: str | None, license_class: str | None) -> str:
    """Whether a declared license allows commercial use: yes, yes-with-conditions, no or unknown."""
    lid = (license_id or "").strip().lower()
    if license_class == NON_COMMERCIAL:
        return COMMERCIAL_CONDITIONS if lid.startswith(COMMERCIAL_NO_DERIVATIVES_PREFIX) else COMMERCIAL_NO
    if license_class == CUSTOM:
        known = lid in COMMERCIAL_CUSTOM_IDS or lid.startswith(COMMERCIAL_CUSTOM_PREFIXES)
        return COMMERCIAL_CONDITIONS if known else COMMERCIAL_UNKNOWN
    return _CLASS_COMMERCIAL.get(license_class or "", COMMERCIAL_UNKNOWN)


def commercial_of_class(license_class: str | None) -> str:
    """The answer a base model's (stricter) class imposes on a derivative: vendor terms at least add conditions."""
    return _CLASS_COMMERCIAL.get(license_class or "", COMMERCIAL_UNKNOWN)


def commercial_effective(license_id: str | None, declared_class: str | None, effective_class: str | None) -> str:
    """The answer for a model: its own license's, unless a base's stricter class (the effective one) decides."""
    if effective_class and declared_class and effective_class != declared_class:
        return commercial_of_class(effective_class)
    return commercial_use(license_id, declared_class)


def commercial_conditions(license_id: str | None, license_class: str | None) -> str | None:
    """In words, the conditions under which a license allows commercial use (None when none, or not allowed)."""
    if commercial_use(license_id, license_class) != COMMERCIAL_CONDITIONS:
        return None
    lid = (license_id or "").strip().lower()
    for key, text in _CONDITIONS.items():
        if lid.startswith(key):
            return text
    return _CONDITIONS.get(license_class or "", "vendor terms: read them before shipping")


def is_looser(derivative_class: str, base_class: str) -> bool | None:
    """Whether a derivative's license class grants more than its base's; None when either is unknown."""
    if derivative_class not in FREEDOM_RANK or base_class not in FREEDOM_RANK:
        return None
    return FREEDOM_RANK[derivative_class] > FREEDOM_RANK[base_class]
