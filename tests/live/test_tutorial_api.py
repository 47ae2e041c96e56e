"""SPEC §1.1: the tutorial's API (GET /, ?like=, ?dislike=, POST /add_film) on the real binary."""
from __future__ import annotations

import urllib.parse

import pytest

from live_helpers import (ModuleServer, add_film, add_films, assert_film, assert_problem, get_film,
                          snapshot)


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    """One server with three films, shared by the table-driven malformed-id tests."""
    with ModuleServer(tmp_path_factory, name="tutorial") as server:
        add_films(server, 3)
        yield server


# -- GET / ---------------------------------------------------------------------------------------

def test_get_root_on_empty_catalogue_is_404_problem(server):
    assert_problem(server.request("GET", "/"), 404)


def test_films_random_on_empty_catalogue_is_404_problem(server):
    assert_problem(server.request("GET", "/films/random"), 404)


def test_get_root_returns_a_film_of_the_catalogue(server):
    films = add_films(server, 3)
    resp = server.request("GET", "/")
    assert resp.status == 200, resp
    assert (resp.header("Content-Type") or "").split(";")[0].strip() == "application/json"
    film = assert_film(resp.json())
    assert film in films


def test_get_root_is_random(server):
    films = add_films(server, 6)
    seen = {server.request("GET", "/").json()["id"] for _ in range(60)}
    assert seen <= {f["id"] for f in films}
    # 60 draws from 6 films: a fixed answer has probability ~0 if the choice is random.
    assert len(seen) >= 3, f"GET / always picks from {seen}"


def test_films_random_returns_a_film(server):
    films = add_films(server, 4)
    seen = set()
    for _ in range(40):
        resp = server.request("GET", "/films/random")
        assert resp.status == 200, resp
        seen.add(assert_film(resp.json())["id"])
    assert seen <= {f["id"] for f in films}
    assert len(seen) >= 2


# -- POST /add_film -----------------------------------------------------------------------------

def test_add_film_201_with_location_and_stored_film(server):
    resp = server.request("POST", "/add_film", json_body={"name": "Frozen", "studio": "Disney", "year": 2013})
    assert resp.status == 201, resp
    film = assert_film(resp.json(), name="Frozen", studio="Disney", year=2013, likes=0, dislikes=0)
    assert resp.header("Location") == f"/films/{film['id']}"
    assert get_film(server, film["id"]) == film
    again = server.request("GET", resp.header("Location"))
    assert again.status == 200 and again.json() == film


def test_add_film_ids_are_distinct(server):
    films = add_films(server, 5)
    assert len({f["id"] for f in films}) == 5


def test_add_film_without_year_stores_null(server):
    film = add_film(server, "Untitled", "Indie", None)
    assert film["year"] is None
    assert get_film(server, film["id"])["year"] is None


def test_get_on_add_film_is_405_with_allow(server):
    resp = server.request("GET", "/add_film")
    assert_problem(resp, 405)
    allow = {m.strip().upper() for m in (resp.header("Allow") or "").split(",")}
    assert "POST" in allow and "GET" not in allow, resp.header("Allow")


# -- likes and dislikes through GET / -------------------------------------------------------------

@pytest.mark.parametrize("param,field", [("like", "likes"), ("dislike", "dislikes")])
def test_get_root_with_vote_records_it_and_returns_random_film(server, param, field):
    target, other = add_films(server, 2)
    other_field = "dislikes" if field == "likes" else "likes"
    for expected in (1, 2, 3):
        resp = server.request("GET", f"/?{param}={target['id']}")
        assert resp.status == 200, resp
        assert_film(resp.json())
        now = get_film(server, target["id"])
        assert now[field] == expected and now[other_field] == 0, now
    assert get_film(server, other["id"]) == other


@pytest.mark.parametrize("param", ["like", "dislike"])
def test_vote_for_unknown_id_is_404_and_records_nothing(server, param):
    films = add_films(server, 2)
    before = snapshot(server)
    unknown = max(f["id"] for f in films) + 1000
    assert_problem(server.request("GET", f"/?{param}={unknown}"), 404)
    assert snapshot(server) == before
    # no film appeared under that id either
    assert_problem(server.request("GET", f"/films/{unknown}"), 404)


@pytest.mark.parametrize("param", ["like", "dislike"])
def test_vote_for_18_digit_unknown_id_is_404_not_400(server, param):
    add_films(server, 1)
    before = snapshot(server)
    assert_problem(server.request("GET", f"/?{param}=999999999999999999"), 404)
    assert_problem(server.request("GET", f"/?{param}=0"), 404)
    assert snapshot(server) == before


def _malformed_ids(film_id: int) -> list[str]:
    """Raw query values (already percent-encoded where needed)."""
    return [
        f"-{film_id}",
        f"{film_id}.0",
        urllib.parse.quote(f" {film_id}"),      # leading space
        urllib.parse.quote(f"{film_id} "),      # trailing space
        f"%2B{film_id}",                        # +1
        urllib.parse.quote("²"),                # superscript two: str.isdigit() says True
        urllib.parse.quote("١"),                # ARABIC-INDIC DIGIT ONE
        urllib.parse.quote("１"),               # FULLWIDTH DIGIT ONE
        "1e3",
        "1234567890123456789",                  # 19 digits
        "",                                     # empty
        "abc",
        "0x1",
        f"{film_id}abc",
        "%00",
    ]


MALFORMED_LABELS = ["negative", "decimal", "leading-space", "trailing-space", "plus", "superscript",
                    "arabic-indic", "fullwidth", "exponent", "19-digits", "empty", "letters", "hex",
                    "digits+letters", "nul"]


@pytest.mark.parametrize("param", ["like", "dislike"])
@pytest.mark.parametrize("index", range(len(MALFORMED_LABELS)), ids=MALFORMED_LABELS)
def test_malformed_vote_id_is_400_and_records_nothing(shared, param, index):
    films = snapshot(shared)
    raw = _malformed_ids(films[0]["id"])[index]
    resp = shared.request("GET", f"/?{param}={raw}")
    assert_problem(resp, 400)
    assert snapshot(shared) == films


def test_like_and_dislike_together_is_400_and_records_nothing(shared):
    films = snapshot(shared)
    a, b = films[0]["id"], films[1]["id"]
    for query in (f"like={a}&dislike={b}", f"dislike={a}&like={a}"):
        assert_problem(shared.request("GET", f"/?{query}"), 400)
    assert snapshot(shared) == films


@pytest.mark.parametrize("query", ["like={a}&like={a}", "like={a}&like={b}", "dislike={a}&dislike={b}"])
def test_repeated_vote_parameter_is_400_and_records_nothing(shared, query):
    films = snapshot(shared)
    q = query.format(a=films[0]["id"], b=films[1]["id"])
    assert_problem(shared.request("GET", f"/?{q}"), 400)
    assert snapshot(shared) == films


def test_unknown_query_parameters_are_ignored(shared):
    resp = shared.request("GET", "/?utm_source=x&foo=bar")
    assert resp.status == 200, resp
    assert_film(resp.json())


def test_vote_on_empty_catalogue_unknown_id_is_404(server):
    assert_problem(server.request("GET", "/?like=1"), 404)
    assert_problem(server.request("GET", "/?dislike=1"), 404)
