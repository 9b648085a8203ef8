"""Files as the admin centers export them, for the file-import tests (header names as Microsoft writes them)."""

import csv
import io
import json

from commcredits.licensing.catalog import load_catalog

# Microsoft 365 admin center > Users > Active users > Export users: the header, in the export's order
ACTIVE_USERS_HEADER = [
    "Block credential",
    "City",
    "Country/Region",
    "Department",
    "DirSyncEnabled",
    "Display name",
    "Fax",
    "First name",
    "Last dirsync time",
    "Last name",
    "Last password change time stamp",
    "License assignment details",
    "Licenses",
    "Mobile Phone",
    "Oath token metadata",
    "Object Id",
    "Office",
    "Password never expires",
    "Phone number",
    "Postal code",
    "Preferred data location",
    "Preferred language",
    "Proxy addresses",
    "Release track",
    "Soft deletion time stamp",
    "State",
    "Street address",
    "Strong password required",
    "Title",
    "Usage location",
    "User principal name",
    "When created",
]

PEOPLE = [
    # display name, UPN, object id, usage location, department, licenses as the admin center writes them
    (
        "Ada Adams",
        "ada@fabrikam.com",
        "0b1c2d3e-0000-4000-8000-000000000001",
        "US",
        "Sales",
        "Microsoft 365 E5+Communications Credits",
    ),
    (
        "Ben Berg",
        "ben@fabrikam.com",
        "0b1c2d3e-0000-4000-8000-000000000002",
        "GB",
        "Support",
        "Microsoft 365 E3+Microsoft Teams Phone Standard+Microsoft Teams Domestic Calling Plan",
    ),
    (
        "Carla Costa",
        "carla@fabrikam.com",
        "0b1c2d3e-0000-4000-8000-000000000003",
        "DE",
        "Finance",
        "Office 365 E3+Microsoft 365 Audio Conferencing",
    ),
    (
        "Dev Dubois",
        "dev@fabrikam.com",
        "0b1c2d3e-0000-4000-8000-000000000004",
        "",
        "Engineering",
        "Enterprise Mobility + Security E3+Microsoft 365 E3",
    ),
    ("Elif Evans", "elif@fabrikam.com", "0b1c2d3e-0000-4000-8000-000000000005", "US", "HR", "Unlicensed"),
]


def active_users_csv(people=PEOPLE, header=ACTIVE_USERS_HEADER, edit=None) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=header, extrasaction="ignore")
    writer.writeheader()
    for name, upn, oid, location, department, licenses in people:
        row = {
            "Display name": name,
            "User principal name": upn,
            "Object Id": oid,
            "Usage location": location,
            "Department": department,
            "Licenses": licenses,
            "Block credential": "False",
            "First name": name.split()[0],
            "Last name": name.split()[-1],
            "When created": "2025-03-01 09:12:00Z",
        }
        writer.writerow(edit(row) if edit else row)
    return ("\ufeff" + out.getvalue()).encode("utf-8")  # the admin center writes UTF-8 with a BOM


def subscribed_skus_json(seats: dict[str, tuple[int, int]]) -> bytes:
    """Graph GET /subscribedSkus: {skuPartNumber: (enabled, consumed)}."""
    catalog = load_catalog()
    value = []
    for part, (enabled, consumed) in seats.items():
        product = catalog.by_part_number(part)
        value.append(
            {
                "skuId": product.sku_id,
                "skuPartNumber": product.sku_part_number,
                "appliesTo": "User",
                "capabilityStatus": "Enabled",
                "consumedUnits": consumed,
                "prepaidUnits": {"enabled": enabled, "suspended": 0, "warning": 0},
                "servicePlans": [
                    {"servicePlanId": sp.service_plan_id, "servicePlanName": sp.service_plan_name}
                    for sp in product.service_plans
                ],
            }
        )
    return json.dumps(
        {"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#subscribedSkus", "value": value}
    ).encode()


SEATS = {
    "SPE_E5": (10, 1),
    "SPE_E3": (10, 2),
    "ENTERPRISEPACK": (5, 1),
    "MCOEV": (5, 1),
    "MCOPSTN1": (5, 1),
    "MCOMEETADV": (5, 1),
    "MCOPSTNC": (10000, 1),
    "EMS": (5, 1),
}


def phone_numbers_csv(rows) -> bytes:
    """Teams admin center > Voice > Phone numbers > Export: (phone number, assigned to, number type)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["Phone number", "Assigned to", "Number type", "Usage", "Country or region", "Activation state"])
    for number, assigned, kind in rows:
        writer.writerow([number, assigned, kind, "User" if assigned else "", "United States", "Activated"])
    return out.getvalue().encode("utf-8")
