from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.generic import RedirectView

from . import audit_views, views

urlpatterns = [
    path("", views.home, name="home"),
    path("favicon.ico", RedirectView.as_view(url="/static/favicon.svg"), name="favicon"),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(redirect_authenticated_user=True),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("demo-model/v1/", include("conversations.demo_model_urls")),
    path("t/<slug:team>/", views.team_detail, name="team"),
    path("t/<slug:team>/members/<int:member>/", views.member_role, name="member_role"),
    path("t/<slug:team>/audit/", audit_views.audit_log, name="audit"),
    path("t/<slug:team>/", include("tools_app.urls")),
    path("t/<slug:team>/", include("conversations.urls")),
]
