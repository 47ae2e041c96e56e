"""SPEC §1.2: GET /films keyset pagination (limit, cursor, sort=id|likes|score)."""
from __future__ import annotations

import base64
import binascii
import re
import urllib.parse
from collections import Counter

import pytest

from live_helpers import ModuleServer, add_films, all_films, assert_problem, list_page

N_FILMS = 30


@pytest.fixture(scope="module")
def ranked(tmp_path_factory):
    """30 films with assorted likes/dislikes, many ties; read-only for the tests that use it."""
    with ModuleServer(tmp_path_factory, name="pagination") as server:
        films = add_films(server, N_FILMS, prefix="Ranked")
        for i, film in enumerate(films):
            for _ in range((i * 7) % 5):
                assert server.request("POST", f"/films/{film['id']}/like").status == 200
            for _ in range((i * 3) % 4):
                assert server.request("POST", f"/films/{film['id']}/dislike").status == 200
        yield server


def _expected_orders(films: list[dict], sort: str) -> list[list[int]]:
    """Acceptable id orders: ties broken by id (ascending, or descending for the ranked sorts)."""
    if sort == "id":
        return [[f["id"] for f in sorted(films, key=lambda f: f["id"])]]
    value = (lambda f: f["likes"]) if sort == "likes" else (lambda f: f["likes"] - f["dislikes"])
    return [[f["id"] for f in sorted(films, key=lambda f: (-value(f), f["id"]))],
            [f["id"] for f in sorted(films, key=lambda f: (-value(f), -f["id"]))]]


def _walk(server, sort: str | None, limit: int | None) -> tuple[list[dict], int]:
    films, cursor, pages = [], None, 0
    while True:
        page, cursor = list_page(server, limit=limit, sort=sort, cursor=cursor)
        pages += 1
        if limit is not None:
            assert len(page) <= limit
        films.extend(page)
        if cursor is None:
            return films, pages
        assert page, "an empty page must be the last one"
        assert pages <= N_FILMS + 2, "pagination does not terminate"


# -- walking -------------------------------------------------------------------------------------

def test_empty_catalogue_lists_no_films(server):
    films, cursor = list_page(server)
    assert films == [] and cursor is None


def test_default_limit_is_20(ranked):
    page, cursor = list_page(ranked)
    assert len(page) == 20 and cursor
    rest, cursor2 = list_page(ranked, cursor=cursor)
    assert len(rest) == N_FILMS - 20 and cursor2 is None


@pytest.mark.parametrize("sort", ["id", "likes", "score"])
@pytest.mark.parametrize("limit", [1, 7, 100])
def test_walk_yields_each_film_once_in_order(ranked, sort, limit):
    films, pages = _walk(ranked, sort, limit)
    ids = [f["id"] for f in films]
    assert len(ids) == N_FILMS and len(set(ids)) == N_FILMS, Counter(ids).most_common(3)
    assert ids in _expected_orders(films, sort), f"{sort} order wrong: {[(f['id'], f['likes'], f['dislikes']) for f in films]}"
    assert pages >= -(-N_FILMS // limit)


def test_default_sort_is_id_ascending(ranked):
    films, _ = _walk(ranked, None, 9)
    ids = [f["id"] for f in films]
    assert ids == sorted(ids) and len(ids) == N_FILMS


def test_ranked_ties_are_broken_consistently(ranked):
    films, _ = _walk(ranked, "likes", 4)
    # there are ties (5 distinct like counts over 30 films): every tie group uses the same direction
    assert len({f["likes"] for f in films}) < N_FILMS
    ids = [f["id"] for f in films]
    assert ids in _expected_orders(films, "likes")


# -- parameter validation ----------------------------------------------------------------------

@pytest.mark.parametrize("query", [
    "limit=0", "limit=101", "limit=abc", "limit=-1", "limit=", "limit=1.5", "limit=%C2%B2",
    "limit=5&limit=6", "sort=name", "sort=", "sort=random", "sort=id&sort=likes",
    "cursor=not-a-cursor", "cursor=%00", "cursor=" + "A" * 300,
])
def test_bad_list_parameters_are_400(ranked, query):
    assert_problem(ranked.request("GET", f"/films?{query}"), 400)


@pytest.mark.parametrize("limit", [1, 100])
def test_limit_bounds_accepted(ranked, limit):
    page, _ = list_page(ranked, limit=limit)
    assert len(page) == min(limit, N_FILMS)


def test_unknown_list_parameters_are_ignored(ranked):
    page, _ = list_page(ranked, limit=3, page=7, offset=10)
    assert [f["id"] for f in page] == [f["id"] for f in list_page(ranked, limit=3)[0]]


def _b64decode(text: str) -> bytes | None:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        return None


def _forged(cursor: str) -> list[str]:
    out = []
    mid = len(cursor) // 2
    out.append(cursor[:mid] + ("B" if cursor[mid] == "A" else "A") + cursor[mid + 1:])  # one char flipped
    out.append(cursor[:mid])                                                       # truncated
    out.append(cursor + "x")                                                        # extended
    raw = _b64decode(cursor)
    if raw:
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            text = None
        if text and re.search(r"\d", text):
            # Decode, move the position by editing its numbers, encode again the same way.
            edited = re.sub(r"\d+", lambda m: str(int(m.group()) + 1), text).encode()
            enc = base64.urlsafe_b64encode(edited).decode()
            if "=" not in cursor:
                enc = enc.rstrip("=")
            out.append(enc)
    return [c for c in out if c != cursor]


@pytest.mark.parametrize("sort", ["id", "likes", "score"])
def test_forged_cursor_is_400(ranked, sort):
    _, cursor = list_page(ranked, limit=5, sort=sort)
    assert cursor
    for forged in _forged(cursor):
        q = urllib.parse.urlencode({"limit": 5, "sort": sort, "cursor": forged})
        assert_problem(ranked.request("GET", f"/films?{q}"), 400)


@pytest.mark.parametrize("made_with,used_with", [
    ("id", "likes"), ("id", "score"), ("likes", "id"), ("likes", "score"), ("score", "likes"), ("score", None),
])
def test_cursor_from_another_sort_is_400(ranked, made_with, used_with):
    _, cursor = list_page(ranked, limit=5, sort=made_with)
    assert cursor
    params = {"limit": 5, "cursor": cursor}
    if used_with:
        params["sort"] = used_with
    assert_problem(ranked.request("GET", "/films?" + urllib.parse.urlencode(params)), 400)


def test_cursor_is_reusable_and_stable(ranked):
    _, cursor = list_page(ranked, limit=5, sort="score")
    a = list_page(ranked, limit=5, sort="score", cursor=cursor)
    b = list_page(ranked, limit=5, sort="score", cursor=cursor)
    assert a == b


# -- changes between pages -----------------------------------------------------------------------

def test_deleting_between_pages_skips_and_repeats_nothing(server):
    films = add_films(server, 12)
    page1, cursor = list_page(server, limit=5, sort="id")
    assert [f["id"] for f in page1] == [f["id"] for f in films[:5]]
    seen_victim, unseen_victim = films[2], films[7]
    for victim in (seen_victim, unseen_victim):
        assert server.request("DELETE", f"/films/{victim['id']}").status == 204
    rest = []
    for _ in range(10):
        page, cursor = list_page(server, limit=5, sort="id", cursor=cursor)
        rest.extend(page)
        if cursor is None:
            break
    ids = [f["id"] for f in page1 + rest]
    expected = [f["id"] for f in films if f is not unseen_victim]
    assert ids == expected, f"offset-like pagination? got {ids}"


@pytest.mark.parametrize("sort", ["likes", "score"])
def test_liking_between_pages_repeats_nothing_keyset_can_keep(server, sort):
    films = add_films(server, 15)
    page1, cursor = list_page(server, limit=5, sort=sort)
    seen = {f["id"] for f in page1}
    unseen = [f for f in films if f["id"] not in seen]
    seen_liked = page1[1]["id"]
    unseen_liked = unseen[-1]["id"]   # jumps from the last page to the top: before the cursor now
    for fid in (seen_liked, unseen_liked):
        assert server.request("POST", f"/films/{fid}/like").status == 200
    rest = []
    for _ in range(10):
        page, cursor = list_page(server, limit=5, sort=sort, cursor=cursor)
        rest.extend(page)
        if cursor is None:
            break
    counts = Counter(f["id"] for f in page1 + rest)
    moved = {seen_liked, unseen_liked}
    for film in films:
        if film["id"] not in moved:
            assert counts[film["id"]] == 1, f"film {film['id']} seen {counts[film['id']]} times: {counts}"
        else:
            assert counts[film["id"]] <= 1, f"film {film['id']} moved up and was repeated: {counts}"
    assert counts[seen_liked] == 1


def test_disliking_between_pages_skips_nothing_with_sort_score(server):
    films = add_films(server, 15)
    page1, cursor = list_page(server, limit=5, sort="score")
    mover = page1[1]["id"]             # seen, then falls to the bottom
    assert server.request("POST", f"/films/{mover}/dislike").status == 200
    rest = []
    for _ in range(10):
        page, cursor = list_page(server, limit=5, sort="score", cursor=cursor)
        rest.extend(page)
        if cursor is None:
            break
    counts = Counter(f["id"] for f in page1 + rest)
    for film in films:
        if film["id"] != mover:
            assert counts[film["id"]] == 1, f"film {film['id']} seen {counts[film['id']]} times: {counts}"


def test_adding_between_pages_keeps_order(server):
    films = add_films(server, 8)
    page1, cursor = list_page(server, limit=4, sort="id")
    new = add_films(server, 2, prefix="Late")
    ids = [f["id"] for f in page1]
    for _ in range(10):
        page, cursor = list_page(server, limit=4, sort="id", cursor=cursor)
        ids.extend(f["id"] for f in page)
        if cursor is None:
            break
    assert ids == [f["id"] for f in films + new]


def test_all_films_helper_sanity(ranked):
    assert len(all_films(ranked)) == N_FILMS
