"""Users, namespaces and tokens. Never commits: the caller owns the transaction."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.accounts.models import Namespace, Token, User
from hub.errors import InvalidToken, NamespaceNotFound
from hub.naming import check_namespace_name
from hub.security import PREFIX_SHOWN, generate_token, hash_token
from hub.timeutil import as_utc, utcnow


class AccountService:
    def __init__(self, session: Session) -> None:
        self.session = session

    def ensure_user(self, name: str, *, is_admin: bool = False) -> User:
        """The user called `name`, created with its namespace if missing."""
        check_namespace_name(name)
        user = self.session.scalar(select(User).where(User.name == name))
        if user is None:
            namespace = Namespace(name=name, key=name.lower(), kind="user")
            user = User(name=name, namespace=namespace, is_admin=is_admin)
            self.session.add(user)
        elif is_admin and not user.is_admin:
            user.is_admin = True
        return user

    def create_token(self, user: User, *, name: str = "", expires_at: datetime | None = None) -> str:
        """Store a new token's hash and return the token itself: the only time it is ever seen."""
        raw = generate_token()
        token = Token(name=name, token_hash=hash_token(raw), prefix=raw[:PREFIX_SHOWN], expires_at=expires_at)
        user.tokens.append(token)
        return raw

    def authenticate(self, raw: str) -> User:
        token = self.session.scalar(select(Token).where(Token.token_hash == hash_token(raw)))
        now = utcnow()
        if token is None or token.revoked_at is not None:
            raise InvalidToken("The token is not valid (unknown or revoked). Create one with `hub token create`.")
        if token.expires_at is not None and as_utc(token.expires_at) <= now:
            raise InvalidToken("The token has expired. Create a new one with `hub token create`.")
        token.last_used_at = now
        return token.user

    def namespace(self, name: str) -> Namespace:
        found = self.session.scalar(select(Namespace).where(Namespace.key == name.lower()))
        if found is None:
            raise NamespaceNotFound(f"No user or organisation is called {name[:100]!r}.")
        return found

    def find_namespace(self, name: str) -> Namespace | None:
        return self.session.scalar(select(Namespace).where(Namespace.key == name.lower()))

    @staticmethod
    def can_write(user: User, namespace: Namespace) -> bool:
        return user.is_admin or user.namespace_id == namespace.id
