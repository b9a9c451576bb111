from django.urls import path

from . import views

urlpatterns = [
    path("customers/", views.CustomerListCreateView.as_view(), name="customer-list"),
    path("customers/upsert/", views.CustomerUpsertView.as_view(), name="customer-upsert"),
    path("customers/<int:pk>/", views.CustomerDetailView.as_view(), name="customer-detail"),
    path("customers/<int:pk>/merge/", views.CustomerMergeView.as_view(), name="customer-merge"),
    path("merges/<int:merge_id>/undo/", views.MergeUndoView.as_view(), name="merge-undo"),
    path("match-candidates/", views.MatchCandidateListView.as_view(), name="match-candidate-list"),
    path(
        "match-candidates/<int:pk>/decision/",
        views.MatchCandidateDecisionView.as_view(),
        name="match-candidate-decision",
    ),
]
