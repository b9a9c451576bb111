"""Dashboard rollups: the figures read from them equal the listening selectors' on the
same posts, days are days of settings.TIME_ZONE, a refresh is idempotent and rebuilds
only the days it is asked for."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from influence.dashboard import sentiment_figures, voice_figures, volume_by_day
from influence.dashboard_filters import DashboardFilters
from influence.models import PostRollup
from influence.rollups import rollups_refresh
from social.models import ListeningRule, Post, PostRuleMatch
from social.selectors import ListeningFilters, listening_figures, share_of_voice
from tests.factories import CustomerFactory, SocialIdentityFactory


def make_post(n, author, day, hour, label, *, rules, network="x", from_brand=False, language="en", likes=0):
    sentiment = {"positive": 0.6, "neutral": 0.0, "negative": -0.6}[label]
    created = datetime(2026, 3, day, hour, 30, tzinfo=UTC)
    post = Post.objects.create(
        network=network, external_id=str(n), author=author, text=f"post {n}", language=language,
        created_at=created, sentiment=sentiment, sentiment_label=label, sentiment_model="test",
        source="api", from_brand=from_brand, likes=likes, replies=1,
    )  # fmt: skip
    for rule in rules:
        PostRuleMatch.objects.create(post=post, rule=rule, kind=rule.kind, created_at=created)
    return post


@pytest.fixture
def heard(db, settings):
    """Brand posts 1-5 and 10 in the window (post 5 is 23:30 UTC on 2 March: 3 March in
    Paris); post 4 also names Globex; post 10 matched two brand rules of two campaigns.
    Competitor-only posts 6 (Globex) and 7 (Initech); post 11 matched no rule. Left out:
    the brand's own post 8; post 9 is before the window."""
    settings.TIME_ZONE = "Europe/Paris"
    brand = ListeningRule.objects.create(name="Acme", kind="brand", keywords=["acme"], campaign="spring")
    kettle = ListeningRule.objects.create(name="Kettle", kind="brand", keywords=["kettle"], campaign="kettle")
    globex = ListeningRule.objects.create(
        name="Globex", kind="competitor", keywords=["globex"], campaign="spring"
    )
    initech = ListeningRule.objects.create(name="Initech", kind="competitor", keywords=["initech"])
    champion = CustomerFactory(first_name="Alice", segment="champions")
    alice = SocialIdentityFactory(handle="alice_w", customer=champion)
    bob = SocialIdentityFactory(handle="bobby", customer=None)
    make_post(1, alice, 2, 8, "positive", rules=[brand], likes=5)
    make_post(2, alice, 2, 9, "positive", rules=[brand], network="facebook")
    make_post(3, bob, 2, 10, "negative", rules=[brand], language="FR")
    make_post(4, alice, 3, 9, "neutral", rules=[brand, globex])
    make_post(5, bob, 2, 23, "positive", rules=[brand])
    make_post(6, bob, 3, 11, "negative", rules=[globex])
    make_post(7, bob, 3, 12, "negative", rules=[initech])
    make_post(8, alice, 2, 12, "positive", rules=[brand], from_brand=True)
    make_post(9, alice, 1, 0, "negative", rules=[brand])
    make_post(10, bob, 4, 9, "negative", rules=[brand, kettle])
    make_post(11, bob, 4, 10, "neutral", rules=[])
    return {"brand": brand, "kettle": kettle, "globex": globex, "initech": initech}


SINCE, UNTIL = date(2026, 3, 2), date(2026, 3, 5)


def _rows() -> list[tuple]:
    return sorted(
        PostRollup.objects.values_list(
            "day", "network", "rule_id", "rule_kind", "campaign", "language", "segment",
            "posts", "positive", "neutral", "negative", "engagement",
        ),
        key=lambda row: tuple(-1 if value is None else value for value in row),
    )  # fmt: skip


@pytest.mark.parametrize("network", ["", "x", "facebook"])
def test_rollup_figures_equal_the_listening_selectors(heard, network):
    rollups_refresh(days=None)
    listening = ListeningFilters(since=SINCE, until=UNTIL, network=network)
    expected = listening_figures(listening)
    filters = DashboardFilters(since=SINCE, until=UNTIL, network=network)

    per_day = volume_by_day(filters)
    assert [(v.day, v.posts) for v in expected.volume] == [
        (day, per_day.get(day, 0)) for day in (v.day for v in expected.volume)
    ]
    assert sentiment_figures(filters).overall == expected.sentiment

    overall, by_competitor = share_of_voice(listening)
    voice = voice_figures(filters)
    assert voice.overall == overall
    assert voice.by_competitor == by_competitor


def test_known_figures_and_paris_days(heard):
    rollups_refresh(days=None)
    filters = DashboardFilters(since=SINCE, until=UNTIL)
    # Post 5 (23:30 UTC on 2 March) counts on 3 March in Paris; post 10 counts once.
    assert volume_by_day(filters) == {date(2026, 3, 2): 3, date(2026, 3, 3): 2, date(2026, 3, 4): 1}
    split = sentiment_figures(filters).overall
    assert (split.positive, split.neutral, split.negative, split.index) == (3, 1, 2, 100 * (3 - 2) / 6)
    voice = voice_figures(filters)
    assert (voice.overall.brand, voice.overall.competitor) == (6, 3)
    assert {str(s.rule): s.competitor for s in voice.by_competitor} == {"Globex": 2, "Initech": 1}
    # The post that matched no rule is kept apart, the brand's own post nowhere.
    assert PostRollup.objects.filter(rule__isnull=True, rule_kind="").get().posts == 1
    assert not PostRollup.objects.filter(day=date(2026, 3, 2), rule=heard["brand"], network="x", posts=3)


def test_campaign_and_segment_filters(heard):
    rollups_refresh(days=None)
    spring = DashboardFilters(since=SINCE, until=UNTIL, campaign="spring")
    assert sum(volume_by_day(spring).values()) == 6  # every brand post matched Acme (spring)
    kettle = DashboardFilters(since=SINCE, until=UNTIL, campaign="kettle")
    assert volume_by_day(kettle) == {date(2026, 3, 4): 1}
    voice = voice_figures(spring)
    assert (voice.overall.brand, voice.overall.competitor) == (6, 2)  # Initech has no campaign
    assert [str(s.rule) for s in voice.by_competitor] == ["Globex"]
    champions = DashboardFilters(since=SINCE, until=UNTIL, segment="champions")
    assert sum(volume_by_day(champions).values()) == 3  # Alice's posts 1, 2 and 4
    assert sentiment_figures(champions).overall.positive == 2


def test_engagement_and_language_are_rolled_up(heard):
    rollups_refresh(days=None)
    row = PostRollup.objects.get(day=date(2026, 3, 2), rule=heard["brand"], network="x", language="en")
    assert (row.posts, row.positive, row.engagement, row.segment) == (1, 1, 6, "champions")
    assert PostRollup.objects.filter(language="fr").exists()
    assert not PostRollup.objects.filter(language="FR").exists()


def test_refresh_is_idempotent(heard):
    first = rollups_refresh(days=None)
    rows = _rows()
    assert rollups_refresh(days=None) == first
    assert _rows() == rows


def test_refresh_of_recent_days_leaves_older_days_alone(heard):
    rollups_refresh(days=None)
    before = {r for r in _rows() if r[0] < date(2026, 3, 4)}
    # A late post on 2 March is not counted by a refresh of 4-5 March...
    make_post(20, None, 2, 14, "negative", rules=[heard["brand"]])
    make_post(21, None, 4, 14, "positive", rules=[heard["brand"]])
    rollups_refresh(days=2, today=date(2026, 3, 5))
    assert {r for r in _rows() if r[0] < date(2026, 3, 4)} == before
    filters = DashboardFilters(since=SINCE, until=UNTIL)
    assert volume_by_day(filters)[date(2026, 3, 4)] == 2
    assert volume_by_day(filters)[date(2026, 3, 2)] == 3
    # ... the nightly full rebuild counts it.
    rollups_refresh(days=None)
    assert volume_by_day(filters)[date(2026, 3, 2)] == 4


def test_days_must_be_positive(db):
    with pytest.raises(ValueError):
        rollups_refresh(days=0)


def test_the_task_refreshes(heard):
    from influence.tasks import refresh_rollups_task

    assert refresh_rollups_task(days=None) > 0
    assert PostRollup.objects.exists()
