"""Pydantic schemas of the front matter of entries and sources (extra fields forbidden)."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

ID_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
SOURCE_KINDS = (
    "paper",
    "post",
    "essay",
    "tool",
    "code",
    "docs",
    "model",
    "dataset",
    "video",
    "book",
    "tutorial",
    "reference",
    "site",
    "about-glossary",
)


def _check_id(value: str) -> str:
    if not ID_RE.match(value):
        raise ValueError(f"'{value}' is not lowercase letters, digits and single hyphens")
    return value


def _check_url(value: str) -> str:
    if not re.match(r"^https?://[^\s/$.?#][^\s]*$", value, re.IGNORECASE):
        raise ValueError(f"'{value}' is not an http(s) URL")
    return value


def _nonblank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty")
    return value.strip()


Id = Annotated[str, AfterValidator(_check_id)]
Text = Annotated[str, AfterValidator(_nonblank)]


class EntryFront(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    id: Id
    term: Text
    aliases: list[Text] = Field(default_factory=list)
    section: Text
    summary: Text
    related: list[Id]
    prerequisites: list[Id] = Field(default_factory=list)
    sources: list[Id] = Field(min_length=1)


class SourceFront(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    id: Id
    title: Text
    authors: Text
    year: int | None = Field(ge=1900, le=2100)
    url: Annotated[str, AfterValidator(_check_url)]
    kind: Text

    def kind_ok(self) -> bool:
        return self.kind in SOURCE_KINDS


class AboutFront(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    title: Text
    sources: list[Id] = Field(default_factory=list)


class OffTopic(BaseModel):
    """One topic the glossary does not cover (corpus/out_of_scope.yaml); never shown as an answer."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    topic: Text
    text: Text


class OffTopicFile(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    topics: list[OffTopic]
