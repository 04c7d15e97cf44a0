"""Role checks for every team-scoped view.

`team_view` is the one door into a team's pages: anonymous users are sent to log in, people
outside the team get 404 (a team's existence is not disclosed), and members below the role a
request needs get 403. Reads need `role`; anything else (POST, PUT, DELETE) needs `write_role`.
The permission-matrix test reads `required_role`/`required_write_role` off every view.
"""

from collections.abc import Callable
from functools import wraps
from typing import Any, cast

from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django_htmx.middleware import HtmxDetails

from .models import Membership, Role, Team

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


class AuthenticatedRequest(HttpRequest):
    """The request a `login_required` view gets (for type checking only)."""

    user: User


class TeamRequest(AuthenticatedRequest):
    """The request a `team_view` hands its view: signed in, a member, and seen by htmx's middleware.

    Only for type checking (the django-htmx pattern): annotate a team view's `request` with it.
    """

    team: Team
    membership: Membership
    htmx: HtmxDetails


def membership_for(user: Any, team_slug: str) -> Membership:
    """The user's membership of the team, or 404 for anyone outside it."""
    if not user.is_authenticated:
        raise Http404
    membership = (
        Membership.objects.select_related("team").filter(team__slug=team_slug, user=user).first()
    )
    if membership is None:
        raise Http404("No such team.")
    return membership


def team_view(
    role: str = Role.VIEWER, write_role: str = Role.EDITOR
) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    def decorate(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @login_required
        @wraps(view)
        def wrapped(request: HttpRequest, team: str, *args: Any, **kwargs: Any) -> HttpResponse:
            membership = membership_for(request.user, team)
            # From here on the request carries what `TeamRequest` promises (the 403 page too:
            # it says which role the person holds now).
            team_request = cast(TeamRequest, request)
            team_request.team = membership.team
            team_request.membership = membership
            needed = role if request.method in SAFE_METHODS else write_role
            if not membership.allows(needed):
                raise PermissionDenied(f"This needs the {needed} role in {membership.team}.")
            return view(team_request, *args, **kwargs)

        wrapped.required_role = role  # type: ignore[attr-defined]
        wrapped.required_write_role = write_role  # type: ignore[attr-defined]
        return wrapped

    return decorate
