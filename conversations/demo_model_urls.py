"""URLs of the built-in demo model, included under `/demo-model/v1/` (an OpenAI base URL)."""

from django.urls import path

from . import demo_model_views

urlpatterns = [
    path(
        "chat/completions",
        demo_model_views.chat_completions,
        name="demo_model_chat_completions",
    ),
    path("models", demo_model_views.models, name="demo_model_models"),
]
