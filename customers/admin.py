from django.contrib import admin

from .models import ContactPoint, Customer, ExternalId, Purchase, SocialIdentity


class ContactPointInline(admin.TabularInline):
    model = ContactPoint
    extra = 0


class ExternalIdInline(admin.TabularInline):
    model = ExternalId
    extra = 0


class SocialIdentityInline(admin.TabularInline):
    model = SocialIdentity
    extra = 0
    fields = ("network", "handle", "external_id", "link_method", "link_confidence")
    fk_name = "customer"


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ("id", "first_name", "last_name", "locale", "segment", "merged_into", "created_at")
    search_fields = ("first_name", "last_name", "contact_points__value", "social_identities__handle")
    list_filter = ("segment", "locale", "consent_marketing_email")
    raw_id_fields = ("merged_into",)
    inlines = [ContactPointInline, ExternalIdInline, SocialIdentityInline]


@admin.register(SocialIdentity)
class SocialIdentityAdmin(admin.ModelAdmin):
    list_display = ("network", "handle", "external_id", "customer", "link_method", "followers_count")
    list_filter = ("network", "link_method")
    search_fields = ("handle", "external_id", "display_name")
    raw_id_fields = ("customer", "linked_by")


@admin.register(Purchase)
class PurchaseAdmin(admin.ModelAdmin):
    list_display = ("source", "external_id", "customer", "amount", "currency", "purchased_at", "channel")
    list_filter = ("source", "channel", "currency")
    search_fields = ("external_id",)
    raw_id_fields = ("customer",)
