"""SPEC §1.2: /films resource API — read, create, vote, patch, delete."""
from __future__ import annotations

import json

import pytest

from live_helpers import add_film, add_films, assert_film, assert_problem, get_film, snapshot


def test_get_film_by_id(server):
    film = add_film(server, "Spirited Away", "Studio Ghibli", 2001)
    resp = server.request("GET", f"/films/{film['id']}")
    assert resp.status == 200, resp
    assert (resp.header("Content-Type") or "").split(";")[0].strip() == "application/json"
    assert resp.json() == film


def test_get_unknown_film_is_404_problem(server):
    add_films(server, 2)
    assert_problem(server.request("GET", "/films/987654"), 404)
    assert_problem(server.request("GET", "/films/999999999999999999"), 404)


@pytest.mark.parametrize("raw", ["abc", "-1", "1.0", "%C2%B2", "1234567890123456789", "1e3"])
def test_malformed_film_id_in_path_is_a_problem(server, raw):
    add_films(server, 1)
    resp = server.request("GET", f"/films/{raw}")
    assert resp.status in (400, 404), resp
    assert_problem(resp, resp.status)


def test_post_films_is_like_add_film(server):
    resp = server.request("POST", "/films", json_body={"name": "Coco", "studio": "Pixar", "year": 2017})
    assert resp.status == 201, resp
    film = assert_film(resp.json(), name="Coco", studio="Pixar", year=2017, likes=0, dislikes=0)
    assert resp.header("Location") == f"/films/{film['id']}"
    assert get_film(server, film["id"]) == film


@pytest.mark.parametrize("vote,field", [("like", "likes"), ("dislike", "dislikes")])
def test_post_vote_returns_updated_film_and_persists(server, vote, field):
    film, other = add_films(server, 2)
    for n in (1, 2):
        resp = server.request("POST", f"/films/{film['id']}/{vote}")
        assert resp.status == 200, resp
        updated = assert_film(resp.json(), id=film["id"], name=film["name"])
        assert updated[field] == n, updated
    stored = get_film(server, film["id"])
    assert stored[field] == 2
    assert stored["likes" if field == "dislikes" else "dislikes"] == 0
    assert get_film(server, other["id"]) == other


@pytest.mark.parametrize("vote", ["like", "dislike"])
def test_post_vote_unknown_film_is_404_and_records_nothing(server, vote):
    films = add_films(server, 2)
    before = snapshot(server)
    assert_problem(server.request("POST", f"/films/{max(f['id'] for f in films) + 50}/{vote}"), 404)
    assert snapshot(server) == before


@pytest.mark.parametrize("vote", ["like", "dislike"])
def test_post_vote_with_body_is_ignored_or_rejected_but_counts_once(server, vote):
    # A client may send `{}` with a JSON content type; it must never be counted twice.
    film = add_film(server, "Up", "Pixar", 2009)
    resp = server.request("POST", f"/films/{film['id']}/{vote}", json_body={})
    assert resp.status in (200, 400, 415), resp
    expected = 1 if resp.status == 200 else 0
    assert get_film(server, film["id"])[vote + "s"] == expected


# -- PATCH ---------------------------------------------------------------------------------------

def test_patch_name_only_keeps_other_fields(server):
    film = add_film(server, "Frozn", "Disney", 2013)
    server.request("POST", f"/films/{film['id']}/like")
    resp = server.request("PATCH", f"/films/{film['id']}", json_body={"name": "Frozen"})
    assert resp.status == 200, resp
    expected = {**film, "name": "Frozen", "likes": 1}
    assert resp.json() == expected
    assert get_film(server, film["id"]) == expected


def test_patch_year_null_clears_year(server):
    film = add_film(server, "Metropolis", "UFA", 1927)
    resp = server.request("PATCH", f"/films/{film['id']}", json_body={"year": None})
    assert resp.status == 200, resp
    assert resp.json() == {**film, "year": None}
    assert get_film(server, film["id"])["year"] is None


def test_patch_studio_and_year(server):
    film = add_film(server, "Alien", "Fox", 1978)
    resp = server.request("PATCH", f"/films/{film['id']}",
                          json_body={"studio": "20th Century Fox", "year": 1979})
    assert resp.status == 200, resp
    assert get_film(server, film["id"]) == {**film, "studio": "20th Century Fox", "year": 1979}


def test_patch_trims_name(server):
    film = add_film(server, "Jaws", "Universal", 1975)
    resp = server.request("PATCH", f"/films/{film['id']}", json_body={"name": "  Jaws 2  "})
    assert resp.status == 200, resp
    assert get_film(server, film["id"])["name"] == "Jaws 2"


def test_patch_unknown_film_is_404(server):
    add_films(server, 1)
    before = snapshot(server)
    assert_problem(server.request("PATCH", "/films/424242", json_body={"name": "X"}), 404)
    assert snapshot(server) == before


@pytest.mark.parametrize("body,field", [
    ({"name": ""}, "name"),
    ({"name": "   "}, "name"),
    ({"name": None}, "name"),
    ({"studio": "x" * 101}, "studio"),
    ({"year": 1877}, "year"),
    ({"year": "2013"}, "year"),
    ({"likes": 1000}, "likes"),
    ({"id": 5}, "id"),
    ({"colour": "red"}, "colour"),
])
def test_patch_invalid_body_is_400_naming_field_and_changes_nothing(server, body, field):
    film = add_film(server, "Psycho", "Paramount", 1960)
    before = snapshot(server)
    problem = assert_problem(server.request("PATCH", f"/films/{film['id']}", json_body=body), 400)
    fields = [e.get("field") for e in problem.get("errors", [])]
    assert field in fields, problem
    assert snapshot(server) == before


@pytest.mark.parametrize("raw", [b"{", b"[]", b"\"name\"", b"null", b""])
def test_patch_malformed_json_is_400(server, raw):
    film = add_film(server, "Vertigo", "Paramount", 1958)
    before = snapshot(server)
    resp = server.request("PATCH", f"/films/{film['id']}", body=raw, headers={"Content-Type": "application/json"})
    assert_problem(resp, 400)
    assert snapshot(server) == before


def test_patch_wrong_content_type_is_415(server):
    film = add_film(server, "Rocky", "United Artists", 1976)
    resp = server.request("PATCH", f"/films/{film['id']}", body=b'{"name":"Rocky II"}',
                          headers={"Content-Type": "text/plain"})
    assert_problem(resp, 415)
    assert get_film(server, film["id"]) == film


# -- DELETE --------------------------------------------------------------------------------------

def test_delete_then_get_is_404(server):
    film, keep = add_films(server, 2)
    resp = server.request("DELETE", f"/films/{film['id']}")
    assert resp.status == 204, resp
    assert resp.body == b""
    assert_problem(server.request("GET", f"/films/{film['id']}"), 404)
    assert_problem(server.request("DELETE", f"/films/{film['id']}"), 404)
    assert_problem(server.request("POST", f"/films/{film['id']}/like"), 404)
    assert_problem(server.request("GET", f"/?like={film['id']}"), 404)
    assert_problem(server.request("PATCH", f"/films/{film['id']}", json_body={"name": "Z"}), 404)
    assert snapshot(server) == [keep]


def test_delete_unknown_is_404(server):
    add_films(server, 1)
    before = snapshot(server)
    assert_problem(server.request("DELETE", "/films/31337"), 404)
    assert snapshot(server) == before


def test_deleted_film_is_never_random(server):
    films = add_films(server, 2)
    assert server.request("DELETE", f"/films/{films[0]['id']}").status == 204
    for _ in range(20):
        assert server.request("GET", "/").json()["id"] == films[1]["id"]
        assert server.request("GET", "/films/random").json()["id"] == films[1]["id"]
    assert server.request("DELETE", f"/films/{films[1]['id']}").status == 204
    assert_problem(server.request("GET", "/"), 404)



def test_random_film_stays_uniform_with_most_ids_deleted(server):
    """Ten films left of forty ids (the first and the last kept, so most draws in [min, max] hit
    a gap): every survivor is picked about as often, through GET /films/random and through the
    pick that follows a vote (GET /?like=). Each count is Binomial(400, 1/10): 40 ± 6; the
    bounds are five standard deviations wide."""
    films = add_films(server, 40)
    kept = {films[i]["id"] for i in (0, 5, 9, 14, 18, 23, 27, 31, 36, 39)}
    for film in films:
        if film["id"] not in kept:
            assert server.request("DELETE", f"/films/{film['id']}").status == 204
    voted = films[0]["id"]
    for path in ("/films/random", f"/?like={voted}"):
        counts = dict.fromkeys(kept, 0)
        connection = server.connection()
        for _ in range(400):
            connection.request("GET", path)
            response = connection.getresponse()
            assert response.status == 200, response.status
            counts[json.loads(response.read())["id"]] += 1
        connection.close()
        assert all(10 <= n <= 70 for n in counts.values()), (path, counts)
    assert get_film(server, voted)["likes"] == 400
