"""Build the package's SKU data from Microsoft's "Product names and service plan identifiers" CSV.

    python scripts/extract_sku_catalog.py [path/to/product-names-and-service-plan-identifiers.csv]

Writes two files into commcredits/data/ (public reference data, committed with the package):
- skus.csv: every product (skuId, skuPartNumber, display name), so imports can tell a real skuId from a typo;
- sku_service_plans.csv: every service plan that grants a calling capability or Microsoft Teams itself, for
  every product that carries one (Teams Phone, Calling Plans, Audio Conferencing, Communication Credits,
  resource accounts, TEAMS1 ...). A product missing there grants none of them: that is how "(no Teams)"
  suites are told apart.
The source file is UTF-8 with a BOM, repeats rows and has stray spaces (even no-break spaces) in String_Id:
we strip every field, lowercase GUIDs and key on the product GUID. A plan whose name looks like telephony but
is neither classified nor known to grant nothing stops the script: classify it in catalog.py first.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SOURCE = ROOT.parent / "shared" / "reference" / "product-names-and-service-plan-identifiers.csv"
OUT_DIR = ROOT / "commcredits" / "data"

sys.path.insert(0, str(ROOT))
from commcredits.licensing.catalog import (  # noqa: E402  (one classification of service plans)
    NOT_CALLING_PLANS,
    SERVICE_PLAN_CAPABILITIES,
    looks_like_telephony,
)


class UnclassifiedPlans(ValueError):
    """The reference names telephony-looking service plans the catalog does not classify yet."""


def _clean(value: str) -> str:
    return value.strip()  # str.strip also removes the no-break spaces the file carries


def read_rows(source: Path) -> list[dict[str, str]]:
    with source.open(encoding="utf-8-sig", newline="") as f:
        return [{k.strip(): _clean(v or "") for k, v in row.items()} for row in csv.DictReader(f)]


def build(rows: list[dict[str, str]]) -> tuple[list[tuple], list[tuple]]:
    """(skus, sku_service_plans) rows, sorted and without duplicates. Raises UnclassifiedPlans."""
    unknown = sorted(
        {r["Service_Plan_Name"] for r in rows if looks_like_telephony(r["Service_Plan_Name"])}
        - set(SERVICE_PLAN_CAPABILITIES)
        - NOT_CALLING_PLANS
    )
    if unknown:
        raise UnclassifiedPlans(
            "classify these service plans in commcredits/licensing/catalog.py: " + ", ".join(unknown)
        )
    skus: dict[str, tuple] = {}
    for r in rows:
        skus.setdefault(r["GUID"].lower(), (r["GUID"].lower(), r["String_Id"], r["Product_Display_Name"]))
    plans = {
        (*skus[r["GUID"].lower()], r["Service_Plan_Id"].lower(), r["Service_Plan_Name"])
        for r in rows
        if r["Service_Plan_Name"] in SERVICE_PLAN_CAPABILITIES
    }
    return sorted(skus.values(), key=lambda s: (s[1].lower(), s[0])), sorted(
        plans, key=lambda p: (p[1].lower(), p[0], p[4])
    )


def write(path: Path, header: list[str], rows: list[tuple]) -> None:
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def main(argv: list[str]) -> None:
    source = Path(argv[1]) if len(argv) > 1 else DEFAULT_SOURCE
    skus, plans = build(read_rows(source))
    write(OUT_DIR / "skus.csv", ["sku_id", "sku_part_number", "product_name"], skus)
    write(
        OUT_DIR / "sku_service_plans.csv",
        ["sku_id", "sku_part_number", "product_name", "service_plan_id", "service_plan_name"],
        plans,
    )
    print(f"{len(skus)} products -> skus.csv; {len(plans)} rows -> sku_service_plans.csv")


if __name__ == "__main__":
    main(sys.argv)
