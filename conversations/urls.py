from django.urls import path

from . import views

urlpatterns = [
    path("c/<slug:catalog>/lab/", views.batch_lab, name="batch_lab"),
    path("c/<slug:catalog>/lab/fill/", views.batch_fill, name="batch_fill"),
    path("c/<slug:catalog>/tools/<str:tool>/try/", views.tool_try, name="tool_try"),
    path("batches/<int:batch>/", views.batch_detail, name="batch"),
    path("batches/compare/<uuid:group>/", views.batch_compare, name="batch_compare"),
]
