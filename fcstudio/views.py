"""The dashboard and team pages: which teams you are in, their catalogs and members."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count, Prefetch
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from tools_app.models import Catalog

from . import members
from .forms import MemberForm, RoleForm
from .limits import KB, body_limit
from .models import Membership, Role
from .teams import AuthenticatedRequest, TeamRequest, team_view


@require_GET
@login_required
def home(request: AuthenticatedRequest) -> HttpResponse:
    memberships = (
        Membership.objects.filter(user=request.user)
        .select_related("team")
        .prefetch_related(
            Prefetch("team__catalogs", queryset=Catalog.objects.annotate(tool_count=Count("tools")))
        )
    )
    return render(request, "home.html", {"memberships": memberships})


@team_view(role=Role.VIEWER, write_role=Role.ADMIN)
@body_limit(64 * KB)
@require_http_methods(["GET", "POST"])
def team_detail(request: TeamRequest) -> HttpResponse:
    team = request.team
    form = MemberForm(request.POST or None, team=team)
    if request.method == "POST" and form.is_valid():
        user = form.cleaned_data["username"]
        try:
            membership, created = members.add_or_set_member(
                team, user, form.cleaned_data["role"], actor=request.user
            )
        except members.LastAdmin as refused:
            form.add_error("role", str(refused))
        else:
            verb = "added" if created else "now"
            messages.success(request, f"{user.get_username()} {verb} as {membership.role}.")
            return redirect("team", team=team.slug)
    context = {
        "form": form,
        "memberships": team.memberships.select_related("user"),
        "catalogs": team.catalogs.all(),
        "roles": [*Role.choices, ("remove", "Remove from team")],
    }
    return render(request, "team_detail.html", context)


@team_view(role=Role.ADMIN, write_role=Role.ADMIN)
@body_limit(64 * KB)
@require_POST
def member_role(request: TeamRequest, member: int) -> HttpResponse:
    team = request.team
    membership = get_object_or_404(Membership, team=team, pk=member)
    form = RoleForm(request.POST, membership=membership)
    if not form.is_valid():
        for error in form.errors.get("role", []):
            messages.error(request, str(error))
        return redirect("team", team=team.slug)
    role = form.cleaned_data["role"]
    try:
        if role == "remove":
            members.remove_member(membership, actor=request.user)
            messages.success(request, f"Removed {membership.user.get_username()} from {team}.")
        else:
            members.set_role(membership, role, actor=request.user)
            messages.success(request, f"{membership.user.get_username()} is now {role}.")
    except members.LastAdmin as refused:
        messages.error(request, str(refused))
    return redirect("team", team=team.slug)
