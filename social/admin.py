"""Django admin for staff. Secrets of connected accounts are never shown here: use
the accounts page, which only ever writes them."""

from django.contrib import admin

from .models import Case, ConnectedAccount, FlagRule, InboundBatch, ListeningRule, Post, SocialEdge


@admin.register(ConnectedAccount)
class ConnectedAccountAdmin(admin.ModelAdmin):
    list_display = ("name", "provider", "handle", "health", "last_success_at", "last_error_at", "active")
    list_filter = ("provider", "health", "active")
    exclude = ("credentials_encrypted",)
    readonly_fields = (
        "health", "last_success_at", "last_error_at", "last_error", "rate_limit_remaining",
        "rate_limit_reset_at", "usage_month", "posts_read_this_month", "verified_at",
    )  # fmt: skip


@admin.register(ListeningRule)
class ListeningRuleAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "stream", "account", "active", "last_polled_at", "next_poll_at")
    list_filter = ("kind", "stream", "active")


@admin.register(FlagRule)
class FlagRuleAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "threshold", "active")
    list_filter = ("kind", "active")


@admin.register(Post)
class PostAdmin(admin.ModelAdmin):
    list_display = (
        "network",
        "external_id",
        "author",
        "created_at",
        "language",
        "sentiment_label",
        "flagged",
    )
    list_filter = ("network", "sentiment_label", "flagged", "language", "source")
    search_fields = ("external_id", "text", "author__handle")
    raw_id_fields = ("author", "case")
    date_hierarchy = "created_at"


@admin.register(Case)
class CaseAdmin(admin.ModelAdmin):
    list_display = ("id", "network", "conversation", "status", "priority", "assignee", "opened_at")
    list_filter = ("status", "network")
    raw_id_fields = ("author", "assignee")


@admin.register(SocialEdge)
class SocialEdgeAdmin(admin.ModelAdmin):
    list_display = ("source", "kind", "target", "weight", "last_seen")
    list_filter = ("kind",)
    raw_id_fields = ("source", "target")


@admin.register(InboundBatch)
class InboundBatchAdmin(admin.ModelAdmin):
    list_display = ("id", "source", "status", "received_at", "processed_at")
    list_filter = ("source", "status")
    readonly_fields = ("digest", "items", "summary", "error")
