"""Placeholder page (being written)."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import streamlit as st
from shared import Token


def show(db: Path, token: Token, studies: pl.DataFrame) -> None:
    st.title("playground")
