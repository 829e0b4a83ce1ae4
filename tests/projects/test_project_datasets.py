"""A dataset in several projects: the project page lists every dataset attached to it, editors attach and detach
datasets of other projects, and a dataset never leaves its home project."""

import pytest
from django.urls import reverse

from metadata_site.projects.models import ProjectDataset
from metadata_site.projects.services import (
    DATASET_HOME_PROJECT,
    DATASET_OTHER_WORKSPACE,
    ProjectDatasetError,
    project_attach_dataset,
    project_detach_dataset,
)
from metadata_site.workspaces.models import Workspace
from tests.factories import make_dataset, make_project


@pytest.fixture
def roads(workspace):
    return make_project(workspace, "roads")


@pytest.fixture
def signs(workspace):
    return make_project(workspace, "signs")


@pytest.fixture
def train(roads):
    return make_dataset(roads, "train")


def _attach(project):
    return reverse("projects:project-attach-dataset", args=["acme", project.pk])


def _detach(project, dataset):
    return reverse("projects:project-detach-dataset", args=["acme", project.pk, dataset.pk])


@pytest.mark.django_db
def test_a_new_dataset_belongs_to_its_home_project(roads, train):
    assert list(train.projects.all()) == [roads]
    assert list(roads.linked_datasets.all()) == [train]


@pytest.mark.django_db
def test_attaching_adds_the_dataset_to_a_second_project_once(roads, signs, train):
    assert project_attach_dataset(project=signs, dataset=train) is True
    assert project_attach_dataset(project=signs, dataset=train) is False
    assert set(train.projects.all()) == {roads, signs}
    assert train.project == roads  # Supervisely's one-project view is unchanged


@pytest.mark.django_db
def test_a_dataset_cannot_be_attached_to_a_project_of_another_workspace(train, stranger):
    theirs = make_project(Workspace.objects.get(slug="elsewhere"), "theirs")
    with pytest.raises(ProjectDatasetError) as exc:
        project_attach_dataset(project=theirs, dataset=train)
    assert exc.value.message == DATASET_OTHER_WORKSPACE
    assert not ProjectDataset.objects.filter(project=theirs).exists()


@pytest.mark.django_db
def test_detaching_keeps_the_dataset_and_its_home_project_is_refused(roads, signs, train):
    project_attach_dataset(project=signs, dataset=train)
    assert project_detach_dataset(project=signs, dataset=train) is True
    assert list(train.projects.all()) == [roads]
    with pytest.raises(ProjectDatasetError) as exc:
        project_detach_dataset(project=roads, dataset=train)
    assert exc.value.message == DATASET_HOME_PROJECT.format(project="roads", dataset="train")
    assert list(train.projects.all()) == [roads]


@pytest.mark.django_db
def test_the_project_page_shows_its_uid_and_attached_datasets(login, owner, roads, signs, train):
    project_attach_dataset(project=signs, dataset=train)
    page = login(owner).get(reverse("projects:project", args=["acme", signs.pk])).content.decode()
    assert str(signs.uid) in page
    assert "train" in page and "(attached)" in page
    dataset_page = login(owner).get(reverse("projects:dataset", args=["acme", train.pk])).content.decode()
    assert "the projects" in dataset_page and "roads" in dataset_page and "signs" in dataset_page


@pytest.mark.django_db
def test_an_editor_attaches_and_detaches_through_the_page(login, editor, roads, signs, train):
    client = login(editor)
    response = client.post(_attach(signs), {"dataset": train.pk})
    assert response.status_code == 302
    assert set(train.projects.all()) == {roads, signs}
    assert client.post(_detach(signs, train)).status_code == 302
    assert list(train.projects.all()) == [roads]


@pytest.mark.django_db
def test_bad_input_is_a_400_that_changes_nothing(login, editor, roads, signs, train):
    client = login(editor)
    response = client.post(_attach(signs), {"dataset": "nope"})
    assert response.status_code == 400 and "Choose a dataset" in response.content.decode()
    response = client.post(_detach(roads, train))
    assert response.status_code == 400 and "home project" in response.content.decode()
    assert list(train.projects.all()) == [roads]


@pytest.mark.django_db
def test_a_member_cannot_attach_and_a_stranger_gets_404(login, viewer, stranger, signs, train):
    assert login(viewer).post(_attach(signs), {"dataset": train.pk}).status_code == 403
    assert login(stranger).post(_attach(signs), {"dataset": train.pk}).status_code == 404
    assert login(stranger).post(_detach(signs, train)).status_code == 404
    assert list(train.projects.values_list("name", flat=True)) == ["roads"]


@pytest.mark.django_db
def test_the_project_page_costs_the_same_queries_however_many_datasets(login, owner, roads, signs,
                                                                       django_assert_max_num_queries):
    client = login(owner)
    url = reverse("projects:project", args=["acme", signs.pk])
    for n in range(2):
        project_attach_dataset(project=signs, dataset=make_dataset(roads, f"d{n}"))
    client.get(url)
    with django_assert_max_num_queries(8) as few:
        client.get(url)
    for n in range(2, 8):
        project_attach_dataset(project=signs, dataset=make_dataset(roads, f"d{n}"))
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert "d7" in client.get(url).content.decode()
