"""Members and their platform identities."""

from __future__ import annotations

from typing import Sequence

from bot.domain.members import DeliveryPreference, Identity, Member, Role, Status
from bot.ports import Address
from bot.services.members import Recipient
from storage.database import Database

_MEMBER_COLUMNS = (
    "id, name, organization, country, topics, language, featured_consent, role, status, delivery, joined_at,"
    " digest_hour, timezone, digest_sent_at, handles, muted_reason, removed_reason, offers, seeks, in_directory"
)


class SqliteMemberStore:
    def __init__(self, database: Database, platforms: Sequence[str] | None = None) -> None:
        """`platforms`: where members can be reached (None: everywhere, for tools)."""
        self.database = database
        self.platforms = list(platforms) if platforms is not None else None

    async def find_by_identity(self, platform: str, user_id: str) -> Member | None:
        row = await self.database.fetch_one(
            "SELECT member_id FROM identity WHERE platform = ? AND user_id = ?", (platform, user_id)
        )
        return await self.get(row["member_id"]) if row else None

    async def get(self, member_id: int) -> Member | None:
        row = await self.database.fetch_one(f"SELECT {_MEMBER_COLUMNS} FROM member WHERE id = ?", (member_id,))
        if row is None:
            return None
        identities = await self.database.fetch_all(
            "SELECT platform, user_id, chat_id, reachable, last_seen_at FROM identity WHERE member_id = ?",
            (member_id,),
        )
        return _member(row, identities)

    async def create(self, identity: Identity, name: str, role: Role, now: float) -> Member:
        async with self.database.transaction() as connection:
            cursor = await connection.execute(
                "INSERT INTO member (name, role, joined_at) VALUES (?, ?, ?)", (name, role.value, now)
            )
            member_id = cursor.lastrowid
            await connection.execute(
                "INSERT INTO identity (platform, user_id, chat_id, member_id, last_seen_at) VALUES (?, ?, ?, ?, ?)",
                (identity.platform, identity.user_id, identity.chat_id, member_id, identity.last_seen_at),
            )
        member = await self.get(member_id)
        assert member is not None
        return member

    async def add_identity(self, member_id: int, identity: Identity) -> None:
        async with self.database.transaction() as connection:
            await connection.execute(
                "INSERT OR IGNORE INTO identity (platform, user_id, chat_id, member_id, last_seen_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (identity.platform, identity.user_id, identity.chat_id, member_id, identity.last_seen_at))

    async def listing(self, country: str = "", platform: str = "", language: str = "", topic: str = "",
                      status: str = "", limit: int = 500) -> list[Member]:
        conditions, parameters = ["name != '' OR EXISTS (SELECT 1 FROM identity WHERE member_id = member.id)"], []
        for column, value in (("country", country), ("language", language), ("status", status)):
            if value:
                conditions.append(f"lower({column}) = lower(?)")
                parameters.append(value)
        if topic:
            conditions.append("(';' || lower(topics) || ';') LIKE ('%;' || lower(?) || ';%')")
            parameters.append(topic)
        if platform:
            conditions.append("EXISTS (SELECT 1 FROM identity WHERE member_id = member.id AND platform = ?)")
            parameters.append(platform)
        where = " AND ".join(f"({condition})" for condition in conditions)
        rows = await self.database.fetch_all(
            f"SELECT {_MEMBER_COLUMNS} FROM member WHERE {where} ORDER BY id LIMIT ?", (*parameters, limit))
        if not rows:
            return []
        ids = [row["id"] for row in rows]
        identities: dict[int, list] = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            for identity in await self.database.fetch_all(
                    "SELECT member_id, platform, user_id, chat_id, reachable, last_seen_at FROM identity"
                    f" WHERE member_id IN ({','.join('?' * len(chunk))})", tuple(chunk)):
                identities.setdefault(identity["member_id"], []).append(identity)
        return [_member(row, identities.get(row["id"], [])) for row in rows]

    async def save(self, member: Member) -> None:
        async with self.database.transaction() as connection:
            await connection.execute(
                "UPDATE member SET name = ?, organization = ?, country = ?, topics = ?, language = ?,"
                " featured_consent = ?, role = ?, status = ?, delivery = ?, digest_hour = ?, timezone = ?,"
                " digest_sent_at = ?, handles = ?, muted_reason = ?, removed_reason = ?,"
                " offers = ?, seeks = ?, in_directory = ? WHERE id = ?",
                (
                    member.name, member.organization, member.country, ";".join(member.topics),
                    member.language, int(member.featured_consent), member.role.value,
                    member.status.value, member.delivery.value, member.digest_hour, member.timezone,
                    member.digest_sent_at, ";".join(member.handles), member.muted_reason, member.removed_reason,
                    member.offers, member.seeks, int(member.in_directory),
                    member.id,
                ),
            )

    async def touch(self, platform: str, user_id: str, chat_id: str | None, now: float) -> None:
        async with self.database.transaction() as connection:
            await connection.execute(
                "UPDATE identity SET reachable = 1, unreachable_why = '', last_seen_at = ?,"
                " chat_id = COALESCE(?, chat_id) WHERE platform = ? AND user_id = ?",
                (now, chat_id, platform, user_id),
            )

    async def mark_unreachable(self, address: Address, reason: str) -> None:
        async with self.database.transaction() as connection:
            await connection.execute(
                "UPDATE identity SET reachable = 0, unreachable_why = ? WHERE platform = ? AND user_id = ?",
                (reason, address.platform, address.user_id),
            )

    async def facilitators(self) -> list[Member]:
        rows = await self.database.fetch_all(
            "SELECT id FROM member WHERE role = 'facilitator' AND status != 'left' ORDER BY id"
        )
        return [member for row in rows if (member := await self.get(row["id"])) is not None]

    async def recipients(
        self, member_ids: list[int] | None = None, exclude: int | None = None, instant_only: bool = True
    ) -> list[Recipient]:
        # Each member's reachable identity seen most recently; ties go to the oldest identity.
        served = ""
        parameters: list[object] = []
        if self.platforms is not None:
            served = f" AND i2.platform IN ({','.join('?' * len(self.platforms))})"
            parameters.extend(self.platforms)
        sql = (
            "SELECT m.id, m.language, i.platform, i.user_id, i.chat_id FROM member m"
            " JOIN identity i ON i.member_id = m.id"
            " AND i.rowid = (SELECT i2.rowid FROM identity i2 WHERE i2.member_id = m.id AND i2.reachable = 1"
            f"{served} ORDER BY COALESCE(i2.last_seen_at, 0) DESC, i2.rowid LIMIT 1)"
        )
        conditions: list[str] = []
        if member_ids is not None:
            if not member_ids:
                return []
            conditions.append(f"m.id IN ({','.join('?' * len(member_ids))})")
            parameters.extend(member_ids)
        else:
            conditions.append("m.status = 'active'")
            if instant_only:
                conditions.append("m.delivery = 'instant'")
        if exclude is not None:
            conditions.append("m.id != ?")
            parameters.append(exclude)
        sql += " WHERE " + " AND ".join(conditions) + " ORDER BY m.id"
        rows = await self.database.fetch_all(sql, tuple(parameters))
        return [
            Recipient(row["id"], Address(row["platform"], row["user_id"], row["chat_id"]), row["language"])
            for row in rows
        ]

    async def matching(self, by: str, values: Sequence[str], instant_only: bool = False) -> list[int]:
        """Active members whose country, topics or language (`by`) is one of `values`, any case."""
        if by not in ("country", "topic", "language") or not values:
            return []
        if by == "topic":
            condition = " OR ".join("(';' || lower(topics) || ';') LIKE ('%;' || lower(?) || ';%')" for _ in values)
        else:
            condition = f"lower({by}) IN ({','.join('lower(?)' for _ in values)})"
        instant = " AND delivery = 'instant'" if instant_only else ""
        rows = await self.database.fetch_all(
            f"SELECT id FROM member WHERE status = 'active'{instant} AND ({condition}) ORDER BY id", tuple(values))
        return [row["id"] for row in rows]

    async def on_platform(self, platform: str) -> list[Member]:
        rows = await self.database.fetch_all(
            "SELECT member_id FROM identity WHERE platform = ? ORDER BY member_id", (platform,)
        )
        return [member for row in rows if (member := await self.get(row["member_id"])) is not None]

    async def digest_readers(self) -> list[Member]:
        rows = await self.database.fetch_all(
            "SELECT id FROM member WHERE status = 'active' AND delivery IN ('daily', 'weekly') ORDER BY id"
        )
        return [member for row in rows if (member := await self.get(row["id"])) is not None]

    async def count_active(self) -> int:
        row = await self.database.fetch_one("SELECT count(*) FROM member WHERE status = 'active'")
        return int(row[0]) if row else 0


def _member(row, identities) -> Member:  # type: ignore[no-untyped-def]
    return Member(
        id=row["id"],
        name=row["name"],
        organization=row["organization"],
        country=row["country"],
        topics=tuple(topic for topic in row["topics"].split(";") if topic),
        language=row["language"],
        featured_consent=bool(row["featured_consent"]),
        role=Role(row["role"]),
        status=Status(row["status"]),
        delivery=DeliveryPreference(row["delivery"]),
        joined_at=row["joined_at"],
        digest_hour=row["digest_hour"],
        timezone=row["timezone"],
        digest_sent_at=row["digest_sent_at"],
        handles=tuple(code for code in row["handles"].split(";") if code),
        muted_reason=row["muted_reason"],
        removed_reason=row["removed_reason"],
        offers=row["offers"],
        seeks=row["seeks"],
        in_directory=bool(row["in_directory"]),
        identities=tuple(
            Identity(i["platform"], i["user_id"], i["chat_id"], bool(i["reachable"]), i["last_seen_at"])
            for i in identities
        ),
    )
