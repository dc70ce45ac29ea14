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
    CUSTOM: (
        "llama2 llama3 llama3.1 llama3.2 llama3.3 llama4 gemma deepfloyd-if-license c-uda "
        "intel-research apple-amlr h-research cdla-permissive-1.0 cdla-permissive-2.0"
    ),
    NON_COMMERCIAL: (
        "cc-by-nc-2.0 cc-by-nc-3.0 cc-by-nc-4.0 cc-by-nc-nd-3.0 cc-by-nc-nd-4.0 cc-by-nc-sa-2.0 cc-by-nc-sa-3.0 "
        "cc-by-nc-sa-4.0 cc-by-nd-4.0 fair-noncommercial-research-license"
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


def is_looser(derivative_class: str, base_class: str) -> bool | None:
    """Whether a derivative's license class grants more than its base's; None when either is unknown."""
    if derivative_class not in FREEDOM_RANK or base_class not in FREEDOM_RANK:
        return None
    return FREEDOM_RANK[derivative_class] > FREEDOM_RANK[base_class]
