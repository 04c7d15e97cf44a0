from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model

from .members import LAST_ADMIN, leaves_no_admin
from .models import Membership, Role


class MemberForm(forms.Form):
    username = forms.CharField(max_length=150)
    role = forms.ChoiceField(choices=Role.choices, initial=Role.VIEWER)

    def __init__(self, *args: Any, team: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.team = team

    def clean_username(self) -> Any:
        username = self.cleaned_data["username"].strip()
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise forms.ValidationError(f"There is no user “{username}”.")
        return user

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        user, role = cleaned.get("username"), cleaned.get("role")
        if user is not None and role and leaves_no_admin(self.team, user.pk, role):
            self.add_error("role", LAST_ADMIN)
        return cleaned


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=[*Role.choices, ("remove", "Remove from team")])

    def __init__(self, *args: Any, membership: Membership, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.membership = membership

    def clean_role(self) -> str:
        role = self.cleaned_data["role"]
        if leaves_no_admin(self.membership.team, self.membership.user_id, role):
            raise forms.ValidationError(LAST_ADMIN)
        return role


class AuditFilterForm(forms.Form):
    """The audit page's filters; every one optional."""

    actor = forms.CharField(max_length=150, required=False)
    kind = forms.ChoiceField(required=False)
    object = forms.CharField(max_length=200, required=False, label="Object")
    since = forms.DateTimeField(
        required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    until = forms.DateTimeField(
        required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        from .audit import Kind

        super().__init__(*args, **kwargs)
        kind = self.fields["kind"]
        assert isinstance(kind, forms.ChoiceField)
        kind.choices = [("", "Any kind"), *Kind.choices]


def pasted_or_uploaded(cleaned: dict[str, Any], nothing: str) -> str:
    """The text an import form was given: its uploaded file (UTF-8) if one came, else its paste
    (fields `file` and `text`), at most `FCSTUDIO_MAX_IMPORT_BYTES`; `nothing` says what to give
    when it got neither."""
    upload = cleaned.get("file")
    text: str = cleaned.get("text") or ""
    limit: int = settings.FCSTUDIO_MAX_IMPORT_BYTES
    if upload is not None:
        if upload.size > limit:
            raise forms.ValidationError(
                f"The file is {upload.size:,} bytes; the limit is {limit:,}."
            )
        try:
            text = upload.read().decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise forms.ValidationError(
                f"The file is not UTF-8 text (byte {exc.start} is not valid)."
            ) from exc
    if not text.strip():
        raise forms.ValidationError(nothing)
    if len(text.encode()) > limit:
        raise forms.ValidationError(f"The import is larger than the {limit:,}-byte limit.")
    return text
