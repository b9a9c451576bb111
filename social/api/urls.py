from django.urls import path

from . import views

urlpatterns = [
    path("posts/", views.PostListPushView.as_view(), name="post-list"),
    path("posts/batches/<uuid:pk>/", views.BatchDetailView.as_view(), name="post-batch-detail"),
    path("cases/", views.CaseListView.as_view(), name="case-list"),
    path("cases/<int:pk>/replies/", views.CaseReplyView.as_view(), name="case-replies"),
]
