import pytest

from metadata_site.projects.services import project_attach_dataset
from tests.factories import make_dataset, make_folder, make_item, make_project

from .conftest import assert_error_shape


@pytest.fixture
def project(workspace):
    return make_project(workspace, "Roads", custom_data={"owner": "team-a"}, readme="# Roads")


@pytest.fixture
def dataset(project, workspace):
    folder = make_folder(workspace, "raw")
    return make_dataset(project, "Roads v1", items=[make_item(folder), make_item(folder)])


@pytest.mark.django_db
def test_it_lists_projects(api_as, owner, project):
    body = api_as(owner).get("/api/w/acme/projects").json()
    assert body["count"] == 1
    assert body["next"] is None
    assert body["results"][0]["id"] == project.pk
    assert body["results"][0]["uid"] == str(project.uid)
    assert body["results"][0]["name"] == "Roads"


@pytest.mark.django_db
def test_it_lists_datasets_with_project_item_count_and_status(api_as, viewer, dataset):
    body = api_as(viewer).get("/api/w/acme/datasets").json()
    row = body["results"][0]
    assert row["id"] == dataset.pk
    assert row["uid"] == str(dataset.uid)
    assert row["project"] == dataset.project_id
    assert row["item_count"] == 2
    assert row["status"] == "READY"


@pytest.mark.django_db
def test_it_filters_datasets_by_project(api_as, owner, dataset, workspace):
    other = make_project(workspace, "Other")
    make_dataset(other, "Other v1")
    body = api_as(owner).get(f"/api/w/acme/datasets?project={other.pk}").json()
    assert [r["name"] for r in body["results"]] == ["Other v1"]


@pytest.mark.django_db
def test_a_dataset_attached_to_a_second_project_is_listed_in_both(api_as, owner, dataset, workspace):
    other = make_project(workspace, "Other")
    project_attach_dataset(project=other, dataset=dataset)
    client = api_as(owner)
    body = client.get(f"/api/w/acme/datasets?project={other.pk}").json()
    assert [r["name"] for r in body["results"]] == ["Roads v1"]
    row = body["results"][0]
    assert row["project"] == dataset.project_id  # its home project, as before
    assert row["projects"] == sorted([dataset.project_id, other.pk])
    assert client.get(f"/api/w/acme/datasets/{dataset.pk}").json()["projects"] == row["projects"]


@pytest.mark.django_db
def test_it_pages_with_a_cursor(api_as, owner, workspace):
    for i in range(5):
        make_project(workspace, f"p{i}")
    client = api_as(owner)
    body = client.get("/api/w/acme/projects?limit=2").json()
    names = [r["name"] for r in body["results"]]
    assert body["count"] == 5
    while body["next"]:
        assert body["next"].startswith("http://testserver/api/w/acme/projects?")
        body = client.get(body["next"]).json()
        names += [r["name"] for r in body["results"]]
    assert names == ["p0", "p1", "p2", "p3", "p4"]


@pytest.mark.django_db
def test_a_bad_cursor_is_a_400(api_as, owner, workspace):
    assert_error_shape(api_as(owner).get("/api/w/acme/projects?cursor=!!!"), 400)


@pytest.mark.django_db
def test_a_bad_limit_is_a_422_with_its_location(api_as, owner, workspace):
    body = assert_error_shape(api_as(owner).get("/api/w/acme/projects?limit=0"), 422)
    assert body["errors"][0]["loc"] == ["query", "limit"]


@pytest.mark.django_db
def test_it_returns_custom_data_with_an_etag(api_as, owner, project):
    resp = api_as(owner).get(f"/api/w/acme/projects/{project.pk}/custom_data")
    assert resp.status_code == 200
    assert resp.json() == {"owner": "team-a"}
    assert resp["ETag"] == f'"{project.custom_data_version}"'


@pytest.mark.django_db
def test_it_returns_the_info_of_a_dataset(api_as, viewer, dataset):
    body = api_as(viewer).get(f"/api/w/acme/datasets/{dataset.pk}/info").json()
    assert body["custom_data"] == {}
    assert body["readme_version"] == 1


@pytest.mark.django_db
def test_it_returns_the_readme_with_an_etag(api_as, viewer, project):
    resp = api_as(viewer).get(f"/api/w/acme/projects/{project.pk}/readme")
    assert resp.json()["readme"] == "# Roads"
    assert resp["ETag"] == '"1"'


@pytest.mark.django_db
def test_it_answers_404_for_a_project_of_another_workspace(api_as, stranger, owner, project):
    elsewhere = make_project(stranger.memberships.get().workspace, "Theirs")
    assert_error_shape(api_as(owner).get(f"/api/w/acme/projects/{elsewhere.pk}"), 404)
    assert_error_shape(api_as(owner).get(f"/api/w/elsewhere/projects/{elsewhere.pk}"), 404)


@pytest.mark.django_db
def test_it_lists_folders_as_a_tree(api_as, owner, workspace):
    root = make_folder(workspace, "root")
    child = make_folder(workspace, "child", parent=root)
    body = api_as(owner).get("/api/w/acme/folders").json()
    rows = {r["name"]: r for r in body["results"]}
    assert rows["root"]["parent"] is None
    assert rows["child"]["parent"] == root.pk
    assert rows["child"]["uid"] == str(child.uid)


@pytest.mark.django_db
def test_ids_beyond_the_integer_range_are_4xx_not_5xx(api_as, owner, workspace):
    client = api_as(owner)
    huge = 2**70
    assert_error_shape(client.get(f"/api/w/acme/datasets?project={huge}"), 422)
    resp = client.get(f"/api/w/acme/projects/{huge}")
    assert 400 <= resp.status_code < 500
    assert_error_shape(resp, resp.status_code)
