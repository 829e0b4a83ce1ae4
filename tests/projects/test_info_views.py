"""The Info tab's pages and partials: permissions, htmx fragments, errors, conflicts, history."""

import json

import pytest
from django.urls import reverse

from metadata_site.projects.models import Dataset, Project
from metadata_site.projects.services import info_save_custom_data, info_save_readme
from tests.factories import make_dataset, make_project

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def project(workspace):
    return make_project(workspace, "Roads", readme="# Roads\n\nStreet scenes.", custom_data={"owner": "ml"})


@pytest.fixture
def dataset(project):
    return make_dataset(project, "train", readme="train split", custom_data={"split": "train"})


def _url(name, obj, *extra):
    owner = "project" if isinstance(obj, Project) else "dataset"
    return reverse(f"projects:{owner}-{name}", args=["acme", obj.pk, *extra])


def _fresh(obj):
    return type(obj).objects.get(pk=obj.pk)


# --- permissions: every view and partial ---------------------------------------------------------------------


def _endpoints(project, dataset):
    info_save_custom_data(obj=project, data={"owner": "cv"}, user=None, base_version=None)
    info_save_custom_data(obj=dataset, data={"split": "val"}, user=None, base_version=None)
    reads, writes = [], []
    for obj in (project, dataset):
        reads += [_url("info", obj), _url("info-diff", obj, "custom_data", 2)]
        writes += [
            (_url("info-readme", obj), {"text": "# x", "base_version": 1}),
            (_url("info-readme-preview", obj), {"text": "# x"}),
            (_url("info-custom-data", obj), {"text": "{}", "base_version": 2}),
            (_url("info-restore", obj, "custom_data", 1), {}),
        ]
    writes.append((_url("info-schema", project), {"text": "", "base_version": 1}))
    return reads, writes


def test_owners_and_viewers_read_every_info_view_and_strangers_get_404(
    project, dataset, login, owner, viewer, stranger
):
    reads, _ = _endpoints(project, dataset)
    for url in reads:
        assert login(owner).get(url).status_code == 200, url
        assert login(viewer).get(url).status_code == 200, url
        assert login(viewer).get(url, **HTMX).status_code == 200, url
        assert login(stranger).get(url).status_code == 404, url


def test_viewers_get_403_and_strangers_404_for_every_write_and_nothing_changes(
    project, dataset, login, viewer, stranger
):
    _, writes = _endpoints(project, dataset)
    for url, data in writes:
        assert login(viewer).post(url, data).status_code == 403, url
        assert login(viewer).post(url, data, **HTMX).status_code == 403, url
        assert login(stranger).post(url, data).status_code == 404, url
    assert (_fresh(project).readme_version, _fresh(project).custom_data_version) == (1, 2)
    assert _fresh(project).custom_data_schema_version == 1
    assert _fresh(dataset).custom_data == {"split": "val"}


def test_owners_can_write_through_every_write_view(project, dataset, login, owner):
    _, writes = _endpoints(project, dataset)
    for url, data in writes:
        assert login(owner).post(url, data).status_code in (200, 302), url


def test_the_editor_role_can_write(project, login, editor):
    response = login(editor).post(_url("info-readme", project), {"text": "by editor", "base_version": 1})
    assert response.status_code == 302
    assert _fresh(project).readme == "by editor"


def test_the_info_tab_of_other_workspaces_objects_is_404_even_for_their_admins(project, login, stranger):
    from metadata_site.workspaces.models import Workspace

    elsewhere = Workspace.objects.get(slug="elsewhere")
    url = reverse("projects:project-info", args=[elsewhere.slug, project.pk])
    assert login(stranger).get(url).status_code == 404


# --- the page ------------------------------------------------------------------------------------------------


def test_owners_see_edit_controls_and_viewers_see_none(project, login, owner, viewer):
    page = login(owner).get(_url("info", project)).content.decode()
    assert 'id="readme-form"' in page and 'id="custom-data-form"' in page and 'id="schema-form"' in page
    page = login(viewer).get(_url("info", project)).content.decode()
    for marker in ('<form method="post" action="/w/acme/projects', "Save custom data", "Edit README", "Restore"):
        assert marker not in page
    assert "&quot;owner&quot;: &quot;ml&quot;" in page  # the custom data, read-only
    assert "<h1>Roads</h1>" in page  # the rendered README


def test_the_page_loads_the_editor_module_without_inline_scripts(project, login, owner):
    page = login(owner).get(_url("info", project)).content.decode()
    assert 'type="module" src="/static/js/info.js"' in page
    assert 'data-editor-module="/static/vendor/vanilla-jsoneditor/standalone.js"' in page
    assert "<script>" not in page and "onclick" not in page


def test_a_script_in_the_readme_is_escaped(project, login, owner):
    info_save_readme(
        obj=project, text="Hi <script>alert(1)</script> [x](javascript:alert(1))", user=owner, base_version=None
    )
    page = login(owner).get(_url("info", project)).content.decode()
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert 'href="javascript' not in page


def test_the_dataset_tab_shows_the_project_schema_it_must_satisfy(project, dataset, login, owner):
    project.custom_data_schema = {"type": "object", "required": ["split"]}
    project.save()
    page = login(owner).get(_url("info", dataset)).content.decode()
    assert "must satisfy the schema of project" in page
    assert "&quot;required&quot;" in page
    assert 'id="schema-form"' not in page


# --- README --------------------------------------------------------------------------------------------------


def test_the_preview_returns_only_the_sanitised_fragment(project, login, owner):
    response = login(owner).post(
        _url("info-readme-preview", project), {"text": "# T\n\n~~old~~ <b onmouseover=x>", "base_version": 1}, **HTMX
    )
    html = response.content.decode()
    assert html.startswith("<h1>T</h1>")
    assert "<s>old</s>" in html and "&lt;b onmouseover=x&gt;" in html
    assert "<html" not in html


def test_an_htmx_readme_save_returns_the_section_and_the_history_out_of_band(project, login, owner):
    response = login(owner).post(_url("info-readme", project), {"text": "# New title", "base_version": 1}, **HTMX)
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<section class="card info-section" id="info-readme">')
    assert "README saved as version 2." in html
    assert 'id="info-history" hx-swap-oob="true"' in html
    assert "<html" not in html
    assert _fresh(project).readme == "# New title"


def test_a_plain_readme_save_redirects_back_to_the_tab(project, login, owner):
    response = login(owner).post(_url("info-readme", project), {"text": "plain", "base_version": 1})
    assert response.status_code == 302
    assert response["Location"] == _url("info", project) + "#info-readme"


def test_a_stale_readme_save_shows_the_conflict_and_keeps_the_users_text(project, login, owner, editor):
    login(editor).post(_url("info-readme", project), {"text": "editor's version", "base_version": 1})
    response = login(owner).post(_url("info-readme", project), {"text": "owner's version", "base_version": 1}, **HTMX)
    html = response.content.decode()
    assert "Not saved." in html and "editor&#x27;s version" in html and ">editor</strong>" in html
    assert "owner&#x27;s version</textarea>" in html
    assert _fresh(project).readme == "editor's version"
    response = login(owner).post(
        _url("info-readme", project), {"text": "owner's version", "base_version": 1, "overwrite_version": 2}, **HTMX
    )
    assert "README saved as version 3." in response.content.decode()
    assert _fresh(project).readme == "owner's version"


def test_a_readme_save_without_a_version_is_refused(project, login, owner):
    response = login(owner).post(_url("info-readme", project), {"text": "x"})
    assert response.status_code == 400
    assert "base_version: This field is required." in response.content.decode()
    assert _fresh(project).readme_version == 1


# --- custom data ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("owner_kind", ["project", "dataset"])
def test_invalid_custom_data_shows_line_and_column_inline_and_saves_nothing(project, dataset, login, owner, owner_kind):
    obj = project if owner_kind == "project" else dataset
    before = _fresh(obj).custom_data
    text = '{\n  "a": 1\n  "b": 2\n}'
    response = login(owner).post(_url("info-custom-data", obj), {"text": text, "base_version": 1}, **HTMX)
    html = response.content.decode()
    assert response.status_code == 200
    assert "Invalid JSON at line 3, column 3: expecting &#x27;,&#x27; delimiter." in html
    assert 'data-line="3" data-column="3"' in html
    assert "&quot;b&quot;: 2\n}</textarea>" in html  # the user's text is kept
    assert _fresh(obj).custom_data == before
    assert _fresh(obj).custom_data_version == 1


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"a": 1, "a": 2}', "Duplicate key &quot;a&quot; at line 1, column 10"),
        ('{"a": NaN}', "NaN at line 1, column 7 is not allowed"),
        ("[1]", "The top level must be a JSON object"),
        ("", "The JSON text is empty"),
    ],
)
def test_each_strict_rule_is_shown_inline(project, login, owner, text, message):
    response = login(owner).post(_url("info-custom-data", project), {"text": text, "base_version": 1}, **HTMX)
    assert message in response.content.decode()
    assert _fresh(project).custom_data_version == 1


def test_a_plain_invalid_post_renders_the_whole_page_with_400(project, login, owner):
    response = login(owner).post(_url("info-custom-data", project), {"text": "{", "base_version": 1})
    assert response.status_code == 400
    assert "<html" in response.content.decode() and "Invalid JSON at line 1, column 2" in response.content.decode()


def test_valid_custom_data_is_saved_as_sent(project, login, owner):
    text = '{"owner": "cv", "nested": {"list": [1, 2.5, null]}}'
    response = login(owner).post(_url("info-custom-data", project), {"text": text, "base_version": 1}, **HTMX)
    assert "Custom data saved as version 2." in response.content.decode()
    row = _fresh(project)
    assert row.custom_data == {"owner": "cv", "nested": {"list": [1, 2.5, None]}}
    assert row.updated_by is not None


def test_a_stale_custom_data_save_shows_the_newer_value_and_who_saved_it(project, login, owner, editor):
    login(editor).post(_url("info-custom-data", project), {"text": '{"by": "editor"}', "base_version": 1})
    response = login(owner).post(
        _url("info-custom-data", project), {"text": '{"by": "owner"}', "base_version": 1}, **HTMX
    )
    html = response.content.decode()
    assert "Someone saved a newer version of this custom data (version 2)" in html
    assert "&quot;by&quot;: &quot;editor&quot;" in html
    assert 'class="conflict-who">editor</strong>' in html
    assert 'name="overwrite_version" value="2"' in html
    assert 'id="info-history" hx-swap-oob="true"' in html and 'data-version="2"' in html
    assert _fresh(project).custom_data == {"by": "editor"}


@pytest.mark.parametrize("section", ["info-custom-data", "info-readme", "info-schema"])
def test_a_refused_save_keeps_the_version_the_editor_was_based_on(project, login, owner, editor, section):
    """Fixing a typo after someone else saved must still end in a conflict, never a silent overwrite."""
    valid, invalid = {"info-custom-data": ("{}", "{"), "info-readme": ("x", "a\x00b"), "info-schema": ("{}", "[")}[
        section
    ]
    login(editor).post(_url(section, project), {"text": valid, "base_version": 1})
    html = login(owner).post(_url(section, project), {"text": invalid, "base_version": 1}, **HTMX).content.decode()
    assert "Not saved." in html
    assert '<input type="hidden" name="base_version" value="1">' in html
    assert "your edit is based on version 1" in html
    html = login(owner).post(_url(section, project), {"text": valid, "base_version": 1}, **HTMX).content.decode()
    assert "Someone saved a newer version" in html


def test_a_plain_stale_save_answers_409(project, login, owner, editor):
    login(editor).post(_url("info-custom-data", project), {"text": "{}", "base_version": 1})
    assert login(owner).post(_url("info-custom-data", project), {"text": "{}", "base_version": 1}).status_code == 409


def test_schema_errors_name_the_json_path(project, dataset, login, owner):
    project.custom_data_schema = {"properties": {"split": {"enum": ["train", "val"]}}}
    project.save()
    response = login(owner).post(
        _url("info-custom-data", dataset), {"text": '{"split": "test"}', "base_version": 1}, **HTMX
    )
    html = response.content.decode()
    assert "does not satisfy the project&#x27;s custom data schema" in html
    assert "<code>$.split</code>: &#x27;test&#x27; is not one of [&#x27;train&#x27;, &#x27;val&#x27;]" in html


# --- the schema ----------------------------------------------------------------------------------------------


def test_a_schema_is_saved_and_then_enforced(project, login, owner):
    schema = {"type": "object", "properties": {"owner": {"type": "string"}}}
    response = login(owner).post(_url("info-schema", project), {"text": json.dumps(schema), "base_version": 1}, **HTMX)
    assert "Custom data schema saved as version 2." in response.content.decode()
    assert _fresh(project).custom_data_schema == schema
    response = login(owner).post(_url("info-custom-data", project), {"text": '{"owner": 1}', "base_version": 1}, **HTMX)
    assert "<code>$.owner</code>: 1 is not of type &#x27;string&#x27;" in response.content.decode()


def test_a_schema_that_existing_data_fails_is_refused_with_the_list(project, dataset, login, owner):
    schema = {"properties": {"split": {"type": "integer"}}}
    response = login(owner).post(_url("info-schema", project), {"text": json.dumps(schema), "base_version": 1}, **HTMX)
    html = response.content.decode()
    assert "Existing custom data does not satisfy this schema" in html
    assert "dataset “train”: <code>$.split</code>: &#x27;train&#x27; is not of type &#x27;integer&#x27;" in html
    assert _fresh(project).custom_data_schema is None


def test_an_invalid_json_schema_is_refused(project, login, owner):
    response = login(owner).post(_url("info-schema", project), {"text": '{"type": 5}', "base_version": 1}, **HTMX)
    assert "This is not a valid JSON Schema." in response.content.decode()
    assert "<code>$.type</code>" in response.content.decode()


def test_empty_schema_text_removes_the_schema(project, login, owner):
    project.custom_data_schema = {"type": "object"}
    project.save()
    response = login(owner).post(_url("info-schema", project), {"text": "  ", "base_version": 1})
    assert response.status_code == 302
    assert _fresh(project).custom_data_schema is None


def test_datasets_have_no_schema_endpoint(dataset):
    with pytest.raises(Exception, match="Reverse"):
        reverse("projects:dataset-info-schema", args=["acme", dataset.pk])


# --- history -------------------------------------------------------------------------------------------------


def _history_of(project, owner):
    info_save_custom_data(obj=project, data={"owner": "cv", "tags": ["a"]}, user=owner, base_version=None)
    info_save_custom_data(obj=project, data={"owner": "cv", "tags": ["a", "b"]}, user=owner, base_version=None)


def test_the_history_lists_revisions_with_who_and_the_initial_value(project, login, owner):
    _history_of(project, owner)
    html = login(owner).get(_url("info", project)).content.decode()
    assert html.count('data-kind="custom_data"') == 3  # v3, v2 and v1 (before the first recorded save)
    assert 'data-version="1"' in html and "before the first recorded save" in html
    assert "<td>owner</td>" in html


def test_the_diff_shows_removed_and_added_lines_as_a_fragment(project, login, owner, viewer):
    _history_of(project, owner)
    response = login(viewer).get(_url("info-diff", project, "custom_data", 1), **HTMX)
    html = response.content.decode()
    assert "<html" not in html
    assert '<span class="diff-del">-  &quot;owner&quot;: &quot;ml&quot;</span>' in html
    assert '<span class="diff-add">+  &quot;owner&quot;: &quot;cv&quot;,</span>' in html
    assert "Restore version" not in html  # viewers cannot restore
    full = login(owner).get(_url("info-diff", project, "custom_data", 1)).content.decode()
    assert "<html" in full and "Restore version 1" in full


def test_the_diff_of_the_current_version_says_there_is_no_difference(project, login, owner):
    _history_of(project, owner)
    html = login(owner).get(_url("info-diff", project, "custom_data", 3), **HTMX).content.decode()
    assert "No differences" in html


@pytest.mark.parametrize(("kind", "version"), [("custom_data", 9), ("colour", 1), ("readme", 1)])
def test_unknown_kinds_and_versions_are_404(project, login, owner, kind, version):
    _history_of(project, owner)
    assert login(owner).get(_url("info-diff", project, kind, version)).status_code == 404


def test_the_schema_history_of_a_dataset_is_404(dataset, login, owner):
    assert login(owner).get(_url("info-diff", dataset, "custom_data_schema", 1)).status_code == 404
    assert login(owner).post(_url("info-restore", dataset, "custom_data_schema", 1)).status_code == 404


def test_restoring_makes_a_new_version_and_says_so(project, login, owner):
    _history_of(project, owner)
    client = login(owner)
    response = client.post(_url("info-restore", project, "custom_data", 2), follow=True)
    assert "Restored Custom data version 2 as version 4." in response.content.decode()
    row = _fresh(project)
    assert (row.custom_data, row.custom_data_version) == ({"owner": "cv", "tags": ["a"]}, 4)
    assert row.revisions.get(version=4).restored_from == 2


def test_a_restore_the_schema_refuses_is_reported_not_saved(project, login, owner):
    _history_of(project, owner)
    project.refresh_from_db()
    project.custom_data_schema = {"properties": {"owner": {"const": "cv"}}}
    project.save()
    response = login(owner).post(_url("info-restore", project, "custom_data", 1), follow=True)
    assert "does not satisfy the project&#x27;s custom data schema" in response.content.decode()
    assert _fresh(project).custom_data_version == 3


def test_restoring_an_unknown_version_is_reported(dataset, login, owner):
    response = login(owner).post(_url("info-restore", dataset, "readme", 5), follow=True)
    assert "There is no version 5 of this README." in response.content.decode()
    assert Dataset.objects.get(pk=dataset.pk).readme_version == 1


def test_each_sections_version_and_last_change_agree_with_the_history(project, login, owner, editor):
    login(owner).post(_url("info-readme", project), {"text": "# by owner", "base_version": 1})
    login(editor).post(_url("info-custom-data", project), {"text": '{"by": "editor"}', "base_version": 1})
    # A silent save (the API's silent=True) leaves updated_by alone but is the version in force.
    info_save_custom_data(obj=_fresh(project), data={"by": "owner, silently"}, user=owner, base_version=2,
                          silent=True)
    html = login(owner).get(_url("info", project)).content.decode()
    assert _fresh(project).updated_by.username == "editor"
    assert 'version 2 · last change by <span id="readme-last-change">owner</span>' in html
    assert 'version 3 · JSON object · last change by <span id="custom-data-last-change">owner</span>' in html
    history = html[html.index('id="info-history"'):]
    readme_row = history[history.index('data-kind="readme" data-version="2"'):]
    assert "owner" in readme_row[:readme_row.index("</tr>")]
    data_row = history[history.index('data-kind="custom_data" data-version="3"'):]
    assert "owner" in data_row[:data_row.index("</tr>")]
