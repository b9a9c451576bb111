"""Social pages as admins, marketers and agents use them: who sees what, account and rule
forms through the services, test connection, and dashboard figures on a known data set."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from unittest import mock
from urllib.parse import parse_qsl, urlsplit

import pytest
import responses

from scrm.actors import Actor
from social.models import ConnectedAccount, ListeningRule, Post, PostRuleMatch
from social.services import account_create, rule_create
from tests.factories import CustomerFactory, SocialIdentityFactory

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
SYSTEM = Actor.system("test")


# --- who sees what -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("user_fixture", "expected"),
    [
        ("agent", {"/social/accounts/": 403, "/social/rules/": 403, "/social/rules/new/": 403,
                   "/social/posts/": 200}),
        ("marketer", {"/social/accounts/": 403, "/social/accounts/new/": 403, "/social/rules/": 200,
                      "/social/rules/new/": 200, "/social/listening/": 200, "/social/posts/": 200}),
        ("admin_user", {"/social/accounts/": 200, "/social/accounts/new/": 200, "/social/rules/": 200,
                        "/social/rules/new/": 200, "/social/listening/": 200, "/social/posts/": 200}),
    ],
)  # fmt: skip
def test_pages_by_role(client, request, user_fixture, expected):
    client.force_login(request.getfixturevalue(user_fixture))
    for url, status in expected.items():
        assert client.get(url).status_code == status, url


def test_navigation_shows_each_role_its_social_pages(client, agent, marketer, admin_user):
    links = {}
    for user in (agent, marketer, admin_user):
        client.force_login(user)
        links[user.username] = {item["label"] for item in client.get("/", follow=True).context["nav_items"]}
    assert {"Listening"} <= links["agent"] and not {"Listening rules", "Accounts"} & links["agent"]
    assert {"Listening", "Listening rules"} <= links["marketer"] and "Accounts" not in links["marketer"]
    assert {"Listening", "Listening rules", "Accounts"} <= links["boss"]


def test_anonymous_is_sent_to_sign_in(client, db):
    response = client.get("/social/listening/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


# --- connected accounts --------------------------------------------------------------


def test_admin_connects_an_x_account_and_secrets_are_never_shown(client, admin_user):
    client.force_login(admin_user)
    response = client.post(
        "/social/accounts/new/",
        {"name": "Acme on X", "provider": "x", "poll_interval_seconds": "120", "monthly_post_cap": "10000",
         "bearer_token": "AAAA-secret-bearer", "x_access_token": "user-token-secret", "account_id": "999"},
    )  # fmt: skip
    assert response.status_code == 302
    account = ConnectedAccount.objects.get(name="Acme on X")
    assert account.credentials == {
        "bearer_token": "AAAA-secret-bearer",
        "access_token": "user-token-secret",
        "account_id": "999",
    }
    assert (account.network, account.external_id, account.monthly_post_cap) == ("x", "999", 10000)

    listing = client.get("/social/accounts/").content.decode()
    edit = client.get(f"/social/accounts/{account.pk}/").content.decode()
    for page in (listing, edit):
        assert "AAAA-secret-bearer" not in page and "user-token-secret" not in page
    assert 'value="999"' in edit  # an id is not a secret
    assert "Stored. Leave empty to keep it." in edit
    assert 'name="page_id"' not in edit  # only the provider's own fields


def test_editing_with_empty_secrets_keeps_them(client, admin_user):
    account = account_create(
        name="Acme on X", provider="x", credentials={"bearer_token": "old-bearer"}, actor=SYSTEM
    )
    client.force_login(admin_user)
    response = client.post(
        f"/social/accounts/{account.pk}/",
        {"name": "Acme (X)", "handle": "@AcmeSupport", "poll_interval_seconds": "600", "bearer_token": "",
         "consumer_key": "new-key"},
    )  # fmt: skip
    assert response.status_code == 302
    account.refresh_from_db()
    assert (account.name, account.handle, account.poll_interval_seconds) == ("Acme (X)", "AcmeSupport", 600)
    assert account.credentials == {"bearer_token": "old-bearer", "consumer_key": "new-key"}
    assert account.provider == "x"


def test_account_form_shows_the_service_refusals_under_their_fields(client, admin_user):
    client.force_login(admin_user)
    response = client.post(
        "/social/accounts/new/", {"name": "Acme page", "provider": "facebook", "poll_interval_seconds": "5"}
    )
    assert response.status_code == 200
    form = response.context["form"]
    assert form.errors["page_id"] == ["Required for this network."]
    assert form.errors["fb_access_token"] == ["Required for this network."]
    assert form.errors["poll_interval_seconds"] == ["Poll at most every 15 seconds."]
    assert "Required for this network." in response.content.decode()
    assert not ConnectedAccount.objects.exists()


def test_test_connection_with_the_demo_stream_says_ok(client, admin_user):
    account = account_create(name="Demo", provider="fake", credentials={}, actor=SYSTEM)
    client.force_login(admin_user)
    response = client.post(f"/social/accounts/{account.pk}/test/", HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    content = response.content.decode()
    assert "<html" not in content and f'id="account-{account.pk}"' in content
    assert "OK: connected as @AcmeSupport" in content
    account.refresh_from_db()
    assert (account.health, account.handle) == ("healthy", "AcmeSupport")
    assert "healthy" in content


@responses.activate
def test_test_connection_shows_the_network_refusal(client, admin_user):
    unauthorized = json.loads((FIXTURES / "x_v2" / "unauthorized.json").read_text())
    responses.get("https://api.twitter.com/2/users/999", json=unauthorized, status=401)
    account = account_create(
        name="Acme on X",
        provider="x",
        credentials={"bearer_token": "revoked", "account_id": "999"},
        actor=SYSTEM,
    )
    client.force_login(admin_user)
    response = client.post(f"/social/accounts/{account.pk}/test/", HTTP_HX_REQUEST="true")
    content = response.content.decode()
    assert response.status_code == 200
    assert "Failed: X refused the credentials" in content
    assert "needs attention" in content
    account.refresh_from_db()
    assert account.health == ConnectedAccount.Health.UNHEALTHY


def test_usage_against_the_cap_and_deactivation(client, admin_user):
    account = account_create(
        name="Demo", provider="fake", credentials={}, actor=SYSTEM, monthly_post_cap=2000
    )
    from django.utils import timezone

    ConnectedAccount.objects.filter(pk=account.pk).update(
        usage_month=timezone.now().date().replace(day=1), posts_read_this_month=500
    )
    client.force_login(admin_user)
    content = client.get("/social/accounts/").content.decode()
    assert 'max="2000" value="500"' in content and "500 of 2,000 posts (25 %)" in content

    client.post(f"/social/accounts/{account.pk}/toggle/")
    account.refresh_from_db()
    assert account.active is False
    assert "Activate" in client.get("/social/accounts/").content.decode()


# --- listening rules -----------------------------------------------------------------


def test_marketer_creates_and_edits_a_rule(client, marketer):
    client.force_login(marketer)
    response = client.post(
        "/social/rules/new/",
        {"name": "Acme", "kind": "brand", "stream": "search", "keywords": "acme, kettle 2\nAcme",
         "hashtags": "#acme", "handles": "@AcmeSupport", "languages": "en, FR"},
    )  # fmt: skip
    assert response.status_code == 302
    rule = ListeningRule.objects.get(name="Acme")
    assert (rule.keywords, rule.hashtags, rule.handles, rule.languages) == (
        ["acme", "kettle 2"], ["acme"], ["AcmeSupport"], ["en", "fr"]
    )  # fmt: skip

    edit = client.get(f"/social/rules/{rule.pk}/")
    assert "acme\nkettle 2" in edit.content.decode()
    response = client.post(
        f"/social/rules/{rule.pk}/",
        {"name": "Acme", "kind": "brand", "stream": "search", "keywords": "acme", "languages": ""},
    )
    assert response.status_code == 302
    rule.refresh_from_db()
    assert (rule.keywords, rule.hashtags, rule.active) == (["acme"], [], False)


def test_rule_form_shows_the_service_refusals(client, marketer):
    client.force_login(marketer)
    response = client.post("/social/rules/new/", {"name": "Empty", "kind": "brand", "stream": "search"})
    assert response.status_code == 200
    assert response.context["form"].errors["keywords"] == ["Give at least one keyword, hashtag or handle."]
    response = client.post("/social/rules/new/", {"name": "Mentions", "kind": "brand", "stream": "mentions"})
    assert response.context["form"].errors["account"] == [
        "Choose the account whose mentions or feed to read."
    ]
    assert not ListeningRule.objects.exists()


def test_poll_now_enqueues_after_commit_only_for_a_rule_with_an_account(
    client, marketer, django_capture_on_commit_callbacks
):
    account = account_create(name="Demo", provider="fake", credentials={}, actor=SYSTEM)
    polled = rule_create(actor=SYSTEM, name="Acme", kind="brand", stream="search", account=account,
                         keywords="acme", hashtags="", handles="", languages="")  # fmt: skip
    pushed = rule_create(actor=SYSTEM, name="Pushed", kind="brand", stream="search", account=None,
                         keywords="acme", hashtags="", handles="", languages="")  # fmt: skip
    client.force_login(marketer)
    with mock.patch("social.views.poll_rule_task") as task:
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            client.post(f"/social/rules/{polled.pk}/poll/")
        assert len(callbacks) == 1
        task.delay.assert_called_once_with(polled.pk)
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            response = client.post(f"/social/rules/{pushed.pk}/poll/", follow=True)
        assert callbacks == []
        assert "has no account to poll with" in response.content.decode()
        assert task.delay.call_count == 1


# --- dashboard figures on a known data set -------------------------------------------


def _post(n, author, day, hour, label, *, rules, network="x", from_brand=False, language="en"):
    sentiment = {"positive": 0.6, "neutral": 0.0, "negative": -0.6}[label]
    created = datetime(2026, 3, day, hour, 30, tzinfo=UTC)
    post = Post.objects.create(
        network=network, external_id=str(n), author=author, text=f"post {n}", language=language,
        created_at=created, sentiment=sentiment, sentiment_label=label, sentiment_model="test",
        source="api", from_brand=from_brand,
    )  # fmt: skip
    for rule in rules:
        PostRuleMatch.objects.create(post=post, rule=rule, kind=rule.kind, created_at=created)
    return post


@pytest.fixture
def listening(db, settings):
    """Brand posts 1-5 in the window (3 on 2 March, 2 on 3 March in Paris time: post 5 is
    23:30 UTC on 2 March), 3 positive, 1 neutral, 1 negative; post 4 also names the
    competitor Globex. Competitor-only posts 6 (Globex) and 7 (Initech). Left out: the
    brand's own post 8 and post 9, before the window."""
    settings.TIME_ZONE = "Europe/Paris"
    brand = ListeningRule.objects.create(name="Acme", kind="brand", keywords=["acme"])
    globex = ListeningRule.objects.create(name="Globex", kind="competitor", keywords=["globex"])
    initech = ListeningRule.objects.create(name="Initech", kind="competitor", keywords=["initech"])
    customer = CustomerFactory(first_name="Alice", last_name="Walker")
    alice = SocialIdentityFactory(handle="alice_w", customer=customer, followers_count=120)
    bob = SocialIdentityFactory(handle="bobby", customer=None, followers_count=50_000)
    brand_account = SocialIdentityFactory(handle="AcmeSupport", customer=None)
    _post(1, alice, 2, 8, "positive", rules=[brand])
    _post(2, alice, 2, 9, "positive", rules=[brand], network="facebook")
    _post(3, bob, 2, 10, "negative", rules=[brand], language="fr")
    _post(4, alice, 3, 9, "neutral", rules=[brand, globex])
    _post(5, bob, 2, 23, "positive", rules=[brand])
    _post(6, bob, 3, 11, "negative", rules=[globex])
    _post(7, bob, 3, 12, "negative", rules=[initech])
    _post(8, brand_account, 2, 12, "positive", rules=[brand], from_brand=True)
    _post(9, alice, 1, 0, "negative", rules=[brand])  # 1 March 01:30 Paris: before the window
    return {"brand": brand, "globex": globex, "initech": initech, "alice": alice, "bob": bob}


WINDOW = {"since": "2026-03-02", "until": "2026-03-05"}


def _figures(client, **params):
    response = client.get("/social/listening/", {**WINDOW, **params})
    assert response.status_code == 200
    return response.context


def test_dashboard_figures(client, marketer, listening):
    client.force_login(marketer)
    context = _figures(client)
    figures = context["figures"]
    assert [(v.day.isoformat(), v.posts) for v in figures.volume] == [
        ("2026-03-02", 3), ("2026-03-03", 2), ("2026-03-04", 0), ("2026-03-05", 0)
    ]  # fmt: skip
    split = figures.sentiment
    assert (split.positive, split.neutral, split.negative, split.total) == (3, 1, 1, 5)
    assert split.share("positive") == 60.0
    assert split.index == 40.0  # 100 * (3 - 1) / 5

    overall = figures.share_of_voice
    assert (overall.brand, overall.competitor, overall.share) == (5, 3, 62.5)  # posts 4, 6, 7
    by_rule = {share.rule.name: (share.brand, share.competitor) for share in figures.share_by_competitor}
    assert by_rule == {"Globex": (5, 2), "Initech": (5, 1)}

    authors = [(a.handle, a.posts, a.customer_id) for a in figures.authors]
    assert authors == [("alice_w", 3, listening["alice"].customer_id), ("bobby", 2, None)]

    page = client.get("/social/listening/", WINDOW).content.decode()
    assert "inferred from public posts, not NPS" in page
    assert "n = 5" in page and "n = 8" in page
    assert f'href="/customers/{listening["alice"].customer_id}/"' in page


def test_dashboard_filters_change_the_figures(client, marketer, listening):
    client.force_login(marketer)
    assert _figures(client, network="x")["figures"].total == 4
    assert _figures(client, language="fr")["figures"].total == 1
    by_rule = _figures(client, rule=listening["globex"].pk)["figures"]
    assert (by_rule.total, by_rule.sentiment.negative) == (2, 1)
    # Share of voice compares every rule whatever rule is chosen; the network applies.
    assert (by_rule.share_of_voice.brand, by_rule.share_of_voice.competitor) == (5, 3)
    on_x = _figures(client, network="x")["figures"].share_of_voice
    assert (on_x.brand, on_x.competitor) == (4, 3)


def test_dashboard_answers_a_fragment_to_htmx(client, marketer, listening):
    client.force_login(marketer)
    response = client.get("/social/listening/", {**WINDOW, "network": "x"}, HTTP_HX_REQUEST="true")
    content = response.content.decode()
    assert "<html" not in content and 'data-testid="volume-total">4<' in content


def test_default_window_is_the_last_30_days(client, marketer, db):
    client.force_login(marketer)
    filters = client.get("/social/listening/").context["filters"]
    assert (filters.until - filters.since).days == 29


def _drill(client, url):
    parts = urlsplit(url)
    assert parts.path == "/social/posts/"
    response = client.get(parts.path, dict(parse_qsl(parts.query)))
    assert response.status_code == 200
    return {int(post.external_id) for post in response.context["page"].object_list}


def test_every_figure_drills_down_to_its_posts(client, marketer, listening):
    client.force_login(marketer)
    context = _figures(client)
    days = {item["day"].isoformat(): _drill(client, item["url"]) for item in context["volume"]}
    assert days == {"2026-03-02": {1, 2, 3}, "2026-03-03": {4, 5}, "2026-03-04": set(), "2026-03-05": set()}
    sentiments = {s["label"]: _drill(client, s["url"]) for s in context["sentiment"]}
    assert sentiments == {"positive": {1, 2, 5}, "neutral": {4}, "negative": {3}}
    assert _drill(client, context["all_posts_url"]) == {1, 2, 3, 4, 5}
    assert _drill(client, context["brand_posts_url"]) == {1, 2, 3, 4, 5}
    assert _drill(client, context["competitor_posts_url"]) == {4, 6, 7}
    competitors = {c["share"].rule.name: _drill(client, c["url"]) for c in context["competitors"]}
    assert competitors == {"Globex": {4, 6}, "Initech": {7}}
    authors = {row["author"].handle: _drill(client, row["url"]) for row in context["authors"]}
    assert authors == {"alice_w": {1, 2, 4}, "bobby": {3, 5}}


def test_posts_list_as_an_agent(client, agent, listening):
    client.force_login(agent)
    response = client.get("/social/posts/", {"sentiment": "negative"})
    content = response.content.decode()
    assert {int(p.external_id) for p in response.context["page"].object_list} == {3, 6, 7, 9}
    assert "−0.60" in content or "-0.60" in content
    assert 'name="sentiment"' in content
    fragment = client.get("/social/posts/", {"q": "post 4"}, HTTP_HX_REQUEST="true").content.decode()
    assert "<html" not in fragment and "post 4" in fragment and "1 post" in fragment


def test_dashboard_queries_do_not_grow_with_the_posts(
    client, marketer, listening, django_assert_max_num_queries
):
    client.force_login(marketer)
    client.get("/social/listening/", WINDOW)  # session and permissions cached
    with django_assert_max_num_queries(12):
        client.get("/social/listening/", WINDOW)
