"""Every production URL, plus the reference endpoints the benchmark compares ours with."""

from django.urls import path

from bench import views
from config.urls import urlpatterns as production_urlpatterns

urlpatterns = [
    *production_urlpatterns,
    path("bench/ref/bare", views.bare, name="bench-bare"),
    path("bench/ref/items-values", views.items_values, name="bench-items-values"),
    path("bench/ref/items-naive", views.NaiveItemViewSet.as_view({"get": "list"}), name="bench-items-naive"),
]
