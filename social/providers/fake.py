"""A deterministic demo provider: realistic English and French posts about a brand.

The same seed always gives the same posts, in the same order, with the same ids,
so the demo, screenshots and tests agree. Post `i` depends only on the seed and
`i`, which makes any page reproducible from its cursor alone. About a third are
complaints, a third praise, a quarter questions, the rest neutral chatter; some
answer an earlier post, some tag the brand account, a few authors are influential.
"""

from __future__ import annotations

import hashlib
import random
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from .base import (
    NETWORK_FACEBOOK,
    NETWORK_X,
    FetchQuery,
    Page,
    Provider,
    ProviderAuthor,
    ProviderPost,
    ReferencedPost,
    ReferenceKind,
    ReplyResult,
    Stream,
)

DEFAULT_START = datetime(2026, 10, 1, tzinfo=UTC)

TEMPLATES: dict[str, dict[str, tuple[str, ...]]] = {
    "en": {
        "complaint": (
            "My {product} from {brand} stopped working after {days} days. Really disappointed.",
            "{mention}order {order} still hasn't arrived, and nobody answers the phone. Not impressed.",
            "Third time my {product} breaks. {brand}, this is not acceptable.",
            "Waited {days} days for a refund from {brand}. Terrible customer service.",
            "The new {product} is so loud I can't use it in the morning. Why did {brand} change it?",
        ),
        "praise": (
            "Honestly the {product} from {brand} is the best thing I bought this year!",
            "{mention}thanks for replacing my {product} so quickly, great service 👏",
            "Love my new {product}. {brand} got it right this time.",
            "Shout-out to the {brand} team in {city}, super helpful and friendly.",
            "Five stars for the {product}, would recommend {brand} to anyone.",
        ),
        "question": (
            "{mention}does the {product} come with a warranty in the UK?",
            "Anyone know if {brand} ships the {product} to {city}?",
            "{mention}how do I reset my {product}? The manual doesn't say.",
            "Is the {product} from {brand} worth it, or should I wait for the sale?",
        ),
        "neutral": (
            "Just saw the {brand} ad for the {product} on TV.",
            "There's a new {brand} shop opening in {city} next week.",
        ),
    },
    "fr": {
        "complaint": (
            "Mon {product} {brand} est tombé en panne au bout de {days} jours. Très déçue.",
            "{mention}commande {order} toujours pas livrée, et personne ne répond au téléphone.",
            "Troisième fois que mon {product} casse. {brand}, ce n'est pas acceptable.",
            "J'attends mon remboursement {brand} depuis {days} jours. Service client nul.",
            "Le nouveau {product} fait un bruit pas possible. Pourquoi {brand} l'a changé ?",
        ),
        "praise": (
            "Franchement le {product} de {brand} est mon meilleur achat de l'année !",
            "{mention}merci d'avoir remplacé mon {product} aussi vite, super service 👏",
            "J'adore mon nouveau {product}. Bravo {brand} !",
            "Merci à l'équipe {brand} de {city}, au top et très sympa.",
            "Cinq étoiles pour le {product}, je recommande {brand} à tout le monde.",
        ),
        "question": (
            "{mention}le {product} est-il garanti deux ans en France ?",
            "Quelqu'un sait si {brand} livre le {product} à {city} ?",
            "{mention}comment réinitialiser mon {product} ? Rien dans la notice.",
            "Le {product} de {brand} vaut le coup ou j'attends les soldes ?",
        ),
        "neutral": (
            "Vu la pub {brand} pour le {product} à la télé hier soir.",
            "Une nouvelle boutique {brand} ouvre à {city} la semaine prochaine.",
        ),
    },
}
KIND_WEIGHTS = {"complaint": 35, "praise": 30, "question": 25, "neutral": 10}
PRODUCTS = {
    "en": ("Kettle 2", "blender", "coffee machine", "toaster", "air fryer", "juicer"),
    # masculine nouns only, so "mon/le/nouveau {product}" stays grammatical
    "fr": ("Kettle 2", "blender", "grille-pain", "robot cuiseur", "four vapeur", "presse-agrumes"),
}
CITIES = {
    "en": ("London", "Manchester", "Leeds", "Dublin", "Bristol"),
    "fr": ("Lyon", "Paris", "Lille", "Nantes"),
}
FIRST_NAMES = {
    "en": ("Olivia", "James", "Amelia", "Harry", "Isla", "Jack", "Sophie", "Noah", "Grace", "Leo"),
    "fr": ("Camille", "Lucas", "Léa", "Hugo", "Chloé", "Louis", "Manon", "Jules", "Inès", "Théo"),
}
LAST_NAMES = {
    "en": ("Smith", "Taylor", "Brown", "Wilson", "Evans", "Walker", "Hughes", "Baxter"),
    "fr": ("Martin", "Bernard", "Dubois", "Lefèvre", "Moreau", "Girard", "Roux", "Fournier"),
}
_SNOWFLAKE_EPOCH_MS = 1288834974657


@dataclass(frozen=True)
class _Persona:
    author: ProviderAuthor
    language: str


def _stable_int(*parts: object) -> int:
    digest = hashlib.sha256(":".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:8], "big")


_QUERY_TERM = re.compile(r'"([^"]+)"|([^\s()]+)')


def search_terms(query: str) -> list[str]:
    """The words and "quoted phrases" of an X search query, lower-cased, without its
    operators (OR, lang:fr, -is:retweet...): what the demo stream looks for."""
    terms = []
    for phrase, word in _QUERY_TERM.findall(query):
        term = phrase or word
        if phrase or (term.upper() != "OR" and ":" not in term and not term.startswith("-")):
            terms.append(term.lower())
    return terms


class FakeProvider(Provider):
    """`count` seeded posts spread over `days` from `start`, across X and Facebook.

    Streams: FEED and SEARCH read everything (SEARCH keeps posts containing one of the
    words of `target`), MENTIONS keeps posts tagging `brand_handle`, COMMENTS keeps
    replies to the post `target`. The cursor is the index of the next post.
    """

    name = "fake"

    def __init__(
        self,
        *,
        seed: int = 7,
        brand: str = "Acme",
        brand_handle: str = "AcmeSupport",
        count: int = 300,
        start: datetime = DEFAULT_START,
        days: int = 30,
        page_id: str = "104729883214",
        competitor: str = "",
        competitor_share: float = 0.25,
    ) -> None:
        self.seed = seed
        self.brand = brand
        self.brand_handle = brand_handle
        self.count = count
        self.start = start.astimezone(UTC)
        self.step = timedelta(days=days) / max(count, 1)
        self.page_id = page_id
        # Some posts talk about a competitor instead, for share of voice.
        self.competitor = competitor
        self.competitor_share = competitor_share if competitor else 0.0
        self.personas = self._make_personas(random.Random(f"{seed}:people"))

    @classmethod
    def from_credentials(cls, credentials: Mapping[str, Any]) -> FakeProvider:
        """Keys (all optional): seed, brand, brand_handle, count, days, competitor,
        competitor_share, start (ISO date-time with a zone)."""
        keys = ("seed", "brand", "brand_handle", "count", "days", "competitor", "competitor_share")
        options: dict[str, Any] = {key: credentials[key] for key in keys if key in credentials}
        if credentials.get("start"):
            options["start"] = datetime.fromisoformat(str(credentials["start"]).replace("Z", "+00:00"))
        return cls(**options)

    def _make_personas(self, rng: random.Random) -> list[_Persona]:
        personas = []
        for index in range(60):
            language = "fr" if index % 5 < 2 else "en"
            first, last = rng.choice(FIRST_NAMES[language]), rng.choice(LAST_NAMES[language])
            handle = f"{first}_{last}{rng.randint(1, 99)}".lower().replace("è", "e").replace("é", "e")
            # Heavy tail: most people have a few hundred followers, a handful tens of thousands.
            followers = int(80 * rng.paretovariate(1.1))
            if index < 3:  # the few influencers whose complaints should jump the queue
                followers = rng.randint(20_000, 150_000)
            author = ProviderAuthor(
                external_id=str(1_000_000_000 + _stable_int(self.seed, handle) % 9_000_000_000),
                handle=handle,
                name=f"{first} {last}",
                followers=followers,
            )
            personas.append(_Persona(author=author, language=language))
        return personas

    def _created_at(self, index: int) -> datetime:
        jitter = random.Random(f"{self.seed}:time:{index}").random() * 0.9
        return self.start + self.step * (index + jitter)

    def _external_id(self, index: int, network: str, created_at: datetime) -> str:
        if network == NETWORK_X:
            millis = int(created_at.timestamp() * 1000) - _SNOWFLAKE_EPOCH_MS
            return str((millis << 22) | (_stable_int(self.seed, index) % 4096))
        return f"{self.page_id}_{10_000_000_000 + _stable_int(self.seed, index) % 90_000_000_000}"

    def post(self, index: int) -> ProviderPost:
        """The `index`-th demo post (0-based); the same for the same seed, always."""
        rng = random.Random(f"{self.seed}:post:{index}")
        persona = rng.choice(self.personas)
        language = persona.language
        kind = rng.choices(list(KIND_WEIGHTS), weights=list(KIND_WEIGHTS.values()))[0]
        network, is_reply = self._shape(index)
        created_at = self._created_at(index)
        subject = self.brand
        if self.competitor and random.Random(f"{self.seed}:subject:{index}").random() < self.competitor_share:
            subject = self.competitor
        tags_brand = subject == self.brand and network == NETWORK_X and rng.random() < 0.6
        text = rng.choice(TEMPLATES[language][kind]).format(
            brand=subject,
            product=rng.choice(PRODUCTS[language]),
            city=rng.choice(CITIES[language]),
            days=rng.randint(3, 40),
            order=f"#{rng.randint(100000, 999999)}",
            mention=f"@{self.brand_handle} " if tags_brand else "",
        )
        text = text[0].upper() + text[1:]
        external_id = self._external_id(index, network, created_at)
        in_reply_to = None
        parent = self._parent_index(index, network, rng) if is_reply else None
        if parent is not None:
            in_reply_to = self._external_id(parent, network, self._created_at(parent))
        likes = int(rng.paretovariate(1.5)) - 1 + (persona.author.followers or 0) // 2000
        if network == NETWORK_X:
            url = f"https://x.com/{persona.author.handle}/status/{external_id}"
            metrics = {"like_count": likes, "retweet_count": likes // 4, "reply_count": rng.randint(0, 3)}
        else:
            url = f"https://www.facebook.com/{external_id}"
            metrics = {"reactions": likes, "comments": rng.randint(0, 3), "shares": likes // 5}
        return ProviderPost(
            network=network,
            external_id=external_id,
            author=persona.author,
            text=text,
            created_at=created_at,
            url=url,
            language=language,
            in_reply_to_external_id=in_reply_to,
            conversation_id=in_reply_to or external_id,
            referenced=(ReferencedPost(ReferenceKind.REPLY, in_reply_to),) if in_reply_to else (),
            mentions=(self.brand_handle,) if tags_brand else (),
            metrics=metrics,
            raw={"demo": True, "seed": self.seed, "index": index, "kind": kind},
        )

    def _shape(self, index: int) -> tuple[str, bool]:
        """Post `index`'s network and whether it answers an earlier post, from its own
        random stream so a reply can pick its parent without building other posts."""
        rng = random.Random(f"{self.seed}:shape:{index}")
        network = NETWORK_X if rng.random() < 0.65 else NETWORK_FACEBOOK
        return network, index > 5 and rng.random() < 0.15

    def _parent_index(self, index: int, network: str, rng: random.Random) -> int | None:
        # A reply answers a recent, non-reply post on the same network.
        for _ in range(5):
            candidate = index - rng.randint(1, 5)
            if self._shape(candidate) == (network, False):
                return candidate
        return None

    def _matches(self, post: ProviderPost, query: FetchQuery) -> bool:
        if query.stream is Stream.MENTIONS:
            return self.brand_handle in post.mentions
        if query.stream is Stream.COMMENTS:
            return post.in_reply_to_external_id == query.target
        if query.stream is Stream.SEARCH and query.target.strip():
            text = post.text.lower()
            return any(term in text for term in search_terms(query.target))
        return True

    def fetch(self, query: FetchQuery) -> Page:
        """Up to `query.limit` matching posts from the cursor (or `since_id`, the position
        a finished pass reached) on, oldest first."""
        index = int(query.cursor or query.since_id or 0)
        posts: list[ProviderPost] = []
        while index < self.count and len(posts) < query.limit:
            post = self.post(index)
            index += 1
            if self._matches(post, query):
                posts.append(post)
        return Page(
            posts=tuple(posts), next_cursor=str(index) if index < self.count else None, newest_id=str(index)
        )

    def reply(self, to_external_id: str, text: str) -> ReplyResult:
        """Pretend to reply: a stable id derived from the post and the text."""
        reply_id = str(_stable_int(self.seed, to_external_id, text) % 10**18)
        return ReplyResult(external_id=reply_id, url="", raw={"demo": True, "in_reply_to": to_external_id})

    def verify_credentials(self) -> dict[str, Any]:
        """Always valid: the demo brand account."""
        return {"id": f"fake:{self.brand_handle}", "username": self.brand_handle, "name": self.brand}
