"""Users, namespaces and tokens. Never commits: the caller owns the transaction."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from hub.accounts.models import Namespace, Token, User
from hub.accounts.permissions import SCOPES, Caller
from hub.errors import InvalidName, InvalidRequest, InvalidToken, NamespaceNotFound, NotFound
from hub.naming import check_namespace_name
from hub.security import PREFIX_SHOWN, generate_token, hash_token
from hub.timeutil import as_utc, utcnow

LAST_USED_RESOLUTION_S = 60


def default_scopes(user: User) -> list[str]:
    return list(SCOPES) if user.is_admin else ["read", "write"]


def check_scopes(scopes: Iterable[str]) -> str:
    wanted = set(scopes)
    if not wanted or not wanted <= set(SCOPES):
        raise InvalidRequest(f"Token scopes must be a non-empty subset of {', '.join(SCOPES)}.")
    return ",".join(sorted(wanted, key=SCOPES.index))


class AccountService:
    def __init__(self, session: Session) -> None:
        self.session = session

    def ensure_user(self, name: str, *, is_admin: bool = False) -> User:
        """The user called `name`, created with its namespace if missing.

        Raises:
            InvalidName: the name differs only in case from another user or organisation (namespaces are
                unique by their lower-cased key, so 'ALICE' cannot be created beside 'alice').
        """
        check_namespace_name(name)
        namespace = self.find_namespace(name)
        if namespace is None:
            namespace = Namespace(name=name, key=name.lower(), kind="user")
            user = User(name=name, namespace=namespace, is_admin=is_admin)
            self.session.add(user)
            return user
        user = namespace.owner
        if user is None or user.name != name:
            kind = "user" if user is not None else "organisation"
            taken = f"The name {name!r} is taken by the {kind} {namespace.name!r}"
            raise InvalidName(f"{taken}: names are unique ignoring case.")
        if is_admin and not user.is_admin:
            user.is_admin = True
        return user

    def create_token(
        self,
        user: User,
        *,
        name: str = "",
        expires_at: datetime | None = None,
        scopes: Iterable[str] | None = None,
        parent_id: int | None = None,
    ) -> str:
        """Store a new token's hash and return the token itself: the only time it is ever seen.

        No permission check: the console makes any token; requests go through `mint()`."""
        raw = generate_token()
        chosen = check_scopes(scopes if scopes is not None else default_scopes(user))
        token = Token(
            name=name,
            token_hash=hash_token(raw),
            prefix=raw[:PREFIX_SHOWN],
            expires_at=expires_at,
            scopes=chosen,
            parent_id=parent_id,
        )
        user.tokens.append(token)
        return raw

    def mint(
        self, caller: Caller, *, name: str, scopes: Iterable[str], expires_at: datetime | None
    ) -> tuple[str, Token]:
        """A token made by a request: never a scope the caller's token lacks, never outliving it."""
        user = caller.require_scope("write", "creating tokens")
        granted = caller.grantable_scopes(scopes)
        raw = self.create_token(user, name=name, expires_at=caller.grantable_expiry(expires_at), scopes=granted)
        return raw, user.tokens[-1]

    def caller(self, raw: str) -> Caller:
        """The caller a presented token stands for; InvalidToken when it is unknown, revoked or expired."""
        token = self.session.scalar(select(Token).where(Token.token_hash == hash_token(raw)))
        now = utcnow()
        if token is None or token.revoked_at is not None:
            raise InvalidToken("The token is not valid (unknown or revoked).")
        if token.expires_at is not None and as_utc(token.expires_at) <= now:
            raise InvalidToken("The token has expired.")
        if token.last_used_at is None or (now - as_utc(token.last_used_at)).total_seconds() > LAST_USED_RESOLUTION_S:
            token.last_used_at = now  # not on every request: a write per read would serialise SQLite readers
        scopes = frozenset(token.scopes.split(","))
        return Caller(self.session, token.user, scopes, token_expires_at=_minting_limit(token), token_id=token.id)

    def user(self, name: str) -> User:
        found = self.session.scalar(select(User).where(User.name == name))
        if found is None:
            raise NamespaceNotFound(f"No user is called {name[:100]!r}.")
        return found

    def namespace(self, name: str) -> Namespace:
        found = self.session.scalar(select(Namespace).where(Namespace.key == name.lower()))
        if found is None:
            raise NamespaceNotFound(f"No user or organisation is called {name[:100]!r}.")
        return found

    def find_namespace(self, name: str) -> Namespace | None:
        return self.session.scalar(select(Namespace).where(Namespace.key == name.lower()))

    def tokens(self, user: User) -> list[Token]:
        """The user's tokens, newest first, revoked ones included so the history stays visible."""
        query = select(Token).where(Token.user_id == user.id).order_by(Token.created_at.desc(), Token.id.desc())
        return list(self.session.scalars(query))

    def revoke_token(self, caller: Caller | None, token_id: int, *, user: User | None = None) -> Token:
        """Revoke one of the user's own tokens (`caller` None: the console, for `user`); revoking twice keeps
        the first time. Web sessions made from the token end with it."""
        owner = caller.require_scope("write", "revoking tokens") if caller is not None else user
        token = self.session.get(Token, token_id)
        if token is None or owner is None or token.user_id != owner.id:
            raise NotFound(f"You have no token with id {token_id}.")
        self._revoke(token)
        return token

    def revoke_raw_token(self, raw: str) -> None:
        """Revoke the token with this secret, if any (signing out ends the browser's session token)."""
        token = self.session.scalar(select(Token).where(Token.token_hash == hash_token(raw)))
        if token is not None:
            self._revoke(token)

    def _revoke(self, token: Token) -> None:
        now = utcnow()
        token.revoked_at = token.revoked_at or now
        children = update(Token).where(Token.parent_id == token.id, Token.revoked_at.is_(None)).values(revoked_at=now)
        self.session.execute(children)


def _minting_limit(token: Token) -> datetime | None:
    """How long tokens minted with `token` may live: a web session mints on behalf of the token pasted to start
    it, so its own 14-day lifetime is no limit, its parent's expiry is."""
    source = token.parent if token.parent is not None else token
    return as_utc(source.expires_at) if source.expires_at else None
