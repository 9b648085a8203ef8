"""Build the package's SKU data from Microsoft's "Product names and service plan identifiers" CSV.

    python scripts/extract_sku_catalog.py [path/to/product-names-and-service-plan-identifiers.csv]

Writes two files into commcredits/data/ (public reference data, committed with the package):
- skus.csv: every product (skuId, skuPartNumber, display name), so imports can tell a real skuId from a typo;
- sku_service_plans.csv: the telephony-relevant service plans of every product that has one, plus the common
  bundles (E1/E3/F3, Business Basic/Standard/Premium ...) listed with an empty plan so they are known too.
The source file is UTF-8 with a BOM, repeats rows and has stray spaces (even no-break spaces) in String_Id:
we strip every field, lowercase GUIDs and key on the product GUID.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SOURCE = ROOT.parent / "shared" / "reference" / "product-names-and-service-plan-identifiers.csv"
OUT_DIR = ROOT / "commcredits" / "data"

sys.path.insert(0, str(ROOT))
from commcredits.licensing.catalog import SERVICE_PLAN_CAPABILITIES  # noqa: E402  (one list of telephony plans)

# Bundles admins meet every day that carry no telephony plan: listed so readiness can name them.
COMMON_BUNDLES = {
    "STANDARDPACK", "ENTERPRISEPACK", "SPE_E3", "SPE_E3_USGOV_DOD", "SPE_F1", "DESKLESSPACK", "SPE_F3",
    "O365_BUSINESS_ESSENTIALS", "O365_BUSINESS_PREMIUM", "SPB", "SMB_BUSINESS", "SMB_BUSINESS_ESSENTIALS",
    "SMB_BUSINESS_PREMIUM", "Microsoft_365_E3", "Microsoft_365_E3_(no_Teams)", "Office_365_E3_(no_Teams)",
    "O365_w/o_Teams_Bundle_M3", "Microsoft_Teams_Enterprise_New", "TEAMS_ESSENTIALS_AAD", "TEAMS_EXPLORATORY",
    "ENTERPRISEPACKPLUS_FACULTY", "M365EDU_A3_FACULTY", "M365EDU_A3_STUDENT", "STANDARDWOFFPACK_FACULTY",
}


def _clean(value: str) -> str:
    return value.strip()  # str.strip also removes the no-break spaces the file carries


def read_rows(source: Path) -> list[dict[str, str]]:
    with source.open(encoding="utf-8-sig", newline="") as f:
        return [{k.strip(): _clean(v or "") for k, v in row.items()} for row in csv.DictReader(f)]


def build(rows: list[dict[str, str]]) -> tuple[list[tuple], list[tuple]]:
    """(skus, sku_service_plans) rows, sorted and without duplicates."""
    skus: dict[str, tuple] = {}
    for r in rows:
        skus.setdefault(r["GUID"].lower(), (r["GUID"].lower(), r["String_Id"], r["Product_Display_Name"]))
    telephony = {name for name in SERVICE_PLAN_CAPABILITIES}
    plans: set[tuple] = set()
    for r in rows:
        if r["Service_Plan_Name"] in telephony:
            sku = skus[r["GUID"].lower()]
            plans.add((*sku, r["Service_Plan_Id"].lower(), r["Service_Plan_Name"]))
    with_plans = {p[0] for p in plans}
    for sku_id, part, name in skus.values():
        if part in COMMON_BUNDLES and sku_id not in with_plans:
            plans.add((sku_id, part, name, "", ""))
    return sorted(skus.values(), key=lambda s: (s[1].lower(), s[0])), sorted(plans, key=lambda p: (p[1].lower(), p[0], p[4]))


def write(path: Path, header: list[str], rows: list[tuple]) -> None:
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def main(argv: list[str]) -> None:
    source = Path(argv[1]) if len(argv) > 1 else DEFAULT_SOURCE
    skus, plans = build(read_rows(source))
    write(OUT_DIR / "skus.csv", ["sku_id", "sku_part_number", "product_name"], skus)
    write(OUT_DIR / "sku_service_plans.csv",
          ["sku_id", "sku_part_number", "product_name", "service_plan_id", "service_plan_name"], plans)
    print(f"{len(skus)} products -> skus.csv; {len(plans)} rows -> sku_service_plans.csv")


if __name__ == "__main__":
    main(sys.argv)
