"""The benefits procedures, registered with the desk: point application, public-fund
receiving account registration, health-insurance use registration.

Each is prepared (clean: outside checks, name check) and then written only by the resident's
signed completion (commit). What is signed is exactly what is written: `transaction_entry`
returns the cleaned fields, which are the written form (hashes, last 4, name check results).
The full payment service ID, security code and account number are never kept.
"""

from madoguchi.desk import procedures as desk_procedures

from .common import NameCheckFields
from .health_insurance import HealthInsuranceForm, HealthInsuranceUse
from .point_application import PointApplication, PointApplicationForm
from .public_fund import PublicFundForm, PublicFundRegistration

POINT_APPLICATION = desk_procedures.register(PointApplication())
PUBLIC_FUND = desk_procedures.register(PublicFundRegistration())
HEALTH_INSURANCE = desk_procedures.register(HealthInsuranceUse())

__all__ = [
    "HEALTH_INSURANCE",
    "POINT_APPLICATION",
    "PUBLIC_FUND",
    "HealthInsuranceForm",
    "HealthInsuranceUse",
    "NameCheckFields",
    "PointApplication",
    "PointApplicationForm",
    "PublicFundForm",
    "PublicFundRegistration",
]
