"""Accounts: registration, logins, codes, profiles, duty status and the nearby list (requests, with
the contract's aliases, and responses)."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AliasChoices,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainValidator,
    RootModel,
    StringConstraints,
    WithJsonSchema,
)

from api.schemas.common import DATE_FORMAT, DATE_PATTERN, Lat, Lng, Out, parse_date
from dispatch.accounts.users import AssistantFields, normalise_email, normalise_phone


class Body(BaseModel):
    # Unknown keys are ignored: the published apps send extras (user_id, ...).
    model_config = ConfigDict(extra="ignore", frozen=True)


def _not_bool(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError("Must be an integer.")
    return value


def _code(value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 10**6:
        return f"{value:06d}"  # a code sent as a JSON number, leading zeros lost
    return value


def _lower(value: Any) -> Any:
    return value.strip().lower() if isinstance(value, str) else value


_SEED_DATE = re.compile(r"[0-9]{2}:[0-9]{2}:[0-9]{2}")

_LICENSE_DATE = "Enter a date as dd:mm:yy or YYYY-MM-DD."


def parse_license_date(value: Any) -> dt.date:
    """`dd:mm:yy` (seed 000) or ISO `YYYY-MM-DD` (the API's one date parser, and its range)."""
    if isinstance(value, dt.date):
        return value
    if not isinstance(value, str):
        raise ValueError(_LICENSE_DATE)
    text = value.strip()
    if _SEED_DATE.fullmatch(text):
        try:
            return dt.datetime.strptime(text, "%d:%m:%y").date()
        except ValueError:
            raise ValueError(_LICENSE_DATE) from None
    try:
        return parse_date(text)
    except ValueError as exc:
        raise ValueError(_LICENSE_DATE if str(exc) == DATE_FORMAT else str(exc)) from None


def _future(value: dt.date) -> dt.date:
    if value <= dt.datetime.now(dt.UTC).date():
        raise ValueError("The driving licence must expire in the future.")
    return value


Email = Annotated[str, StringConstraints(max_length=320), AfterValidator(normalise_email)]

Phone = Annotated[str, StringConstraints(max_length=32), AfterValidator(normalise_phone)]

Name = Annotated[str, StringConstraints(strip_whitespace=True, max_length=150)]

Address = Annotated[str, StringConstraints(strip_whitespace=True, max_length=255)]

Password = Annotated[str, StringConstraints(min_length=8, max_length=128)]

AnyPassword = Annotated[str, StringConstraints(min_length=1, max_length=1024)]

Code = Annotated[
    str, BeforeValidator(_code), StringConstraints(strip_whitespace=True, pattern=r"^[0-9]{6}$")
]

Token = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=8192)]

ServiceType = Annotated[Literal["towing", "repair"], BeforeValidator(_lower)]

LicenseCat = Annotated[Literal["b", "c"], BeforeValidator(_lower)]

Short = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]

LicenseExpiry = Annotated[
    dt.date,
    PlainValidator(parse_license_date),
    AfterValidator(_future),
    # Not `format: date`: seed 000's dd:mm:yy is no RFC 3339 date.
    WithJsonSchema(
        {"type": "string", "pattern": f"^(?:[0-9]{{2}}:[0-9]{{2}}:[0-9]{{2}}|{DATE_PATTERN})$"}
    ),
]

RegistrationNum = Annotated[int, BeforeValidator(_not_bool), Field(gt=0, lt=10**15)]

PHONE = AliasChoices("phone_number", "phone")

SERVICE = AliasChoices("service_type", "assistance_type")

LAT = AliasChoices("lat", "latitude", "current_lat", "currentLat")

LNG = AliasChoices("lng", "longitude", "current_lng", "currentLng")

CURRENT_LAT = AliasChoices("current_lat", "currentLat", "lat", "latitude")

CURRENT_LNG = AliasChoices("current_lng", "currentLng", "lng", "longitude")

ASSISTANT_REQUIRED = (
    "service_type",
    "vehicle_type",
    "current_lat",
    "current_lng",
    "driving_license_cat",
    "driving_license_num",
    "driving_license_expiry",
    "vehicle_registration_num",
)


class RegisterBody(Body):
    phone_number: Phone = Field(validation_alias=PHONE)
    email: Email | None = None
    name: Name = ""
    password: Password
    password_confirm: str | None = None
    user_type: Annotated[Literal["client", "assistant"], BeforeValidator(_lower)] = "client"
    address: Address = ""
    service_type: ServiceType | None = Field(None, validation_alias=SERVICE)
    vehicle_type: Short | None = None
    driving_license_cat: LicenseCat | None = None
    driving_license_num: Short | None = None
    driving_license_expiry: LicenseExpiry | None = None
    vehicle_registration_num: RegistrationNum | None = None
    current_lat: Lat | None = Field(None, validation_alias=CURRENT_LAT)
    current_lng: Lng | None = Field(None, validation_alias=CURRENT_LNG)

    def problems(self) -> dict[str, list[str]]:
        found: dict[str, list[str]] = {}
        if self.password_confirm is not None and self.password_confirm != self.password:
            found["password_confirm"] = ["The passwords do not match."]
        if self.user_type == "assistant":
            for name in ASSISTANT_REQUIRED:
                if getattr(self, name) is None:
                    found[name] = ["This field is required for assistants."]
        elif (self.current_lat is None) != (self.current_lng is None):
            missing = "current_lng" if self.current_lng is None else "current_lat"
            found[missing] = ["Send both current_lat and current_lng, or neither."]
        return found

    def assistant(self) -> AssistantFields | None:
        if self.user_type != "assistant":
            return None
        assert self.service_type and self.vehicle_type and self.driving_license_cat
        assert self.driving_license_num and self.driving_license_expiry
        assert self.vehicle_registration_num
        return AssistantFields(
            service_type=self.service_type,
            vehicle_type=self.vehicle_type,
            driving_license_cat=self.driving_license_cat,
            driving_license_num=self.driving_license_num,
            driving_license_expiry=self.driving_license_expiry,
            vehicle_registration_num=self.vehicle_registration_num,
        )


class EmailLoginBody(Body):
    email: Email
    password: AnyPassword


class PhoneLoginBody(Body):
    phone_number: Phone = Field(validation_alias=PHONE)
    password: AnyPassword


class GoogleLoginBody(Body):
    token: Token = Field(validation_alias=AliasChoices("token", "id_token", "credential"))


class VerifyEmailBody(Body):
    email: Email
    code: Code


class VerifyPhoneBody(Body):
    phone_number: Phone = Field(validation_alias=PHONE)
    code: Code


class ResendBody(Body):
    email: Email | None = None
    phone_number: Phone | None = Field(None, validation_alias=PHONE)

    def problems(self) -> dict[str, list[str]]:
        if self.email is None and self.phone_number is None:
            return {"email": ["Send email or phone_number."]}
        return {}


class PasswordResetBody(Body):
    email: Email


class PasswordResetConfirmBody(Body):
    email: Email
    code: Code
    new_password: Password
    new_password_confirm: str | None = None

    def problems(self) -> dict[str, list[str]]:
        if self.new_password_confirm is not None and self.new_password_confirm != self.new_password:
            return {"new_password_confirm": ["The passwords do not match."]}
        return {}


class RefreshBody(Body):
    refresh: Token = Field(validation_alias=AliasChoices("refresh", "token", "refresh_token"))


# Profile updates: every field optional, but an explicit null is refused (it is not a value).
def _not_null(value: Any) -> Any:
    if value is None:
        raise ValueError("May not be null.")
    return value


NotNull = BeforeValidator(_not_null)


class UserUpdateBody(Body):
    name: Annotated[Name | None, NotNull] = None
    email: Annotated[Email | None, NotNull] = None
    phone_number: Annotated[Phone | None, NotNull] = Field(None, validation_alias=PHONE)
    address: Annotated[Address | None, NotNull] = None

    def changes(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.model_fields_set}


class AssistantUpdateBody(UserUpdateBody):
    service_type: Annotated[ServiceType | None, NotNull] = Field(None, validation_alias=SERVICE)
    vehicle_type: Annotated[Short | None, NotNull] = None
    driving_license_cat: Annotated[LicenseCat | None, NotNull] = None
    driving_license_num: Annotated[Short | None, NotNull] = None
    driving_license_expiry: Annotated[LicenseExpiry | None, NotNull] = None
    vehicle_registration_num: Annotated[RegistrationNum | None, NotNull] = None


class LocationBody(Body):
    lat: Lat = Field(validation_alias=LAT)
    lng: Lng = Field(validation_alias=LNG)


class AccountsStatusBody(Body):
    is_active: bool = Field(
        strict=True, validation_alias=AliasChoices("is_active", "is_active_assistant")
    )


class AccountsAssistantsQuery(Body):
    """Query string of /api/assistants/ (strings, so numbers are parsed leniently here)."""

    lat: Annotated[float, Field(ge=-90, le=90, allow_inf_nan=False)] | None = Field(
        None, validation_alias=AliasChoices("lat", "latitude")
    )
    lng: Annotated[float, Field(ge=-180, le=180, allow_inf_nan=False)] | None = Field(
        None, validation_alias=AliasChoices("lng", "longitude")
    )
    service_type: ServiceType | None = Field(None, validation_alias=SERVICE)
    radius_km: Annotated[float, Field(gt=0, le=20000, allow_inf_nan=False)] | None = None
    limit: Annotated[int, Field(ge=1, le=200)] = 50

    def problems(self) -> dict[str, list[str]]:
        if (self.lat is None) != (self.lng is None):
            missing = "lng" if self.lng is None else "lat"
            return {missing: ["Send both lat and lng, or neither."]}
        return {}


class User(Out):
    """A user as both renditions name it; assistants also carry the licence and vehicle fields."""

    id: int
    email: str | None
    name: str
    phone: str
    phone_number: str
    user_type: str = Field(description="client | assistant | dispatcher")
    role: str
    address: str
    current_lat: float | None
    current_lng: float | None
    email_verified: bool
    phone_verified: bool
    created_at: dt.datetime
    createdAt: dt.datetime
    updated_at: dt.datetime
    updatedAt: dt.datetime
    service_type: str | None = None
    vehicle_type: str | None = None
    is_active_assistant: bool | None = None
    driving_license_cat: str | None = None
    driving_license_num: str | None = None
    driving_license_expiry: dt.date | None = None
    vehicle_registration_num: int | None = None


class UserProfile(User):
    """The user flat (seed 001) and nested under `user` (the apps read `user.name`)."""

    user: User


class AssistantProfile(User):
    assistant: User


class Tokens(Out):
    access: str
    refresh: str


class Session(Out):
    """A login or registration: the contract's {user, tokens}, plus the tokens at the top level."""

    user: User
    tokens: Tokens
    access: str
    refresh: str
    created: bool | None = Field(None, description="Google login only: the account is new.")


class Refreshed(Out):
    access: str
    access_token: str
    refresh: str


class Position(Out):
    user_id: int
    lat: float
    lng: float
    latitude: float
    longitude: float
    current_lat: float
    current_lng: float
    h3_cell: str = Field(description="H3 resolution-9 cell, hexadecimal.")
    updated_at: dt.datetime
    updatedAt: dt.datetime


class ActiveState(Out):
    is_active: bool
    is_active_assistant: bool


class ActiveAssistant(Out):
    id: int
    assistant_id: int
    name: str
    service_type: str
    vehicle_type: str
    is_active_assistant: bool
    current_lat: float
    current_lng: float
    lat: float
    lng: float
    distance: float | None = Field(description="Kilometres from the origin.")
    eta_s: int | None = Field(None, description="Travel time to the origin, seconds.")
    eta_source: Literal["road", "straight_line"] | None = None
    position_updated_at: dt.datetime | None


class ActiveAssistants(RootModel[list[ActiveAssistant]]):
    """Active assistants, soonest first (by road time where a graph covers the origin)."""
